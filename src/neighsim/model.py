"""NeighbourhoodModel: a mesa.Model whose residents live in numpy arrays, stepped by a fixed plan.

The model keeps the loop, the hooks interventions use (hazard modifiers, events, components) and the
context every process shares: ages, the age x sex x decile table index, recording strata and LSOA
factors. Everything else belongs to a process (processes/plan.py): its states, results, streams,
modifiers and its own month context. Each month: ageing and the shared context (one compiled pass),
each process's `begin_step`, the interventions' `begin_step`, the processes in plan order, the
interventions' `end_step`, and a snapshot at the end of each financial year.

Resident-level processes touch only the residents they are given, so the vectorised path (all
residents at once, optionally split over two threads) and the per-agent path (each Resident steps
itself through the same processes) give identical results; random numbers come from counter-based
streams keyed on resident ids (rng.py).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import mesa
import numba as nb
import numpy as np
import pandas as pd

from .agents.cohort import Cohort
from .agents.resident import Resident
from .errors import NeighsimError
from .parameters import ParameterSet
from .population.synth import Population
from .processes.base import Process, Rows
from .processes.demography import NBHD_ID_SHIFT, NEW_ID_BASE
from .processes.kernels import JIT, U
from .processes.plan import PERSON_MONTHS, POPULATION, POPULATION_START, default_plan
from .processes.reference import Reference, lsoa_factors
from .recorder import _BAND_OF_AGE, _LT_OF_AGE, N_BANDS, N_LT, Recorder

SNAPSHOT_MONTH = 3  # prevalences are recorded at the end of March (financial year end)
THREADS_MIN_RESIDENTS = 300_000  # below this, splitting a process over two threads costs more than it saves
_SPLIT_POOL = None


def _split_pool():
    global _SPLIT_POOL
    if _SPLIT_POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _SPLIT_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neighsim-split")
    return _SPLIT_POOL


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, 1)


def financial_year(d: dt.date) -> str:
    y = d.year if d.month >= 4 else d.year - 1
    return f"{y}/{(y + 1) % 100:02d}"


@nb.njit(**JIT)
def _begin(n, alive, age_months, base, sd, band_of_age, lt_of_age, age, stratum, lt_stratum, asd, pm, lt_pm):
    """Everybody alive ages a month; a twelfth cross into a new year of age and get new strata and
    table indices (the others keep theirs); person-time by stratum."""
    for r in range(U(n)):
        if alive[r]:
            age_months[r] += 1
            a = age_months[r] // 12
            if a != age[r]:
                age[r] = a
                ac = U(min(a, 120))
                stratum[r] = base[r] * N_BANDS + band_of_age[ac]
                lt_stratum[r] = base[r] * N_LT + lt_of_age[ac]
                asd[r] = a * 20 + sd[r]
            pm[U(stratum[r])] += 1.0
            lt_pm[U(lt_stratum[r])] += 1.0


@nb.njit(**JIT)
def _context(rows, age_months, base, sd, band_of_age, lt_of_age, age, stratum, lt_stratum, asd):
    """Age, strata and table indices of the given rows from scratch (a new model, newcomers)."""
    for i in range(U(rows.size)):
        r = U(rows[i])
        a = age_months[r] // 12
        age[r] = a
        ac = U(min(a, 120))
        stratum[r] = base[r] * N_BANDS + band_of_age[ac]
        lt_stratum[r] = base[r] * N_LT + lt_of_age[ac]
        asd[r] = a * 20 + sd[r]


@nb.njit(**JIT)
def _count_living(alive, stratum, flags, out):
    for r in range(U(alive.size)):
        if alive[r] and flags[r]:
            out[U(stratum[r])] += 1.0


class NeighbourhoodModel(mesa.Model):
    """Residents of one or more neighbourhoods, projected month by month.

    agents: 'none' (fastest; Monte Carlo workers), 'sample' (sample_size Resident views) or 'all'.
    plan: the processes (default: processes.plan.default_plan()); a process from elsewhere adds its
    states to this model's cohort.
    """

    def __init__(self, population: Population, params: ParameterSet | None = None, *, replicate: int = 0,
                 interventions: Iterable[Any] = (), agents: str = "none", sample_size: int = 1000,
                 months: int | None = None, threads: int | None = None, plan: list[Process] | None = None):
        super().__init__(seed=population.config.seed)
        if agents not in ("none", "sample", "all"):
            raise NeighsimError(f"agents must be none, sample or all, not {agents!r}")
        from .rng import Streams

        self.population = population
        self.config = population.config
        self.params = params if params is not None else population.params
        self.replicate = int(replicate)
        self.cohort: Cohort = population.cohort.copy()
        self.streams = Streams(self.config.seed, self.replicate)
        self.network = population.network
        self.months = int(months if months is not None else self.config.time.months)
        self.start = self.config.time.start
        self.t = -1
        nb_ = self.cohort.neighbourhood
        self.neighbourhoods = sorted(int(x) for x in np.unique(nb_))
        if np.any(np.diff(nb_.astype(np.int64)) < 0):
            raise NeighsimError("residents must be laid out neighbourhood by neighbourhood")
        starts = np.searchsorted(nb_, self.neighbourhoods, side="left")
        stops = np.searchsorted(nb_, self.neighbourhoods, side="right")
        self.initial_blocks = {n: (int(a), int(b)) for n, a, b in zip(self.neighbourhoods, starts, stops, strict=True)}
        self._next_local = dict.fromkeys(self.neighbourhoods, 0)
        self.recorder = Recorder(self.neighbourhoods, self.months)
        self._lsoa_factors()
        self._modifiers: dict[str, list[Callable[[NeighbourhoodModel, Rows], np.ndarray | float]]] = {}
        self._listeners: dict[str, list[Callable[..., None]]] = {}
        self.components: dict[str, Any] = {}
        self.plan = list(plan) if plan is not None else default_plan()
        self._by_name = {proc.name: proc for proc in self.plan}
        if len(self._by_name) != len(self.plan):
            raise NeighsimError("two processes of the plan have the same name")
        for proc in self.plan:  # states of processes from elsewhere join this model's cohort only
            for s in proc.states:
                self.cohort.add_field(s.name, s.dtype, s.default)
        self._init_context()
        for proc in self.plan:
            proc.prepare(self)
        self.interventions = list(interventions)
        for iv in self.interventions:
            iv.attach(self)
        self._lock = threading.Lock()
        if threads is None:
            threads = int(os.environ.get("NEIGHSIM_THREADS", "2"))
            threads = threads if self.cohort.n >= THREADS_MIN_RESIDENTS else 1
        self.threads = max(1, min(int(threads), 2))
        self.agent_mode = agents
        self.resident_views: dict[int, Resident] = {}
        if agents != "none":
            self._create_views(sample_size if agents == "sample" else None)

    # --- set-up ----------------------------------------------------------------------------------
    def _lsoa_factors(self) -> None:
        f = lsoa_factors(self.population.geography.lsoas, self.params)
        self.lsoa_illness, self.lsoa_acute, self.lsoa_mortality = f["illness"], f["acute"], f["mortality"]
        self.reference = Reference(self.population.reference, self.params)

    def _init_context(self) -> None:
        """Per-row constants (stratum base, sex x decile) and the month's shared arrays, with room for
        newcomers."""
        c = self.cohort
        cap = c.capacity
        self._base = np.zeros(cap, dtype=np.int32)
        self._sd = np.zeros(cap, dtype=np.int32)
        self._age = np.zeros(cap, dtype=np.int16)
        self._stratum = np.zeros(cap, dtype=np.int32)
        self._lt_stratum = np.zeros(cap, dtype=np.int32)
        self._asd = np.zeros(cap, dtype=np.int32)
        self._static(np.arange(c.n))

    def _static(self, rows: np.ndarray) -> None:
        c = self.cohort
        if c.capacity > len(self._base):
            extra = c.capacity - len(self._base)
            for name in ("_base", "_sd", "_age", "_stratum", "_lt_stratum", "_asd"):
                a = getattr(self, name)
                setattr(self, name, np.concatenate([a, np.zeros(extra, dtype=a.dtype)]))
        self._base[rows] = self.recorder.base_stratum(c.neighbourhood[rows], c.imd_decile[rows], c.male[rows])
        self._sd[rows] = c.male[rows].astype(np.int32) * 10 + c.imd_decile[rows].astype(np.int32) - 1
        _context(np.asarray(rows, dtype=np.int64), c.age_months, self._base, self._sd, _BAND_OF_AGE, _LT_OF_AGE,
                 self._age, self._stratum, self._lt_stratum, self._asd)

    @property
    def age(self) -> np.ndarray:
        """Age in completed years at the start of the month."""
        return self._age[: self.cohort.n]

    @property
    def stratum(self) -> np.ndarray:
        """Recording stratum (neighbourhood x decile x sex x age band) at the start of the month."""
        return self._stratum[: self.cohort.n]

    @property
    def lt_stratum(self) -> np.ndarray:
        return self._lt_stratum[: self.cohort.n]

    @property
    def asd(self) -> np.ndarray:
        """Index into the age x sex x decile tables (processes/tables.py)."""
        return self._asd[: self.cohort.n]

    def _create_views(self, k: int | None) -> None:
        rows = np.flatnonzero(self.cohort.alive)
        if k is not None and k < len(rows):
            u = self.streams.uniform("agents.sample", 0, self.cohort.id[rows])
            rows = np.sort(rows[np.argsort(u, kind="stable")[:k]])
        for r in rows:
            self.resident_views[int(r)] = Resident(self, int(r))

    # --- the plan and shared services ------------------------------------------------------------
    def process(self, name: str) -> Process:
        try:
            return self._by_name[name]
        except KeyError:
            raise NeighsimError(f"no process {name!r} in the plan; known: {sorted(self._by_name)}") from None

    def component(self, name: str, factory: Callable[[NeighbourhoodModel], Any]) -> Any:
        """A service shared by interventions (e.g. the stop-smoking service), created once per model."""
        if name not in self.components:
            self.components[name] = factory(self)
        return self.components[name]

    # --- hooks for interventions ---------------------------------------------------------------
    def add_modifier(self, name: str, fn: Callable[[NeighbourhoodModel, Rows], np.ndarray | float]) -> None:
        known = {m for proc in self.plan for m in proc.modifiers}
        if name not in known:
            raise NeighsimError(f"unknown hazard modifier {name!r}; known: {sorted(known)}")
        self._modifiers.setdefault(name, []).append(fn)

    def modifier(self, name: str, rows: Rows) -> np.ndarray | float:
        fns = self._modifiers.get(name)
        if not fns:
            return 1.0
        out: np.ndarray | float = 1.0
        for fn in fns:
            out = out * fn(self, rows)
        return out

    def has_modifiers(self, name: str) -> bool:
        """Whether anything is attached to a modifier (so a process can skip the work when nothing is)."""
        return bool(self._modifiers.get(name))

    def modifier_bound(self, name: str) -> float:
        """An upper bound of modifier(name, ...) for any resident (interventions declare theirs)."""
        out = 1.0
        for fn in self._modifiers.get(name, ()):
            out *= float(getattr(fn, "upper_bound", 1.0))
        return out

    def listen(self, event: str, fn: Callable[..., None]) -> None:
        self._listeners.setdefault(event, []).append(fn)

    def emit(self, event: str, rows: np.ndarray, **info: Any) -> None:
        fns = self._listeners.get(event)
        if fns:
            with self._lock:
                for fn in fns:
                    fn(self, rows, **info)

    # --- random numbers, ids, recording ------------------------------------------------------------
    def draw(self, stream: str, rows: Rows) -> np.ndarray:
        return self.streams.uniform(stream, self.t, self.cohort.id[rows])

    def new_ids(self, neighbourhoods: np.ndarray) -> np.ndarray:
        """Ids for newcomers: a counter per neighbourhood, so they match whatever else is simulated."""
        nbs = np.asarray(neighbourhoods, dtype=np.int64)
        ids = np.empty(len(nbs), dtype=np.int64)
        for n in np.unique(nbs).tolist():  # newcomers of one neighbourhood get its next numbers, in order
            at = np.flatnonzero(nbs == n)
            ids[at] = NEW_ID_BASE + (n << NBHD_ID_SHIFT) + self._next_local[n] + np.arange(len(at))
            self._next_local[n] += len(at)
        return ids

    def record(self, measure: str, rows: np.ndarray, weights: np.ndarray | None = None) -> None:
        strata = self.stratum[rows]
        with self._lock:
            self.recorder.add(measure, strata, weights)

    def record_lt(self, measure: str, rows: np.ndarray) -> None:
        strata = self.lt_stratum[rows]
        with self._lock:
            self.recorder.add_lt(measure, strata)

    def on_new_rows(self, rows: np.ndarray) -> None:
        """Newcomers (births, in-migrants) get the shared context for the rest of the month."""
        self._static(rows)
        if self.agent_mode == "all":
            for r in rows:
                self.resident_views[int(r)] = Resident(self, int(r))

    # --- time ------------------------------------------------------------------------------------
    @property
    def date(self) -> dt.date:
        return add_months(self.start, max(self.t, 0))

    @property
    def calendar_month(self) -> int:
        return self.date.month

    @property
    def all_rows(self) -> slice:
        return slice(0, self.cohort.n)

    def begin_step(self) -> None:
        """Age everybody one month, fix the month's shared context, then each process's own."""
        c = self.cohort
        self.t += 1
        rec = self.recorder
        rec.t = self.t
        pm, lt_pm = rec.row(PERSON_MONTHS.name), rec.lt_row(PERSON_MONTHS.name)
        _begin(c.n, c.alive, c.age_months, self._base, self._sd, _BAND_OF_AGE, _LT_OF_AGE, self._age,
               self._stratum, self._lt_stratum, self._asd, pm, lt_pm)
        if self.t == 0:
            rec.row(POPULATION_START.name)[:] = pm
        # residents alive at the start of the month, per neighbourhood: read off the person-time just recorded
        self.alive_by_neighbourhood = pm.reshape(len(self.neighbourhoods), -1).sum(axis=1)
        for proc in self.plan:
            proc.begin_step(self)

    def end_step(self) -> None:
        for iv in self.interventions:
            iv.end_step(self)
        if self.calendar_month == SNAPSHOT_MONTH or self.t == self.months - 1:
            self.snapshot()

    def snapshot(self) -> None:
        """Prevalences at the end of the month by stratum (financial year ends, and the last month)."""
        self.count_living(POPULATION.name, self.cohort.alive)
        for proc in self.plan:
            proc.snapshot(self)

    def count_living(self, measure: str, flags: np.ndarray) -> None:
        """Record the number of living residents where `flags` holds, by stratum, this month."""
        c = self.cohort
        with self._lock:
            _count_living(c.alive, self.stratum, np.asarray(flags, dtype=np.bool_), self.recorder.row(measure))

    # --- stepping --------------------------------------------------------------------------------
    def _run_plan(self, per_agent: bool) -> None:
        i = 0
        plan = self.plan
        for iv in self.interventions:
            iv.begin_step(self)
        while i < len(plan):
            proc = plan[i]
            if proc.level == "model":
                proc.apply(self)
                i += 1
                continue
            j = i
            while j < len(plan) and plan[j].level == "resident":
                j += 1
            group = plan[i:j]
            if per_agent:
                for r in range(self.cohort.n):
                    if not self.cohort.alive[r]:
                        continue
                    view = self.resident_views.get(r)
                    if view is not None:
                        view.step(group)
                    else:
                        self.step_resident(r, group)
            else:
                for proc in group:
                    if self.threads > 1:
                        self._apply_split(proc)
                    else:
                        proc.apply(self)
            i = j

    def _apply_split(self, proc: Process) -> None:
        """Apply a resident-level process to two halves of its residents on two threads. Processes
        touch only their own rows, draws are keyed on ids and the kernels release the GIL, so the
        result is the same as one call; recording and event listeners are serialised by a lock."""
        rows = proc.default_rows(self)
        if isinstance(rows, slice):
            n = rows.stop - (rows.start or 0)
            mid = (rows.start or 0) + n // 2
            parts = [slice(rows.start or 0, mid), slice(mid, rows.stop)]
        else:
            parts = [rows[: len(rows) // 2], rows[len(rows) // 2 :]]
        fut = _split_pool().submit(proc.apply, self, parts[0])
        proc.apply(self, parts[1])
        fut.result()

    def step_resident(self, row: int, processes: list[Process] | None = None) -> None:
        """Take one resident through the resident-level processes (the per-agent path)."""
        rows = np.array([row], dtype=np.int64)
        for proc in processes if processes is not None else [p for p in self.plan if p.level == "resident"]:
            if not self.cohort.alive[row]:
                break
            proc.apply(self, rows)

    def step(self) -> None:
        self.begin_step()
        self._run_plan(per_agent=False)
        self.end_step()

    def step_per_agent(self) -> None:
        """The same month, but each resident steps itself (slow; for checks and the benchmark)."""
        self.steps += 1
        self.begin_step()
        self._run_plan(per_agent=True)
        self.end_step()

    def run(self, months: int | None = None, progress: Callable[[int], None] | None = None,
            per_agent: bool = False) -> NeighbourhoodModel:
        n = self.months - (self.t + 1) if months is None else months
        for _ in range(n):
            if per_agent:
                self.step_per_agent()
            else:
                self.step()
            if progress:
                progress(1)
        return self

    # --- results ---------------------------------------------------------------------------------
    def counts(self) -> pd.DataFrame:
        return self.recorder.to_frame()

    def lifetable_counts(self) -> pd.DataFrame:
        return self.recorder.lifetable_frame()

    def close(self) -> None:
        """Release Mesa's class-level references so long-lived workers stay flat in memory."""
        self.resident_views.clear()
        self.remove_all_agents()
        mesa.Agent._ids.pop(self, None)
