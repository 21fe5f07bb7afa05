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
    Outcome("cost_admissions", "Cost of emergency admissions (£, NHS)", "£"),
    Outcome("cost_social_care", "Cost of social care after falls and fractures and for frailty (£, PSS)", "£"),
    Outcome("cost_intervention", "Intervention cost (£, cash when spent)", "£"),
    Outcome("cost_programme", "Programme cost (£, discounted; measures with a lifetime annuitised)", "£", "value"),
    Outcome("costs_avoided_nhs", "NHS admission costs avoided (£, discounted, survivors' unrelated costs left out)",
            "£", "value"),
    Outcome("costs_avoided_social_care", "Social care costs avoided (£, discounted)", "£", "value"),
    Outcome("costs_avoided", "NHS and social care costs avoided (£, discounted)", "£", "value"),
    Outcome("net_cost", "Incremental cost: programme less costs avoided (£, discounted; NICE reference case)", "£",
            "value"),
    Outcome("roi", "Return on investment, financial (£ costs avoided per £1 of programme cost, annuitised)", "ratio",
            "value"),
    Outcome("roi_cash", "Return on investment, cash-releasing (£ cash saved per £1 of cash spent, discounted)",
            "ratio", "value"),
    Outcome("budget_savings_cash_pv", "NHS and social care cash saved (£, discounted, survivors' costs included)",
            "£", "value"),
    Outcome("budget_programme_cash_pv", "Programme cash spent (£, discounted, measures at full cost when bought)",
            "£", "value"),
    Outcome("roi_qalys", "Return on investment with health valued at £20,000 per QALY (£ per £1)", "ratio",
            "value"),
    Outcome("payback_year", "Payback year (cash savings catch up with cash spent, discounted)", "year", "value"),
    Outcome("cost_per_admission_avoided", "Net cost per admission avoided (£)", "£", "value"),
    Outcome("cost_per_qaly", "Incremental cost per QALY gained (ICER, £; NICE reference case)", "£", "value"),
    Outcome("qalys_gained", "QALYs gained (discounted; with extra survivors' QALYs beyond the horizon)", "QALYs",
            "value"),
    Outcome("qalys_beyond_horizon", "QALYs gained beyond the horizon (extra survivors' lifetime, discounted)",
            "QALYs", "value"),
    Outcome("admissions_avoided", "Emergency admissions avoided", "admissions", "value"),
    Outcome("nmb_20000", "Net monetary benefit at £20,000 per QALY (£, discounted)", "£", "value"),
    Outcome("nmb_30000", "Net monetary benefit at £30,000 per QALY (£, discounted)", "£", "value"),
    Outcome("net_cost_nhs", "Incremental cost, NHS perspective (£, discounted)", "£", "value"),
    Outcome("cost_per_qaly_nhs", "Incremental cost per QALY, NHS perspective (£)", "£", "value"),
    Outcome("nmb_20000_nhs", "Net monetary benefit at £20,000 per QALY, NHS perspective (£)", "£", "value"),
    Outcome("net_cost_with_unrelated", "Incremental cost with survivors' unrelated admission costs (£, discounted)",
            "£", "value"),
    Outcome("cost_per_qaly_with_unrelated", "Incremental cost per QALY with survivors' unrelated costs (£)", "£",
            "value"),
    Outcome("productivity_gain", "Productivity gained: working-age years and days off work (£, discounted)", "£",
            "value"),
    Outcome("net_cost_wider", "Incremental cost, wider perspective (less productivity gained; £, discounted)", "£",
            "value"),
    Outcome("cost_per_qaly_wider", "Incremental cost per QALY, wider perspective (£)", "£", "value"),
    Outcome("nmb_20000_wider", "Net monetary benefit at £20,000 per QALY, wider perspective (£)", "£", "value"),
    Outcome("budget_programme_cash", "Budget impact: programme cash in the year (£, undiscounted)", "£", "value"),
    Outcome("budget_savings_cash", "Budget impact: NHS and social care cash saved in the year (£, undiscounted)", "£",
            "value"),
    Outcome("budget_net_cash", "Budget impact: net cash in the year (£, undiscounted)", "£", "value"),
    Outcome("budget_net_cash_discounted", "Budget impact: net cash in the year (£, discounted)", "£", "value"),
    Outcome("survivor_person_years", "Extra person-years lived (survivors of the programme)", "person-years",
            "value"),
    Outcome("survivor_admissions", "Admissions of survivors of the programme (extra person-years x rate)",
            "admissions", "value"),
    Outcome("survivor_cost_admissions", "Admission costs of survivors of the programme (£)", "£", "value"),
    Outcome("survivor_cost_social_care", "Social care costs of survivors of the programme (£)", "£", "value"),
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
