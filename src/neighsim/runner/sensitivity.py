"""One-way deterministic sensitivity analysis (the tornado chart) of one scenario against the baseline.

Every run uses the same seed and replicates (common random numbers): replicate 0 by default, so a
difference between runs comes from the parameter alone. At a small scale one replicate is still noisy (a
changed parameter shifts which random events happen later in the run), so `replicates=R` makes every point
the mean over replicates 0..R-1, the same R at every point: the shifts partly average out. The central case uses every parameter's central value; then, one parameter at a
time, the value at the `low` and at the `high` quantile of its PSA distribution (Parameter.quantile; for
a calibrated parameter with accepted joint draws, the quantile of those draws). A list-valued parameter
moves all its elements together (each at the same quantile).

An arm (baseline or scenario) is simulated again only when its central run read the parameter: every
read of the ParameterSet is recorded during the central runs and their summaries, and a run that never
read a parameter cannot change when it changes (the model is deterministic given its seed). So the
baseline is never re-run for a parameter only the scenario's interventions read, and economics-only
parameters (unit costs, price index) re-use both central runs and redo only the costing. The summary is
lean (lean_summary): only the ICS rows economics_rows reads, not every area, stratum, rate and life table.
The simulations run in `workers` processes (forked, each with the central population); the results do not
depend on how many.

The starting population is synthesised once from central values, as in `neighsim run --psa`; a
parameter that the synthesis reads (e.g. frailty.prevalence_65plus) then acts only through the
projection. `rebuild=True` synthesises the population again with the changed value for those parameters
(both arms), which also counts their effect on who is there at the start.

At a scale below 1 the money, QALY and admission figures are those of the simulated sample (the `scale`
column of tornado.csv says which), unless the configuration's population.scale_up (`--scale-up`) multiplies
them by 1/scale to stand for every resident (the `scaled_up` column).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import ICSConfig
from ..errors import NeighsimError
from ..outcomes import OUT
from ..parameters import ParameterSet, ReadRecorder, load_parameters
from ..population.geography import ICS_NAME
from .backends import default_workers, die_with_parent, fork_pool

OUTCOMES = ("nmb_20000", OUT.net_cost, OUT.qalys_gained, OUT.admissions_avoided)
DEFAULT_GROUPS = ("economics", "admissions", "mortality", "falls", "frailty")
CANDIDATE_GROUPS = ("all", "interventions")
COLUMNS = ["parameter", "label", "low_value", "high_value", "outcome", "central", "at_low", "at_high", "swing",
           "scale", "population", "scaled_up"]
BASELINE = "baseline"


def _reads(seen: set[str], name: str) -> bool:
    return "*" in seen or name in seen


def intervention_parameters(scenario: Any, params: ParameterSet) -> list[str]:
    """The parameters a scenario's interventions take: what their modules declare (effects, uptake and
    deprivation odds ratio, cost items) where the scenario file does not set a number, parameter names
    the file gives instead of numbers, and anything else building them reads (e.g. shared stop-smoking
    support)."""
    from ..interventions import registry

    names: list[str] = []
    for spec in getattr(scenario, "specs", ()):
        cls = registry.get(spec.type)
        d = spec.delivery
        names += [spec.effects.get(k, e.param) for k, e in cls.effects_spec.items()]
        names += [d.uptake if d.uptake is not None else cls.uptake_param,
                  d.uptake_or if d.uptake_or is not None else cls.uptake_or_param]
        names += [d.costs.get(item, p) for item, p in cls.cost_spec.items()] + [d.costs.get("fixed_per_year")]
    seen: set[str] = set()
    scenario.build(ReadRecorder(params, seen))
    names += sorted(k for k in seen if k != "*")
    return [n for n in dict.fromkeys(names) if isinstance(n, str) and n in params]


def default_candidates(scenario: Any, params: ParameterSet) -> list[str]:
    """Every uncertain parameter (a distribution other than fixed) the scenario can influence: its
    interventions' own parameters, then every economics, admissions, mortality, falls and frailty one."""
    own = [n for n in intervention_parameters(scenario, params)
           if n.startswith("interventions.") or params.spec(n).plugin]  # a plug-in's parameters are its own
    rest = sorted(k for k, _ in params.items() if k.split(".", 1)[0] in DEFAULT_GROUPS)
    return [n for n in dict.fromkeys(own + rest) if params.spec(n).dist.get("type", "fixed") != "fixed"]


def intervention_candidates(scenario: Any, params: ParameterSet) -> list[str]:
    """The 'interventions' group: every uncertain parameter the scenario's interventions take or read when
    built (intervention_parameters: effects, uptake, costs, and e.g. the cold-home risks a warm-homes
    programme removes), then every uncertain economics one (unit costs, prices, utilities, productivity)."""
    own = intervention_parameters(scenario, params)
    econ = sorted(k for k, _ in params.items() if k.split(".", 1)[0] == "economics")
    return [n for n in dict.fromkeys(own + econ) if params.spec(n).dist.get("type", "fixed") != "fixed"]


def check_candidates(names: Iterable[str], params: ParameterSet, flag: str = "--parameters") -> list[str]:
    """Explicit parameter names: known and uncertain, else one clear error naming the flag."""
    out = []
    for n in names:
        if n not in params:
            groups = sorted({k.split(".", 1)[0] for k, _ in params.items()})
            raise NeighsimError(f"{flag} {n}: no such parameter (names are file.key, e.g. "
                                f"interventions.falls_mfa_rate_ratio; files: {', '.join(groups)})")
        if params.spec(n).dist.get("type", "fixed") == "fixed":
            raise NeighsimError(f"{flag} {n}: fixed (no uncertainty distribution), so its low and high values "
                                "would equal its central value")
        out.append(n)
    return list(dict.fromkeys(out))


def label(params: ParameterSet, name: str) -> str:
    """A short description for the chart: the first clause of the parameter's unit text, else its name."""
    spec = params.spec(name)
    text = (spec.unit or "").split(";")[0].strip()
    if not text:
        return name
    return text if len(text) <= 90 else text[:87].rstrip() + "..."


def _fmt(v: Any) -> str:
    if isinstance(v, tuple | list | np.ndarray):
        return "[" + ", ".join(f"{float(x):.6g}" for x in v) + "]"
    return f"{float(v):.6g}"


# --- the lean summary: only what the ICS economics read ------------------------------------------------
def lean_summary(counts: pd.DataFrame, months: int, start: dt.date) -> pd.DataFrame:
    """One or more runs' counts -> the tidy rows economics_rows reads at ICS level, without costs: every
    outcome by financial year and the whole horizon (analysis.summary.to_periods), summed over the ICS's
    neighbourhoods for stratum 'all' and each 'age_band=...' stratum (survivors, QALYs beyond the horizon
    and productivity are by age band). The same columns as reduce_run's rows (scenario, replicate,
    param_draw, period, outcome, level='ics', area, stratum, value); no other level, stratum, rate, life
    expectancy or inequality row, and no bed days (the length of stay only weights those)."""
    from ..analysis.grouping import group_sum, sorted_codes
    from ..analysis.summary import KEYS

    # the ICS sums need no neighbourhood, deprivation or sex: sum them out first (months and age bands
    # kept, so events and snapshots are periodised as before), then periodise a far smaller table
    keep = KEYS + ["month", "age_band", "measure"]
    k_codes = [sorted_codes(counts[c]) for c in keep]
    got, sums = group_sum([c for c, _ in k_codes], [len(u) for _, u in k_codes], counts["value"].to_numpy())
    small = pd.DataFrame({c: u.take(k) for c, (_, u), k in zip(keep, k_codes, got, strict=True)})
    return _lean_from_ics_counts(small.assign(value=sums), months, start)


def _recorder_ics_counts(recorder: Any, scenario: str, replicate: int) -> pd.DataFrame:
    """A finished model's counts summed over neighbourhood, deprivation and sex straight from its recorder's
    arrays ([month, stratum], the age band the fastest-moving part of a stratum): what lean_summary sums
    model.counts() to, without building the full counts table."""
    from ..recorder import N_BANDS

    frames = []
    for measure, arr in sorted(recorder.data.items()):
        by_band = arr.reshape(arr.shape[0], -1, N_BANDS).sum(axis=1)
        month, band = np.nonzero(by_band)
        frames.append(pd.DataFrame({"month": month.astype(np.int16), "age_band": band.astype(np.int8),
                                    "measure": measure, "value": by_band[month, band]}))
    small = pd.concat(frames, ignore_index=True)
    small.insert(0, "scenario", scenario)
    small.insert(1, "replicate", np.int32(replicate))
    small.insert(2, "param_draw", np.int32(-1))
    return small


def _lean_from_ics_counts(small: pd.DataFrame, months: int, start: dt.date) -> pd.DataFrame:
    """Counts by run, month, age band and measure (summed over the ICS) -> lean_summary's rows."""
    from ..analysis.grouping import group_sum, sorted_codes
    from ..analysis.summary import KEYS, to_periods
    from ..recorder import AGE_BAND_NAMES

    per = to_periods(small.assign(neighbourhood=np.int16(0), imd_decile=np.int8(0), sex=np.int8(0)), months, start)
    base = KEYS + ["period", "outcome"]
    base_codes = [sorted_codes(per[c]) for c in base]
    codes = [c for c, _ in base_codes]
    sizes = [len(u) for _, u in base_codes]
    value = per["value"].to_numpy()
    band_code, bands = sorted_codes(per["age_band"])
    band_labels = pd.Index([f"age_band={AGE_BAND_NAMES[int(b)]}" if 0 <= int(b) < len(AGE_BAND_NAMES) else ""
                            for b in bands])
    ok = band_code >= 0
    frames = []
    for got, sums, stratum in (
            (*group_sum(codes, sizes, value), None),
            (*group_sum([c[ok] for c in codes] + [band_code[ok]], sizes + [len(bands)], value[ok]), band_labels)):
        cols = {c: u.take(k) for c, (_, u), k in zip(base, base_codes, got, strict=False)}
        cols |= {"level": "ics", "area": ICS_NAME,
                 "stratum": "all" if stratum is None else stratum.take(got[-1]), "value": sums}
        frames.append(pd.DataFrame(cols))
    tidy = pd.concat(frames, ignore_index=True)
    return tidy[tidy["stratum"] != ""].reset_index(drop=True)


def lean_reduce(counts: pd.DataFrame, months: int, start: dt.date, params: ParameterSet) -> pd.DataFrame:
    """lean_summary with the costs (analysis.impacts.add_costs) at `params`: the ICS rows of reduce_run
    that economics_rows needs."""
    from ..analysis.impacts import add_costs

    return add_costs(lean_summary(counts, months, start), lambda draw: params)


# --- the simulations, in this process or in worker processes --------------------------------------------
_STATE: dict[str, Any] = {}  # this process's configuration, arms, population and central parameters


def _state_key(cfg: ICSConfig, scenario_files: tuple[Path, ...]) -> tuple[str, tuple[str, ...]]:
    from .tasks import config_key

    return config_key(cfg), tuple(str(f.resolve()) for f in scenario_files)


def _setup(cfg: ICSConfig, scenario_files: tuple[Path, ...], scenarios: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    """What every simulation needs, once per process (a forked worker inherits its parent's): the
    configuration, the arms (baseline and each scenario), the population and the central parameters."""
    from ..scenarios import load_scenarios
    from .tasks import get_population

    key = _state_key(cfg, scenario_files)
    if _STATE.get("key") != key:
        if scenarios is None:
            scenarios = load_scenarios([str(f) for f in scenario_files], cfg)
        _STATE.clear()
        _STATE.update(key=key, cfg=cfg, arms={BASELINE: None, **scenarios}, pop=get_population(cfg),
                      base=load_parameters(cfg.parameters_dir()), rebuilt=(None, None))
    return _STATE


def _init_worker(cfg: ICSConfig, scenario_files: tuple[Path, ...]) -> None:
    die_with_parent()
    _setup(cfg, scenario_files)
    gc.freeze()  # the population and modules: the collection after each run walks only that run's objects


def _simulate(arm: str, overrides: dict[str, Any], replicate: int, record: bool,
              rebuild: bool) -> tuple[pd.DataFrame, set[str]]:
    """One run of one arm with the central parameters but `overrides`, replicate `replicate`; its lean
    summary (no costs) and, when `record`, the parameters it read."""
    from ..population import build_population
    from .tasks import simulate

    st = _STATE
    cfg = st["cfg"]
    p = st["base"].update(overrides) if overrides else st["base"]
    seen: set[str] = set()
    if record:
        p = ReadRecorder(p, seen)
    population = st["pop"]
    if rebuild:
        key = repr(sorted(overrides.items()))
        if st["rebuilt"][0] != key:
            st["rebuilt"] = (None, None)
            st["rebuilt"] = (key, build_population(cfg, p))
        population = st["rebuilt"][1]
    # as a task runs it, but the counts are read from the recorder's arrays: no full counts or life table
    # (the long-lived objects are frozen, so the collection after the run is quick)
    small = simulate(population, p, st["arms"][arm], replicate, lambda m: _recorder_ics_counts(m.recorder, arm,
                                                                                              replicate))
    return _lean_from_ics_counts(small, cfg.time.months, cfg.time.start), seen


def _pool(workers: int, cfg: ICSConfig, scenario_files: tuple[Path, ...]) -> Any:
    return fork_pool(workers, _init_worker, (cfg, scenario_files))


def _execute(jobs: dict[tuple, tuple], pool: Any, done: Callable[[tuple], None]) -> dict[tuple, Any]:
    """Run _simulate for every job (key -> arguments): in this process when `pool` is None, else in the
    pool's workers. Results by key, whatever order they finish in."""
    out: dict[tuple, Any] = {}
    if pool is None:
        for k, a in jobs.items():
            out[k] = _simulate(*a)
            done(k)
        return out
    from concurrent.futures import FIRST_EXCEPTION, as_completed, wait

    futures = {pool.submit(_simulate, *a): k for k, a in jobs.items()}
    try:
        for f in as_completed(futures):
            out[futures[f]] = f.result()
            done(futures[f])
    except BaseException:
        for f in futures:
            f.cancel()
        wait(futures, return_when=FIRST_EXCEPTION)
        raise
    return out


def _economics(tidies: dict[str, pd.DataFrame], scenario: str, years: list[str], whole: str,
               params: ParameterSet) -> dict[str, float]:
    """The ICS whole-horizon economics of the scenario against the baseline: the mean over the replicates
    the tidy rows hold (each paired with the baseline's same replicate)."""
    from ..analysis.impacts import economics_rows

    e = economics_rows(pd.concat([tidies[BASELINE], tidies[scenario]], ignore_index=True), BASELINE, years, whole,
                       lambda draw: params)
    if e.empty:
        raise NeighsimError("no economics rows: the summary lacks admission costs or QALYs")
    sel = e[(e["scenario"] == scenario) & (e["period"] == whole) & (e["level"] == "ics") & (e["area"] == ICS_NAME)
            & (e["stratum"] == "all")].groupby("outcome")["value"].mean()
    return {o: float(sel.get(o, np.nan)) for o in OUTCOMES}


def run_sensitivity(cfg: ICSConfig, scenario_file: str | Path, out_dir: str | Path | None = None,
                    **options: Any) -> dict[str, Any]:
    """One-way sensitivity of one scenario's ICS five-year economics (nmb_20000, net_cost, qalys_gained,
    admissions_avoided) against the baseline. Writes tornado.csv and sensitivity.json to `out_dir` (when
    given) and returns {"table": DataFrame, "manifest": dict}. Options: those of run_sensitivities."""
    from .experiment import prepare_folder

    if out_dir is not None:
        prepare_folder(Path(out_dir))  # a clear error before the runs, not after
    res = run_sensitivities(cfg, [scenario_file], None, **options)
    (name, one), = res.items()
    if out_dir is not None:
        _write(one, Path(out_dir))
    return one


def _write(res: dict[str, Any], out: Path) -> None:
    from .experiment import prepare_folder
    from .store import write_atomic

    out = prepare_folder(out)
    write_atomic(out / "tornado.csv", res["table"].to_csv(index=False))
    write_atomic(out / "sensitivity.json", json.dumps(res["manifest"], indent=2, default=str))


def run_sensitivities(cfg: ICSConfig, scenario_files: Iterable[str | Path], out_dir: str | Path | None = None, *,
                      parameters: Iterable[str] | None = None, candidates: str = "all", low: float = 0.025,
                      high: float = 0.975, scale: float | None = None, rebuild: bool = False,
                      replicates: int = 1, workers: int | None = None, progress: bool = True,
                      on_run: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """One-way sensitivity of each scenario (one per file) against the baseline, in one pool of processes:
    the baseline's runs (central, and at each value of a parameter it reads) are shared by every scenario.
    Returns {scenario: {"table": DataFrame, "manifest": dict}}; with `out_dir`, writes each scenario's
    tornado.csv and sensitivity.json to out_dir/SCENARIO/.

    `parameters`: the names to vary (default: the `candidates` group, 'all' (default_candidates) or
    'interventions' (intervention_candidates)). `low`, `high`: the quantiles of each parameter's PSA
    distribution taken as its low and high value. `scale` overrides the configuration's population scale.
    `replicates`: each point is the mean over replicates 0..R-1, the same replicates (common random
    numbers) at every point. `workers`: processes that run the simulations (default: the CPUs this process
    may use, at most one per simulation; 1 runs them here); the results do not depend on it."""
    from ..analysis.impacts import add_costs
    from ..analysis.summary import period_labels
    from ..population import build_population
    from ..scenarios import load_scenarios
    from .experiment import check_targets, git_commit, prepare_folder, versions
    from .tasks import get_population

    t0 = time.perf_counter()
    if not 0.0 < low < high < 1.0:
        raise NeighsimError(f"quantiles must satisfy 0 < low < high < 1, got low={low} and high={high}")
    if candidates not in CANDIDATE_GROUPS:
        raise NeighsimError(f"candidates must be one of {', '.join(CANDIDATE_GROUPS)}, got {candidates!r}")
    if int(replicates) < 1:
        raise NeighsimError(f"replicates must be at least 1, got {replicates}")
    if workers is not None and int(workers) < 1:
        raise NeighsimError(f"workers must be at least 1, got {workers}")
    replicates = int(replicates)
    if scale is not None:
        cfg = cfg.with_overrides(population={"scale": scale})
    paths = tuple(Path(f) for f in scenario_files)
    if not paths:
        raise NeighsimError("no scenario file given")
    scenarios: dict[str, Any] = {}
    files: dict[str, Path] = {}
    for path in paths:
        if not path.is_file():
            raise NeighsimError(f"{path}: no such scenario file")
        got = load_scenarios([str(path)], cfg)
        if len(got) != 1:
            raise NeighsimError(f"{path}: expected one scenario")
        (name, scenario), = got.items()
        if name in scenarios or name == BASELINE:
            raise NeighsimError(f"{path}: scenario name '{name}' given twice (or 'baseline')")
        scenarios[name], files[name] = scenario, path
    base = load_parameters(cfg.parameters_dir())
    names: dict[str, list[str]] = {}
    for name, scenario in scenarios.items():
        if parameters is not None:
            names[name] = check_candidates(list(parameters), base)
        elif candidates == "interventions":
            names[name] = intervention_candidates(scenario, base)
        else:
            names[name] = default_candidates(scenario, base)
        if not names[name]:
            raise NeighsimError(f"{files[name]}: no uncertain parameters to vary")
    every = list(dict.fromkeys(c for n in names.values() for c in n))
    sides = {c: (base.quantile(c, low), base.quantile(c, high)) for c in every}
    if out_dir is not None:
        prepare_folder(Path(out_dir))

    pop = get_population(cfg)
    nbs = pop.geography.neighbourhood_ids()
    empty = [n for n, (a, b) in pop.neighbourhood_bounds().items() if a == b]
    if empty:
        raise NeighsimError(f"neighbourhoods {empty} have no residents at this --scale "
                            f"({cfg.population.scale:g}); use a larger scale")
    check_targets(scenarios, pop.geography, nbs)
    months, start = cfg.time.months, cfg.time.start
    labels, whole = period_labels(months, start)
    years = list(dict.fromkeys(labels))
    arms = (BASELINE, *scenarios)
    reps = range(replicates)
    _setup(cfg, paths, scenarios)

    n_workers = int(workers) if workers else default_workers()
    n_workers = min(n_workers, len(arms) * replicates * (1 + 2 * len(every)))  # at most one per simulation
    gc.collect()
    gc.freeze()  # long-lived objects out of the collector's way (it runs after every simulation)
    pool = _pool(n_workers, cfg, paths) if n_workers > 1 else None
    bar = None
    n_sim = 0

    def done(key: tuple) -> None:
        nonlocal n_sim
        n_sim += 1
        if bar:
            bar.update(1)
        if on_run:
            on_run(key[0])

    synth_reads: set[str] = set()
    try:
        if progress:
            from tqdm import tqdm

            desc = "sensitivity " + (next(iter(scenarios)) if len(scenarios) == 1 else f"{len(scenarios)} scenarios")
            bar = tqdm(total=len(arms) * replicates, desc=desc, unit="run", file=sys.stderr)
        # central runs, recording what each arm reads in the simulation
        got = _execute({(a, "central", "", r): (a, {}, r, True, False) for a in arms for r in reps}, pool, done)
        # which parameters the synthesis of the starting population reads (marked; re-synthesised with rebuild)
        build_population(cfg, ReadRecorder(base, synth_reads))
        sim_reads = {a: set().union(*(got[a, "central", "", r][1] for r in reps)) for a in arms}
        central_lean = {a: pd.concat([got[a, "central", "", r][0] for r in reps], ignore_index=True) for a in arms}
        del got

        def needs_sim(arm: str, c: str) -> bool:
            return _reads(sim_reads[arm], c) or (rebuild and _reads(synth_reads, c))

        # every scenario's low and high runs; the baseline's are the same for every scenario (one key)
        jobs = {(a, c, side, r): (a, {c: value}, r, False, rebuild and _reads(synth_reads, c))
                for s in scenarios for c in names[s] for side, value in zip(("low", "high"), sides[c], strict=True)
                for a in (BASELINE, s) if needs_sim(a, c) for r in reps}
        if bar:
            bar.total += len(jobs)
            bar.refresh()
        runs = _execute(jobs, pool, done)
    finally:
        gc.unfreeze()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if bar:
            bar.close()

    costed: dict[tuple, pd.DataFrame] = {}

    def costs(key: tuple, lean: pd.DataFrame, p: ParameterSet) -> pd.DataFrame:
        if key not in costed:
            costed[key] = add_costs(lean, lambda draw: p)
        return costed[key]

    out: dict[str, dict[str, Any]] = {}
    for s in scenarios:
        sum_reads: set[str] = set()
        rec = ReadRecorder(base, sum_reads)
        central_costed = {a: add_costs(central_lean[a], lambda draw, rec=rec: rec) for a in (BASELINE, s)}
        central = _economics(central_costed, s, years, whole, rec)
        rows = []
        reused = 0
        used = 2 * replicates
        for c in names[s]:
            results = {}
            for side, value in zip(("low", "high"), sides[c], strict=True):
                if not any(needs_sim(a, c) for a in (BASELINE, s)) and not _reads(sum_reads, c):
                    results[side] = central  # nothing that reads it: the same runs, the same summary
                    reused += 2 * replicates
                    continue
                p = base.update({c: value})
                tidies = {}
                for a in (BASELINE, s):
                    if needs_sim(a, c):
                        used += replicates
                        lean = pd.concat([runs[a, c, side, r][0] for r in reps], ignore_index=True)
                        tidies[a] = costs((a, c, side), lean, p)
                    else:  # the same simulations; costed again only if the costs read c
                        reused += replicates
                        tidies[a] = costs(("central", a, c, side), central_lean[a], p) if _reads(sum_reads, c) \
                            else central_costed[a]
                results[side] = _economics(tidies, s, years, whole, p)
            pop_note = "" if not _reads(synth_reads, c) else ("rebuilt" if rebuild else "central")
            for o in OUTCOMES:
                lo, hi = results["low"][o], results["high"][o]
                rows.append({"parameter": c, "label": label(base, c), "low_value": _fmt(sides[c][0]),
                             "high_value": _fmt(sides[c][1]), "outcome": o, "central": central[o],
                             "at_low": lo, "at_high": hi, "swing": abs(hi - lo),
                             "scale": cfg.population.scale, "population": pop_note})
        up = cfg.population.scale_up and cfg.population.scale < 1
        table = pd.DataFrame(rows).assign(scaled_up=up)[COLUMNS]
        if up:  # the sample stands for every resident, as `neighsim run --scale-up` (ratios are unchanged)
            for col in ("central", "at_low", "at_high", "swing"):
                table[col] = table[col] / cfg.population.scale
        order = {o: i for i, o in enumerate(OUTCOMES)}
        table = (table.assign(_o=table["outcome"].map(order))
                 .sort_values(["_o", "swing"], ascending=[True, False], kind="stable")
                 .drop(columns="_o").reset_index(drop=True))
        manifest = {
            "kind": "one-way sensitivity (tornado)", "created": dt.datetime.now().isoformat(timespec="seconds"),
            "scenario": s, "scenario_file": str(files[s]), "comparator": BASELINE,
            "scale": cfg.population.scale, "local_authorities": cfg.population.local_authorities,
            "seed": cfg.seed, "replicates": replicates, "low_quantile": low, "high_quantile": high,
            "outcomes": list(OUTCOMES), "period": whole, "level": "ics", "central": central,
            "candidate_group": "parameters" if parameters is not None else candidates, "candidates": names[s],
            "n_candidates": len(names[s]), "simulations": used, "simulations_in_call": n_sim,
            "scenarios_in_call": list(scenarios), "workers": n_workers, "arm_runs_reused": reused,
            "population_rebuilt": rebuild,
            "read_by_population_synthesis": [c for c in names[s] if _reads(synth_reads, c)],
            "residents": int(pop.cohort.n), "seconds": round(time.perf_counter() - t0, 2),
            "scaled_up": up,
            "note": ("money, QALY and admission figures scaled up by 1/scale to stand for every resident" if up
                     else "money, QALY and admission figures are for the simulated sample at this scale"
                     if cfg.population.scale < 1 else "whole population"),
            "versions": versions(), "commit": git_commit(), "command": " ".join(sys.argv),
        }
        out[s] = {"table": table, "manifest": manifest}
        if out_dir is not None:
            _write(out[s], Path(out_dir) / s)
    return out
