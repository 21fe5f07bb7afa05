"""Lookup tables over (age in years, sex, IMD decile) built once per model from the parameters.

Index: asd = (age * 2 + male) * 10 + (decile - 1), age 0..120. Processes gather one table entry per
resident instead of recomputing curves, which keeps a step of 1.2 million residents fast.
"""

from __future__ import annotations

import numpy as np

from ..parameters import ParameterSet
from .common import base_annual_qx, mortality_deprivation_rr

MAX_TABLE_AGE = 120
AGES = np.arange(MAX_TABLE_AGE + 1)
N_ASD = (MAX_TABLE_AGE + 1) * 20


def grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Age, male, decile arrays laid out in asd order."""
    age = np.repeat(AGES, 20)
    male = np.tile(np.repeat([False, True], 10), len(AGES))
    dec = np.tile(np.arange(1, 11), 2 * len(AGES))
    return age.astype(float), male, dec


def asd_index(age_years: np.ndarray, male: np.ndarray, decile: np.ndarray) -> np.ndarray:
    a = np.minimum(age_years.astype(np.int32), MAX_TABLE_AGE)
    return (a * 2 + male.astype(np.int32)) * 10 + (decile.astype(np.int32) - 1)


def death_hazard(p: ParameterSet) -> np.ndarray:
    """Annual death hazard of an average resident by asd: the England curve by age and sex times the
    decile's rate ratio (sex-specific, fading from the under-75 to the 80+ gradient)."""
    age, male, dec = grid()
    q = np.clip(base_annual_qx(age, male, p) * mortality_deprivation_rr(age, dec, p, male), 0, 0.9)
    return -np.log1p(-q)


def quintile_of_decile(decile: np.ndarray) -> np.ndarray:
    return (np.asarray(decile) + 1) // 2


def admission_base_rate(p: ParameterSet) -> np.ndarray:
    """All-cause emergency admissions per person-year by asd (Devon gradient by IMD quintile)."""
    age, male, dec = grid()
    tab = p["admissions.rate_by_age_quintile"].reshape(4, 5) / 1000.0
    q = quintile_of_decile(dec) - 1
    row = np.select([age < 38, age < 53, age < 67], [0, 1, 2], 3)
    rate = tab[row, q]
    child = p["admissions.rate_children"] / 1000.0 * tab[0, q] / tab[0].mean()
    rate = np.where(age < 20, child, rate)
    # 85+ above the 67+ row; 67-84 scaled down so that the 67+ mean stays at the published row
    f85 = p["admissions.age_85plus_factor"]
    rate = np.where(age >= 85, rate * f85, np.where(age >= 67, rate / (1 + SHARE_85_OF_67PLUS * (f85 - 1)), rate))
    return rate


SHARE_85_OF_67PLUS = 0.16  # ONS mid-2020, Staffordshire and Stoke-on-Trent: 85+ residents / 67+ residents


def admission_age_group(age: np.ndarray) -> np.ndarray:
    """0-19, 20-52, 53-66, 67+ (the cause-share groups)."""
    return np.select([age < 20, age < 53, age < 67], [0, 1, 2], 3)


def admission_tables(p: ParameterSet, mean_multiplier: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Annual admission hazards by cause for a resident whose multipliers are all one: the cell's
    published rate and cause share over the cell's mean multiplier (processes/reference.py)."""
    age, _, _ = grid()
    rate = admission_base_rate(p)
    g = admission_age_group(age)
    s_resp = p["admissions.share_respiratory"][g]
    s_cvd = p["admissions.share_cardiovascular"][g]
    s_falls = p["admissions.share_falls"][g]
    shares = {"respiratory": s_resp, "cardiovascular": s_cvd, "other": 1 - s_resp - s_cvd - s_falls}
    return {cause: rate * shares[cause] / mean_multiplier[cause] for cause in shares}
