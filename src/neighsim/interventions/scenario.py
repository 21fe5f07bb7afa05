"""Scenario files (configs/scenarios/*.yaml): a name, a description and a list of interventions.

    name: falls_pathway
    description: Falls prevention for people aged 65+ from October 2026
    interventions:
      - type: falls_pathway            # a registered intervention type (neighsim plan lists them)
        name: falls_pathway            # optional label; needed when a type appears twice
        start: 2026-10-01              # default: the projection start
        ramp_months: 6                 # linear ramp of coverage and capacity (default 0)
        end: null                      # exclusive; null: to the end of the projection
        targeting: all                 # all | core20 | {core20, imd_deciles, neighbourhoods, localities}
        eligibility: frailty >= moderate or fell_last_12m   # replaces the module's default rule
        uptake: 0.5                    # or {probability: 0.5, deprivation_or: 0.9}; numbers or parameter names
        capacity: 6000                 # places (homes for warm_homes) per year, whole area at full scale; null: unlimited
        allocation: highest_risk       # random | highest_risk | most_deprived
        cost: {per_participant: 300, fixed_per_year: 0}
        effects: {exercise_rate_ratio: 0.77}   # overrides of the module's pathway numbers
        options: {reoffer_months: 12}          # the module's structural settings

Every problem raises one ConfigError naming the file and the field (e.g. 'interventions[0].uptake').
Numbers may be given as parameter names ('interventions.falls_pathway_uptake') so that probabilistic
sensitivity draws flow through; effects left out take their parameter. The loaded Scenario is plain
data (picklable for Ray): `build(params)` makes fresh intervention objects for each task.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ICSConfig, read_yaml
from ..errors import ConfigError
from ..parameters import ParameterSet, load_parameters
from . import registry
from .base import ALLOCATIONS, Delivery, Targeting, Value, month_index
from .rules import Rule, RuleError

TOP_KEYS = ("name", "description", "interventions")
ENTRY_KEYS = ("type", "name", "description", "start", "end", "ramp_months", "targeting", "eligibility",
              "uptake", "capacity", "allocation", "cost", "effects", "options")
TARGETING_KEYS = ("core20", "imd_deciles", "neighbourhoods", "localities")
UPTAKE_KEYS = ("probability", "deprivation_or")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class InterventionSpec:
    """One validated entry of a scenario file."""

    type: str
    name: str
    delivery: Delivery
    effects: dict[str, Value] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def build(self, params: ParameterSet):
        cls = registry.get(self.type)
        return cls(params, self.delivery, effects=self.effects, options=self.options, name=self.name)

    def describe(self) -> dict[str, Any]:
        d = self.delivery
        cls = registry.get(self.type)
        return {
            "type": self.type, "name": self.name, "description": self.description,
            "start": d.start.isoformat() if d.start else None, "end": d.end.isoformat() if d.end else None,
            "ramp_months": d.ramp_months, "targeting": d.targeting.describe(),
            "eligibility": d.rule.source if d.rule is not None else cls.default_rule,
            "uptake": d.uptake if d.uptake is not None else (cls.uptake_param or 1.0),
            "uptake_deprivation_or": d.uptake_or if d.uptake_or is not None else (cls.uptake_or_param or 1.0),
            "capacity_per_year": d.capacity, "allocation": d.allocation,
            "cost": {**{k: v for k, v in cls.cost_spec.items() if v}, "fixed_per_year": 0.0, **d.costs},
            "effects": {k: self.effects.get(k, e.param) for k, e in cls.effects_spec.items()},
            "options": dict(self.options),
            "neighbourhood_shares": {str(k): round(v, 6) for k, v in (d.shares or {}).items()},
        }


@dataclass(frozen=True)
class Scenario:
    """A named package of interventions (what the runner needs: name, build, describe)."""

    name: str
    description: str
    file: str
    specs: tuple[InterventionSpec, ...]

    def build(self, params: ParameterSet) -> list:
        """Fresh intervention objects for one task, with this task's parameter values (PSA draws)."""
        return [s.build(params) for s in self.specs]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "file": self.file,
                "interventions": [s.describe() for s in self.specs]}


# --- reading -------------------------------------------------------------------------------------------
class _Reader:
    """Validation helpers bound to one file (every error names it)."""

    def __init__(self, file: str, cfg: ICSConfig, params: ParameterSet):
        self.file = file
        self.cfg = cfg
        self.params = params
        self._pop = None

    def fail(self, fld: str | None, msg: str):
        raise ConfigError(self.file, fld, msg)

    def mapping(self, value: Any, fld: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(fld, f"expected a mapping with keys among {list(allowed)}, got {value!r}")
        for k in value:
            if k not in allowed:
                where = f"{fld}.{k}" if fld else str(k)
                self.fail(where, f"unknown key; allowed: {', '.join(allowed)}")
        return value

    def number(self, value: Any, fld: str, *, low: float | None = None, high: float | None = None,
               positive: bool = False, allow_param: bool = True, what: str = "value") -> Value:
        if isinstance(value, str) and allow_param:
            if value not in self.params:
                self.fail(fld, f"{value!r} is neither a number nor a known parameter (e.g. "
                               "'interventions.falls_pathway_uptake')")
            v = self.params[value]
            if np.ndim(v):
                self.fail(fld, f"parameter {value!r} is a list; a single number is needed")
            self.number(float(v), fld, low=low, high=high, positive=positive, allow_param=False, what=what)
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(fld, f"expected a number, got {value!r}")
        v = float(value)
        if not np.isfinite(v):
            self.fail(fld, f"expected a finite number, got {value!r}")
        if positive and v <= 0:
            self.fail(fld, f"{what} must be greater than 0, got {value!r}")
        if low is not None and v < low:
            self.fail(fld, f"{what} must not be negative, got {value!r}" if low == 0
                      else f"{what} must be at least {low}, got {value!r}")
        if high is not None and v > high:
            self.fail(fld, f"{what} must be at most {high}, got {value!r}")
        return v

    def date(self, value: Any, fld: str) -> dt.date | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            for fmt in ("%Y-%m-%d", "%Y-%m"):
                try:
                    return dt.datetime.strptime(value.strip(), fmt).date()
                except ValueError:
                    pass
        self.fail(fld, f"expected a date like 2027-04-01, got {value!r}")
        return None  # pragma: no cover

    def population(self):
        """The whole ICS at this configuration's seed and scale (cohort and geography)."""
        if self._pop is None:
            self._pop = ics_population(self.cfg)
        return self._pop


@dataclass(frozen=True)
class _Areas:
    cohort: Any
    geography: Any


_ICS_CACHE: dict[str, _Areas] = {}


def ics_population(cfg: ICSConfig) -> _Areas:
    """Residents at the start and areas of all nine local authorities (capacity and fixed costs are
    for the whole ICS programme; a run of some local authorities or neighbourhoods gets their share).
    Reuses the runner's population when the configuration already covers the whole ICS."""
    from ..runner.tasks import config_key, get_population

    if cfg.population.local_authorities is None:
        pop = get_population(cfg)
        return _Areas(pop.cohort, pop.geography)
    full = cfg.with_overrides(population={"local_authorities": None})
    key = config_key(full)
    if key not in _ICS_CACHE:
        from ..population import build_population

        pop = build_population(full)
        _ICS_CACHE.clear()
        _ICS_CACHE[key] = _Areas(pop.cohort, pop.geography)
    return _ICS_CACHE[key]


def load_scenario(path: str | Path, cfg: ICSConfig) -> Scenario:
    """Read and validate a scenario file."""
    p = Path(path)
    raw = read_yaml(p)
    params = load_parameters(cfg.parameters_dir())
    return parse_scenario(raw, cfg, file=str(p), params=params, default_name=p.stem)


def parse_scenario(raw: Any, cfg: ICSConfig, *, file: str = "<scenario>", params: ParameterSet | None = None,
                   default_name: str | None = None) -> Scenario:
    """Validate a scenario given as a mapping (what load_scenario reads from YAML)."""
    params = params if params is not None else load_parameters(cfg.parameters_dir())
    r = _Reader(file, cfg, params)
    if raw is None:
        r.fail(None, "the file is empty; expected name, description and interventions")
    r.mapping(raw, "", TOP_KEYS)
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not _NAME.match(name):
        r.fail("name", f"expected a short name (letters, digits, _ . -), got {name!r}")
    if name == "baseline":
        r.fail("name", "'baseline' is the comparator's name; choose another")
    description = raw.get("description", "")
    if not isinstance(description, str):
        r.fail("description", "expected text")
    entries = raw.get("interventions")
    if not isinstance(entries, list) or not entries:
        r.fail("interventions", "expected a non-empty list of interventions (each with a 'type')")
    specs: list[InterventionSpec] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        spec = _parse_entry(r, entry, f"interventions[{i}]")
        if spec.name in seen:
            r.fail(f"interventions[{i}].name",
                   f"two interventions are called {spec.name!r} (also interventions[{seen[spec.name]}]); "
                   "give each a distinct 'name'")
        seen[spec.name] = i
        specs.append(spec)
    return Scenario(name=name, description=description, file=file, specs=tuple(specs))


def _parse_entry(r: _Reader, entry: Any, pre: str) -> InterventionSpec:
    r.mapping(entry, pre, ENTRY_KEYS)
    typ = entry.get("type")
    if not isinstance(typ, str):
        r.fail(f"{pre}.type", f"missing or not text; available types: {', '.join(registry.available())}")
    try:
        cls = registry.get(typ)
    except KeyError:
        r.fail(f"{pre}.type", f"unknown intervention type {typ!r}; available: {', '.join(registry.available())}")
    label = entry.get("name", typ)
    if not isinstance(label, str) or not re.match(r"^[a-z][a-z0-9_]*$", label):
        r.fail(f"{pre}.name", f"expected a lower-case identifier (a-z, 0-9, _), got {label!r}")
    desc = entry.get("description", "")
    if not isinstance(desc, str):
        r.fail(f"{pre}.description", "expected text")

    # --- time ---
    t0 = r.cfg.time.start
    horizon_end = _add_months(t0, r.cfg.time.months)
    start = r.date(entry.get("start"), f"{pre}.start")
    end = r.date(entry.get("end"), f"{pre}.end")
    if start is not None and start >= horizon_end:
        r.fail(f"{pre}.start", f"starts on {start.isoformat()}, after the projection ends "
                               f"({horizon_end.isoformat()}: {t0.isoformat()} + {r.cfg.time.months} months)")
    if end is not None:
        if month_index(t0, end) <= month_index(t0, start or t0):
            r.fail(f"{pre}.end", f"ends on {end.isoformat()}, not after the start ({(start or t0).isoformat()})")
    ramp = entry.get("ramp_months", 0)
    if ramp is None:
        ramp = 0
    if isinstance(ramp, bool) or not isinstance(ramp, int) or ramp < 0:
        r.fail(f"{pre}.ramp_months", f"expected a whole number of months >= 0, got {ramp!r}")

    # --- who ---
    targeting = _parse_targeting(r, entry.get("targeting", "all"), f"{pre}.targeting")
    rule = None
    if entry.get("eligibility") is not None:
        try:
            rule = Rule.parse(entry["eligibility"])
        except RuleError as exc:
            r.fail(f"{pre}.eligibility", str(exc))

    # --- uptake, capacity, allocation, cost ---
    uptake: Value | None = None
    uptake_or: Value | None = None
    u = entry.get("uptake")
    if isinstance(u, dict):
        r.mapping(u, f"{pre}.uptake", UPTAKE_KEYS)
        if "probability" in u:
            uptake = r.number(u["probability"], f"{pre}.uptake.probability", low=0, high=1, what="uptake")
        if "deprivation_or" in u:
            uptake_or = r.number(u["deprivation_or"], f"{pre}.uptake.deprivation_or", positive=True,
                                 what="the deprivation odds ratio")
    elif u is not None:
        uptake = r.number(u, f"{pre}.uptake", low=0, high=1, what="uptake")
    capacity = entry.get("capacity")
    if capacity is not None:
        capacity = float(r.number(capacity, f"{pre}.capacity", low=0, allow_param=False, what="capacity"))
    allocation = entry.get("allocation", "random")
    if allocation not in ALLOCATIONS:
        r.fail(f"{pre}.allocation", f"expected one of {', '.join(ALLOCATIONS)}, got {allocation!r}")
    cost_keys = tuple(cls.cost_spec) + ("fixed_per_year",)
    costs: dict[str, Value] = {}
    if entry.get("cost") is not None:
        r.mapping(entry["cost"], f"{pre}.cost", cost_keys)
        for k, v in entry["cost"].items():
            costs[k] = r.number(v, f"{pre}.cost.{k}", low=0, what="a cost")

    # --- effects and options ---
    effects: dict[str, Value] = {}
    if entry.get("effects") is not None:
        r.mapping(entry["effects"], f"{pre}.effects", tuple(cls.effects_spec))
        for k, v in entry["effects"].items():
            effects[k] = _effect_value(r, cls.effects_spec[k].kind, v, f"{pre}.effects.{k}")
    # the defaults themselves must make sense (a parameter file edited badly is caught here)
    for k, spec in cls.effects_spec.items():
        if k not in effects:
            _effect_value(r, spec.kind, spec.param, f"{pre}.effects.{k}")
    options: dict[str, Any] = {}
    if entry.get("options") is not None:
        r.mapping(entry["options"], f"{pre}.options", tuple(cls.options_spec))
        for k, v in entry["options"].items():
            kind = cls.options_spec[k].kind
            ok = isinstance(v, bool) if kind is bool else (isinstance(v, kind) and not isinstance(v, bool))
            if not ok:
                r.fail(f"{pre}.options.{k}", f"expected {kind.__name__}, got {v!r}")
            if kind is int and v < 0:
                r.fail(f"{pre}.options.{k}", f"must not be negative, got {v!r}")
            options[k] = v

    # --- division of capacity and fixed cost between neighbourhoods ---
    shares = None
    fixed = costs.get("fixed_per_year", 0.0)
    if capacity is not None or (isinstance(fixed, str) or fixed > 0):
        pop = r.population()
        shares = cls.compute_shares(pop.cohort, rule, targeting)
    delivery = Delivery(start=start, end=end, ramp_months=int(ramp), targeting=targeting, rule=rule,
                        uptake=uptake, uptake_or=uptake_or, capacity=capacity, allocation=allocation,
                        costs=costs, shares=shares)
    return InterventionSpec(type=typ, name=label, delivery=delivery, effects=effects, options=options,
                            description=desc)


def _effect_value(r: _Reader, kind: str, v: Any, fld: str) -> Value:
    if kind == "ratio":
        return r.number(v, fld, positive=True, what="an effect ratio")
    if kind == "probability":
        return r.number(v, fld, low=0, high=1, what="a probability")
    if kind in ("cost", "rate"):
        return r.number(v, fld, low=0, what="a " + kind)
    if kind == "months":
        out = r.number(v, fld, low=0, what="a number of months")
        value = float(r.params[out]) if isinstance(out, str) else out
        if abs(value - round(value)) > 1e-9:
            r.fail(fld, f"expected a whole number of months, got {v!r}")
        return out
    return r.number(v, fld)


def _parse_targeting(r: _Reader, value: Any, fld: str) -> Targeting:
    if value is None or value == "all":
        return Targeting()
    if value == "core20":
        return Targeting(deciles=(1, 2), label="core20")
    if isinstance(value, str):
        r.fail(fld, f"expected all, core20 or a mapping with keys {list(TARGETING_KEYS)}, got {value!r}")
    r.mapping(value, fld, TARGETING_KEYS)
    deciles = None
    labels = []
    if value.get("core20") is not None:
        if not isinstance(value["core20"], bool):
            r.fail(f"{fld}.core20", f"expected true or false, got {value['core20']!r}")
        if value["core20"]:
            deciles = (1, 2)
            labels.append("core20")
    if value.get("imd_deciles") is not None:
        if deciles is not None:
            r.fail(f"{fld}.imd_deciles", "give either core20 or imd_deciles, not both")
        d = value["imd_deciles"]
        if not isinstance(d, list) or not d or not all(isinstance(x, int) and not isinstance(x, bool)
                                                        and 1 <= x <= 10 for x in d):
            r.fail(f"{fld}.imd_deciles", f"expected a list of deciles 1-10, got {d!r}")
        deciles = tuple(sorted(set(d)))
        labels.append("imd_deciles=" + ",".join(str(x) for x in deciles))
    nbs = locs = None
    if value.get("neighbourhoods") is not None:
        nbs = _resolve_areas(r, value["neighbourhoods"], f"{fld}.neighbourhoods", "neighbourhood")
        labels.append(f"{len(nbs)} neighbourhood(s)")
    if value.get("localities") is not None:
        locs = _resolve_areas(r, value["localities"], f"{fld}.localities", "locality")
        labels.append(f"{len(locs)} localit{'y' if len(locs) == 1 else 'ies'}")
    return Targeting(deciles=deciles, neighbourhoods=nbs, localities=locs, label="; ".join(labels) or "all")


def _resolve_areas(r: _Reader, value: Any, fld: str, kind: str) -> tuple[int, ...]:
    """Neighbourhood or locality names (any case) or ids -> ids, among the areas of the whole ICS."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        r.fail(fld, f"expected a list of {kind} names or ids")
    geo = r.population().geography
    table = geo.neighbourhoods if kind == "neighbourhood" else geo.localities
    by_name = {str(n).casefold(): int(i) for i, n in zip(table["id"], table["name"], strict=True)}
    ids = set(int(i) for i in table["id"])
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | str):
            r.fail(fld, f"expected {kind} names or ids, got {v!r}")
        if isinstance(v, int):
            if v not in ids:
                r.fail(fld, f"unknown {kind} id {v}; known ids: {sorted(ids)} (see `neighsim population`)")
            out.append(v)
        else:
            key = v.strip().casefold()
            if key not in by_name:
                known = "; ".join(str(n) for n in table["name"])
                r.fail(fld, f"unknown {kind} {v!r}; known: {known}")
            out.append(by_name[key])
    return tuple(sorted(set(out)))


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, 1)
