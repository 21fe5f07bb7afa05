"""Array-backed resident state (structure of arrays): the one source of truth for every resident.

Rows are never removed during a run: the dead keep their row with alive=False, newcomers (births,
in-migrants) are appended, so a row index is stable and a Resident view can hold it. The fields are
the core identity fields below plus the states the plan's processes declare (processes/plan.py);
interventions add their own to their model's cohort only (each cohort keeps its own defaults).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

# Who and where a resident is: owned by the model itself (name -> dtype, default for new rows)
CORE_FIELDS: dict[str, tuple[type, int | float | bool]] = {
    "id": (np.int64, -1),
    "alive": (np.bool_, True),
    "age_months": (np.int16, 0),
    "male": (np.bool_, False),
    "lsoa": (np.int16, 0),
    "neighbourhood": (np.int16, 0),
    "locality": (np.int8, 0),
    "la": (np.int8, 0),
    "imd_decile": (np.int8, 5),
    "household": (np.int32, -1),
    "entry_step": (np.int16, -1),  # -1: in the starting population
}
CONDITIONS = ("htn", "cvd", "copd", "diabetes")
SMOKING_LABELS = ("never", "current", "ex")
FRAILTY_LABELS = ("fit", "mild", "moderate", "severe")


def plan_fields() -> dict[str, tuple[type, int | float | bool]]:
    """Core fields and the states declared by the processes of the default plan."""
    from ..processes.plan import declared_states

    return {**CORE_FIELDS, **{s.name: (s.dtype, s.default) for s in declared_states()}}


class Cohort:
    """Residents as parallel numpy arrays with spare capacity for newcomers."""

    def __init__(self, n: int, capacity: int | None = None,
                 fields: Mapping[str, tuple[type, int | float | bool]] | None = None):
        self.n = int(n)
        cap = max(int(capacity or n * 1.15 + 64), self.n)
        self._arrays: dict[str, np.ndarray] = {}
        self._defaults: dict[str, int | float | bool] = {}
        for name, (dtype, default) in (plan_fields() if fields is None else fields).items():
            self._arrays[name] = np.full(cap, default, dtype=dtype)
            self._defaults[name] = default

    # --- access -----------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("_arrays")
        if arrays is not None and name in arrays:
            return arrays[name][: self.n]
        raise AttributeError(name)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name][: self.n]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self._arrays[name][: self.n] = values

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    @property
    def fields(self) -> list[str]:
        return list(self._arrays)

    @property
    def capacity(self) -> int:
        return len(self._arrays["id"])

    def field_specs(self) -> dict[str, tuple[type, int | float | bool]]:
        return {k: (a.dtype.type, self._defaults[k]) for k, a in self._arrays.items()}

    def add_field(self, name: str, dtype: type, default: int | float | bool) -> None:
        """Extra state for an intervention module (e.g. 'health_checks_check_step'), in this cohort."""
        if name in self._arrays:
            if self._arrays[name].dtype != np.dtype(dtype):
                raise ValueError(f"field {name} already exists with dtype {self._arrays[name].dtype}")
            return
        self._arrays[name] = np.full(self.capacity, default, dtype=dtype)
        self._defaults[name] = default

    def append(self, k: int, **values: np.ndarray) -> np.ndarray:
        """Add k rows (defaults for unspecified fields); returns their row indices."""
        need = self.n + k
        if need > self.capacity:
            newcap = max(need, int(self.capacity * 1.5))
            for name, arr in self._arrays.items():
                grown = np.full(newcap, self._defaults[name], dtype=arr.dtype)
                grown[: self.n] = arr[: self.n]
                self._arrays[name] = grown
        rows = np.arange(self.n, need)
        for name, arr in self._arrays.items():
            arr[rows] = values[name] if name in values else self._defaults[name]
        self.n = need
        return rows

    def subset(self, rows: np.ndarray) -> Cohort:
        """A new cohort holding copies of the given rows (e.g. one neighbourhood), with the same fields."""
        rows = np.asarray(rows)
        out = Cohort(len(rows), fields=self.field_specs())
        for name, arr in self._arrays.items():
            out._arrays[name][: len(rows)] = arr[rows]
        return out

    def copy(self) -> Cohort:
        return self.subset(np.arange(self.n))

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v[: self.n].copy() for k, v in self._arrays.items()}

    def age_years(self, rows: np.ndarray | slice | None = None) -> np.ndarray:
        a = self._arrays["age_months"][: self.n]
        return (a if rows is None else a[rows]) // 12

    def ltc_count(self, rows: np.ndarray | None = None) -> np.ndarray:
        def get(c: str) -> np.ndarray:
            a = self._arrays[c][: self.n]
            return a if rows is None else a[rows]
        out = get("other_ltcs").astype(np.int8)
        for c in CONDITIONS:
            out += get(c)
        return out

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays.values())

    def equals(self, other: Cohort, fields: Iterable[str] | None = None) -> bool:
        names = fields or self.fields
        return self.n == other.n and all(np.array_equal(self[f], other[f]) for f in names)
