"""Shared hazard helpers used by population synthesis and the engine (one definition of each curve)."""

from __future__ import annotations

import numpy as np

MAX_AGE = 100
AGE_BANDS = (0, 18, 35, 50, 65, 75, 85)  # recorder bands; labels below
AGE_BAND_LABELS = ("0-17", "18-34", "35-49", "50-64", "65-74", "75-84", "85+")


def age_band(age_years: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(AGE_BANDS[1:]), age_years, side="right").astype(np.int8)


def decile_position(decile: np.ndarray) -> np.ndarray:
    """+0.5 for decile 1 (most deprived) to -0.5 for decile 10: centres gradients on the England mean."""
    return (10.0 - np.asarray(decile, dtype=float)) / 9.0 - 0.5


def decile_rr(decile: np.ndarray, rr_1v10: float | np.ndarray) -> np.ndarray:
    """Rate ratio vs England average for a decile-1-vs-10 ratio, geometric across deciles."""
    return np.exp(np.log(rr_1v10) * decile_position(decile))


def annual_to_monthly(p: np.ndarray | float) -> np.ndarray:
    """Monthly probability with the same annual hazard: 1 - (1 - p)^(1/12)."""
    return -np.expm1(np.log1p(-np.clip(p, 0.0, 0.999999)) / 12.0)


def rate_to_prob(rate: np.ndarray, dt_years: float = 1.0 / 12.0) -> np.ndarray:
    """1 - exp(-rate*dt). A third-order series where rate*dt < 0.1 (error < 5e-6 of p), exact elsewhere:
    expm1 over 1.2 million residents costs more than the rest of a process."""
    x = np.asarray(rate, dtype=np.float64) * dt_years
    p = x * (1.0 - x * (0.5 - x * (1.0 / 6.0)))
    big = np.flatnonzero(x > 0.1)
    if len(big):
        p[big] = -np.expm1(-x[big])
    return p


def flag(mask: np.ndarray, rr: float) -> np.ndarray:
    """Rate ratio rr where mask holds, else 1 (faster than np.where on large arrays)."""
    return 1.0 + (rr - 1.0) * mask


def prob_to_rate(p: np.ndarray | float) -> np.ndarray:
    return -np.log1p(-np.clip(p, 0.0, 0.999999))


def interp_age(age: np.ndarray, midpoints: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.interp(age, midpoints, values)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def base_annual_qx(age: np.ndarray, male: np.ndarray, p) -> np.ndarray:
    """England-average annual death probability by age and sex (Gompertz-Makeham, infant term)."""
    age = np.asarray(age, dtype=float)
    male = np.asarray(male, dtype=bool)
    q70 = np.where(male, p["mortality.q70_male"], p["mortality.q70_female"])
    q80 = np.where(male, p["mortality.q80_male"], p["mortality.q80_female"])
    b = np.log(q80 / q70) / 10.0
    # above 80 the curve rises at its own rate: a slope fitted between 70 and 80 alone leaves the
    # oldest far too few deaths (or far too many) against the national life tables
    b = np.where(age > 80.0, p["mortality.slope_80plus"], b)
    q = p["mortality.q_background"] + np.where(age > 80.0, q80 * np.exp(b * (age - 80.0)), q70 * np.exp(b * (age - 70.0)))
    q = np.where(age < 1, p["mortality.q_infant"], q)
    return np.clip(q, 0.0, 0.6)


def mortality_deprivation_rr(age: np.ndarray, decile: np.ndarray, p, male: np.ndarray) -> np.ndarray:
    """Decile rate ratio (sex-specific): the under-75 gradient fades to the 80+ gradient between 75 and 80."""
    w = np.clip((np.asarray(age, dtype=float) - 75.0) / 5.0, 0.0, 1.0)
    male = np.asarray(male, dtype=bool)

    def by_sex(name: str) -> np.ndarray:
        return np.where(male, np.log(p[f"mortality.{name}_male"]), np.log(p[f"mortality.{name}_female"]))

    log_rr = (1 - w) * by_sex("deprivation_rr_under75") + w * by_sex("deprivation_rr_80plus")
    return np.exp(log_rr * decile_position(decile))
