"""Falls pathway: one integrated pathway for people aged 65+, as the ICB commissions it. Each component
can be switched off (`options`) and is costed on its own; every effect is the increment over today.

Case-finding (each month, before the processes, when any of the participants' components is on): residents aged 65+ in the target area who meet the
rule (default: moderate or severe eFI frailty, or a fall in the last 12 months) and have not entered
within `repeat_months` are offered the pathway once reached (coverage ramp), and again after
`reoffer_months` if they declined; those who accept wait for a place (capacity, allocation). Each
participant then has, from the month of entry:

- assessment: a multifactorial falls assessment (Hopewell 2018: falls rate 0.79; fall admissions per
  person 1.00, so admissions per fall x 1.00 / 0.79) for `effect_months`;
- exercise: strength-and-balance exercise started by `exercise_uptake` (10-30%); Sherrington 2019's
  rate ratio 0.77 is intention-to-treat (non-adherence included), so it applies to everyone who starts;
  fractures per person 0.73, falls needing medical care 0.70 (El-Khoury 2013): per fall hip fractures
  x 0.73 / 0.77, other admissions x 0.70 / 0.77. Exercise replaces the assessment's effect (programmes
  mostly include exercise; the two are not multiplied);
- digital: a self-management app (e.g. Steady On Your Feet) used by `digital_uptake` of participants,
  falls rate `digital_rate_ratio` while not exercising (an ASSUMPTION: no trial of the app);
- bone_health: fracture-risk assessment and treatment for women aged 70-85 (SCOOP, Shepstone 2018:
  hip fracture HR 0.72, intention-to-treat of screening) for `bone_health_months`, per fall; a one-off,
  not repeated while its effect lasts.

`per_participant` is the cost of case-finding and the assessment, charged when the assessment is on;
with it off, case-finding is taken as part of the other components' costs.

Two components reach beyond the case-found participants:

- medication_review: structured medication reviews for the frailty cohort (65+, moderate or severe
  frailty, in the target area, meeting the rule). Today's reviews (`medication_review_current`) are in the baseline; the
  programme raises coverage to `medication_review_coverage`: a resident is in the increment when a fixed
  uniform lies between the two (the ramp spreads the increment). Reviewed residents have falls rate
  `medication_review_rate_ratio` for 12 months, only while no assessment or exercise effect is active;
  reviewed (and charged) every 12 months, but not while an assessment or exercise effect is active
  (a multifactorial assessment already includes a medication review).
- fracture_liaison: orthogeriatric care / fracture liaison after a hip fracture (Hawley 2016: 1-year
  mortality HR 0.84). Today's coverage (`fls_current_coverage`, national audit) is in the baseline's
  post-fracture mortality, so only fractures between today's coverage and the target `fls_coverage`
  get the hazard ratio and are charged. The ratio is applied to the engine's average post-fracture
  rate, a little below the rate of the uncovered: the gain is slightly understated.
"""

from __future__ import annotations

import numpy as np

from .base import NEVER, Effect, Intervention, Option, months_since

P = "interventions."
# state fields, prefixed with the intervention's name (e.g. falls_pathway_entry_step)
OFFERED, WAITING, ENTERED = "offer_step", "waiting", "entry_step"
EXERCISE, MFA, DIGITAL, BONE, REVIEW = "exercise_until", "mfa_until", "digital_until", "bone_until", "review_until"
REVIEWED = "review_step"  # month of the last medication review
FLS = "fls_step"  # month of the hip fracture covered by the increase in fracture liaison
REVIEW_MONTHS = 12  # a medication review's effect, and the interval between reviews
PARTICIPANT_COMPONENTS = ("assessment", "exercise", "digital", "bone_health")  # what case-finding leads to
COMPONENTS = (*PARTICIPANT_COMPONENTS, "medication_review", "fracture_liaison")


def _e(name: str, kind: str, doc: str) -> Effect:
    return Effect(P + name, kind, doc)


class FallsPathway(Intervention):
    description = ("integrated falls pathway for people aged 65+: case-finding, multifactorial assessment, "
                   "strength-and-balance exercise, a self-management app, bone health, medication reviews "
                   "for the frailty cohort, and fracture liaison beyond today's coverage")
    default_rule = "frailty >= moderate or fell_last_12m"
    uptake_param = P + "falls_pathway_uptake"
    uptake_or_param = P + "falls_pathway_uptake_deprivation_or"
    effects_spec = {
        "mfa_rate_ratio": _e("falls_mfa_rate_ratio", "ratio", "falls rate, multifactorial assessment"),
        "mfa_admission_rr": _e("falls_mfa_admission_rr", "ratio", "fall admissions per person, assessment"),
        "exercise_uptake": _e("falls_exercise_uptake", "probability", "participants who start exercise"),
        "exercise_rate_ratio": _e("falls_exercise_rate_ratio", "ratio",
                                  "falls rate of those who start exercise (intention to treat)"),
        "exercise_fracture_rr": _e("falls_exercise_fracture_rr", "ratio", "fall-related (hip) fractures per person"),
        "exercise_medical_care_rr": _e("falls_exercise_medical_care_rr", "ratio",
                                       "falls needing medical care (other fall admissions) per person"),
        "effect_months": _e("falls_effect_months", "months", "months the assessment, exercise and app effects last"),
        "digital_uptake": _e("falls_digital_uptake", "probability", "participants who use the app"),
        "digital_rate_ratio": _e("falls_digital_rate_ratio", "ratio", "falls rate of app users (assumption)"),
        "bone_health_hip_fracture_hr": _e("falls_bone_health_hip_fracture_hr", "ratio",
                                          "hip fractures, women 70-85 assessed for bone health"),
        "bone_health_months": _e("falls_bone_health_months", "months", "months the bone-health effect lasts"),
        "medication_review_coverage": _e("falls_medication_review_coverage", "probability",
                                         "frailty cohort reviewed each year with the programme"),
        "medication_review_current": _e("falls_medication_review_current", "probability",
                                        "frailty cohort reviewed each year today (in the baseline)"),
        "medication_review_rate_ratio": _e("falls_medication_review_rate_ratio", "ratio",
                                           "falls rate for 12 months after a medication review"),
        "fls_coverage": _e("falls_fls_coverage", "probability", "hip fractures covered with the programme"),
        "fls_current_coverage": _e("falls_fls_current_coverage", "probability",
                                   "hip fractures covered today (in the baseline)"),
        "fls_mortality_hr": _e("falls_fls_mortality_hr", "ratio",
                               "mortality in the 12 months after a hip fracture, with fracture liaison"),
    }
    cost_spec = {"per_participant": P + "falls_mfa_cost",
                 "exercise_per_participant": P + "falls_exercise_cost",
                 "digital_per_user": P + "falls_digital_cost",
                 "bone_health_per_participant": P + "falls_bone_health_cost",
                 "medication_review_per_review": P + "falls_medication_review_cost",
                 "fls_per_patient": P + "falls_fls_cost"}
    options_spec = {
        "reoffer_months": Option(12, int, "months before someone who declined is offered again"),
        "repeat_months": Option(24, int, "months before a participant can enter the pathway again"),
        **{k: Option(True, bool, f"the {k.replace('_', ' ')} component") for k in COMPONENTS},
    }

    @classmethod
    def share_basis(cls, cohort, rows):
        return cohort.alive[rows] & (cohort.age_months[rows] >= 65 * 12)

    def on(self, component: str) -> bool:
        return bool(self.options[component])

    def setup(self, model) -> None:
        c = model.cohort
        self.f = {k: f"{self.name}_{k}" for k in (OFFERED, WAITING, ENTERED, EXERCISE, MFA, DIGITAL, BONE,
                                                   REVIEW, REVIEWED, FLS)}
        for k in (OFFERED, ENTERED, REVIEWED, FLS):
            c.add_field(self.f[k], np.int16, NEVER)
        for k in (EXERCISE, MFA, DIGITAL, BONE, REVIEW):
            c.add_field(self.f[k], np.int16, -1)
        c.add_field(self.f[WAITING], np.bool_, False)
        self.any_effect = False
        e = self.effects
        self.ratio = {"exercise": e["exercise_rate_ratio"] if self.on("exercise") else 1.0,
                      "mfa": e["mfa_rate_ratio"] if self.on("assessment") else 1.0,
                      "digital": e["digital_rate_ratio"] if self.on("digital") else 1.0,
                      "review": e["medication_review_rate_ratio"] if self.on("medication_review") else 1.0}
        # per-fall multipliers so that the per-person ratios are the published ones
        mfa_adm = e["mfa_admission_rr"] / e["mfa_rate_ratio"] if self.on("assessment") else 1.0
        ex = e["exercise_rate_ratio"]
        self.per_fall = {
            "admission": (e["exercise_medical_care_rr"] / ex if self.on("exercise") else 1.0, mfa_adm),
            "hip_fracture": (e["exercise_fracture_rr"] / ex if self.on("exercise") else 1.0, mfa_adm),
        }
        self.bone_hr = e["bone_health_hip_fracture_hr"] if self.on("bone_health") else 1.0
        bound = float(np.prod([max(1.0, r) for r in self.ratio.values()]))
        self.add_modifier(model, "falls.rate", self._rate, bound)
        for name, (m_ex, m_mfa) in self.per_fall.items():
            extra = self.bone_hr if name == "hip_fracture" else 1.0
            self.add_modifier(model, f"falls.{name}", self._per_fall(m_ex, m_mfa, name == "hip_fracture"),
                              max(1.0, m_ex, m_mfa) * max(1.0, extra))
        self.fracture_queue: list[np.ndarray] = []
        self.fls_increment = max(e["fls_coverage"] - e["fls_current_coverage"], 0.0) if self.on("fracture_liaison") else 0.0
        if self.fls_increment > 0:
            hr = e["fls_mortality_hr"]
            self.add_modifier(model, "mortality", self._fls, max(1.0, hr))
            self.add_modifier(model, "mortality.hip_fracture", self._fls, max(1.0, hr))
            model.listen("fracture", self._on_fracture)

    # --- modifiers -------------------------------------------------------------------------------------
    def _states(self, model, rows):
        c, t = model.cohort, model.t
        ex = c[self.f[EXERCISE]][rows] >= t
        mfa = (c[self.f[MFA]][rows] >= t) & ~ex
        return ex, mfa

    def _rate(self, model, rows):
        if not self.any_effect:
            return 1.0
        c, t, r = model.cohort, model.t, self.ratio
        ex, mfa = self._states(model, rows)
        digital = (c[self.f[DIGITAL]][rows] >= t) & ~ex
        review = (c[self.f[REVIEW]][rows] >= t) & ~ex & ~mfa
        return ((1.0 + (r["exercise"] - 1.0) * ex + (r["mfa"] - 1.0) * mfa) * (1.0 + (r["digital"] - 1.0) * digital)
                * (1.0 + (r["review"] - 1.0) * review))

    def _per_fall(self, m_ex: float, m_mfa: float, hip: bool):
        def fn(model, rows):
            if not self.any_effect:
                return 1.0
            ex, mfa = self._states(model, rows)
            out = 1.0 + (m_ex - 1.0) * ex + (m_mfa - 1.0) * mfa
            if hip and self.bone_hr != 1.0:
                out = out * (1.0 + (self.bone_hr - 1.0) * (model.cohort[self.f[BONE]][rows] >= model.t))
            return out
        return fn

    def fls_covered(self, model, rows: np.ndarray) -> np.ndarray:
        """Whether each row's hip fracture of the last 12 months is in the increase of fracture-liaison
        cover: decided in the fracture month from the resident's state (target area, the rule, and a
        uniform between today's coverage and the target, the increment ramped) and stored at the end
        of that month, so later changes of state do not switch it off."""
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
            low = self.effect("fls_current_coverage")
            out[now] = ok & (u >= low) & (u < low + self.fls_increment * self.ramp(t))
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
        if any(self.on(k) for k in PARTICIPANT_COMPONENTS):  # else no case-finding
            self._case_finding(model)
        if self.on("medication_review"):  # after entry: those just assessed are not reviewed again
            self._medication_reviews(model)

    def _case_finding(self, model) -> None:
        """Offers, acceptance, the waiting list and entry to the pathway this month."""
        t = model.t
        c = model.cohort
        pool = self.eligible(model, np.flatnonzero(c.alive & (c.age_months >= 65 * 12)))
        waiting = c[self.f[WAITING]]
        in_pool = np.zeros(c.n, dtype=bool)
        in_pool[pool] = True
        waiting &= in_pool  # people on the waiting list who are no longer eligible leave it
        fresh = pool[~waiting[pool] & (months_since(c[self.f[OFFERED]][pool], t) >= int(self.options["reoffer_months"]))]
        offered = self.reached(model, fresh)
        c[self.f[OFFERED]][offered] = t
        self.record(model, "offered", offered)
        acc = self.accepts(model, offered)
        waiting[acc] = True
        self.record(model, "accepted", acc)
        served = self.allocate(model, pool[waiting[pool]])
        if len(served):
            waiting[served] = False
            self._enter(model, served)

    def _enter(self, model, served: np.ndarray) -> None:
        """The components each participant receives from this month."""
        c, t = model.cohort, model.t
        last = t + int(self.effect("effect_months")) - 1
        c[self.f[ENTERED]][served] = t
        self.any_effect = True
        self.record(model, "participants", served)
        if self.on("assessment"):  # per_participant: case-finding and the assessment
            c[self.f[MFA]][served] = last
            self.charge(model, served, self.costs["per_participant"], item="assessment")
        ids = c.id[served]
        if self.on("exercise"):
            ex = served[self.draw(model, "exercise", ids) < self.effect("exercise_uptake")]
            c[self.f[EXERCISE]][ex] = last
            self.record(model, "exercisers", ex)
            self.charge(model, ex, self.costs["exercise_per_participant"], item="exercise")
        if self.on("digital"):
            users = served[self.draw(model, "digital", ids) < self.effect("digital_uptake")]
            c[self.f[DIGITAL]][users] = last
            self.record(model, "digital_users", users)
            self.charge(model, users, self.costs["digital_per_user"], item="digital")
        if self.on("bone_health"):
            age = c.age_months[served] // 12
            # a one-off assessment (SCOOP): not again while its effect lasts
            women = served[~c.male[served] & (age >= 70) & (age <= 85) & (c[self.f[BONE]][served] < t)]
            c[self.f[BONE]][women] = t + int(self.effect("bone_health_months")) - 1
            self.record(model, "bone_health", women)
            self.charge(model, women, self.costs["bone_health_per_participant"], item="bone_health")

    def _medication_reviews(self, model) -> None:
        """Annual reviews for the increment of the frailty cohort's coverage (today's are in the baseline)."""
        c, t = model.cohort, model.t
        low = self.effect("medication_review_current")
        extra = max(self.effect("medication_review_coverage") - low, 0.0) * self.ramp(t)
        if extra <= 0:
            return
        rows = np.flatnonzero(c.alive & (c.age_months >= 65 * 12) & (c.frailty >= 2))
        rows = rows[self.targeted(model, rows)]
        if not self.rule.always_true:
            rows = rows[self.rule.evaluate(c, rows, t)]
        rows = rows[months_since(c[self.f[REVIEWED]][rows], t) >= REVIEW_MONTHS]
        # an active assessment or exercise programme already includes a medication review
        rows = rows[(c[self.f[MFA]][rows] < t) & (c[self.f[EXERCISE]][rows] < t)]
        u = self.draw(model, "review.cover", c.id[rows], step=0)  # fixed per resident: who is in the increment
        due = rows[(u >= low) & (u < low + extra)]
        if len(due) == 0:
            return
        c[self.f[REVIEWED]][due] = t
        c[self.f[REVIEW]][due] = t + REVIEW_MONTHS - 1
        self.any_effect = True
        self.record(model, "medication_reviews", due)
        self.charge(model, due, self.costs["medication_review_per_review"], item="medication_review")

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
