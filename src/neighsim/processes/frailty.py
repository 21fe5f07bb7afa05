"""Frailty: moves between eFI categories (fit -> mild -> moderate -> severe, and mild -> fit)."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..agents.cohort import FRAILTY_LABELS
from ..population.attributes import FRAILTY_MIN_AGE, frailty_shares, frailty_terms
from .base import Process, Result, Rows, State
from .common import rate_to_prob
from .kernels import JIT, U, candidates, uniform
from .tables import death_hazard, grid

SLACK = 1.0 + 1e-9


@nb.njit(**JIT)
def _movers(lo, hi, out, ids, alive, asd, frailty, nltc, key, bound, ltc_pow, last_fall, hip_step, t, fall_rr, hip_rr):
    """Residents not yet severe whose uniform lies under an upper bound (rate/12) of their move:
    bound[asd, category] (the derived rates with the modifiers' bound and the slack) times ltc_pow[conditions]
    times the ratio after a recent fall or hip fracture."""
    k = 0
    for r in range(U(lo), U(hi)):
        f = frailty[r]
        if f >= 3 or not alive[r]:
            continue
        rate = bound[U(asd[r]), U(f)]
        if rate <= 0.0:  # no move at this age (under the eFI's first age): the fall fields are not read
            continue
        if t - hip_step[r] <= 12:
            rate *= hip_rr
        elif t - last_fall[r] <= 12:
            rate *= fall_rr
        if uniform(ids[r], key) < rate * ltc_pow[U(nltc[r])]:
            out[k] = r
            k += 1
    return k


@nb.njit(**JIT)
def _entrants(lo, hi, out, alive, age_months, frailty, month):
    """Residents turning the eFI's first age this month, still recorded fit."""
    k = 0
    for r in range(U(lo), U(hi)):
        if age_months[r] == month and frailty[r] == 0 and alive[r]:
            out[k] = r
            k += 1
    return k


def fall_factor_mean(p, ref) -> np.ndarray:
    """Expected progression ratio from recent falls and hip fractures [asd, category], from the falls
    process's own annual chances: rates are divided by it so that prevalence by age still holds."""
    from .falls import Falls

    fell, hip = Falls.annual_chances(p, ref)
    return 1 + (p["frailty.fall_progression_rr"] - 1) * (fell - hip) + (p["frailty.hip_fracture_progression_rr"] - 1) * hip


def transition_tables(p, ref, death_hazard: np.ndarray) -> np.ndarray:
    """Annual hazards [asd, from category] of onset (fit -> mild), mild -> moderate and moderate -> severe
    that carry each cell's cohort from this year's category shares to next year's (population/attributes.py),
    with each category dying at its Clegg hazard ratio (the cell's mean hazard is death_hazard) and a
    share of the mild improving to fit; over the cell's mean condition ratio and mean fall ratio in each
    category (falls and hip fractures speed progression, Frailty.after_fall)."""
    now, nxt = ref.target("frailty")
    hr = np.asarray(p["mortality.frailty_hr"])
    mean_hr = now @ hr
    died = np.exp(-death_hazard[:, None] * hr[None, :] / np.maximum(mean_hr, 1e-12)[:, None])
    s = now * died  # survivors by category, per person at the start
    total = s.sum(axis=1)
    r = p["frailty.improvement_mild_to_fit"]

    def solve(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.clip(np.divide(num, den, out=np.zeros_like(den), where=den > 1e-9), 0.0, 0.9)

    g2 = solve(nxt[:, 3] * total - s[:, 3], s[:, 2])
    g1 = solve(nxt[:, 2] * total - s[:, 2] * (1 - g2), s[:, 1])
    onset = solve(nxt[:, 1] * total - s[:, 1] * (1 - g1 - r), s[:, 0])
    probs = np.stack([onset, g1, g2], axis=1)
    probs[grid()[0] < FRAILTY_MIN_AGE] = 0.0  # residents enter the eFI at its first age (Frailty.enter)
    ltc = p["frailty.ltc_progression_rr"] ** ref.nltc.astype(float)
    mean_ltc = np.stack([ref.mean(ltc, ref.cohort.frailty == k) for k in range(3)], axis=1)
    return -np.log1p(-probs) / mean_ltc / fall_factor_mean(p, ref)[:, :3]


class Frailty(Process):
    name = "frailty"
    description = ("eFI categories: onset and progression by age, sex and decile derived from the published "
                   "prevalence with competing mortality (steady prevalence by age), faster with each "
                   "long-term condition and in the year after a fall or hip fracture; optional improvement "
                   "from mild to fit")
    states = (State("frailty", np.int8, 0, "eFI category: 0 fit, 1 mild, 2 moderate, 3 severe"),)
    ONSET = Result("frailty_onset", "People becoming frail", "people")
    PROGRESSION = Result("frailty_progression", "Moves to a more severe frailty category", "people")
    IMPROVEMENT = Result("frailty_improvement", "Moves from mild frailty back to fit", "people")
    PREVALENT = {lab: Result(f"frailty_{lab}", f"People with {lab} frailty (end of period)", "people",
                             kind="snapshot") for lab in FRAILTY_LABELS[1:]}
    results = (ONSET, PROGRESSION, IMPROVEMENT, *PREVALENT.values())
    streams = ("frailty", "frailty.entry")
    modifiers = ("frailty.progression",)

    def prepare(self, model) -> None:
        p = model.params
        self.rates = transition_tables(p, model.reference, death_hazard(p))
        self.ltc_pow = p["frailty.ltc_progression_rr"] ** np.arange(16.0)
        self.improve = float(-np.log1p(-p["frailty.improvement_mild_to_fit"]))
        self.fall_rr = float(p["frailty.fall_progression_rr"])
        self.hip_rr = float(p["frailty.hip_fracture_progression_rr"])

    def after_fall(self, model, rows: np.ndarray) -> np.ndarray:
        """Progression ratio in the 12 months after a hip fracture (hip_rr) or another fall (fall_rr)."""
        c, t = model.cohort, model.t
        hip = (t - c.hip_fracture_step[rows].astype(np.int32)) <= 12
        fell = (t - c.last_fall_step[rows].astype(np.int32)) <= 12
        return np.where(hip, self.hip_rr, np.where(fell, self.fall_rr, 1.0))

    def enter(self, model, rows: Rows) -> None:
        """Residents turning FRAILTY_MIN_AGE take the category the synthesis gives a resident of that age,
        sex, decile and conditions (the published prevalence at 50), rather than all starting fit."""
        c = model.cohort
        new = candidates(_entrants, rows, c.n, c.alive, c.age_months, c.frailty, FRAILTY_MIN_AGE * 12)
        if len(new) == 0:
            return
        age = np.full(len(new), float(FRAILTY_MIN_AGE))
        own, tilt = frailty_terms(model.params, age, c.male[new], c.imd_decile[new], c.ltc_count(new).astype(float))
        cum = np.cumsum(frailty_shares(model.params, model.reference.frailty_fit, age, own, tilt), axis=1)
        u = model.streams.uniform("frailty.entry", model.t, c.id[new])
        c.frailty[new] = (u[:, None] >= cum[:, :3]).sum(axis=1)

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        self.enter(model, rows)
        nltc = model.process("conditions").nltc
        bound = self.rates * (model.modifier_bound("frailty.progression") * SLACK / 12.0)
        # the kernel multiplies by ltc_pow and the fall ratio: the improvement's bound is divided by their minima
        bound[:, 1] += self.improve * SLACK / 12.0 / self.ltc_pow.min() / min(self.fall_rr, self.hip_rr, 1.0)
        cand = candidates(_movers, rows, c.n, c.id, c.alive, model.asd, c.frailty, nltc,
                          model.streams.key_u64("frailty", model.t), bound, self.ltc_pow, c.last_fall_step,
                          c.hip_fracture_step, model.t, self.fall_rr, self.hip_rr)
        if len(cand) == 0:
            return
        u = model.draw("frailty", cand)
        f = c.frailty[cand]
        up = (self.rates[model.asd[cand], f] * self.ltc_pow[nltc[cand]] * self.after_fall(model, cand)
              * model.modifier("frailty.progression", cand))
        p_up = rate_to_prob(up)
        move = cand[u < p_up]
        back = cand[(f == 1) & (u >= p_up) & (u < p_up + rate_to_prob(np.full(len(cand), self.improve)))]
        if len(move):
            onset = move[c.frailty[move] == 0]
            c.frailty[move] += 1
            model.record(self.ONSET.name, onset)
            model.record(self.PROGRESSION.name, move)
        if len(back):
            c.frailty[back] = 0
            model.record(self.IMPROVEMENT.name, back)

    def snapshot(self, model) -> None:
        f = model.cohort.frailty
        for k, lab in enumerate(FRAILTY_LABELS[1:], start=1):
            model.count_living(self.PREVALENT[lab].name, f == k)
