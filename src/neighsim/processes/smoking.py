"""Smoking: uptake (young adults), quitting (with household and social-tie spillover) and relapse."""

from __future__ import annotations

import numpy as np

from ..population.synth import smoking_decile_factor
from .base import Process, Rows, select
from .common import decile_rr, flag, rate_to_prob


def quit_decay(quit_step: np.ndarray, t: int, halflife_years: float) -> np.ndarray:
    """Share of a quitter's excess risk remaining: halves every `halflife_years` since quitting."""
    months = np.maximum(t - quit_step.astype(np.float32), 0.0)
    return np.exp2(months * np.float32(-1.0 / (12.0 * halflife_years)))


def smoking_multiplier(model, rows, rr_current: float, rr_ex_floor: float) -> np.ndarray:
    """Rate ratio vs never smokers, from smoking status at the start of the month: current smokers
    rr_current; ex-smokers decay from rr_current to the floor with time since quitting."""
    ctx = model.ctx
    return (1.0 + (rr_current - 1.0) * ctx.current[rows] + (rr_ex_floor - 1.0) * ctx.ex[rows]
            + (rr_current - rr_ex_floor) * ctx.ex_decay[rows])


class Smoking(Process):
    name = "smoking"
    streams = ("smoking",)
    modifiers = ("smoking.quit", "smoking.relapse", "smoking.uptake")
    events = ("quit",)
    description = "uptake at 18-34, quitting with spillover from household and ties, relapse by time since quit"

    def prepare(self, model) -> None:
        p = model.params
        self.uptake = np.zeros(121)
        self.uptake[18:25] = p["smoking.uptake_annual_18_24"]
        self.uptake[25:35] = p["smoking.uptake_annual_18_24"] / 2
        self.decile_uptake = smoking_decile_factor(np.arange(1, 11), p)
        self.decile_quit = decile_rr(np.arange(1, 11), p["smoking.quit_deprivation_rr_decile1"])

    def default_rows(self, model) -> Rows:
        return model.ctx.rows_smoking

    def apply(self, model, rows: Rows | None = None) -> None:
        c, p, t = model.cohort, model.params, model.t
        if rows is None:  # vectorised: only residents with a non-zero hazard this month
            rows = self.default_rows(model)
        status = c.smoking[rows]
        age = np.minimum(c.age_months[rows] // 12, 120)
        dec = c.imd_decile[rows] - 1
        at_risk = c.alive[rows] & (age >= 18)
        rate = np.zeros(len(status))
        never = np.flatnonzero(at_risk & (status == 0))
        cur = np.flatnonzero(at_risk & (status == 1))
        ex = np.flatnonzero(at_risk & (status == 2))
        sub = rows[never]
        p_up = self.uptake[age[never]] * self.decile_uptake[dec[never]] * model.modifier("smoking.uptake", sub)
        rate[never] = -np.log1p(-np.minimum(p_up, 0.5))
        # current -> ex, with spillover from last month's quitters in the household and among ties
        sub = rows[cur]
        rate_q = -np.log1p(-p["smoking.quit_success_annual"]) * self.decile_quit[dec[cur]]
        rate_q = rate_q * flag(model.ctx_household_quits(sub) > 0, p["smoking.spillover_household_rr"])
        rate_q = rate_q * p["smoking.spillover_tie_rr"] ** np.minimum(model.ctx_tie_quits(sub), 5)
        rate[cur] = rate_q * model.modifier("smoking.quit", sub)
        # ex -> current, by time since quitting
        sub = rows[ex]
        years = (t - c.quit_step[sub].astype(np.float64)) / 12.0
        early, late, very_late = (p["smoking.relapse_annual_early"], p["smoking.relapse_annual_late"],
                                  p["smoking.relapse_annual_10y"])
        p_rel = np.select([years < 2, years < 5, years < 10],
                          [early, early + (late - early) * (years - 2) / 3, late], very_late)
        rate[ex] = -np.log1p(-p_rel) * model.modifier("smoking.relapse", sub)
        event = model.draw("smoking", rows) < rate_to_prob(rate)
        starts = select(rows, event & (status == 0))
        quits = select(rows, event & (status == 1))
        relapses = select(rows, event & (status == 2))
        if len(starts):
            c.smoking[starts] = 1
            model.record("smoking_starts", starts)
        if len(quits):
            c.smoking[quits] = 2
            c.quit_step[quits] = t
            model.record("quits", quits)
            model.emit("quit", quits)
        if len(relapses):
            c.smoking[relapses] = 1
            model.record("relapses", relapses)
