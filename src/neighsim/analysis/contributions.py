"""What each intervention of a package contributes: a waterfall and Shapley values, paired by replicate.

For a package N of k interventions, v(S) is a subset S's outcome minus the baseline's in the same
replicate and parameter draw (common random numbers: every subset shares the baseline's random
numbers, so v(S) is a paired difference). Then, replicate by replicate:

- sequential (the waterfall, in a stated order o_1..o_k): c_i = v({o_1..o_i}) - v({o_1..o_i-1});
- Shapley: phi_i = sum over S not holding i of |S|! (k - |S| - 1)! / k! * (v(S + i) - v(S)), each
  intervention's marginal effect averaged over every order in which the package could be built;
- interaction = v(N) - sum_i v({i}): what the package does beyond its parts done alone (negative
  when the parts overlap, e.g. two of them preventing the same admission);
- total = v(N). Both the sequential and the Shapley contributions add up to the total in every
  replicate, so their means add up to the mean total (percentiles do not add up).

Means and 2.5/97.5 percentiles across replicates are taken as for every other summary row (cells.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np
import pandas as pd

from ..outcomes import OUT
from .cells import CELL, COLUMNS, CellStore, describe

PREFIX = "contribution_"
# Outcomes decomposed (those present in the run): counts and money that add up across interventions.
OUTCOMES = (OUT.emergency_admissions, OUT.deaths, OUT.bed_days, OUT.admissions_falls, OUT.hip_fractures,
            OUT.qalys, OUT.cost_admissions, OUT.cost_intervention)
STRATUM = "all"

Values = Callable[[frozenset[str]], np.ndarray]


def shapley_weight(size: int, k: int) -> float:
    """|S|! (k - |S| - 1)! / k!: the share of the k! orders in which exactly S comes before i."""
    return factorial(size) * factorial(k - size - 1) / factorial(k)


def decompose(v: Values, names: Sequence[str], order: Sequence[str], shapley: bool = True) -> dict[str, np.ndarray]:
    """Measures -> arrays (replicates x cells): 'total', 'sequential:<name>' in `order`, 'interaction',
    'shapley:<name>' in `order`. `v(S)` is the paired effect of subset S (v of the empty set is zero)."""
    cache: dict[frozenset[str], np.ndarray] = {}

    def val(s: frozenset[str]) -> np.ndarray:
        if s not in cache:
            cache[s] = v(s)
        return cache[s]

    full = frozenset(names)
    total = val(full)
    zero = np.zeros_like(total)
    out: dict[str, np.ndarray] = {"total": total}
    prev = zero
    for i, name in enumerate(order):
        cur = val(frozenset(order[: i + 1])) if i + 1 < len(order) else total
        out[f"sequential:{name}"] = cur - prev
        prev = cur
    out["interaction"] = total - sum((val(frozenset([n])) for n in names), zero)
    if shapley:
        k = len(names)
        for name in order:
            others = [n for n in names if n != name]
            phi = zero.copy()
            for size in range(k):
                w = shapley_weight(size, k)
                for s in combinations(others, size):
                    base = frozenset(s)
                    phi += w * (val(base | {name}) - (val(base) if base else zero))
            out[f"shapley:{name}"] = phi
    return out


def reduce_for_contributions(counts: pd.DataFrame, geo: Any, months: int, start: Any,
                             params_for_draw: Callable[[int], Any]) -> pd.DataFrame:
    """A subset scenario's run reduced to what its contributions read: stratum 'all', with costs (the
    same numbers as reduce_run's rows, at a third of the time: no strata, rates or life tables)."""
    from .impacts import add_costs
    from .summary import by_area_and_stratum, to_periods

    los = np.asarray(params_for_draw(-1)["admissions.length_of_stay"])
    tidy = by_area_and_stratum(to_periods(counts, months, start, los), geo, strata=(STRATUM,))
    return add_costs(tidy, params_for_draw)


def _columns(main: CellStore, outcomes: Iterable[str]) -> pd.DataFrame:
    """The frozen columns of the chosen outcomes' stratum-'all' cells: cell keys and column position."""
    cells = main.index.to_frame(index=False).iloc[main.columns].reset_index(drop=True)
    keep = cells["outcome"].isin(list(outcomes)) & (cells["stratum"] == STRATUM)
    return cells[keep].assign(_col=np.flatnonzero(keep.to_numpy()))


def _read(main: CellStore, scenario: str, order: list[tuple[int, int]], cols: np.ndarray) -> np.ndarray:
    """runs x chosen columns of one scenario, reading only the span the chosen columns lie in (they
    are sorted by outcome first, so each outcome's cells are contiguous)."""
    mat, _ = main.matrix(scenario, order)
    if len(cols) == 0:
        return np.empty((len(order), 0))
    j0, j1 = int(cols.min()), int(cols.max()) + 1
    return mat.block(j0, j1)[:, cols - j0]


def contribution_rows(main: CellStore, plans: Mapping[str, Any], order: list[tuple[int, int]],
                      outcomes: Sequence[str] = OUTCOMES) -> pd.DataFrame:
    """summary.csv rows (COLUMNS) of every package's contributions. `main` must be frozen (its columns
    fixed, as write_results leaves it); each plan gives package, interventions, order, shapley and
    scenario_for(members)."""
    if not plans:
        return pd.DataFrame(columns=COLUMNS)
    cells = _columns(main, outcomes)
    frames = []
    for outcome, c in cells.groupby("outcome", sort=False):
        cols = c["_col"].to_numpy()
        keys = c[CELL].reset_index(drop=True)
        base = _read(main, "baseline", order, cols)
        for plan in plans.values():
            def v(s: frozenset[str], plan: Any = plan, cols: np.ndarray = cols, base: np.ndarray = base) -> np.ndarray:
                return _read(main, plan.scenario_for(s), order, cols) - base

            for measure, x in decompose(v, plan.interventions, plan.order, plan.shapley).items():
                mean, lo, hi, n = describe(x)
                frames.append(keys.assign(scenario=plan.package, outcome=PREFIX + outcome, measure=measure,
                                          mean=mean, lower=lo, upper=hi, n=n, _m=len(frames)))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    pos = {k: i for i, k in enumerate(dict.fromkeys(zip(out["period"], out["level"], out["area"], strict=True)))}
    out["_cell"] = [pos[k] for k in zip(out["period"], out["level"], out["area"], strict=True)]
    out = out.sort_values(["scenario", "outcome", "_cell", "_m"], kind="stable")
    return out[COLUMNS].reset_index(drop=True)
