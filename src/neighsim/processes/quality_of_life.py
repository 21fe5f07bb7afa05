"""Quality of life: QALYs lived each month from each resident's utility, counted at the start of the month
for everyone alive then.

Utility = age norm x condition multipliers x frailty multiplier (conditions carry their own EQ-5D loss, so
an LTC's onset lowers QALYs from the next month), less a current smoker's decrement and a cold home's
(a fuel-poor home the warm-homes programme has not treated: the modifier 'quality_of_life.cold_home'),
never below 0. Events then take off their disutility for the months after them (the event's own month was
counted at its start): a hip fracture 0.53 for three months and 0.16 to the twelfth, a fall admitted
without a hip fracture 0.09 for twelve months (Systematic Reviews 2024;13:289, table 5), an emergency
admission for another cause its cause's disutility for three months; the largest loss when several apply.
Sources and uncertainty: configs/parameters/economics.yaml and docs/evidence.md."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..agents.cohort import CONDITIONS
from .base import Process, Result
from .kernels import JIT, U

FALL_WINDOW = 12  # months a hip fracture's or an admitted fall's loss lasts
ADMISSION_WINDOW = 3  # months an emergency admission's loss lasts
ADMISSION_LOSS_INDEX = {"respiratory": 0, "cardiovascular": 1, "other": 2}  # economics.disutility_admission


@nb.njit(**JIT)
def _qalys(n, alive, stratum, age, htn, cvd, copd, diabetes, other_ltcs, frailty, smoker, cold, by_age, ltc,
           other_pow, frail, smoker_loss, cold_loss, out):
    """out[stratum] += utility / 12 for each living resident, in row order (as a weighted bincount)."""
    for r in range(U(n)):
        if alive[r]:
            out[U(stratum[r])] += _utility(r, age, htn, cvd, copd, diabetes, other_ltcs, frailty, smoker, cold,
                                           by_age, ltc, other_pow, frail, smoker_loss, cold_loss) * (1.0 / 12.0)


@nb.njit(inline="always", **JIT)
def _utility(r, age, htn, cvd, copd, diabetes, other_ltcs, frailty, smoker, cold, by_age, ltc, other_pow, frail,
             smoker_loss, cold_loss):
    code = U(htn[r]) | (U(cvd[r]) << U(1)) | (U(copd[r]) << U(2)) | (U(diabetes[r]) << U(3))
    u = by_age[U(min(age[r], 120))] * ltc[code] * other_pow[U(other_ltcs[r])] * frail[U(frailty[r])]
    u -= smoker_loss * (smoker[r] == 1) + cold_loss * cold[r]
    return max(u, 0.0)


@nb.njit(**JIT)
def _event_losses(rows, loss, alive, stratum, age, htn, cvd, copd, diabetes, other_ltcs, frailty, smoker, cold,
                  by_age, ltc, other_pow, frail, smoker_loss, cold_loss, out):
    """For the few residents carrying an event's loss this month (rows, ascending, loss[i] the largest of
    theirs): take off a twelfth of it, never below 0 utility."""
    for i in range(rows.size):
        r = U(rows[i])
        if alive[r] and loss[i] > 0.0:
            u = _utility(r, age, htn, cvd, copd, diabetes, other_ltcs, frailty, smoker, cold, by_age, ltc,
                         other_pow, frail, smoker_loss, cold_loss)
            out[U(stratum[r])] -= min(loss[i], u) * (1.0 / 12.0)


def fall_losses(t: int, hip_step: np.ndarray, fall_step: np.ndarray, hip_loss: np.ndarray,
                fall_loss: float) -> np.ndarray:
    """Each row's loss this month from its last hip fracture (hip_loss[months since - 1]) or admitted fall
    (fall_loss), the larger, within FALL_WINDOW months after the event's month."""
    since_hip = t - hip_step.astype(np.int64)
    since_fall = t - fall_step.astype(np.int64)
    hip = np.where((since_hip >= 1) & (since_hip <= FALL_WINDOW),
                   hip_loss[np.clip(since_hip - 1, 0, FALL_WINDOW - 1)], 0.0)
    fall = np.where((since_fall >= 1) & (since_fall <= FALL_WINDOW), fall_loss, 0.0)
    return np.maximum(hip, fall)


def largest_by_row(rows: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique rows (ascending) and the largest loss each carries."""
    if rows.size == 0:
        return np.empty(0, np.int64), np.empty(0)
    uniq, inv = np.unique(rows, return_inverse=True)
    best = np.zeros(uniq.size)
    np.maximum.at(best, inv, loss)
    return uniq.astype(np.int64), best


class QualityOfLife(Process):
    name = "quality_of_life"
    level = "model"
    description = ("QALYs: a twelfth of a year at each living resident's utility (age norm x conditions x "
                   "frailty, less smoking's and a cold home's decrement and a recent event's disutility)")
    QALYS = Result("qalys", "QALYs", "QALYs")
    results = (QALYS,)
    modifiers = ("quality_of_life.cold_home",)

    def prepare(self, model) -> None:
        from ..recorder import _BAND_OF_AGE

        p = model.params
        m = np.asarray(p["economics.utility_multiplier_ltc"])
        combos = np.arange(16)
        self.ltc = np.prod([np.where((combos >> k) & 1, m[k], 1.0) for k in range(len(CONDITIONS))], axis=0)
        self.by_age = np.asarray(p["economics.utility_by_age"])[_BAND_OF_AGE]
        self.other_pow = m[4] ** np.arange(16.0)
        self.frail = np.asarray(p["economics.utility_multiplier_frailty"])
        self.smoker_loss = float(p["economics.disutility_current_smoker"])
        self.cold_loss = float(p["economics.disutility_cold_home"])
        # the three months after a hip fracture's month at the acute disutility, then to the twelfth at the
        # 12-month one
        self.hip_loss = np.where(np.arange(FALL_WINDOW) < 3, p["economics.disutility_hip_fracture_acute"],
                                 p["economics.disutility_hip_fracture_12m"]).astype(np.float64)
        self.fall_loss = float(p["economics.disutility_fall_admission"])
        self.admission_loss = np.asarray(p["economics.disutility_admission"], dtype=np.float64)
        # who may carry an event's loss: a short list, so the monthly pass over everyone reads nothing more.
        # Falls: admitted falls (hip fractures included) of the last year, and the start's past year.
        c = model.cohort
        self.recent: list[tuple[int, np.ndarray]] = [
            (0, np.flatnonzero((c.hip_fracture_step > -13) | (c.fall_admission_step > -13)))]
        self.recent_admissions: list[tuple[int, np.ndarray, float]] = []
        model.listen("admission", self._on_admission)

    def _on_admission(self, model, rows, cause=None) -> None:
        rows = np.array(rows, dtype=np.int64, copy=True)
        if cause == "falls":
            self.recent.append((model.t, rows))
        elif cause in ADMISSION_LOSS_INDEX:
            self.recent_admissions.append((model.t, rows, float(self.admission_loss[ADMISSION_LOSS_INDEX[cause]])))

    def cold_weights(self, model) -> np.ndarray:
        """1 for residents of a cold (fuel-poor) home this month, less what interventions relieve."""
        c = model.cohort
        cold = c.fuel_poor.astype(np.float64)
        if model.has_modifiers("quality_of_life.cold_home"):
            rows = np.flatnonzero(c.fuel_poor & c.alive)
            cold[rows] = cold[rows] * model.modifier("quality_of_life.cold_home", rows)
        return cold

    def losses(self, model) -> tuple[np.ndarray, np.ndarray]:
        """Rows carrying an event's loss this month and the largest loss of each."""
        c, t = model.cohort, model.t
        self.recent = [(te, r) for te, r in self.recent if t - te <= FALL_WINDOW]
        self.recent_admissions = [e for e in self.recent_admissions if t - e[0] <= ADMISSION_WINDOW]
        parts_rows, parts_loss = [], []
        if self.recent:
            rows = np.unique(np.concatenate([r for _, r in self.recent]))
            parts_rows.append(rows)
            parts_loss.append(fall_losses(t, c.hip_fracture_step[rows], c.fall_admission_step[rows],
                                          self.hip_loss, self.fall_loss))
        for te, rows, loss in self.recent_admissions:
            if t - te >= 1:
                parts_rows.append(rows)
                parts_loss.append(np.full(rows.size, loss))
        if not parts_rows:
            return np.empty(0, np.int64), np.empty(0)
        return largest_by_row(np.concatenate(parts_rows), np.concatenate(parts_loss))

    def begin_step(self, model) -> None:
        c = model.cohort
        out = model.recorder.row(self.QALYS.name)
        args = (c.alive, model.stratum, model.age, c.htn, c.cvd, c.copd, c.diabetes, c.other_ltcs, c.frailty,
                c.smoking, self.cold_weights(model), self.by_age, self.ltc, self.other_pow, self.frail,
                self.smoker_loss, self.cold_loss)
        _qalys(c.n, *args, out)
        rows, loss = self.losses(model)
        _event_losses(rows, loss, *args, out)

    def apply(self, model, rows=None) -> None:
        """Nothing during the month: QALYs are counted at its start."""
