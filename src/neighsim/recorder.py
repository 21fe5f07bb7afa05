"""Counts by month and stratum (neighbourhood x IMD decile x sex x age band): never agent rows.

Events are added as they happen (bincount over the stratum of each resident involved); person-time
is added every month for everybody alive at the start of it; prevalences are snapshots taken in the
last month of each financial year. A separate life-table grid (5-year age groups) holds deaths and
person-months for period life tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .processes.common import AGE_BAND_LABELS, AGE_BANDS

N_DECILES = 10
N_SEXES = 2
N_BANDS = len(AGE_BANDS)
LT_AGE_STARTS = np.array([0, 1] + list(range(5, 95, 5)))  # 0, 1-4, 5-9, ..., 90+
N_LT = len(LT_AGE_STARTS)
SEX_LABELS = ("female", "male")

# per-month stratum table: age in years -> band, precomputed
_BAND_OF_AGE = np.searchsorted(np.asarray(AGE_BANDS[1:]), np.arange(121), side="right").astype(np.int32)
_LT_OF_AGE = (np.searchsorted(LT_AGE_STARTS, np.arange(121), side="right") - 1).astype(np.int32)


class Recorder:
    """Dense count arrays [month, stratum] per measure, created on first use."""

    def __init__(self, neighbourhoods: list[int], months: int):
        self.neighbourhoods = list(neighbourhoods)
        self.months = months
        self.local = {nb: i for i, nb in enumerate(self.neighbourhoods)}
        self.n_strata = len(self.neighbourhoods) * N_DECILES * N_SEXES * N_BANDS
        self.n_lt = len(self.neighbourhoods) * N_SEXES * N_DECILES * N_LT
        self.data: dict[str, np.ndarray] = {}
        self.lt: dict[str, np.ndarray] = {}
        self.t = 0
        self._nb_lookup = np.full(max(self.neighbourhoods, default=0) + 1, -1, dtype=np.int32)
        self._nb_lookup[self.neighbourhoods] = np.arange(len(self.neighbourhoods))

    # --- strata ----------------------------------------------------------------------------------
    def base_stratum(self, nbhd: np.ndarray, decile: np.ndarray, male: np.ndarray) -> np.ndarray:
        """The part of a resident's stratum that never changes (neighbourhood, decile, sex)."""
        nb = self._nb_lookup[nbhd].astype(np.int32)
        return (nb * N_DECILES + (decile.astype(np.int32) - 1)) * N_SEXES + male.astype(np.int32)

    def strata_from_base(self, base: np.ndarray, age_years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.minimum(age_years, 120)
        return base * N_BANDS + _BAND_OF_AGE[a], base * N_LT + _LT_OF_AGE[a]

    def strata(self, nbhd: np.ndarray, decile: np.ndarray, male: np.ndarray, age_years: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """(recorder stratum, life-table stratum) for residents."""
        nb = self._nb_lookup[nbhd].astype(np.int32)
        base = (nb * N_DECILES + (decile.astype(np.int32) - 1)) * N_SEXES + male.astype(np.int32)
        a = np.minimum(age_years, 120)
        return base * N_BANDS + _BAND_OF_AGE[a], base * N_LT + _LT_OF_AGE[a]

    # --- adding ----------------------------------------------------------------------------------
    def _arr(self, store: dict[str, np.ndarray], measure: str, width: int) -> np.ndarray:
        a = store.get(measure)
        if a is None:
            a = store[measure] = np.zeros((self.months, width), dtype=np.float64)
        return a

    def row(self, measure: str) -> np.ndarray:
        """This month's counts of a measure by stratum (kernels add to it in place)."""
        return self._arr(self.data, measure, self.n_strata)[self.t]

    def lt_row(self, measure: str) -> np.ndarray:
        return self._arr(self.lt, measure, self.n_lt)[self.t]

    def add(self, measure: str, strata: np.ndarray, weights: np.ndarray | None = None) -> None:
        if len(strata) == 0:
            self._arr(self.data, measure, self.n_strata)
            return
        self._arr(self.data, measure, self.n_strata)[self.t] += np.bincount(
            strata, weights=weights, minlength=self.n_strata)

    def add_lt(self, measure: str, strata: np.ndarray, weights: np.ndarray | None = None) -> None:
        if len(strata) == 0:
            return
        self._arr(self.lt, measure, self.n_lt)[self.t] += np.bincount(strata, weights=weights, minlength=self.n_lt)

    def merge(self, other: Recorder) -> None:
        for store, ostore in ((self.data, other.data), (self.lt, other.lt)):
            for k, v in ostore.items():
                if k in store:
                    store[k] += v
                else:
                    store[k] = v.copy()

    # --- output ----------------------------------------------------------------------------------
    def _frame(self, store: dict[str, np.ndarray], n_age: int, age_col: str, age_values: np.ndarray
               ) -> pd.DataFrame:
        """Decode stratum = ((neighbourhood x decile) x sex) x age into tidy non-zero rows."""
        frames = []
        nb = np.asarray(self.neighbourhoods)
        for measure, arr in sorted(store.items()):
            month, stratum = np.nonzero(arr)
            rest, age = np.divmod(stratum, n_age)
            rest, sex = np.divmod(rest, N_SEXES)
            nbi, dec = np.divmod(rest, N_DECILES)
            frames.append(pd.DataFrame({
                "month": month.astype(np.int16), "neighbourhood": nb[nbi].astype(np.int16),
                "imd_decile": (dec + 1).astype(np.int8), "sex": sex.astype(np.int8),
                age_col: age_values[age], "measure": measure, "value": arr[month, stratum]}))
        cols = ["month", "neighbourhood", "imd_decile", "sex", age_col, "measure", "value"]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)

    def to_frame(self) -> pd.DataFrame:
        """Tidy counts: month, neighbourhood, imd_decile, sex, age_band, measure, value (non-zero)."""
        return self._frame(self.data, N_BANDS, "age_band", np.arange(N_BANDS, dtype=np.int8))

    def lifetable_frame(self) -> pd.DataFrame:
        """Deaths and person-months by month, neighbourhood, decile, sex and life-table age group."""
        return self._frame(self.lt, N_LT, "age_start", LT_AGE_STARTS.astype(np.int16))


AGE_BAND_NAMES = AGE_BAND_LABELS
