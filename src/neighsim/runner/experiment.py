"""Orchestration: the tasks, an output folder bound to its inputs, progress, streaming to disk, the summary.

An output folder belongs to one set of inputs (fingerprint.py). A new run refuses a folder that holds
results; `resume` continues it only when the inputs match (scenarios may be added and the number of
replicates changed: every task is a pure function of its inputs); `force_new` moves the old results
aside and starts afresh (with `resume` too: only when the inputs differ). One run at a time writes a folder (lock.py). Finished tasks are verified (checksums and
inputs) before they are used, and a damaged one is recomputed with a warning. The summary reads the
tasks this run lists, nothing else that may lie in the folder.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..config import ICSConfig
from ..errors import ConfigError, NeighsimError, warn
from ..parameters import ParameterSet, ReadRecorder, load_parameters
from ..population import UnknownNeighbourhoods
from . import BACKENDS, fingerprint, packages
from .backends import check_address, run_processes, run_ray, run_serial
from .lock import LOCK_NAME, FolderLock
from .store import ResultStore, write_atomic
from .summarise import write_summary
from .tasks import Task, get_population, release_populations

MANIFEST = "manifest.json"
MAX_TASKS = 1_000_000


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
    same draw for every scenario and neighbourhood of that replicate). The grouping depends on `chunk`
    alone (never on the backend), so a run interrupted on one backend resumes on another."""
    chunk = chunk or len(neighbourhoods)
    groups = [tuple(neighbourhoods[i:i + chunk]) for i in range(0, len(neighbourhoods), chunk)]
    return [Task(s, r, g, r if draws else -1) for r in range(replicates) for s in scenarios for g in groups]


def prepare_folder(out: Path) -> Path:
    """The output folder, created if needed; a clear error when it cannot be used."""
    if out.exists() and not out.is_dir():
        raise NeighsimError(f"--out {out}: a file of that name exists; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise NeighsimError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return out


def _read_manifest(outdir: Path) -> dict[str, Any] | None:
    p = outdir / MANIFEST
    if not p.is_file():
        return None
    try:
        m = json.loads(p.read_text())
    except (OSError, ValueError):
        return {}
    return m if isinstance(m, dict) else {}


def _move_aside(outdir: Path) -> Path:
    """Move the folder's contents (not the lock) to a sibling folder; nothing finished is deleted."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = outdir.with_name(f"{outdir.name}.replaced-{stamp}")
    k = 1
    while dest.exists():
        k += 1
        dest = outdir.with_name(f"{outdir.name}.replaced-{stamp}-{k}")
    dest.mkdir()
    for p in outdir.iterdir():
        if p.name != LOCK_NAME:
            shutil.move(str(p), dest / p.name)
    return dest


def check_targets(scenarios: dict[str, Any], geo, neighbourhoods: list[int]) -> None:
    """An intervention targeted only at areas outside the run would do nothing: refuse it; one partly
    outside is legal (only the areas in the run are simulated) and is said."""
    nb = geo.neighbourhoods
    in_run = nb[nb["id"].isin(neighbourhoods)]
    loc_ids = set(geo.localities.loc[geo.localities["name"].isin(in_run["locality"]), "id"].astype(int))
    run_nbs = set(int(x) for x in in_run["id"])
    for sc in scenarios.values():
        for i, spec in enumerate(getattr(sc, "specs", ())):
            t = spec.delivery.targeting
            wanted = [("neighbourhoods", t.neighbourhoods, run_nbs), ("localities", t.localities, loc_ids)]
            asked = [(k, set(v), have) for k, v, have in wanted if v is not None]
            if not asked:
                continue
            hit = [k for k, v, have in asked if v & have]
            fld = f"interventions[{i}].targeting"
            if not hit:
                names = ", ".join(f"{k} {sorted(v)}" for k, v, _ in asked)
                raise ConfigError(sc.file, fld, f"{names}: none is in this run (neighbourhoods {sorted(run_nbs)}); "
                                                "the intervention would do nothing")
            for k, v, have in asked:
                if v - have:
                    warn(f"{sc.file}, field '{fld}.{k}': {sorted(v - have)} are not in this run and are left out")


def run_experiment(cfg: ICSConfig, out: str | Path, *, scenarios: dict[str, Any] | None = None,
                   replicates: int = 1, neighbourhoods: list[int] | None = None, backend: str = "serial",
                   address: str | None = None, workers: int | None = None, resume: bool = False,
                   force_new: bool = False, psa: bool = False, chunk: int | None = None, progress: bool = True,
                   name: str = "run", comparator: str = "baseline", contributions: bool = False) -> dict[str, Any]:
    """Run every task (skipping finished ones with resume), stream results to disk, write the summary.
    `contributions` asks every scenario of 2+ interventions for what each contributes (packages.py).
    Returns the manifest and the summary's whole-area rows (all rows are in summary.csv)."""
    t0 = time.perf_counter()
    if backend not in BACKENDS:
        raise NeighsimError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if workers is not None and int(workers) < 1:
        raise NeighsimError(f"--workers must be at least 1, got {workers}")
    if not 1 <= replicates <= 100_000:
        raise NeighsimError(f"replicates must be 1 to 100,000, got {replicates}")
    if backend == "ray" and address:
        check_address(address)
    outdir = prepare_folder(Path(out))
    scenarios = dict(scenarios or {})
    names = ["baseline"] + [s for s in scenarios if s != "baseline"]
    if comparator not in names:
        raise NeighsimError(f"comparator {comparator!r} is neither 'baseline' nor one of the scenarios {names[1:]}")
    # only the neighbourhoods asked for are built (with the whole ICS's starting residents as the
    # engine's reference): exactly what the whole build gives them (population/synth.py)
    params = load_parameters(cfg.parameters_dir())  # read once: the build uses it too
    try:
        pop = get_population(cfg, sorted(set(neighbourhoods)) if neighbourhoods else None, progress=progress,
                             params=params)
    except UnknownNeighbourhoods as exc:
        raise NeighsimError(f"--neighbourhoods: unknown ids {sorted(exc.bad)}; this run's ids are {exc.known} "
                            "(see `neighsim population`)") from None
    all_nb = pop.geography.neighbourhood_ids()
    nbs = sorted(set(neighbourhoods)) if neighbourhoods else all_nb
    empty = [n for n, (a, b) in pop.neighbourhood_bounds().items() if n in nbs and a == b]
    if empty:
        raise NeighsimError(f"neighbourhoods {empty} have no residents at this --scale "
                            f"({cfg.population.scale:g}); use a larger scale")
    check_targets(scenarios, pop.geography, nbs)
    user_scenarios = list(scenarios)
    scenarios, plans = packages.expand(scenarios, contributions)
    names = ["baseline"] + [s for s in scenarios if s != "baseline"]
    chunk = min(chunk or len(nbs), len(nbs))
    if len(names) * replicates * -(-len(nbs) // chunk) > MAX_TASKS:
        raise NeighsimError(f"more than {MAX_TASKS:,} tasks: fewer replicates, or a larger --chunk")
    tasks = make_tasks(names, replicates, nbs, psa, chunk)
    comp = fingerprint.components(cfg, params, scenarios, psa=psa, neighbourhoods=nbs, chunk=chunk,
                                  contributions={k: p.describe() for k, p in plans.items()})
    digests = {t.key: fingerprint.task_digest(comp, t.scenario, t.replicate, t.param_draw, t.neighbourhoods)
               for t in tasks}
    with FolderLock(outdir) as lock:
        if lock.stale:
            warn(f"{outdir}: the previous run (pid {lock.stale.get('pid')}, started {lock.stale.get('started')}) "
                 "ended without finishing; its finished tasks are checked before they are used")
        old = _read_manifest(outdir)
        if old is not None or any((outdir / "tasks").glob("*.done.json")):
            diff = fingerprint.differences((old or {}).get("inputs") or {}, comp)
            if not (old or {}).get("inputs"):
                diff = ["inputs not recorded (made by an older neighsim)"]
            if resume and not diff:
                pass  # continue: every finished task is verified below
            elif force_new:
                dest = _move_aside(outdir)
                warn(f"{outdir}: earlier results moved to {dest}; starting afresh")
            elif not resume:
                raise NeighsimError(f"{outdir} already holds results: --resume continues them, --force-new moves "
                                    "them aside and starts afresh, or choose another --out")
            else:
                raise NeighsimError(f"{outdir} holds results made with different inputs: {'; '.join(diff)}. "
                                    "Use --force-new to move them aside and start afresh, or another --out")
        store = ResultStore(outdir)
        store.clean_temporary()
        manifest = {
            "name": name, "created": dt.datetime.now().isoformat(timespec="seconds"), "status": "running",
            "inputs": comp, "config": cfg.model_dump(mode="json"), "seed": cfg.seed, "replicates": replicates,
            "psa": psa, "scenarios": {k: (v.describe() if hasattr(v, "describe") else None)
                                      for k, v in scenarios.items() if k in user_scenarios},
            "contributions": {k: p.describe() for k, p in plans.items()}, "subsets": packages.subsets(plans),
            "comparator": comparator, "neighbourhoods": nbs, "chunk": chunk, "backend": backend,
            "address": address, "workers": workers, "tasks": len(tasks), "task_keys": [t.key for t in tasks],
            "versions": versions(), "commit": git_commit(), "command": " ".join(sys.argv),
            "population_build_seconds": round(pop.timings.get("total", 0.0), 2),
            "geography": pop.geography.neighbourhoods[["id", "name", "locality", "place"]].to_dict("records"),
        }
        write_atomic(outdir / MANIFEST, json.dumps(manifest, indent=2, default=str))
        todo, skipped = _check_tasks(store, tasks, digests, resume, checksums=True)
        hidden = set(packages.subsets(plans))
        whole_run = len(nbs) <= chunk  # one task per run: it reduces its own counts where it runs
        backend_run = functools.partial(_run_tasks, cfg, store, digests=digests, scenarios=scenarios,
                                        backend=backend, address=address, workers=workers,
                                        reduce=lambda t: whole_run and t.scenario not in hidden)
        task_seconds = backend_run(todo, progress=progress, total=len(tasks), done=skipped)
        again, _ = _check_tasks(store, tasks, digests, True, checksums=True)  # anything damaged meanwhile
        if again:
            task_seconds += backend_run(again, progress=False, total=len(again), done=0)
            still, _ = _check_tasks(store, tasks, digests, True, checksums=True, quiet=True)
            if still:
                raise NeighsimError(f"{len(still)} task(s) could not be written intact in {outdir}/tasks "
                                    "(is the disk full or failing?)")
        geography = pop.geography
        del pop
        release_populations()  # the residents are not needed to summarise: free them first
        bar = _bar(progress, len({(t.scenario, t.replicate, t.param_draw) for t in tasks}), "summary", "run")
        summary_reads: set[str] = set()
        head = write_summary(cfg, outdir, comparator, tasks, ReadRecorder(params, summary_reads),
                             progress=(lambda k: bar.update(k)) if bar else None, geography=geography,
                             packages=plans)
        if bar:
            bar.close()
        manifest["parameters_used"] = _parameters_used(store, tasks, summary_reads, params)
        manifest.update({"status": "finished", "finished": dt.datetime.now().isoformat(timespec="seconds"),
                         "seconds": round(time.perf_counter() - t0, 2), "task_seconds": round(task_seconds, 2),
                         "tasks_resumed": skipped})
        write_atomic(outdir / MANIFEST, json.dumps(manifest, indent=2, default=str))
    return {"manifest": manifest, "summary": head}


def _parameters_used(store: ResultStore, tasks: list[Task], summary_reads: set[str],
                     params: ParameterSet) -> list[str] | None:
    """Every parameter the run read (its tasks, as their markers record, and its summary's costing), in
    the parameter files' order; None when a task was made before reads were recorded."""
    used = set(summary_reads)
    for t in tasks:
        reads = (store.marker(t) or {}).get("parameters_read")
        if reads is None:
            return None
        used.update(reads)
    return [k for k, _ in params.items()] if "*" in used else [k for k, _ in params.items() if k in used]


def _check_tasks(store: ResultStore, tasks: list[Task], digests: dict[str, str], resume: bool,
                 checksums: bool, quiet: bool = False) -> tuple[list[Task], int]:
    """(tasks to run, tasks finished and intact). A task that is there but damaged, or made from other
    inputs, is run again with a warning naming it."""
    todo, ok = [], 0
    for t in tasks:
        why = store.verify(t, digests[t.key], checksums) if resume else "missing"
        if why is None:
            ok += 1
            continue
        if why != "missing" and not quiet:
            warn(f"task {t.key} in {store.tasks_dir}: {why}; running it again")
        todo.append(t)
    return todo, ok


def _bar(progress: bool, total: int, desc: str, unit: str, initial: int = 0):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr)


def _run_tasks(cfg: ICSConfig, store: ResultStore, todo: list[Task], *, digests: dict[str, str],
               scenarios: dict[str, Any], backend: str, address: str | None, workers: int | None,
               reduce: Callable[[Task], bool], progress: bool, total: int, done: int) -> float:
    """Run tasks on the backend, writing each as it finishes; returns the seconds they took."""
    if not todo:
        return 0.0
    failures: list[str] = []
    bar = _bar(progress, total, "tasks", "task", done)
    if backend == "serial":
        results = run_serial(cfg, todo, scenarios, reduce)
    elif backend == "processes":
        results = run_processes(cfg, todo, scenarios, str(store.out), digests, workers, reduce)
    else:
        results = run_ray(cfg, todo, scenarios, address=address, workers=workers,
                          on_error=lambda task, exc: failures.append(f"{task.key}: {exc}"), reduce=reduce)
    seconds = 0.0
    try:
        for res in results:
            if not res.written:
                store.write(res, digests[res.task.key])
            seconds += res.seconds
            if bar:
                bar.update(1)
    finally:
        if bar:
            bar.close()
    if failures:
        raise NeighsimError(f"{len(failures)} task(s) failed (finished ones are saved; rerun with --resume): "
                            + "; ".join(failures[:3]))
    return seconds


def read_summary(out: str | Path, **match: Any) -> pd.DataFrame:
    """Every summary row of an output folder (results.parquet; summary.csv in folders written before it),
    or those matching `match` (column=value or list of values), read alone (analysis.cells.read_results)."""
    from ..analysis.cells import read_results

    return read_results(out, **match)


__all__ = ["make_tasks", "read_summary", "run_experiment", "write_summary"]
