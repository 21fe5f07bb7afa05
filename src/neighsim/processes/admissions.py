"""Emergency admissions by cause (respiratory, cardiovascular, other) with winter seasonality, cold homes,
long-term conditions, smoking and frailty. Falls admissions come from the falls process."""

from __future__ import annotations

import numpy as np

from .base import Process, Rows, slot_split, take
from .common import flag, rate_to_prob
from .tables import admission_tables

CAUSES = ("respiratory", "cardiovascular", "other")


def winter_curve(calendar_month: int) -> float:
    """cos shape peaking in January (1.0) and at its lowest in July (-1.0)."""
    return float(np.cos(2 * np.pi * (calendar_month - 1) / 12.0))


class Admissions(Process):
    name = "admissions"
    streams = ("admissions",)
    modifiers = tuple(f"admissions.{c}" for c in CAUSES)
    events = ("admission",)
    description = ("emergency admissions by cause: Devon rates by age and IMD quintile, LSOA acute morbidity, "
                   "conditions, smoking, frailty, winter peak, cold homes in winter")

    def prepare(self, model) -> None:
        self.tables = admission_tables(model.params)
        self.ltc_power = model.params["admissions.ltc_rr_other"] ** np.arange(16)
        p = model.params
        self.frailty_hr = np.asarray(p["admissions.frailty_hr"])
        common = self.frailty_hr.max() * model.lsoa_acute.max()
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

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c, p = model.cohort, model.params
        w = winter_curve(model.calendar_month)
        cold_rr = 1 + (p["admissions.cold_home_rr"] - 1) * max(w, 0.0)
        slots, frac = slot_split(model.draw("admissions", rows), len(CAUSES))
        for cause, pos in zip(CAUSES, slots, strict=True):
            if len(pos) == 0:
                continue
            sub = take(rows, pos)
            asd = model.ctx.asd[sub]
            # exact thinning against an upper bound of the cause's probability
            ub = self.tables[cause][asd] * self.bound[cause] * model.modifier_bound(f"admissions.{cause}")
            if cause == "other":
                ub = ub * self.ltc_power[model.ctx.nltc[sub]]
            keep = np.flatnonzero(frac[pos] < len(CAUSES) * rate_to_prob(ub))
            pos, sub, asd = pos[keep], sub[keep], asd[keep]
            h = self.tables[cause][asd] * self.frailty_hr[c.frailty[sub]] * model.lsoa_acute[c.lsoa[sub]] * c.alive[sub]
            current = model.ctx.current[sub]
            if cause == "respiratory":
                h = h * flag(c.fuel_poor[sub], cold_rr) * (1 + p["admissions.winter_amplitude_respiratory"] * w)
                h = h * flag(c.copd[sub], p["admissions.copd_rr_respiratory"])
                h = h * flag(current, p["admissions.smoking_rr_respiratory"])
            elif cause == "cardiovascular":
                h = h * flag(c.fuel_poor[sub], cold_rr) * (1 + p["admissions.winter_amplitude_cardiovascular"] * w)
                h = h * flag(c.cvd[sub], p["admissions.cvd_rr_cardiovascular"])
                h = h * flag(c.htn[sub], p["admissions.htn_rr_cardiovascular"])
                h = h * flag(c.diabetes[sub], p["admissions.diabetes_rr_cardiovascular"])
                h = h * flag(current, p["admissions.smoking_rr_cardiovascular"])
            else:
                h = h * self.ltc_power[model.ctx.nltc[sub]]
            h = h * model.modifier(f"admissions.{cause}", sub)
            adm = sub[frac[pos] < len(CAUSES) * rate_to_prob(h)]
            if len(adm):
                model.record(f"admissions_{cause}", adm)
                model.emit("admission", adm, cause=cause)
