"""Lookup tables over (age in years, sex, IMD decile) built once per model from the parameters.

Index: asd = (age * 2 + male) * 10 + (decile - 1), age 0..120. Processes gather one table entry per
resident instead of recomputing curves, which keeps a step of 1.2 million residents fast.
"""

from __future__ import annotations

import numpy as np

from ..parameters import ParameterSet
from .common import (
    base_annual_qx,
    decile_position,
    decile_rr,
    interp_age,
    mortality_deprivation_rr,
)

MAX_TABLE_AGE = 120
AGES = np.arange(MAX_TABLE_AGE + 1)


def grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Age, male, decile arrays laid out in asd order."""
    age = np.repeat(AGES, 20)
    male = np.tile(np.repeat([False, True], 10), len(AGES))
    dec = np.tile(np.arange(1, 11), 2 * len(AGES))
    return age.astype(float), male, dec


def asd_index(age_years: np.ndarray, male: np.ndarray, decile: np.ndarray) -> np.ndarray:
    a = np.minimum(age_years.astype(np.int32), MAX_TABLE_AGE)
    return (a * 2 + male.astype(np.int32)) * 10 + (decile.astype(np.int32) - 1)


def effective_age(age: np.ndarray, decile: np.ndarray, p: ParameterSet) -> np.ndarray:
    """Age shifted by deprivation: conditions come earlier in deprived areas (Barnett 2012)."""
    return age + p["conditions.deprivation_age_shift"] * decile_position(decile)


CONDITION_KEYS = {"htn": "hypertension", "cvd": "cvd", "copd": "copd", "diabetes": "diabetes"}


def reference_prevalence(cond: str, age: np.ndarray, male: np.ndarray, decile: np.ndarray,
                         p: ParameterSet) -> np.ndarray:
    """Expected prevalence of a condition for an average resident of this age, sex and decile."""
    mids = p["conditions.age_midpoints"]
    return interp_age(effective_age(age, decile, p), mids, p[f"conditions.prevalence_{CONDITION_KEYS[cond]}"])


def reference_frailty_shares(age: np.ndarray, decile: np.ndarray | None = None, p: ParameterSet | None = None
                             ) -> np.ndarray:
    """Approximate eFI category shares by age (fit, mild, moderate, severe) for normalising HRs,
    with the deprivation odds ratio of the synthesis when a decile is given."""
    any_f = np.select([age < 50, age < 65, age < 75, age < 85], [0.0, 0.10, 0.30, 0.55], 0.75)
    if decile is not None and p is not None:
        odds = any_f / np.maximum(1 - any_f, 1e-9) * np.exp(np.log(p["frailty.deprivation_or_decile1"])
                                                            * decile_position(decile))
        any_f = odds / (1 + odds)
    return np.stack([1 - any_f, any_f * 0.70, any_f * 0.24, any_f * 0.06], axis=-1)


def mortality_table(p: ParameterSet) -> np.ndarray:
    """Annual death hazard for a never-smoker free of the modelled conditions and fit, by asd.

    The England-average curve times the decile ratio, divided by the mean individual multiplier of a
    reference resident of that age, sex and decile (England smoking mix, reference condition and
    frailty prevalence), so that an average resident keeps the published curve.
    """
    age, male, dec = grid()
    q = np.clip(base_annual_qx(age, male, p) * mortality_deprivation_rr(age, dec, p), 0, 0.9)
    ref = (1 - 0.13 - 0.25) + 0.13 * p["mortality.smoking_rr_current"] + 0.25 * p["mortality.smoking_rr_ex"]
    ref = np.where(age >= 18, ref, 1.0)
    for k, cond in enumerate(CONDITION_KEYS):
        prev = reference_prevalence(cond, age, male, dec, p)
        ref = ref * (1 + prev * (p["mortality.ltc_rr"][k] - 1))
    ref = ref * (reference_frailty_shares(age, dec, p) @ p["mortality.frailty_hr"])
    return -np.log1p(-q) / ref


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


def admission_tables(p: ParameterSet) -> dict[str, np.ndarray]:
    """Annual admission hazards by cause for a reference-free resident (multipliers normalised)."""
    age, male, dec = grid()
    rate = admission_base_rate(p)
    g = admission_age_group(age)
    s_resp = p["admissions.share_respiratory"][g]
    s_cvd = p["admissions.share_cardiovascular"][g]
    s_falls = p["admissions.share_falls"][g]
    s_other = 1 - s_resp - s_cvd - s_falls
    adult = age >= 18
    prev = {c: reference_prevalence(c, age, male, dec, p) for c in CONDITION_KEYS}
    from ..population.synth import smoking_decile_factor

    smk = np.where(adult, 0.13 * smoking_decile_factor(dec, p), 0.0)
    frail = reference_frailty_shares(age, dec, p) @ p["admissions.frailty_hr"]
    ref_resp = (1 + prev["copd"] * (p["admissions.copd_rr_respiratory"] - 1)) * \
        (1 + smk * (p["admissions.smoking_rr_respiratory"] - 1)) * frail
    ref_cvd = (1 + prev["cvd"] * (p["admissions.cvd_rr_cardiovascular"] - 1)) * \
        (1 + prev["htn"] * (p["admissions.htn_rr_cardiovascular"] - 1)) * \
        (1 + prev["diabetes"] * (p["admissions.diabetes_rr_cardiovascular"] - 1)) * \
        (1 + smk * (p["admissions.smoking_rr_cardiovascular"] - 1)) * frail
    mean_ltc = sum(prev.values()) + interp_age(effective_age(age, dec, p), p["conditions.age_midpoints"],
                                               p["conditions.other_ltc_mean"])
    ref_other = p["admissions.ltc_rr_other"] ** mean_ltc * frail
    return {
        "respiratory": rate * s_resp / ref_resp,
        "cardiovascular": rate * s_cvd / ref_cvd,
        "other": rate * s_other / ref_other,
    }


def onset_tables(p: ParameterSet) -> dict[str, np.ndarray]:
    """Annual onset hazards by condition for a never-smoker, by asd (sex and deprivation included)."""
    age, male, dec = grid()
    eff = effective_age(age, dec, p)
    mids = p["conditions.age_midpoints"]
    out = {}
    for k, cond in enumerate(CONDITION_KEYS):
        inc = interp_age(eff, mids, p[f"conditions.incidence_{CONDITION_KEYS[cond]}"])
        sex = np.where(male, 0.5, -0.5) * np.log(p["conditions.sex_or_male"][k])
        cur, ex = p["conditions.smoking_hr_current"][k], p["conditions.smoking_hr_ex"][k]
        ref = np.where(age >= 18, (1 - 0.13 - 0.25) + 0.13 * cur + 0.25 * ex, 1.0)
        rate = -np.log1p(-np.clip(inc, 0, 0.5)) * np.exp(sex) / ref
        if cond == "copd":
            rate = rate * decile_rr(dec, p["conditions.copd_deprivation_rr"])
        out[cond] = rate
    out["other"] = interp_age(eff, mids, p["conditions.other_ltc_incidence"])
    return out
