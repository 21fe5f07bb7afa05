"""`neighsim bench`: speed and memory of the engine, measured (not asserted in tests)."""

from __future__ import annotations

import os
import resource
import time
from typing import Any

from .config import ICSConfig
from .model import NeighbourhoodModel
from .population import build_population


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_bench(cfg: ICSConfig, per_agent_months: int = 1, progress: bool = True) -> dict[str, Any]:
    t0 = time.perf_counter()
    pop = build_population(cfg)
    build_s = time.perf_counter() - t0
    model = NeighbourhoodModel(pop)
    months = model.months
    t1 = time.perf_counter()
    model.run()
    run_s = time.perf_counter() - t1
    residents = int(pop.cohort.n)
    model.close()
    # vectorised vs per-agent on the first neighbourhood (same population, same months)
    nb = pop.geography.neighbourhood_ids()[0]
    sub = pop.subset([nb])
    vec = NeighbourhoodModel(sub)
    t2 = time.perf_counter()
    vec.run(per_agent_months)
    vec_s = time.perf_counter() - t2
    agent = NeighbourhoodModel(sub, agents="all")
    t3 = time.perf_counter()
    agent.run(per_agent_months, per_agent=True)
    agent_s = time.perf_counter() - t3
    identical = bool(vec.cohort.equals(agent.cohort) and vec.counts().equals(agent.counts()))
    vec.close()
    agent.close()
    nres = int(sub.cohort.n)
    return {
        "residents": residents,
        "steps": months,
        "seconds": round(run_s, 2),
        "build_seconds": round(build_s, 2),
        "agent_steps_per_second": round(residents * months / run_s),
        "peak_memory_mb": round(_peak_mb(), 1),
        "per_agent_neighbourhood_residents": nres,
        "per_agent_months": per_agent_months,
        "per_agent_seconds": round(agent_s, 2),
        "vectorised_seconds_same_population": round(vec_s, 3),
        "per_agent_speedup": round(agent_s / vec_s, 1),
        "per_agent_identical": identical,
        "cpu_count": os.cpu_count(),
    }
