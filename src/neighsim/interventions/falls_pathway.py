"""Falls pathway: case-finding, multifactorial assessment, strength-and-balance exercise, and fracture
liaison after a hip fracture.

Case-finding (each month, before the processes): residents aged 65+ (the engine models falls from 65)
in the target area who meet the rule (default: moderate or severe eFI frailty, or a fall in the last
12 months) and have not entered the pathway within `repeat_months` are offered an assessment once
they are reached (coverage ramp), and again after `reoffer_months` if they declined. Those who accept
wait for a place (capacity, allocation). Each participant has

- a multifactorial assessment (Hopewell 2018: falls rate ratio 0.79; fall admissions RR 1.00, so the
  admissions per fall are raised by 1.00 / 0.79 and admissions per person do not fall), and
- a referral to strength-and-balance exercise taken up by 10-30% (default 20%) of whom about half
  adhere; adherent exercisers have falls rate ratio 0.77 (Sherrington 2019), fall-related fractures RR
  0.73 and falls needing medical care RR 0.70 (El-Khoury 2013), i.e. per fall hip fractures x
  0.73 / 0.77 and other admissions x 0.70 / 0.77,

for `effect_months` (default 12) from the month of entry. A resident with both gets the exercise
effects only (the strongest single pathway; multifactorial programmes mostly include exercise, so the
two are not multiplied).

Fracture liaison / orthogeriatric care: residents of the target area who meet the rule and have a
hip fracture during delivery are covered with probability `fls_coverage` (ramped); their mortality
(the engine's hazard and its excess after hip fracture) is multiplied by the hazard ratio 0.84
(Hawley 2016) for the 12 months from the fracture, the month of the fracture included. Cover is a
pure function of the resident's state and id in the fracture month, so the modifier can apply it in
that month; at the end of the month it is stored (with the participant and cost) from the queued
fracture events. The default rule covers every hip fracture (a fracture is a fall in the last year).
"""

from __future__ import annotations

import numpy as np

from .base import NEVER, Effect, Intervention, Option, months_since

P = "interventions."
# state fields, prefixed with the intervention's name (e.g. falls_pathway_entry_step)
OFFERED = "offer_step"
WAITING = "waiting"
ENTERED = "entry_step"
EXERCISE = "exercise_until"  # last month of the exercise effect (adherent exercisers)
MFA = "mfa_until"  # last month of the multifactorial assessment effect
FLS = "fls_step"  # month of the hip fracture covered by fracture liaison


class FallsPathway(Intervention):
    description = ("falls prevention for people aged 65+: case-finding (eFI moderate/severe or a recent "
                   "fall), multifactorial assessment, strength-and-balance exercise, fracture liaison")
    default_rule = "frailty >= moderate or fell_last_12m"
    uptake_param = P + "falls_pathway_uptake"
    uptake_or_param = P + "falls_pathway_uptake_deprivation_or"
    effects_spec = {
        "mfa_rate_ratio": Effect(P + "falls_mfa_rate_ratio", "ratio", "falls rate, multifactorial assessment"),
        "mfa_admission_rr": Effect(P + "falls_mfa_admission_rr", "ratio",
                                   "fall admissions per person, multifactorial assessment"),
        "exercise_uptake": Effect(P + "falls_exercise_uptake", "probability", "participants who start exercise"),
        "exercise_adherence": Effect(P + "falls_exercise_adherence", "probability", "exercisers who adhere"),
        "exercise_rate_ratio": Effect(P + "falls_exercise_rate_ratio", "ratio", "falls rate, adherent exercisers"),
        "exercise_fracture_rr": Effect(P + "falls_exercise_fracture_rr", "ratio",
                                       "fall-related (hip) fractures per person, adherent exercisers"),
        "exercise_medical_care_rr": Effect(P + "falls_exercise_medical_care_rr", "ratio",
                                           "falls needing medical care (other fall admissions) per person"),
        "effect_months": Effect(P + "falls_effect_months", "months", "months an entry's effects last"),
        "fls_coverage": Effect(P + "falls_fls_coverage", "probability", "hip fractures covered by fracture liaison"),
        "fls_mortality_hr": Effect(P + "falls_fls_mortality_hr", "ratio",
                                   "mortality in the 12 months after a hip fracture, with fracture liaison"),
    }
    cost_spec = {"per_participant": P + "falls_mfa_cost",
                 "exercise_per_participant": P + "falls_exercise_cost",
                 "fls_per_patient": P + "falls_fls_cost"}
    options_spec = {
        "reoffer_months": Option(12, int, "months before someone who declined is offered again"),
        "repeat_months": Option(24, int, "months before a participant can enter the pathway again"),
        "fracture_liaison": Option(True, bool, "fracture liaison after hip fracture"),
    }

    @classmethod
    def share_basis(cls, cohort, rows):
        return cohort.alive[rows] & (cohort.age_months[rows] >= 65 * 12)

    def setup(self, model) -> None:
        c = model.cohort
        self.f = {k: f"{self.name}_{k}" for k in (OFFERED, WAITING, ENTERED, EXERCISE, MFA, FLS)}
        c.add_field(self.f[FLS], np.int16, NEVER)
        c.add_field(self.f[OFFERED], np.int16, NEVER)
        c.add_field(self.f[WAITING], np.bool_, False)
        c.add_field(self.f[ENTERED], np.int16, NEVER)
        c.add_field(self.f[EXERCISE], np.int16, -1)
        c.add_field(self.f[MFA], np.int16, -1)
        self.any_enrolled = False
        e = self.effects
        rr_ex, rr_mfa = e["exercise_rate_ratio"], e["mfa_rate_ratio"]
        # per-fall multipliers so that per-person ratios are the published ones
        self.per_fall = {
            "admission": (e["exercise_medical_care_rr"] / rr_ex, e["mfa_admission_rr"] / rr_mfa),
            "hip_fracture": (e["exercise_fracture_rr"] / rr_ex, e["mfa_admission_rr"] / rr_mfa),
        }
        self.add_modifier(model, "falls.rate", self._rate, max(1.0, rr_ex, rr_mfa))
        for name, (ex, mfa) in self.per_fall.items():
            self.add_modifier(model, f"falls.{name}", self._per_fall(ex, mfa), max(1.0, ex, mfa))
        self.fracture_queue: list[np.ndarray] = []
        if self.options["fracture_liaison"] and e["fls_coverage"] > 0:
            hr = e["fls_mortality_hr"]
            self.add_modifier(model, "mortality", self._fls, max(1.0, hr))
            self.add_modifier(model, "mortality.hip_fracture", self._fls, max(1.0, hr))
            model.listen("fracture", self._on_fracture)

    # --- modifiers -------------------------------------------------------------------------------------
    def _states(self, model, rows):
        c = model.cohort
        ex = c[self.f[EXERCISE]][rows] >= model.t
        mfa = (c[self.f[MFA]][rows] >= model.t) & ~ex
        return ex, mfa

    def _rate(self, model, rows):
        if not self.any_enrolled:
            return 1.0
        ex, mfa = self._states(model, rows)
        e = self.effects
        return 1.0 + (e["exercise_rate_ratio"] - 1.0) * ex + (e["mfa_rate_ratio"] - 1.0) * mfa

    def _per_fall(self, m_ex: float, m_mfa: float):
        def fn(model, rows):
            if not self.any_enrolled:
                return 1.0
            ex, mfa = self._states(model, rows)
            return 1.0 + (m_ex - 1.0) * ex + (m_mfa - 1.0) * mfa
        return fn

    def fls_covered(self, model, rows: np.ndarray) -> np.ndarray:
        """Whether each row's hip fracture of the last 12 months (if any) is covered by fracture liaison.
        Cover is decided in the fracture month from the resident's own state (target area, the rule,
        the ramp and a uniform keyed on id and month) and stored at the end of that month, so the
        vectorised and per-agent paths agree and later changes of state do not switch it off."""
        c = model.cohort
        rows = np.asarray(rows)
        t = model.t
        step = c.hip_fracture_step[rows].astype(np.int32)
        out = (step > t - 12) & (step >= 0) & (c[self.f[FLS]][rows] == step)
        now = np.flatnonzero(step == t)
        if len(now) and self.active(t):
            sub = rows[now]
            ok = self.targeted(model, sub)
            if not self.rule.always_true:
                ok &= self.rule.evaluate(c, sub, t)
            u = self.draw(model, "fls", c.id[sub])
            out[now] = ok & (u < self.effect("fls_coverage") * self.ramp(t))
        return out

    def _fls(self, model, rows):
        rows = np.arange(rows.start or 0, rows.stop) if isinstance(rows, slice) else np.asarray(rows)
        cov = self.fls_covered(model, rows)
        if not cov.any():
            return 1.0
        return 1.0 + (self.effect("fls_mortality_hr") - 1.0) * cov

    def _on_fracture(self, model, rows) -> None:
        self.fracture_queue.append(np.array(rows, dtype=np.int64, copy=True))

    # --- case-finding and entry -------------------------------------------------------------------------
    def intrinsic(self, model, rows):
        c = model.cohort
        recent = months_since(c[self.f[ENTERED]][rows], model.t) < int(self.options["repeat_months"])
        return c.alive[rows] & (c.age_months[rows] >= 65 * 12) & ~recent

    def risk(self, model, rows):
        c = model.cohort
        fell = (model.t - c.last_fall_step[rows].astype(np.int32)) <= 12
        return c.frailty[rows] + 2.0 * fell + (c.age_months[rows] // 12) / 100.0

    def on_begin(self, model) -> None:
        t = model.t
        c = model.cohort
        if not self.active(t):
            if self.end_t is not None and t == self.end_t:
                c[self.f[WAITING]][:] = False
            return
        pool = self.eligible(model, np.flatnonzero(c.alive & (c.age_months >= 65 * 12)))
        waiting = c[self.f[WAITING]]
        # people on the waiting list who are no longer eligible leave it
        in_pool = np.zeros(c.n, dtype=bool)
        in_pool[pool] = True
        waiting &= in_pool
        fresh = pool[~waiting[pool] & (months_since(c[self.f[OFFERED]][pool], t) >= int(self.options["reoffer_months"]))]
        offered = self.reached(model, fresh)
        c[self.f[OFFERED]][offered] = t
        self.record(model, "offered", offered)
        acc = self.accepts(model, offered)
        waiting[acc] = True
        self.record(model, "accepted", acc)
        cand = pool[waiting[pool]]
        served = self.allocate(model, cand)
        if len(served) == 0:
            return
        waiting[served] = False
        c[self.f[ENTERED]][served] = t
        months = int(self.effect("effect_months"))
        last = t + months - 1
        c[self.f[MFA]][served] = last
        self.any_enrolled = True
        self.record(model, "participants", served)
        self.charge(model, served, self.costs["per_participant"], item="assessment")
        ids = c.id[served]
        ex = served[self.draw(model, "exercise", ids) < self.effect("exercise_uptake")]
        self.record(model, "exercisers", ex)
        self.charge(model, ex, self.costs["exercise_per_participant"], item="exercise")
        adherent = ex[self.draw(model, "adherence", c.id[ex]) < self.effect("exercise_adherence")]
        c[self.f[EXERCISE]][adherent] = last
        self.record(model, "exercisers_adherent", adherent)

    def on_end(self, model) -> None:
        if not self.fracture_queue:
            return
        c = model.cohort
        rows = np.unique(np.concatenate(self.fracture_queue))
        self.fracture_queue.clear()
        rows = rows[np.argsort(c.id[rows], kind="stable")]
        rows = rows[c.hip_fracture_step[rows] == model.t]
        covered = rows[self.fls_covered(model, rows)]
        c[self.f[FLS]][covered] = model.t
        self.record(model, "fls_patients", covered)
        self.charge(model, covered, self.costs["fls_per_patient"], item="fracture_liaison")
