"""Experiment files (experiments/*.yaml): what to compare, how many replicates, PSA, where to write."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import ICSConfig, load_config, read_yaml, validation_to_config_error
from ..errors import ConfigError
from ..interventions.schema import NAME_PATTERN
from ..paths import project_root


class ExperimentSpec(BaseModel):
    """An experiment file (experiments/*.yaml): what to compare, how often, where to write."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="short name (letters, digits, _ . -); default folder out/NAME")
    description: str = ""
    config: str | None = Field(None, description="ICS configuration file (default configs/ics.yaml)")
    scenarios: list[str] = Field(default_factory=list, max_length=50,
                                 description="scenario files, relative to the project or to this file")
    comparator: str = Field("baseline", description="'baseline' or the name of one of the scenarios")
    replicates: int = Field(10, ge=1, le=100_000, strict=True)
    psa: bool = Field(False, description="draw parameters from their distributions, one draw per replicate")
    seed: int | None = Field(None, ge=0, lt=2**63, strict=True)
    scale: float | None = Field(None, ge=0.001, le=1)
    local_authorities: list[str] | None = Field(None, min_length=1)
    neighbourhoods: list[int] | None = Field(None, min_length=1)
    chunk: int | None = Field(None, ge=1, le=10_000, description="neighbourhoods per task (default: all in one)")
    backend: Literal["processes", "serial", "ray"] = Field(
        "processes", description="worker processes on this machine, this process only, or Ray")
    address: str | None = Field(None, description="HOST:PORT of an existing Ray cluster (with backend: ray)")
    workers: int | None = Field(None, ge=1, le=4096)
    out: str | None = Field(None, description="output folder (default out/NAME)")


def _resolve(p: str, base: Path) -> Path:
    q = Path(p)
    if q.is_absolute():
        return q
    for root in (project_root(), base):
        if (root / q).exists():
            return root / q
    return project_root() / q


def load_experiment(path: str | Path) -> tuple[ExperimentSpec, ICSConfig, dict[str, Any]]:
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
    if spec.local_authorities is not None:
        pop["local_authorities"] = spec.local_authorities
    overrides: dict[str, Any] = {"population": pop} if pop else {}
    if spec.seed is not None:
        overrides["seed"] = spec.seed
    cfg_path = _resolve(spec.config, p.parent) if spec.config else None
    try:
        cfg = load_config(cfg_path, **overrides)
    except ConfigError as exc:  # a value this file set is blamed on this file
        mine = {"population.scale": "scale", "population.local_authorities": "local_authorities", "seed": "seed"}
        if exc.field in mine:
            raise ConfigError(str(p), mine[exc.field], exc.message) from None
        raise
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
