"""Inequality measures for rates by ordered deprivation group, and direct age standardisation.

Convention used throughout: groups are ordered **most deprived first** (e.g. IMD decile 1 .. 10), so the
most deprived end of the ridit scale is rank 0 and the least deprived end is rank 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _as_1d(name: str, values: ArrayLike) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def ridit_midpoints(pop_by_group: ArrayLike) -> np.ndarray:
    """Population-weighted rank (0..1) of the midpoint of each ordered group.

    Group i occupies the cumulative population share interval [C_{i-1}, C_i]; its ridit is the midpoint
    C_{i-1} + p_i / 2. This is the regressor of the SII, so that unequal group sizes are respected.
    Zero-population groups get the rank of the boundary they sit on (they carry no weight anyway).
    """
    pop = _as_1d("pop_by_group", pop_by_group)
    if pop.size == 0:
        raise ValueError("pop_by_group is empty")
    if np.any(~np.isfinite(pop)) or np.any(pop < 0):
        raise ValueError("populations must be finite and non-negative")
    cum = np.cumsum(pop)
    total = cum[-1]  # the same summation as cum, so the last boundary is exactly 1
    if total <= 0:
        raise ValueError("total population must be positive")
    return (cum - pop / 2.0) / total


def sii_rii(rates: ArrayLike, populations: ArrayLike) -> tuple[float, float]:
    """Slope and relative index of inequality from a population-weighted regression on ridit rank.

    Fits ``rate = a + b * rank`` by weighted least squares (weights = group populations), with groups
    ordered most deprived (rank near 0) to least deprived (rank near 1). Then

    * SII = fitted(0) - fitted(1) = -b: the absolute difference between the hypothetical most and least
      deprived persons. **Positive SII means the rate is higher in the most deprived.**
    * RII = fitted(0) / fitted(1) = a / (a + b): the same contrast as a ratio (>1 means higher in the most
      deprived); inf/nan if the fitted value at rank 1 is zero.

    Groups with zero population are ignored (their rate may be nan). At least two groups with positive
    population are needed, otherwise the slope is undefined.
    """
    r = _as_1d("rates", rates)
    pop = _as_1d("populations", populations)
    if r.shape != pop.shape:
        raise ValueError(f"rates and populations differ in length ({r.size} vs {pop.size})")
    x = ridit_midpoints(pop)
    keep = pop > 0
    if keep.sum() < 2:
        raise ValueError("need at least two groups with positive population to fit a gradient")
    r, w, x = r[keep], pop[keep], x[keep]
    if np.any(~np.isfinite(r)):
        raise ValueError("rates must be finite for groups with positive population")
    w = w / w.sum()
    xbar = np.sum(w * x)
    ybar = np.sum(w * r)
    slope = np.sum(w * (x - xbar) * (r - ybar)) / np.sum(w * (x - xbar) ** 2)
    intercept = ybar - slope * xbar
    at0, at1 = intercept, intercept + slope
    sii = float(at0 - at1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rii = float(np.float64(at0) / np.float64(at1))
    return sii, rii


def age_standardised_rate(events: ArrayLike, person_years: ArrayLike, standard_weights: ArrayLike) -> float:
    """Directly age-standardised rate (per person-year) using a standard population's age weights.

    ASR = sum_i w_i * events_i / person_years_i with the weights normalised to sum to 1, so the result is
    what the rate would be if this population had the standard age structure (e.g. the 2013 European
    Standard Population). A band with zero person-years has no observable rate: it contributes 0 and its
    weight is redistributed proportionally over the observed bands (i.e. the weights are renormalised over
    the bands with person-years > 0), rather than silently pulling the rate towards zero. Returns nan when
    no band has person-years. Multiply by 1e5 for a rate per 100,000.
    """
    ev = _as_1d("events", events)
    py = _as_1d("person_years", person_years)
    w = _as_1d("standard_weights", standard_weights)
    if not (ev.shape == py.shape == w.shape):
        raise ValueError(
            f"arrays differ in length (events {ev.size}, person_years {py.size}, weights {w.size})"
        )
    for name, arr in (("events", ev), ("person_years", py), ("standard_weights", w)):
        if np.any(~np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name} must be finite and non-negative")
    if w.sum() <= 0:
        raise ValueError("standard_weights must not all be zero")
    observed = py > 0
    if np.any(ev[~observed] > 0):
        raise ValueError("events recorded in an age band with zero person-years")
    if not observed.any() or w[observed].sum() <= 0:
        return float("nan")
    w_obs = w[observed] / w[observed].sum()
    return float(np.sum(w_obs * ev[observed] / py[observed]))


def gap(rate_a: float, rate_b: float) -> tuple[float, float]:
    """Absolute and relative gap of ``rate_a`` against ``rate_b``.

    Returns ``(rate_a - rate_b, rate_a / rate_b)``: the relative gap is a ratio (1 = no gap), matching the
    RII; the relative gap is nan if ``rate_b`` is 0 (inf would suggest a meaningful, infinite ratio).
    """
    a, b = float(rate_a), float(rate_b)
    rel = a / b if b != 0 else float("nan")
    return a - b, rel
