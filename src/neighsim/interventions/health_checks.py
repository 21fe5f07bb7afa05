"""NHS Health Check: invitation every five years, attendance, detection, treatment, smoking referral.

Pathway (each month, before the processes):

1. Invitation. Residents meeting the rule (default: aged 40-74) with no diagnosed hypertension, CVD or
   diabetes and no check in the last cycle are invited once per cycle (default 60 months), each in a
   fixed month of the cycle drawn from their id, so invitations are spread evenly over five years.
2. Attendance. Today's programme is in the baseline: its attendance (`current_uptake`, Patel 2020:
   52.6%) and what it detects are already in the engine's routine diagnosis rates. A scenario sets the
   new level (`uptake`, default 75%, PHE's ambition) and only the extra attenders count: an invitee
   attends today when the month's uniform lies below today's uptake and with the programme when it lies
   below the new one (both with the deprivation odds ratio 0.85, decile 1 vs 10), so the extra
   attenders are those between the two. Extra attenders beyond the month's places (capacity: extra
   checks a year) are not checked this cycle.
3. Detection among the extra attendees: undiagnosed hypertension and type 2 diabetes are diagnosed with a
   calibrated probability (Robson 2021: 16 extra hypertension and 5 extra diabetes diagnoses per
   1,000 attendees); recorded also as routine diagnoses ('diagnosed_htn', 'diagnosed_diabetes').
4. Treatment: antihypertensives for a share of newly detected hypertension and statins for a share of
   the others (Robson 2021, excess over non-attendees); those still taking treatment after a year
   (persistence) have CVD onset and cardiovascular admissions multiplied by the treatment ratio.
   Treatment costs drugs and monitoring: `treatment_per_year` each month for the persistent, and three
   months' worth for those who stop.
5. Smokers attending are referred to stop-smoking support (smoking_support.py) with a probability.

No direct mortality effect: the attendee mortality HR (0.68) reflects healthy-user bias
(docs/evidence_notes.md H); deaths fall only through fewer CVD onsets (the engine's CVD mortality
ratio) and quits.
"""

from __future__ import annotations

import numpy as np

from .base import NEVER, Effect, Intervention, Option, months_since
from .smoking_support import SUPPORT_EFFECTS, StopSmokingSupport, support_multiplier

P = "interventions."
# state fields, prefixed with the intervention's name (e.g. health_checks_check_step)
CHECK = "check_step"
TREATED = "treated"
SLOT = "slot"  # month of the cycle in which a resident is invited (-1: not drawn yet)


class HealthChecks(Intervention):
    description = ("NHS Health Check for adults 40-74 without diagnosed CVD, diabetes or hypertension: "
                   "invitation every five years, detection, treatment, stop-smoking referral")
    default_rule = "40 <= age <= 74"
    uptake_param = P + "health_checks_programme_uptake"
    uptake_or_param = P + "health_checks_uptake_deprivation_or"
    effects_spec = {
        "htn_detection": Effect(P + "health_checks_htn_detection", "probability",
                                "undiagnosed hypertension diagnosed at the check"),
        "diabetes_detection": Effect(P + "health_checks_diabetes_detection", "probability",
                                     "undiagnosed type 2 diabetes diagnosed at the check"),
        "treat_after_htn": Effect(P + "health_checks_treat_after_htn", "probability",
                                  "antihypertensives started after newly detected hypertension"),
        "statin_start": Effect(P + "health_checks_statin_start", "probability",
                               "statins started among other attendees"),
        "treatment_persistence": Effect(P + "health_checks_treatment_persistence", "probability",
                                        "still on treatment after a year (effect applies to these)"),
        "current_uptake": Effect(P + "health_checks_current_uptake", "probability",
                                 "invitees who attend today (in the baseline)"),
        "treatment_cvd_rr": Effect(P + "health_checks_treatment_cvd_rr", "ratio",
                                   "CVD onset and cardiovascular admissions, persistent treated"),
        "smoker_referral": Effect(P + "health_checks_smoker_referral", "probability",
                                  "attending smokers who take up stop-smoking support"),
        **SUPPORT_EFFECTS,
    }
    cost_spec = {"per_participant": P + "health_checks_cost_per_check",
                 "treatment_per_year": P + "health_checks_treatment_cost_annual"}
    options_spec = {"cycle_months": Option(60, int, "months between invitations (five years)", low=1)}

    @classmethod
    def share_basis(cls, cohort, rows):
        return cohort.alive[rows] & ~cohort.htn_dx[rows] & ~cohort.cvd_dx[rows] & ~cohort.diabetes_dx[rows]

    def setup(self, model) -> None:
        c = model.cohort
        self.f = {k: f"{self.name}_{k}" for k in (CHECK, TREATED, SLOT)}
        c.add_field(self.f[CHECK], np.int16, NEVER)
        c.add_field(self.f[TREATED], np.bool_, False)
        c.add_field(self.f[SLOT], np.int16, -1)
        self.any_treated = False
        rr = self.effect("treatment_cvd_rr")
        if rr != 1.0:
            self.add_modifier(model, "onset.cvd", self._treated_rr, max(rr, 1.0))
            self.add_modifier(model, "admissions.cardiovascular", self._treated_rr, max(rr, 1.0))
        self.support = None
        if self.effect("smoker_referral") > 0:
            self.support = StopSmokingSupport.of(model)
            self.support_rr = support_multiplier(self.effect("support_quit_52wk"),
                                                 int(self.effect("support_months")), model.params)
            self.support.declare(self.support_rr)

    def _treated_rr(self, model, rows):
        if not self.any_treated:
            return 1.0
        return 1.0 + (self.effect("treatment_cvd_rr") - 1.0) * model.cohort[self.f[TREATED]][rows]

    def intrinsic(self, model, rows):
        c = model.cohort
        cycle = int(self.options["cycle_months"])
        recent = months_since(c[self.f[CHECK]][rows], model.t) < cycle
        return c.alive[rows] & ~c.htn_dx[rows] & ~c.cvd_dx[rows] & ~c.diabetes_dx[rows] & ~recent

    def risk(self, model, rows):
        c = model.cohort
        return (c.age_months[rows] // 12) + 10.0 * (c.smoking[rows] == 1) + 5.0 * c.ltc_count(rows)

    def extra_attenders(self, model, invited: np.ndarray) -> np.ndarray:
        """Invitees who attend only because of the programme: the month's uniform lies between today's
        attendance and the scenario's (a scenario below today's level adds nobody)."""
        if len(invited) == 0:
            return invited
        u = self.draw(model, "uptake", model.cohort.id[invited])
        today = self.uptake_probability(model, invited, p=self.effect("current_uptake"))
        return invited[(u >= today) & (u < self.uptake_probability(model, invited))]

    def _charge_treatment(self, model) -> None:
        """A month of drugs and monitoring for every living resident on persistent treatment."""
        if not self.any_treated or self.costs["treatment_per_year"] <= 0:
            return
        c = model.cohort
        on = np.flatnonzero(c[self.f[TREATED]] & c.alive)
        self.charge(model, on, self.costs["treatment_per_year"] / 12, item="treatment")

    def on_begin(self, model) -> None:
        t = model.t
        self._charge_treatment(model)
        if not self.active(t):
            return
        c = model.cohort
        cycle = int(self.options["cycle_months"])
        slot = c[self.f[SLOT]]
        new = np.flatnonzero(slot < 0)
        if len(new):  # the month of the cycle, fixed per resident (drawn once from the id)
            slot[new] = (self.draw(model, "schedule", c.id[new], step=0) * cycle).astype(np.int16)
        rows = np.flatnonzero(slot == (t - self.start_t) % cycle)
        rows = self.eligible(model, rows)
        invited = self.reached(model, rows)
        self.record(model, "offered", invited)
        attend = self.extra_attenders(model, invited)
        self.record(model, "accepted", attend)
        checked = self.allocate(model, attend)
        if len(checked) == 0:
            return
        c[self.f[CHECK]][checked] = t
        self.record(model, "participants", checked)
        self.charge(model, checked, self.costs["per_participant"], item="checks")
        ids = c.id[checked]
        # detection of undiagnosed hypertension and diabetes
        new_htn = checked[c.htn[checked] & ~c.htn_dx[checked]
                          & (self.draw(model, "detect.htn", ids) < self.effect("htn_detection"))]
        new_dm = checked[c.diabetes[checked] & ~c.diabetes_dx[checked]
                         & (self.draw(model, "detect.diabetes", ids) < self.effect("diabetes_detection"))]
        diagnosis = model.process("diagnosis")
        for cond, new in (("htn", new_htn), ("diabetes", new_dm)):
            self.record(model, f"detected_{cond}", new)
            diagnosis.diagnose(model, new, cond)
        # treatment: antihypertensives after new hypertension, statins for others without CVD
        is_new_htn = np.isin(checked, new_htn)
        p_treat = np.where(is_new_htn, self.effect("treat_after_htn"), self.effect("statin_start"))
        started = checked[(self.draw(model, "treat", ids) < p_treat) & ~c.cvd[checked]]
        self.record(model, "treatment_started", started)
        persist = started[self.draw(model, "persist", c.id[started]) < self.effect("treatment_persistence")]
        stopped = started[~np.isin(started, persist)]
        self.charge(model, stopped, self.costs["treatment_per_year"] * 3 / 12, item="treatment")
        if len(persist):
            c[self.f[TREATED]][persist] = True
            self.any_treated = True
            self.record(model, "treated", persist)
        # smokers referred to stop-smoking support
        if self.support is not None:
            smokers = checked[c.smoking[checked] == 1]
            referred = smokers[self.draw(model, "refer", c.id[smokers]) < self.effect("smoker_referral")]
            enrolled = self.support.enrol(model, referred, int(self.effect("support_months")), self.support_rr)
            self.record(model, "smokers_referred", enrolled)
