"""Deaths: England-average curve by age and sex, deprivation gradient, smoking (with time since
quitting), long-term conditions, frailty, and excess mortality after a hip fracture."""

from __future__ import annotations

import numpy as np

from ..agents.cohort import CONDITIONS
from .base import Process, Rows, select, take
from .common import flag, rate_to_prob
from .smoking import smoking_multiplier
from .tables import mortality_table


class Mortality(Process):
    name = "mortality"
    streams = ("mortality",)
    modifiers = ("mortality", "mortality.hip_fracture")
    events = ("death",)
    description = ("deaths by age, sex and IMD decile (ONS life-table shape), smoking, conditions, eFI "
                   "frailty (Clegg 2016) and after hip fracture (Hawley 2016)")

    def prepare(self, model) -> None:
        self.table = mortality_table(model.params)
        p = model.params
        self.frailty_hr = np.asarray(p["mortality.frailty_hr"])
        self.max_multiplier = (max(p["mortality.smoking_rr_current"], p["mortality.smoking_rr_ex"], 1.0)
                               * np.prod(np.maximum(p["mortality.ltc_rr"], 1.0)) * self.frailty_hr.max())

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c, p, t = model.cohort, model.params, model.t
        u = model.draw("mortality", rows)
        # Exact thinning: only residents whose uniform falls under an upper bound of their death
        # probability can die, so the full hazard is computed for those alone (same events).
        bound = rate_to_prob(self.table[model.ctx.asd[rows]] * self.max_multiplier * model.modifier_bound("mortality"))
        cand = np.flatnonzero((u < bound) | (c.hip_fracture_step[rows] > t - 12))
        rows, u = take(rows, cand), u[cand]
        h = self.table[model.ctx.asd[rows]]
        h = h * smoking_multiplier(model, rows, p["mortality.smoking_rr_current"], p["mortality.smoking_rr_ex"])
        ltc_rr = p["mortality.ltc_rr"]
        for k, cond in enumerate(CONDITIONS):
            h = h * flag(c[cond][rows], ltc_rr[k])
        h = h * self.frailty_hr[c.frailty[rows]] * model.modifier("mortality", rows)
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
        dead = select(rows, c.alive[rows] & (u < prob))
        if len(dead):
            c.alive[dead] = False
            c.death_step[dead] = t
            model.record("deaths", dead)
            model.record_lt("deaths", dead)
            model.emit("death", dead)
