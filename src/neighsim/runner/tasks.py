"""Pure tasks: build (or reuse) the population, run one replicate of one scenario for some
neighbourhoods, and return aggregated counts (never the model or agent rows)."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ..config import ICSConfig
from ..parameters import ParameterSet, ReadRecorder, load_parameters
from ..population import Population, build_population

T = TypeVar("T")

_POPULATION_CACHE: dict[str, Population] = {}


@dataclass(frozen=True)
class Task:
    scenario: str
    replicate: int
    neighbourhoods: tuple[int, ...]
    param_draw: int = -1  # -1: central values; k >= 0: probabilistic sensitivity draw k

    @property
    def key(self) -> str:
        nb = "-".join(str(n) for n in self.neighbourhoods)
        digest = hashlib.sha1(nb.encode()).hexdigest()[:8] if len(self.neighbourhoods) > 4 else nb
        return f"{self.scenario}__r{self.replicate:04d}__p{self.param_draw}__n{digest}"


@dataclass
class TaskResult:
    task: Task
    counts: pd.DataFrame
    lifetable: pd.DataFrame
    seconds: float
    residents: int
    extra: dict[str, Any] = field(default_factory=dict)
    tidy: pd.DataFrame | None = None  # the run's tidy rows, when the task is a whole run (reduce=True)
    written: bool = False  # already in the result store (a worker that shares the output folder wrote it)
    reads: list[str] = field(default_factory=list)  # parameters the run read ('*': all)


def config_key(cfg: ICSConfig) -> str:
    return hashlib.sha1(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def get_population(cfg: ICSConfig, neighbourhoods: Iterable[int] | None = None, progress: bool = False,
                   params: ParameterSet | None = None) -> Population:
    """The population for a configuration holding at least these neighbourhoods' residents (None: every
    neighbourhood), built once per process. The cache is keyed on the configuration and the
    neighbourhoods the population holds (Population.built): one that holds them is reused (a task
    subsets it); other neighbourhoods are taken from the same starting residents (Population.select:
    their network only) rather than synthesised again. `progress`: the build's bar on stderr; `params`:
    the configuration's parameters when the caller has read them already (a build reads them otherwise)."""
    key = config_key(cfg)
    want = None if neighbourhoods is None else tuple(sorted({int(n) for n in neighbourhoods}))
    pop = _POPULATION_CACHE.get(key)
    if pop is not None and pop.holds(want):
        return pop
    if pop is not None:
        pop = pop.select(want, progress=progress)
    else:
        _POPULATION_CACHE.clear()
        pop = build_population(cfg, params, progress=progress, neighbourhoods=want)
    _POPULATION_CACHE.clear()
    _POPULATION_CACHE[key] = pop
    return pop


def release_populations() -> None:
    """Forget the populations this process built (and free their memory)."""
    _POPULATION_CACHE.clear()
    gc.collect()


def task_params(base: ParameterSet, seed: int, draw: int) -> ParameterSet:
    """Central values, or probabilistic-sensitivity draw `draw`: a pure function of (seed, draw), the
    same for every scenario and neighbourhood."""
    if draw < 0:
        return base
    return base.draw(np.random.Generator(np.random.Philox(key=[seed & (2**64 - 1), 0x5053_4100 + draw])))


def simulate(pop: Population, params: ParameterSet, scenario: Any, replicate: int, read: Callable[[Any], T]) -> T:
    """Build the scenario's interventions and the model, run it, and return `read(model)` (what a caller
    keeps of it) before the model is closed and collected: one way to run a model, for tasks and the
    one-way sensitivity alike."""
    from ..model import NeighbourhoodModel

    interventions = scenario.build(params) if scenario is not None else []
    model = NeighbourhoodModel(pop, params, replicate=replicate, interventions=interventions)
    model.run()
    out = read(model)
    model.close()
    del model, interventions
    gc.collect()  # a model is a web of cycles (processes, hooks, listeners) holding a whole cohort
    return out


def run_task(cfg: ICSConfig, task: Task, scenario: Any = None, population: Population | None = None,
             params: ParameterSet | None = None, reduce: bool = False) -> TaskResult:
    """One task. `reduce`: the task is a whole run (every neighbourhood of the run), so it also reduces its
    counts to the run's tidy rows (analysis/summary.reduce_run) where it runs: the summary then only merges,
    and that work spreads over the workers with the simulations."""
    import time

    from ..analysis.summary import reduce_run

    t0 = time.perf_counter()
    full = population or get_population(cfg, task.neighbourhoods)
    pop = full
    if list(task.neighbourhoods) != pop.geography.neighbourhood_ids() or pop.cohort.n == 0:
        pop = pop.subset(list(task.neighbourhoods))
    base = params or pop.params or load_parameters(cfg.parameters_dir())
    seen: set[str] = set()  # the parameters this run reads: the report lists only those
    p = ReadRecorder(task_params(base, cfg.seed, task.param_draw), seen)
    counts, lt, extra = simulate(pop, p, scenario, task.replicate, lambda m: (
        m.counts(), m.lifetable_counts(), {iv.name: iv.summary() for iv in m.interventions if hasattr(iv, "summary")}))
    residents = int(pop.cohort.n)
    for df in (counts, lt):
        df.insert(0, "scenario", task.scenario)
        df.insert(1, "replicate", np.int32(task.replicate))
        df.insert(2, "param_draw", np.int32(task.param_draw))
    tidy = None
    if reduce:
        central = ReadRecorder(base, seen)
        tidy = reduce_run(counts, lt, full.geography, cfg.time.months, cfg.time.start,
                          lambda draw: central if draw < 0 else p)
    return TaskResult(task, counts, lt, time.perf_counter() - t0, residents, extra, tidy, reads=sorted(seen))
