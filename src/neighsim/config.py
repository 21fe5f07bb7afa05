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
LA_CHOICES = ", ".join(LOCAL_AUTHORITIES) + " (any case)"


def _area_key(text: str) -> str:
    """How an area's name is compared: any case, hyphens as spaces, runs of spaces as one."""
    return " ".join(str(text).replace("-", " ").casefold().split())


def local_authority(text: str) -> str | None:
    """The local authority a user means (any case; 'stoke on trent' is Stoke-on-Trent), or None."""
    return {_area_key(la): la for la in LOCAL_AUTHORITIES}.get(_area_key(text))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PopulationConfig(_Strict):
    """The starting residents: dates, sample scale and local authorities."""

    start_date: dt.date = Field(dt.date(2026, 4, 1), description="date the residents are synthesised for (the "
                                                                  "start of the projection)")
    base_date: dt.date = Field(dt.date(2020, 6, 30), description="date of the ONS small-area estimates")
    scale: float = Field(1.0, gt=0.0, le=1.0, description="fraction of residents to synthesise")
    scale_up: bool = Field(False, description="multiply the summary's counts, costs and QALYs by 1/scale, so that "
                                              "a sample stands for every resident")
    local_authorities: list[str] | None = Field(
        None, description="restrict to these local authorities, by name in any case (leave out for all nine): "
                          + ", ".join(LOCAL_AUTHORITIES))

    @field_validator("local_authorities")
    @classmethod
    def _known_las(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("give at least one local authority, or leave it out for all nine")
        unknown = [x for x in v if local_authority(str(x)) is None]
        if unknown:
            raise ValueError(f"unknown local authorit{'y' if len(unknown) == 1 else 'ies'} "
                             f"{', '.join(map(repr, unknown))}; expected some of {LA_CHOICES}")
        return list(dict.fromkeys(local_authority(str(x)) for x in v))

    @model_validator(mode="after")
    def _dates(self) -> PopulationConfig:
        if self.start_date <= self.base_date:
            raise ValueError("start_date must be after base_date")
        return self


class GeographyConfig(_Strict):
    """Neighbourhoods: whole MSOAs grouped to about a target size, or read from a file."""

    neighbourhood_target: int = Field(50_000, gt=1000, description="residents a neighbourhood is aimed at")
    neighbourhood_min: int = Field(20_000, gt=0, description="fewest residents of a neighbourhood")
    neighbourhood_max: int = Field(65_000, gt=0, description="most residents of a neighbourhood")
    stoke_localities: int = Field(4, ge=1, le=10, description="localities Stoke-on-Trent is split into")
    neighbourhood_file: str | None = Field(None, description="CSV with columns lsoa11_code,neighbourhood")

    @model_validator(mode="after")
    def _order(self) -> GeographyConfig:
        if not self.neighbourhood_min < self.neighbourhood_target < self.neighbourhood_max:
            raise ValueError("need neighbourhood_min < neighbourhood_target < neighbourhood_max")
        return self


class NetworkConfig(_Strict):
    """Ties between residents outside their household."""

    mean_extra_ties: float = Field(4.0, ge=0.0, le=50.0, description="ties outside the household per resident")
    age_sd: float = Field(6.0, gt=0.0, description="spread of partner age in non-household ties (years)")


class TimeConfig(_Strict):
    """The projection's first month and its length."""

    start: dt.date = Field(dt.date(2026, 4, 1), description="first month of the projection (a first day)")
    months: int = Field(60, ge=1, le=240, description="months projected (60: five years)")

    @field_validator("start")
    @classmethod
    def _first_of_month(cls, v: dt.date) -> dt.date:
        if v.day != 1:
            raise ValueError("the projection starts on the first day of a month")
        return v


class ICSConfig(_Strict):
    """configs/ics.yaml: the ICS, its seed, population, geography, network, time and parameter folder."""

    name: str = Field("Staffordshire and Stoke-on-Trent", description="name of the ICS, as reports print it")
    seed: int = Field(20260401, ge=0, lt=2**63, description="master seed: every random draw follows from it")
    population: PopulationConfig = Field(PopulationConfig(), description="the residents synthesised at the start")
    geography: GeographyConfig = Field(GeographyConfig(), description="how LSOAs are grouped into neighbourhoods")
    network: NetworkConfig = Field(NetworkConfig(), description="the social network between residents")
    time: TimeConfig = Field(TimeConfig(), description="the projection's start and length")
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


# --- areas a user names: local authorities and neighbourhoods, by id or name ----------------------------

class UnknownArea(ValueError):
    """An area a user named that this run does not have; the caller adds the flag or the file and field."""


_NEIGHBOURHOODS: dict[str, Any] = {}


def neighbourhood_table(cfg: ICSConfig):
    """Every neighbourhood of the ICS (id, name, locality, place, local_authority) from the geography
    alone, without synthesising residents (a fraction of a second): the table build_population lays out,
    whatever the scale or local authorities asked for (a test checks they agree)."""
    import numpy as np
    import pandas as pd

    from .population import sources
    from .population.geography import build_geography
    from .population.migration import snpp_at

    source = cfg.source or str(default_config_path())
    key = f"{cfg.geography.model_dump_json()}|{cfg.population.start_date.year}|{source}"
    if key in _NEIGHBOURHOODS:
        return _NEIGHBOURHOODS[key]
    las = list(LOCAL_AUTHORITIES)
    raw = sources.read("population")
    raw = raw[raw["lad19_name"].isin(las)].reset_index(drop=True)
    # as population/synth.py: published mid-2020 residents of each LSOA (every age, 90+ included), scaled
    # to the ONS projection's total of its LA at the start year's mid-year
    published = raw[[f"age_{a}" for a in range(90)] + ["age_90plus"]].to_numpy(float).sum(axis=1)
    la_of_row = raw["lad19_name"].map({la: i for i, la in enumerate(las)}).to_numpy()
    mid_year = dt.date(cfg.population.start_date.year, 6, 30)
    la_total = np.array([snpp_at(la, mid_year, source).sum() for la in las])
    lsoa_total = pd.Series(published * (la_total / np.bincount(la_of_row, weights=published))[la_of_row],
                           index=raw["lsoa11_code"])
    geo = build_geography(cfg.geography, lsoa_total, las, source)
    table = geo.neighbourhoods[["id", "name", "locality", "place"]].copy()
    table["local_authority"] = table["id"].map(geo.lsoas.groupby("neighbourhood")["lad19_name"].first())
    _NEIGHBOURHOODS.clear()
    _NEIGHBOURHOODS[key] = table
    return table


def _listing(rows) -> str:
    return ", ".join(f"{r.id} ({r.name})" for r in rows.itertuples())


def resolve_neighbourhoods(cfg: ICSConfig, items: list[int | str]) -> list[int]:
    """Neighbourhood ids from ids or names (any case; the name without its locality, e.g. 'Amington &
    Spital', when only one has it). Raises UnknownArea naming every item that is unknown, ambiguous or
    outside the configuration's local authorities, with this run's neighbourhoods."""
    table = neighbourhood_table(cfg)
    las = [la for la in LOCAL_AUTHORITIES if la in (cfg.population.local_authorities or LOCAL_AUTHORITIES)]
    here = table[table["local_authority"].isin(las)]
    full = {_area_key(n): int(i) for i, n in zip(table["id"], table["name"], strict=True)}
    short: dict[str, list[int]] = {}
    for i, n in zip(table["id"], table["name"], strict=True):
        short.setdefault(_area_key(str(n).partition(": ")[2] or n), []).append(int(i))
    ids, problems, unknown_ids, unknown_names = [], [], [], []
    for item in items:
        text = str(item).strip()
        if isinstance(item, int) or text.isdigit():
            nid: int | None = int(text) if int(text) in set(table["id"]) else None
        elif _area_key(text) in full:
            nid = full[_area_key(text)]
        elif len(short.get(_area_key(text), [])) == 1:
            nid = short[_area_key(text)][0]
        elif short.get(_area_key(text)):
            problems.append(f"{text!r} is more than one neighbourhood (give the full name or the id: "
                            f"{_listing(table[table['id'].isin(short[_area_key(text)])])})")
            continue
        else:
            nid = None
        if nid is None:
            (unknown_ids if isinstance(item, int) or text.isdigit() else unknown_names).append(text)
        elif nid not in set(here["id"]):
            row = table[table["id"] == nid].iloc[0]
            problems.append(f"neighbourhood {nid} ({row['name']}) is in {row['local_authority']}, not in this "
                            f"run's local authorit{'y' if len(las) == 1 else 'ies'} ({', '.join(las)})")
        else:
            ids.append(nid)
    if unknown_names:
        problems.insert(0, f"unknown neighbourhood{'s' if len(unknown_names) > 1 else ''} "
                           f"{', '.join(map(repr, unknown_names))}")
    if unknown_ids:
        problems.insert(0, f"unknown ids [{', '.join(unknown_ids)}]")
    if problems:
        raise UnknownArea(f"{'; '.join(problems)}; this run's neighbourhoods (id or name, any case) are "
                          f"{_listing(here)}")
    return list(dict.fromkeys(ids))


def describe_area(cfg: ICSConfig, chosen: list[int] | None, n_neighbourhoods: int | None = None) -> str:
    """The area a run covered, as the console says it: 'Tamworth (local authority), 2 neighbourhoods',
    '1 neighbourhood: Tamworth: Amington & Spital' or 'the whole ICS (...), 26 neighbourhoods'. `chosen`:
    the neighbourhoods asked for (None: all of the local authorities'; their number `n_neighbourhoods`,
    counted from the geography when not given)."""
    las = [la for la in LOCAL_AUTHORITIES if la in (cfg.population.local_authorities or ())]
    if not chosen and n_neighbourhoods is None:
        table = neighbourhood_table(cfg)
        n_neighbourhoods = int(table["local_authority"].isin(las or LOCAL_AUTHORITIES).sum())
    if chosen:
        table = neighbourhood_table(cfg).set_index("id")
        names = [str(table.loc[i, "name"]) if i in table.index else str(i) for i in chosen]
        if len(names) == 1:
            return f"1 neighbourhood: {names[0]}"
        if len(names) <= 4:
            return f"{len(names)} neighbourhoods: {'; '.join(names)}"
        where = _and(las) if las and len(las) < len(LOCAL_AUTHORITIES) else f"the ICS ({cfg.name})"
        return f"{len(names)} neighbourhoods of {where} (ids {', '.join(map(str, chosen))})"
    count = f"{n_neighbourhoods} neighbourhood{'s' if n_neighbourhoods != 1 else ''}"
    if las and len(las) < len(LOCAL_AUTHORITIES):
        return f"{_and(las)} (local authorit{'y' if len(las) == 1 else 'ies'}), {count}"
    return f"the whole ICS ({cfg.name}), {count}"


def describe_sample(cfg: ICSConfig) -> str:
    """'' for every resident; else what a --scale sample's totals stand for."""
    scale = cfg.population.scale
    if scale >= 1:
        return ""
    pct = f"{scale * 100:.3g}%"
    if cfg.population.scale_up:
        return f"{pct} sample of residents; counts scaled up to all residents"
    return f"{pct} sample: totals are for the sample, not all residents"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
