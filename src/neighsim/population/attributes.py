"""Residents' health at the start: smoking, long-term conditions and frailty (docs/evidence_notes.md B-D).

Each attribute is drawn from a probability that depends on age, sex, deprivation and the resident's
other attributes. The same probability, evaluated one year older with everything else held, is what the
same people's prevalence should be a year on if the cross-sectional curve is to hold: the sums of both,
by age x sex x decile cell (StartTargets), are what the engine derives its onset and progression rates
from (processes/reference.py), so that age-specific prevalence is stationary (docs/validation.md).
Draws come from the counter-based streams keyed on the resident id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..agents.cohort import CONDITIONS, Cohort
from ..parameters import ParameterSet
from ..processes.common import base_annual_qx, decile_position, decile_rr, expit, interp_age, logit
from ..processes.tables import N_ASD, asd_index
from ..rng import Streams, poisson_from_uniform

SMOKING_AGE_EDGES = np.array([25, 35, 45, 55, 65])  # bands 18-24, 25-34, 35-44, 45-54, 55-64, 65+
PREVALENCE_KEY = {"htn": "hypertension", "cvd": "cvd", "copd": "copd", "diabetes": "diabetes"}
FRAILTY_MIN_AGE = 50  # the eFI prevalence is published from 50 (Fogg et al. 2021)
OTHER_LTC_CAP = 8


@dataclass
class StartTargets:
    """Sums by age x sex x decile cell of each resident's probabilities now and one year older.

    now/next keys: the four conditions (prevalence), 'other_ltcs' (expected count) and 'frailty'
    ([cells, 4]: fit, mild, moderate, severe shares)."""

    count: np.ndarray = field(default_factory=lambda: np.zeros(N_ASD))
    now: dict[str, np.ndarray] = field(default_factory=dict)
    next: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, key: str, asd: np.ndarray, now: np.ndarray, nxt: np.ndarray) -> None:
        def sums(v: np.ndarray) -> np.ndarray:
            if v.ndim == 1:
                return np.bincount(asd, weights=v, minlength=N_ASD)
            return np.stack([np.bincount(asd, weights=v[:, k], minlength=N_ASD) for k in range(v.shape[1])], 1)

        self.now[key], self.next[key] = sums(now), sums(nxt)


@dataclass
class FrailtyFit:
    """Intercept and age slope of the any-frailty logit and the two severity cut-points, solved on the
    whole ICS so that the published prevalences hold for this population (not a reference mix)."""

    alpha: float
    beta: float
    cuts: tuple[float, float]  # logits of P(moderate or severe | frail) and P(severe | frail) at 75


# --- smoking ---------------------------------------------------------------------------------------
def smoking_decile_factor(decile: np.ndarray, p: ParameterSet) -> np.ndarray:
    """Prevalence ratio of a decile to the mean of deciles (geometric interpolation of ONS 1 and 10)."""
    d1, d10 = p["smoking.prevalence_decile1"], p["smoking.prevalence_decile10"]
    prev = d1 * (d10 / d1) ** ((np.arange(1, 11) - 1) / 9.0)
    return (prev / prev.mean())[np.asarray(decile, dtype=int) - 1]


def older_smoker_profile(p: ParameterSet, agef: np.ndarray, male: np.ndarray, rr: float) -> np.ndarray:
    """Relative prevalence by age within 65+ of a group dying at rr times the average rate: its share
    falls with the extra deaths since 65 (so that survival, not a flat 65+ figure, shapes the curve);
    normalised by the caller to the published 65+ figure."""
    years = np.arange(65, 121, dtype=float)
    q = np.stack([base_annual_qx(years, np.full(len(years), m), p) for m in (False, True)])  # [sex, age]
    cum = np.concatenate([np.zeros((2, 1)), np.cumsum(-np.log1p(-q), axis=1)[:, :-1]], axis=1)
    idx = np.clip(agef.astype(int) - 65, 0, len(years) - 1)
    return np.where(agef >= 65, np.exp(-(rr - 1.0) * cum[male.astype(int), idx]), 1.0)


def assign_smoking(c: Cohort, p: ParameterSet, s: Streams, ids, agef, dec) -> None:
    adult = agef >= 18
    band = np.searchsorted(SMOKING_AGE_EDGES, agef, side="right")
    cur = p["smoking.prevalence_by_age"][band] * smoking_decile_factor(dec, p)
    ex = p["smoking.ex_smoker_by_age"][band]
    older = agef >= 65
    for arr, rr in ((cur, p["mortality.smoking_rr_current"]), (ex, p["mortality.smoking_rr_ex"])):
        shape = older_smoker_profile(p, agef, c.male, rr)
        arr[older] *= shape[older] / shape[older].mean()
    u = s.uniform("synth.smoking", 0, ids)
    status = np.where(u < cur, 1, np.where(u < cur + ex, 2, 0))
    c["smoking"] = np.where(adult, status, 0)
    # Ex-smokers quit between 0 and (age - 18) years ago, uniformly (assumption).
    uq = s.uniform("synth.quit_time", 0, ids)
    months_ago = (uq * np.maximum(agef - 18, 0.5) * 12).astype(np.int64)
    c["quit_step"] = np.where(c.smoking == 2, -1 - np.minimum(months_ago, 30000), -32000)


def smoking_or(smoking: np.ndarray, cur: np.ndarray, ex: np.ndarray, mix=(0.13, 0.25)) -> np.ndarray:
    """Odds multiplier for smoking relative to an England-average smoking mix (so curves stay averages)."""
    ref = (1 - mix[0] - mix[1]) + mix[0] * cur + mix[1] * ex
    return np.where(smoking == 1, cur, np.where(smoking == 2, ex, 1.0)) / ref


# --- long-term conditions --------------------------------------------------------------------------
def condition_probability(p: ParameterSet, k: int, agef, male, dec, smoking, cidr_resid) -> np.ndarray:
    """Chance of having condition k at age agef (deprivation brings the age curve earlier)."""
    cond = CONDITIONS[k]
    eff_age = agef + p["conditions.deprivation_age_shift"] * decile_position(dec)
    prev = interp_age(eff_age, p["conditions.age_midpoints"], p[f"conditions.prevalence_{PREVALENCE_KEY[cond]}"])
    lo = logit(prev) + np.where(male, 0.5, -0.5) * np.log(p["conditions.sex_or_male"][k])
    lo += np.log(smoking_or(smoking, p["conditions.smoking_hr_current"][k], p["conditions.smoking_hr_ex"][k]))
    lo += p["conditions.cidr_exponent"] * cidr_resid
    if cond == "copd":
        lo += np.log(decile_rr(dec, p["conditions.copd_deprivation_rr"]))
    return np.where(prev > 0, expit(lo), 0.0)


def other_ltc_mean(p: ParameterSet, agef, dec) -> np.ndarray:
    eff_age = agef + p["conditions.deprivation_age_shift"] * decile_position(dec)
    return interp_age(eff_age, p["conditions.age_midpoints"], p["conditions.other_ltc_mean"])


def assign_conditions(c: Cohort, p: ParameterSet, s: Streams, ids, agef, dec, cidr_resid,
                      targets: StartTargets, asd: np.ndarray) -> None:
    undiag = p["conditions.undiagnosed_share"]
    for k, cond in enumerate(CONDITIONS):
        prob = condition_probability(p, k, agef, c.male, dec, c.smoking, cidr_resid)
        targets.add(cond, asd, prob, condition_probability(p, k, agef + 1, c.male, dec, c.smoking, cidr_resid))
        has = s.uniform(f"synth.{cond}", 0, ids) < prob
        c[cond] = has
        c[f"{cond}_dx"] = has & (s.uniform(f"synth.{cond}.dx", 0, ids) >= undiag[k])
    lam = other_ltc_mean(p, agef, dec)
    targets.add("other_ltcs", asd, lam, other_ltc_mean(p, agef + 1, dec))
    c["other_ltcs"] = np.minimum(poisson_from_uniform(lam, s.uniform("synth.other_ltcs", 0, ids)), OTHER_LTC_CAP)


# --- frailty ---------------------------------------------------------------------------------------
def reference_ltc_count(p: ParameterSet, agef) -> np.ndarray:
    """England-average number of long-term conditions at this age: centres the frailty terms."""
    mids = p["conditions.age_midpoints"]
    return sum(interp_age(agef, mids, p[f"conditions.prevalence_{k}"]) for k in PREVALENCE_KEY.values()) + \
        interp_age(agef, mids, p["conditions.other_ltc_mean"])


def frailty_terms(p: ParameterSet, agef, male, dec, nltc) -> tuple[np.ndarray, np.ndarray]:
    """The resident's own logit terms: sex, deprivation and conditions (for any frailty), and the
    conditions' lean towards severe (for severity)."""
    extra = nltc - reference_ltc_count(p, agef)
    own = np.log(p["frailty.female_or"]) * np.where(male, -0.5, 0.5)
    own = own + np.log(p["frailty.deprivation_or_decile1"]) * decile_position(dec) + np.log(p["frailty.ltc_or"]) * extra
    return own, p["frailty.severity_ltc_slope"] * extra


def frailty_shares(p: ParameterSet, fit: FrailtyFit, agef, own, tilt) -> np.ndarray:
    """[n, 4] chances of fit, mild, moderate, severe."""
    frail = np.where(agef >= FRAILTY_MIN_AGE, expit(fit.alpha + fit.beta * (agef - 65.0) + own), 0.0)
    lean = p["frailty.severity_age_slope"] * (agef - 75.0) + tilt
    ge_mod = expit(fit.cuts[0] + lean)
    severe = expit(fit.cuts[1] + lean)
    return np.stack([1 - frail, frail * (1 - ge_mod), frail * (ge_mod - severe), frail * severe], axis=1)


def _newton_shift(target: float, lo: np.ndarray, weight: np.ndarray) -> float:
    """x such that the weighted mean of expit(lo + x) equals target."""
    x = 0.0
    for _ in range(60):
        e = expit(lo + x)
        f = np.average(e, weights=weight) - target
        if abs(f) < 1e-12:
            break
        x -= f / max(np.average(e * (1 - e), weights=weight), 1e-12)
    return float(x)


def fit_frailty(p: ParameterSet, agef, own, tilt) -> FrailtyFit:
    """Solve the logit intercept and age slope so that any frailty is prevalence_50_64 at 50-64 and
    prevalence_65plus at 65+ (Fogg et al. 2021), then the severity cut-points so that the shares among
    the frail at 65+ are severity_among_frail, all over this population's own ages and conditions."""
    b50 = (agef >= 50) & (agef < 65)
    b65 = agef >= 65
    alpha, beta = logit(np.array(p["frailty.prevalence_65plus"])).item(), 0.06
    for _ in range(30):  # two equations, two unknowns: alternate one-dimensional solves
        a50 = _newton_shift(p["frailty.prevalence_50_64"], beta * (agef[b50] - 65.0) + own[b50], np.ones(b50.sum()))
        a65 = _newton_shift(p["frailty.prevalence_65plus"], beta * (agef[b65] - 65.0) + own[b65], np.ones(b65.sum()))
        # the slope that moves both intercepts together: a secant step on their difference
        mean50, mean65 = agef[b50].mean() - 65.0, agef[b65].mean() - 65.0
        step = (a50 - a65) / (mean50 - mean65)
        alpha = a65
        if abs(step) < 1e-9:
            break
        beta += step
    frail = expit(alpha + beta * (agef[b65] - 65.0) + own[b65])
    lean = p["frailty.severity_age_slope"] * (agef[b65] - 75.0) + tilt[b65]
    sev = np.asarray(p["frailty.severity_among_frail"])
    cut_mod = _newton_shift(sev[1] + sev[2], lean, frail)
    cut_sev = _newton_shift(sev[2], lean, frail)
    return FrailtyFit(alpha, beta, (cut_mod, cut_sev))


def assign_frailty(c: Cohort, p: ParameterSet, s: Streams, ids, agef, dec, targets: StartTargets,
                   asd: np.ndarray) -> FrailtyFit:
    nltc = c.ltc_count().astype(float)
    own, tilt = frailty_terms(p, agef, c.male, dec, nltc)
    fit = fit_frailty(p, agef, own, tilt)
    shares = frailty_shares(p, fit, agef, own, tilt)
    # one year older with the same conditions relative to their age: the cohort's path along the curve
    targets.add("frailty", asd, shares, frailty_shares(p, fit, agef + 1, own, tilt))
    cum = np.cumsum(shares, axis=1)
    u = s.uniform("synth.frailty", 0, ids)
    c["frailty"] = (u[:, None] >= cum[:, :3]).sum(axis=1)
    return fit


def assign_health(c: Cohort, p: ParameterSet, s: Streams, ids, agef, dec, cidr_resid
                  ) -> tuple[StartTargets, FrailtyFit]:
    """Smoking, conditions and frailty of every resident; the cells' targets for the engine."""
    asd = asd_index(agef, c.male, dec)
    targets = StartTargets(count=np.bincount(asd, minlength=N_ASD).astype(float))
    assign_smoking(c, p, s, ids, agef, dec)
    assign_conditions(c, p, s, ids, agef, dec, cidr_resid, targets, asd)
    fit = assign_frailty(c, p, s, ids, agef, dec, targets, asd)
    return targets, fit
