"""From finished tasks to results.parquet, summary.csv, replicates.parquet, economics_replicates.parquet
and convergence.csv, one run at a time so that memory stays flat in the number of replicates and draws.

A run (scenario x replicate x draw, possibly several neighbourhood tasks) is reduced to its tidy
per-run rows with the same functions as always (analysis/summary.py, life.py, impacts.py); those rows
stream to replicates.parquet and to the on-disk cell store (analysis/cells.py), and the paired
economics of each replicate group are computed as soon as all its scenarios are reduced. Only then
are the statistics across runs taken, a block of cells at a time: every row to results.parquet, the
rows that fit in a spreadsheet to summary.csv (analysis/cells.py, `in_csv`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..analysis.cells import (
    CELL,
    RESULTS_FILE,
    SUMMARY_FILE,
    CellStore,
    ResultsWriter,
    open_workdir,
    write_results,
)
from ..analysis.contributions import contribution_rows, reduce_for_contributions
from ..analysis.summary import is_count, period_labels, reduce_run
from ..config import ICSConfig
from ..errors import NeighsimError
from ..outcomes import OUT
from ..parameters import ParameterSet
from ..population.geography import ICS_NAME
from .packages import Plan, subsets
from .store import TIDY, ResultStore, release_arrow_memory, write_atomic
from .tasks import Task, get_population, task_params

KEYS = ["scenario", "replicate", "param_draw"]
SCHEMA = pa.schema([("scenario", pa.string()), ("replicate", pa.int32()), ("param_draw", pa.int32()),
                    ("period", pa.string()), ("level", pa.string()), ("area", pa.string()),
                    ("stratum", pa.string()), ("outcome", pa.string()), ("value", pa.float64())])
CONVERGENCE_OUTCOMES = (OUT.emergency_admissions, OUT.deaths, OUT.bed_days)


def _table(df: pd.DataFrame) -> pa.Table:
    out = pd.DataFrame({c: df[c].astype(str) for c in ("scenario", "period", "level", "area", "stratum", "outcome")})
    out["replicate"] = df["replicate"].astype(np.int32)
    out["param_draw"] = df["param_draw"].astype(np.int32)
    out["value"] = df["value"].astype(np.float64)
    return pa.Table.from_pandas(out[SCHEMA.names], schema=SCHEMA, preserve_index=False)


def scaled_up(tidy: pd.DataFrame, cfg: ICSConfig) -> pd.DataFrame:
    """With population.scale_up, counts (and the costs and QALYs, which are sums) x 1/scale, so a sample
    stands for every resident; values such as rates and life expectancy are left as they are."""
    pop = cfg.population
    if not pop.scale_up or pop.scale == 1.0:
        return tidy
    codes, names = pd.factorize(tidy["outcome"])
    count = np.array([is_count(n) for n in names], dtype=bool)[codes]
    return tidy.assign(value=np.where(count, tidy["value"].to_numpy() / pop.scale, tidy["value"].to_numpy()))


def write_summary(cfg: ICSConfig, outdir: Path, comparator: str, tasks: list[Task], params: ParameterSet,
                  progress: Callable[[int], None] | None = None, geography=None,
                  packages: dict[str, Plan] | None = None) -> pd.DataFrame:
    """Summarise the listed tasks (and nothing else in the folder); returns the whole-area rows.
    A package's subset scenarios (packages.py) go to replicates.parquet and into the package's
    contribution_* rows, not into the summary's own rows (they would triple its size)."""
    from ..analysis.impacts import economics_rows

    store = ResultStore(outdir)
    geo = geography if geography is not None else get_population(cfg).geography
    labels, whole = period_labels(cfg.time.months, cfg.time.start)
    years = list(dict.fromkeys(labels))
    cache: dict[int, ParameterSet] = {}

    def params_for_draw(draw: int) -> ParameterSet:
        if draw not in cache:
            cache[draw] = task_params(params, cfg.seed, draw)
        return cache[draw]

    groups: dict[tuple[int, int], dict[str, list[Task]]] = {}
    for t in tasks:
        groups.setdefault((t.replicate, t.param_draw), {}).setdefault(t.scenario, []).append(t)
    order = sorted(groups)
    scenarios = sorted({t.scenario for t in tasks})
    hidden = set(subsets(packages or {}))
    shown = [s for s in scenarios if s not in hidden]
    if not tasks:
        raise NeighsimError(f"{outdir}: no finished tasks to summarise")
    with open_workdir(outdir) as tmp:
        main = CellStore(Path(tmp) / "main", is_count)
        econ = CellStore(Path(tmp) / "econ")
        for d in (main.dir, econ.dir):
            d.mkdir()
        rep_path, econ_path = outdir / "replicates.parquet", outdir / "economics_replicates.parquet"
        rep_tmp, econ_tmp = rep_path.with_suffix(".parquet.tmp"), econ_path.with_suffix(".parquet.tmp")
        econ_writer = None
        with pq.ParquetWriter(rep_tmp, SCHEMA) as rep_writer:
            for rep, draw in order:
                tidies = []
                for scen, ts in sorted(groups[(rep, draw)].items()):
                    if scen in hidden:
                        tidy = reduce_for_contributions(store.load(ts, "counts"), geo, cfg.time.months,
                                                        cfg.time.start, params_for_draw)
                    elif store.has_tidy(ts):
                        tidy = store.load(ts, TIDY)
                    else:
                        tidy = reduce_run(store.load(ts, "counts"), store.load(ts, "lifetable"), geo,
                                          cfg.time.months, cfg.time.start, params_for_draw)
                    tidy = scaled_up(tidy, cfg)
                    main.add(scen, rep, draw, tidy)
                    rep_writer.write_table(_table(tidy))
                    if scen not in hidden:
                        tidies.append(tidy)
                    release_arrow_memory()
                    if progress:
                        progress(1)
                e = economics_rows(pd.concat(tidies, ignore_index=True), comparator, years, whole, params_for_draw)
                for scen, g in (e.groupby("scenario") if not e.empty else ()):
                    econ.add(scen, rep, draw, g.assign(value=g["value"].replace([np.inf, -np.inf], np.nan)))
                    econ_writer = econ_writer or pq.ParquetWriter(econ_tmp, SCHEMA)
                    econ_writer.write_table(_table(g))
        if econ_writer is not None:
            econ_writer.close()
            econ_tmp.replace(econ_path)
        else:
            econ_path.unlink(missing_ok=True)
        rep_tmp.replace(rep_path)
        results, csv = Path(tmp) / RESULTS_FILE, Path(tmp) / SUMMARY_FILE
        with ResultsWriter(results, csv) as out:
            head = write_results(main, econ, shown, comparator, order, out)
            if packages:
                rows = contribution_rows(main, packages, order)
                out.write(rows)
                head = pd.concat([head, rows[rows["level"] == "ics"]], ignore_index=True)
        results.replace(outdir / RESULTS_FILE)
        csv.replace(outdir / SUMMARY_FILE)
        _write_convergence(main, shown, comparator, order, whole, outdir / "convergence.csv")
    return head


def _write_convergence(main: CellStore, scenarios: list[str], comparator: str, order: list[tuple[int, int]],
                       whole: str, path: Path) -> pd.DataFrame:
    """How the 95% interval narrows with replicates for the headline outcomes (whole area, whole
    horizon): scenario values, and paired differences from the comparator."""
    from ..analysis.intervals import interval_width_by_replicates

    keys = pd.MultiIndex.from_tuples([(o, whole, "ics", ICS_NAME, "all") for o in CONVERGENCE_OUTCOMES], names=CELL)
    ids = main.index.get_indexer(keys)
    col_of = np.empty(len(main.columns), dtype=np.int64)
    col_of[main.columns] = np.arange(len(main.columns))
    cols: dict[str, np.ndarray] = {}
    for scen in scenarios:
        mat, present = main.matrix(scen, order)
        cols[scen] = np.stack([mat.block(col_of[i], col_of[i] + 1)[:, 0] if i >= 0 and present[col_of[i]]
                               else np.full(len(order), np.nan) for i in ids], axis=1)
    frames = []
    for k, outcome in enumerate(CONVERGENCE_OUTCOMES):
        if ids[k] < 0:
            continue
        for scen in scenarios:
            series = {"value": cols[scen][:, k]}
            if scen != comparator and comparator in cols:
                series["difference"] = cols[scen][:, k] - cols[comparator][:, k]
            for measure, x in series.items():
                if len(x) < 2 or np.isnan(x).all():
                    continue
                df = interval_width_by_replicates(x)
                frames.append(df.assign(scenario=scen, outcome=outcome, measure=measure))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    write_atomic(path, out.to_csv(index=False))
    return out
