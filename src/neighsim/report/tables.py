"""Tables read from the summary: the headline, and the frames behind each spreadsheet sheet.

All frames keep numbers as numbers (mean, lower, upper columns); the HTML and Markdown writers format
them, the spreadsheet writes them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..outcomes import OUT
from ..parameters import CONFIDENCE
from ..wording import say
from .data import RunData
from .labels import CAUSE_OUTCOMES, COMPARISON_SUFFIXES, is_money, scenario_label, stratum_label


@dataclass(frozen=True)
class Indicator:
    """One headline line: an outcome read for a stratum, with the sign that makes 'good' positive."""

    key: str  # its words: a key of the tab_indicator macro (templates/tables.j2); "" for the outcome's own label
    outcome: str
    stratum: str = "all"
    sign: int = 1          # -1 turns a difference (scenario minus baseline) into "avoided"
    measure: str | None = None  # force a measure (percent_change); None lets RunData.effect decide
    fallback: Indicator | None = None  # read instead when the folder lacks this outcome

    def label(self, d: RunData) -> str:
        """The indicator in words: its own from the template, else the outcome's label."""
        return say("tab_indicator", key=self.key) if self.key else d.label(self.outcome)


BASELINE_INDICATORS = [
    Indicator("admissions", OUT.emergency_admissions),
    Indicator("admission_rate", OUT.emergency_admissions_per_1000),
    Indicator("admission_rate_standardised", OUT.asr_admissions_per_1000),
    Indicator("bed_days", OUT.bed_days),
    Indicator("falls", OUT.admissions_falls),
    Indicator("hip_fractures", OUT.hip_fractures),
    Indicator("deaths", OUT.deaths),
    Indicator("admission_costs", OUT.cost_admissions),
    Indicator("qalys_lived", OUT.qalys),
    Indicator("rate_core20", OUT.emergency_admissions_per_1000, "core20=yes"),
    Indicator("rate_outside_core20", OUT.emergency_admissions_per_1000, "core20=no"),
    Indicator("core20_gap", OUT.core20_gap_admissions),
    Indicator("core20_ratio", OUT.core20_ratio_admissions),
    Indicator("sii_admissions", OUT.sii_admissions),
    Indicator("rii_admissions", OUT.rii_admissions),
    Indicator("life_expectancy_male", OUT.life_expectancy, "sex=male"),
    Indicator("life_expectancy_female", OUT.life_expectancy, "sex=female"),
    Indicator("sii_life_expectancy_male", OUT.sii_life_expectancy, "sex=male"),
    Indicator("sii_life_expectancy_female", OUT.sii_life_expectancy, "sex=female"),
]

OUTCOME_INDICATORS = [
    Indicator("admissions_avoided", OUT.emergency_admissions, sign=-1),
    Indicator("admissions_change", OUT.emergency_admissions, measure="percent_change"),
    Indicator("bed_days_avoided", OUT.bed_days, sign=-1),
    Indicator("falls_avoided", OUT.admissions_falls, sign=-1),
    Indicator("hip_fractures_avoided", OUT.hip_fractures, sign=-1),
    Indicator("deaths_averted", OUT.deaths, sign=-1),
    Indicator("survivor_years", OUT.survivor_person_years, measure="value"),
    Indicator("survivor_admissions", OUT.survivor_admissions, measure="value"),
    Indicator("prevented_admissions", OUT.prevented_admissions, measure="value"),
    Indicator("survivor_costs", OUT.survivor_cost_admissions, measure="value"),
]
MONEY_INDICATORS = [
    Indicator("intervention_cost", OUT.cost_intervention),
    Indicator("costs_avoided", OUT.costs_avoided,
              fallback=Indicator("admission_costs_avoided", OUT.cost_admissions, sign=-1)),
    Indicator("net_cost", OUT.net_cost),
    Indicator("roi", OUT.roi),
    Indicator("payback_year", OUT.payback_year),
    Indicator("qalys_gained", OUT.qalys_gained, fallback=Indicator("qalys_gained_undiscounted", OUT.qalys)),
    Indicator("cost_per_qaly", OUT.cost_per_qaly),
    Indicator("nmb_20000", OUT.nmb_20000),
    Indicator("nmb_30000", OUT.nmb_30000),
    Indicator("cost_per_admission_avoided", OUT.cost_per_admission_avoided),
]
EQUITY_INDICATORS = [
    Indicator("change_rate_core20", OUT.emergency_admissions_per_1000, "core20=yes"),
    Indicator("change_rate_outside_core20", OUT.emergency_admissions_per_1000, "core20=no"),
    Indicator("change_core20_gap", OUT.core20_gap_admissions),
    Indicator("change_core20_ratio", OUT.core20_ratio_admissions),
    Indicator("change_sii_admissions", OUT.sii_admissions),
    Indicator("change_rii_admissions", OUT.rii_admissions),
    Indicator("change_sii_life_expectancy_male", OUT.sii_life_expectancy, "sex=male"),
    Indicator("change_sii_life_expectancy_female", OUT.sii_life_expectancy, "sex=female"),
]
IMPACT_INDICATORS = OUTCOME_INDICATORS + MONEY_INDICATORS + EQUITY_INDICATORS

HEADLINE_COLUMNS = ["section", "group", "scenario", "indicator", "mean", "lower", "upper", "n", "read_as", "outcome",
                    "stratum", "period", "money"]
KEY_OUTCOMES = [OUT.emergency_admissions, OUT.emergency_admissions_per_1000, *CAUSE_OUTCOMES, OUT.bed_days, OUT.deaths,
                OUT.deaths_per_1000, OUT.falls, OUT.hip_fractures, OUT.population, OUT.person_years]
NAMED_COST_EXCLUDE = {OUT.net_cost}


def _signed(row: pd.Series, sign: int) -> tuple[float, float, float]:
    m, lo, hi = float(row["mean"]), float(row["lower"]), float(row["upper"])
    return (m, lo, hi) if sign > 0 else (-m, -hi, -lo)


def participant_and_cost_outcomes(d: RunData, scenario: str) -> tuple[list[str], list[str]]:
    """Intervention-specific outcomes ('<name>_participants', '<name>_cost') this scenario reports."""
    outs = set(d.here(scenario=scenario, stratum="all", measure="value")["outcome"])
    parts = sorted(o for o in outs if o.endswith("_participants") or o.endswith(tuple(COMPARISON_SUFFIXES)))
    costs = sorted(o for o in outs if (o.endswith("_cost") or "_cost_" in o) and o not in NAMED_COST_EXCLUDE
                   and not o.startswith(("cost_", "survivor_")))
    return parts, costs


def _read(d: RunData, sc: str, ind: Indicator) -> tuple[pd.Series | None, str, Indicator]:
    """The row behind an indicator (or its fallback) and how it was read."""
    cur: Indicator | None = ind
    while cur is not None:
        if cur.measure:
            r, how = d.one(sc, cur.outcome, cur.measure, stratum=cur.stratum), cur.measure
        else:
            r, how = d.effect(sc, cur.outcome, stratum=cur.stratum)
        if r is not None:
            return r, how, cur
        cur = cur.fallback
    return None, "", ind


def headline(d: RunData) -> pd.DataFrame:
    """Baseline totals, then each scenario's effects, over the whole horizon for the ICS."""
    return d.cached("headline", lambda: _headline(d))


COMPARATOR_SECTION = "Comparator projection"  # the headline's rows of the comparator's own levels


def _headline(d: RunData) -> pd.DataFrame:
    rows: list[dict] = []
    for ind in BASELINE_INDICATORS:
        r = d.one(d.comparator, ind.outcome, "value", stratum=ind.stratum)
        if r is not None:
            rows.append({"section": COMPARATOR_SECTION, "group": 0, "scenario": d.comparator,
                         "indicator": ind.label(d),
                         "mean": r["mean"], "lower": r["lower"], "upper": r["upper"], "n": r["n"],
                         "read_as": "value",
                         "outcome": ind.outcome, "stratum": ind.stratum, "period": d.whole,
                         "money": is_money(ind.outcome)})
    for sc in d.scenarios:
        parts, _ = participant_and_cost_outcomes(d, sc)
        extra = [Indicator("", o) for o in parts]
        groups = [(0, OUTCOME_INDICATORS), (1, extra), (2, MONEY_INDICATORS), (3, EQUITY_INDICATORS)]
        for group, ind in ((g, i) for g, inds in groups for i in inds):
            r, how, used = _read(d, sc, ind)
            if r is None:
                continue
            sign = used.sign if how == "difference" else 1
            label = used.label(d) if not (used.sign < 0 and how != "difference") else d.label(used.outcome)
            m, lo, hi = _signed(r, sign)
            rows.append({"section": "Impact against " + d.comparator, "group": group, "scenario": sc,
                         "indicator": label,
                         "mean": m, "lower": lo, "upper": hi, "n": r["n"],
                         "read_as": how + (" x -1" if sign < 0 else ""), "outcome": used.outcome,
                         "stratum": used.stratum, "period": d.whole, "money": is_money(used.outcome)})
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def activity(d: RunData) -> pd.DataFrame:
    """What each scenario delivered: outcomes only scenarios report (offered, accepted, participants,
    quits, costs by module), over the whole horizon, ICS level."""
    return d.cached("activity", lambda: _activity(d))


def _activity(d: RunData) -> pd.DataFrame:
    base = set(d.rows(scenario=d.comparator)["outcome"])
    rows = []
    for sc in d.scenarios:
        r = d.here(scenario=sc, stratum="all", measure="value", period=d.whole)
        r = r[~r["outcome"].isin(base) & ~r["outcome"].isin(ECONOMICS)]
        for _, x in r.iterrows():
            rows.append({"scenario": sc, "indicator": d.label(x["outcome"]), "mean": x["mean"],
                         "lower": x["lower"], "upper": x["upper"], "outcome": x["outcome"]})
    return pd.DataFrame(rows, columns=["scenario", "indicator", "mean", "lower", "upper", "outcome"])


def by_year(d: RunData) -> pd.DataFrame:
    """ICS totals by financial year and for the horizon, every scenario and measure."""
    return d.cached("by_year", lambda: _by_year(d))


def _by_year(d: RunData) -> pd.DataFrame:
    wanted = [o for o in KEY_OUTCOMES if d.has_outcome(o)] + cost_outcomes(d)
    s = d.here(stratum="all")
    s = s[s["outcome"].isin(wanted)].copy()
    order = {p: i for i, p in enumerate(d.years + [d.whole])}
    s["_o"] = s["outcome"].map({o: i for i, o in enumerate(wanted)})
    s["_p"] = s["period"].map(order)
    s["_s"] = s["scenario"].map({x: i for i, x in enumerate([d.comparator] + d.scenarios)})
    s = s.sort_values(["_s", "_o", "measure", "_p"])
    return pd.DataFrame({"scenario": s["scenario"], "indicator": s["outcome"].map(d.label),
                         "period": s["period"], "measure": s["measure"], "mean": s["mean"], "lower": s["lower"],
                         "upper": s["upper"], "replicates (n)": s["n"], "outcome": s["outcome"]})


ECONOMICS = (OUT.cost_admissions, OUT.cost_intervention, OUT.costs_avoided, OUT.net_cost, OUT.roi, OUT.payback_year,
             OUT.cost_per_admission_avoided, OUT.cost_per_qaly, OUT.qalys, OUT.qalys_gained, OUT.admissions_avoided,
             OUT.nmb_20000, OUT.nmb_30000, OUT.survivor_person_years, OUT.survivor_admissions, OUT.prevented_admissions, OUT.survivor_cost_admissions)


HORIZON_OUTCOMES = (OUT.costs_avoided, OUT.cost_intervention, OUT.net_cost, OUT.roi, OUT.qalys_gained)


def economics_by_horizon(d: RunData) -> pd.DataFrame:
    """Paired economics per scenario for each payback horizon (financial-year periods are cumulative
    from the first year in the summary), plus the intervention cost spent in that year."""
    return d.cached("economics_by_horizon", lambda: _economics_by_horizon(d))


def _economics_by_horizon(d: RunData) -> pd.DataFrame:
    rows = []
    for sc in d.scenarios:
        for period in d.years + [d.whole]:
            row: dict = {"scenario": sc, "horizon": period}
            for o in HORIZON_OUTCOMES:
                r, _ = d.effect(sc, o, period=period)
                for c in ("mean", "lower", "upper"):
                    row[f"{o}_{c}"] = None if r is None else r[c]
            rows.append(row)
    df = pd.DataFrame(rows)
    have = [o for o in HORIZON_OUTCOMES if o != OUT.cost_intervention and f"{o}_mean" in df
            and df[f"{o}_mean"].notna().any()]
    return df if have else pd.DataFrame()


def cost_outcomes(d: RunData) -> list[str]:
    """Economic outcomes, then each module's own costs and participants."""
    outs = set(d.outcomes())
    named = sorted(o for o in outs if o not in ECONOMICS and (o.endswith(("_cost", "_participants"))))
    return [o for o in ECONOMICS if o in outs] + named


def costs(d: RunData) -> pd.DataFrame:
    """Every cost, ROI, QALY and participant outcome at ICS level, by period and measure."""
    t = by_year(d)
    return t[t["outcome"].isin(cost_outcomes(d))].reset_index(drop=True)


def _value_map(d: RunData, scenario: str, outcome: str, measure: str, level: str,
               stratum: str = "all") -> pd.DataFrame:
    r = d.rows(scenario=scenario, outcome=outcome, measure=measure, period=d.whole, level=level,
               stratum=stratum)
    return r.set_index("area")[["mean", "lower", "upper"]]


def core20_share(d: RunData, level: str) -> pd.Series:
    """Share of person-years lived in Core20 LSOAs, by area (from the comparator's person-years)."""
    allpy = _value_map(d, d.comparator, OUT.person_years, "value", level)["mean"]
    yes = _value_map(d, d.comparator, OUT.person_years, "value", level, "core20=yes")["mean"]
    return (yes.reindex(allpy.index).fillna(0.0) / allpy.replace(0, np.nan)).rename("share_core20")


def by_area(d: RunData, levels: tuple[str, ...] = ("place", "locality", "neighbourhood")) -> pd.DataFrame:
    """One row per area: baseline level and rate, Core20 share, and each scenario's effect."""
    return d.cached(f"by_area{levels}", lambda: _by_area(d, levels))


def _by_area(d: RunData, levels: tuple[str, ...]) -> pd.DataFrame:
    frames = []
    for level in levels:
        py = _value_map(d, d.comparator, OUT.person_years, "value", level)
        if py.empty:
            continue
        inside = d.areas_here(level)
        if inside is not None:
            py = py[py.index.isin(inside)]
        f = pd.DataFrame(index=py.index)
        f.insert(0, "level", level)
        f[OUT.person_years] = py["mean"]
        pop = _value_map(d, d.comparator, OUT.population, "value", level)["mean"]
        f["residents_end"] = pop.reindex(f.index)
        f["share_core20"] = core20_share(d, level).reindex(f.index)
        for outcome, name in ((OUT.emergency_admissions, "admissions"), (OUT.emergency_admissions_per_1000, "rate"),
                              (OUT.bed_days, OUT.bed_days)):
            v = _value_map(d, d.comparator, outcome, "value", level)
            for c in ("mean", "lower", "upper"):
                f[f"baseline_{name}_{c}"] = v[c].reindex(f.index)
        for sc in d.scenarios:
            for outcome, name in ((OUT.emergency_admissions, "avoided"),
                                  (OUT.emergency_admissions_per_1000, "avoided_per_1000")):
                v = _value_map(d, sc, outcome, "difference", level)
                f[f"{sc}_{name}_mean"] = -v["mean"].reindex(f.index)
                f[f"{sc}_{name}_lower"] = -v["upper"].reindex(f.index)
                f[f"{sc}_{name}_upper"] = -v["lower"].reindex(f.index)
        frames.append(f.reset_index())
    if not frames:
        return pd.DataFrame(columns=["level", "area"])
    return pd.concat(frames, ignore_index=True)


def deprivation_strata(d: RunData) -> list[str]:
    st = set(d.here(outcome=OUT.emergency_admissions, scenario=d.comparator)["stratum"])
    order = [f"imd_decile={i}" for i in range(1, 11)] + [f"imd_quintile={i}" for i in range(1, 6)] + \
        ["core20=yes", "core20=no"]
    return [s for s in order if s in st]


def by_deprivation(d: RunData) -> pd.DataFrame:
    """ICS rows by IMD decile, quintile and Core20: baseline admissions and rates, and each effect."""
    return d.cached("by_deprivation", lambda: _by_deprivation(d))


def _by_deprivation(d: RunData) -> pd.DataFrame:
    rows = []
    for st in deprivation_strata(d):
        row: dict = {"group": stratum_label(st), "stratum": st}
        py = d.one(d.comparator, OUT.person_years, stratum=st)
        row[OUT.person_years] = None if py is None else py["mean"]
        for outcome, name in ((OUT.emergency_admissions, "admissions"), (OUT.emergency_admissions_per_1000, "rate"),
                              (OUT.bed_days, OUT.bed_days), (OUT.deaths, OUT.deaths)):
            r = d.one(d.comparator, outcome, stratum=st)
            for c in ("mean", "lower", "upper"):
                row[f"baseline_{name}_{c}"] = None if r is None else r[c]
        for sc in d.scenarios:
            for outcome, name in ((OUT.emergency_admissions, "avoided"),
                                  (OUT.emergency_admissions_per_1000, "avoided_per_1000")):
                r = d.one(sc, outcome, "difference", stratum=st)
                row[f"{sc}_{name}_mean"] = None if r is None else -r["mean"]
                row[f"{sc}_{name}_lower"] = None if r is None else -r["upper"]
                row[f"{sc}_{name}_upper"] = None if r is None else -r["lower"]
        rows.append(row)
    return pd.DataFrame(rows)


def _value_cell(v: object) -> object:
    if isinstance(v, tuple | list):
        return ", ".join(f"{x:g}" for x in v)
    return v


def assumptions(d: RunData) -> pd.DataFrame:
    """The parameters the run used (d.parameters_used) with their sources and confidence marks; M and A
    marks are assumptions."""
    rows = []
    for p in d.parameters_used:
        rows.append({"parameter": p["parameter"], "value": _value_cell(p["value"]), "unit": p.get("unit", ""),
                     "uncertainty": p.get("uncertainty", ""), "source": p.get("source", ""),
                     "confidence": p.get("confidence", ""),
                     "confidence meaning": CONFIDENCE.get(p.get("confidence", ""), ""),
                     "assumption": "yes" if p.get("assumption") else "no",
                     "calibrated": "yes" if p.get("calibrated") else "no", "note": p.get("note", ""),
                     "file": p.get("file", "")})
    return pd.DataFrame(rows)


def validation(d: RunData) -> pd.DataFrame | None:
    if d.validation is None:
        return None
    v = d.validation.copy()
    if {"simulated", "observed"} <= set(v.columns):
        v.insert(v.columns.get_loc("simulated") + 1, "simulated / observed",
                 v["simulated"] / v["observed"].replace(0, np.nan))
    return v


def provenance(d: RunData) -> list[tuple[str, object]]:
    """Key facts of the run, as (item, value) pairs straight from manifest.json (numbers stay numbers)."""
    m = d.manifest
    cfg = m.get("config") or {}
    pop = cfg.get("population") or {}
    time = cfg.get("time") or {}
    items: list[tuple[str, object]] = [
        ("Output folder", str(d.out_dir.resolve())),
        ("Run name", m.get("name")),
        ("Command", m.get("command")),
        ("Started", m.get("created")),
        ("Finished", m.get("finished")),
        ("Wall-clock seconds", m.get("seconds")),
        ("Seconds inside tasks", m.get("task_seconds")),
        ("Population build seconds", m.get("population_build_seconds")),
        ("Configuration file", cfg.get("source")),
        ("Area name", cfg.get("name")),
        ("Local authorities", ", ".join(pop.get("local_authorities") or []) or "all"),
        (say("tab_provenance_scale"), pop.get("scale")),
        ("Start date", time.get("start")),
        ("Months", time.get("months")),
        ("Master seed", m.get("seed")),
        ("Replicates", m.get("replicates")),
        ("Parameter draws (PSA)", "yes" if m.get("psa") else "no" if "psa" in m else None),
        ("Comparator", m.get("comparator")),
        ("Scenarios", ", ".join(scenario_label(s) for s in d.scenarios) or "none (baseline only)"),
        ("Neighbourhoods simulated", len(m["neighbourhoods"]) if isinstance(m.get("neighbourhoods"), list)
         else None),
        ("Backend", m.get("backend")),
        ("Tasks", m.get("tasks")),
        ("Tasks resumed", m.get("tasks_resumed")),
        ("Code commit", m.get("commit")),
        ("Parameter folder", str(d.parameters_dir) if d.parameters_dir else None),
    ]
    for k, v in (m.get("versions") or {}).items():
        items.append((f"Version: {k}", v))
    for name, desc in (m.get("scenarios") or {}).items():
        items.append((f"Scenario: {scenario_label(name)}", _scenario_words(desc)))
    used = m.get("parameters_used")
    if isinstance(used, list):
        items.append((say("tab_provenance_parameters"), say("tab_provenance_parameters_count", n=len(used))))
    return [(k, v if isinstance(v, int | float) and not isinstance(v, bool) else str(v))
            for k, v in items if v not in (None, "")]


def _scenario_words(desc: object) -> str:
    """A scenario's definition in words: its file, description and each intervention's start, targeting,
    capacity and allocation (the settings are in the Scenarios compared table and in the file)."""
    if not isinstance(desc, dict):
        return str(desc)
    parts = [str(desc.get("description") or "").rstrip(".")]
    for iv in desc.get("interventions") or []:
        if not isinstance(iv, dict):
            continue
        per_year = iv.get("capacity_per_year")
        parts.append(say("tab_scenario_intervention", name=iv.get("name") or iv.get("type"), start=iv.get("start"),
                         target=(iv.get("targeting") or {}).get("label", "all"), eligibility=iv.get("eligibility"),
                         capacity_set=iv.get("capacity_set"), per_year=None if per_year is None else f"{per_year:,.0f}",
                         allocation=iv.get("allocation")))
    return "; ".join(p for p in parts if p) + (f" (file {desc['file']})" if desc.get("file") else "")
