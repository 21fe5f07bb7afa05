"""Falls at 65+, falls admissions and hip fractures."""

from __future__ import annotations

import numba as nb
import numpy as np

from .base import Process, Result, Rows, State, slot_events
from .common import flag, rate_to_prob
from .kernels import JIT, U, candidates, uniform

REFERENCE_FRAILTY_65 = np.array([0.55, 0.31, 0.11, 0.03])  # eFI shares at 65+ used to centre frailty RRs
SLACK = 1.0 + 1e-9


@nb.njit(**JIT)
def _fallers(lo, hi, out, ids, alive, age_years, frailty, last_fall, key, t, base, recent_rr):
    """Residents 65+ whose uniform lies under an upper bound (rate/12) of their chance of a fall;
    base[age, frailty] holds the rate with the modifiers' bound and the slack."""
    k = 0
    for r in range(U(lo), U(hi)):
        age = min(age_years[r], 120)
        if age >= 65 and alive[r]:
            rate = base[U(age), U(frailty[r])]
            if t - last_fall[r] <= 12:
                rate *= recent_rr
            if uniform(ids[r], key) < rate:
                out[k] = r
                k += 1
    return k


class Falls(Process):
    name = "falls"
    description = ("falls by age (a third at 65+, half at 80+), frailty and a recent fall; a share need "
                   "admission, some with a hip fracture")
    states = (State("last_fall_step", np.int16, -32000, "month of the last fall (-32000: none simulated)"),
              State("hip_fracture_step", np.int16, -32000, "month of the last hip fracture"))
    FALLS = Result("falls", "Falls", "falls")
    ADMISSIONS = Result("admissions_falls", "Falls admissions", "admissions")
    HIP_FRACTURES = Result("hip_fractures", "Hip fractures", "fractures")
    results = (FALLS, ADMISSIONS, HIP_FRACTURES)
    streams = ("falls", "falls.outcome")
    modifiers = ("falls.rate", "falls.admission", "falls.hip_fracture")
    events = ("fall", "admission", "fracture")

    def prepare(self, model) -> None:
        p = model.params
        ages = np.arange(121)
        annual = np.where(ages >= 80, p["falls.faller_annual_80"], p["falls.faller_annual_65"])
        rr = np.asarray(p["falls.frailty_rr"])
        self.base = np.where(ages >= 65, -np.log1p(-annual) / (REFERENCE_FRAILTY_65 @ rr), 0.0)
        self.frailty_rr = rr

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c, p, t = model.cohort, model.params, model.t
        bound = np.outer(self.base, self.frailty_rr) * model.modifier_bound("falls.rate") * (SLACK / 12.0)
        cand = candidates(_fallers, rows, c.n, c.id, c.alive, model.age, c.frailty, c.last_fall_step,
                          model.streams.key_u64("falls", t), t, bound, max(p["falls.previous_fall_rr"], 1.0))
        if len(cand) == 0:
            return
        u = model.draw("falls", cand)
        age = np.minimum(c.age_months[cand] // 12, 120)
        rate = self.base[age] * self.frailty_rr[c.frailty[cand]]
        recent = (t - c.last_fall_step[cand]) <= 12
        rate = rate * flag(recent, p["falls.previous_fall_rr"]) * model.modifier("falls.rate", cand)
        fallers = cand[u < rate_to_prob(rate)]
        if len(fallers) == 0:
            return
        c.last_fall_step[fallers] = t
        model.record(self.FALLS.name, fallers)
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
            model.record(self.ADMISSIONS.name, admitted)
            model.emit("admission", admitted, cause="falls")
        fractures = fallers[hip]
        if len(fractures):
            c.hip_fracture_step[fractures] = t
            model.record(self.HIP_FRACTURES.name, fractures)
            model.emit("fracture", fractures)
