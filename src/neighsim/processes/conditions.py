"""Long-term condition onset (hypertension, CVD, COPD, diabetes, other) and diagnosis in routine care."""

from __future__ import annotations

import numpy as np

from ..agents.cohort import CONDITIONS
from .base import Process, Rows, select, slot_events, slot_split, take
from .common import rate_to_prob
from .smoking import smoking_multiplier
from .tables import onset_tables


class ConditionOnset(Process):
    name = "conditions"
    streams = ("conditions.onset",)
    modifiers = tuple(f"onset.{c}" for c in CONDITIONS)
    events = ("onset",)
    description = ("onset of hypertension, CVD, COPD, diabetes and other LTCs: age (shifted earlier with "
                   "deprivation), sex, smoking (benefit of quitting grows with time), LSOA illness ratio")

    def prepare(self, model) -> None:
        p = model.params
        self.tables = onset_tables(p)
        local = model.lsoa_illness.max()
        self.bounds = {cond: local * max(p["conditions.smoking_hr_current"][k], p["conditions.smoking_hr_ex"][k], 1.0)
                       for k, cond in enumerate(CONDITIONS)}
        self.bounds["other"] = local

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c, p = model.cohort, model.params
        k_all = len(CONDITIONS) + 1
        slots, frac = slot_split(model.draw("conditions.onset", rows), k_all)
        for k, pos in enumerate(slots):
            if len(pos) == 0:
                continue
            cond = CONDITIONS[k] if k < len(CONDITIONS) else "other"
            sub = take(rows, pos)
            # exact thinning: the full hazard only where the uniform is under its upper bound
            bound = k_all * rate_to_prob(self.tables[cond][model.ctx.asd[sub]] * self.bounds[cond]
                                         * model.modifier_bound(f"onset.{cond}"))
            keep = np.flatnonzero(frac[pos] < bound)
            pos, sub = pos[keep], sub[keep]
            h = self.tables[cond][model.ctx.asd[sub]] * model.lsoa_illness[c.lsoa[sub]] * c.alive[sub]
            if cond == "other":
                h = h * (c.other_ltcs[sub] < 8)
            else:
                h = h * ~c[cond][sub] * model.modifier(f"onset.{cond}", sub) * smoking_multiplier(
                    model, sub, p["conditions.smoking_hr_current"][k], p["conditions.smoking_hr_ex"][k])
            new = sub[frac[pos] < k_all * rate_to_prob(h)]
            if len(new) == 0:
                continue
            if cond == "other":
                c.other_ltcs[new] += 1
                model.record("onset_other", new)
                continue
            c[cond][new] = True
            if cond == "cvd":  # CVD presents acutely: diagnosed at onset
                c.cvd_dx[new] = True
            model.record(f"onset_{cond}", new)
            model.emit("onset", new, condition=cond)


class Diagnosis(Process):
    name = "diagnosis"
    streams = ("conditions.diagnosis",)
    modifiers = tuple(f"diagnosis.{c}" for c in CONDITIONS)
    events = ("diagnosis",)
    description = "undiagnosed conditions are diagnosed in routine care at a steady rate"

    def prepare(self, model) -> None:
        annual = np.clip(model.params["conditions.diagnosis_annual"], 0, 0.999)
        self.monthly = -np.expm1(np.log1p(-annual) / 12.0)

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        alive = c.alive[rows]
        pending = [alive & c[cond][rows] & ~c[f"{cond}_dx"][rows] for cond in CONDITIONS]
        anyp = np.logical_or.reduce(pending)
        sub = select(rows, anyp)
        if len(sub) == 0:
            return
        sel = anyp if isinstance(rows, np.ndarray) else np.flatnonzero(anyp)
        probs = [np.where(pend[sel], np.minimum(self.monthly[k] * model.modifier(f"diagnosis.{cond}", sub), 0.25), 0.0)
                 for k, (cond, pend) in enumerate(zip(CONDITIONS, pending, strict=True))]
        events = slot_events(model.draw("conditions.diagnosis", sub), probs)
        for k, cond in enumerate(CONDITIONS):
            new = sub[events[k]]
            if len(new):
                c[f"{cond}_dx"][new] = True
                model.record(f"diagnosed_{cond}", new)
                model.emit("diagnosis", new, condition=cond)
