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
                                       # or {per: place, places: {...}}, {same_as: SCENARIO}; or budget: (capacity.py)
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

from pydantic import ValidationError

from ..config import ICSConfig, read_yaml, validation_to_config_error
from ..errors import ConfigError, warn
from ..model import add_months
from ..parameters import ParameterSet, load_parameters
from . import registry
from .base import Delivery, Targeting, Value, month_index
from .capacity import entry_capacity, place_settings
from .contributions import Contributions, resolve_contributions
from .rules import Rule
from .schema import CAPACITY_TAGS, NAME_PATTERN, scenario_model, value_type_check


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
            "capacity_per_year": d.capacity, "capacity_set": d.capacity_note or None, "allocation": d.allocation,
            "cost": {**{k: v for k, v in cls.cost_spec.items() if v}, "fixed_per_year": 0.0, **d.costs},
            "effects": {k: self.effects.get(k, e.param) for k, e in cls.effects_spec.items()},
            "options": dict(self.options),
            "neighbourhood_shares": {str(k): round(v, 6) for k, v in (d.shares or {}).items()},
            **place_settings(d),
        }


@dataclass(frozen=True)
class Scenario:
    """A named package of interventions (what the runner needs: name, build, describe)."""

    name: str
    description: str
    file: str
    specs: tuple[InterventionSpec, ...]
    contributions: Contributions | None = None  # run the package's subsets too (contributions.py)
    subset_of: str | None = None  # a subset of this package, run for its contributions (runner/packages.py)

    def build(self, params: ParameterSet) -> list:
        """Fresh intervention objects for one task, with this task's parameter values (PSA draws)."""
        return [s.build(params) for s in self.specs]

    def describe(self) -> dict[str, Any]:
        out = {"name": self.name, "description": self.description, "file": self.file,
               "interventions": [s.describe() for s in self.specs]}
        if self.contributions is not None:
            out["contributions"] = self.contributions.describe()
        if self.subset_of is not None:
            out["subset_of"] = self.subset_of
        return out


# --- reading -------------------------------------------------------------------------------------------
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

    # the whole ICS's starting residents are the population's reference; no neighbourhood's network is
    # needed here, so none is built for this (a run builds only its own neighbourhoods')
    if cfg.population.local_authorities is None:
        pop = get_population(cfg, ())
        return _Areas(pop.reference.cohort, pop.geography)
    full = cfg.with_overrides(population={"local_authorities": None})
    key = config_key(full)
    if key not in _ICS_CACHE:
        from ..population import build_population

        pop = build_population(full, neighbourhoods=())
        _ICS_CACHE.clear()
        _ICS_CACHE[key] = _Areas(pop.reference.cohort, pop.geography)
    return _ICS_CACHE[key]


def load_scenario(path: str | Path, cfg: ICSConfig) -> Scenario:
    """Read and validate a scenario file."""
    p = Path(path)
    raw = read_yaml(p)
    params = load_parameters(cfg.parameters_dir())
    return parse_scenario(raw, cfg, file=str(p), params=params, default_name=p.stem)


def parse_scenario(raw: Any, cfg: ICSConfig, *, file: str = "<scenario>", params: ParameterSet | None = None,
                   default_name: str | None = None) -> Scenario:
    """Validate a scenario given as a mapping (what load_scenario reads from YAML): the schema first
    (schema.py), then what needs the projection and the population (dates, areas, shares)."""
    params = params if params is not None else load_parameters(cfg.parameters_dir())
    if raw is None:
        raise ConfigError(file, None, "the file is empty; expected name, description and interventions")
    if not isinstance(raw, dict):
        raise ConfigError(file, None, "expected a mapping with name, description and interventions")
    types = registry.types()
    try:
        doc = scenario_model(types).model_validate(raw, context={"params": params})
    except ValidationError as exc:
        raise validation_to_config_error(file, exc, frozenset(types) | CAPACITY_TAGS) from None
    name = doc.name or default_name
    if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
        raise ConfigError(file, "name", f"expected a short name (letters, digits, _ . -), got {name!r}")
    if name == "baseline":
        raise ConfigError(file, "name", "'baseline' is the comparator's name; choose another")
    ctx = _Context(file, cfg, params)
    specs: list[InterventionSpec] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(doc.interventions):
        spec = _entry_spec(ctx, entry, f"interventions[{i}]")
        if spec.name in seen:
            ctx.fail(f"interventions[{i}].name", f"two interventions are called {spec.name!r} (also "
                                                 f"interventions[{seen[spec.name]}]); give each a distinct 'name'")
        seen[spec.name] = i
        specs.append(spec)
    return Scenario(name=name, description=doc.description, file=file, specs=tuple(specs),
                    contributions=resolve_contributions(doc.contributions, [s.name for s in specs], file))


@dataclass
class _Context:
    """What the checks beyond the schema need: the file (for errors), projection and population."""

    file: str
    cfg: ICSConfig
    params: ParameterSet
    _pop: Any = None

    def fail(self, fld: str | None, msg: str):
        raise ConfigError(self.file, fld, msg)

    def warn(self, fld: str, msg: str) -> None:
        warn(f"{self.file}, field '{fld}': {msg}")

    def population(self):
        """The whole ICS at this configuration's seed and scale (cohort and geography)."""
        if self._pop is None:
            self._pop = ics_population(self.cfg)
        return self._pop


def _entry_spec(ctx: _Context, entry: Any, pre: str) -> InterventionSpec:
    cls = registry.get(entry.type)
    start, end, ramp = _check_dates(ctx, entry, pre)
    targeting = _targeting(ctx, entry.targeting, f"{pre}.targeting")
    rule = Rule.parse(entry.eligibility) if entry.eligibility is not None else None
    up = entry.uptake
    uptake, uptake_or = (up.probability, up.deprivation_or) if up is not None else (None, None)
    costs = entry.cost.model_dump(exclude_none=True) if entry.cost is not None else {}
    effects = entry.effects.model_dump(exclude_none=True) if entry.effects is not None else {}
    options = entry.options.model_dump(exclude_unset=True) if entry.options is not None else {}
    # the defaults themselves must make sense (a parameter file edited badly is caught here)
    for k, e in cls.effects_spec.items():
        if k not in effects:
            try:
                value_type_check(e.kind, e.param, ctx.params)
            except ValueError as exc:
                ctx.fail(f"{pre}.effects.{k}", f"the default is wrong: {exc}")
    if uptake == 0:
        ctx.warn(f"{pre}.uptake", "uptake 0: nobody takes the offer, so the intervention does nothing")
    places = entry_capacity(ctx, cls, entry, rule, targeting, costs, pre)  # capacity, budget, shares
    delivery = Delivery(start=start, end=end, ramp_months=ramp, targeting=targeting, rule=rule,
                        uptake=uptake, uptake_or=uptake_or, allocation=entry.allocation, costs=costs, **places)
    return InterventionSpec(type=entry.type, name=entry.name or entry.type, delivery=delivery, effects=effects,
                            options=options, description=entry.description)


def _check_dates(ctx: _Context, entry: Any, pre: str) -> tuple[dt.date | None, dt.date | None, int]:
    """Delivery must overlap the projection; a ramp longer than the delivery is legal but is said."""
    t0, months = ctx.cfg.time.start, ctx.cfg.time.months
    horizon_end = add_months(t0, months)
    start, end, ramp = entry.start, entry.end, entry.ramp_months
    if start is not None and start >= horizon_end:
        ctx.fail(f"{pre}.start", f"starts on {start.isoformat()}, after the projection ends "
                                 f"({horizon_end.isoformat()}: {t0.isoformat()} + {months} months)")
    if end is not None:
        if month_index(t0, end) <= month_index(t0, start or t0):
            ctx.fail(f"{pre}.end", f"ends on {end.isoformat()}, not after the start ({(start or t0).isoformat()})")
        if month_index(t0, end) <= 0:
            ctx.fail(f"{pre}.end", f"ends on {end.isoformat()}, before the projection starts ({t0.isoformat()}): "
                                   "the intervention would do nothing")
    if start is not None and month_index(t0, start) < 0:
        ctx.warn(f"{pre}.start", f"starts on {start.isoformat()}, before the projection ({t0.isoformat()}); "
                                 "delivery is modelled from the projection start only")
    first = max(month_index(t0, start), 0) if start is not None else 0
    last = min(month_index(t0, end), months) if end is not None else months
    if ramp > last - first:
        reach = (last - first) / ramp
        ctx.warn(f"{pre}.ramp_months", f"a ramp of {ramp} months is longer than the {last - first} months of "
                                       f"delivery in the projection: coverage reaches only {reach:.0%}")
    return start, end, ramp


def _targeting(ctx: _Context, t: Any, fld: str) -> Targeting:
    """Targeting with area names (any case) resolved to the ids of the whole ICS."""
    if t.core20 and t.imd_deciles is not None:
        ctx.fail(f"{fld}.imd_deciles", "give either core20 or imd_deciles, not both")
    deciles = (1, 2) if t.core20 else (tuple(sorted(set(t.imd_deciles))) if t.imd_deciles is not None else None)
    labels = ["core20"] if t.core20 else []
    if t.imd_deciles is not None:
        labels.append("imd_deciles=" + ",".join(str(x) for x in deciles))
    nbs = locs = None
    if t.neighbourhoods is not None:
        nbs = _resolve_areas(ctx, t.neighbourhoods, f"{fld}.neighbourhoods", "neighbourhood")
        labels.append(f"{len(nbs)} neighbourhood(s)")
    if t.localities is not None:
        locs = _resolve_areas(ctx, t.localities, f"{fld}.localities", "locality")
        labels.append(f"{len(locs)} localit{'y' if len(locs) == 1 else 'ies'}")
    return Targeting(deciles=deciles, neighbourhoods=nbs, localities=locs, label="; ".join(labels) or "all")


def _resolve_areas(ctx: _Context, value: list[int | str], fld: str, kind: str) -> tuple[int, ...]:
    """Neighbourhood or locality names (any case) or ids -> ids, among the areas of the whole ICS."""
    geo = ctx.population().geography
    table = geo.neighbourhoods if kind == "neighbourhood" else geo.localities
    by_name = {str(n).casefold(): int(i) for i, n in zip(table["id"], table["name"], strict=True)}
    ids = set(int(i) for i in table["id"])
    out = []
    for v in value:
        if isinstance(v, int):
            if v not in ids:
                ctx.fail(fld, f"unknown {kind} id {v}; known ids: {sorted(ids)} (see `neighsim population`)")
            out.append(v)
        else:
            key = v.strip().casefold()
            if key not in by_name:
                ctx.fail(fld, f"unknown {kind} {v!r}; known: {'; '.join(str(n) for n in table['name'])}")
            out.append(by_name[key])
    return tuple(sorted(set(out)))
