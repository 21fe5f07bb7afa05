"""Long-term condition onset (hypertension, CVD, COPD, diabetes, other) and diagnosis in routine care."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..agents.cohort import CONDITIONS
from ..population.attributes import OTHER_LTC_CAP
from .base import Process, Result, Rows, State, slot_events, slots_of
from .common import rate_to_prob
from .kernels import JIT, U, candidates, runs, slot_of, uniform
from .reference import onset_for_curve
from .smoking import smoking_rate_ratio
from .tables import death_hazard

K_ALL = len(CONDITIONS) + 1  # four conditions and 'other', each in its own slot of one uniform
SLACK = 1.0 + 1e-9


@nb.njit(**JIT)
def _onsets(lo, hi, out, ids, alive, asd, key, loose, lsoa, lsoa_illness, htn, cvd, copd, diabetes, other_ltcs,
            status_start, tight):
    """One uniform split into a slot per condition. The within-slot uniform is checked against a loose
    bound (loose[slot, asd]: the table rate times the largest multipliers), then against the resident's
    own bound (tight[slot, status]: smoking and the modifiers' bounds); rate/12 bounds the probability
    from above (the tables hold the slack and the 1/12)."""
    k = 0
    K = loose.shape[0]
    for r in range(U(lo), U(hi)):
        if not alive[r]:
            continue
        slot, frac = slot_of(uniform(ids[r], key), K)
        a = U(asd[r])
        if frac >= K * loose[slot, a]:
            continue
        if slot == 0:
            has = htn[r]
        elif slot == 1:
            has = cvd[r]
        elif slot == 2:
            has = copd[r]
        elif slot == 3:
            has = diabetes[r]
        else:
            has = other_ltcs[r] >= 8  # OTHER_LTC_CAP
        if not has and frac < K * loose[slot, a] * lsoa_illness[U(lsoa[r])] * tight[slot, U(status_start[r])]:
            out[k] = r
            k += 1
    return k


@nb.njit(**JIT)
def _diagnosed(rows, ids, key, bound, h1, d1, h2, d2, h3, d3, h4, d4):
    """Of residents with an undiagnosed condition, those whose uniform, split into a slot per condition,
    falls in an undiagnosed condition's slot under its (bounded) diagnosis chance."""
    out = np.empty(rows.size, np.int64)
    k = 0
    for i in range(U(rows.size)):
        r = U(rows[i])
        slot, frac = slot_of(uniform(ids[r], key), 4)
        if slot == 0:
            pending = h1[r] and not d1[r]
        elif slot == 1:
            pending = h2[r] and not d2[r]
        elif slot == 2:
            pending = h3[r] and not d3[r]
        else:
            pending = h4[r] and not d4[r]
        if pending and frac < 4 * bound[slot]:
            out[k] = r
            k += 1
    return out[:k]


@nb.njit(**JIT)
def _ltc_count(out, htn, cvd, copd, diabetes, other_ltcs):
    for r in range(U(out.size)):
        out[r] = other_ltcs[r] + htn[r] + cvd[r] + copd[r] + diabetes[r]


def onset_tables(p, ref) -> dict[str, np.ndarray]:
    """Annual onset hazards by asd for a resident whose own ratios are one: the onset that keeps each
    cell's cohort on its prevalence curve (reference.onset_for_curve, with the conditions' excess
    mortality), over the cell's mean ratio among those still free of the condition."""
    c = ref.cohort
    deaths = death_hazard(p)
    out = {}
    for k, cond in enumerate(CONDITIONS):
        now, nxt = ref.target(cond)
        inc = onset_for_curve(now, nxt, deaths, p["mortality.ltc_rr"][k])
        at_risk = ~c[cond]
        own = ConditionOnset.individual(p, k, c.smoking, c.quit_step, 0, ref.factor("illness"))
        out[cond] = -np.log1p(-inc) / ref.mean(own, at_risk)
    now, nxt = ref.target("other_ltcs")
    at_risk = c.other_ltcs < OTHER_LTC_CAP
    out["other"] = np.maximum(nxt - now, 0.0) / ref.mean(ref.factor("illness"), at_risk)
    return out


class ConditionOnset(Process):
    name = "conditions"
    description = ("onset of hypertension, CVD, COPD, diabetes and other LTCs: age (shifted earlier with "
                   "deprivation), sex, smoking (benefit of quitting grows with time), LSOA illness ratio")
    states = tuple(State(c, np.bool_, False, f"has {c}") for c in CONDITIONS) + (
        State("other_ltcs", np.int8, 0, "count of other long-term conditions (CKD, asthma, arthritis, ...)"),)
    ONSET = {c: Result(f"onset_{c}", f"New cases: {c}", "people") for c in (*CONDITIONS, "other")}
    PREVALENT = {c: Result(f"prevalent_{c}", f"People with {c} (end of period)", "people", kind="snapshot")
                 for c in CONDITIONS}
    MULTIMORBID = Result("multimorbid", "People with two or more conditions (end of period)", "people",
                         kind="snapshot")
    results = (*ONSET.values(), *PREVALENT.values(), MULTIMORBID)
    streams = ("conditions.onset",)
    modifiers = tuple(f"onset.{c}" for c in CONDITIONS)
    events = ("onset",)

    def prepare(self, model) -> None:
        p = model.params
        self.tables = onset_tables(p, model.reference)
        local = model.lsoa_illness.max()
        self.bounds = {cond: local * max(p["conditions.smoking_hr_current"][k], p["conditions.smoking_hr_ex"][k], 1.0)
                       for k, cond in enumerate(CONDITIONS)}
        self.bounds["other"] = local
        self.table_matrix = np.stack([self.tables[c] for c in (*CONDITIONS, "other")])

    @staticmethod
    def individual(p, k: int, status, quit_step, t: int, local) -> np.ndarray:
        """A resident's own onset rate ratio for condition k: smoking (from the month-start status) and
        the LSOA's illness ratio."""
        return smoking_rate_ratio(status, quit_step, t, p["mortality.quit_benefit_halflife_years"],
                                  p["conditions.smoking_hr_current"][k], p["conditions.smoking_hr_ex"][k]) * local

    def begin_step(self, model) -> None:
        """Long-term conditions at the start of the month (read by admissions, frailty and QALYs)."""
        c = model.cohort
        self.nltc = np.empty(c.n, dtype=np.int8)
        _ltc_count(self.nltc, c.htn, c.cvd, c.copd, c.diabetes, c.other_ltcs)

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c, p = model.cohort, model.params
        names = (*CONDITIONS, "other")
        mods = np.array([model.modifier_bound(f"onset.{cond}") for cond in names])
        cur, ex = p["conditions.smoking_hr_current"], p["conditions.smoking_hr_ex"]
        # the resident's own bound relative to the loose one: LSOA illness and smoking replace their maxima
        tight = np.array([[1.0, cur[k], max(cur[k], ex[k])] for k in range(len(CONDITIONS))] + [[1.0, 1.0, 1.0]])
        tight = tight * (mods / (np.array([self.bounds[n] for n in names]) * mods))[:, None]
        loose = self.table_matrix * (np.array([self.bounds[n] for n in names]) * mods)[:, None] * (SLACK / 12.0)
        cand = candidates(_onsets, rows, c.n, c.id, c.alive, model.asd,
                          model.streams.key_u64("conditions.onset", model.t), loose, c.lsoa, model.lsoa_illness,
                          c.htn, c.cvd, c.copd, c.diabetes, c.other_ltcs, model.process("smoking").status_start,
                          tight)
        slots, fracs = slots_of(model.draw("conditions.onset", cand), K_ALL)
        smoking = model.process("smoking")
        for k, cond in enumerate(names):
            pick = np.flatnonzero(slots == k)
            if len(pick) == 0:
                continue
            sub, frac = cand[pick], fracs[pick]
            # the exact thinning test, then the full hazard (the same arithmetic for every resident)
            bound = K_ALL * rate_to_prob(self.tables[cond][model.asd[sub]] * self.bounds[cond]
                                         * model.modifier_bound(f"onset.{cond}"))
            keep = np.flatnonzero(frac < bound)
            sub, frac = sub[keep], frac[keep]
            h = self.tables[cond][model.asd[sub]] * c.alive[sub]
            local = model.lsoa_illness[c.lsoa[sub]]
            if cond == "other":
                h = h * local * (c.other_ltcs[sub] < OTHER_LTC_CAP)
            else:
                h = h * ~c[cond][sub] * model.modifier(f"onset.{cond}", sub) * self.individual(
                    p, k, smoking.status_start[sub], smoking.quit_start[sub], model.t, local)
            new = sub[frac < K_ALL * rate_to_prob(h)]
            if len(new) == 0:
                continue
            if cond == "other":
                c.other_ltcs[new] += 1
                model.record(self.ONSET["other"].name, new)
                continue
            c[cond][new] = True
            if cond == "cvd":  # CVD presents acutely: diagnosed at onset
                c.cvd_dx[new] = True
            model.record(self.ONSET[cond].name, new)
            model.emit("onset", new, condition=cond)

    def snapshot(self, model) -> None:
        c = model.cohort
        for cond in CONDITIONS:
            model.count_living(self.PREVALENT[cond].name, c[cond])
        nltc = np.empty(c.n, dtype=np.int8)
        _ltc_count(nltc, c.htn, c.cvd, c.copd, c.diabetes, c.other_ltcs)
        model.count_living(self.MULTIMORBID.name, nltc >= 2)


class Diagnosis(Process):
    name = "diagnosis"
    description = "undiagnosed conditions are diagnosed in routine care at a steady rate"
    states = tuple(State(f"{c}_dx", np.bool_, False, f"{c} diagnosed") for c in CONDITIONS)
    DIAGNOSED = {c: Result(f"diagnosed_{c}", f"Diagnoses: {c}", "people") for c in CONDITIONS}
    DIAGNOSED_PREVALENT = {c: Result(f"diagnosed_prevalent_{c}", f"People with diagnosed {c} (end of period)",
                                     "people", kind="snapshot") for c in CONDITIONS}
    results = (*DIAGNOSED.values(), *DIAGNOSED_PREVALENT.values())
    streams = ("conditions.diagnosis",)
    modifiers = tuple(f"diagnosis.{c}" for c in CONDITIONS)
    events = ("diagnosis",)

    def prepare(self, model) -> None:
        annual = np.clip(model.params["conditions.diagnosis_annual"], 0, 0.999)
        self.monthly = -np.expm1(np.log1p(-annual) / 12.0)

    def diagnose(self, model, rows: np.ndarray, cond: str) -> None:
        """Diagnose `cond` in rows (routine care or a health check): state, count and event, once."""
        if len(rows):
            model.cohort[f"{cond}_dx"][rows] = True
            model.record(self.DIAGNOSED[cond].name, rows)
            model.emit("diagnosis", rows, condition=cond)

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        pairs = [a for cond in CONDITIONS for a in (c[cond], c[f"{cond}_dx"])]
        bound = np.minimum(self.monthly * np.array([model.modifier_bound(f"diagnosis.{cond}") for cond in CONDITIONS]),
                           0.25) * SLACK
        undiagnosed = []
        for lo, hi in runs(rows, c.n):  # whole arrays at a time: cheaper than a row-by-row test
            any_pending = (c.htn[lo:hi] & ~c.htn_dx[lo:hi]) | (c.cvd[lo:hi] & ~c.cvd_dx[lo:hi])
            any_pending |= (c.copd[lo:hi] & ~c.copd_dx[lo:hi]) | (c.diabetes[lo:hi] & ~c.diabetes_dx[lo:hi])
            undiagnosed.append(np.flatnonzero(any_pending & c.alive[lo:hi]) + lo)
        sub = _diagnosed(np.concatenate(undiagnosed) if undiagnosed else np.empty(0, np.int64), c.id,
                         model.streams.key_u64("conditions.diagnosis", model.t), bound, *pairs)
        if len(sub) == 0:
            return
        pending = [c[cond][sub] & ~c[f"{cond}_dx"][sub] for cond in CONDITIONS]
        probs = [np.where(pend, np.minimum(self.monthly[k] * model.modifier(f"diagnosis.{cond}", sub), 0.25), 0.0)
                 for k, (cond, pend) in enumerate(zip(CONDITIONS, pending, strict=True))]
        events = slot_events(model.draw("conditions.diagnosis", sub), probs)
        for k, cond in enumerate(CONDITIONS):
            self.diagnose(model, sub[events[k]], cond)

    def snapshot(self, model) -> None:
        for cond in CONDITIONS:
            model.count_living(self.DIAGNOSED_PREVALENT[cond].name, model.cohort[f"{cond}_dx"])
