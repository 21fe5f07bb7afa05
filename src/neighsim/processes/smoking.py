"""Smoking: uptake (young adults), quitting (with household and social-tie spillover) and relapse.

Every quit, whoever causes it (this process, an inpatient tobacco service), goes through
`Smoking.quit`, so the state change, the count and the 'quit' event are written once. Other processes
read the month-start smoking status through `multiplier` (risk relative to never smokers).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..population.attributes import smoking_decile_factor
from .base import Process, Result, Rows, State
from .common import decile_rr, flag, rate_to_prob
from .kernels import JIT, U, candidates, uniform

SLACK = 1.0 + 1e-9  # bounds a hair above the exact hazard: candidates are never missed


def quit_decay(quit_step: np.ndarray, t: int, halflife_years: float) -> np.ndarray:
    """Share of a quitter's excess risk remaining: halves every `halflife_years` since quitting."""
    months = np.maximum(t - quit_step.astype(np.float32), 0.0)
    return np.exp2(months * np.float32(-1.0 / (12.0 * halflife_years)))


def smoking_rate_ratio(status: np.ndarray, quit_step: np.ndarray, t: int, halflife_years: float,
                       rr_current: float, rr_ex_floor: float) -> np.ndarray:
    """Rate ratio vs never smokers: current smokers rr_current; ex-smokers decay from rr_current to the
    floor with time since quitting (also what rates are normalised on, processes/reference.py)."""
    current, ex = status == 1, status == 2
    decay = np.zeros(len(status), dtype=np.float32)
    decay[ex] = quit_decay(quit_step[ex], t, halflife_years)
    return 1.0 + (rr_current - 1.0) * current + (rr_ex_floor - 1.0) * ex + (rr_current - rr_ex_floor) * decay


@nb.njit(**JIT)
def _changers(lo, hi, out, ids, alive, age_years, decile, status, quit_step, household, hh_quits, tie_quits, key, t,
              uptake, quit, hh_rr, tie_pow, relapse, top):
    """Adults whose uniform lies under an upper bound (rate/12) of their transition: uptake[age, decile]
    for never smokers, quit[decile] with spillover for smokers, relapse[months since quitting] for
    ex-smokers (the tables hold the modifiers' bounds and the slack). Every adult's uniform is first
    compared with `top`, the largest of these bounds, so the status-dependent test (whose branches the
    processor cannot predict) runs for few residents."""
    k = 0
    kmax = relapse.size - 1
    for r in range(U(lo), U(hi)):
        age = U(min(age_years[r], 120))
        if age < 18 or not alive[r]:
            continue
        u = uniform(ids[r], key)
        if u >= top:
            continue
        s = status[r]
        if s == 0:
            rate = uptake[age, U(decile[r] - 1)]
        elif s == 1:
            rate = quit[U(decile[r] - 1)] * tie_pow[U(min(tie_quits[r], 5))]
            hh = household[r]
            if hh >= 0 and hh_quits[U(hh)] > 0:
                rate *= hh_rr
        else:
            rate = relapse[U(min(max(t - quit_step[r], 0), kmax))]
        if u < rate:
            out[k] = r
            k += 1
    return k


@nb.njit(**JIT)
def _quitters(lo, hi, out, alive, quit_step, t):
    k = 0
    for r in range(U(lo), U(hi)):
        if quit_step[r] == t - 1 and alive[r]:
            out[k] = r
            k += 1
    return k


@nb.njit(**JIT)
def _tie_counts(quitters, indptr, indices, household, tie, touched, n_touched):
    """Non-household ties who quit last month, per resident; resets last month's entries first.
    Returns how many entries are now non-zero (their rows are touched[:k])."""
    for i in range(U(n_touched)):
        tie[U(touched[i])] = 0
    k = 0
    for i in range(U(quitters.size)):
        q = U(quitters[i])
        for j in range(U(indptr[q]), U(indptr[q + 1])):
            nb_ = U(indices[j])
            if household[nb_] != household[q]:
                if tie[nb_] == 0:
                    touched[k] = nb_
                    k += 1
                tie[nb_] += 1
    return k


class Smoking(Process):
    name = "smoking"
    description = "uptake at 18-34, quitting with spillover from household and ties, relapse by time since quit"
    states = (State("smoking", np.int8, 0, "0 never, 1 current, 2 ex"),
              State("quit_step", np.int16, -32000, "month of the last quit (negative: before the projection)"))
    STARTS = Result("smoking_starts", "People starting to smoke", "people")
    QUITS = Result("quits", "Smokers quitting", "people")
    RELAPSES = Result("relapses", "Ex-smokers relapsing", "people")
    SMOKERS = Result("smokers", "Smokers (end of period)", "people", kind="snapshot")
    results = (STARTS, QUITS, RELAPSES, SMOKERS)
    streams = ("smoking",)
    modifiers = ("smoking.quit", "smoking.relapse", "smoking.uptake")
    events = ("quit",)

    def prepare(self, model) -> None:
        p = model.params
        self.uptake = np.zeros(121)
        self.uptake[18:25] = p["smoking.uptake_annual_18_24"]
        self.uptake[25:35] = p["smoking.uptake_annual_18_24"] / 2
        self.decile_uptake = smoking_decile_factor(np.arange(1, 11), p)
        self.decile_quit = decile_rr(np.arange(1, 11), p["smoking.quit_deprivation_rr_decile1"])
        self.quit_base = float(-np.log1p(-p["smoking.quit_success_annual"]))
        self.tie_pow = np.asarray(p["smoking.spillover_tie_rr"] ** np.arange(6), dtype=np.float64)
        self.halflife = p["mortality.quit_benefit_halflife_years"]
        c = model.cohort
        self.n_households = max(int(c.household.max(initial=-1)) + 1, 1)  # none are created during a run
        self.tie = np.zeros(c.capacity, dtype=np.int32)
        self.touched = np.zeros(c.capacity, dtype=np.int64)
        self.n_touched = 0

    def begin_step(self, model) -> None:
        """Last month's quitters (for household and tie spillover) and the month-start status."""
        c, t = model.cohort, model.t
        if len(self.tie) < c.n:  # newcomers were appended
            self.tie = np.concatenate([self.tie, np.zeros(c.capacity - len(self.tie), np.int32)])
            self.touched = np.concatenate([self.touched, np.zeros(c.capacity - len(self.touched), np.int64)])
        quitters = candidates(_quitters, model.all_rows, c.n, c.alive, c.quit_step, t)
        hh = c.household[quitters]
        self.hh_quits = np.bincount(hh[hh >= 0], minlength=self.n_households)
        net = model.network
        src = quitters[quitters < net.n]
        self.n_touched = _tie_counts(src, net.indptr, net.indices, c.household, self.tie, self.touched,
                                     self.n_touched)
        self.status_start = c.smoking.copy()
        self.quit_start = c.quit_step.copy()

    def _bound_tables(self, model) -> tuple:
        """Upper bounds of the monthly transition chances (rate/12, with the modifiers' bounds): -log(1-p)
        <= p/(1-p), so no logarithm is needed per resident."""
        p = model.params
        slack = SLACK / 12.0
        q = np.minimum(self.uptake[:, None] * self.decile_uptake[None, :] * model.modifier_bound("smoking.uptake"), 0.5)
        uptake = q / (1.0 - q) * slack
        quit = self.quit_base * self.decile_quit * model.modifier_bound("smoking.quit") * slack
        years = np.arange(121) / 12.0  # months since quitting; 10 years and more share the last value
        early, late, very_late = (p["smoking.relapse_annual_early"], p["smoking.relapse_annual_late"],
                                  p["smoking.relapse_annual_10y"])
        rel = np.minimum(np.select([years < 2, years < 5, years < 10],
                                   [early, early + (late - early) * (years - 2) / 3, late], very_late), 0.999999)
        relapse = rel / (1.0 - rel) * model.modifier_bound("smoking.relapse") * slack
        hh_rr = max(p["smoking.spillover_household_rr"], 1.0)
        top = max(uptake.max(), quit.max() * hh_rr * self.tie_pow.max(), relapse.max())
        return uptake, quit, hh_rr, self.tie_pow, relapse, top

    # --- what other processes read -----------------------------------------------------------------
    def multiplier(self, model, rows: np.ndarray, rr_current: float, rr_ex_floor: float) -> np.ndarray:
        """Rate ratio vs never smokers from the month-start status (see smoking_rate_ratio)."""
        return smoking_rate_ratio(self.status_start[rows], self.quit_start[rows], model.t, self.halflife,
                                  rr_current, rr_ex_floor)

    def household_quits(self, model, rows: np.ndarray) -> np.ndarray:
        hh = model.cohort.household[rows]
        q = self.hh_quits
        return np.where(hh >= 0, q[np.clip(hh, 0, len(q) - 1)], 0)

    # --- the one way a smoker quits ----------------------------------------------------------------
    def quit(self, model, rows: np.ndarray) -> None:
        """Current smokers among `rows` become ex-smokers this month (counted, and announced)."""
        if len(rows) == 0:
            return
        c = model.cohort
        c.smoking[rows] = 2
        c.quit_step[rows] = model.t
        model.record(self.QUITS.name, rows)
        model.emit("quit", rows)

    # --- the month -----------------------------------------------------------------------------------
    def apply(self, model, rows: Rows | None = None) -> None:
        c, p, t = model.cohort, model.params, model.t
        rows = self.default_rows(model) if rows is None else rows
        cand = candidates(_changers, rows, c.n, c.id, c.alive, model.age, c.imd_decile, c.smoking, c.quit_step,
                          c.household, self.hh_quits, self.tie, model.streams.key_u64("smoking", t), t,
                          *self._bound_tables(model))
        if len(cand) == 0:
            return
        u = model.draw("smoking", cand)
        # exact rates for the candidates (the same arithmetic as for every resident)
        status = c.smoking[cand]
        age = np.minimum(c.age_months[cand] // 12, 120)
        dec = c.imd_decile[cand] - 1
        rate = np.zeros(len(cand))
        never, cur, ex = (np.flatnonzero(status == k) for k in (0, 1, 2))
        sub = cand[never]
        p_up = self.uptake[age[never]] * self.decile_uptake[dec[never]] * model.modifier("smoking.uptake", sub)
        rate[never] = -np.log1p(-np.minimum(p_up, 0.5))
        sub = cand[cur]
        rate_q = -np.log1p(-p["smoking.quit_success_annual"]) * self.decile_quit[dec[cur]]
        rate_q = rate_q * flag(self.household_quits(model, sub) > 0, p["smoking.spillover_household_rr"])
        rate_q = rate_q * p["smoking.spillover_tie_rr"] ** np.minimum(self.tie[sub], 5)
        rate[cur] = rate_q * model.modifier("smoking.quit", sub)
        sub = cand[ex]
        years = (t - c.quit_step[sub].astype(np.float64)) / 12.0
        early, late, very_late = (p["smoking.relapse_annual_early"], p["smoking.relapse_annual_late"],
                                  p["smoking.relapse_annual_10y"])
        p_rel = np.select([years < 2, years < 5, years < 10],
                          [early, early + (late - early) * (years - 2) / 3, late], very_late)
        rate[ex] = -np.log1p(-p_rel) * model.modifier("smoking.relapse", sub)
        event = u < rate_to_prob(rate)
        starts = cand[event & (status == 0)]
        quits = cand[event & (status == 1)]
        relapses = cand[event & (status == 2)]
        if len(starts):
            c.smoking[starts] = 1
            model.record(self.STARTS.name, starts)
        self.quit(model, quits)
        if len(relapses):
            c.smoking[relapses] = 1
            model.record(self.RELAPSES.name, relapses)

    def snapshot(self, model) -> None:
        model.count_living(self.SMOKERS.name, model.cohort.smoking == 1)
