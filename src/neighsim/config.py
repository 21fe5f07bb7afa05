"""Typed, validated configuration (configs/ics.yaml).

Every problem in a file is reported as one ConfigError naming the file and the field, so a user never
sees a traceback from deep inside the model.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .paths import configs_dir
from .yamlio import read_yaml

LOCAL_AUTHORITIES = (
    "Stoke-on-Trent",
    "Cannock Chase",
    "East Staffordshire",
    "Lichfield",
    "Newcastle-under-Lyme",
    "South Staffordshire",
    "Stafford",
    "Staffordshire Moorlands",
    "Tamworth",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PopulationConfig(_Strict):
    start_date: dt.date = dt.date(2026, 4, 1)
    base_date: dt.date = Field(dt.date(2020, 6, 30), description="date of the ONS small-area estimates")
    scale: float = Field(1.0, gt=0.0, le=1.0, description="fraction of residents to synthesise")
    scale_up: bool = Field(False, description="multiply the summary's counts, costs and QALYs by 1/scale, so that "
                                              "a sample stands for every resident")
    local_authorities: list[str] | None = Field(None, description="restrict to these LAs (None = all nine)")

    @field_validator("local_authorities")
    @classmethod
    def _known_las(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("give at least one local authority, or leave it out for all nine")
        canonical = {la.casefold(): la for la in LOCAL_AUTHORITIES}
        unknown = [x for x in v if str(x).strip().casefold() not in canonical]
        if unknown:
            raise ValueError(f"unknown local authorities {unknown}; expected some of {list(LOCAL_AUTHORITIES)}")
        return list(dict.fromkeys(canonical[str(x).strip().casefold()] for x in v))

    @model_validator(mode="after")
    def _dates(self) -> PopulationConfig:
        if self.start_date <= self.base_date:
            raise ValueError("start_date must be after base_date")
        return self


class GeographyConfig(_Strict):
    neighbourhood_target: int = Field(50_000, gt=1000)
    neighbourhood_min: int = Field(20_000, gt=0)
    neighbourhood_max: int = Field(65_000, gt=0)
    stoke_localities: int = Field(4, ge=1, le=10)
    neighbourhood_file: str | None = Field(None, description="CSV with columns lsoa11_code,neighbourhood")

    @model_validator(mode="after")
    def _order(self) -> GeographyConfig:
        if not self.neighbourhood_min < self.neighbourhood_target < self.neighbourhood_max:
            raise ValueError("need neighbourhood_min < neighbourhood_target < neighbourhood_max")
        return self


class NetworkConfig(_Strict):
    mean_extra_ties: float = Field(4.0, ge=0.0, le=50.0, description="ties outside the household per resident")
    age_sd: float = Field(6.0, gt=0.0, description="spread of partner age in non-household ties (years)")


class TimeConfig(_Strict):
    start: dt.date = dt.date(2026, 4, 1)
    months: int = Field(60, ge=1, le=240)

    @field_validator("start")
    @classmethod
    def _first_of_month(cls, v: dt.date) -> dt.date:
        if v.day != 1:
            raise ValueError("the projection starts on the first day of a month")
        return v


class ICSConfig(_Strict):
    name: str = "Staffordshire and Stoke-on-Trent"
    seed: int = Field(20260401, ge=0, lt=2**63)
    population: PopulationConfig = PopulationConfig()
    geography: GeographyConfig = GeographyConfig()
    network: NetworkConfig = NetworkConfig()
    time: TimeConfig = TimeConfig()
    parameters: str = Field("parameters", description="folder of parameter files, relative to this file")
    source: str | None = Field(None, description="(set by the loader) the file this came from")
    base_dir: str | None = Field(None, description="(set by the loader) folder of the file")

    def parameters_dir(self) -> Path:
        base = Path(self.base_dir) if self.base_dir else configs_dir()
        return (base / self.parameters).resolve()

    def with_overrides(self, **changes: Any) -> ICSConfig:
        """A copy with nested changes, e.g. with_overrides(population={'scale': 0.1})."""
        data = self.model_dump()
        for key, val in changes.items():
            if isinstance(val, dict) and isinstance(data.get(key), dict):
                data[key].update(val)
            else:
                data[key] = val
        return ICSConfig.model_validate(data)


def field_name(loc: tuple[Any, ...], tags: frozenset[str] = frozenset()) -> str:
    """A pydantic location as a user reads it: interventions[0].uptake (discriminator tags left out)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in tags:
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _message(problem: dict[str, Any]) -> str:
    kind, ctx = problem["type"], problem.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key (not allowed here)"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "union_tag_invalid":
        return (f"unknown {str(ctx.get('discriminator', 'type')).strip(chr(39))} {ctx.get('tag')!r}; "
                f"expected one of {ctx.get('expected_tags')}")
    msg = problem["msg"]
    value = problem.get("input")
    if kind != "missing" and isinstance(value, str | int | float | bool) and len(repr(value)) <= 60:
        msg += f", got {value!r}"
    return msg


def validation_to_config_error(path: str | Path, err: ValidationError,
                               tags: frozenset[str] = frozenset()) -> ConfigError:
    """One ConfigError naming every bad field of a pydantic validation error (one line)."""
    problems = err.errors()
    first = field_name(problems[0]["loc"], tags)
    if problems[0]["type"] in ("union_tag_invalid", "union_tag_not_found"):
        first += ".type"
    msgs = []
    for p in problems:
        name = field_name(p["loc"], tags)
        text = _message(p)
        msgs.append(f"'{name}': {text}" if len(problems) > 1 else text)
    return ConfigError(str(path), first, "; ".join(dict.fromkeys(msgs)))


def default_config_path() -> Path:
    return configs_dir() / "ics.yaml"


def load_config(path: str | Path | None = None, **overrides: Any) -> ICSConfig:
    """Read and validate configs/ics.yaml (or `path`); overrides are nested dicts applied on top."""
    p = Path(path) if path is not None else default_config_path()
    raw = read_yaml(p) if p.is_file() or path is not None else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(str(p), None, "expected a mapping of keys to values at the top level")
    for key, val in overrides.items():
        if isinstance(val, dict) and isinstance(raw.get(key), dict):
            raw = {**raw, key: {**raw[key], **val}}
        else:
            raw = {**raw, key: val}
    raw = {**raw, "source": str(p), "base_dir": str(p.resolve().parent)}
    try:
        cfg = ICSConfig.model_validate(raw)
    except ValidationError as exc:
        raise validation_to_config_error(p, exc) from None
    if not cfg.parameters_dir().is_dir():
        raise ConfigError(str(p), "parameters", f"parameter folder {cfg.parameters_dir()} not found; 'parameters' "
                                                "is relative to this file: copy configs/parameters/ beside it or "
                                                "give an absolute path")
    return cfg
