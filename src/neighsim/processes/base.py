"""The process interface. A process owns what is its own, declared in one place:

    states     resident fields it keeps (name, dtype, default for newcomers), added to every cohort;
    results    what it records (name, label, unit, kind: 'event' summed over a period, or 'snapshot'
               taken at the end of each financial year), read by the recorder, summary and report;
    streams    its random streams (counter-based, keyed on resident ids);
    modifiers  hazard modifiers interventions may attach (each with an upper bound for thinning);
    events     what it emits to listeners (interventions, probes).

Each month the model calls `begin_step` on every process (the process's own month context: who is at
risk, last month's quitters, ...), then `apply` in plan order; at the end of each financial year
`snapshot`. A resident-level process touches only the rows it is given, so the vectorised path, the
per-agent path and a split over threads give identical results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..model import NeighbourhoodModel

Rows = slice | np.ndarray


class Modifier:
    """A hazard modifier callable with the upper bound the engine's exact thinning needs (attached by
    interventions, and by a process for a factor it keeps outside its kernel)."""

    def __init__(self, fn: Callable[[Any, Any], np.ndarray | float], upper_bound: float = 1.0, name: str = ""):
        self.fn = fn
        self.upper_bound = max(float(upper_bound), 1.0)
        self.__name__ = name or getattr(fn, "__name__", "modifier")

    def __call__(self, model, rows):
        return self.fn(model, rows)


@dataclass(frozen=True)
class State:
    """A resident field: its dtype, the value newcomers get, and what it means."""

    name: str
    dtype: Any
    default: int | float | bool
    doc: str = ""


@dataclass(frozen=True)
class Result:
    """A recorded count (or sum): 'event' results are summed over a period, 'snapshot' results are
    counts at the end of a period. `lifetable` results are also kept in the life-table grid."""

    name: str
    label: str
    unit: str
    kind: str = "event"
    lifetable: bool = False

    def __post_init__(self):
        if self.kind not in ("event", "snapshot"):
            raise ValueError(f"result {self.name}: kind must be 'event' or 'snapshot', not {self.kind!r}")


def select(rows: Rows, mask: np.ndarray) -> np.ndarray:
    """Row indices where mask holds; rows is a slice (whole cohort) or an index array."""
    if isinstance(rows, slice):
        return np.flatnonzero(mask) + (rows.start or 0)
    return rows[mask]


def slot_events(u: np.ndarray, probs: list[np.ndarray]) -> list[np.ndarray]:
    """Mutually exclusive events from one uniform, each cause in its own slot.

    Cause k happens when floor(u*K) == k and frac(u*K) < K*p_k, so each has probability p_k (while
    K*p_k <= 1) and changing one cause's probability never moves another cause's events: common
    random numbers survive an intervention on a single cause.
    """
    k = len(probs)
    slot, frac = slots_of(u, k)
    return [(slot == i) & (frac < k * p) for i, p in enumerate(probs)]


def slots_of(u: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Slot and within-slot uniform of each uniform (the arithmetic of slot_events and the kernels)."""
    scaled = u * k
    slot = np.minimum(scaled.astype(np.int64), k - 1)
    return slot, scaled - slot


def take(rows: Rows, pos: np.ndarray) -> np.ndarray:
    """Cohort rows at positions of a rows selection."""
    if isinstance(rows, slice):
        return pos + (rows.start or 0)
    return rows[pos]


def as_slice_or_rows(rows: Rows, n: int) -> tuple[int, int, np.ndarray | None]:
    """(start, stop, None) for a slice, (0, 0, rows) for an index array: what the kernels take."""
    if isinstance(rows, slice):
        return (rows.start or 0), (n if rows.stop is None else rows.stop), None
    return 0, 0, np.asarray(rows, dtype=np.int64)


class Process:
    """One entry of the step plan.

    level 'resident': apply(model, rows) touches only those residents (a Resident can step itself
    through it); level 'model': apply(model) acts on the whole cohort (births placed, in-migrants).
    """

    name: ClassVar[str] = "process"
    level: ClassVar[str] = "resident"
    description: ClassVar[str] = ""
    states: ClassVar[tuple[State, ...]] = ()
    results: ClassVar[tuple[Result, ...]] = ()
    streams: ClassVar[tuple[str, ...]] = ()
    modifiers: ClassVar[tuple[str, ...]] = ()
    events: ClassVar[tuple[str, ...]] = ()

    def prepare(self, model: NeighbourhoodModel) -> None:
        """Precompute lookup tables from the parameters (once per model)."""

    def begin_step(self, model: NeighbourhoodModel) -> None:
        """The process's own context for the month, fixed before any process runs."""

    def default_rows(self, model: NeighbourhoodModel) -> Rows:
        """The residents the vectorised path hands this process (all; kernels skip those not at risk)."""
        return model.all_rows

    def apply(self, model: NeighbourhoodModel, rows: Rows | None = None) -> None:  # pragma: no cover
        raise NotImplementedError

    def snapshot(self, model: NeighbourhoodModel) -> None:
        """Record this process's snapshot results (model.count_living counts living residents by stratum)."""

    @classmethod
    def result(cls, name: str) -> Result:
        for r in cls.results:
            if r.name == name:
                return r
        raise KeyError(f"{cls.__name__} declares no result {name!r}")
