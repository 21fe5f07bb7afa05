"""Discounting and return-on-investment arithmetic (HM Treasury Green Book conventions).

Yearly value arrays are indexed by appraisal year, element 0 being the first year (year 1 in 1-based
speech), which is undiscounted. Arrays of different lengths are padded with zeros so that a one-off
up-front cost can be compared with a long stream of savings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

GREEN_BOOK_RATE = 0.035  # standard social time preference rate for years 0-30
GREEN_BOOK_HEALTH_RATE = 0.015  # rate for health effects (e.g. QALYs) in the Green Book


def discount_factors(n_years: int, rate: float = GREEN_BOOK_RATE, mid_year: bool = False) -> np.ndarray:
    """Discount factors 1/(1+rate)^t for t = 0..n_years-1 (the first year undiscounted).

    With ``mid_year=True`` flows are taken to arrive in the middle of each year, so the exponent is t + 0.5
    (the first year is discounted by half a year). A constant rate is used: the Green Book's lower
    long-term rates after year 30 are not applied, so use a horizon <= 30 years or discount yourself.
    """
    if n_years < 0:
        raise ValueError("n_years must be non-negative")
    if rate <= -1:
        raise ValueError("rate must be greater than -1")
    t = np.arange(n_years, dtype=float) + (0.5 if mid_year else 0.0)
    return (1.0 + rate) ** -t


def _yearly(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one value per year (1-D)")
    return arr


def _pad(x: np.ndarray, n: int) -> np.ndarray:
    """First n years of x, zero-padded if x is shorter."""
    return np.pad(x[:n], (0, max(0, n - x.size)))


def _aligned(avoided: ArrayLike, cost: ArrayLike, horizon: int | None) -> tuple[np.ndarray, np.ndarray]:
    a = _yearly(avoided, "costs_avoided_by_year")
    c = _yearly(cost, "intervention_cost_by_year")
    n = max(a.size, c.size) if horizon is None else int(horizon)
    if n < 0:
        raise ValueError("horizon must be non-negative")
    return _pad(a, n), _pad(c, n)


def present_value(values_by_year: ArrayLike, rate: float = GREEN_BOOK_RATE) -> float:
    """Present value of a yearly stream: sum_t values[t] / (1+rate)^t, first year undiscounted."""
    v = _yearly(values_by_year, "values_by_year")
    return float(np.sum(v * discount_factors(v.size, rate)))


def roi(
    costs_avoided_by_year: ArrayLike,
    intervention_cost_by_year: ArrayLike,
    rate: float = GREEN_BOOK_RATE,
    horizon: int | None = None,
) -> float:
    """Return on investment as "pounds back per pound spent": PV(costs avoided) / PV(intervention costs).

    1.0 is break-even, above 1 the intervention saves more than it costs. ``horizon`` (years) truncates or
    zero-pads both streams so the ratio is for a stated appraisal period. Returns nan when the intervention
    costs have zero present value (the ratio is undefined, not infinitely good).
    """
    a, c = _aligned(costs_avoided_by_year, intervention_cost_by_year, horizon)
    pv_cost = present_value(c, rate)
    if pv_cost == 0:
        return float("nan")
    return present_value(a, rate) / pv_cost


def net_cost(
    costs_avoided_by_year: ArrayLike,
    intervention_cost_by_year: ArrayLike,
    rate: float = GREEN_BOOK_RATE,
    horizon: int | None = None,
) -> float:
    """Net present cost: PV(intervention costs) - PV(costs avoided); negative means net saving."""
    a, c = _aligned(costs_avoided_by_year, intervention_cost_by_year, horizon)
    return present_value(c, rate) - present_value(a, rate)


def payback_year(
    costs_avoided_by_year: ArrayLike,
    intervention_cost_by_year: ArrayLike,
    rate: float = GREEN_BOOK_RATE,
) -> int | None:
    """First year (1-based) in which cumulative discounted savings >= cumulative discounted costs.

    None if that never happens within the longer of the two streams. A tiny relative tolerance absorbs
    floating-point error so exact break-even counts as paid back.
    """
    a, c = _aligned(costs_avoided_by_year, intervention_cost_by_year, None)
    df = discount_factors(a.size, rate)
    cum_a = np.cumsum(a * df)
    cum_c = np.cumsum(c * df)
    tol = 1e-9 * np.maximum(1.0, np.maximum(np.abs(cum_a), np.abs(cum_c)))
    hit = np.flatnonzero(cum_a >= cum_c - tol)
    return int(hit[0]) + 1 if hit.size else None


def cost_per_outcome(net_cost: float, outcomes_gained: float) -> float:
    """ICER-like ratio net cost / outcomes gained (e.g. pounds per QALY or per admission avoided).

    Rules, because a bare ratio misleads when either sign is negative:

    * outcomes_gained == 0 (or either input nan): nan, the ratio is undefined; compare costs directly.
    * outcomes_gained > 0: net_cost / outcomes_gained. A negative value means the option saves money and
      gains outcomes (dominant); negative ratios must not be ranked by size.
    * outcomes_gained < 0 and net_cost >= 0: inf (dominated: costs at least as much and loses outcomes).
    * outcomes_gained < 0 and net_cost < 0: net_cost / outcomes_gained, a positive "saving per outcome
      forgone" (south-west quadrant), whose reading is the reverse of an ordinary ICER.
    """
    nc, g = float(net_cost), float(outcomes_gained)
    if math.isnan(nc) or math.isnan(g) or g == 0:
        return float("nan")
    if g < 0 and nc >= 0:
        return float("inf")
    return nc / g


def inflate(value: float, from_year: str, to_year: str, index: Mapping[str, float]) -> float:
    """Re-price ``value`` from ``from_year`` prices to ``to_year`` prices: value * index[to] / index[from].

    ``index`` is a price index keyed by year label (e.g. the NHS cost inflation index by financial year).
    """
    for year in (from_year, to_year):
        if year not in index:
            raise KeyError(f"price index has no entry for {year!r} (has {sorted(index)})")
        if not index[year] > 0:
            raise ValueError(f"price index for {year!r} must be positive, got {index[year]}")
    return float(value) * float(index[to_year]) / float(index[from_year])


NMB_THRESHOLDS = (20_000.0, 30_000.0)  # NICE's range of pounds per QALY


def net_monetary_benefit(qalys_gained: float, net_cost: float, threshold: float) -> float:
    """threshold x QALYs gained - net cost: positive when the option is worth its cost at that value of a
    QALY (the same decision as an ICER below the threshold, but defined for any sign of either)."""
    return float(threshold) * float(qalys_gained) - float(net_cost)
