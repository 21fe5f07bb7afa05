"""Quality of life: QALYs lived each month from each resident's utility (age norm x condition and
frailty multipliers), counted for everyone alive at the start of the month."""

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
            code = U(htn[r]) | (U(cvd[r]) << U(1)) | (U(copd[r]) << U(2)) | (U(diabetes[r]) << U(3))
            u = by_age[U(min(age[r], 120))] * ltc[code] * other_pow[U(other_ltcs[r])] * frail[U(frailty[r])]
            out[U(stratum[r])] += u * (1.0 / 12.0)


class QualityOfLife(Process):
    name = "quality_of_life"
    level = "model"
    description = "QALYs: a twelfth of a year at each living resident's utility (age norm x conditions x frailty)"
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

    def begin_step(self, model) -> None:
        c = model.cohort
        out = model.recorder.row(self.QALYS.name)
        _qalys(c.n, c.alive, model.stratum, model.age, c.htn, c.cvd, c.copd, c.diabetes, c.other_ltcs, c.frailty,
               self.by_age, self.ltc, self.other_pow, self.frail, out)

    def apply(self, model, rows=None) -> None:
        """Nothing during the month: QALYs are counted at its start."""
