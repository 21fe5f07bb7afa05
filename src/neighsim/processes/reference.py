"""Averages over the whole ICS's residents at the start, by age x sex x decile cell (the tables' asd).

Every process rate is a published rate for an average resident of an age, sex and deprivation decile,
times the resident's own multipliers (smoking, conditions, frailty, LSOA indicators). The table is the
published rate divided by the mean multiplier of the cell in THIS population at the start, so that the
cell's rate is the published one however the multipliers are spread. The means come from the whole
ICS, whichever neighbourhoods a model holds, so that a neighbourhood run alone gives the same numbers
as inside the ICS. Small cells borrow strength from their age and sex: (sum + k x pooled) / (n + k),
pooled over deciles and +/-2 years of age.

The synthesis also records, per cell, each condition's and frailty category's expected prevalence now
and for the same people a year older (population/attributes.py); `next_year_rates` turns the pair into
the onset a cohort needs to follow the curve despite the extra deaths among those who have it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..parameters import ParameterSet
from .tables import MAX_TABLE_AGE, N_ASD, asd_index

if TYPE_CHECKING:
    from ..agents.cohort import Cohort
    from ..population.attributes import FrailtyFit, StartTargets

SHRINK = 10.0  # pseudo-residents of the pooled cell added to every cell
POOL_YEARS = 2


@dataclass
class StartingPopulation:
    """The whole ICS at the start date: residents, their LSOAs (rows of `lsoas`) and the cells' targets."""

    cohort: Cohort
    lsoas: pd.DataFrame
    targets: StartTargets
    frailty_fit: FrailtyFit


def lsoa_factors(lsoas: pd.DataFrame, p: ParameterSet) -> dict[str, np.ndarray]:
    """Per-LSOA rate ratios from the IoD2019 health indicators, relative to LSOAs of the same decile."""
    return {
        "illness": np.exp(p["conditions.cidr_exponent"] * lsoas["cidr_resid"].to_numpy()),
        "acute": np.exp(p["admissions.acute_morbidity_exponent"] * lsoas["acute_resid"].to_numpy()),
        "mortality": np.exp(p["mortality.ypll_exponent"] * lsoas["ypll_resid"].to_numpy()),
    }


def smooth_ratio(sums: np.ndarray, counts: np.ndarray, default: float = 1.0) -> np.ndarray:
    """Cell ratio sums/counts with small cells shrunk towards the pooled (age +/-2, sex) ratio."""
    s = sums.reshape(MAX_TABLE_AGE + 1, 2, 10)
    n = counts.reshape(MAX_TABLE_AGE + 1, 2, 10)
    kernel = np.ones(2 * POOL_YEARS + 1)

    def pool(a: np.ndarray) -> np.ndarray:
        summed = a.sum(axis=2)
        return np.stack([np.convolve(summed[:, k], kernel, mode="same") for k in range(2)], axis=1)

    ps, pn = pool(s), pool(n)
    pooled = np.divide(ps, pn, out=np.full_like(ps, np.nan), where=pn > 0)
    for k in range(2):  # ages nobody reaches take the nearest pooled value (or the default)
        col = pooled[:, k]
        ok = np.flatnonzero(np.isfinite(col))
        col[:] = np.interp(np.arange(len(col)), ok, col[ok]) if len(ok) else default
    return ((s + SHRINK * pooled[:, :, None]) / (n + SHRINK)).reshape(N_ASD)


class Reference:
    """The starting population seen by a model with its parameters (see the module docstring)."""

    def __init__(self, start: StartingPopulation, params: ParameterSet):
        c = start.cohort
        self.cohort = c
        self.targets = start.targets
        self.frailty_fit = start.frailty_fit
        self.asd = asd_index(c.age_months // 12, c.male, c.imd_decile)
        self.age = np.minimum(c.age_months // 12, MAX_TABLE_AGE)
        self.lsoa = lsoa_factors(start.lsoas, params)
        self.nltc = c.ltc_count()

    def factor(self, name: str) -> np.ndarray:
        """An LSOA factor for every starting resident."""
        return self.lsoa[name][self.cohort.lsoa]

    def mean(self, values: np.ndarray | float, mask: np.ndarray | None = None) -> np.ndarray:
        """Mean of a per-resident value by cell (over residents in mask), smoothed for small cells."""
        w = np.ones(self.cohort.n) if mask is None else mask.astype(float)
        v = np.broadcast_to(np.asarray(values, dtype=float), w.shape)
        return smooth_ratio(np.bincount(self.asd, weights=v * w, minlength=N_ASD),
                            np.bincount(self.asd, weights=w, minlength=N_ASD))

    def target(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Expected prevalence (or count, or [cell, category] shares) now and a year older, by cell."""
        n = self.targets.count
        now, nxt = self.targets.now[key], self.targets.next[key]
        if now.ndim == 1:
            return smooth_ratio(now, n, 0.0), smooth_ratio(nxt, n, 0.0)
        return (np.stack([smooth_ratio(now[:, k], n, 0.0) for k in range(now.shape[1])], 1),
                np.stack([smooth_ratio(nxt[:, k], n, 0.0) for k in range(nxt.shape[1])], 1))


def onset_for_curve(p_now: np.ndarray, p_next: np.ndarray, death_hazard: np.ndarray, rr: float) -> np.ndarray:
    """Annual onset probability among those without a condition that carries a cohort from prevalence
    p_now to p_next a year on, when those with it die at rr times the rate of those without (the cell's
    mean hazard is death_hazard). Negative (a curve falling faster than deaths explain) is clipped to 0."""
    mean_rr = 1 + p_now * (rr - 1)
    s1 = p_now * np.exp(-death_hazard * rr / mean_rr)
    s0 = (1 - p_now) * np.exp(-death_hazard / mean_rr)
    inc = np.divide(p_next * (s0 + s1) - s1, s0, out=np.zeros_like(s0), where=s0 > 1e-12)
    return np.clip(inc, 0.0, 0.9)
