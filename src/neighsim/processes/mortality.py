"""Deaths: England-average curve by age and sex, deprivation gradient, smoking (with time since
quitting), long-term conditions, frailty, cold homes in winter, and excess mortality after a hip fracture."""

from __future__ import annotations

import numba as nb
import numpy as np

from .admissions import cold_home_factor
from .base import Modifier, Process, Result, Rows, State
from .common import flag, rate_to_prob
from .kernels import JIT, U, candidates, uniform
from .smoking import smoking_rate_ratio
from .tables import death_hazard

SLACK = 1.0 + 1e-9


@nb.njit(**JIT)
def _dying(lo, hi, out, ids, alive, asd, hip_step, key, t, loose, own, status_start, smk, htn, cvd, copd, diabetes,
           ltc_rr, frailty, frailty_hr, lsoa, local):
    """A loose bound (loose[asd]: the table rate times the largest multipliers and the modifiers' bound,
    with the slack and the 1/12), then the resident's own (own = modifiers' bound / largest multipliers);
    everyone within a year of a hip fracture is a candidate (their excess is added separately)."""
    k = 0
    for r in range(U(lo), U(hi)):
        if not alive[r]:
            continue
        if hip_step[r] <= t - 12:
            u = uniform(ids[r], key)
            ub = loose[U(asd[r])]
            if u >= ub:
                continue
            h = smk[U(status_start[r])] * frailty_hr[U(frailty[r])] * local[U(lsoa[r])] * own
            h *= (1.0 + (ltc_rr[0] - 1.0) * htn[r]) * (1.0 + (ltc_rr[1] - 1.0) * cvd[r])
            h *= (1.0 + (ltc_rr[2] - 1.0) * copd[r]) * (1.0 + (ltc_rr[3] - 1.0) * diabetes[r])
            if u >= ub * h:
                continue
        out[k] = r
        k += 1
    return k


class Mortality(Process):
    name = "mortality"
    description = ("deaths by age, sex and IMD decile (ONS life-table shape, sex-specific gradient), the LSOA's "
                   "years of potential life lost (IoD2019), smoking, conditions, eFI frailty (Clegg 2016) "
                   "in cold (fuel-poor) homes in winter, and after hip fracture (Hawley 2016)")
    states = (State("death_step", np.int16, -1, "month of death (-1: alive or left)"),)
    DEATHS = Result("deaths", "Deaths", "deaths", lifetable=True)
    results = (DEATHS,)
    streams = ("mortality",)
    modifiers = ("mortality", "mortality.hip_fracture")
    events = ("death",)

    def prepare(self, model) -> None:
        p, ref = model.params, model.reference
        self.frailty_hr = np.asarray(p["mortality.frailty_hr"])
        c = ref.cohort
        smk = smoking_rate_ratio(c.smoking, c.quit_step, 0, p["mortality.quit_benefit_halflife_years"],
                                 p["mortality.smoking_rr_current"], p["mortality.smoking_rr_ex"])
        start = self.individual(p, smk, c.htn, c.cvd, c.copd, c.diabetes, c.frailty, ref.factor("mortality"))
        self.cold_rr = float(p["mortality.cold_home_winter_rr"])
        year = float(np.mean([self.cold_factor(m) for m in range(1, 13)]))  # a fuel-poor home's annual mean
        self.table = death_hazard(p) / ref.mean(start * flag(c.fuel_poor, year))
        model.add_modifier("mortality", Modifier(self._cold_homes, self.cold_rr, "mortality:cold_homes"))
        self.max_multiplier = (max(p["mortality.smoking_rr_current"], p["mortality.smoking_rr_ex"], 1.0)
                               * np.prod(np.maximum(p["mortality.ltc_rr"], 1.0)) * self.frailty_hr.max()
                               * model.lsoa_mortality.max())

    def cold_factor(self, calendar_month: int) -> float:
        """Mortality ratio of a fuel-poor (cold) home this month."""
        return cold_home_factor(self.cold_rr, calendar_month)

    def _cold_homes(self, model, rows) -> np.ndarray | float:
        """The winter excess of deaths in fuel-poor homes, as a hazard modifier of 'mortality' so that the
        engine's thinning bound includes it (a warm-homes intervention removes it for treated homes)."""
        f = self.cold_factor(model.calendar_month)
        return 1.0 if f == 1.0 else flag(model.cohort.fuel_poor[rows], f)

    def individual(self, p, smoking_rr, htn, cvd, copd, diabetes, frailty, local) -> np.ndarray:
        """A resident's own rate ratio: smoking, conditions, frailty and the LSOA's premature mortality."""
        h = smoking_rr * self.frailty_hr[frailty] * local
        for k, has in enumerate((htn, cvd, copd, diabetes)):
            h = h * flag(has, p["mortality.ltc_rr"][k])
        return h

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c, p, t = model.cohort, model.params, model.t
        mod = model.modifier_bound("mortality")
        rc, rx = p["mortality.smoking_rr_current"], p["mortality.smoking_rr_ex"]
        smk = np.array([1.0, rc, max(rc, rx)])  # by month-start status: the ex-smoker ratio lies between
        loose = self.table * (self.max_multiplier * mod * SLACK / 12.0)
        cand = candidates(_dying, rows, c.n, c.id, c.alive, model.asd, c.hip_fracture_step,
                          model.streams.key_u64("mortality", t), t, loose, mod / (self.max_multiplier * mod),
                          model.process("smoking").status_start, smk, c.htn, c.cvd, c.copd, c.diabetes,
                          np.asarray(p["mortality.ltc_rr"], dtype=np.float64), c.frailty, self.frailty_hr, c.lsoa,
                          model.lsoa_mortality)
        u = model.draw("mortality", cand)
        if len(cand) == 0:
            return
        # the exact thinning test, then the full hazard (the same arithmetic for every resident)
        exact = rate_to_prob(self.table[model.asd[cand]] * self.max_multiplier * model.modifier_bound("mortality"))
        keep = np.flatnonzero((u < exact) | (c.hip_fracture_step[cand] > t - 12))
        rows, u = cand[keep], u[keep]
        smk = model.process("smoking").multiplier(model, rows, p["mortality.smoking_rr_current"],
                                                  p["mortality.smoking_rr_ex"])
        h = self.table[model.asd[rows]] * self.individual(p, smk, c.htn[rows], c.cvd[rows], c.copd[rows],
                                                          c.diabetes[rows], c.frailty[rows],
                                                          model.lsoa_mortality[c.lsoa[rows]])
        h = h * model.modifier("mortality", rows)
        prob = rate_to_prob(h)
        hip = c.hip_fracture_step[rows]
        recent = np.flatnonzero(hip > t - 12)
        if len(recent):
            since = t - hip[recent].astype(np.int32)
            sub_rows = rows[recent]
            excess = np.where(since == 0, p["mortality.hip_fracture_excess_first_month"],
                              p["mortality.hip_fracture_excess_monthly"])
            excess = np.minimum(excess * model.modifier("mortality.hip_fracture", sub_rows), 1.0)
            prob[recent] = 1 - (1 - prob[recent]) * (1 - excess)
        dead = rows[c.alive[rows] & (u < prob)]
        if len(dead):
            c.alive[dead] = False
            c.death_step[dead] = t
            model.record(self.DEATHS.name, dead)
            model.record_lt(self.DEATHS.name, dead)
            model.emit("death", dead)

