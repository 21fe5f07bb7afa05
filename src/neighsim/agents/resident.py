"""Resident: a mesa.Agent that is a view onto one row of the cohort arrays (never a copy of state).

Reading `resident.smoking` reads the array; writing it writes the array, so `model.agents`,
AgentSet.select/groupby/agg and DataCollector see the same residents the engine steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from .cohort import FRAILTY_LABELS, SMOKING_LABELS, plan_fields

if TYPE_CHECKING:  # pragma: no cover
    from ..model import NeighbourhoodModel


def _field(name: str) -> property:
    def get(self: Resident):
        return self.model.cohort[name][self.row].item()

    def set_(self: Resident, value) -> None:
        self.model.cohort[name][self.row] = value

    return property(get, set_, doc=f"cohort array '{name}' for this resident")


class Resident(mesa.Agent):
    """One resident. `resident_id` is the project's stable id; Mesa's unique_id is not stable."""

    def __init__(self, model: NeighbourhoodModel, row: int):
        super().__init__(model)
        self.row = int(row)

    @property
    def resident_id(self) -> int:
        return int(self.model.cohort.id[self.row])

    @property
    def age(self) -> int:
        return int(self.model.cohort.age_months[self.row]) // 12

    @property
    def sex(self) -> str:
        return "male" if self.model.cohort.male[self.row] else "female"

    @property
    def smoking_status(self) -> str:
        return SMOKING_LABELS[int(self.model.cohort.smoking[self.row])]

    @property
    def frailty_category(self) -> str:
        return FRAILTY_LABELS[int(self.model.cohort.frailty[self.row])]

    @property
    def ltc_count(self) -> int:
        return int(self.model.cohort.ltc_count(np.array([self.row]))[0])

    def __getattr__(self, name: str):
        """Any other cohort field (an intervention's state, a process added to the plan) by name."""
        model = self.__dict__.get("model")
        if model is not None and name in model.cohort:
            return model.cohort[name][self.row].item()
        raise AttributeError(name)

    def step(self, processes=None) -> None:
        """Step this resident through the resident-level processes of the plan (per-agent path)."""
        self.model.step_resident(self.row, processes)

    def __repr__(self) -> str:
        return f"Resident(id={self.resident_id}, age={self.age}, {self.sex})"


for _name in plan_fields():
    if _name not in ("id",) and not hasattr(Resident, _name):
        setattr(Resident, _name, _field(_name))
