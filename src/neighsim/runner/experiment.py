"""Orchestration: the list of tasks, the manifest, progress, streaming to disk, the summary."""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..config import ICSConfig
from ..errors import NeighsimError
from ..parameters import load_parameters
from .backends import run_ray, run_serial
from .store import ResultStore
from .tasks import Task, get_population


def git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0], "neighsim": __version__, "platform": platform.platform()}
    for pkg in ("numpy", "pandas", "mesa", "ray", "pyarrow", "networkx", "scipy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def make_tasks(scenarios: list[str], replicates: int, neighbourhoods: list[int], draws: bool,
               chunk: int | None = None) -> list[Task]:
    """scenario x replicate x neighbourhood chunk. With draws, replicate r uses parameter draw r (the
    same draw for every scenario and neighbourhood of that replicate)."""
    chunk = chunk or len(neighbourhoods)
    groups = [tuple(neighbourhoods[i:i + chunk]) for i in range(0, len(neighbourhoods), chunk)]
    return [Task(s, r, g, r if draws else -1) for r in range(replicates) for s in scenarios for g in groups]


def run_experiment(cfg: ICSConfig, out: str | Path, *, scenarios: dict[str, Any] | None = None,
                   replicates: int = 1, neighbourhoods: list[int] | None = None, backend: str = "serial",
                   address: str | None = None, workers: int | None = None, resume: bool = False,
                   psa: bool = False, chunk: int | None = None, progress: bool = True,
                   name: str = "run", comparator: str = "baseline") -> dict[str, Any]:
    """Run every task (skipping finished ones with resume), stream results to disk, write the summary."""
    t0 = time.perf_counter()
    outdir = Path(out)
    if outdir.exists() and any(outdir.glob("tasks/*.done.json")) and not resume:
        raise NeighsimError(f"{outdir} already holds results: use --resume to continue it, or another --out")
    store = ResultStore(outdir)
    scenarios = dict(scenarios or {})
    names = ["baseline"] + [s for s in scenarios if s != "baseline"]
    pop = get_population(cfg)
    all_nb = pop.geography.neighbourhood_ids()
    if neighbourhoods:
        bad = sorted(set(neighbourhoods) - set(all_nb))
        if bad:
            raise NeighsimError(f"unknown neighbourhood ids {bad}; known ids are {all_nb[0]}..{all_nb[-1]} "
                                "(see `neighsim population`)")
    nbs = sorted(set(neighbourhoods)) if neighbourhoods else all_nb
    if backend == "ray" and chunk is None:
        chunk = 1
    tasks = make_tasks(names, replicates, nbs, psa, chunk)
    manifest = {
        "name": name, "created": dt.datetime.now().isoformat(timespec="seconds"),
        "config": cfg.model_dump(mode="json"), "seed": cfg.seed, "replicates": replicates, "psa": psa,
        "scenarios": {k: (v.describe() if hasattr(v, "describe") else None) for k, v in scenarios.items()},
        "comparator": comparator, "neighbourhoods": nbs, "backend": backend, "address": address,
        "workers": workers, "tasks": len(tasks), "versions": versions(), "commit": git_commit(),
        "command": " ".join(sys.argv), "population_build_seconds": round(pop.timings.get("total", 0.0), 2),
    }
    (outdir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    todo = [t for t in tasks if not (resume and store.done(t))]
    skipped = len(tasks) - len(todo)
    failures: list[str] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), initial=skipped, desc="tasks", unit="task", file=sys.stderr)
    if backend == "serial":
        results = run_serial(cfg, todo, scenarios)
    elif backend == "ray":
        results = run_ray(cfg, todo, scenarios, address=address, workers=workers,
                          on_error=lambda task, exc: failures.append(f"{task.key}: {exc}"))
    else:
        raise NeighsimError(f"unknown backend {backend!r}; expected serial or ray")
    task_seconds = 0.0
    try:
        for res in results:
            store.write(res)
            task_seconds += res.seconds
            if bar:
                bar.update(1)
    finally:
        if bar:
            bar.close()
    if failures:
        raise NeighsimError(f"{len(failures)} task(s) failed (finished ones are saved; rerun with --resume): "
                            + "; ".join(failures[:3]))
    summary = write_summary(cfg, outdir, comparator)
    write_convergence(outdir, comparator)
    manifest.update({"finished": dt.datetime.now().isoformat(timespec="seconds"),
                     "seconds": round(time.perf_counter() - t0, 2), "task_seconds": round(task_seconds, 2),
                     "tasks_resumed": skipped})
    (outdir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return {"manifest": manifest, "summary": summary}


def write_summary(cfg: ICSConfig, outdir: Path, comparator: str = "baseline") -> pd.DataFrame:
    from ..analysis.impacts import add_costs, economics_rows, inequality_rows, summarise_economics
    from ..analysis.life import life_expectancy_table
    from ..analysis.summary import (
        add_rates,
        by_area_and_stratum,
        period_labels,
        summarise_replicates,
        to_periods,
    )
    from ..population.geography import ICS_NAME
    from .tasks import task_params

    store = ResultStore(outdir)
    counts = store.load("counts")
    lt = store.load("lifetable")
    if counts.empty:
        raise NeighsimError(f"{outdir}: no finished tasks to summarise")
    params = load_parameters(cfg.parameters_dir())
    pop = get_population(cfg)
    geo = pop.geography
    months = cfg.time.months
    periods = to_periods(counts, months, cfg.time.start, np.asarray(params["admissions.length_of_stay"]))
    tidy = add_rates(by_area_and_stratum(periods, geo))
    labels, whole = period_labels(months, cfg.time.start)
    years = list(dict.fromkeys(labels))
    place = dict(zip(geo.neighbourhoods["id"], geo.neighbourhoods["place"], strict=True))
    extra = [life_expectancy_table(lt, geo, whole), inequality_rows(periods, place, ICS_NAME)]
    tidy = pd.concat([tidy] + [e for e in extra if not e.empty], ignore_index=True)
    cache: dict[int, object] = {}

    def params_for_draw(draw: int):
        if draw not in cache:
            cache[draw] = task_params(params, cfg.seed, draw)
        return cache[draw]

    tidy = add_costs(tidy, params_for_draw)
    summary = summarise_replicates(tidy, comparator)
    econ = economics_rows(tidy, comparator, years, whole, params_for_draw)
    if not econ.empty:
        econ.to_parquet(outdir / "economics_replicates.parquet", index=False)
        summary = pd.concat([summary, summarise_economics(econ)], ignore_index=True)
    summary.to_csv(outdir / "summary.csv", index=False)
    tidy.to_parquet(outdir / "replicates.parquet", index=False)
    return summary


CONVERGENCE_OUTCOMES = ("emergency_admissions", "deaths", "bed_days")


def write_convergence(outdir: Path, comparator: str = "baseline") -> pd.DataFrame:
    """How the 95% interval narrows with replicates, for the headline outcomes (whole ICS, five
    years): scenario values, and paired differences from the comparator. Users can see whether they
    ran enough replicates: the interval of the mean should be small next to the effect."""
    from ..analysis.intervals import interval_width_by_replicates
    from ..analysis.summary import FIVE_YEARS

    rep = pd.read_parquet(outdir / "replicates.parquet")
    sel = rep[(rep["level"] == "ics") & (rep["stratum"] == "all") & (rep["period"] == FIVE_YEARS)
              & rep["outcome"].isin(CONVERGENCE_OUTCOMES)]
    frames = []
    wide = sel.pivot_table(index=["replicate", "param_draw", "outcome"], columns="scenario", values="value")
    for outcome in CONVERGENCE_OUTCOMES:
        if outcome not in wide.index.get_level_values("outcome"):
            continue
        w = wide.xs(outcome, level="outcome").sort_index()
        for scen in w.columns:
            series = {"value": w[scen].to_numpy()}
            if scen != comparator and comparator in w.columns:
                series["difference"] = (w[scen] - w[comparator]).to_numpy()
            for measure, x in series.items():
                if len(x) < 2:
                    continue
                df = interval_width_by_replicates(x)
                frames.append(df.assign(scenario=scen, outcome=outcome, measure=measure))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out.to_csv(outdir / "convergence.csv", index=False)
    return out


__all__ = ["make_tasks", "run_experiment", "write_convergence", "write_summary"]
