"""Fair comparisons in the report: the places, participants and money each area got, per scenario and
intervention, and a warning when compared scenarios deliver very different amounts.

Two scenarios that share an intervention type are compared area by area (the report's whole area and
each place): when participants or intervention cost differ by more than THRESHOLD (the larger more
than 20% above the smaller), a warning names both scenarios, the area and the two figures, and
suggests `capacity: {same_as: ...}` or per-area capacity. Figures under a noise floor (fewer than
MIN_PARTICIPANTS participants, less than MIN_COST pounds in both) are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import pandas as pd

from ..wording import say
from .data import RunData
from .labels import fmt, fmt_interval, scenario_label

THRESHOLD = 0.20
MIN_PARTICIPANTS = 10.0
MIN_COST = 1000.0
MEASURES = ("places", "participants", "cost")


@dataclass(frozen=True)
class Service:
    """One intervention of one scenario, as the manifest describes it."""

    scenario: str
    name: str
    type: str
    limited: bool
    how: str
    same_as: str | None = None


def compared_scenarios(d: RunData) -> list[str]:
    """The comparator (when it is a scenario) and the scenarios; a package's subsets ('~') are left out:
    they hold the package's own settings."""
    out = ([d.comparator] if d.comparator != "baseline" else []) + list(d.scenarios)
    return [s for s in out if "~" not in s]


def services(d: RunData) -> list[Service]:
    specs = d.manifest.get("scenarios") or {}
    out = []
    for sc in compared_scenarios(d):
        spec = specs.get(sc) if isinstance(specs.get(sc), dict) else {}
        for iv in spec.get("interventions", []) or []:
            if isinstance(iv, dict) and iv.get("name"):
                cap = iv.get("capacity_per_year")
                how = iv.get("capacity_set") or say("fair_places_set_as", capacity=None if cap is None else fmt(cap))
                out.append(Service(sc, str(iv["name"]), str(iv.get("type") or iv["name"]), cap is not None, how,
                                   iv.get("same_as")))
    return out


def areas(d: RunData) -> list[tuple[str, str]]:
    """(level, area): each place in the run, and the whole area when there is more than one place."""
    places = sorted(set(d.rows(level="place", stratum="all", measure="value", period=d.whole)["area"]))
    return ([("ics", d.ics_area)] if len(places) != 1 else []) + [("place", p) for p in places]


def _get(d: RunData, sc: str, outcome: str, level: str, area: str) -> pd.Series | None:
    return d.one(sc, outcome, "value", d.whole, level, area, "all")


def delivered(d: RunData) -> pd.DataFrame:
    """Places, participants and cost (mean, lower, upper) by scenario, intervention and area, over the
    whole horizon. Places are NaN where capacity is unlimited; a missing count is 0."""
    return d.cached("fair_delivered", lambda: _delivered(d))


def _delivered(d: RunData) -> pd.DataFrame:
    rows = []
    for s in services(d):
        for level, area in areas(d):
            row = {"scenario": s.scenario, "intervention": s.name, "type": s.type, "level": level, "area": area,
                   "how": s.how}
            for m in MEASURES:
                r = _get(d, s.scenario, f"{s.name}_{m}", level, area)
                zero = 0.0 if (m != "places" or s.limited) else float("nan")
                row.update({f"{m}_{k}": (float(r[k]) if r is not None else zero) for k in ("mean", "lower", "upper")})
            rows.append(row)
    cols = ["scenario", "intervention", "type", "level", "area", "how"] + [
        f"{m}_{k}" for m in MEASURES for k in ("mean", "lower", "upper")]
    return pd.DataFrame(rows, columns=cols)


def _differ(a: float, b: float, floor: float) -> bool:
    lo, hi = sorted((a, b))
    return hi >= floor and (lo <= 0 or hi > lo * (1 + THRESHOLD))


def warnings(d: RunData) -> list[str]:
    """One sentence per pair of scenarios that share an intervention type and deliver very different
    participants or money in an area."""
    t = delivered(d)
    if t.empty:
        return []
    by = t.groupby(["scenario", "type", "level", "area"], sort=False)[
        ["places_mean", "participants_mean", "cost_mean"]].sum(min_count=1)
    out = []
    for a, b in combinations(compared_scenarios(d), 2):
        shared = sorted(set(t.loc[t["scenario"] == a, "type"]) & set(t.loc[t["scenario"] == b, "type"]))
        for typ in shared:
            found = []
            for level, area in areas(d):
                x, y = by.loc[(a, typ, level, area)], by.loc[(b, typ, level, area)]
                if not (_differ(x["participants_mean"], y["participants_mean"], MIN_PARTICIPANTS)
                        or _differ(x["cost_mean"], y["cost_mean"], MIN_COST)):
                    continue
                found.append(_difference(area, x, y))
            if found:
                out.append(_sentence(d, a, b, typ, found))
    return out


def _difference(area: str, x: pd.Series, y: pd.Series) -> str:
    """What two scenarios delivered in an area: participants, places (when both are limited) and cost."""
    places = pd.notna(x["places_mean"]) and pd.notna(y["places_mean"])
    return say("fair_difference", area=area,
               participants=[fmt(x["participants_mean"], digits=0), fmt(y["participants_mean"], digits=0)],
               places=[fmt(x["places_mean"], digits=0), fmt(y["places_mean"], digits=0)] if places else None,
               cost=[fmt(x["cost_mean"], True, 0), fmt(y["cost_mean"], True, 0)])


def _suggestion(d: RunData, a: str, b: str, typ: str) -> tuple[str, str]:
    """(the scenario whose places to copy, the scenario to change): keep a place source one of them already
    copies, else the comparator's, else the first's."""
    origin = {(s.scenario, s.type): s.same_as for s in services(d) if s.same_as}
    for x, y in ((a, b), (b, a)):
        o = origin.get((y, typ))
        if o and o != x:
            return o, x
    return (b, a) if b == d.comparator else (a, b)


def _sentence(d: RunData, a: str, b: str, typ: str, found: list[str]) -> str:
    ref, other = _suggestion(d, a, b, typ)
    return say("fair_unequal_delivery", first=scenario_label(a), second=scenario_label(b), type=typ, whole=d.whole,
               threshold=f"{THRESHOLD:.0%}", differences=found, copy_from=ref, change=other)


def capacity_words(d: RunData, scenario: str, name: str) -> str:
    """What an intervention's places were in this run, area by area, and how they were set."""
    t = delivered(d)
    t = t[(t["scenario"] == scenario) & (t["intervention"] == name)]
    if t.empty:
        return ""
    how = str(t["how"].iloc[0])
    if t["places_mean"].isna().all():
        return say("fair_capacity_words", how=how)
    got = "; ".join(f"{r.area} {fmt(r.places_mean, digits=0)}" for r in t.itertuples() if r.level == "place")
    return say("fair_capacity_words", how=how, whole=d.whole, got=got)


def table_rows(d: RunData) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the report's table of places, participants and money by area."""
    t = delivered(d)
    header = ["Scenario", "Intervention", "Places set as", "Area", "Places", "Participants", "Intervention cost"]
    rows, seen = [], set()
    for r in t.itertuples():
        first = (r.scenario, r.intervention) not in seen
        seen.add((r.scenario, r.intervention))
        places = "unlimited" if pd.isna(r.places_mean) else _cell(r.places_mean, r.places_lower, r.places_upper)
        rows.append([scenario_label(r.scenario) if first else "", r.intervention if first else "",
                     r.how if first else "", r.area, places,
                     _cell(r.participants_mean, r.participants_lower, r.participants_upper),
                     _cell(r.cost_mean, r.cost_lower, r.cost_upper, True)])
    return header, rows


def _cell(mean: float, lower: float, upper: float, money: bool = False) -> str:
    """A whole-number figure, with its interval only where replicates differ (places usually do not)."""
    if abs(upper - lower) < 0.5:
        return fmt(mean, money, 0)
    return fmt_interval(mean, lower, upper, money, 0)
