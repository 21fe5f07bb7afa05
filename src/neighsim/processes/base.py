"""The process interface: hazards in, events out, with named streams and named hazard modifiers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..model import NeighbourhoodModel

Rows = slice | np.ndarray


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
    scaled = u * k
    slot = np.minimum(scaled.astype(np.int64), k - 1)
    frac = scaled - slot
    return [(slot == i) & (frac < k * p) for i, p in enumerate(probs)]


def slot_split(u: np.ndarray, k: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Positions falling in each of k slots and the within-slot uniform (see slot_events).

    Lets a process evaluate each cause's hazard only for the residents whose slot it is: the same
    events as slot_events at a fifth of the arithmetic for five causes."""
    scaled = u * k
    slot = np.minimum(scaled.astype(np.int64), k - 1)
    return [np.flatnonzero(slot == i) for i in range(k)], scaled - slot


def take(rows: Rows, pos: np.ndarray) -> np.ndarray:
    """Cohort rows at positions of a rows selection."""
    if isinstance(rows, slice):
        return pos + (rows.start or 0)
    return rows[pos]


class Process:
    """One entry of the step plan.

    level 'resident': apply(model, rows) touches only those residents (a Resident can step itself
    through it); level 'model': apply(model) acts on the whole cohort (births placed, in-migrants).
    """

    name: ClassVar[str] = "process"
    level: ClassVar[str] = "resident"
    streams: ClassVar[tuple[str, ...]] = ()
    modifiers: ClassVar[tuple[str, ...]] = ()
    events: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    def prepare(self, model: NeighbourhoodModel) -> None:
        """Precompute lookup tables from the parameters (once per model)."""

    def default_rows(self, model: NeighbourhoodModel) -> Rows:
        """The residents the vectorised path hands this process (all, or those at risk)."""
        return model.all_rows

    def apply(self, model: NeighbourhoodModel, rows: Rows | None = None) -> None:  # pragma: no cover
        raise NotImplementedError
