"""Falls at 65+, falls admissions and hip fractures."""

from __future__ import annotations

import numba as nb
import numpy as np

from .base import Process, Result, Rows, State, slot_events
from .common import flag, rate_to_prob
from .kernels import JIT, U, candidates, uniform
from .tables import grid

SLACK = 1.0 + 1e-9


@nb.njit(**JIT)
def _fallers(lo, hi, out, ids, alive, asd, frailty, last_fall, key, t, base, frailty_rr, recent_rr):
    """Residents 65+ whose uniform lies under an upper bound (rate/12) of their chance of a fall;
    base[asd] holds the rate (zero under 65) with the modifiers' bound and the slack."""
    k = 0
    for r in range(U(lo), U(hi)):
        rate = base[U(asd[r])]
        if rate > 0.0 and alive[r]:
            rate *= frailty_rr[U(frailty[r])]
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
              State("hip_fracture_step", np.int16, -32000, "month of the last hip fracture"),
              State("fall_admission_step", np.int16, -32000,
                    "month of the last fall admitted without a hip fracture (an injurious fall)"))
    FALLS = Result("falls", "Falls", "falls")
    ADMISSIONS = Result("admissions_falls", "Falls admissions", "admissions")
    HIP_FRACTURES = Result("hip_fractures", "Hip fractures", "fractures")
    results = (FALLS, ADMISSIONS, HIP_FRACTURES)
    streams = ("falls", "falls.outcome", "falls.history", "falls.history.hip", "falls.history.admission")
    modifiers = ("falls.rate", "falls.admission", "falls.hip_fracture")
    events = ("fall", "admission", "fracture")

    def prepare(self, model) -> None:
        """Rates by age from the published share of fallers: the hazard F = 1 - exp(-h) is shared out over
        the frailty categories (normalised on the start's mix at each age) and over those who fell in the
        past year (a share F of the age group). The start is given a past year of falls drawn at the same
        rates, so that the recent-fall ratio and post-fracture deaths hold from the first month."""
        p = model.params
        self.frailty_rr = np.asarray(p["falls.frailty_rr"])
        faller, cell_hazard = self.cell_hazard(p, model.reference)
        recent = 1 + (p["falls.previous_fall_rr"] - 1) * faller
        self.base = cell_hazard / recent  # by asd: the hazard of a resident of mean frailty who did not fall
        self._past_year(model, recent)

    @staticmethod
    def cell_hazard(p, ref) -> tuple[np.ndarray, np.ndarray]:
        """(published share of fallers, annual hazard at the cell's mean frailty) by asd: zero under 65."""
        age, _, _ = grid()
        faller = np.where(age >= 80, p["falls.faller_annual_80"], p["falls.faller_annual_65"])
        mean_rr = ref.mean(np.asarray(p["falls.frailty_rr"])[ref.cohort.frailty])
        return faller, np.where(age >= 65, -np.log1p(-faller) / mean_rr, 0.0)

    def _past_year(self, model, recent: np.ndarray) -> None:
        """Falls and hip fractures of the starting residents over the 12 months before the start."""
        c, p = model.cohort, model.params
        rows = np.flatnonzero(c.alive & (c.entry_step < 0) & (model.age >= 65))
        if len(rows) == 0:
            return
        asd = model.asd[rows]
        annual = self.base[asd] * self.frailty_rr[c.frailty[rows]] * recent[asd]
        u = model.streams.uniform("falls.history", 0, c.id[rows])
        fell = u < -np.expm1(-annual)
        months_ago = 1 + (u / np.maximum(-np.expm1(-annual), 1e-12) * 12).astype(np.int16)  # 1..12
        fallers = rows[fell]
        c.last_fall_step[fallers] = -np.minimum(months_ago[fell], 12)
        hip = self.hip_chance(p, c.male[fallers]) > model.streams.uniform("falls.history.hip", 0, c.id[fallers])
        c.hip_fracture_step[fallers[hip]] = c.last_fall_step[fallers[hip]]
        other = fallers[~hip]  # admitted without a hip fracture, at the same chance as in the projection
        p_other = max(p["falls.admission_per_fall"] - p["falls.hip_fracture_per_fall"], 0.0)
        adm = other[model.streams.uniform("falls.history.admission", 0, c.id[other]) < p_other]
        c.fall_admission_step[adm] = c.last_fall_step[adm]

    @staticmethod
    def annual_chances(p, ref) -> tuple[np.ndarray, np.ndarray]:
        """Chance of at least one fall, and of a hip fracture, in a year [asd, frailty category] at the
        start's rates (what Frailty normalises its progression on): the same base rate as prepare."""
        _, base = Falls.cell_hazard(p, ref)  # recent falls included
        rate = base[:, None] * np.asarray(p["falls.frailty_rr"])[None, :]
        return -np.expm1(-rate), -np.expm1(-rate * p["falls.hip_fracture_per_fall"])

    @staticmethod
    def hip_chance(p, male: np.ndarray) -> np.ndarray:
        """Chance a fall breaks a hip (higher in women)."""
        hip_rr = p["falls.female_hip_rr"]
        return p["falls.hip_fracture_per_fall"] * np.where(male, hip_rr**-0.5, hip_rr**0.5)

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c, p, t = model.cohort, model.params, model.t
        bound = self.base * model.modifier_bound("falls.rate") * (SLACK / 12.0)
        cand = candidates(_fallers, rows, c.n, c.id, c.alive, model.asd, c.frailty, c.last_fall_step,
                          model.streams.key_u64("falls", t), t, bound, self.frailty_rr,
                          max(p["falls.previous_fall_rr"], 1.0))
        if len(cand) == 0:
            return
        u = model.draw("falls", cand)
        rate = self.base[model.asd[cand]] * self.frailty_rr[c.frailty[cand]]
        recent = (t - c.last_fall_step[cand]) <= 12
        rate = rate * flag(recent, p["falls.previous_fall_rr"]) * model.modifier("falls.rate", cand)
        fallers = cand[u < rate_to_prob(rate)]
        if len(fallers) == 0:
            return
        c.last_fall_step[fallers] = t
        model.record(self.FALLS.name, fallers)
        model.emit("fall", fallers)
        p_hip = self.hip_chance(p, c.male[fallers]) * model.modifier("falls.hip_fracture", fallers)
        p_other = np.maximum(p["falls.admission_per_fall"] - p["falls.hip_fracture_per_fall"], 0.0)
        p_other = p_other * model.modifier("falls.admission", fallers)
        hip, other = slot_events(model.draw("falls.outcome", fallers), [p_hip, p_other])
        admitted = fallers[hip | other]
        if len(admitted):
            model.record(self.ADMISSIONS.name, admitted)
            model.emit("admission", admitted, cause="falls")
        injured = fallers[other]
        if len(injured):
            c.fall_admission_step[injured] = t
        fractures = fallers[hip]
        if len(fractures):
            c.hip_fracture_step[fractures] = t
            model.record(self.HIP_FRACTURES.name, fractures)
            model.emit("fracture", fractures)
