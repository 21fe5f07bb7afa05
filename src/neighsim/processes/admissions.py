"""Emergency admissions by cause (respiratory, cardiovascular, other) with winter seasonality, cold homes,
long-term conditions, smoking and frailty. Falls admissions come from the falls process."""

from __future__ import annotations

import numba as nb
import numpy as np

from .base import Process, Result, Rows, State, slots_of
from .common import flag, rate_to_prob
from .kernels import JIT, U, candidates, slot_of, uniform
from .smoking import quit_decay
from .tables import admission_tables

CAUSES = ("respiratory", "cardiovascular", "other")
SLACK = 1.0 + 1e-9


def smoking_excess(status: np.ndarray, quit_step: np.ndarray, t: int, halflife_years: float) -> np.ndarray:
    """Share of the current-smoker excess of admission each resident carries: 1 for smokers, 0 for never
    smokers, and for ex-smokers an excess that halves every `halflife_years` since quitting (quitters
    before the projection decay from the quit month the synthesis gave them; never-set months, -32000,
    give 0)."""
    out = (status == 1).astype(np.float64)
    ex = np.flatnonzero(status == 2)
    if len(ex):
        out[ex] = quit_decay(quit_step[ex], t, halflife_years)
    return out


def winter_curve(calendar_month: int) -> float:
    """cos shape peaking in January (1.0) and at its lowest in July (-1.0)."""
    return float(np.cos(2 * np.pi * (calendar_month - 1) / 12.0))


def cold_home_factor(rr: float, calendar_month: int) -> float:
    """A fuel-poor (cold) home's ratio this month: rr at the January peak, scaled by the winter curve's
    positive part (1 from April to October). Admissions, deaths and warm homes all use this one shape."""
    return 1.0 + (rr - 1.0) * max(winter_curve(calendar_month), 0.0)


@nb.njit(**JIT)
def _admitted(lo, hi, out, ids, alive, asd, nltc, key, loose, own, ltc_power, frailty, frailty_hr, lsoa, lsoa_acute,
              fuel_poor, copd, cvd, htn, diabetes, status_start, cold_rr, winter, rr):
    """One uniform split into a slot per cause. The within-slot uniform is checked against a loose bound
    (loose[cause, asd] x the resident's frailty and LSOA factors: the table rate times the largest other
    multipliers and the modifiers' bound, with the slack and the 1/12), then against the resident's own
    hazard: the same factors as the exact test, with own[cause] = modifiers' bound / largest multipliers."""
    k = 0
    K = loose.shape[0]
    for r in range(U(lo), U(hi)):
        if not alive[r]:
            continue
        slot, frac = slot_of(uniform(ids[r], key), K)
        a = U(asd[r])
        personal = frailty_hr[U(frailty[r])] * lsoa_acute[U(lsoa[r])]
        other = ltc_power[U(nltc[r])]
        if frac >= K * loose[slot, a] * personal * (1.0 + (other - 1.0) * (slot == K - 1)):
            continue
        h = personal
        # a bound: an ex-smoker's ratio lies between 1 (never) and the current smoker's, so max(rr, 1)
        s = status_start[r]
        if slot == 0:  # respiratory
            h *= (1.0 + (cold_rr - 1.0) * fuel_poor[r]) * winter[0]
            h *= (1.0 + (rr[0] - 1.0) * copd[r]) * (rr[1] if s == 1 else (max(rr[1], 1.0) if s == 2 else 1.0))
        elif slot == 1:  # cardiovascular
            h *= (1.0 + (cold_rr - 1.0) * fuel_poor[r]) * winter[1]
            h *= (1.0 + (rr[2] - 1.0) * cvd[r]) * (1.0 + (rr[3] - 1.0) * htn[r])
            h *= (1.0 + (rr[4] - 1.0) * diabetes[r]) * (rr[5] if s == 1 else (max(rr[5], 1.0) if s == 2 else 1.0))
        else:
            h *= other
        if frac < K * loose[slot, a] * own[slot] * h:
            out[k] = r
            k += 1
    return k


class Admissions(Process):
    name = "admissions"
    description = ("emergency admissions by cause: Devon rates by age and IMD quintile, LSOA acute morbidity, "
                   "conditions, smoking, frailty, winter peak, cold homes in winter")
    states = (State("fuel_poor", np.bool_, False, "lives in a fuel-poor household (a cold home)"),)
    BY_CAUSE = {c: Result(f"admissions_{c}", f"{c.capitalize()} admissions" if c != "other"
                          else "Other emergency admissions", "admissions") for c in CAUSES}
    FUEL_POOR = Result("fuel_poor_residents", "Residents of fuel-poor homes (end of period)", "people",
                       kind="snapshot")
    results = (*BY_CAUSE.values(), FUEL_POOR)
    streams = ("admissions",)
    modifiers = tuple(f"admissions.{c}" for c in CAUSES)
    events = ("admission",)

    def prepare(self, model) -> None:
        p, ref = model.params, model.reference
        self.ltc_power = p["admissions.ltc_rr_other"] ** np.arange(16)
        self.frailty_hr = np.asarray(p["admissions.frailty_hr"])
        # the cells' mean multipliers at the start, with the winter and cold-home factors over a year
        months = [self.season(p, m) for m in range(1, 13)]
        year = {cause: tuple(np.mean([m[cause][k] for m in months]) for k in (0, 1)) for cause in CAUSES}
        c = ref.cohort
        self.halflife = float(p["admissions.quit_benefit_halflife_years"])
        current = smoking_excess(c.smoking, c.quit_step, 0, self.halflife)
        means = {cause: ref.mean(self.individual(p, cause, c, slice(None), current, ref.nltc, ref.factor("acute"),
                                                 year[cause])) for cause in CAUSES}
        self.tables = admission_tables(p, means)
        common = self.common = self.frailty_hr.max() * model.lsoa_acute.max()
        cold = max(p["admissions.cold_home_rr"], 1.0)

        def mx(*names: str) -> float:
            return float(np.prod([max(p[f"admissions.{n}"], 1.0) for n in names]))

        self.bound = {
            "respiratory": common * cold * (1 + abs(p["admissions.winter_amplitude_respiratory"]))
            * mx("copd_rr_respiratory", "smoking_rr_respiratory"),
            "cardiovascular": common * cold * (1 + abs(p["admissions.winter_amplitude_cardiovascular"]))
            * mx("cvd_rr_cardiovascular", "htn_rr_cardiovascular", "diabetes_rr_cardiovascular",
                 "smoking_rr_cardiovascular"),
            "other": common,
        }
        self.table_matrix = np.stack([self.tables[c] for c in CAUSES])

    @staticmethod
    def season(p, calendar_month: int) -> dict[str, tuple[float, float]]:
        """Each cause's factor this month for residents of warm and of fuel-poor homes: the winter peak,
        and in winter the cold-home ratio."""
        w = winter_curve(calendar_month)
        cold = cold_home_factor(p["admissions.cold_home_rr"], calendar_month)
        out = {"other": (1.0, 1.0)}
        for cause in ("respiratory", "cardiovascular"):
            winter = 1 + p[f"admissions.winter_amplitude_{cause}"] * w
            out[cause] = (winter, winter * cold)
        return out

    def individual(self, p, cause: str, c, rows, current, nltc, local, season: tuple[float, float]) -> np.ndarray:
        """A resident's own rate ratio for a cause (rows of cohort c; current: the share of the smoking
        excess each row carries, see smoking_excess; nltc, local: per row)."""
        h = self.frailty_hr[c.frailty[rows]] * local
        if cause == "respiratory":
            h = h * np.where(c.fuel_poor[rows], season[1], season[0])
            h = h * flag(c.copd[rows], p["admissions.copd_rr_respiratory"])
            h = h * flag(current, p["admissions.smoking_rr_respiratory"])
        elif cause == "cardiovascular":
            h = h * np.where(c.fuel_poor[rows], season[1], season[0])
            h = h * flag(c.cvd[rows], p["admissions.cvd_rr_cardiovascular"])
            h = h * flag(c.htn[rows], p["admissions.htn_rr_cardiovascular"])
            h = h * flag(c.diabetes[rows], p["admissions.diabetes_rr_cardiovascular"])
            h = h * flag(current, p["admissions.smoking_rr_cardiovascular"])
        else:
            h = h * self.ltc_power[nltc]
        return h

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c, p = model.cohort, model.params
        nltc = model.process("conditions").nltc
        smoking = model.process("smoking")
        status, quit = smoking.status_start, smoking.quit_start
        w = winter_curve(model.calendar_month)
        cold_rr = cold_home_factor(p["admissions.cold_home_rr"], model.calendar_month)
        season = self.season(p, model.calendar_month)
        mods = np.array([model.modifier_bound(f"admissions.{cause}") for cause in CAUSES])
        loose = np.array([self.bound[cause] for cause in CAUSES]) * mods
        winter = np.array([1 + p["admissions.winter_amplitude_respiratory"] * w,
                           1 + p["admissions.winter_amplitude_cardiovascular"] * w])
        rr = np.array([p[f"admissions.{k}"] for k in ("copd_rr_respiratory", "smoking_rr_respiratory",
                                                       "cvd_rr_cardiovascular", "htn_rr_cardiovascular",
                                                       "diabetes_rr_cardiovascular", "smoking_rr_cardiovascular")])
        # loose[cause, asd] x (frailty and LSOA factors) bounds every resident's hazard; loose x own x
        # (their own factors) is the resident's own bound
        loose_factor = np.array([self.bound[cause] / self.common for cause in CAUSES]) * mods
        loose = self.table_matrix * loose_factor[:, None] * (SLACK / 12.0)
        cand = candidates(_admitted, rows, c.n, c.id, c.alive, model.asd, nltc,
                          model.streams.key_u64("admissions", model.t), loose, mods / loose_factor, self.ltc_power,
                          c.frailty, self.frailty_hr, c.lsoa, model.lsoa_acute, c.fuel_poor, c.copd, c.cvd, c.htn,
                          c.diabetes, status, cold_rr, winter, rr)
        causes, fracs = slots_of(model.draw("admissions", cand), len(CAUSES))
        K = len(CAUSES)
        for k, cause in enumerate(CAUSES):
            pick = np.flatnonzero(causes == k)
            if len(pick) == 0:
                continue
            sub, frac = cand[pick], fracs[pick]
            asd = model.asd[sub]
            # the exact thinning test, then the full hazard (the same arithmetic for every resident)
            ub = self.tables[cause][asd] * self.bound[cause] * model.modifier_bound(f"admissions.{cause}")
            if cause == "other":
                ub = ub * self.ltc_power[nltc[sub]]
            keep = np.flatnonzero(frac < K * rate_to_prob(ub))
            sub, frac, asd = sub[keep], frac[keep], asd[keep]
            h = self.tables[cause][asd] * c.alive[sub] * self.individual(
                p, cause, c, sub, smoking_excess(status[sub], quit[sub], model.t, self.halflife), nltc[sub], model.lsoa_acute[c.lsoa[sub]], season[cause])
            h = h * model.modifier(f"admissions.{cause}", sub)
            adm = sub[frac < K * rate_to_prob(h)]
            if len(adm):
                model.record(self.BY_CAUSE[cause].name, adm)
                model.emit("admission", adm, cause=cause)

    def snapshot(self, model) -> None:
        model.count_living(self.FUEL_POOR.name, model.cohort.fuel_poor)
