"""Frailty progression between eFI categories (fit -> mild -> moderate -> severe) from age 50."""

from __future__ import annotations

import numpy as np

from .base import Process, Rows, select
from .common import decile_rr, rate_to_prob


class Frailty(Process):
    name = "frailty"
    streams = ("frailty",)
    modifiers = ("frailty.progression",)
    description = ("onset of frailty by age (Walsh 2023), higher in women, with deprivation and with each "
                   "long-term condition; mild -> moderate -> severe at published annual rates")

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

    def default_rows(self, model) -> Rows:
        return model.ctx.rows_50plus

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        age = np.minimum(c.age_months[rows] // 12, 120)
        f = c.frailty[rows]
        eligible = c.alive[rows] & (age >= 50) & (f < 3)
        nltc = model.ctx.nltc[rows]
        ltc = self.ltc_pow[nltc] * self.ref_pow[age]
        rate = np.where(f == 0, self.onset[age] * self.sex[c.male[rows].astype(np.int8)] *
                        self.decile[c.imd_decile[rows] - 1], self.step_rates[f])
        rate = rate * ltc * model.modifier("frailty.progression", rows)
        u = model.draw("frailty", rows)
        move = select(rows, eligible & (u < rate_to_prob(rate)))
        if len(move):
            onset = move[c.frailty[move] == 0]
            c.frailty[move] += 1
            model.record("frailty_onset", onset)
            model.record("frailty_progression", move)
