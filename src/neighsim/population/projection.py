"""Carry the ONS mid-2020 LSOA population forward to the start date (cohort-component, expected values).

Each year: deaths with the model's own mortality curve (England average by age and sex, times the
LSOA's deprivation rate ratio); births from age-specific fertility; net migration with an age profile;
then everybody ages. The fractional last year moves a share of each age up. The result is integerised
cell by cell with seeded stochastic rounding, so the same seed gives the same counts.
"""

from __future__ import annotations

import numpy as np

from ..parameters import ParameterSet
from ..processes.common import MAX_AGE, base_annual_qx, mortality_deprivation_rr

FERTILITY_AGES = np.arange(15, 45)


def split_90plus(counts_0_90: np.ndarray, decay: float) -> np.ndarray:
    """[L, 91] with an open 90+ column -> [L, 101] single years 0..100 (100 = 100+)."""
    w = decay ** np.arange(MAX_AGE - 90 + 1)
    w = w / w.sum()
    out = np.zeros((counts_0_90.shape[0], MAX_AGE + 1))
    out[:, :90] = counts_0_90[:, :90]
    out[:, 90:] = counts_0_90[:, 90:91] * w
    return out


def project(pop: np.ndarray, female_share: np.ndarray, decile: np.ndarray, years: float,
            p: ParameterSet, migration: np.ndarray) -> np.ndarray:
    """pop [L, 101] persons; female_share [L, 101]; migration [L, 101] net migrants per resident-year by
    age (population/migration.py); returns expected [L, 101, 2] (female, male)."""
    ages = np.arange(MAX_AGE + 1, dtype=float)
    cells = np.stack([pop * female_share, pop * (1 - female_share)], axis=-1)
    qx = np.stack([base_annual_qx(ages, np.zeros_like(ages, bool), p),
                   base_annual_qx(ages, np.ones_like(ages, bool), p)], axis=-1)  # [A, 2]
    rr = np.stack([mortality_deprivation_rr(ages[None, :], decile[:, None], p, male) for male in (False, True)],
                  axis=-1)  # [L, A, 2]
    q = np.clip(qx[None] * rr, 0, 0.95)
    asfr = np.repeat(p["demography.asfr"], 5)  # single years 15..44
    male_share = p["demography.male_birth_share"]
    remaining = years
    while remaining > 1e-9:
        dt = min(1.0, remaining)
        births = (cells[:, 15:45, 0] * asfr).sum(axis=1) * dt
        cells = cells * (1 - q) ** dt
        cells = cells * (1 + migration[:, :, None] * dt)
        aged = np.zeros_like(cells)
        aged[:, 1:] += cells[:, :-1] * dt
        aged[:, :-1] += cells[:, :-1] * (1 - dt)
        aged[:, -1] += cells[:, -1]
        aged[:, 0, 0] += births * (1 - male_share)
        aged[:, 0, 1] += births * male_share
        cells = aged
        remaining -= dt
    return cells


def stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = np.floor(x)
    return (base + (rng.random(x.shape) < (x - base))).astype(np.int64)
