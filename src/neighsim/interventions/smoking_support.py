"""Stop-smoking support: one pathway shared by every module that refers smokers to it.

A smoker in support has the engine's quit hazard multiplied by M for `months` months. M is chosen so
that an average smoker (the engine's unassisted monthly quit hazard h) quits during support with the
published 52-week probability q:  M = -ln(1 - q) / (months x h), never below 1. The engine's smoking
process then makes the quit (recording it, spilling over to the household and ties next month). The
published figure is abstinence at 52 weeks, so relapse in the first year is already in it: a quit made
during support (that raises the quit hazard) is spared the engine's relapse for its first 12 months,
and relapses as any ex-smoker after that. Benefits for admissions, onset and mortality grow with time since quitting through the
engine's smoking multipliers.

Health checks (referral of attending smokers) and the tobacco module (community service) both enrol
residents here. A resident referred by both is in support once (the later end and the larger
multiplier), so the combined scenario never double counts the same service.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Effect, Modifier

# Effect settings of the shared stop-smoking service, declared once for every module that refers to it
SUPPORT_EFFECTS = {
    "support_quit_52wk": Effect("interventions.stop_smoking_quit_52wk", "probability",
                                "52-week quit probability in stop-smoking support"),
    "support_months": Effect("interventions.stop_smoking_support_months", "months", "months of support"),
}

UNTIL = "stop_smoking_support_until"  # last month of support (-1: never)
SPARED = "stop_smoking_relapse_spared_until"  # last month a 12-month quit is spared the engine's relapse
MULT = "stop_smoking_support_rr"
COMPONENT = "stop_smoking_support"
PROTECTED_MONTHS = 12  # a 52-week figure already includes the first year's relapse


def support_multiplier(quit_52wk: float, months: int, params) -> float:
    """Quit hazard ratio during support that gives probability quit_52wk to an average smoker."""
    if months <= 0 or quit_52wk <= 0:
        return 1.0
    h = -math.log1p(-float(params["smoking.quit_success_annual"])) / 12.0
    return max(1.0, -math.log1p(-min(quit_52wk, 0.999)) / (months * h))


class StopSmokingSupport:
    """The per-model shared service (created by the first module that needs it)."""

    def __init__(self, model):
        c = model.cohort
        c.add_field(UNTIL, np.int16, -1)
        c.add_field(MULT, np.float32, 1.0)
        c.add_field(SPARED, np.int16, -1)
        self.modifier = Modifier(self._quit, 1.0, "stop_smoking_support:smoking.quit")
        model.add_modifier("smoking.quit", self.modifier)
        model.add_modifier("smoking.relapse", Modifier(self._relapse, 1.0, "stop_smoking_support:smoking.relapse"))
        model.listen("quit", self._on_quit)
        self.enrolled = 0
        self.any = False
        self.any_spared = False

    @classmethod
    def of(cls, model) -> StopSmokingSupport:
        """The model's one stop-smoking service (a model component shared by every referring module)."""
        return model.component(COMPONENT, cls)

    def declare(self, multiplier: float) -> None:
        """A module announces the largest multiplier it may give (the modifier's upper bound)."""
        self.modifier.upper_bound = max(self.modifier.upper_bound, float(multiplier))

    def enrol(self, model, rows: np.ndarray, months: int, multiplier: float) -> np.ndarray:
        """Put current smokers among rows into support from this month; returns those enrolled."""
        c = model.cohort
        rows = np.asarray(rows)
        rows = rows[(c.smoking[rows] == 1) & c.alive[rows]]
        if len(rows) == 0 or months <= 0:
            return rows
        self.declare(multiplier)
        t = model.t
        until = c[UNTIL]
        mult = c[MULT]
        active = until[rows] >= t
        mult[rows] = np.where(active, np.maximum(mult[rows], multiplier), multiplier).astype(np.float32)
        until[rows] = np.maximum(until[rows], t + months - 1).astype(np.int16)
        self.any = True
        self.enrolled += len(rows)
        return rows

    def _quit(self, model, rows):
        if not self.any:
            return 1.0
        c = model.cohort
        on = c[UNTIL][rows] >= model.t
        return np.where(on, c[MULT][rows].astype(np.float64), 1.0)

    def spare_relapse(self, model, rows: np.ndarray) -> None:
        """Quits made this month whose published figure is 12-month (52-week) abstinence: the first year's
        relapse is already counted in it, so the engine's relapse is off for months t+1 to t+12 (every
        module whose quits are 12-month abstinence uses this one mechanism)."""
        rows = np.asarray(rows)
        if len(rows):
            model.cohort[SPARED][rows] = model.t + PROTECTED_MONTHS
            self.any_spared = True

    def _on_quit(self, model, rows, **info) -> None:
        """Quits made in support that raises the quit hazard are 52-week abstinence: spared."""
        if not self.any:
            return
        c = model.cohort
        rows = np.asarray(rows)
        self.spare_relapse(model, rows[(c[UNTIL][rows] >= model.t) & (c[MULT][rows] > 1.0)])

    def _relapse(self, model, rows):
        if not self.any_spared:
            return 1.0
        return np.where(model.cohort[SPARED][rows] >= model.t, 0.0, 1.0)
