"""The step plan and what its processes declare. A new process is one file and one line here."""

from __future__ import annotations

from .admissions import Admissions
from .base import Process, Result, State
from .conditions import ConditionOnset, Diagnosis
from .demography import Births, Emigration, Immigration, Newborns
from .falls import Falls
from .frailty import Frailty
from .mortality import Mortality
from .quality_of_life import QualityOfLife
from .smoking import Smoking

PLAN: tuple[type[Process], ...] = (Emigration, Smoking, ConditionOnset, Diagnosis, Frailty, Falls, Admissions,
                                   Mortality, Births, Newborns, Immigration, QualityOfLife)

# What the model itself records (not any one process): person-time and head counts
PERSON_MONTHS = Result("person_months", "Person-months lived", "person-months", lifetable=True)
POPULATION_START = Result("population_start", "Residents at the start", "people")
POPULATION = Result("population", "Residents (end of period)", "people", kind="snapshot")
MODEL_RESULTS = (PERSON_MONTHS, POPULATION_START, POPULATION)


# The causes of emergency admission, in the order reports show them (their total is derived)
ADMISSION_CAUSES = (Admissions.BY_CAUSE["respiratory"], Admissions.BY_CAUSE["cardiovascular"], Falls.ADMISSIONS,
                    Admissions.BY_CAUSE["other"])
# position of each cause in the parameter admissions.length_of_stay
LENGTH_OF_STAY_INDEX = {Admissions.BY_CAUSE["respiratory"].name: 0, Admissions.BY_CAUSE["cardiovascular"].name: 1,
                        Admissions.BY_CAUSE["other"].name: 2, Falls.ADMISSIONS.name: 3}


def default_plan() -> list[Process]:
    """Fresh process objects in plan order. To add a process, insert an instance of it into this list
    and give the list to NeighbourhoodModel(plan=...); docs/model.md shows a worked example."""
    return [cls() for cls in PLAN]


def declared_once(items, what: str) -> list:
    """Declarations by name, refusing a name declared twice (a name is written once)."""
    seen: dict[str, object] = {}
    for item in items:
        if item.name in seen:
            raise ValueError(f"{what} {item.name!r} is declared twice")
        seen[item.name] = item
    return list(seen.values())


def declared_states(plan: tuple[type[Process], ...] = PLAN) -> list[State]:
    return declared_once((s for cls in plan for s in cls.states), "state")


def declared_results(plan: tuple[type[Process], ...] = PLAN) -> list[Result]:
    """Every result the engine records, each once (the recorder, summary and report read these)."""
    return declared_once((*MODEL_RESULTS, *(r for cls in plan for r in cls.results)), "result")


def snapshot_results() -> frozenset[str]:
    return frozenset(r.name for r in declared_results() if r.kind == "snapshot")
