"""The Intervention base class: delivery options every module shares, and helpers for pathways.

An intervention is attached to a NeighbourhoodModel, which calls (see model.py):

    attach(model)      once, after the processes are prepared: add state fields, hazard modifiers,
                       event listeners;
    begin_step(model)  every month after ageing, before the processes: invitations, uptake,
                       capacity, state changes (detected, treated, insulated, enrolled);
    end_step(model)    every month after the processes: queued events (admissions, fractures)
                       are turned into offers, sorted by resident id;
    summary()          JSON-able totals stored with each task.

Common delivery options (the `Delivery` record, read from scenario files by scenario.py):

- start / end dates and a linear ramp: coverage (the share of eligible residents reached) and
  capacity both rise linearly to full over `ramp_months` from the start; no new participants from
  the end date (effects already given run their course);
- targeting: all, Core20 (IMD deciles 1-2) or listed deciles, and/or named neighbourhoods and
  localities; an eligibility rule on resident attributes (rules.py) replaces the module's default;
- uptake: a probability with a deprivation gradient (odds ratio decile 1 vs decile 10, centred
  so that the probability is the uptake of an average decile);
- capacity: places per year for the whole ICS programme at full population scale; multiplied by
  the population scale and divided between neighbourhoods in proportion to their eligible (and
  targeted) residents at the start across the ICS, so that every neighbourhood can run as its own
  task and give the same answer, and a run of some local authorities gets their share; pro-rated per
  month; oversubscribed places are allocated at random, to the highest risk, or to the most
  deprived first, within each neighbourhood. Capacity may instead be set per area, from a budget, or
  as the same places as another scenario (capacity.py); the places each neighbourhood gets are
  recorded every month as '<name>_places';
- cost per participant plus a fixed cost per year for the whole ICS programme (scaled and divided
  like capacity).

Every random number comes from streams named `intervention.<name>.<purpose>` keyed on resident (or
household) ids, so adding an intervention moves no other draw and scenarios share random numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..agents.cohort import Cohort
from ..errors import NeighsimError
from ..parameters import ParameterSet
from ..processes.base import Modifier
from ..processes.common import decile_position, expit, logit
from .capacity import place_window, record_places
from .rules import Rule

if TYPE_CHECKING:  # pragma: no cover
    from ..model import NeighbourhoodModel

ALLOCATIONS = ("random", "highest_risk", "most_deprived")
EFFECT_KINDS = ("ratio", "probability", "months", "cost", "rate", "number")
NEVER = -32000  # "no such step" in int16 state fields
Value = float | str  # a number, or the name of a parameter ('interventions.x') so PSA draws flow through


@dataclass(frozen=True)
class Effect:
    """A pathway number a module reads: default from a parameter, overridable in a scenario file.

    kind: ratio (> 0), probability (0-1), months (whole number >= 0), cost (pounds >= 0), rate (>= 0),
    number (any)."""

    param: str
    kind: str
    doc: str = ""


@dataclass(frozen=True)
class Option:
    """A structural setting of a module (not a parameter): a default, a type and, for whole numbers,
    the range a scenario file may set (months are bounded so they fit the int16 month fields)."""

    default: Any
    kind: type
    doc: str = ""
    low: int = 0
    high: int = 1200


@dataclass(frozen=True)
class Targeting:
    """Who may be reached: IMD deciles and areas (neighbourhood or locality ids). None means all."""

    deciles: tuple[int, ...] | None = None
    neighbourhoods: tuple[int, ...] | None = None
    localities: tuple[int, ...] | None = None
    label: str = "all"

    def mask(self, cohort: Cohort, rows) -> np.ndarray:
        n = (rows.stop - (rows.start or 0)) if isinstance(rows, slice) else len(rows)
        out = np.ones(n, dtype=bool)
        if self.deciles is not None:
            out &= np.isin(cohort.imd_decile[rows], np.asarray(self.deciles))
        if self.neighbourhoods is not None or self.localities is not None:
            area = np.zeros(n, dtype=bool)
            if self.neighbourhoods is not None:
                area |= np.isin(cohort.neighbourhood[rows], np.asarray(self.neighbourhoods))
            if self.localities is not None:
                area |= np.isin(cohort.locality[rows], np.asarray(self.localities))
            out &= area
        return out

    @property
    def everyone(self) -> bool:
        return self.deciles is None and self.neighbourhoods is None and self.localities is None

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, "imd_deciles": list(self.deciles) if self.deciles else None,
                "neighbourhoods": list(self.neighbourhoods) if self.neighbourhoods is not None else None,
                "localities": list(self.localities) if self.localities is not None else None}


@dataclass(frozen=True)
class Delivery:
    """How a module is delivered. Values left as None take the module's defaults (parameters)."""

    start: dt.date | None = None  # None: the first month of the projection
    end: dt.date | None = None  # exclusive; None: runs to the end
    ramp_months: int = 0
    targeting: Targeting = Targeting()
    rule: Rule | None = None  # None: the module's default eligibility rule
    uptake: Value | None = None
    uptake_or: Value | None = None
    capacity: float | None = None  # places per year, whole ICS at full scale; None: unlimited
    allocation: str = "random"
    costs: dict[str, Value] = field(default_factory=dict)  # per_participant, fixed_per_year, module items
    shares: dict[int, float] | None = None  # neighbourhood -> share of fixed cost (and of capacity by default)
    # capacity set per area, from a budget or from another scenario (capacity.py): its own neighbourhood shares,
    # the (start, end, ramp_months) of the scenario it copies, and how it was set (for reports)
    capacity_shares: dict[int, float] | None = None
    schedule: tuple[dt.date | None, dt.date | None, int] | None = None
    capacity_note: str = ""
    same_as: str | None = None  # 'same places as' this scenario; resolved when scenarios are loaded together

    def __post_init__(self):
        if self.allocation not in ALLOCATIONS:
            raise NeighsimError(f"allocation must be one of {ALLOCATIONS}, not {self.allocation!r}")
        if self.ramp_months < 0:
            raise NeighsimError("ramp_months must be >= 0")
        if self.capacity is not None and self.capacity < 0:
            raise NeighsimError("capacity must be >= 0")


def month_index(start: dt.date, d: dt.date) -> int:
    """Months from the projection start to the month containing d (negative before the start)."""
    return (d.year - start.year) * 12 + (d.month - start.month)


def resolve(value: Value, params: ParameterSet) -> float:
    """A number, or the value of the named parameter (in this task's parameter draw)."""
    if isinstance(value, str):
        v = params[value]
        return float(np.asarray(v).ravel()[0]) if np.ndim(v) else float(v)
    return float(value)


def months_since(step: np.ndarray, t: int) -> np.ndarray:
    """Months from `step` to month t, and a very large number where step is NEVER, so that "at least
    N months ago" holds for residents to whom it never happened, whatever N a scenario file sets."""
    s = np.asarray(step).astype(np.int32)
    return np.where(s == NEVER, np.int32(1 << 30), t - s)


def cumulative_ramp(n: float, ramp: int) -> float:
    """sum_{j=1..n} min(1, j / ramp): the full-coverage months delivered in the first n months."""
    if n <= 0:
        return 0.0
    if ramp <= 0:
        return float(n)
    if n <= ramp:
        return n * (n + 1) / (2.0 * ramp)
    return (ramp + 1) / 2.0 + (n - ramp)


def as_rows(rows) -> np.ndarray:
    if isinstance(rows, slice):
        return np.arange(rows.start or 0, rows.stop)
    return np.asarray(rows)


def _first_k(primary: np.ndarray, u: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k smallest by (primary, u, id) without sorting everything: a partition finds
    the k-th primary value; only the residents tied with it are sorted."""
    kth = np.partition(primary, k - 1)[k - 1]
    sure = np.flatnonzero(primary < kth)
    tied = np.flatnonzero(primary == kth)
    need = k - len(sure)
    tied = tied[np.lexsort((ids[tied], u[tied]))[:need]]
    return np.concatenate([sure, tied])


class Intervention:
    """Base class of intervention modules. Subclasses set the class attributes and override the
    hooks `setup`, `on_begin`, `on_end`, `intrinsic` (and optionally `risk`, `share_basis`)."""

    type_name: ClassVar[str] = ""  # set by @register
    description: ClassVar[str] = ""
    unit: ClassVar[str] = "resident"  # what a participant (and a capacity place) is: resident or home
    default_rule: ClassVar[str] = "true"  # eligibility when a scenario gives none
    uptake_param: ClassVar[str | None] = None  # default uptake probability (None: 1.0)
    uptake_or_param: ClassVar[str | None] = None  # default deprivation odds ratio (None: 1.0)
    effects_spec: ClassVar[dict[str, Effect]] = {}
    cost_spec: ClassVar[dict[str, str | None]] = {"per_participant": None}  # item -> default parameter
    options_spec: ClassVar[dict[str, Option]] = {}

    def __init__(self, params: ParameterSet, delivery: Delivery | None = None, *,
                 effects: dict[str, Value] | None = None, options: dict[str, Any] | None = None,
                 name: str | None = None):
        self.name = name or self.type_name or type(self).__name__.lower()
        self.delivery = delivery or Delivery()
        d = self.delivery
        effects = dict(effects or {})
        unknown = set(effects) - set(self.effects_spec)
        if unknown:
            raise NeighsimError(f"{self.name}: unknown effects {sorted(unknown)}; known: {sorted(self.effects_spec)}")
        self.effects: dict[str, float] = {}
        for key, spec in self.effects_spec.items():
            v = resolve(effects.get(key, spec.param), params)
            if spec.kind == "months":
                v = float(int(round(v)))
            self.effects[key] = v
        self.effect_sources = {k: (effects[k] if k in effects else s.param) for k, s in self.effects_spec.items()}
        self.options: dict[str, Any] = {k: o.default for k, o in self.options_spec.items()}
        for k, v in (options or {}).items():
            if k not in self.options_spec:
                raise NeighsimError(f"{self.name}: unknown option {k!r}; known: {sorted(self.options_spec)}")
            self.options[k] = v
        self.uptake = resolve(d.uptake, params) if d.uptake is not None else (
            resolve(self.uptake_param, params) if self.uptake_param else 1.0)
        self.uptake_or = resolve(d.uptake_or, params) if d.uptake_or is not None else (
            resolve(self.uptake_or_param, params) if self.uptake_or_param else 1.0)
        self.costs: dict[str, float] = {}
        for item, param in self.cost_spec.items():
            v = d.costs.get(item, param)
            self.costs[item] = resolve(v, params) if v is not None else 0.0
        self.fixed_per_year = resolve(d.costs["fixed_per_year"], params) if "fixed_per_year" in d.costs else 0.0
        self.rule: Rule = d.rule if d.rule is not None else Rule.parse(self.default_rule)
        self.totals: dict[str, float] = defaultdict(float)
        self.start_t = 0
        self.end_t: int | None = None
        self.scale = 1.0
        self.shares: dict[int, float] = {}
        self.capacity_shares: dict[int, float] = {}
        self.place_window: tuple[int, int | None, int] = (0, None, 0)

    # --- engine hooks ------------------------------------------------------------------------------
    def attach(self, model: NeighbourhoodModel) -> None:
        d = self.delivery
        self.start_t = month_index(model.start, d.start) if d.start is not None else 0
        self.end_t = month_index(model.start, d.end) if d.end is not None else None
        self.scale = float(model.config.population.scale)
        shares = d.shares
        if shares is None:  # built directly, not from a scenario file: this model's own residents
            shares = type(self).compute_shares(model.cohort, self.rule, d.targeting)
        self.shares = {int(k): float(v) for k, v in shares.items()}
        self.capacity_shares = self.shares if d.capacity_shares is None else {
            int(k): float(v) for k, v in d.capacity_shares.items()}
        self.place_window = place_window(self, model.start)
        self.setup(model)

    def begin_step(self, model: NeighbourhoodModel) -> None:
        if self.active(model.t) and self.fixed_per_year > 0:
            self._charge_fixed(model)
        if self.active(model.t) and self.delivery.capacity is not None:
            record_places(self, model)
        self.on_begin(model)

    def end_step(self, model: NeighbourhoodModel) -> None:
        self.on_end(model)

    def summary(self) -> dict[str, Any]:
        d = self.delivery
        return {
            "type": self.type_name, "name": self.name, "unit": self.unit,
            "totals": {k: float(v) for k, v in sorted(self.totals.items())},
            "effects": dict(self.effects), "uptake": self.uptake, "uptake_deprivation_or": self.uptake_or,
            "costs": dict(self.costs), "fixed_cost_per_year": self.fixed_per_year,
            "capacity_per_year": d.capacity, "capacity_set": d.capacity_note or None,
            "allocation": d.allocation, "eligibility": self.rule.source,
            "targeting": d.targeting.describe(), "start_month": self.start_t, "end_month": self.end_t,
            "ramp_months": d.ramp_months, "scale": self.scale,
        }

    # --- module hooks (override) --------------------------------------------------------------------
    def setup(self, model: NeighbourhoodModel) -> None:
        """Add fields, modifiers and listeners."""

    def on_begin(self, model: NeighbourhoodModel) -> None:
        """The month's delivery, before the processes run."""

    def on_end(self, model: NeighbourhoodModel) -> None:
        """After the processes: turn queued events into offers."""

    def intrinsic(self, model: NeighbourhoodModel, rows: np.ndarray) -> np.ndarray:
        """Conditions of the module itself (always apply, whatever the rule): alive by default."""
        return model.cohort.alive[rows]

    def risk(self, model: NeighbourhoodModel, rows: np.ndarray) -> np.ndarray:
        """Priority score for allocation 'highest_risk' (higher first)."""
        c = model.cohort
        return c.ltc_count(rows).astype(float) + c.frailty[rows] + (c.age_months[rows] // 12) / 100.0

    @classmethod
    def price_factor(cls, params: ParameterSet) -> float:
        """Factor taking the module's default per-participant cost (a parameter) to 2026/27 prices, the
        prices it is charged in; a cost a scenario file sets is taken as 2026/27 prices already."""
        return 1.0

    @classmethod
    def share_basis(cls, cohort: Cohort, rows: np.ndarray) -> np.ndarray:
        """Residents counted when dividing capacity and fixed costs between neighbourhoods (at the
        start, before the rule and targeting): the module's intrinsic eligibility. Default: alive."""
        return cohort.alive[rows]

    @classmethod
    def compute_shares(cls, cohort: Cohort, rule: Rule | None, targeting: Targeting) -> dict[int, float]:
        """Neighbourhood shares of capacity and fixed cost: eligible residents at the start (falling
        back to targeted residents where nobody is eligible yet)."""
        rows = np.arange(cohort.n)
        target = targeting.mask(cohort, rows) & cohort.alive[rows]
        rule = rule if rule is not None else Rule.parse(cls.default_rule)
        basis = target & cls.share_basis(cohort, rows) & rule.evaluate(cohort, rows, 0)
        if not basis.any():
            basis = target
        nb = cohort.neighbourhood[rows[basis]].astype(np.int64)
        if len(nb) == 0:
            return {}
        ids, counts = np.unique(nb, return_counts=True)
        total = counts.sum()
        return {int(i): float(k / total) for i, k in zip(ids, counts, strict=True)}

    # --- time ---------------------------------------------------------------------------------------
    def active(self, t: int) -> bool:
        return t >= self.start_t and (self.end_t is None or t < self.end_t)

    def ramp(self, t: int) -> float:
        """Share of full coverage in month t (0 outside the delivery period)."""
        if not self.active(t):
            return 0.0
        r = self.delivery.ramp_months
        return 1.0 if r <= 0 else min(1.0, (t - self.start_t + 1) / r)

    # --- random numbers -----------------------------------------------------------------------------
    def stream(self, purpose: str) -> str:
        return f"intervention.{self.name}.{purpose}"

    def draw(self, model: NeighbourhoodModel, purpose: str, ids: np.ndarray, step: int | None = None) -> np.ndarray:
        """Uniforms for ids (resident or household ids) from this module's stream `purpose`."""
        return model.streams.uniform(self.stream(purpose), model.t if step is None else step,
                                     np.asarray(ids, dtype=np.int64))

    # --- who --------------------------------------------------------------------------------------
    def targeted(self, model: NeighbourhoodModel, rows) -> np.ndarray:
        return self.delivery.targeting.mask(model.cohort, rows)

    def eligible(self, model: NeighbourhoodModel, rows: np.ndarray) -> np.ndarray:
        """rows (an index array) that are targeted, meet the module's own conditions and the rule."""
        rows = as_rows(rows)
        if len(rows) == 0:
            return rows
        keep = self.intrinsic(model, rows) & self.targeted(model, rows)
        rows = rows[keep]
        if len(rows) and not self.rule.always_true:
            rows = rows[self.rule.evaluate(model.cohort, rows, model.t)]
        return rows

    def reached(self, model: NeighbourhoodModel, rows: np.ndarray, ids: np.ndarray | None = None,
                per_event: bool = False) -> np.ndarray:
        """Coverage during the ramp: a resident (or household) is reached when a fixed uniform is
        below the month's ramp share (per_event: a fresh uniform for each month's events)."""
        rows = np.asarray(rows)
        r = self.ramp(model.t)
        if r >= 1.0 or len(rows) == 0:
            return rows if r > 0 else rows[:0]
        ids = model.cohort.id[rows] if ids is None else ids
        u = self.draw(model, "reach", ids, step=None if per_event else 0)
        return rows[u < r]

    def uptake_probability(self, model: NeighbourhoodModel, rows: np.ndarray, p: float | None = None,
                           odds_ratio: float | None = None) -> np.ndarray:
        """Uptake by IMD decile: logit p_d = logit p + ln(OR) x position(d), position +0.5 for decile 1
        and -0.5 for decile 10, so OR is the odds ratio decile 1 vs 10 and p the mid-gradient uptake."""
        p = self.uptake if p is None else p
        odds_ratio = self.uptake_or if odds_ratio is None else odds_ratio
        dec = model.cohort.imd_decile[rows]
        if odds_ratio == 1.0 or p <= 0.0 or p >= 1.0:
            return np.full(len(rows), float(np.clip(p, 0.0, 1.0)))
        return expit(logit(np.full(len(rows), p)) + math.log(odds_ratio) * decile_position(dec))

    def accepts(self, model: NeighbourhoodModel, rows: np.ndarray, ids: np.ndarray | None = None,
                purpose: str = "uptake", p: float | None = None, odds_ratio: float | None = None) -> np.ndarray:
        """The rows that take up this month's offer (a fresh draw per offer month)."""
        rows = np.asarray(rows)
        if len(rows) == 0:
            return rows
        ids = model.cohort.id[rows] if ids is None else ids
        prob = self.uptake_probability(model, rows, p, odds_ratio)
        return rows[self.draw(model, purpose, ids) < prob]

    # --- capacity and allocation ----------------------------------------------------------------------
    def places(self, t: int, neighbourhood: int) -> int | None:
        """Places this month in a neighbourhood (None: unlimited). Cumulative flooring keeps the total
        over any run of months within one place of capacity x share x months / 12; unused places lapse."""
        cap = self.delivery.capacity
        if cap is None:
            return None
        start, end, r = self.place_window  # this module's own, or that of the scenario whose places it copies
        if not self.active(t) or t < start or (end is not None and t >= end):
            return 0
        per_month = cap * self.scale * self.capacity_shares.get(int(neighbourhood), 0.0) / 12.0
        k = t - start
        a = math.floor(per_month * cumulative_ramp(k + 1, r) + 1e-9)
        b = math.floor(per_month * cumulative_ramp(k, r) + 1e-9)
        return max(a - b, 0)

    def allocate(self, model: NeighbourhoodModel, rows: np.ndarray, ids: np.ndarray | None = None,
                 risk: np.ndarray | None = None) -> np.ndarray:
        """The rows served this month: everyone where places suffice, otherwise per neighbourhood the
        first in the order of the allocation rule: random (a uniform from the 'allocation' stream),
        highest_risk (risk score, ties by the uniform) or most_deprived (IMD decile, ties by the
        uniform); remaining ties by id. `risk` may be given per row (else self.risk is used)."""
        rows = np.asarray(rows)
        if len(rows) == 0 or self.delivery.capacity is None:
            return rows
        c = model.cohort
        nb = c.neighbourhood[rows].astype(np.int64)
        counts = np.bincount(nb)
        present = np.flatnonzero(counts)
        places = {int(n): self.places(model.t, int(n)) for n in present}
        if all(counts[n] <= places[n] for n in places):
            return rows
        ids = c.id[rows] if ids is None else np.asarray(ids)
        u = self.draw(model, "allocation", ids)
        alloc = self.delivery.allocation
        if alloc == "random":
            primary = u
        elif alloc == "most_deprived":
            primary = c.imd_decile[rows] + u  # decile first, then the uniform (u < 1)
        else:
            score = self.risk(model, rows) if risk is None else np.asarray(risk, dtype=float)
            primary = -np.asarray(score, dtype=float)
        keep = np.zeros(len(rows), dtype=bool)
        by_nb = np.argsort(nb, kind="stable") if len(present) > 1 else np.arange(len(rows))
        bounds = np.concatenate([[0], np.cumsum(counts[present])])
        for j, n in enumerate(present):
            sel = by_nb[bounds[j]:bounds[j + 1]]
            k = places[int(n)]
            if k >= len(sel):
                keep[sel] = True
            elif k > 0:
                keep[sel[_first_k(primary[sel], u[sel], ids[sel], k)]] = True
        return rows[keep]

    # --- recording and costs -------------------------------------------------------------------------
    def record(self, model: NeighbourhoodModel, what: str, rows: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Count rows (or sum weights) as measure '<name>_<what>' in the recorder and the totals."""
        rows = np.asarray(rows)
        if len(rows) == 0:
            return
        model.record(f"{self.name}_{what}", rows, weights)
        self.totals[what] += float(len(rows) if weights is None else np.sum(weights))

    def charge(self, model: NeighbourhoodModel, rows: np.ndarray, amount: float | np.ndarray, item: str = "") -> None:
        """Cost in pounds for rows (a unit cost each, or per-row amounts), recorded as '<name>_cost' (the
        summary's cost_intervention is the sum of every module's '<name>_cost')."""
        rows = np.asarray(rows)
        if len(rows) == 0:
            return
        w = np.broadcast_to(np.asarray(amount, dtype=float), (len(rows),)).astype(float)
        if not np.any(w):
            return
        model.record(f"{self.name}_cost", rows, w)
        total = float(w.sum())
        self.totals["cost"] += total
        if item:  # each component costed on its own (not summed again: only '<name>_cost' is)
            model.record(f"{self.name}_cost_{item}", rows, w)
            self.totals[f"cost_{item}"] += total

    def charge_capital(self, model: NeighbourhoodModel, rows: np.ndarray, amount: float, lifetime_years: float,
                       item: str = "") -> None:
        """A cost that buys something lasting `lifetime_years` (charged as usual, and also recorded as
        '<name>_capital' with '<name>_capital_years' = cost x lifetime, so the economics can spread it over
        its lifetime: Green Book annuitisation) - budget impact still sees the whole cost when spent."""
        self.charge(model, rows, amount, item=item)
        rows = np.asarray(rows)
        if len(rows) == 0 or not amount:
            return
        w = np.full(len(rows), float(amount))
        model.record(f"{self.name}_capital", rows, w)
        model.record(f"{self.name}_capital_years", rows, w * float(lifetime_years))

    def _charge_fixed(self, model: NeighbourhoodModel) -> None:
        """A month's fixed cost: each neighbourhood's share, spread evenly over its targeted residents."""
        c = model.cohort
        monthly = self.fixed_per_year * self.scale / 12.0
        rows = np.flatnonzero(c.alive)
        rows = rows[self.targeted(model, rows)]
        if len(rows) == 0:
            return
        nb = c.neighbourhood[rows].astype(np.int64)
        share = np.zeros(int(nb.max()) + 1)
        for k, v in self.shares.items():
            if k < len(share):
                share[k] = v
        counts = np.bincount(nb, minlength=len(share))
        w = monthly * share[nb] / counts[nb]
        keep = w > 0
        self.charge(model, rows[keep], w[keep], item="fixed")

    # --- effects -------------------------------------------------------------------------------------
    def effect(self, key: str) -> float:
        return self.effects[key]

    def add_modifier(self, model: NeighbourhoodModel, hazard: str, fn: Callable, upper_bound: float = 1.0) -> Modifier:
        m = Modifier(fn, upper_bound, f"{self.name}:{hazard}")
        model.add_modifier(hazard, m)
        return m

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
