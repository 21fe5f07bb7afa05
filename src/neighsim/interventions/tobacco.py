"""Tobacco treatment: the inpatient (Ottawa/CURE) offer at emergency admission and community
stop-smoking services.

Inpatient offer (end of each month, from the month's queued admissions, sorted by resident id):
adult current smokers admitted as emergencies in the target area who are not already seen by today's
hospital service (`inpatient_current_coverage`, in the baseline's quit rates) are screened (CURE: 92%),
accept treatment (default 1: opt-out) and are abstinent 12 weeks after discharge with CURE's 22%.
Only the abstinence attributable to the service counts: usual care would give p0 from the Cochrane
odds ratio 1.65 (intensive hospital support with > 1 month after discharge), so p1 - p0 (about 0.074)
are attributable 12-week abstainers (option attributable_only: false counts all of p1, an upper bound
that ignores quits usual care would bring), and of these `inpatient_12m_given_12wk` (about half) are
still abstinent at 12 months. Each treated smoker quits with that probability; a quit sets smoking = ex
and quit_step = this month, is spared the engine's relapse for its first 12 months (the 12-month
figure already includes it) and relapses as any ex-smoker's afterwards. Household and social-tie
spillover follows next month, and the engine's smoking multipliers give risks of admission, onset and
death that fall with time since quitting. Cost: CURE's £183 per 12-week quitter, i.e. £183 x 22% per
treated smoker.

Beside the model's estimate, the module records what the observational Ottawa evaluation (Mullen et
al. 2017: 1-year readmission 38.4% with usual care vs 26.7% with the service) would imply for the same
treated smokers: 0.117 readmissions avoided per treated smoker (`<name>_ottawa_implied_readmissions_avoided`).

Community service (beginning of each month): adult current smokers in the target area who meet the
rule are referred at an annual rate (not again for `reoffer_months`), attend with the uptake
probability, and take a place if one is free (capacity, allocation); participants enter the shared
stop-smoking support pathway (smoking_support.py: 52-week quit 13.5% for an average smoker).
"""

from __future__ import annotations

import numpy as np

from .base import NEVER, Effect, Intervention, Option, months_since
from .smoking_support import SUPPORT_EFFECTS, StopSmokingSupport, support_multiplier
from .smoking_support import UNTIL as SUPPORT_UNTIL

P = "interventions."
REFERRED = "referral_step"  # state field, prefixed with the intervention's name
OTTAWA_READMISSION = (0.384, 0.267)  # 1-year readmission, usual care vs service (Mullen et al. 2017)


def usual_care_abstinence(p1: float, odds_ratio: float) -> float:
    """Abstinence without the service, from the service's abstinence and the odds ratio."""
    if p1 <= 0:
        return 0.0
    if p1 >= 1:
        return 1.0
    odds0 = p1 / (1 - p1) / odds_ratio
    return odds0 / (1 + odds0)


class Tobacco(Intervention):
    description = ("tobacco treatment: opt-out offer to smokers at emergency admission (CURE/Ottawa) and "
                   "community stop-smoking services with referrals and capacity")
    default_rule = "true"
    uptake_param = P + "tobacco_community_uptake"
    uptake_or_param = P + "tobacco_community_uptake_deprivation_or"
    effects_spec = {
        "inpatient_screened": Effect(P + "tobacco_inpatient_screened", "probability",
                                     "admitted smokers identified and offered treatment"),
        "inpatient_accept": Effect(P + "tobacco_inpatient_accept", "probability",
                                   "identified smokers who accept treatment"),
        "inpatient_abstinent_12wk": Effect(P + "tobacco_inpatient_abstinent_12wk", "probability",
                                           "abstinent 12 weeks after discharge with the service"),
        "inpatient_usual_care_or": Effect(P + "tobacco_inpatient_usual_care_or", "ratio",
                                          "odds ratio of abstinence, service vs usual care"),
        "inpatient_12m_given_12wk": Effect(P + "tobacco_inpatient_12m_given_12wk", "probability",
                                           "12-week abstainers still abstinent at 12 months"),
        "inpatient_current_coverage": Effect(P + "tobacco_inpatient_current_coverage", "probability",
                                             "admitted smokers treated by today's hospital service"),
        "community_referral_annual": Effect(P + "tobacco_community_referral_annual", "probability",
                                            "smokers referred to the community service each year"),
        **SUPPORT_EFFECTS,
    }
    cost_spec = {"per_participant": P + "tobacco_community_cost_per_participant",
                 "inpatient_per_participant": P + "tobacco_inpatient_cost_per_smoker"}
    options_spec = {
        "inpatient": Option(True, bool, "offer treatment to smokers admitted as emergencies"),
        "community": Option(True, bool, "community stop-smoking service with referrals"),
        "reoffer_months": Option(12, int, "months before a referred smoker may be referred again"),
        "attributable_only": Option(True, bool, "inpatient quits are the abstinence beyond usual care "
                                                "(false: all 12-week abstinence counts, an upper bound)"),
    }

    @classmethod
    def share_basis(cls, cohort, rows):
        return cohort.alive[rows] & (cohort.smoking[rows] == 1) & (cohort.age_months[rows] >= 18 * 12)

    def setup(self, model) -> None:
        c = model.cohort
        self.f_referred = f"{self.name}_{REFERRED}"
        c.add_field(self.f_referred, np.int16, NEVER)
        self.queue: list[np.ndarray] = []
        if self.options["inpatient"]:
            model.listen("admission", self._on_admission)
            self.relapse = StopSmokingSupport.of(model)  # the one mechanism that spares 12-month quits
        p1 = self.effect("inpatient_abstinent_12wk")
        p0 = usual_care_abstinence(p1, self.effect("inpatient_usual_care_or")) if self.options["attributable_only"] else 0.0
        self.p_quit = max(p1 - p0, 0.0) * self.effect("inpatient_12m_given_12wk")
        self.support = None
        if self.options["community"]:
            self.support = StopSmokingSupport.of(model)
            self.support_rr = support_multiplier(self.effect("support_quit_52wk"),
                                                 int(self.effect("support_months")), model.params)
            self.support.declare(self.support_rr)

    def _on_admission(self, model, rows, cause=None) -> None:
        self.queue.append(np.array(rows, dtype=np.int64, copy=True))  # decisions wait for end_step

    def intrinsic(self, model, rows):
        c = model.cohort
        return c.alive[rows] & (c.smoking[rows] == 1) & (c.age_months[rows] >= 18 * 12)

    def risk(self, model, rows):
        c = model.cohort
        return c.ltc_count(rows).astype(float) + (10 - c.imd_decile[rows]) / 10.0

    # --- community service --------------------------------------------------------------------------
    def on_begin(self, model) -> None:
        t = model.t
        if self.support is None or not self.active(t):
            return
        c = model.cohort
        p_ref = -np.expm1(np.log1p(-min(self.effect("community_referral_annual"), 0.999999)) / 12.0)
        rows = np.flatnonzero(c.alive & (c.smoking == 1) & (c.age_months >= 18 * 12))
        rows = rows[(months_since(c[self.f_referred][rows], t) >= int(self.options["reoffer_months"]))
                    & (c[SUPPORT_UNTIL][rows] < t)]
        rows = self.eligible(model, rows)
        referred = rows[self.draw(model, "refer", c.id[rows]) < p_ref * self.ramp(t)]
        if len(referred) == 0:
            return
        c[self.f_referred][referred] = t
        self.record(model, "offered", referred)
        attend = self.accepts(model, referred)
        self.record(model, "accepted", attend)
        served = self.allocate(model, attend)
        enrolled = self.support.enrol(model, served, int(self.effect("support_months")), self.support_rr)
        self.record(model, "participants", enrolled)
        self.charge(model, enrolled, self.costs["per_participant"], item="community")

    # --- inpatient offer ----------------------------------------------------------------------------
    def on_end(self, model) -> None:
        if not self.queue:
            return
        c = model.cohort
        rows = np.unique(np.concatenate(self.queue))  # one offer per resident per month
        self.queue.clear()
        if not self.active(model.t):
            return
        rows = rows[np.argsort(c.id[rows], kind="stable")]
        rows = self.eligible(model, rows)
        rows = self.reached(model, rows, per_event=True)
        today = self.draw(model, "inpatient.today", c.id[rows]) < self.effect("inpatient_current_coverage")
        rows = rows[~today]  # already treated by today's service: in the baseline
        self.record(model, "inpatient_offered", rows)
        ids = c.id[rows]
        screened = rows[self.draw(model, "inpatient.screen", ids) < self.effect("inpatient_screened")]
        treated = screened[self.draw(model, "inpatient.accept", c.id[screened]) < self.effect("inpatient_accept")]
        self.record(model, "inpatient_participants", treated)
        self.charge(model, treated, self.costs["inpatient_per_participant"], item="inpatient")
        self.record(model, "ottawa_implied_readmissions_avoided", treated,
                    np.full(len(treated), OTTAWA_READMISSION[0] - OTTAWA_READMISSION[1]))
        quits = treated[self.draw(model, "inpatient.quit", c.id[treated]) < self.p_quit]
        self.record(model, "inpatient_quits", quits)
        model.process("smoking").quit(model, quits)
        self.relapse.spare_relapse(model, quits)  # 12-month abstinence: no relapse in its first year
