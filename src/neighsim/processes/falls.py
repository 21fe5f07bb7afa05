"""Falls at 65+, falls admissions and hip fractures."""

from __future__ import annotations

import numpy as np

from .base import Process, Rows, select, slot_events
from .common import flag, rate_to_prob

REFERENCE_FRAILTY_65 = np.array([0.55, 0.31, 0.11, 0.03])  # eFI shares at 65+ used to centre frailty RRs


class Falls(Process):
    name = "falls"
    streams = ("falls", "falls.outcome")
    modifiers = ("falls.rate", "falls.admission", "falls.hip_fracture")
    events = ("fall", "admission", "fracture")
    description = ("falls by age (a third at 65+, half at 80+), frailty and a recent fall; a share need "
                   "admission, some with a hip fracture")

    def prepare(self, model) -> None:
        p = model.params
        ages = np.arange(121)
        annual = np.where(ages >= 80, p["falls.faller_annual_80"], p["falls.faller_annual_65"])
        rr = np.asarray(p["falls.frailty_rr"])
        self.base = np.where(ages >= 65, -np.log1p(-annual) / (REFERENCE_FRAILTY_65 @ rr), 0.0)
        self.frailty_rr = rr

    def default_rows(self, model) -> Rows:
        return model.ctx.rows_65plus

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c, p, t = model.cohort, model.params, model.t
        age = np.minimum(c.age_months[rows] // 12, 120)
        rate = self.base[age] * self.frailty_rr[c.frailty[rows]]
        recent = (t - c.last_fall_step[rows]) <= 12
        rate = rate * flag(recent, p["falls.previous_fall_rr"]) * model.modifier("falls.rate", rows)
        u = model.draw("falls", rows)
        fallers = select(rows, c.alive[rows] & (age >= 65) & (u < rate_to_prob(rate)))
        if len(fallers) == 0:
            return
        c.last_fall_step[fallers] = t
        model.record("falls", fallers)
        model.emit("fall", fallers)
        female = ~c.male[fallers]
        hip_rr = p["falls.female_hip_rr"]
        p_hip = p["falls.hip_fracture_per_fall"] * np.where(female, hip_rr**0.5, hip_rr**-0.5)
        p_hip = p_hip * model.modifier("falls.hip_fracture", fallers)
        p_other = np.maximum(p["falls.admission_per_fall"] - p["falls.hip_fracture_per_fall"], 0.0)
        p_other = p_other * model.modifier("falls.admission", fallers)
        hip, other = slot_events(model.draw("falls.outcome", fallers), [p_hip, p_other])
        admitted = fallers[hip | other]
        if len(admitted):
            model.record("admissions_falls", admitted)
            model.emit("admission", admitted, cause="falls")
        fractures = fallers[hip]
        if len(fractures):
            c.hip_fracture_step[fractures] = t
            model.record("hip_fractures", fractures)
            model.emit("fracture", fractures)
