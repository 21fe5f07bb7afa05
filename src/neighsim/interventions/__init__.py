"""Intervention modules: a base interface, a registry (with plug-ins), scenario files, and the four
built-in packages (health_checks, tobacco, warm_homes, falls_pathway). See docs/interventions.md."""

from __future__ import annotations

from .base import Delivery, Effect, Intervention, Modifier, Option, Targeting
from .registry import available, get, register
from .rules import Rule, RuleError

__all__ = ["Delivery", "Effect", "Intervention", "Modifier", "Option", "Rule", "RuleError", "Targeting",
           "available", "get", "register", "load_scenario", "parse_scenario", "Scenario"]


def __getattr__(name: str):
    if name in ("load_scenario", "parse_scenario", "Scenario"):
        from . import scenario

        return getattr(scenario, name)
    raise AttributeError(name)
