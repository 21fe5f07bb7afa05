"""The report's outline: a list of blocks (headings, paragraphs, notes, tables, figures) in reading
order, laid out by the Jinja2 templates in pages.py as one self-contained HTML file and one Markdown
file, so the two can never disagree. The HTML embeds each figure as a base64 PNG data URI and has
inline CSS only: no scripts, no fonts or styles fetched from anywhere, so it opens offline and can be
e-mailed as one file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from ..outcomes import OUT
from ..parameters import CONFIDENCE
from ..wording import say
from . import fairness, tables
from .business_case import blocks as business_case_blocks
from .business_case import economics_scenarios, is_psa, not_psa_warning
from .data import RunData
from .figures import Figure
from .labels import digits_for, fmt, fmt_interval, scenario_label, target_label
from .pages import to_html, to_markdown


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    row_class: list[str] = field(default_factory=list)
    caption: str = ""
    numeric_from: int = 1  # columns from this index are right-aligned
    css: str = ""


@dataclass
class Block:
    kind: str  # h1 h2 h3 p note warning list table figure toc (the contents) open/close (a section's box)
    text: str = ""
    items: list[str] = field(default_factory=list)
    table: Table | None = None
    figure: Figure | None = None
    css: str = ""  # a list's or section's class
    anchor: str = ""  # a heading's id (pages.py sets it)


# ------------------------------------------------------------------------------------------- outline
def outline(d: RunData, figs: list[Figure]) -> list[Block]:
    """The whole report as blocks, in reading order."""
    byk = {f.key: f for f in figs}
    b: list[Block] = []
    name = (d.manifest.get("config") or {}).get("name") or d.ics_area
    b.append(Block("h1", say("report_h1", coverage=d.coverage)))
    b.append(Block("list", css="facts", items=[
        *([] if d.is_ics else [say("fact_part", coverage=d.coverage)]),
        say("fact_area", simulated=d.ics_coverage, name="" if d.ics_coverage == name else name),
        say("fact_projection", first=d.years[0] if d.years else "", last=d.years[-1] if d.years else "",
            whole=d.whole),
        say("fact_scenarios", comparator=d.comparator, scenarios=", ".join(scenario_label(s) for s in d.scenarios)),
        say("fact_replicates", replicates=d.replicates,
            share=f"{d.scale:.0%}" if d.scale is not None else "", scale=f"{d.scale:g}" if d.scale is not None else "",
            factor=f"{1 / d.scale:.3g}" if d.scale_up and d.scale else ""),
        say("fact_when", finished=d.manifest.get("finished") or d.manifest.get("created"),
            written=dt.datetime.now().isoformat(timespec="seconds")),
    ]))
    from . import executive

    b.extend(executive.blocks(d))
    b.append(Block("h2", say("h_about")))
    b.append(Block("h3", say("h_key_messages")))
    b.append(Block("list", items=_key_messages(d)))
    b.append(Block("h3", say("h_intervals")))
    b.append(Block("note", say("interval_note", psa=bool(d.manifest.get("psa")))))
    if d.notes:
        b.append(Block("h3", say("h_before_quoting")))
        b.append(Block("list", items=d.notes))
    if economics_scenarios(d) and not is_psa(d):
        b.append(Block("warning", not_psa_warning(d)))

    sc_desc = _scenario_descriptions(d)
    if sc_desc:
        b.append(Block("h3", say("h_scenarios")))
        b.append(Block("table", table=sc_desc))
    b.extend(Block("warning", w) for w in fairness.warnings(d))

    # 1. headline
    b.append(Block("h2", say("h_headline")))
    head = tables.headline(d)
    if d.scenarios:
        b.append(Block("p", say("headline_intro", whole=d.whole, coverage=d.coverage, comparator=d.comparator)))
        b.append(Block("table", table=_impact_table(d, head)))
    else:
        b.append(Block("p", say("baseline_only")))
    b.append(Block("h3", say("h_comparator_projection", label=d.comparator_label, whole=d.whole)))
    b.append(Block("table", table=_baseline_table(head)))
    _fig(b, byk, "annual_admissions")
    from .contributions import blocks as contribution_blocks

    b.extend(contribution_blocks(d, byk))

    # 2. where and for whom
    b.append(Block("h2", say("h_where")))
    b.extend(_by_place_blocks(d))
    if d.scenarios:
        for k in ("avoided_by_neighbourhood", "target_scenarios", "avoided_by_imd", "deprivation_gap"):
            _fig(b, byk, k)
    else:
        b.append(Block("p", say("where_needs_scenario")))
    nb = _neighbourhood_table(d)
    if nb is not None:
        b.append(Block("h3", say("h_by_neighbourhood")))
        b.append(Block("table", table=nb))
    dep = _deprivation_table(d)
    if dep is not None:
        b.append(Block("h3", say("h_by_deprivation")))
        b.append(Block("table", table=dep))

    # 3. delivery and costs
    b.append(Block("h2", say("h_delivery")))
    act = _activity_table(d)
    if act is not None:
        b.append(Block("h3", say("h_delivered")))
        b.append(Block("table", table=act))
    b.extend(_places_blocks(d))
    ct = _cost_table(d)
    if not d.scenarios:
        b.append(Block("p", say("costs_need_scenario", totals_follow=ct is not None)))
    elif ct is None:
        b.append(Block("p", say("no_cost_outcomes")))
    _fig(b, byk, "cost_effectiveness")
    hz = _horizon_table(d)
    if hz is not None:
        b.append(Block("h3", say("h_horizons")))
        b.append(Block("table", table=hz))
    elif ct is not None:
        b.append(Block("table", table=ct))

    # 4. business case
    b.extend(business_case_blocks(d, byk, 4))

    # 5. baseline picture
    b.append(Block("h2", say("h_baseline")))
    b.append(Block("p", say("baseline_picture")))
    for k in ("admissions_by_cause", "rate_by_imd", "neighbourhood_rates", "target_baseline", OUT.life_expectancy):
        _fig(b, byk, k)

    # 6. validation
    b.append(Block("h2", say("h_validation")))
    vt = _validation_table(d)
    if vt is None:
        b.append(Block("p", say("no_validation")))
    else:
        v = d.validation
        assert v is not None
        n_ok = int(v["pass"].sum()) if "pass" in v else 0
        b.append(Block("p", say("validation_summary", within=n_ok, total=len(v))))
        _fig(b, byk, "validation")
        b.append(Block("table", table=vt))

    # appendices
    b.append(Block("h2", say("h_methods")))
    b.extend(_methods(d))
    b.append(Block("h2", say("h_provenance")))
    b.append(Block("table", table=Table(["Item", "Value"], [[k, str(v)] for k, v in tables.provenance(d)],
                                        numeric_from=99)))
    return b


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + fmt(x)


def _includes_zero(r: pd.Series) -> bool:
    return bool(r["lower"] <= 0 <= r["upper"])


def _key_messages(d: RunData) -> list[str]:
    """A few plain sentences, each built from summary rows (no number is typed in; wording: text.j2)."""
    msgs: list[str] = []
    base = d.one(d.comparator, OUT.emergency_admissions)
    rate = d.one(d.comparator, OUT.emergency_admissions_per_1000)
    if base is not None:
        msgs.append(say("km_comparator", label=d.comparator_label, whole=d.whole,
                        admissions=fmt_interval(base["mean"], base["lower"], base["upper"]),
                        rate=fmt(rate["mean"]) if rate is not None else ""))
    yes = d.one(d.comparator, OUT.emergency_admissions_per_1000, stratum="core20=yes")
    no = d.one(d.comparator, OUT.emergency_admissions_per_1000, stratum="core20=no")
    if yes is not None and no is not None:
        msgs.append(say("km_core20", yes=fmt(yes["mean"]), no=fmt(no["mean"])))
    nb = tables.by_area(d, ("neighbourhood",))
    if not nb.empty and nb["baseline_rate_mean"].notna().any() and len(nb) > 1:
        top = nb.loc[nb["baseline_rate_mean"].idxmax()]
        low = nb.loc[nb["baseline_rate_mean"].idxmin()]
        msgs.append(say("km_range", low=fmt(low["baseline_rate_mean"]), low_area=low["area"],
                        high=fmt(top["baseline_rate_mean"]), high_area=top["area"]))
    for sc in d.scenarios:
        av = d.one(sc, OUT.emergency_admissions, "difference")
        if av is None:
            continue
        more = av["mean"] > 0
        pc = d.one(sc, OUT.emergency_admissions, "percent_change")
        nc, _ = d.effect(sc, OUT.net_cost)
        has_nc = nc is not None and pd.notna(nc["mean"])
        roi, _ = d.effect(sc, OUT.roi)
        dy = d.one(sc, OUT.emergency_admissions_per_1000, "difference", stratum="core20=yes")
        dn = d.one(sc, OUT.emergency_admissions_per_1000, "difference", stratum="core20=no")
        gap = dy is not None and dn is not None
        msgs.append(say(
            "km_scenario", name=scenario_label(sc), more=more, whole=d.whole, comparator=d.comparator,
            avoided=fmt_interval(av["mean"], av["lower"], av["upper"]) if more
            else fmt_interval(-av["mean"], -av["upper"], -av["lower"]),
            percent=fmt(abs(pc["mean"])) if pc is not None else "", fewer=pc is not None and pc["mean"] <= 0,
            zero=_includes_zero(av), saving=has_nc and nc["mean"] < 0,
            net_cost=fmt_interval(nc["mean"], nc["lower"], nc["upper"], True) if has_nc else "",
            roi=fmt(roi["mean"], money=True, digits=2) if roi is not None and pd.notna(roi["mean"]) else "",
            core20=_signed(dy["mean"] * PER_100K) if gap else "", elsewhere=_signed(dn["mean"] * PER_100K) if gap else "",
            narrows=gap and dy["mean"] < dn["mean"]))
    if not d.scenarios:
        msgs.append(say("km_none"))
    return msgs


def _by_place_blocks(d: RunData) -> list[Block]:
    """The headline table for each place inside the report's area (the ICS report: every place), so
    a place's figures are in the report a board reads; `neighsim report DIR --area PLACE` writes the whole
    report for one."""
    if not d.scenarios or d.focus_level not in ("ics",):
        return []
    places = sorted(set(d.rows(level="place", scenario=d.comparator, outcome=OUT.person_years)["area"]))
    if len(places) < 2:
        return []
    out = [Block("p", say("by_place_intro"))]
    for place in places:
        pd_ = d.for_area(place, "place")
        out.append(Block("h3", say("h_place_effects", place=place)))
        out.append(Block("table", table=_impact_table(pd_, tables.headline(pd_))))
    return out


def _fig(b: list[Block], byk: dict[str, Figure], key: str) -> None:
    if key in byk:
        b.append(Block("figure", figure=byk[key]))


def _impact_table(d: RunData, head: pd.DataFrame) -> Table:
    imp = head[head["scenario"] != d.comparator]
    first = {ind: (g, i) for i, (ind, g) in reversed(list(enumerate(zip(imp["indicator"], imp["group"],
                                                                          strict=True))))}
    order = sorted(first, key=lambda k: first[k])
    rows = []
    short = False
    for ind in order:
        row = [ind]
        for sc in d.scenarios:
            r = imp[(imp["indicator"] == ind) & (imp["scenario"] == sc)]
            if r.empty:
                row.append("–")
                continue
            x = r.iloc[0]
            cell = fmt_interval(x["mean"], x["lower"], x["upper"], bool(x["money"]))
            if d.replicates and 0 < x["n"] < d.replicates:
                cell += f" † n={int(x['n'])}"
                short = True
            row.append(cell)
        rows.append(row)
    cap = say("cap_impact", comparator=d.comparator, label=d.comparator_label, replicates=d.replicates, short=short)
    return Table([say("col_impact")] + [scenario_label(s) for s in d.scenarios], rows, caption=cap, css="impact")


def _baseline_table(head: pd.DataFrame) -> Table:
    base = head[head["section"] == tables.COMPARATOR_SECTION]
    rows = [[r["indicator"], fmt_interval(r["mean"], r["lower"], r["upper"], bool(r["money"]))]
            for _, r in base.iterrows()]
    return Table(["Indicator", "Mean (95% interval)"], rows)


PER_100K = 100.0  # a rate per 1,000 x 100: changes in rates are shown per 100,000 (per 1,000 they are 0.00x)


def _col(t: pd.DataFrame, prefix: str, money: bool = False, times: float = 1.0) -> list[str]:
    """A column of 'mean (lower to upper)' cells with one number of decimals for the whole column."""
    m, lo, hi = (t[f"{prefix}_{k}"] * times for k in ("mean", "lower", "upper"))
    dg = digits_for(list(pd.concat([m, lo, hi]).dropna().abs()))
    return [fmt_interval(a, b, c, money, dg) if pd.notna(a) else "–" for a, b, c in zip(m, lo, hi, strict=True)]


def _neighbourhood_table(d: RunData) -> Table | None:
    t = tables.by_area(d, ("neighbourhood",))
    if t.empty or "baseline_rate_mean" not in t:
        return None
    key = f"{d.scenarios[0]}_avoided_mean" if d.scenarios else "baseline_rate_mean"
    t = t.sort_values(key, ascending=False)
    header = ["Neighbourhood", "Residents (end)", "Core20 %", say("col_comparator_rate", label=d.comparator_label)]
    cols = [_col(t, "baseline_rate")]
    for sc in d.scenarios:
        header.append(say("col_scenario_avoided", name=scenario_label(sc)))
        cols.append(_col(t, f"{sc}_avoided"))
    rows = []
    for i, (_, r) in enumerate(t.iterrows()):
        rows.append([r["area"], fmt(r["residents_end"]), fmt(100 * r["share_core20"], digits=0)
                     if pd.notna(r["share_core20"]) else "–"] + [c[i] for c in cols])
    cap = say("cap_neighbourhoods", label=d.comparator_label, whole=d.whole,
              ranked_by=scenario_label(d.scenarios[0]) if d.scenarios else "")
    return Table(header, rows, caption=cap, css="areas")


def _deprivation_table(d: RunData) -> Table | None:
    t = tables.by_deprivation(d)
    if t.empty:
        return None
    header = ["Group", "Person-years", f"{d.comparator_label} admissions", f"{d.comparator_label} per 1,000"]
    cols = [_col(t, "baseline_admissions"), _col(t, "baseline_rate")]
    for sc in d.scenarios:
        header.append(say("col_scenario_avoided_100k", name=scenario_label(sc)))
        cols.append(_col(t, f"{sc}_avoided_per_1000", times=PER_100K))
    rows = [[r["group"], fmt(r[OUT.person_years])] + [c[i] for c in cols]
            for i, (_, r) in enumerate(t.iterrows())]
    return Table(header, rows, css="areas",
                 caption=say("cap_deprivation", coverage=d.coverage, whole=d.whole))


def _scenario_descriptions(d: RunData) -> Table | None:
    """One line per scenario from the manifest: its description and its interventions' settings."""
    specs = d.manifest.get("scenarios") or {}
    rows = []
    for sc in d.scenarios:
        spec = specs.get(sc) if isinstance(specs.get(sc), dict) else {}
        ivs = []
        for iv in spec.get("interventions", []) or []:
            if not isinstance(iv, dict):
                continue
            bits = [str(iv.get("type") or iv.get("name") or "")]
            for key, words in (("start", "from"), ("eligibility", "eligible:"), ("allocation", "allocation:")):
                if iv.get(key) not in (None, ""):
                    v = iv[key]
                    bits.append(f"{words} {fmt(v) if isinstance(v, int | float) else v}")
            tg = iv.get("targeting")
            if isinstance(tg, dict) and tg.get("label") not in (None, "", "all"):
                bits.append(f"targeting: {tg['label']}")
            places = fairness.capacity_words(d, sc, str(iv.get("name") or ""))
            if places:
                bits.append(places)
            ivs.append("; ".join(bits))
        rows.append([scenario_label(sc), str(spec.get("description") or ""), " | ".join(ivs) or "–"])
    return Table(["Scenario", "Description", "Interventions (settings)"], rows, numeric_from=99) if rows else None


def _places_blocks(d: RunData) -> list[Block]:
    """Places, participants and money by area (fairness.py), after what each scenario delivered."""
    header, rows = fairness.table_rows(d)
    if not rows:
        return []
    return [Block("h3", say("h_places")),
            Block("table", table=Table(header, rows, caption=say("cap_places", whole=d.whole), numeric_from=4))]


def _activity_table(d: RunData) -> Table | None:
    a = tables.activity(d)
    if a.empty:
        return None
    rows = [[scenario_label(r["scenario"]), r["indicator"],
             fmt_interval(r["mean"], r["lower"], r["upper"], "cost" in r["outcome"])] for _, r in a.iterrows()]
    return Table(["Scenario", "Measure", "Five-year total (95% interval)"], rows, numeric_from=2,
                 caption=say("cap_activity", whole=d.whole))


def _horizon_table(d: RunData) -> Table | None:
    t = tables.economics_by_horizon(d)
    if t.empty:
        return None
    cols = [(OUT.costs_avoided, "Costs avoided (£)", True), (OUT.net_cost, "Net cost (£)", True),
            (OUT.roi, "£ back per £1", False), (OUT.qalys_gained, "QALYs gained", False)]
    cols = [c for c in cols if t[f"{c[0]}_mean"].notna().any()]
    rows = []
    for _, r in t.iterrows():
        rows.append([scenario_label(r["scenario"]), r["horizon"]]
                    + [fmt_interval(r[f"{o}_mean"], r[f"{o}_lower"], r[f"{o}_upper"], money)
                       if pd.notna(r[f"{o}_mean"]) else "–" for o, _, money in cols])
    first = d.years[0] if d.years else ""
    return Table(["Scenario", "Up to"] + [c[1] for c in cols], rows, numeric_from=2,
                 caption=say("cap_horizons", first=first))


def _cost_table(d: RunData) -> Table | None:
    c = tables.costs(d)
    c = c[(c["period"] == d.whole) & ~c["outcome"].str.endswith("_participants")]
    if d.scenarios:  # the baseline's own totals are in the headline; keep the comparisons
        c = c[c["scenario"] != d.comparator]
    if c.empty:
        return None
    rows = []
    for _, r in c.iterrows():
        money = "cost" in r["outcome"]
        rows.append([scenario_label(r["scenario"]), r["indicator"], r["measure"].replace("_", " "),
                     fmt_interval(r["mean"], r["lower"], r["upper"], money and r["measure"] != "percent_change")])
    return Table(["Scenario", "Outcome", "Measure", "Mean (95% interval)"], rows, numeric_from=3,
                 caption=say("cap_costs", whole=d.whole, coverage=d.coverage, comparator=d.comparator))


def _validation_table(d: RunData) -> Table | None:
    v = tables.validation(d)
    if v is None or v.empty:
        return None
    rows, cls = [], []
    for _, r in v.iterrows():
        ok = bool(r.get("pass", False))
        tol = r.get("tolerance")
        tol_s = (f"±{tol:.0%}" if r.get("kind") == "relative" else f"±{fmt(tol)}") if pd.notna(tol) else "–"
        measure = r.get("measure")
        rows.append([target_label(str(r.get("target", "")), measure if isinstance(measure, str) else None),
                     str(r.get("source", "")), fmt(r.get("observed")),
                     fmt(r.get("simulated")), fmt(r.get("simulated_final_year")), tol_s,
                     "yes" if ok else "no"])
        cls.append("" if ok else "fail")
    return Table(["Target", "Published source", "Published", "Simulated", "Simulated, final year", "Tolerance",
                  "Within tolerance"], rows, cls, numeric_from=2)


def _methods(d: RunData) -> list[Block]:
    from ..model import default_plan

    b = [Block("p", say("methods"))]
    b.append(Block("list", items=[f"{p.name} — {p.description}" for p in default_plan()]))
    ps = d.parameters_used
    counts = {k: sum(1 for p in ps if p.get("confidence") == k) for k in CONFIDENCE}
    b.append(Block("h3", say("h_parameters")))
    b.append(Block("p", say("parameters_intro", used=len(ps), total=len(d.parameters), folder=d.parameters_dir,
                            marks="; ".join(f"{k} = {v} ({counts[k]})" for k, v in CONFIDENCE.items()),
                            n_assumptions=sum(1 for p in ps if p.get("assumption")))))
    rows, cls = [], []
    for _, r in tables.assumptions(d).iterrows():
        rows.append([r["parameter"], str(r["value"]) if not isinstance(r["value"], float) else fmt(r["value"]),
                     r["unit"], r["uncertainty"], r["source"], r["confidence"]
                     + (" (assumption)" if r["assumption"] == "yes" else "")
                     + (", calibrated" if r["calibrated"] == "yes" else ""), r["note"]])
        cls.append("assume" if r["assumption"] == "yes" else "")
    b.append(Block("table", table=Table(["Parameter", "Value", "Unit / meaning", "Uncertainty", "Source",
                                         "Confidence", "Note"], rows, cls, numeric_from=99, css="params")))
    return b


def title_of(d: RunData) -> str:
    return say("page_title", coverage=d.coverage, comparator=d.comparator,
               scenarios=", ".join(scenario_label(s) for s in d.scenarios))


__all__ = ["Block", "Table", "outline", "title_of", "to_html", "to_markdown"]
