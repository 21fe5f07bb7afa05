"""Frailty progression between eFI categories (fit -> mild -> moderate -> severe) from age 50."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..agents.cohort import FRAILTY_LABELS
from .base import Process, Result, Rows, State
from .common import decile_rr, rate_to_prob
from .kernels import JIT, U, candidates, uniform

SLACK = 1.0 + 1e-9


@nb.njit(**JIT)
def _movers(lo, hi, out, ids, alive, age_years, male, decile, frailty, nltc, key, onset, steps, ltc):
    """Residents 50+ not yet severe whose uniform lies under an upper bound (rate/12) of their move:
    onset[age, male, decile] for the fit, steps[frailty] for the frail, times ltc[age, conditions]
    (the tables hold the modifiers' bound and the slack)."""
    k = 0
    for r in range(U(lo), U(hi)):
        age = U(min(age_years[r], 120))
        if age < 50 or not alive[r]:
            continue
        f = frailty[r]
        if f >= 3:
            continue
        rate = onset[age, U(male[r]), U(decile[r] - 1)] if f == 0 else steps[U(f)]
        if uniform(ids[r], key) < rate * ltc[age, U(nltc[r])]:
            out[k] = r
            k += 1
    return k


class Frailty(Process):
    name = "frailty"
    description = ("onset of frailty by age (Walsh 2023), higher in women, with deprivation and with each "
                   "long-term condition; mild -> moderate -> severe at published annual rates")
    states = (State("frailty", np.int8, 0, "eFI category: 0 fit, 1 mild, 2 moderate, 3 severe"),)
    ONSET = Result("frailty_onset", "People becoming frail", "people")
    PROGRESSION = Result("frailty_progression", "Moves to a more severe frailty category", "people")
    PREVALENT = {lab: Result(f"frailty_{lab}", f"People with {lab} frailty (end of period)", "people",
                             kind="snapshot") for lab in FRAILTY_LABELS[1:]}
    results = (ONSET, PROGRESSION, *PREVALENT.values())
    streams = ("frailty",)
    modifiers = ("frailty.progression",)

    def prepare(self, model) -> None:
        p = model.params
        onset = np.zeros(121)
        rates = np.asarray(p["frailty.onset_per_1000"]) / 1000.0 * p["frailty.onset_scale"]
        ages = np.arange(121)
        onset[50:] = np.select([ages[50:] < 65, ages[50:] < 75, ages[50:] < 85], rates[:3], rates[3])
        self.onset = -np.log1p(-np.clip(onset, 0, 0.9))
        self.step_rates = np.array([0.0, -np.log1p(-p["frailty.mild_to_moderate"]),
                                    -np.log1p(-p["frailty.moderate_to_severe"]), 0.0])
        self.decile = decile_rr(np.arange(1, 11), p["frailty.deprivation_or_decile1"])
        f = p["frailty.onset_female_rr"]
        self.sex = np.array([f**0.5, f**-0.5])  # female, male
        # reference number of conditions by age: centres the per-condition ratio
        ref_ltc = np.clip((ages - 30) / 20.0, 0.5, 3.0)
        rr = p["frailty.ltc_progression_rr"]
        self.ltc_pow = rr ** np.arange(16.0)  # table lookups instead of a power per resident
        self.ref_pow = rr ** -ref_ltc
        self.ltc_table = self.ref_pow[:, None] * self.ltc_pow[None, :]  # [age, conditions] for the kernel

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        nltc = model.process("conditions").nltc
        scale = model.modifier_bound("frailty.progression") * (SLACK / 12.0)
        onset = self.onset[:, None, None] * self.sex[None, :, None] * self.decile[None, None, :] * scale
        cand = candidates(_movers, rows, c.n, c.id, c.alive, model.age, c.male, c.imd_decile, c.frailty, nltc,
                          model.streams.key_u64("frailty", model.t), onset, self.step_rates * scale, self.ltc_table)
        if len(cand) == 0:
            return
        u = model.draw("frailty", cand)
        age = np.minimum(c.age_months[cand] // 12, 120)
        f = c.frailty[cand]
        ltc = self.ltc_pow[nltc[cand]] * self.ref_pow[age]
        rate = np.where(f == 0, self.onset[age] * self.sex[c.male[cand].astype(np.int8)] *
                        self.decile[c.imd_decile[cand] - 1], self.step_rates[f])
        rate = rate * ltc * model.modifier("frailty.progression", cand)
        move = cand[u < rate_to_prob(rate)]
        if len(move):
            onset = move[c.frailty[move] == 0]
            c.frailty[move] += 1
            model.record(self.ONSET.name, onset)
            model.record(self.PROGRESSION.name, move)

    def snapshot(self, model) -> None:
        f = model.cohort.frailty
        for k, lab in enumerate(FRAILTY_LABELS[1:], start=1):
            model.count_living(self.PREVALENT[lab].name, f == k)
