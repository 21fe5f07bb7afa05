"""NeighbourhoodModel: a mesa.Model whose residents live in numpy arrays, stepped by a fixed plan.

Each month: the model ages everybody and fixes the month's context (strata, last month's quitters for
spillover), then runs the plan in order. Resident-level processes touch only the residents they are
given, so the vectorised path (all residents at once) and the per-agent path (each Resident steps
itself through the same processes) give identical results; model-level processes place newborns and
in-migrants. Random numbers come from counter-based streams keyed on resident ids (rng.py).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np
import pandas as pd

from .agents.cohort import CONDITIONS, Cohort
from .agents.resident import Resident
from .errors import NeighsimError
from .parameters import ParameterSet
from .population.synth import Population
from .processes.admissions import Admissions
from .processes.base import Process, Rows
from .processes.conditions import ConditionOnset, Diagnosis
from .processes.demography import NBHD_ID_SHIFT, NEW_ID_BASE, Births, Emigration, Immigration, Newborns
from .processes.falls import Falls
from .processes.frailty import Frailty
from .processes.mortality import Mortality
from .processes.smoking import Smoking, quit_decay
from .processes.tables import asd_index
from .recorder import Recorder
from .rng import Streams

SNAPSHOT_MONTH = 3
THREADS_MIN_RESIDENTS = 300_000  # below this, splitting a process over two threads costs more than it saves
_SPLIT_POOL = None


def _split_pool():
    global _SPLIT_POOL
    if _SPLIT_POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _SPLIT_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neighsim-split")
    return _SPLIT_POOL  # prevalences are recorded at the end of March (financial year end)


def default_plan() -> list[Process]:
    """The fixed monthly step plan (printed by `neighsim plan`)."""
    return [Emigration(), Smoking(), ConditionOnset(), Diagnosis(), Frailty(), Falls(), Admissions(),
            Mortality(), Births(), Newborns(), Immigration()]


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, 1)


def financial_year(d: dt.date) -> str:
    y = d.year if d.month >= 4 else d.year - 1
    return f"{y}/{(y + 1) % 100:02d}"


@dataclass
class StepContext:
    """What every process may read about the month as it started (identical for both stepping paths)."""

    asd: np.ndarray  # age x sex x decile table index
    stratum: np.ndarray
    lt_stratum: np.ndarray
    hh_quits: np.ndarray  # per household: members who quit last month
    tie_quits: np.ndarray  # per row: non-household ties who quit last month
    current: np.ndarray  # bool: current smoker at the start of the month
    ex: np.ndarray  # bool: ex-smoker
    ex_decay: np.ndarray  # ex-smokers: share of the excess risk remaining (0 for others)
    nltc: np.ndarray  # long-term conditions at the start of the month
    rows_65plus: np.ndarray
    rows_50plus: np.ndarray
    rows_women: np.ndarray  # women 15-44
    rows_smoking: np.ndarray  # adults who smoke, have smoked, or are 18-34 (non-zero smoking hazards)


class NeighbourhoodModel(mesa.Model):
    """Residents of one or more neighbourhoods, projected month by month.

    agents: 'none' (fastest; Monte Carlo workers), 'sample' (sample_size Resident views) or 'all'.
    """

    def __init__(self, population: Population, params: ParameterSet | None = None, *, replicate: int = 0,
                 interventions: Iterable[Any] = (), agents: str = "none", sample_size: int = 1000,
                 months: int | None = None, threads: int | None = None):
        super().__init__(seed=population.config.seed)
        if agents not in ("none", "sample", "all"):
            raise NeighsimError(f"agents must be none, sample or all, not {agents!r}")
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
        nb = self.cohort.neighbourhood
        self.neighbourhoods = sorted(int(x) for x in np.unique(nb))
        starts = np.searchsorted(nb, self.neighbourhoods, side="left")
        stops = np.searchsorted(nb, self.neighbourhoods, side="right")
        if np.any(np.diff(nb.astype(np.int64)) < 0):
            raise NeighsimError("residents must be laid out neighbourhood by neighbourhood")
        self.initial_blocks = {n: (int(a), int(b)) for n, a, b in zip(self.neighbourhoods, starts, stops, strict=True)}
        self._next_local = dict.fromkeys(self.neighbourhoods, 0)
        self.recorder = Recorder(self.neighbourhoods, self.months)
        self._lsoa_factors()
        self.pending_births: list[np.ndarray] = []
        self._base = np.empty(0, np.int32)
        self._sd = np.empty(0, np.int32)
        self._modifiers: dict[str, list[Callable[[NeighbourhoodModel, Rows], np.ndarray | float]]] = {}
        self._listeners: dict[str, list[Callable[..., None]]] = {}
        self.interventions = list(interventions)
        self.plan = default_plan()
        for proc in self.plan:
            proc.prepare(self)
        for iv in self.interventions:
            iv.attach(self)
        self.ctx: StepContext | None = None
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
        lk = self.population.geography.lsoas
        p = self.params
        self.lsoa_illness = np.exp(p["conditions.cidr_exponent"] * lk["cidr_resid"].to_numpy())
        self.lsoa_acute = np.exp(p["admissions.acute_morbidity_exponent"] * lk["acute_resid"].to_numpy())

    def _create_views(self, k: int | None) -> None:
        rows = np.flatnonzero(self.cohort.alive)
        if k is not None and k < len(rows):
            u = self.streams.uniform("agents.sample", 0, self.cohort.id[rows])
            rows = np.sort(rows[np.argsort(u, kind="stable")[:k]])
        for r in rows:
            self.resident_views[int(r)] = Resident(self, int(r))

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
        ids = np.empty(len(neighbourhoods), dtype=np.int64)
        for i, n in enumerate(neighbourhoods.tolist()):
            ids[i] = NEW_ID_BASE + (n << NBHD_ID_SHIFT) + self._next_local[n]
            self._next_local[n] += 1
        return ids

    def record(self, measure: str, rows: np.ndarray, weights: np.ndarray | None = None) -> None:
        strata = self.ctx.stratum[rows]
        with self._lock:
            self.recorder.add(measure, strata, weights)

    def record_lt(self, measure: str, rows: np.ndarray) -> None:
        strata = self.ctx.lt_stratum[rows]
        with self._lock:
            self.recorder.add_lt(measure, strata)

    def _extend_static(self) -> None:
        """Per-row constants (stratum base, sex x decile) for rows added since the last call."""
        c = self.cohort
        new = np.arange(len(self._base), c.n)
        self._base = np.concatenate([self._base, self.recorder.base_stratum(
            c.neighbourhood[new], c.imd_decile[new], c.male[new])])
        self._sd = np.concatenate([self._sd, c.male[new].astype(np.int32) * 10 + c.imd_decile[new].astype(np.int32) - 1])

    def on_new_rows(self, rows: np.ndarray) -> None:
        c = self.cohort
        age = c.age_months[rows] // 12
        s, lt = self.recorder.strata(c.neighbourhood[rows], c.imd_decile[rows], c.male[rows], age)
        ctx = self.ctx
        ctx.stratum = np.concatenate([ctx.stratum, s])
        ctx.lt_stratum = np.concatenate([ctx.lt_stratum, lt])
        ctx.asd = np.concatenate([ctx.asd, asd_index(age, c.male[rows], c.imd_decile[rows])])
        if self.agent_mode == "all":
            for r in rows:
                self.resident_views[int(r)] = Resident(self, int(r))

    # --- context for spillover ---------------------------------------------------------------------
    def ctx_household_quits(self, rows: Rows) -> np.ndarray:
        hh = self.cohort.household[rows]
        q = self.ctx.hh_quits
        return np.where(hh >= 0, q[np.clip(hh, 0, len(q) - 1)], 0)

    def ctx_tie_quits(self, rows: Rows) -> np.ndarray:
        return self.ctx.tie_quits[rows]

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
        """Age everybody one month and fix the month's context (identical for both stepping paths)."""
        c = self.cohort
        self.t += 1
        alive = c.alive
        np.add(c.age_months, alive, out=c.age_months, casting="unsafe")
        age = c.age_months // 12  # int16; ages never exceed the tables' 120 in a 5-year run from 100
        if len(self._base) != c.n:
            self._extend_static()
        stratum, lt = self.recorder.strata_from_base(self._base, age)
        self.recorder.t = self.t
        # last month's quitters: household counts and non-household ties
        quitters = np.flatnonzero(alive & (c.quit_step == self.t - 1))
        hh = c.household[quitters]
        n_hh = int(c.household.max(initial=-1)) + 1
        hh_quits = np.bincount(hh[hh >= 0], minlength=max(n_hh, 1))
        tie = np.zeros(c.n, dtype=np.int32)
        net = self.network
        src = quitters[quitters < net.n]
        if len(src):
            starts, stops = net.indptr[src], net.indptr[src + 1]
            nbrs = np.concatenate([net.indices[a:b] for a, b in zip(starts, stops, strict=True)]) if len(src) else []
            owner = np.repeat(src, stops - starts)
            nonhh = c.household[nbrs] != c.household[owner]
            np.add.at(tie, np.asarray(nbrs)[nonhh], 1)
        smoking = c.smoking
        current = smoking == 1
        ex_mask = smoking == 2
        ex_rows = np.flatnonzero(ex_mask)
        ex_decay = np.zeros(c.n, dtype=np.float32)
        ex_decay[ex_rows] = quit_decay(c.quit_step[ex_rows], self.t, self.params["mortality.quit_benefit_halflife_years"])
        old = age >= 50
        adult = age >= 18
        self.ctx = StepContext(
            asd=age * 20 + self._sd, stratum=stratum, lt_stratum=lt, hh_quits=hh_quits,
            tie_quits=tie, current=current, ex=ex_mask, ex_decay=ex_decay, nltc=c.ltc_count(),
            rows_65plus=np.flatnonzero(old & alive & (age >= 65)),
            rows_50plus=np.flatnonzero(old & alive & (c.frailty < 3)),
            rows_women=np.flatnonzero(alive & ~c.male & (age >= 15) & (age < 45)),
            rows_smoking=np.flatnonzero(adult & alive & ((smoking > 0) | (age < 35))))
        live = np.flatnonzero(alive)
        self.recorder.add("person_months", stratum[live])
        self.recorder.add("qalys", stratum, self._utility(age) * (alive / 12.0))
        self.recorder.add_lt("person_months", lt[live])
        if self.t == 0:
            self.recorder.add("population_start", stratum[live])
        # residents alive at the start of the month, per neighbourhood: read off the person-time just recorded
        pm = self.recorder.data["person_months"][self.t]
        self.alive_by_neighbourhood = pm.reshape(len(self.neighbourhoods), -1).sum(axis=1)

    def _utility(self, age: np.ndarray) -> np.ndarray:
        """EQ-5D utility of every row: age norm x condition and frailty multipliers (for QALYs).
        Whole arrays and small lookup tables: no per-resident gathers of large arrays."""
        c, p = self.cohort, self.params
        if not hasattr(self, "_util_tables"):
            from .recorder import _BAND_OF_AGE

            m = np.asarray(p["economics.utility_multiplier_ltc"])
            combos = np.arange(16)
            ltc = np.prod([np.where((combos >> k) & 1, m[k], 1.0) for k in range(4)], axis=0)
            self._util_tables = (np.asarray(p["economics.utility_by_age"])[_BAND_OF_AGE], ltc,
                                 m[4] ** np.arange(16.0), np.asarray(p["economics.utility_multiplier_frailty"]))
        by_age, ltc, other_pow, frail = self._util_tables
        code = c.htn.view(np.uint8) | (c.cvd.view(np.uint8) << 1) | (c.copd.view(np.uint8) << 2) | (
            c.diabetes.view(np.uint8) << 3)
        return by_age[np.minimum(age, 120)] * ltc[code] * other_pow[c.other_ltcs] * frail[c.frailty]

    def end_step(self) -> None:
        for iv in self.interventions:
            iv.end_step(self)
        if self.calendar_month == SNAPSHOT_MONTH or self.t == self.months - 1:
            self.snapshot()

    def snapshot(self) -> None:
        """Prevalences at the end of the month by stratum (financial year ends, and the last month)."""
        c = self.cohort
        live = np.flatnonzero(c.alive)
        s = self.ctx.stratum[live]
        rec = self.recorder
        rec.add("population", s)
        rec.add("smokers", s[c.smoking[live] == 1])
        for cond in CONDITIONS:
            rec.add(f"prevalent_{cond}", s[c[cond][live]])
            rec.add(f"diagnosed_prevalent_{cond}", s[c[f"{cond}_dx"][live]])
        rec.add("multimorbid", s[c.ltc_count(live) >= 2])
        f = c.frailty[live]
        for k, lab in enumerate(("mild", "moderate", "severe"), start=1):
            rec.add(f"frailty_{lab}", s[f == k])
        rec.add("fuel_poor_residents", s[c.fuel_poor[live]])

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
        touch only their own rows and draws are keyed on ids, so the result is the same as one call;
        recording and event listeners are serialised by a lock."""
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
