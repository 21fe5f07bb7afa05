"""Runs in the background, and the cache of finished runs.

Every simulation runs in one worker process (spawned, so the web server's threads are never forked; it
dies with the server): the page's thread only submits a job and polls its progress, so the page never
freezes, and the worker keeps the residents it built for the next run. A run is an ordinary output
folder (`neighsim.api.run`), named by the run's cache key under the cache folder; `workbench.json`,
written last, marks it finished, so a finished run is reused by any later request with the same inputs,
also after a restart. The oldest folders beyond `keep` are removed (only folders this module made).

Progress is read from the folder as the runner writes it (`manifest.json`, then `tasks/*.done.json` one
per task), so nothing inside the runner is touched.

An optimisation ("Optimise a budget": `neighsim.optimise.optimise`) is a job like a run: it runs in the same
worker, its folder (named by `inputs.optimise_key`) holds the optimiser's files and its runs
(`runs/demand`, `runs/levels`, `runs/compare-DIGEST`), its progress is read from those runs' folders, and
the response curves of an earlier optimisation with the same area, interventions and sample
(`inputs.curves_key`) are copied in first, so another budget or equity rule costs only the solve and the
comparison run.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import re
import shutil
import threading
import time
import traceback
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NeighsimError
from .inputs import (
    Area,
    InputError,
    OptimiseRequest,
    RunRequest,
    RunSettings,
    cache_key,
    config_overrides,
    curves_key,
    optimise_key,
    page_words,
)

log = logging.getLogger("neighsim.workbench")
MARKER = "workbench.json"
KEY_PATTERN = re.compile(r"^[0-9a-f]{20}$")
ATLAS_SCALE = 0.05


# --- in the worker process ---------------------------------------------------------------------------------
def _init_worker() -> None:
    from ..runner.backends import die_with_parent

    die_with_parent()
    logging.basicConfig(level=logging.WARNING, format="neighsim workbench worker: %(message)s")
    logging.getLogger("neighsim").setLevel(logging.INFO)


def _config(config_path: str | None, settings: RunSettings):
    from ..config import load_config

    return load_config(config_path, **config_overrides(settings))


def _failure(exc: BaseException) -> dict[str, Any]:
    """A problem as the page shows it: the user's mistake in one line, or a bug named as one (the
    traceback goes to the console only)."""
    if isinstance(exc, InputError):
        return {"ok": False, "errors": exc.problems}
    if isinstance(exc, NeighsimError):
        return {"ok": False, "errors": [" ".join(str(exc).split())]}
    log.error("internal error in the workbench worker:\n%s", "".join(traceback.format_exception(exc)))
    return {"ok": False, "errors": [f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
                                    "(a bug in neighsim; the details are in the server's console)"]}


def do_run(request: dict[str, Any], folder: str, config_path: str | None, key: str) -> dict[str, Any]:
    """Check the inputs in full, run baseline and scenarios on the area's neighbourhoods, and mark the
    folder finished. Returns {ok, errors | warnings, seconds}."""
    t0 = time.perf_counter()
    try:
        from .. import api
        from ..config import neighbourhood_table
        from .inputs import check_settings, full_check, neighbourhoods_of

        req = RunRequest.from_json(request)
        check_settings(req.settings)
        cfg = _config(config_path, req.settings)
        nbs = neighbourhoods_of(req.area, neighbourhood_table(cfg))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            full_check(list(req.scenarios), cfg)  # errors name the scenario as the page does
            api.run(folder, [dict(d) for d in req.scenarios] or None, config=cfg, replicates=req.settings.replicates,
                    psa=req.settings.psa, neighbourhoods=None if req.area.level == "ics" else nbs,
                    backend="serial", resume=True, force_new=True)
        said = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught
                                  if issubclass(w.category, UserWarning)))
        seconds = round(time.perf_counter() - t0, 2)
        Path(folder, MARKER).write_text(json.dumps({"key": key, "request": request, "seconds": seconds,
                                                    "warnings": said, "finished": time.time()}, indent=1))
        return {"ok": True, "warnings": said, "seconds": seconds}
    except InputError as exc:
        return _failure(exc)
    except NeighsimError as exc:  # e.g. an intervention targeted only outside the area (the runner's check)
        return _failure(InputError([page_words(str(exc), list(request.get("scenarios") or []))]))
    except BaseException as exc:  # noqa: BLE001 - everything becomes a message for the page
        return _failure(exc)


def do_report(folder: str, area: str | None) -> dict[str, Any]:
    """report.html, results.xlsx (and report.md, figures) for the area shown (write_report)."""
    try:
        from ..report import write_report

        paths = write_report(folder, area=area)
        return {"ok": True, "html": str(paths["html"]), "xlsx": str(paths["xlsx"])}
    except BaseException as exc:  # noqa: BLE001
        return _failure(exc)


def do_agents(request: dict[str, Any], config_path: str | None, neighbourhood: str, scenario: str | None,
              sample: int, months: int) -> dict[str, Any]:
    """A sample of one neighbourhood's residents as Mesa agents, their states month by month."""
    try:
        from .agents import agent_states

        req = RunRequest.from_json(request)
        cfg = _config(config_path, req.settings)
        states, counts = agent_states(cfg, neighbourhood, [dict(d) for d in req.scenarios], scenario, sample,
                                      months)
        return {"ok": True, "states": states, "counts": counts}
    except BaseException as exc:  # noqa: BLE001
        return _failure(exc)


CURVE_RUNS = ("demand", "levels")  # what another budget, objective or equity rule reuses
_PARAMETERS_SEEN: list[str] = []


def _forget_stale_residents(cfg) -> None:
    """The worker keeps the residents it built; forget them when the parameter values changed since the last
    optimisation (a parameter file edited while the server runs), as `api.run` does for a run."""
    from ..parameters import load_parameters
    from ..runner.fingerprint import parameters_digest
    from ..runner.tasks import release_populations

    digest = parameters_digest(load_parameters(cfg.parameters_dir()))
    if _PARAMETERS_SEEN and _PARAMETERS_SEEN[-1] != digest:
        release_populations()
    _PARAMETERS_SEEN[:] = [digest]


def reuse_curves(source: str | Path | None, folder: str | Path) -> list[str]:
    """Copy the finished curve runs (demand, levels) of an earlier optimisation with the same curves into
    `folder`; the runner then resumes them (verifying every task) instead of running them again. Returns
    what was copied; a copy that fails is removed and simply run again."""
    if not source:
        return []
    copied = []
    for name in CURVE_RUNS:
        src, dst = Path(source) / "runs" / name, Path(folder) / "runs" / name
        try:
            manifest = json.loads((src / "manifest.json").read_text())
        except (OSError, ValueError):
            continue
        if manifest.get("status") != "finished" or dst.exists():
            continue
        try:
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".neighsim.lock", "*.replaced-*"))
            copied.append(name)
        except OSError as exc:
            log.warning("could not reuse the curves in %s: %s", src, exc)
            shutil.rmtree(dst, ignore_errors=True)
    return copied


def do_optimise(request: dict[str, Any], folder: str, config_path: str | None, key: str, curves: str = "",
                curves_from: str | None = None) -> dict[str, Any]:
    """`neighsim optimise` for the page: check the inputs in full, reuse earlier curves, optimise (serial, in
    this worker) into `folder` and mark it finished. Returns {ok, errors | warnings, seconds}."""
    t0 = time.perf_counter()
    try:
        from ..config import neighbourhood_table
        from ..optimise import optimise, parse_equity
        from ..optimise.curves import resolve_area
        from .inputs import OPTIMISE_LABEL, check_settings, neighbourhoods_of, optimise_area

        req = OptimiseRequest.from_json(request)
        check_settings(req.settings)
        cfg = _config(config_path, req.settings)
        name = optimise_area(req.area)
        want = neighbourhoods_of(req.area, neighbourhood_table(cfg))
        where = resolve_area(cfg, name)
        if sorted(where.ids) != sorted(want):
            raise InputError([f"{OPTIMISE_LABEL}, field 'area': {req.area.label!r} is read by the optimiser as "
                              f"{where.name} ({where.level}), another set of neighbourhoods; choose the "
                              "neighbourhoods on the map instead"])
        _forget_stale_residents(cfg)
        reused = reuse_curves(curves_from, folder)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = optimise(cfg, folder, req.budget, objective=req.objective, equity=parse_equity(req.equity),
                           area=name, interventions=list(req.interventions), replicates=req.replicates,
                           psa=req.draws, backend="serial", progress=False, force_new=True)
        said = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught
                                  if issubclass(w.category, UserWarning)))
        seconds = round(time.perf_counter() - t0, 2)
        Path(folder, MARKER).write_text(json.dumps({
            "key": key, "kind": "optimise", "curves_key": curves, "request": request,
            "seconds": seconds, "warnings": said, "curves_reused": reused, "chosen": len(res.allocation),
            "finished": time.time()}, indent=1))
        return {"ok": True, "warnings": said, "seconds": seconds, "curves_reused": reused}
    except InputError as exc:
        return _failure(exc)
    except NeighsimError as exc:  # the optimiser's own checks (`--interventions: none ... reaches anyone`)
        from .inputs import _flag_words

        return _failure(InputError([_flag_words(str(exc))]))
    except BaseException as exc:  # noqa: BLE001 - everything becomes a message for the page
        return _failure(exc)


def do_nothing() -> bool:
    """Start the worker and import the engine before the first run is asked for."""
    from .. import api  # noqa: F401
    from ..model import NeighbourhoodModel  # noqa: F401

    return True


# --- in the server -------------------------------------------------------------------------------------------
@dataclass
class Job:
    """A run asked for: finished already (from the cache) or under way in the worker."""

    key: str
    folder: Path
    request: RunRequest | OptimiseRequest
    future: Future | None = None
    cached: bool = False
    started: float = field(default_factory=time.time)
    _task_times: list[float] = field(default_factory=list)
    _last_done: int = 0
    _last_time: float = field(default_factory=time.time)

    def done(self) -> bool:
        return self.future is None or self.future.done()

    def result(self) -> dict[str, Any]:
        if self.future is None:
            marker = _read_marker(self.folder)
            return {"ok": True, "warnings": (marker or {}).get("warnings", []), "seconds": 0.0, "cached": True}
        try:
            return self.future.result()
        except BrokenProcessPool:
            return {"ok": False, "errors": ["the worker process stopped (out of memory?); run again"]}
        except BaseException as exc:  # noqa: BLE001
            return _failure(exc)

    def _not_running(self) -> tuple[float, str] | None:
        """Progress when the job is finished or still queued behind another; None while it runs."""
        if self.done():
            return 1.0, "finished"
        if self.future is not None and not self.future.running():
            self.started = time.time()
            return 0.0, "waiting for the run before it to finish"
        return None

    def progress(self) -> tuple[float, str]:
        """(fraction done, what is happening), from the folder."""
        if (state := self._not_running()) is not None:
            return state
        manifest = self.folder / "manifest.json"
        total = 0
        if manifest.is_file():
            try:
                total = int(json.loads(manifest.read_text()).get("tasks") or 0)
            except (OSError, ValueError):
                total = 0
        if not total:
            waited = time.time() - self.started
            return min(0.1, 0.02 + waited / 100), "checking the inputs and building the residents"
        done = len(list((self.folder / "tasks").glob("*.done.json")))
        now = time.time()
        if done > self._last_done:
            self._task_times.append((now - self._last_time) / (done - self._last_done))
            self._last_done, self._last_time = done, now
        if done >= total:
            return 0.95, "summarising the runs"
        per_task = sum(self._task_times) / len(self._task_times) if self._task_times else 1.0
        within = min(0.9, (now - self._last_time) / max(per_task, 0.1))
        return 0.1 + 0.8 * (done + within) / total, f"simulating: {done} of {total} runs done"


def _runs_done(folder: Path) -> tuple[int, int, bool]:
    """(tasks done, tasks in all, finished) of one run's folder, as the runner writes it."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return 0, 0, False
    total = int(manifest.get("tasks") or 0)
    done = len(list((folder / "tasks").glob("*.done.json")))
    return min(done, total), total, manifest.get("status") == "finished"


OPTIMISE_STAGES = (  # (runs folder, words, progress at its start and end)
    ("demand", "curves 1/2: each intervention unlimited", 0.05, 0.3),
    ("levels", "curves 2/2: each capacity level", 0.3, 0.7),
    ("compare", "the allocation and the simple rules as scenarios", 0.7, 0.97),
)
COMPARE_FOLDER = re.compile(r"^compare-[0-9a-f]{10}$")


@dataclass
class OptimiseJob(Job):
    """An optimisation asked for: finished (from the cache) or under way in the worker. Its progress follows
    the optimiser's runs: the curves (demand, then levels), the solve, the comparison run, the files."""

    def progress(self) -> tuple[float, str]:
        if (state := self._not_running()) is not None:
            return state
        runs = self.folder / "runs"
        compare = sorted((p for p in runs.glob("compare-*") if COMPARE_FOLDER.match(p.name)),
                         key=lambda p: p.stat().st_mtime) if runs.is_dir() else []
        folders = {"demand": runs / "demand", "levels": runs / "levels", "compare": compare[-1] if compare else None}
        for name, words, lo, hi in reversed(OPTIMISE_STAGES):
            where = folders[name]
            if where is None or not (where / "manifest.json").is_file():
                continue
            done, total, finished = _runs_done(where)
            if finished:
                after = {"demand": "measuring the capacity levels", "levels": "solving the allocation and setting "
                         "up the simple rules", "compare": "writing the allocation, the figure and the report section"}
                return hi, after[name]
            if not total:
                return lo, f"{words}: building the residents"
            return lo + (hi - lo) * done / total, f"{words}: {done} of {total} runs done"
        waited = time.time() - self.started
        return min(0.05, 0.01 + waited / 200), "checking the inputs and building the residents"


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None


class Workbench:
    """The worker process, the cache folder and the jobs of this server (shared by every page)."""

    def __init__(self, cache_dir: str | Path, config_path: str | None = None, keep: int = 50):
        from ..config import load_config
        from .inputs import context_digest

        self.cache_dir = Path(cache_dir).resolve()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = str(Path(config_path).resolve()) if config_path else None
        self.config = load_config(self.config_path)
        self.context = context_digest(self.config)
        self.keep = int(keep)
        self._lock = threading.RLock()
        self._pool: ProcessPoolExecutor | None = None
        self._jobs: dict[str, Job] = {}
        self._table = None
        self._params = None

    # the neighbourhoods and the parameters (for checking parameter names while the analyst types)
    @property
    def table(self):
        if self._table is None:
            from ..config import neighbourhood_table

            self._table = neighbourhood_table(self.config)
        return self._table

    @property
    def params(self):
        if self._params is None:
            from ..parameters import load_parameters

            self._params = load_parameters(self.config.parameters_dir())
        return self._params

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_init_worker)
            return self._pool

    def submit(self, fn, *args) -> Future:
        try:
            return self.pool().submit(fn, *args)
        except BrokenProcessPool:  # a worker that died: start another
            with self._lock:
                self._pool = None
            return self.pool().submit(fn, *args)

    def warm_up(self) -> None:
        self.submit(do_nothing)
        self.atlas_job()

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    # runs
    def key(self, request: RunRequest) -> str:
        return cache_key(request, self.context)

    def cached(self, key: str) -> bool:
        m = _read_marker(self.cache_dir / key)
        return bool(m and m.get("key") == key)

    def run(self, request: RunRequest) -> Job:
        """The job for these inputs: finished (from the cache), already under way, or started now."""
        key = self.key(request)
        folder = self.cache_dir / key
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.done():
                return job  # the same inputs asked for again while running: follow that run
            if self.cached(key):
                folder.touch()
                return Job(key, folder, request, cached=True)
            job = Job(key, folder, request)
            job.future = self.submit(do_run, request.to_json(), str(folder), self.config_path, key)
            job.future.add_done_callback(lambda _f: self._prune())
            self._jobs[key] = job
            return job

    def optimise(self, request: OptimiseRequest) -> OptimiseJob:
        """The optimisation for these inputs: finished (from the cache), under way, or started now (with
        the curves of the newest finished optimisation that has the same ones)."""
        key = optimise_key(request, self.context)
        folder = self.cache_dir / key
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.done():
                return job  # type: ignore[return-value]  (an optimisation's key is never a run's)
            if self.cached(key):
                folder.touch()
                return OptimiseJob(key, folder, request, cached=True)
            curves = curves_key(request, self.context)
            job = OptimiseJob(key, folder, request)
            job.future = self.submit(do_optimise, request.to_json(), str(folder), self.config_path, key, curves,
                                     self.curves_folder(curves))
            job.future.add_done_callback(lambda _f: self._prune())
            self._jobs[key] = job
            return job

    def curves_folder(self, curves: str) -> str | None:
        """The newest finished optimisation in the cache whose response curves are `curves`."""
        found = []
        for p in self.cache_dir.iterdir():
            if p.is_dir() and KEY_PATTERN.match(p.name):
                m = _read_marker(p)
                if m and m.get("kind") == "optimise" and m.get("curves_key") == curves:
                    found.append(p)
        return str(max(found, key=lambda p: p.stat().st_mtime)) if found else None

    def atlas_request(self) -> RunRequest:
        """The baseline of every neighbourhood in the first year at a 5% sample: what the map shows."""
        return RunRequest(Area("ics", ()), (), RunSettings(scale=ATLAS_SCALE, replicates=1, psa=False, years=1))

    def atlas_job(self) -> Job:
        return self.run(self.atlas_request())

    def report(self, folder: Path, area: str | None) -> Future:
        return self.submit(do_report, str(folder), area)

    def agents(self, request: RunRequest, neighbourhood: str, scenario: str | None, sample: int,
               months: int) -> Future:
        return self.submit(do_agents, request.to_json(), self.config_path, neighbourhood, scenario, sample, months)

    def _prune(self) -> None:
        """Keep the newest `keep` finished runs (and the map's); remove older ones and runs moved aside."""
        try:
            atlas = self.key(self.atlas_request())
            mine = [p for p in self.cache_dir.iterdir() if p.is_dir() and KEY_PATTERN.match(p.name)
                    and (p / MARKER).is_file() and p.name != atlas]
            mine.sort(key=lambda p: p.stat().st_mtime, reverse=True)
            old = mine[self.keep:]
            old += [p for p in self.cache_dir.iterdir() if p.is_dir() and ".replaced-" in p.name
                    and KEY_PATTERN.match(p.name.split(".replaced-")[0])]
            with self._lock:
                busy = {k for k, j in self._jobs.items() if not j.done()}
            for p in old:
                if p.name not in busy:
                    shutil.rmtree(p, ignore_errors=True)
        except OSError as exc:
            log.warning("could not tidy the cache folder %s: %s", self.cache_dir, exc)


_WORKBENCH: Workbench | None = None


def configure(cache_dir: str | Path, config_path: str | None = None, keep: int = 50) -> Workbench:
    """The server's workbench (one per process; the page reads it with `workbench()`)."""
    global _WORKBENCH
    if _WORKBENCH is not None:
        _WORKBENCH.shutdown()
    _WORKBENCH = Workbench(cache_dir, config_path, keep)
    return _WORKBENCH


def workbench() -> Workbench:
    global _WORKBENCH
    if _WORKBENCH is None:  # the app loaded without `neighsim serve` (e.g. `solara run`): defaults
        _WORKBENCH = Workbench(Path("out") / "workbench")
    return _WORKBENCH
