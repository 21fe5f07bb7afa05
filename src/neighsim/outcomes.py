"""Every outcome's name, label and unit, declared once.

The engine's results are declared by the processes that record them (processes/plan.py); the outcomes
the summary derives from them (totals, rates, life expectancy, inequality, costs, economics) are
declared here. Code refers to an outcome by attribute, `OUT.emergency_admissions`, never by a string
written again, so a misspelt name fails at once and a label is written in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str
    unit: str
    kind: str = "count"  # count (summed over areas and runs' missing cells are zero) or value


RATE_OF = ("emergency_admissions", "deaths", "admissions_falls", "hip_fractures")  # per 1,000 person-years

DERIVED = (
    Outcome("emergency_admissions", "Emergency admissions", "admissions"),
    Outcome("bed_days", "Emergency bed days", "bed days"),
    Outcome("person_years", "Person-years lived", "person-years"),
    Outcome("life_expectancy", "Life expectancy at birth (years)", "years", "value"),
    Outcome("sii_life_expectancy", "Slope index of inequality in life expectancy (years)", "years", "value"),
    Outcome("sii_admissions", "Slope index of inequality in admission rate (per 1,000)", "per 1,000", "value"),
    Outcome("rii_admissions", "Relative index of inequality in admission rate", "ratio", "value"),
    Outcome("core20_gap_admissions", "Core20 gap in admission rate (per 1,000)", "per 1,000", "value"),
    Outcome("core20_ratio_admissions", "Core20 ratio of age-standardised admission rates", "ratio", "value"),
    Outcome("asr_admissions_per_1000", "Age-standardised emergency admissions per 1,000 a year", "per 1,000",
            "value"),
    Outcome("cost_admissions", "Cost of emergency admissions (£)", "£"),
    Outcome("cost_intervention", "Intervention cost (£)", "£"),
    Outcome("costs_avoided", "Admission costs avoided (£, discounted)", "£", "value"),
    Outcome("net_cost", "Net cost (£)", "£", "value"),
    Outcome("roi", "Return on investment (£ back per £1)", "ratio", "value"),
    Outcome("payback_year", "Payback year", "year", "value"),
    Outcome("cost_per_admission_avoided", "Net cost per admission avoided (£)", "£", "value"),
    Outcome("cost_per_qaly", "Net cost per QALY gained (£)", "£", "value"),
    Outcome("qalys_gained", "QALYs gained (discounted)", "QALYs", "value"),
    Outcome("admissions_avoided", "Emergency admissions avoided", "admissions", "value"),
    Outcome("nmb_20000", "Net monetary benefit at £20,000 per QALY (£, discounted)", "£", "value"),
    Outcome("nmb_30000", "Net monetary benefit at £30,000 per QALY (£, discounted)", "£", "value"),
    Outcome("survivor_person_years", "Extra person-years lived (survivors of the programme)", "person-years",
            "value"),
    Outcome("survivor_admissions", "Admissions of survivors of the programme (extra person-years x rate)",
            "admissions", "value"),
    Outcome("survivor_cost_admissions", "Admission costs of survivors of the programme (£)", "£", "value"),
    Outcome("prevented_admissions", "Change in admissions among people alive either way", "admissions", "value"),
)


@cache
def registry() -> dict[str, Outcome]:
    """Engine results (from the processes' declarations) and derived outcomes, by name."""
    from .processes.plan import declared_once, declared_results

    engine = [Outcome(r.name, r.label, r.unit, "count") for r in declared_results()]
    out: dict[str, Outcome] = {o.name: o for o in declared_once([*engine, *DERIVED], "outcome")}
    for name in RATE_OF:
        base = out[name]
        out[f"{name}_per_1000"] = Outcome(f"{name}_per_1000", f"{base.label} per 1,000 person-years",
                                          "per 1,000 person-years", "value")
    return out


class _Names:
    """OUT.deaths == 'deaths': outcome names by attribute (an unknown one is an AttributeError)."""

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in registry():
            raise AttributeError(f"no outcome {name!r} is declared (processes' results or outcomes.DERIVED)")
        return name


OUT = _Names()


def label(name: str) -> str | None:
    o = registry().get(name)
    return o.label if o is not None else None


def is_count(name: str) -> bool:
    """Counts and sums (zero where a run recorded none); intervention measures are counts too."""
    o = registry().get(name)
    return o is None or o.kind == "count"
