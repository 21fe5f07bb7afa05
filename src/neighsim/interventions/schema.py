"""Scenario files as pydantic models: one entry model per registered intervention type.

Each type's effects, cost items and options come from its class declarations (effects_spec,
cost_spec, options_spec), so a plug-in's keys are validated and published (`neighsim schema
scenario`) like the built-ins'. Numbers may be parameter names (so PSA draws flow through); with a
ParameterSet in the validation context a name must exist and its value must fit the same bounds.
What needs the population or the projection (areas, dates against the horizon) is checked after
this, in scenario.py.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
)

from .base import ALLOCATIONS, Intervention
from .contributions import CONTRIBUTIONS_FIELD_DOC, ContributionsField
from .rules import Rule, RuleError

PARAMETER_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
MAX_MONTHS = 1200  # a hundred years: anything longer is a typo, and would overflow the int16 month fields
MAX_RATIO = 100.0  # an effect ratio beyond this is not a plausible effect size
MAX_RULE_CHARS = 1000
MAX_RULES = 20
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

# kind -> (low, high, low is exclusive, whole numbers, description)
KINDS: dict[str, tuple[float | None, float | None, bool, bool, str]] = {
    "ratio": (0.0, MAX_RATIO, True, False, f"a ratio greater than 0 and at most {MAX_RATIO:g}"),
    "probability": (0.0, 1.0, False, False, "a probability from 0 to 1"),
    "months": (0.0, MAX_MONTHS, False, True, f"a whole number of months from 0 to {MAX_MONTHS}"),
    "cost": (0.0, 1e9, False, False, "pounds, 0 or more"),
    "rate": (0.0, 1000.0, False, False, "a rate, 0 or more"),
    "count": (0.0, 1e8, False, False, "a number of places a year, 0 or more"),
    "number": (None, None, False, False, "a number"),
}


def _check_number(kind: str, x: float, shown: str) -> None:
    low, high, open_low, whole, _ = KINDS[kind]
    if not np.isfinite(x):
        raise ValueError(f"expected a finite number, got {shown}")
    if low is not None and open_low and x <= low:
        raise ValueError(f"must be greater than {low:g}, got {shown}")
    if low is not None and not open_low and x < low:
        raise ValueError(f"must not be negative, got {shown}" if low == 0 else f"must be at least {low:g}, got {shown}")
    if high is not None and x > high:
        raise ValueError(f"must be at most {high:g}, got {shown}")
    if whole and abs(x - round(x)) > 1e-9:
        raise ValueError(f"expected a whole number of months, got {shown}")


def value_type_check(kind: str, v: Any, params: Any = None, allow_param: bool = True) -> float | str:
    """A number of this kind, or the name of a parameter holding one (checked in `params` when given)."""
    if isinstance(v, str):
        try:  # YAML 1.1 reads 1e-3 (no dot) as text: a number written so is still a number
            v = float(v)
        except ValueError:
            pass
    if isinstance(v, str) and allow_param:
        name = v.strip()
        if params is None:
            if not PARAMETER_NAME.match(name):
                raise ValueError(f"{v!r} is neither a number nor a parameter name (group.name)")
            return name
        if name not in params:
            raise ValueError(f"{v!r} is neither a number nor a known parameter (e.g. "
                             "'interventions.falls_pathway_uptake')")
        x = params[name]
        if np.ndim(x):
            raise ValueError(f"parameter {name!r} is a list; a single number is needed")
        _check_number(kind, float(x), f"parameter {name} = {float(x):g}")
        return name
    if isinstance(v, bool) or not isinstance(v, int | float):
        what = "a number or a parameter name" if allow_param else "a number"
        raise ValueError(f"expected {what}, got {v!r:.60}")
    _check_number(kind, float(v), repr(v))
    return float(v)


def _value_checker(kind: str, allow_param: bool = True):
    def check(v: Any, info: ValidationInfo) -> float | str:
        return value_type_check(kind, v, (info.context or {}).get("params"), allow_param)
    return check


def _value_schema(kind: str, allow_param: bool = True) -> dict[str, Any]:
    low, high, open_low, whole, desc = KINDS[kind]
    num: dict[str, Any] = {"type": "integer" if whole else "number"}
    if low is not None:
        num["exclusiveMinimum" if open_low else "minimum"] = low
    if high is not None:
        num["maximum"] = high
    if not allow_param:
        return num | {"description": desc}
    return {"anyOf": [num, {"type": "string", "pattern": PARAMETER_NAME.pattern,
                            "description": "a parameter name (its PSA draws flow through)"}],
            "description": desc + ", or a parameter name"}


def value_type(kind: str, allow_param: bool = True) -> Any:
    """A number of this kind, or (allow_param) the name of a parameter holding one."""
    return Annotated[float | str, PlainValidator(_value_checker(kind, allow_param)),
                     WithJsonSchema(_value_schema(kind, allow_param))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _month_date(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, str) and re.fullmatch(r"\s*\d{4}-\d{1,2}\s*", v):
        y, m = (int(x) for x in v.strip().split("-"))
        if not 1 <= m <= 12:
            raise ValueError(f"expected a date like 2027-04-01, got {v!r}")
        return dt.date(y, m, 1)
    return v


Date = Annotated[dt.date | None, BeforeValidator(_month_date)]


class TargetingSpec(_Strict):
    """Who may be reached. Areas are names (any case) or ids, checked against the population."""

    core20: bool | None = Field(None, description="the 20% most deprived LSOAs (IMD deciles 1-2)")
    imd_deciles: Annotated[list[Annotated[int, Field(strict=True, ge=1, le=10)]], Field(min_length=1)] | None = None
    neighbourhoods: Annotated[list[int | str], Field(min_length=1, max_length=1000)] | None = None
    localities: Annotated[list[int | str], Field(min_length=1, max_length=1000)] | None = None

    @field_validator("neighbourhoods", "localities", mode="before")
    @classmethod
    def _one_or_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str | int) and not isinstance(v, bool) else v


def _targeting(v: Any) -> Any:
    if v is None or v == "all":
        return {}
    if v == "core20":
        return {"core20": True}
    if isinstance(v, str):
        raise ValueError(f"expected all, core20 or a mapping with keys core20, imd_deciles, neighbourhoods, "
                         f"localities; got {v!r}")
    return v


class UptakeSpec(_Strict):
    probability: value_type("probability") | None = Field(None, description="uptake of an average decile")
    deprivation_or: value_type("ratio") | None = Field(None, description="odds ratio, decile 1 vs decile 10")


def _uptake(v: Any) -> Any:
    return {"probability": v} if isinstance(v, int | float | str) else v


def _check_rule(v: Any) -> Any:
    if v is None:
        return v
    texts = v if isinstance(v, list) else [v]
    if isinstance(v, list) and not 1 <= len(v) <= MAX_RULES:
        raise ValueError(f"expected 1 to {MAX_RULES} rules that must all hold")
    for t in texts:
        if isinstance(t, bool):
            continue
        if not isinstance(t, str):
            raise ValueError(f"expected a rule as text (e.g. 'age >= 65') or a list of them, got {t!r:.60}")
        if len(t) > MAX_RULE_CHARS:
            raise ValueError(f"a rule is limited to {MAX_RULE_CHARS} characters (this one has {len(t)})")
    try:
        Rule.parse(v)
    except RuleError as exc:
        raise ValueError(str(exc)) from None
    return v


AREA_LEVELS = ("place", "locality", "neighbourhood")
AreaKey = Annotated[int | str, Field(description="an area's name (any case) or id")]


class CapacityByArea(_Strict):
    """Places a year for each listed area (whole programme at full scale); unlisted areas get none."""

    per: Literal[AREA_LEVELS] = Field(description="the level of the areas listed")  # type: ignore[valid-type]
    places: Annotated[dict[AreaKey, value_type("count", allow_param=False)], Field(min_length=1, max_length=1000)]


class BudgetByArea(_Strict):
    """Pounds a year for each listed area; places = pounds / the module's per_participant cost."""

    per: Literal[AREA_LEVELS] = Field(description="the level of the areas listed")  # type: ignore[valid-type]
    pounds: Annotated[dict[AreaKey, value_type("cost", allow_param=False)], Field(min_length=1, max_length=1000)]


class SameAs(_Strict):
    """Each neighbourhood gets the places per month the same-named intervention gets in another scenario."""

    same_as: Annotated[str, Field(min_length=1, max_length=300,
                                  description="a scenario of the same run: its name or its file")]


def _kind(prefix: str, mapping: str):
    """Pick the form of a capacity or budget value from its shape (errors then name the right keys)."""
    def pick(v: Any) -> str:
        if isinstance(v, dict):
            return f"{prefix}:same_as" if prefix == "capacity" and "same_as" in v else f"{prefix}:{mapping}"
        if isinstance(v, BaseModel):
            return f"{prefix}:same_as" if isinstance(v, SameAs) else f"{prefix}:{mapping}"
        return f"{prefix}:number"
    return pick


# discriminator tags: never field names, so error locations leave them out (scenario.py)
CAPACITY_TAGS = frozenset({"capacity:number", "capacity:areas", "capacity:same_as", "budget:number", "budget:areas"})
Capacity = Annotated[Union[Annotated[value_type("count", allow_param=False), Tag("capacity:number")],  # noqa: UP007
                           Annotated[CapacityByArea, Tag("capacity:areas")],
                           Annotated[SameAs, Tag("capacity:same_as")]], Discriminator(_kind("capacity", "areas"))]
Budget = Annotated[Union[Annotated[value_type("cost", allow_param=False), Tag("budget:number")],  # noqa: UP007
                         Annotated[BudgetByArea, Tag("budget:areas")]], Discriminator(_kind("budget", "areas"))]


class EntryBase(_Strict):
    """Settings every intervention type shares (docs/interventions.md)."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")] | None = Field(
        None, description="label (default: the type); needed when a type appears twice")
    description: str = ""
    start: Date = Field(None, description="first month of delivery (default: the projection start)")
    end: Date = Field(None, description="exclusive; null: to the end of the projection")
    ramp_months: Annotated[int, Field(strict=True, ge=0, le=MAX_MONTHS)] = Field(
        0, description="linear ramp of coverage and capacity")
    targeting: Annotated[TargetingSpec, BeforeValidator(_targeting, json_schema_input_type=Literal["all", "core20"]
                                                          | TargetingSpec)] = TargetingSpec()
    eligibility: Annotated[str | bool | list[str] | None, BeforeValidator(_check_rule)] = Field(
        None, description="a rule on resident attributes (replaces the module's default); see `neighsim plan`")
    uptake: Annotated[UptakeSpec | None, BeforeValidator(_uptake, json_schema_input_type=float | str | UptakeSpec
                                                         | None)] = None
    capacity: Capacity | None = Field(
        None, description="places (homes for warm_homes) per year, whole ICS at full scale; or per area "
                          "{per, places}; or {same_as: scenario}; null: unlimited")
    budget: Budget | None = Field(
        None, description="pounds per year instead of capacity, whole ICS at full scale or per area {per, pounds}: "
                          "places = budget / the per_participant cost")
    allocation: Literal[ALLOCATIONS] = "random"  # type: ignore[valid-type]


def _options_model(cls: type[Intervention]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for key, opt in cls.options_spec.items():
        if opt.kind is bool:
            typ: Any = Annotated[bool, Field(strict=True)]
        elif opt.kind is int:
            typ = Annotated[int, Field(strict=True, ge=opt.low, le=opt.high)]
        else:
            typ = Annotated[opt.kind, Field(strict=True)]
        fields[key] = (typ, Field(opt.default, description=opt.doc))
    return create_model(f"{cls.__name__}Options", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


@lru_cache(maxsize=64)
def entry_model(cls: type[Intervention]) -> type[BaseModel]:
    """The scenario-file entry for one intervention type (its effects, costs and options)."""
    name = cls.type_name
    effects = {k: (value_type(e.kind) | None, Field(None, description=f"{e.doc} (default: parameter {e.param})"))
               for k, e in cls.effects_spec.items()}
    costs = {k: (value_type("cost") | None, Field(None, description=f"default: parameter {p}" if p else ""))
             for k, p in {**cls.cost_spec, "fixed_per_year": None}.items()}
    cfg = ConfigDict(extra="forbid", frozen=True)
    eff_model = create_model(f"{cls.__name__}Effects", __config__=cfg, **effects)
    cost_model = create_model(f"{cls.__name__}Costs", __config__=cfg, **costs)
    return create_model(
        f"{cls.__name__}Entry", __base__=EntryBase, __doc__=cls.description or cls.__doc__,
        type=(Literal[name], Field(description=cls.description)),
        cost=(cost_model | None, None), effects=(eff_model | None, None),
        options=(_options_model(cls) | None, None))


def scenario_model(types: dict[str, type[Intervention]]) -> type[BaseModel]:
    """The whole scenario file for the registered types."""
    models = tuple(entry_model(cls) for _, cls in sorted(types.items()))
    entry: Any = models[0] if len(models) == 1 else Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007
    return create_model(
        "ScenarioFile", __config__=ConfigDict(extra="forbid", frozen=True),
        __doc__="A named package of interventions (configs/scenarios/*.yaml).",
        name=(Annotated[str, Field(pattern=NAME_PATTERN)] | None, Field(None, description="default: the file name")),
        description=(str, ""),
        interventions=(Annotated[list[entry], Field(min_length=1, max_length=50)], ...),
        contributions=(ContributionsField, Field(None, description=CONTRIBUTIONS_FIELD_DOC)))
