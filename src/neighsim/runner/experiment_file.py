"""Experiment files (experiments/*.yaml): what to compare, how many replicates, PSA, where to write.

Every key is described in docs/experiments.md and in the published schema
(docs/schemas/experiment.schema.json, generated from ExperimentSpec below). `neighsim experiment FILE`
takes the same flags as `neighsim run` for the area, sample, seed, horizon and replicates, which
override the file's keys; the manifest records the values the run used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import (
    LA_CHOICES,
    ICSConfig,
    UnknownArea,
    load_config,
    read_yaml,
    resolve_neighbourhoods,
    validation_to_config_error,
)
from ..errors import ConfigError
from ..interventions.schema import NAME_PATTERN
from ..paths import project_root


class ExperimentSpec(BaseModel):
    """An experiment file (experiments/*.yaml): what to compare, how often, where to write
    (docs/experiments.md)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="short name of the experiment (letters, digits, _ . -, "
                                                        "at most 64); the default output folder is out/NAME")
    description: str = Field("", description="one line on what the experiment compares (reports print it)")
    config: str | None = Field(None, description="ICS configuration file, relative to the project or to this "
                                                 "file (default configs/ics.yaml); --config overrides it")
    scenarios: list[str] = Field(default_factory=list, max_length=50,
                                 description="scenario files, relative to the project or to this file (none: the "
                                             "baseline alone); the baseline is always run too")
    comparator: str = Field("baseline", description="what differences are taken against: 'baseline' or the name "
                                                    "of one of the scenarios")
    replicates: int = Field(10, ge=1, le=100_000, strict=True,
                            description="replicates of every scenario, 1 to 100,000 (with psa: the number of "
                                        "parameter draws); --replicates or --psa N overrides it")
    psa: bool = Field(False, description="probabilistic sensitivity analysis: every uncertain parameter drawn "
                                         "from its distribution, one draw per replicate, shared by the scenarios "
                                         "of that replicate; --psa N sets it with N replicates")
    seed: int | None = Field(None, ge=0, lt=2**63, strict=True,
                             description="master seed, 0 to 2^63-1 (default: the configuration's); --seed "
                                         "overrides it")
    scale: float | None = Field(None, ge=0.001, le=1,
                                description="fraction of residents to synthesise, 0.001 to 1 (default: the "
                                            "configuration's, 1); below 1 the totals are the sample's unless "
                                            "scale_up; --scale overrides it")
    scale_up: bool = Field(False, description="with scale below 1: multiply the summary's counts, costs and "
                                              "QALYs by 1/scale so the sample stands for every resident; "
                                              "--scale-up sets it")
    years: int | None = Field(None, ge=1, le=20, strict=True,
                              description="projection horizon in whole years, 1 to 20 (default: the "
                                          "configuration's, 5); --years overrides it")
    local_authorities: list[str] | None = Field(
        None, min_length=1, description="restrict the run to these local authorities, by name in any case "
                                        f"(default: all nine): {LA_CHOICES}; --la overrides it")
    neighbourhoods: list[int | str] | None = Field(
        None, min_length=1, description="restrict the run to these neighbourhoods, by id or name in any case "
                                        "(`neighsim population` lists them), within local_authorities; "
                                        "--neighbourhoods overrides it")
    chunk: int | None = Field(None, ge=1, le=10_000, description="neighbourhoods per task (default: all in one); "
                                                                 "--chunk overrides it")
    backend: Literal["processes", "serial", "ray"] = Field(
        "processes", description="where tasks run: worker processes on this machine, this process only, or Ray; "
                                 "--backend overrides it")
    address: str | None = Field(None, description="HOST:PORT of an existing Ray cluster (with backend: ray); "
                                                  "--address overrides it")
    workers: int | None = Field(None, ge=1, le=4096, description="worker processes, or local Ray workers "
                                                                 "(default: all cores); --workers overrides it")
    out: str | None = Field(None, description="output folder (default out/NAME); --out overrides it")


def _resolve(p: str, base: Path) -> Path:
    q = Path(p)
    if q.is_absolute():
        return q
    for root in (project_root(), base):
        if (root / q).exists():
            return root / q
    return project_root() / q


def _merge(a: dict[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """b over a, one level of nesting (population, time) merged key by key."""
    out = dict(a)
    for key, val in b.items():
        out[key] = {**out[key], **val} if isinstance(val, dict) and isinstance(out.get(key), dict) else val
    return out


def load_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None, *, config: str | None = None,
                    neighbourhoods: bool = True) -> tuple[ExperimentSpec, ICSConfig, dict[str, Any]]:
    """Read and check an experiment file; returns (spec, configuration, scenarios by name).

    `overrides`: configuration overrides from the command line (the ones `neighsim run` makes from --seed,
    --scale, --la, --years, --parameters), applied over this file's keys; `config`: a configuration file
    instead of the file's `config`. The spec's neighbourhoods come back as ids, names resolved within the
    run's local authorities, unless `neighbourhoods` is False (the command line gives its own)."""
    from ..scenarios import load_scenarios

    p = Path(path)
    raw = read_yaml(p)
    if not isinstance(raw, dict):
        raise ConfigError(str(p), None, "expected a mapping (name, scenarios, replicates, ...)")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise validation_to_config_error(p, exc) from None
    pop: dict[str, Any] = {}
    if spec.scale is not None:
        pop["scale"] = spec.scale
    if spec.scale_up:
        pop["scale_up"] = True
    if spec.local_authorities is not None:
        pop["local_authorities"] = spec.local_authorities
    mine: dict[str, Any] = {"population": pop} if pop else {}
    if spec.seed is not None:
        mine["seed"] = spec.seed
    if spec.years is not None:
        mine["time"] = {"months": 12 * spec.years}
    cfg_path = Path(config) if config else _resolve(spec.config, p.parent) if spec.config else None
    try:
        cfg = load_config(cfg_path, **_merge(mine, overrides or {}))
    except ConfigError as exc:  # a value this file set is blamed on this file
        keys = {"population.scale": "scale", "population.local_authorities": "local_authorities", "seed": "seed",
                "population.scale_up": "scale_up", "time.months": "years"}
        if exc.field in keys:
            raise ConfigError(str(p), keys[exc.field], exc.message) from None
        raise
    if neighbourhoods and spec.neighbourhoods is not None:
        try:
            ids = resolve_neighbourhoods(cfg, spec.neighbourhoods)
        except UnknownArea as exc:
            flag = "local_authorities" in (overrides or {}).get("population", {})
            raise ConfigError(str(p), "neighbourhoods", str(exc) + ("; --la replaced the file's local_authorities: "
                                                                     "give --neighbourhoods too" if flag else "")
                              ) from None
        spec = spec.model_copy(update={"neighbourhoods": ids})
    files = []
    for i, s in enumerate(spec.scenarios):
        f = _resolve(s, p.parent)
        if not f.is_file():
            raise ConfigError(str(p), f"scenarios[{i}]", f"scenario file not found: {s}")
        files.append(str(f))
    scenarios = load_scenarios(files, cfg) if files else {}
    if spec.comparator != "baseline" and spec.comparator not in scenarios:
        raise ConfigError(str(p), "comparator", f"{spec.comparator!r} is neither 'baseline' nor one of the "
                                                f"scenarios {sorted(scenarios)}")
    return spec, cfg, scenarios
