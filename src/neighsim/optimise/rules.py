"""Simple rules to compare the optimised allocation with, at the same money.

Each rule spends the same pounds on each intervention as the optimised allocation does (or the budget in
equal parts when the allocation buys nothing), and differs only in where: `everyone` gives every
neighbourhood places in proportion to its population, `core20` gives Core20 residents only places in
proportion to each neighbourhood's Core20 population, `need` in proportion to baseline emergency
admissions. The one factor (places per head, per Core20 resident or per admission) is found by bisection
so that the money the curves predict equals the intervention's money; a neighbourhood never gets more
than the most it could take.

Between 0 and the lowest measured level a curve follows its participants: places are all used at low
capacity (participants in proportion to places), and each figure changes with participants at the slope
it has across the measured levels. So a part that comes with any places (the falls pathway's medication
reviews and fracture liaison follow the targeting, not the places) is paid as soon as a neighbourhood is
targeted, while a service whose participants saturate (warm homes beyond the first year's backlog) is not
mistaken for one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..wording import say

RULES = ("everyone", "core20", "need")  # their words: opt_rule in templates/optimise.j2


@dataclass
class RuleAllocation:
    name: str
    label: str
    places: dict[str, dict[int, float]]  # intervention -> neighbourhood -> places a year (full scale)
    money: dict[str, float]  # predicted spend per intervention
    core20: bool = False
    predicted: pd.DataFrame | None = None  # each metric per replicate (rules with all residents only)
    notes: list[str] = field(default_factory=list)


def _slope(val: np.ndarray, part: np.ndarray) -> float:
    """d value / d participant across the measured levels (least squares), or value per participant."""
    if len(part) >= 2 and np.ptp(part) > 0:
        return float(np.polyfit(part, val, 1)[0])
    return float(val[0] / part[0]) if part[0] > 0 else 0.0


def start_and_slope(cap: np.ndarray, part: np.ndarray, val: np.ndarray) -> tuple[float, float]:
    """(the value as places fall to nothing, d value / d participant) below the lowest measured level: the
    line through the lowest level at the slope across levels, or through the origin where that line
    would start on the other side of zero or beyond the lowest level's value."""
    if part[0] <= 0:
        return 0.0, 0.0
    b = _slope(val, part)
    start = val[0] - b * part[0]
    if start * val[0] < 0 or abs(start) > abs(val[0]):
        return 0.0, float(val[0] / part[0])
    return float(start), b


def curve_at(p: float, cap: np.ndarray, part: np.ndarray, val: np.ndarray) -> float:
    """A curve measured at capacities `cap` (ascending, above 0) with participants `part` and values `val`, at
    `p` places a year: nothing at 0, linear between the measured levels, flat beyond the last, and below the
    first as the module docstring says."""
    if p <= 0 or len(cap) == 0:
        return 0.0
    if p >= cap[0]:
        return float(np.interp(p, cap, val))
    start, b = start_and_slope(cap, part, val)
    return float(start + b * part[0] * p / cap[0])


def _means(opts: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    o = opts.sort_values("capacity")
    return o["capacity"].to_numpy(float), o["participants"].to_numpy(float), o[col].to_numpy(float)


def _places(k: float, weights: np.ndarray, room: np.ndarray, smallest: float) -> np.ndarray:
    """min(k x weight, room), none where that is below the smallest delivery."""
    p = np.minimum(k * weights, room)
    return np.where((p >= smallest - 1e-9) & (weights > 0) & (room > 0), p, 0.0)


def _factor(cost_of, weights: np.ndarray, room: np.ndarray, money: float, smallest: float) -> tuple[float, str]:
    """The largest factor k (places = min(k x weight, room), none below `smallest`) whose predicted cost is
    at most `money`, and how it ended: 'full' (every neighbourhood at the most it could take), 'spent', or
    'over' (even the smallest delivery where the weight is largest costs more)."""
    def spend(k: float) -> float:
        return float(sum(cost_of(i, p) for i, p in enumerate(_places(k, weights, room, smallest)) if p > 0))

    pos = (weights > 0) & (room >= smallest)
    if not pos.any():
        return 0.0, "full"
    k_max = float((room[pos] / weights[pos]).max())
    if spend(k_max) <= money:
        return k_max, "full"
    k_min = min(smallest / float(weights[pos].max()), k_max)
    if spend(k_min) > money:
        return k_min, "over"
    lo, hi = k_min, k_max
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if spend(mid) <= money else (lo, mid)
    return lo, "spent"


def make_rules(options: pd.DataFrame, curves: pd.DataFrame, neighbourhoods: pd.DataFrame,
               spend: dict[str, float], core20_share: pd.DataFrame, cost: str, scale: float,
               years: float) -> list[RuleAllocation]:
    """The three rules at the money per intervention `spend`, with their predicted effect per replicate
    (from the curves; none for Core20 only, whose targeting the curves did not measure). A neighbourhood
    whose places would come to less than one place of the sample over the projection (1 / (scale x years)
    places a year at full scale) gets none: the sample could not deliver them."""
    nbh = neighbourhoods.set_index("neighbourhood")
    share = (core20_share.set_index(["intervention", "neighbourhood"])["core20_share"]
             if len(core20_share) else pd.Series(dtype=float))
    out = []
    for rule in RULES:
        label = say("opt_rule", rule=rule)
        ra = RuleAllocation(rule, label, {}, {}, core20=rule == "core20")
        for iv, money in spend.items():
            o = options[options["intervention"] == iv]
            nbs = sorted(int(n) for n in o["neighbourhood"].unique())
            if not nbs or money <= 0:
                continue
            col = {"everyone": "person_years", "need": "admissions", "core20": "core20_person_years"}[rule]
            w = nbh[col].reindex(nbs).fillna(0).to_numpy(float)
            tops, fns = [], []
            for n in nbs:
                cap, part, c = _means(o[o["neighbourhood"] == n], cost)
                c = np.maximum.accumulate(np.clip(c, 0.0, None))
                if rule == "core20":  # Core20 residents alone: their share of the places and of the fixed part
                    s = float(share.get((iv, n), 0.0))
                    start, b = start_and_slope(cap, part, c)
                    per_place = part[0] / cap[0] if cap[0] > 0 else 0.0
                    tops.append(s * cap[-1])
                    fns.append(lambda p, s=s, start=start, b=b, pp=per_place: s * start + b * pp * p if p > 0 else 0.0)
                else:
                    tops.append(cap[-1])
                    fns.append(lambda p, cap=cap, part=part, c=c: curve_at(p, cap, part, c))
            room = np.array(tops)
            smallest = 1.0 / (scale * years)
            k, how = _factor(lambda i, p, fns=fns: fns[i](p), w, room, money, smallest)
            places = _places(k, w, room, smallest)
            keep = places > 0
            ra.places[iv] = {n: float(p) for n, p, kp in zip(nbs, places, keep, strict=True) if kp}
            ra.money[iv] = float(sum(fns[i](places[i]) for i in range(len(nbs)) if keep[i]))
            if how == "over" or ra.money[iv] < 0.98 * money:
                ra.notes.append(say("opt_rule_note", rule=label, intervention=iv, how=how if how in ("over", "full")
                                    else "short", spent=f"{ra.money[iv]:,.0f}", money=f"{money:,.0f}",
                                    neighbourhoods=len(ra.places[iv])))
        if not ra.core20:
            ra.predicted = predict(curves, ra.places)
        out.append(ra)
    return out


def predict(curves: pd.DataFrame, places: dict[str, dict[int, float]]) -> pd.DataFrame:
    """Each metric per replicate for places given per intervention and neighbourhood, read off the curves
    (curve_at). Below the lowest level the shape comes from the mean curve (a replicate's own few points
    are too noisy to extrapolate), scaled to the replicate's value at the lowest level."""
    from .curves import METRICS

    reps = sorted(curves["replicate"].unique())
    total = pd.DataFrame(0.0, index=reps, columns=list(METRICS))
    for iv, by_nb in places.items():
        for n, p in by_nb.items():
            c = curves[(curves["intervention"] == iv) & (curves["neighbourhood"] == n)]
            if c.empty or p <= 0:
                continue
            mean = c.groupby("capacity")[list(METRICS)].mean().sort_index()
            cap = mean.index.to_numpy(float)
            part = mean["participants"].to_numpy(float)
            for m in METRICS:
                v = mean[m].to_numpy(float)
                at_mean = curve_at(p, cap, part, v)
                frac = at_mean / v[0] if p < cap[0] and v[0] != 0 else (p / cap[0] if p < cap[0] else None)
                for r, cr in c.groupby("replicate"):
                    cr = cr.sort_values("capacity")
                    vr = cr[m].to_numpy(float)
                    total.loc[r, m] += (float(np.interp(p, cr["capacity"].to_numpy(float), vr)) if frac is None
                                        else frac * vr[0])
    total.index.name = "replicate"
    return total
