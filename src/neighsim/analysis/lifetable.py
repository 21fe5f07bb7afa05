"""Abridged or single-year period life tables (Chiang's method) from deaths and person-years at risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

RADIX = 100_000.0
INFANT_AX = 0.1  # average years lived in [0, 1) by those dying: infant deaths cluster in the first weeks


def _chiang(d: np.ndarray, py: np.ndarray, n: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, ...]:
    """The table's columns for [groups x ages] arrays (a: ax, whose open-interval value is set here):
    mx, qx, lx, dx, Lx. One arithmetic for a single table and for many at once."""
    mx = d / py
    a[:, -1] = 1.0 / mx[:, -1]
    qx = np.empty(d.shape)
    qx[:, :-1] = np.minimum(n[:-1] * mx[:, :-1] / (1.0 + (n[:-1] - a[:, :-1]) * mx[:, :-1]), 1.0)
    qx[:, -1] = 1.0
    lx = np.empty(d.shape)
    dx = np.empty(d.shape)
    lx[:, 0] = RADIX
    for i in range(d.shape[1]):
        dx[:, i] = lx[:, i] * qx[:, i]
        if i + 1 < d.shape[1]:
            lx[:, i + 1] = lx[:, i] - dx[:, i]
    Lx = np.empty(d.shape)
    Lx[:, :-1] = n[:-1] * lx[:, 1:] + a[:, :-1] * dx[:, :-1]
    Lx[:, -1] = lx[:, -1] / mx[:, -1]
    return mx, qx, lx, dx, Lx


def period_life_table(
    deaths: ArrayLike,
    person_years: ArrayLike,
    age_starts: ArrayLike,
    ax: ArrayLike | None = None,
) -> pd.DataFrame:
    """Period life table with columns age, n, mx, qx, ax, lx, dx, Lx, Tx, ex (radix 100,000).

    ``age_starts`` are the lower bounds of contiguous age intervals; the last interval is open-ended.
    Per interval of width n:

    * mx = deaths / person_years (the observed central death rate);
    * qx = n*mx / (1 + (n - ax)*mx) (Chiang), capped at 1; the open final interval has qx = 1;
    * dx = lx*qx, l(x+n) = lx - dx, Lx = n*l(x+n) + ax*dx; the open interval has Lx = lx/mx;
    * Tx = sum of Lx from x upwards, ex = Tx/lx.

    Default ax (years lived in the interval by those who die in it) is n/2, except 0.1 for the first year
    of life (an interval starting at age 0 of width 1) because infant deaths are concentrated early.
    ``ax`` may be supplied for the closed intervals; the open interval's ax is always 1/mx, which is what
    Lx = lx/mx implies (so any supplied final value is ignored). Every interval needs person-years > 0 and
    the open interval needs deaths > 0 (otherwise its life expectancy is unbounded).
    """
    d = np.asarray(deaths, dtype=float)
    py = np.asarray(person_years, dtype=float)
    age = np.asarray(age_starts, dtype=float)
    if d.ndim != 1 or not (d.shape == py.shape == age.shape):
        raise ValueError("deaths, person_years and age_starts must be 1-D arrays of equal length")
    k = age.size
    if k == 0:
        raise ValueError("empty life table input")
    if np.any(np.diff(age) <= 0):
        raise ValueError("age_starts must be strictly increasing")
    if np.any(~np.isfinite(d)) or np.any(d < 0):
        raise ValueError("deaths must be finite and non-negative")
    if np.any(~np.isfinite(py)) or np.any(py <= 0):
        raise ValueError("person_years must be finite and positive in every interval")
    if d[-1] <= 0:
        raise ValueError("the open final interval needs at least one death (mx > 0)")

    n = np.append(np.diff(age), np.nan)
    if ax is None:
        a = n / 2.0
        if k > 1 and age[0] == 0 and n[0] == 1:
            a[0] = INFANT_AX
    else:
        a = np.asarray(ax, dtype=float).copy()
        if a.shape != age.shape:
            raise ValueError("ax must have the same length as age_starts")
        closed = a[:-1]
        if np.any(~np.isfinite(closed)) or np.any(closed < 0) or np.any(closed > n[:-1]):
            raise ValueError("ax must lie within [0, n] for each closed interval")
    a = a[None, :]
    mx, qx, lx, dx, Lx = (col[0] for col in _chiang(d[None, :], py[None, :], n, a))
    a = a[0]
    Tx = np.cumsum(Lx[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ex = np.where(lx > 0, Tx / lx, np.nan)
    return pd.DataFrame(
        {"age": age, "n": n, "mx": mx, "qx": qx, "ax": a, "lx": lx, "dx": dx, "Lx": Lx, "Tx": Tx, "ex": ex}
    )


def life_expectancy(deaths: ArrayLike, person_years: ArrayLike, age_starts: ArrayLike) -> float:
    """Period life expectancy at the first age in ``age_starts`` (normally birth), default ax."""
    return float(period_life_table(deaths, person_years, age_starts)["ex"].iloc[0])


def life_expectancies(deaths: np.ndarray, person_years: np.ndarray, age_starts: ArrayLike) -> np.ndarray:
    """Life expectancy at the first age in ``age_starts`` for each row of ``deaths`` and ``person_years``
    ([groups x ages]): life_expectancy of each row, the same floats (the same operations, elementwise
    across rows, and the same sequential sums), without a table per row. A row with an interval lacking
    person-years, or no deaths in the open interval, has no life table: nan (life_expectancy raises)."""
    d = np.asarray(deaths, dtype=float)
    py = np.asarray(person_years, dtype=float)
    age = np.asarray(age_starts, dtype=float)
    if d.ndim != 2 or d.shape != py.shape or d.shape[1] != age.size or age.ndim != 1:
        raise ValueError("deaths and person_years must be [groups x ages] arrays matching age_starts")
    k = age.size
    if k == 0:
        raise ValueError("empty life table input")
    if np.any(np.diff(age) <= 0):
        raise ValueError("age_starts must be strictly increasing")
    ok = ~((py <= 0).any(axis=1) | (d[:, -1] <= 0))
    d, py = d[ok], py[ok]
    if np.any(~np.isfinite(d)) or np.any(d < 0):
        raise ValueError("deaths must be finite and non-negative")
    if np.any(~np.isfinite(py)):
        raise ValueError("person_years must be finite and positive in every interval")
    n = np.append(np.diff(age), np.nan)
    a = np.broadcast_to(n / 2.0, d.shape).copy()
    if k > 1 and age[0] == 0 and n[0] == 1:
        a[:, 0] = INFANT_AX
    _, _, lx, _, Lx = _chiang(d, py, n, a)
    t0 = np.cumsum(Lx[:, ::-1], axis=1)[:, -1] if len(d) else np.zeros(0)  # Tx at the first age, as cumsum
    out = np.full(len(ok), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[ok] = np.where(lx[:, 0] > 0, t0 / lx[:, 0], np.nan)
    return out
