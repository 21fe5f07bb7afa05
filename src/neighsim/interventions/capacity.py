"""Capacity and budget per area, and "the same places as scenario X": fair comparisons of places and money.

A scenario entry's places come in one of four ways (docs/interventions.md, "Capacity, budget and fair
comparisons"):

    capacity: 6000                                            # a year, whole ICS at full scale
    capacity: {per: place, places: {Stoke-on-Trent: 2000, Staffordshire: 4000}}
    budget: 1800000                                           # or {per: ..., pounds: {...}}: places =
                                                              # pounds / the per_participant cost
    capacity: {same_as: falls_pathway}                        # the places of that scenario's intervention
                                                              # of the same name, neighbourhood by month

Per-area values are divided between each area's neighbourhoods by the module's eligible-resident shares,
so capacity always reduces to a total a year and neighbourhood shares of it (the one formula of
`Intervention.places`): copying another scenario's total, shares and schedule gives bitwise the same
places. Every month the places each neighbourhood gets are recorded as '<name>_places'.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, NeighsimError, warn
from ..processes.plan import PERSON_MONTHS
from ..recorder import N_BANDS, N_DECILES, N_SEXES

if TYPE_CHECKING:  # pragma: no cover
    from .base import Intervention

PLACES = "places"  # the measure '<name>_places'


# --- in the model ------------------------------------------------------------------------------------------
def _month(t0: dt.date, d: dt.date) -> int:
    return (d.year - t0.year) * 12 + (d.month - t0.month)


def place_window(iv: Intervention, t0: dt.date) -> tuple[int, int | None, int]:
    """(first month, end month or None, ramp months) of the places: the module's own delivery, or the
    schedule of the scenario whose places it copies."""
    d = iv.delivery
    if d.same_as is not None and d.capacity is None:
        raise NeighsimError(f"{iv.name}: capacity {{same_as: {d.same_as}}} is resolved when scenarios are loaded "
                            "together (neighsim run / experiment, or neighsim.scenarios.load_scenarios); "
                            "load that scenario in the same run")
    if d.schedule is None:
        return iv.start_t, iv.end_t, d.ramp_months
    start, end, ramp = d.schedule
    return (_month(t0, start) if start else 0), (_month(t0, end) if end else None), int(ramp)


def _stratum_mask(iv: Intervention, model: Any) -> np.ndarray:
    """[neighbourhood, decile, sex, age band] -> targeted (by deciles and areas): where places are counted."""
    t = iv.delivery.targeting
    nbs = model.neighbourhoods
    area = np.ones(len(nbs), dtype=bool)
    if t.neighbourhoods is not None or t.localities is not None:
        loc = np.array([model.cohort.locality[model.initial_blocks[n][0]] for n in nbs])
        area = np.isin(nbs, t.neighbourhoods or ()) | np.isin(loc, t.localities or ())
    dec = np.ones(N_DECILES, dtype=bool) if t.deciles is None else np.isin(np.arange(1, N_DECILES + 1), t.deciles)
    return area[:, None, None, None] & dec[None, :, None, None] & np.ones((1, 1, N_SEXES, N_BANDS), dtype=bool)


def record_places(iv: Intervention, model: Any) -> None:
    """Record this month's places per neighbourhood as '<name>_places', spread over the strata of the
    targeted residents alive at the start of the month (so places sum exactly by area, and Core20 rows
    hold the places of Core20 targeting)."""
    places = np.array([iv.places(model.t, n) or 0 for n in model.neighbourhoods], dtype=float)
    if not places.any():
        return
    mask = getattr(iv, "_place_mask", None)
    if mask is None or mask.shape[0] != len(model.neighbourhoods):
        mask = iv._place_mask = _stratum_mask(iv, model)
    rec = model.recorder
    pm = rec.row(PERSON_MONTHS.name).reshape(mask.shape)
    w = np.where(mask, pm, 0.0)
    tot = w.sum(axis=(1, 2, 3))
    none = tot == 0  # nobody targeted alive there now: count the places on everybody
    w[none] = pm[none]
    tot[none] = pm[none].sum(axis=(1, 2, 3))
    ok = tot > 0
    add = np.zeros_like(w)
    add[ok] = w[ok] * (places[ok] / tot[ok])[:, None, None, None]
    rec.row(f"{iv.name}_{PLACES}")[:] += add.ravel()
    iv.totals[PLACES] += float(places[ok].sum())


# --- reading a scenario entry --------------------------------------------------------------------------------
def entry_capacity(ctx: Any, cls: Any, entry: Any, rule: Any, targeting: Any, costs: dict[str, Any],
                   pre: str) -> dict[str, Any]:
    """Delivery fields for an entry's capacity or budget: capacity (a year, whole ICS at full scale),
    shares (eligible residents, for fixed costs and whole-ICS capacity), capacity_shares (per-area),
    capacity_note (how it was set, for reports) and same_as (resolved later, resolve_same_as)."""
    from .base import resolve

    cap, budget = entry.capacity, entry.budget
    if cap is not None and budget is not None:
        ctx.fail(f"{pre}.budget", "give either capacity or budget, not both (places = budget / the "
                                  "per_participant cost)")
    fixed = costs.get("fixed_per_year", 0.0)
    out: dict[str, Any] = {"capacity": None, "shares": None}
    if cap is None and budget is None and not (isinstance(fixed, str) or fixed > 0):
        return out
    shares = out["shares"] = cls.compute_shares(ctx.population().cohort, rule, targeting)
    if cap is None and budget is None:
        return out
    if hasattr(cap, "same_as"):
        out.update(same_as=cap.same_as.strip(), capacity_note=f"same places as {cap.same_as.strip()}")
        return out
    unit = 1.0
    what, fld = "places", f"{pre}.capacity"
    if budget is not None:
        item = costs.get("per_participant", cls.cost_spec.get("per_participant"))
        unit = resolve(item, ctx.params) if item is not None else 0.0
        if "per_participant" not in costs:  # the default parameter, in the prices the module charges
            unit *= cls.price_factor(ctx.params)
        fld = f"{pre}.budget"
        if unit <= 0:
            ctx.fail(fld, "places = budget / the per_participant cost, but this module's per_participant cost is 0; "
                          "give cost.per_participant or use capacity")
        cap, what = budget, "pounds"
    if isinstance(cap, int | float):
        places = float(cap) / unit
        if places == 0:
            ctx.warn(fld, f"{'budget' if budget is not None else 'capacity'} 0 serves nobody: the intervention "
                          "does nothing")
        note = (f"{places:,.0f} a year for the whole ICS" if budget is None else
                f"budget £{float(cap):,.0f} a year at £{unit:,.2f} per participant = {places:,.1f} places a year")
        out.update(capacity=places, capacity_note=note + ", shared by eligible residents")
        return out
    per_year, note = _by_area(ctx, cap.per, getattr(cap, what), shares, unit, f"{fld}.{what}", budget is not None)
    total = float(sum(per_year.values()))
    if total == 0:
        ctx.warn(fld, "no listed area has eligible, targeted residents to take its places: the intervention does nothing")
    out.update(capacity=total, capacity_shares={k: v / total for k, v in per_year.items()} if total else {},
               capacity_note=(note if budget is None else f"budget {note} at £{unit:,.2f} per participant"))
    return out


def _area_of_neighbourhoods(geo: Any, per: str) -> dict[int, Any]:
    nb = geo.neighbourhoods
    if per == "neighbourhood":
        return {int(i): int(i) for i in nb["id"]}
    if per == "locality":
        loc = dict(zip(geo.localities["name"], geo.localities["id"], strict=True))
        return {int(i): int(loc[n]) for i, n in zip(nb["id"], nb["locality"], strict=True)}
    return {int(i): str(p) for i, p in zip(nb["id"], nb["place"], strict=True)}


def _area_key(ctx: Any, per: str, key: int | str, fld: str) -> int | str:
    """An area name (any case) or id -> the id (neighbourhood, locality) or the place's name."""
    from .scenario import _resolve_areas

    if per != "place":
        return _resolve_areas(ctx, [key], fld, per)[0]
    places = sorted(set(ctx.population().geography.neighbourhoods["place"]))
    by_name = {p.casefold(): p for p in places}
    if not isinstance(key, str) or key.strip().casefold() not in by_name:
        ctx.fail(fld, f"unknown place {key!r}; places are given by name: {', '.join(places)} (any case)")
    return by_name[key.strip().casefold()]


def _by_area(ctx: Any, per: str, values: dict[Any, float], shares: dict[int, float], unit: float,
             fld: str, money: bool) -> tuple[dict[int, float], str]:
    """Places a year per neighbourhood from per-area values, each area's divided by its neighbourhoods'
    eligible-resident shares; unlisted areas get none (said), as do listed areas nobody there is eligible for."""
    geo = ctx.population().geography
    area_of = _area_of_neighbourhoods(geo, per)
    names = _area_names(geo, per)
    wanted: dict[Any, float] = {}
    given: dict[Any, float] = {}
    for key, v in values.items():
        a = _area_key(ctx, per, key, fld)
        if a in wanted:
            ctx.fail(fld, f"{names[a]!r} is listed twice")
        wanted[a] = float(v) / unit
        given[a] = float(v)
    out: dict[int, float] = {}
    for a, v in wanted.items():
        nbs = {n: s for n, s in shares.items() if area_of.get(n) == a}
        total = sum(nbs.values())
        if total <= 0 and v > 0:
            ctx.warn(fld, f"{names[a]} has no eligible, targeted residents: its {v:,.0f} places a year are not used")
            continue
        out.update({n: v * s / total for n, s in nbs.items() if s > 0})
    missed = sorted({names[area_of[n]] for n, s in shares.items() if s > 0 and area_of.get(n) not in wanted})
    if missed:
        ctx.warn(fld, f"areas not listed get no places: {', '.join(missed)}")
    text = "; ".join(f"{names[a]} {'£' if money else ''}{v:,.0f}" for a, v in given.items())
    return out, f"per {per}: {text} a year"


def _area_names(geo: Any, per: str) -> dict[Any, str]:
    if per == "place":
        return {p: p for p in set(geo.neighbourhoods["place"])}
    table = geo.neighbourhoods if per == "neighbourhood" else geo.localities
    return {int(i): str(n) for i, n in zip(table["id"], table["name"], strict=True)}


# --- the scenarios of a run together ---------------------------------------------------------------------------
def _find(ref: str, scenarios: dict[str, Any], referrer: Any) -> Any | None:
    """A scenario of the run by name, or by file (relative to the referring file or the working folder)."""
    if ref in scenarios:
        return scenarios[ref]
    here = Path(referrer.file).parent
    wanted = {str((base / ref).resolve()) for base in (here, Path.cwd())}
    for sc in scenarios.values():
        if str(Path(sc.file).resolve()) in wanted or Path(sc.file).name == ref:
            return sc
    return None


def resolve_same_as(scenarios: dict[str, Any]) -> dict[str, Any]:
    """The scenarios of one run with every `capacity: {same_as: X}` replaced by X's places: the capacity,
    neighbourhood shares and schedule (start, end, ramp) of X's intervention of the same name and type."""
    out = dict(scenarios)
    done: dict[tuple[str, int], Any] = {}

    def resolved(sc: Any, i: int, stack: tuple[tuple[str, int], ...]) -> Any:
        spec = sc.specs[i]
        d = spec.delivery
        if d.same_as is None or d.capacity is not None:
            return d
        key = (sc.name, i)
        if key in done:
            return done[key]
        fld = f"interventions[{i}].capacity.same_as"
        if key in stack:
            raise ConfigError(sc.file, fld, "'same_as' goes round in a circle: "
                                            + " -> ".join(f"{s}.{scenarios[s].specs[j].name}" for s, j in stack))
        x = _find(d.same_as, scenarios, sc)
        if x is None:
            raise ConfigError(sc.file, fld, f"scenario {d.same_as!r} is not in this run (its scenarios: "
                                            f"{', '.join(scenarios) or 'none'}); add its file to the run or "
                                            "experiment, or give the name of one of them")
        if x is sc:
            raise ConfigError(sc.file, fld, "a scenario cannot take its places from itself")
        j = next((k for k, s in enumerate(x.specs) if s.name == spec.name), None)
        if j is None:
            raise ConfigError(sc.file, fld, f"scenario {x.name!r} has no intervention named {spec.name!r} "
                                            f"(it has: {', '.join(s.name for s in x.specs)}); name both the same")
        if x.specs[j].type != spec.type:
            raise ConfigError(sc.file, fld, f"{spec.name!r} is a {x.specs[j].type} in scenario {x.name!r}, not a "
                                            f"{spec.type}: places of different services cannot be copied")
        xd = resolved(x, j, (*stack, key))
        if xd.capacity is None:
            raise ConfigError(sc.file, fld, f"{spec.name!r} in scenario {x.name!r} has no capacity (unlimited), so "
                                            "there are no places to copy; give it a capacity or budget")
        sched = xd.schedule if xd.schedule is not None else (xd.start, xd.end, xd.ramp_months)
        if sched != (d.start, d.end, d.ramp_months):

            warn(f"{sc.file}, field '{fld}': the places follow {x.name}'s start, end and ramp; this intervention "
                 "uses them only while its own delivery runs")
        note = f"same places as {x.name}" + (f" ({xd.capacity_note})" if xd.capacity_note else "")
        own = sched == (d.start, d.end, d.ramp_months)
        done[key] = dataclasses.replace(d, capacity=xd.capacity, schedule=None if own else sched, capacity_note=note,
                                        capacity_shares=xd.capacity_shares if xd.capacity_shares is not None
                                        else xd.shares)
        return done[key]

    for name, sc in scenarios.items():
        specs = tuple(dataclasses.replace(s, delivery=resolved(sc, i, ())) for i, s in enumerate(sc.specs))
        if any(a.delivery is not b.delivery for a, b in zip(specs, sc.specs, strict=True)):
            out[name] = dataclasses.replace(sc, specs=specs)
    return out


def place_settings(d: Any) -> dict[str, Any]:
    """What a scenario's describe() adds about its places (manifest, fingerprint, report): only what is set,
    so scenarios with a plain whole-ICS capacity describe themselves as before."""
    out: dict[str, Any] = {}
    if d.same_as is not None:
        out["same_as"] = d.same_as
    if d.capacity_shares is not None:
        out["capacity_shares"] = {str(k): round(v, 9) for k, v in d.capacity_shares.items()}
    if d.schedule is not None:
        start, end, ramp = d.schedule
        out["places_schedule"] = {"start": start.isoformat() if start else None,
                                  "end": end.isoformat() if end else None, "ramp_months": ramp}
    return out
