"""Quality of life: QALYs lived each month from each resident's utility (age norm x condition and
frailty multipliers, less the disutility of a recent hip fracture or injurious fall), counted for
everyone alive at the start of the month.

Event disutilities (EQ-5D, subtracted, never below 0): a hip fracture 0.53 in the month of the fracture
and the two after, then 0.16 to its twelfth month; a fall admitted without a hip fracture 0.09 for 12
months (Systematic Reviews 2024;13:289, table 5). Later years after a fracture, admissions for other
causes, smoking and cold homes lose no quality of life here (not valued: the QALYs gained are, if
anything, understated)."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..agents.cohort import CONDITIONS
from .base import Process, Result
from .kernels import JIT, U


@nb.njit(**JIT)
def _qalys(n, alive, stratum, age, htn, cvd, copd, diabetes, other_ltcs, frailty, by_age, ltc, other_pow, frail,
           out):
    """out[stratum] += utility / 12 for each living resident, in row order (as a weighted bincount)."""
    for r in range(U(n)):
        if alive[r]:
            out[U(stratum[r])] += _utility(r, age, htn, cvd, copd, diabetes, other_ltcs, frailty, by_age, ltc,
                                           other_pow, frail) * (1.0 / 12.0)


@nb.njit(inline="always", **JIT)
def _utility(r, age, htn, cvd, copd, diabetes, other_ltcs, frailty, by_age, ltc, other_pow, frail):
    code = U(htn[r]) | (U(cvd[r]) << U(1)) | (U(copd[r]) << U(2)) | (U(diabetes[r]) << U(3))
    return by_age[U(min(age[r], 120))] * ltc[code] * other_pow[U(other_ltcs[r])] * frail[U(frailty[r])]


@nb.njit(**JIT)
def _event_losses(rows, alive, stratum, age, htn, cvd, copd, diabetes, other_ltcs, frailty, by_age, ltc, other_pow,
                  frail, hip_step, fall_adm_step, t, hip_loss, fall_loss, out):
    """For the few residents with a hip fracture or admitted fall in the last year (rows, ascending): take
    off a twelfth of hip_loss[months since the fracture] or fall_loss (the larger), never below 0 utility."""
    for i in range(rows.size):
        r = U(rows[i])
        if not alive[r]:
            continue
        loss = 0.0
        since = t - hip_step[r]
        if since >= 0 and since < 12:
            loss = hip_loss[since]
        since = t - fall_adm_step[r]
        if since >= 0 and since < 12 and fall_loss > loss:
            loss = fall_loss
        if loss > 0.0:
            u = _utility(r, age, htn, cvd, copd, diabetes, other_ltcs, frailty, by_age, ltc, other_pow, frail)
            out[U(stratum[r])] -= min(loss, u) * (1.0 / 12.0)


class QualityOfLife(Process):
    name = "quality_of_life"
    level = "model"
    description = ("QALYs: a twelfth of a year at each living resident's utility (age norm x conditions x "
                   "frailty, less a recent hip fracture's or injurious fall's disutility)")
    QALYS = Result("qalys", "QALYs", "QALYs")
    results = (QALYS,)

    def prepare(self, model) -> None:
        from ..recorder import _BAND_OF_AGE

        p = model.params
        m = np.asarray(p["economics.utility_multiplier_ltc"])
        combos = np.arange(16)
        self.ltc = np.prod([np.where((combos >> k) & 1, m[k], 1.0) for k in range(len(CONDITIONS))], axis=0)
        self.by_age = np.asarray(p["economics.utility_by_age"])[_BAND_OF_AGE]
        self.other_pow = m[4] ** np.arange(16.0)
        self.frail = np.asarray(p["economics.utility_multiplier_frailty"])
        # months 0-2 after a hip fracture at the acute disutility, months 3-11 at the 12-month one
        self.hip_loss = np.where(np.arange(12) < 3, p["economics.disutility_hip_fracture_acute"],
                                 p["economics.disutility_hip_fracture_12m"]).astype(np.float64)
        self.fall_loss = float(p["economics.disutility_fall_admission"])
        # who may carry an event's loss: admitted falls (hip fractures included) of the last 12 months, and
        # the start's past year; a short list, so the monthly pass over everyone reads nothing more
        c = model.cohort
        self.recent: list[tuple[int, np.ndarray]] = [
            (0, np.flatnonzero((c.hip_fracture_step > -13) | (c.fall_admission_step > -13)))]
        model.listen("admission", self._on_admission)

    def _on_admission(self, model, rows, cause=None) -> None:
        if cause == "falls":
            self.recent.append((model.t, np.array(rows, dtype=np.int64, copy=True)))

    def begin_step(self, model) -> None:
        c = model.cohort
        out = model.recorder.row(self.QALYS.name)
        args = (c.alive, model.stratum, model.age, c.htn, c.cvd, c.copd, c.diabetes, c.other_ltcs, c.frailty,
                self.by_age, self.ltc, self.other_pow, self.frail)
        _qalys(c.n, *args, out)
        self.recent = [(te, r) for te, r in self.recent if model.t - te < 13]  # a year's events (and the start's)
        rows = np.unique(np.concatenate([r for _, r in self.recent])) if self.recent else np.empty(0, np.int64)
        _event_losses(rows, *args, c.hip_fracture_step, c.fall_admission_step, model.t, self.hip_loss,
                      self.fall_loss, out)

    def apply(self, model, rows=None) -> None:
        """Nothing during the month: QALYs are counted at its start."""
