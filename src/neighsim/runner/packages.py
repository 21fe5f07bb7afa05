"""A package's subsets as scenarios of the run, so that what each intervention contributes can be read.

A subset scenario holds the package's own InterventionSpec objects (same names, so the same random
streams) less the others: the subset {x} of a package is, result for result, the run of x alone with
the same settings, and every difference between two subsets is paired by replicate (common random
numbers). Subsets are named `<package>~<a>+<b>`; '~' and '+' are not allowed in a scenario's own name,
so they cannot collide with a user's scenario, and both are safe in the task files' names.

A subset whose interventions are, setting for setting, those of a scenario the user also runs (the
single-intervention files beside a package) is not run twice: its v(S) is read from that scenario.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from ..errors import NeighsimError
from ..interventions.contributions import Contributions, resolve_contributions

SEP, JOIN = "~", "+"
MAX_NAME = 150  # longer subset names use positions (task files are named after their scenario)


@dataclass(frozen=True)
class Plan:
    """One package: its waterfall order, whether Shapley values are wanted, and the scenario that
    holds v(S) for each subset S it needs (keys: members joined by '+', in the package's order)."""

    package: str
    interventions: tuple[str, ...]  # the package's own order (the file's)
    order: tuple[str, ...]  # the waterfall's order
    shapley: bool
    scenario_of: dict[str, str]

    def key(self, members: Iterable[str]) -> str:
        m = set(members)
        return JOIN.join(n for n in self.interventions if n in m)

    def scenario_for(self, members: Iterable[str]) -> str:
        """The scenario whose runs are v(S) + baseline: 'baseline' for none, the package for all."""
        m = set(members)
        if not m:
            return "baseline"
        if m == set(self.interventions):
            return self.package
        return self.scenario_of[self.key(m)]

    def describe(self) -> dict[str, Any]:
        return {"interventions": list(self.interventions), "order": list(self.order), "shapley": self.shapley,
                "subsets": dict(self.scenario_of)}


def needed_subsets(names: tuple[str, ...], order: tuple[str, ...], shapley: bool) -> list[tuple[str, ...]]:
    """Non-empty proper subsets to run, members in the package's order: all 2^k - 2 for Shapley values;
    otherwise the waterfall's prefixes and each intervention alone (for the interaction term)."""
    k = len(names)
    if shapley:
        picks = [set(c) for r in range(1, k) for c in combinations(names, r)]
    else:
        picks = [set(order[:i]) for i in range(1, k)] + [{n} for n in names]
    out: list[tuple[str, ...]] = []
    for p in picks:
        t = tuple(n for n in names if n in p)
        if t not in out:
            out.append(t)
    return out


def subset_name(package: str, names: tuple[str, ...], members: tuple[str, ...]) -> str:
    name = f"{package}{SEP}{JOIN.join(members)}"
    if len(name) <= MAX_NAME:
        return name
    return f"{package}{SEP}{JOIN.join(str(names.index(m) + 1) for m in members)}"


def _settings(spec: Any) -> str:
    """What determines an intervention's results, for finding a scenario identical to a subset: its
    resolved description with the module's option defaults filled in."""
    from ..interventions import registry

    d = dict(spec.describe())
    d.pop("description", None)
    try:
        cls = registry.get(spec.type)
        d["options"] = {**{k: o.default for k, o in cls.options_spec.items()}, **d.get("options", {})}
    except KeyError:
        pass
    return json.dumps(d, sort_keys=True, default=str)


def expand(scenarios: dict[str, Any], flag: bool = False) -> tuple[dict[str, Any], dict[str, Plan]]:
    """The run's scenarios with each package's subset scenarios added (after the user's), and a Plan per
    package. `flag` (--contributions) asks for contributions of every scenario of 2+ interventions."""
    plans: dict[str, Plan] = {}
    out = dict(scenarios)
    own = {name: tuple(_settings(s) for s in getattr(sc, "specs", ())) for name, sc in scenarios.items()}
    by_settings = {v: k for k, v in reversed(list(own.items())) if v}
    for name, sc in scenarios.items():
        specs = tuple(getattr(sc, "specs", ()))
        contrib: Contributions | None = getattr(sc, "contributions", None)
        if contrib is None and flag and len(specs) >= 2 and dataclasses.is_dataclass(sc):
            contrib = resolve_contributions(True, [s.name for s in specs], getattr(sc, "file", name),
                                            "interventions (with --contributions)")
            out[name] = sc = dataclasses.replace(sc, contributions=contrib)
        if contrib is None:
            continue
        names = tuple(s.name for s in specs)
        scenario_of: dict[str, str] = {}
        for members in needed_subsets(names, contrib.order, contrib.shapley):
            sub_specs = tuple(s for s in specs if s.name in members)
            same = by_settings.get(tuple(_settings(s) for s in sub_specs))
            if same is not None and same != name:
                scenario_of[JOIN.join(members)] = same
                continue
            sub = subset_name(name, names, members)
            if sub in out:
                raise NeighsimError(f"two packages would run a subset called {sub!r}; give the packages distinct names")
            out[sub] = dataclasses.replace(
                sc, name=sub, specs=sub_specs, contributions=None, subset_of=name,
                description=f"subset of {name} for its contributions: {', '.join(members)}")
            scenario_of[JOIN.join(members)] = sub
        plans[name] = Plan(name, names, contrib.order, contrib.shapley, scenario_of)
    return out, plans


def subsets(plans: dict[str, Plan]) -> dict[str, dict[str, Any]]:
    """Subset scenarios this run adds (not the user's scenarios they may be read from), for the manifest."""
    out: dict[str, dict[str, Any]] = {}
    for p in plans.values():
        for key, sc in p.scenario_of.items():
            if sc.startswith(p.package + SEP):
                out[sc] = {"package": p.package, "members": key.split(JOIN)}
    return out
