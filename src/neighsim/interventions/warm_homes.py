"""Warmer homes: insulation and heating for fuel-poor households with a vulnerable member.

Pathway (each month, before the processes), per HOUSEHOLD:

1. Eligible households: fuel-poor (DESNZ LILEE, placed by the population synthesis) with at least
   one living member who meets the rule (default: any long-term condition, moderate or severe
   frailty, aged 65+, or a child under 5), in the target area.
2. Offer: a household is offered once it is reached (coverage ramp; a fixed uniform per household),
   and again after `reoffer_months` if it declined; it accepts with the uptake probability (the
   deprivation gradient uses the household's IMD decile) and joins a waiting list.
3. Capacity (homes per year) and allocation take households off the waiting list; measures cost
   £6,700 per home (BRE, 2011/12 prices, re-priced to 2026/27 with the GDP deflator) and are
   installed this month, working from next month for `lifetime_years` (20).
4. Admissions: every member of a treated home (newborns included) has respiratory and cardiovascular
   emergency admissions multiplied by  1 + (RR - 1) x (1 + w(month)),  w the engine's winter curve
   (1 in January, -1 in July), so that the annual average is RR (Fyfe et al.: insulation RR 0.89 for
   all admissions, about 0.85 respiratory) - but never below the level of a home that was never cold:
   the ratio is at least 1 / (the engine's cold-home ratio this month). With the engine's cold-home
   excess (admissions.cold_home_rr) smaller than Fyfe's effect, this floor binds in every month: a
   treated home has exactly the admissions of a never-cold home.
5. Quality of life: residents of a treated home no longer carry the cold-home EQ-5D decrement
   (economics.disutility_cold_home) while the home is credited.
6. Deaths: the engine's winter excess of deaths in cold homes (mortality.cold_home_winter_rr, Marmot
   2011) is removed in the share `cold_mortality_excess_removed` (1: all of it; Preval et al. 2017 found
   mortality HR 0.77 after insulation among older people with earlier cardiorespiratory admissions,
   more than the modelled excess, so the floor at never-cold binds).
7. Existing schemes (ECO and local grants) would have treated some of these homes anyway: each treated
   home draws the month existing schemes would have reached it (`existing_schemes_annual` a year), and
   from then on the programme is credited with nothing for it (the cost is still counted).

The household's fuel_poor flag is left as it is (it marks low income and a low-efficiency home in
2021; the reported fuel-poor residents stay comparable); the effects above act on the engine's
cold-home excess, which keeps applying to untreated fuel-poor residents.
"""

from __future__ import annotations

import numpy as np

from ..processes.admissions import cold_home_factor, winter_curve
from .base import NEVER, Effect, Intervention, Option, months_since, resolve

P = "interventions."


class WarmHomes(Intervention):
    description = ("insulation and heating for fuel-poor households with a vulnerable member; fewer "
                   "cold-sensitive admissions in winter for everyone in a treated home")
    unit = "home"
    default_rule = "ltc_count >= 1 or frailty >= moderate or age >= 65 or age < 5"
    uptake_param = P + "warm_homes_uptake"
    uptake_or_param = P + "warm_homes_uptake_deprivation_or"
    effects_spec = {
        "respiratory_rr": Effect(P + "warm_homes_admissions_rr", "ratio",
                                 "annual-average respiratory admission ratio, residents of treated homes"),
        "cardiovascular_rr": Effect(P + "warm_homes_admissions_rr", "ratio",
                                    "annual-average cardiovascular admission ratio, residents of treated homes"),
        "cold_mortality_excess_removed": Effect(P + "warm_homes_cold_mortality_excess_removed", "probability",
                                                "share of the cold-home winter excess of deaths removed"),
        "lifetime_years": Effect(P + "warm_homes_measure_lifetime_years", "rate", "years the measures work"),
        "existing_schemes_annual": Effect(P + "warm_homes_existing_schemes_annual", "probability",
                                          "eligible homes existing schemes treat each year (deadweight)"),
    }
    cost_spec = {"per_participant": P + "warm_homes_cost_per_home"}
    options_spec = {"reoffer_months": Option(24, int, "months before a household that declined is asked again")}

    COST_PRICE_YEAR = "2011_12"  # the BRE remedy cost's prices (re-priced unless a scenario sets the cost)

    def __init__(self, params, delivery=None, **kw):
        super().__init__(params, delivery, **kw)
        if "per_participant" not in self.delivery.costs:
            self.costs["per_participant"] *= self.price_factor(params)
        self.cold_admissions_rr = resolve("admissions.cold_home_rr", params)
        self.cold_mortality_rr = resolve("mortality.cold_home_winter_rr", params)

    @classmethod
    def price_factor(cls, params) -> float:
        return (resolve("economics.price_index_2026_27", params)
                / resolve(f"economics.price_index_{cls.COST_PRICE_YEAR}", params))

    @classmethod
    def share_basis(cls, cohort, rows):
        return cohort.alive[rows] & cohort.fuel_poor[rows] & (cohort.household[rows] >= 0)

    @classmethod
    def compute_shares(cls, cohort, rule, targeting):
        # homes, not residents: count one per eligible household
        rows = np.arange(cohort.n)
        from .rules import Rule

        rule = rule if rule is not None else Rule.parse(cls.default_rule)
        basis = cls.share_basis(cohort, rows) & targeting.mask(cohort, rows) & rule.evaluate(cohort, rows, 0)
        if not basis.any():
            return super().compute_shares(cohort, rule, targeting)
        hh, first = np.unique(cohort.household[basis], return_index=True)
        nb = cohort.neighbourhood[rows[basis][first]].astype(np.int64)
        ids, counts = np.unique(nb, return_counts=True)
        return {int(i): float(k / counts.sum()) for i, k in zip(ids, counts, strict=True)}

    def setup(self, model) -> None:
        c = model.cohort
        n_hh = int(c.household.max(initial=-1)) + 1  # households are never created during a run
        self.treated_step = np.full(n_hh, NEVER, dtype=np.int32)
        self.until_step = np.full(n_hh, NEVER, dtype=np.int32)  # last month the programme is credited
        self.offer_step = np.full(n_hh, NEVER, dtype=np.int32)
        self.waiting = np.zeros(n_hh, dtype=bool)
        self.any_treated = False
        for cause in ("respiratory", "cardiovascular"):
            rr = self.effect(f"{cause}_rr")
            if rr != 1.0:
                self.add_modifier(model, f"admissions.{cause}", self._modifier(cause), max(1.0, 2 * rr - 1))
        if self.effect("cold_mortality_excess_removed") > 0:
            self.add_modifier(model, "mortality", self._mortality, 1.0)
        self.add_modifier(model, "quality_of_life.cold_home", self._warm, 1.0)

    def _warm(self, model, rows):
        """A treated home is no longer cold: its residents lose no quality of life to the cold."""
        if not self.any_treated:
            return 1.0
        return 1.0 - self._on(model, rows)

    def _on(self, model, rows) -> np.ndarray:
        """Rows living in a home treated in an earlier month, within the measures' life and before
        existing schemes would have reached it, and fuel-poor (the cold-home excess applies to them)."""
        c = model.cohort
        hh = c.household[rows]
        ok = hh >= 0
        h = np.where(ok, hh, 0)
        step = np.where(ok, self.treated_step[h], NEVER)
        return (step > NEVER) & (step < model.t) & (model.t <= self.until_step[h]) & c.fuel_poor[rows]

    def _modifier(self, cause: str):
        def fn(model, rows):
            if not self.any_treated:
                return 1.0
            w = winter_curve(model.calendar_month)
            never_cold = min(1.0 / cold_home_factor(self.cold_admissions_rr, model.calendar_month), 1.0)
            m = max(1.0 + (self.effect(f"{cause}_rr") - 1.0) * (1.0 + w), never_cold, 0.0)
            return 1.0 + (m - 1.0) * self._on(model, rows)
        return fn

    def _mortality(self, model, rows):
        """Removes the share of the cold-home winter excess of deaths (never below a never-cold home)."""
        if not self.any_treated:
            return 1.0
        cold = cold_home_factor(self.cold_mortality_rr, model.calendar_month)
        if cold <= 1.0:  # no excess this month (or a draw below 1): nothing to remove, never above 1
            return 1.0
        m = 1.0 - self.effect("cold_mortality_excess_removed") * (1.0 - 1.0 / cold)
        return 1.0 + (m - 1.0) * self._on(model, rows)

    def treated_rows(self, model) -> np.ndarray:
        """Residents living in a treated home (for tests and probes)."""
        hh = model.cohort.household
        ok = hh >= 0
        return np.flatnonzero(ok & (self.treated_step[np.where(ok, hh, 0)] > NEVER))

    def on_begin(self, model) -> None:
        t = model.t
        if not self.active(t):
            if self.end_t is not None and t >= self.end_t:
                self.waiting[:] = False
            return
        c = model.cohort
        self._ensure_size(model)
        fp_rows = np.flatnonzero(c.fuel_poor & c.alive & (c.household >= 0))  # every member of a fuel-poor home
        rows = fp_rows[self.treated_step[c.household[fp_rows]] == NEVER]
        rows = self.eligible(model, rows)  # vulnerable members of eligible households
        if len(rows) == 0:
            self.waiting[:] = False
            return
        # a representative row per household: the lowest row among its vulnerable members
        rep_of = np.full(len(self.waiting), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(rep_of, c.household[rows], rows)
        still = rep_of < np.iinfo(np.int64).max
        hh = np.flatnonzero(still)
        rep = rep_of[hh]
        self.waiting &= still  # households no longer eligible leave the waiting list
        # offers: reached, not waiting, not asked within reoffer_months
        new = (~self.waiting[hh]) & (months_since(self.offer_step[hh], t) >= int(self.options["reoffer_months"]))
        cand_hh, cand_rep = hh[new], rep[new]
        if self.ramp(t) < 1.0:
            keep = self.draw(model, "reach", cand_hh, step=0) < self.ramp(t)
            cand_hh, cand_rep = cand_hh[keep], cand_rep[keep]
        self.offer_step[cand_hh] = t
        self.record(model, "offered", cand_rep)
        acc = self.accepts(model, cand_rep, ids=cand_hh)
        acc_hh = c.household[acc]
        self.waiting[acc_hh] = True
        self.record(model, "accepted", acc)
        # allocation from the waiting list
        wait = self.waiting[hh]
        w_hh, w_rep = hh[wait], rep[wait]
        if len(w_hh) == 0:
            return
        risk = self._household_risk(model, rows, w_hh) if self.delivery.allocation == "highest_risk" else None
        served = self.allocate(model, w_rep, ids=w_hh, risk=risk)
        if len(served) == 0:
            return
        s_hh = c.household[served]
        self.treated_step[s_hh] = t
        self.until_step[s_hh] = self._credited_until(model, s_hh)
        self.waiting[s_hh] = False
        self.any_treated = True
        self.record(model, "participants", served)
        self.charge_capital(model, served, self.costs["per_participant"], self.effect("lifetime_years"), item="homes")
        done = np.zeros(len(self.waiting), dtype=bool)
        done[s_hh] = True
        members = fp_rows[done[c.household[fp_rows]]]
        self.record(model, "residents", members)

    def _credited_until(self, model, households: np.ndarray) -> np.ndarray:
        """Last month each treated home counts: the end of the measures' life, or the month before existing
        schemes would have treated it (an exponential time from a uniform fixed per household)."""
        t = model.t
        life = t + int(round(self.effect("lifetime_years") * 12))
        a = min(self.effect("existing_schemes_annual"), 0.999999)
        if a <= 0:
            return np.full(len(households), life, dtype=np.int32)
        u = self.draw(model, "existing", households, step=0)
        months = -np.log1p(-u) / (-np.log1p(-a) / 12.0)  # from the projection start
        anyway = np.floor(months).astype(np.int64) - 1
        return np.minimum(np.maximum(anyway, t), life).astype(np.int32)

    def _ensure_size(self, model) -> None:
        n_hh = int(model.cohort.household.max(initial=-1)) + 1
        if n_hh > len(self.treated_step):  # not expected (newcomers join existing households or none)
            extra = n_hh - len(self.treated_step)
            self.treated_step = np.concatenate([self.treated_step, np.full(extra, NEVER, np.int32)])
            self.until_step = np.concatenate([self.until_step, np.full(extra, NEVER, np.int32)])
            self.offer_step = np.concatenate([self.offer_step, np.full(extra, NEVER, np.int32)])
            self.waiting = np.concatenate([self.waiting, np.zeros(extra, bool)])

    def _household_risk(self, model, vulnerable_rows, households):
        """Sum over a household's vulnerable members of conditions + frailty + (age >= 75)."""
        c = model.cohort
        score = (c.ltc_count(vulnerable_rows) + c.frailty[vulnerable_rows]
                 + (c.age_months[vulnerable_rows] >= 75 * 12)).astype(float)
        sums = np.bincount(c.household[vulnerable_rows], weights=score, minlength=len(self.waiting))
        return sums[households]
