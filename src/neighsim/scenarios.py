"""Scenario files (configs/scenarios/*.yaml): lists of interventions with their settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ICSConfig
from .errors import ConfigError


def load_scenarios(paths: list[str], cfg: ICSConfig) -> dict[str, Any]:
    """Read scenario files; the interventions package validates each entry. Scenarios are read together
    so that one may take the places of another (capacity: {same_as: NAME})."""
    try:
        from .interventions.scenario import load_scenario
    except ImportError:  # pragma: no cover - until intervention modules exist
        raise ConfigError(paths[0], None, "intervention modules are not available in this version") from None
    from .interventions.capacity import resolve_same_as

    out: dict[str, Any] = {}
    for p in paths:
        sc = load_scenario(Path(p), cfg)
        if sc.name in out or sc.name == "baseline":
            raise ConfigError(p, "name", f"scenario name {sc.name!r} is used twice (or is 'baseline')")
        out[sc.name] = sc
    return resolve_same_as(out)  # `capacity: {same_as: X}` needs X, one of these scenarios
