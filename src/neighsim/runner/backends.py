"""Backends decide only where tasks run: in this process (serial), in forked worker processes on this
machine (processes: each inherits the population already built, copy-on-write, and writes its own
results), or on Ray (local or an existing cluster).

Results are identical whatever the backend or number of workers, because every random number is a
pure function of (seed, replicate, stream, step, resident id) and tasks share nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pandas as pd

from ..config import ICSConfig
from ..errors import NeighsimError
from .store import ResultStore
from .tasks import Task, TaskResult, get_population, run_task


def run_serial(cfg: ICSConfig, tasks: Iterable[Task], scenarios: dict,
               reduce: Callable[[Task], bool] = lambda t: False) -> Iterator[TaskResult]:
    for task in tasks:
        yield run_task(cfg, task, scenarios.get(task.scenario), reduce=reduce(task))


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def fork_pool(workers: int, initializer: Callable[..., None], initargs: tuple) -> Any:
    """Worker processes forked from this one, so they start with what it has built (the population)
    without copying it; elsewhere than Linux/macOS, spawned (each builds its own)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=initializer, initargs=initargs)


_WORKER: dict[str, Any] = {}


def die_with_parent() -> None:
    """In a worker: be killed when the parent process dies (even by kill -9), so no orphan goes on
    writing into an output folder a resumed run is using. Linux only (prctl); elsewhere a no-op."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if os.getppid() == 1:  # the parent died before the call
        os._exit(1)


def _init_task_worker(cfg: ICSConfig, scenarios: dict, outdir: str, digests: dict[str, str]) -> None:
    import gc

    die_with_parent()
    _WORKER.update(cfg=cfg, scenarios=scenarios, store=ResultStore(outdir), digests=digests)
    gc.freeze()  # the population and modules: the collection after each run walks only that run's objects


def _process_task(task: Task, reduce: bool) -> TaskResult:
    """Run one task in a worker and write it to the result store there; only the receipt goes back."""
    w = _WORKER
    res = run_task(w["cfg"], task, w["scenarios"].get(task.scenario), reduce=reduce)
    w["store"].write(res, w["digests"][task.key])
    return TaskResult(task, pd.DataFrame(), pd.DataFrame(), res.seconds, res.residents, res.extra, written=True,
                      reads=res.reads)


def run_processes(cfg: ICSConfig, tasks: list[Task], scenarios: dict, outdir: str, digests: dict[str, str],
                  workers: int | None = None, reduce: Callable[[Task], bool] = lambda t: False
                  ) -> Iterator[TaskResult]:
    """Tasks in `workers` forked processes (default: every core), at most two per worker in flight; each
    worker writes its finished tasks to the folder. One worker or one task: serially, here."""
    n = min(int(workers or default_workers()), len(tasks))
    if n <= 1:
        yield from run_serial(cfg, tasks, scenarios, reduce)
        return
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    # built before the fork (the neighbourhoods of these tasks), so the workers share it
    get_population(cfg, sorted({nb for t in tasks for nb in t.neighbourhoods}))
    pool = fork_pool(n, _init_task_worker, (cfg, scenarios, str(outdir), digests))
    queue, pending = list(tasks), set()
    try:
        while queue or pending:
            while queue and len(pending) < 2 * n:
                t = queue.pop(0)
                pending.add(pool.submit(_process_task, t, reduce(t)))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                try:
                    res = f.result()
                except BrokenProcessPool:
                    raise NeighsimError("a worker process died (out of memory? try fewer --workers); finished "
                                        "tasks are saved: rerun with --resume") from None
                yield res
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _ray_task(cfg_json: str, task: Task, scenario, reduce: bool = False) -> TaskResult:
    from ..config import ICSConfig

    return run_task(ICSConfig.model_validate_json(cfg_json), task, scenario, reduce=reduce)


CONNECT_TIMEOUT_S = 10.0


def check_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast (instead of Ray's minutes of retries) when a cluster address cannot be reached."""
    host, sep, port = address.rpartition(":")
    if address.startswith(("ray://", "http://", "https://")) or address == "auto":
        return  # Ray client and auto-discovery: left to Ray
    if not sep or not port.isdigit() or not host:
        raise NeighsimError(f"--address {address!r}: expected HOST:PORT of a Ray head, e.g. 10.0.0.5:6379")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise NeighsimError(f"--address {address}: no Ray head answers there within {timeout:g} s "
                            f"({exc.strerror or exc})") from None


def _loopback_only() -> Callable[[], None]:
    """Make a local Ray instance advertise, and so bind, 127.0.0.1 only: Ray picks its node address from
    this switch (the single-machine mode it uses on macOS and Windows). Returns how to undo it, so a
    later connection to a real cluster from the same process is not affected."""
    saved = {k: os.environ.get(k) for k in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_AUTH_MODE")}
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # safe only because nothing listens beyond loopback
    try:
        from ray._private import ray_constants
    except ImportError:  # pragma: no cover - a Ray without the switch: the check after start refuses
        ray_constants = None
    before = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    if ray_constants is not None:
        ray_constants.ENABLE_RAY_CLUSTER = False  # read at call time, also when ray was imported earlier

    def undo() -> None:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if ray_constants is not None and before is not None:
            ray_constants.ENABLE_RAY_CLUSTER = before
    return undo


def run_ray(cfg: ICSConfig, tasks: list[Task], scenarios: dict, address: str | None = None,
            workers: int | None = None, max_retries: int = 2,
            on_error: Callable[[Task, BaseException], None] | None = None,
            reduce: Callable[[Task], bool] = lambda t: False) -> Iterator[TaskResult]:
    """Run tasks on Ray with a bounded number in flight; yields results as they finish. Without an
    address, a private local instance listening on loopback only; a cluster is used only when given."""
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is a dependency
        raise NeighsimError("the ray backend needs the 'ray' package (pip install ray)") from exc
    started_here = False
    undo: Callable[[], None] | None = None
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "log_to_driver": False, "ignore_reinit_error": True}
        if address:
            check_address(address)
            kwargs["address"] = address
        else:  # a fresh local instance, even if a cluster was started on this machine
            undo = _loopback_only()
            kwargs["address"] = "local"
            kwargs["num_cpus"] = workers or os.cpu_count() or 1
        # workers import neighsim from the same source tree as the driver
        src = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
        kwargs["runtime_env"] = {"env_vars": env}
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            if undo:
                undo()
            raise NeighsimError(f"cannot connect to the Ray cluster at {address or 'local'}: {exc}") from None
        started_here = True
        if not address:
            node = ray.nodes()[0].get("NodeManagerAddress", "")
            if node not in ("127.0.0.1", "::1", "localhost"):
                ray.shutdown()
                undo()
                raise NeighsimError(f"the local Ray instance would listen on {node}, not only on loopback; "
                                    "refusing to run (see README: securing Ray)")
    try:
        # retry both crashed workers and exceptions raised inside a task
        remote = ray.remote(max_retries=max_retries, retry_exceptions=True, num_cpus=1)(_ray_task)
        cfg_ref = ray.put(cfg.model_dump_json())
        scen_refs = {name: ray.put(s) for name, s in scenarios.items()}
        capacity = int(ray.cluster_resources().get("CPU", 1))
        max_in_flight = max(2, 2 * capacity)
        pending: dict = {}
        queue = list(tasks)
        while queue or pending:
            while queue and len(pending) < max_in_flight:
                task = queue.pop(0)
                ref = remote.remote(cfg_ref, task, scen_refs.get(task.scenario), reduce(task))
                pending[ref] = task
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as exc:  # a task that failed after its retries
                    if on_error is None:
                        raise NeighsimError(f"task {task.key} failed after {max_retries} retries: {exc}") from None
                    on_error(task, exc)
    finally:
        if started_here:
            ray.shutdown()
        if undo:
            undo()
