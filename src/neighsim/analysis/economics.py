"""Discounting and return-on-investment arithmetic (HM Treasury Green Book conventions).

Yearly value arrays are indexed by appraisal year, element 0 being the first year (year 1 in 1-based
speech), which is undiscounted. Arrays of different lengths are padded with zeros so that a one-off
up-front cost can be compared with a long stream of savings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
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
    q = quadrant(net_cost, outcomes_gained)
    if q == "undefined":
        return float("nan")
    if q == "dominated":
        return float("inf")
    return float(net_cost) / float(outcomes_gained)


def quadrant(net_cost: float, outcomes_gained: float) -> str:
    """Where a result lies on the cost-effectiveness plane, the one reading of the quadrants that ratios,
    verdicts and report cells share: 'undefined' (nan, or no gain), 'dominant' (gains, costs nothing or
    saves), 'dominated' (loses, costs at least as much), 'south-west' (loses and saves), 'north-east'."""
    nc, g = float(net_cost), float(outcomes_gained)
    if math.isnan(nc) or math.isnan(g) or g == 0:
        return "undefined"
    if g > 0:
        return "dominant" if nc <= 0 else "north-east"
    return "dominated" if nc >= 0 else "south-west"


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


# ------------------------------------------------------------------- annuitisation and budget impact


def _as_output(x: np.ndarray) -> float | np.ndarray:
    """Plain float for scalar inputs, array otherwise, so scalar callers get scalars back."""
    return float(x) if x.ndim == 0 else x


def annuity_factor(rate: float, years: int) -> float:
    """Present value of 1 paid at the start of each of ``years`` years: sum_{t=0}^{n-1} (1+rate)^-t.

    Annuity-due (first payment undiscounted) to match this module's "year 0 undiscounted" convention; the
    Green Book's printed annuity tables are in arrears and differ by a factor (1+rate). rate = 0 gives
    ``years``. Computed with expm1/log1p so rates very close to zero stay accurate.
    """
    if not np.isfinite(rate) or rate <= -1:
        raise ValueError(f"rate must be finite and greater than -1, got {rate}")
    if isinstance(years, bool) or not float(years).is_integer() or years < 1:
        raise ValueError(f"years must be a whole number >= 1, got {years}")
    n = int(years)
    if rate == 0:
        return float(n)
    log_v = -math.log1p(rate)  # log of the one-year discount factor 1/(1+rate)
    return math.expm1(n * log_v) / math.expm1(log_v)


def equivalent_annual_cost(capital: float, rate: float, lifetime_years: int) -> float:
    """Green Book annuitisation: the equal yearly charge over the asset's life whose PV equals the capital.

    capital / annuity_factor(rate, lifetime_years); charges are taken at the start of each year (the first
    undiscounted), so this is 1/(1+rate) times the arrears-based figure in Green Book annuity tables.
    """
    return float(capital) / annuity_factor(rate, lifetime_years)


def _whole_lifetime(lifetime_years: float) -> int:
    if not np.isfinite(lifetime_years) or lifetime_years <= 0:
        raise ValueError(f"lifetime_years must be finite and positive, got {lifetime_years}")
    return max(1, math.floor(float(lifetime_years) + 0.5))  # round half up, at least one year


def annuitise(
    cash_by_year: ArrayLike,
    lifetime_years: float,
    rate: float = GREEN_BOOK_RATE,
    horizon: int | None = None,
) -> np.ndarray:
    """Replace capital cash by equivalent annual costs, so assets outliving the appraisal are part-charged.

    Cash spent in year y becomes equivalent_annual_cost(cash[y], rate, L) charged in years y..y+L-1.
    Returns charges for years 0..horizon-1 (default len(cash_by_year)); charges after the horizon are
    dropped, matching the asset's benefits after the horizon, which are not counted either. Non-integer
    lifetimes are rounded half-up to whole years, at least 1. With horizon >= len(cash) + L - 1 the PV of
    the charges equals the PV of the cash; L = 1 returns the cash unchanged.
    """
    cash = _yearly(cash_by_year, "cash_by_year")
    n_life = _whole_lifetime(lifetime_years)
    n = cash.size if horizon is None else int(horizon)
    if n < 0:
        raise ValueError("horizon must be non-negative")
    # charges[t] = sum of cash[y] for t-L < y <= t, divided by the annuity factor
    spread = np.convolve(cash, np.ones(n_life)) / annuity_factor(rate, n_life) if cash.size else cash
    return _pad(spread, n)


def budget_impact(
    programme_cash_by_year: ArrayLike,
    savings_cash_by_year: ArrayLike,
    rate: float = GREEN_BOOK_RATE,
) -> pd.DataFrame:
    """Year-by-year cash budget impact (not annuitised), as commissioners' budget-impact tables show it.

    One row per year (index "year", 1-based) with programme_cost, savings, net_cash = programme - savings,
    net_cash_discounted, cumulative_net_cash and cumulative_net_cash_discounted. Streams of different
    lengths are zero-padded. The first year with cumulative_net_cash_discounted <= 0 is payback_year.
    """
    p = _yearly(programme_cash_by_year, "programme_cash_by_year")
    s = _yearly(savings_cash_by_year, "savings_cash_by_year")
    n = max(p.size, s.size)
    p, s = _pad(p, n), _pad(s, n)
    net = p - s
    net_disc = net * discount_factors(n, rate)
    return pd.DataFrame(
        {
            "programme_cost": p,
            "savings": s,
            "net_cash": net,
            "net_cash_discounted": net_disc,
            "cumulative_net_cash": np.cumsum(net),
            "cumulative_net_cash_discounted": np.cumsum(net_disc),
        },
        index=pd.Index(np.arange(1, n + 1), name="year"),
    )


# ------------------------------------------------------------------------ value for money with QALYs


def roi_with_qalys(
    savings_pv: ArrayLike, qalys_pv: ArrayLike, threshold: ArrayLike, cost_pv: ArrayLike
) -> float | np.ndarray:
    """ROI including the value of health gained: (savings + threshold x QALYs) / cost.

    This is the "ROI including QALYs" of the NICE / OHID return-on-investment tools; ``roi`` above is the
    financial ROI (savings / cost) that those tools report beside it. All inputs are present values.
    nan where cost_pv <= 0, because a ratio over a non-positive spend does not rank options. Vectorised.
    """
    s, q, lam, c = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (savings_pv, qalys_pv, threshold, cost_pv))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(c > 0, (s + lam * q) / np.where(c > 0, c, 1.0), np.nan)
    return _as_output(np.asarray(out))


def icer(inc_cost: ArrayLike, inc_qaly: ArrayLike) -> float | np.ndarray:
    """Incremental cost-effectiveness ratio, vectorised, with cost_per_outcome's quadrant rules.

    nan when inc_qaly == 0 or either is nan; inf when dominated (QALYs lost, cost >= 0); a negative value
    is dominant (saves money, gains QALYs) and must not be ranked by size; south-west quadrant gives a
    positive saving per QALY forgone. Scalars in, float out.
    """
    c, q = np.broadcast_arrays(np.asarray(inc_cost, dtype=float), np.asarray(inc_qaly, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a huge ratio is inf, not a warning
        ratio = c / np.where(q == 0, 1.0, q)
    out = np.where(np.isnan(c) | np.isnan(q) | (q == 0), np.nan, np.where((q < 0) & (c >= 0), np.inf, ratio))
    return _as_output(np.asarray(out))


def ceac(inc_cost: ArrayLike, inc_qaly: ArrayLike, thresholds: ArrayLike) -> np.ndarray:
    """Cost-effectiveness acceptability curve from probabilistic sensitivity analysis samples.

    For each threshold lambda: the share of samples with positive net monetary benefit,
    lambda x inc_qaly - inc_cost > 0 (a tie counts as not cost-effective). Samples with nan in either
    array are dropped; if none remain the curve is all nan. Returns one value per threshold.
    """
    c = _yearly(inc_cost, "inc_cost")
    q = _yearly(inc_qaly, "inc_qaly")
    if c.size != q.size:
        raise ValueError(f"inc_cost and inc_qaly must have equal length, got {c.size} and {q.size}")
    lam = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if lam.ndim != 1:
        raise ValueError("thresholds must be 1-D")
    keep = ~(np.isnan(c) | np.isnan(q))
    c, q = c[keep], q[keep]
    if c.size == 0:
        return np.full(lam.size, np.nan)
    nmb = lam[:, None] * q[None, :] - c[None, :]
    return np.mean(nmb > 0, axis=1)


# ----------------------------------------------------------------------------- lifetime extrapolation


def quality_adjusted_life_expectancy(
    death_prob_by_age: ArrayLike, utility_by_age: ArrayLike, rate: float = GREEN_BOOK_HEALTH_RATE
) -> np.ndarray:
    """Discounted expected QALYs remaining at each single year of age 0..A, for lifetime extrapolation.

    ``death_prob_by_age`` is q_x (probability of dying within the year of age x); ``utility_by_age`` is a
    value per age or one scalar. Those dying in a year live half of it. The year starting now is
    undiscounted, year k by (1+rate)^-k. The table is closed at age A: everyone alive at A is taken to die
    during that year (q_A treated as 1), so supply a table running to an age few reach. Recursion:
    QALE_x = u_x (1 - q_x/2) + (1 - q_x) QALE_{x+1} / (1+rate).
    """
    q = _yearly(death_prob_by_age, "death_prob_by_age")
    if q.size == 0:
        raise ValueError("death_prob_by_age is empty")
    if np.any(~np.isfinite(q)) or np.any((q < 0) | (q > 1)):
        raise ValueError("death probabilities must lie in [0, 1]")
    u = np.broadcast_to(np.asarray(utility_by_age, dtype=float), q.shape)
    if np.any(~np.isfinite(u)):
        raise ValueError("utilities must be finite")
    if rate <= -1:
        raise ValueError("rate must be greater than -1")
    q = q.copy()
    q[-1] = 1.0
    v = 1.0 / (1.0 + rate)
    this_year = u * (1.0 - q / 2.0)
    qale = np.empty(q.size)
    later = 0.0
    for x in range(q.size - 1, -1, -1):  # backward recursion; no division by survivorship, so q = 1 is safe
        later = this_year[x] + (1.0 - q[x]) * v * later
        qale[x] = later
    return qale


def lifetime_qalys_beyond(
    extra_alive_by_age: ArrayLike,
    qale_by_age: ArrayLike,
    years_to_discount: float,
    rate: float = GREEN_BOOK_HEALTH_RATE,
) -> float:
    """QALYs gained after the horizon: sum(extra survivors x remaining QALE), discounted to year 0.

    ``extra_alive_by_age`` are the additional people alive (may be negative) at the horizon's end, by age;
    ``years_to_discount`` is the horizon's length, since the post-horizon stream starts in year H and the
    QALE already discounts within itself from that point.
    """
    extra = _yearly(extra_alive_by_age, "extra_alive_by_age")
    qale = _yearly(qale_by_age, "qale_by_age")
    if extra.size != qale.size:
        raise ValueError(
            f"extra_alive_by_age and qale_by_age must have equal length, got {extra.size} and {qale.size}"
        )
    if rate <= -1:
        raise ValueError("rate must be greater than -1")
    if years_to_discount < 0:
        raise ValueError("years_to_discount must be non-negative")
    return float(np.sum(extra * qale)) * (1.0 + rate) ** -float(years_to_discount)
