"""`neighsim bench`: speed and memory of the engine, measured (never asserted in tests).

Kept apart: the population build, the kernels' compile (or load from numba's on-disk cache: a second
process does not pay it again), and the 60-month run itself on the asked number of threads. With
--profile each process's milliseconds per month. Starsim (a benchmark extra) is run side by side in
a separate process on one core when it is installed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from .config import ICSConfig
from .model import NeighbourhoodModel
from .population import build_population


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _kernel_cache() -> dict[str, int]:
    """How many compiled kernels came from numba's on-disk cache and how many were compiled now."""
    import numba as nb

    hits = misses = 0
    for mod in list(sys.modules.values()):
        if not getattr(mod, "__name__", "").startswith("neighsim"):
            continue
        for obj in vars(mod).values():
            if isinstance(obj, nb.core.registry.CPUDispatcher):
                hits += sum(obj.stats.cache_hits.values())
                misses += sum(obj.stats.cache_misses.values())
    return {"kernels_from_cache": hits, "kernels_compiled": misses}


class Profiler:
    """Wall time per process (its month-start hook and its monthly work), and of the model's own
    month start (ageing, shared context) and month end (interventions, snapshots)."""

    MODEL_START, MODEL_END = "(model: ageing and shared context)", "(model: interventions and snapshots)"

    def __init__(self, model: NeighbourhoodModel):
        self.acc: dict[str, float] = defaultdict(float)
        self.hooks = 0.0  # process begin_step time, spent inside the model's begin_step
        for proc in model.plan:
            proc.begin_step = self._timed(proc.begin_step, proc.name, hook=True)
            proc.apply = self._timed(proc.apply, proc.name)
        model.begin_step = self._timed(model.begin_step, self.MODEL_START)
        model.end_step = self._timed(model.end_step, self.MODEL_END)

    def _timed(self, fn, name: str, hook: bool = False):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t
                self.acc[name] += dt
                if hook:
                    self.hooks += dt
        return wrapper

    def table(self, months: int, total: float) -> list[dict[str, Any]]:
        acc = dict(self.acc)
        acc[self.MODEL_START] = acc.get(self.MODEL_START, 0.0) - self.hooks
        acc["(other: the loop, thread hand-offs)"] = max(total - sum(acc.values()), 0.0)
        return [{"process": k, "ms_per_month": round(1000 * v / months, 2), "share": round(v / total, 3)}
                for k, v in sorted(acc.items(), key=lambda kv: -kv[1])]


def starsim_peer(agents: int) -> dict[str, Any] | None:
    """Starsim's simpler model for the same number of agents, in a separate process on one core;
    None when starsim or the benchmark script is not available."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "peer_starsim.py"
    try:
        import importlib.util

        if importlib.util.find_spec("starsim") is None or not script.is_file():
            return None
    except (ImportError, ValueError):
        return None
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "STARSIM_INSTALL_FONTS": "0"}
    try:
        out = subprocess.run([sys.executable, str(script), "--agents", str(agents), "--json"], capture_output=True,
                             text=True, timeout=900, env=env, check=True)
        return json.loads(out.stdout)
    except (subprocess.SubprocessError, ValueError, OSError):
        return None


def run_bench(cfg: ICSConfig, per_agent_months: int = 1, progress: bool = True, threads: int = 1,
              profile: bool = False, starsim: bool = True) -> dict[str, Any]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    pop = build_population(cfg)
    build_s = time.perf_counter() - t0
    nb = pop.geography.neighbourhood_ids()[0]
    sub = pop.subset([nb])
    t1 = time.perf_counter()  # the kernels: compiled, or loaded from the on-disk cache
    NeighbourhoodModel(sub, months=1).run().close()
    compile_s = time.perf_counter() - t1
    cache = _kernel_cache()
    model = NeighbourhoodModel(pop, threads=threads)
    prof = Profiler(model) if profile else None
    months = model.months
    t2 = time.perf_counter()
    model.run()
    run_s = time.perf_counter() - t2
    residents = int(pop.cohort.n)
    model.close()
    # vectorised vs per-agent on the first neighbourhood (same population, same months)
    vec = NeighbourhoodModel(sub, threads=1)
    t3 = time.perf_counter()
    vec.run(per_agent_months)
    vec_s = time.perf_counter() - t3
    agent = NeighbourhoodModel(sub, agents="all", threads=1)
    t4 = time.perf_counter()
    agent.run(per_agent_months, per_agent=True)
    agent_s = time.perf_counter() - t4
    identical = bool(vec.cohort.equals(agent.cohort) and vec.counts().equals(agent.counts()))
    vec.close()
    agent.close()
    res: dict[str, Any] = {
        "residents": residents,
        "steps": months,
        "threads": model.threads,
        "seconds": round(run_s, 2),
        "build_seconds": round(build_s, 2),
        "compile_seconds": round(compile_s, 2),
        **cache,
        "agent_steps_per_second": round(residents * months / run_s),
        "peak_memory_mb": round(_peak_mb(), 1),
        "per_agent_neighbourhood_residents": int(sub.cohort.n),
        "per_agent_months": per_agent_months,
        "per_agent_seconds": round(agent_s, 2),
        "vectorised_seconds_same_population": round(vec_s, 3),
        "per_agent_speedup": round(agent_s / vec_s, 1),
        "per_agent_identical": identical,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": round(load, 2) if load is not None else None,
    }
    if prof is not None:
        res["profile"] = prof.table(months, run_s)
    if starsim:
        peer = starsim_peer(residents)
        if peer is not None:
            res["starsim_seconds"] = peer["starsim_seconds"]
            res["starsim_version"] = peer["starsim_version"]
            res["starsim_steps"] = peer["steps"]
    return res
