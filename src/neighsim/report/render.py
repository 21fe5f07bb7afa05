"""The report's words and tables, rendered twice: one self-contained HTML file and one Markdown file.

Both follow the same outline built here as a list of blocks (headings, paragraphs, notes, tables,
figures), so the two can never disagree. The HTML embeds each figure as a base64 PNG data URI and has
inline CSS only: no scripts, no fonts or styles fetched from anywhere, so it opens offline and can be
e-mailed as one file.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..outcomes import OUT
from ..parameters import CONFIDENCE
from . import fairness, tables
from .business_case import blocks as business_case_blocks
from .business_case import economics_scenarios, is_psa, not_psa_warning
from .data import RunData
from .figures import Figure
from .labels import digits_for, fmt, fmt_interval, scenario_label

INTERVAL_NOTE = (
    "Every number is the mean across the model's replicates (independent runs of the same residents with "
    "different random events{draws}), and the range in brackets is the 95% interval: the middle 95% of "
    "those runs. Differences from the baseline are worked out run by run (each scenario run is paired with "
    "the baseline run that shares its random numbers), so they are more precise than comparing two totals. "
    "An interval that includes zero means the model cannot tell the effect apart from chance at this "
    "number of replicates. The intervals show the model's own uncertainty{psa}; they do not cover errors "
    "in its structure or in the published figures it rests on (see the assumptions appendix)."
)


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
    kind: str  # h1 h2 h3 p note warning list table figure
    text: str = ""
    items: list[str] = field(default_factory=list)
    table: Table | None = None
    figure: Figure | None = None


# ------------------------------------------------------------------------------------------- outline
def _coverage(d: RunData) -> str:
    las = d.local_authorities
    return ", ".join(las) if las else d.ics_area


def outline(d: RunData, figs: list[Figure]) -> list[Block]:
    """The whole report as blocks, in reading order."""
    byk = {f.key: f for f in figs}
    b: list[Block] = []
    name = (d.manifest.get("config") or {}).get("name") or d.ics_area
    b.append(Block("h1", f"Neighbourhood simulation report: {_coverage(d)}"))
    when = d.manifest.get("finished") or d.manifest.get("created") or "unknown time"
    sc_text = ", ".join(scenario_label(s) for s in d.scenarios) or "none (baseline only)"
    b.append(Block("list", items=[
        f"Area simulated: {_coverage(d)}" + ("" if _coverage(d) == name else f" (part of {name})"),
        f"Projection: {d.years[0] if d.years else ''} to {d.years[-1] if d.years else ''} ({d.whole}), "
        f"by financial year",
        f"Scenarios compared with the {d.comparator}: {sc_text}",
        f"Replicates: {d.replicates if d.replicates is not None else 'not recorded'}"
        + (f"; residents simulated: {d.scale:.0%} (scale {d.scale:g})" if d.scale is not None else "")
        + (f", counts scaled up by {1 / d.scale:.3g} to stand for everyone" if d.scale_up and d.scale else ""),
        f"Run finished {when}; report written {dt.datetime.now().isoformat(timespec='seconds')}",
    ]))
    b.append(Block("h3", "Key messages"))
    b.append(Block("list", items=_key_messages(d)))
    b.append(Block("h3", "How to read the intervals"))
    psa = bool(d.manifest.get("psa"))
    b.append(Block("note", INTERVAL_NOTE.format(
        draws=" and, in this run, different draws of the uncertain parameters" if psa else "",
        psa=" (random chance and parameter uncertainty)" if psa else
        " from random chance only: this run did not draw parameters (no PSA), so parameter uncertainty is "
        "not included")))
    if d.notes:
        b.append(Block("h3", "Before quoting these numbers"))
        b.append(Block("list", items=d.notes))
    if economics_scenarios(d) and not is_psa(d):
        b.append(Block("warning", not_psa_warning(d)))

    sc_desc = _scenario_descriptions(d)
    if sc_desc:
        b.append(Block("h3", "Scenarios compared"))
        b.append(Block("table", table=sc_desc))
    b.extend(Block("warning", w) for w in fairness.warnings(d))

    # 1. headline
    b.append(Block("h2", "1. Headline results"))
    head = tables.headline(d)
    if d.scenarios:
        b.append(Block("p", f"Effects over {d.whole} for {_coverage(d)}, against the "
                            f"{d.comparator}. 'Avoided' is the {d.comparator} minus the scenario, so positive "
                            "numbers are good news; changes in inequality measures are scenario minus "
                            f"{d.comparator}, so negative numbers mean a narrower gap."))
        b.append(Block("table", table=_impact_table(d, head)))
    else:
        b.append(Block("p", "This folder holds the baseline only: there are no intervention scenarios to "
                            "compare, so there are no admissions avoided, costs or changes in inequality to "
                            "report. Run `neighsim run` with one or more scenario files to add them. The "
                            "baseline projection follows."))
    b.append(Block("h3", f"Baseline projection, {d.whole}"))
    b.append(Block("table", table=_baseline_table(head)))
    _fig(b, byk, "annual_admissions")
    from .contributions import blocks as contribution_blocks

    b.extend(contribution_blocks(d, byk))

    # 2. where and for whom
    b.append(Block("h2", "2. Where and for whom"))
    if d.scenarios:
        for k in ("avoided_by_neighbourhood", "target_scenarios", "avoided_by_imd", "deprivation_gap"):
            _fig(b, byk, k)
    else:
        b.append(Block("p", "Needs at least one scenario: with the baseline only, see section 5 for where "
                            "admission rates are highest."))
    nb = _neighbourhood_table(d)
    if nb is not None:
        b.append(Block("h3", "By neighbourhood"))
        b.append(Block("table", table=nb))
    dep = _deprivation_table(d)
    if dep is not None:
        b.append(Block("h3", "By deprivation"))
        b.append(Block("table", table=dep))

    # 3. delivery and costs
    b.append(Block("h2", "3. Delivery, costs and value"))
    act = _activity_table(d)
    if act is not None:
        b.append(Block("h3", "What each scenario delivered"))
        b.append(Block("table", table=act))
    b.extend(_places_blocks(d))
    ct = _cost_table(d)
    if not d.scenarios:
        b.append(Block("p", "Costs avoided, net cost, return on investment and QALYs gained need a scenario to "
                            "compare with the baseline; this run has none."
                            + (" The baseline's own cost and QALY totals follow." if ct is not None else "")))
    elif ct is None:
        b.append(Block("p", "No cost, return-on-investment or QALY outcomes in this folder."))
    _fig(b, byk, "cost_effectiveness")
    hz = _horizon_table(d)
    if hz is not None:
        b.append(Block("h3", "Costs and savings by payback horizon"))
        b.append(Block("table", table=hz))
    elif ct is not None:
        b.append(Block("table", table=ct))

    # 4. business case
    b.extend(business_case_blocks(d, byk, 4))

    # 5. baseline picture
    b.append(Block("h2", "5. The baseline picture"))
    b.append(Block("p", "What happens with no new intervention: the need each scenario acts on."))
    for k in ("admissions_by_cause", "rate_by_imd", "neighbourhood_rates", "target_baseline", OUT.life_expectancy):
        _fig(b, byk, k)

    # 6. validation
    b.append(Block("h2", "6. Validation against published figures"))
    vt = _validation_table(d)
    if vt is None:
        b.append(Block("p", "No validation.csv in this folder: run `neighsim validate --out FOLDER` with the "
                            "same settings to compare the baseline with published figures."))
    else:
        v = d.validation
        assert v is not None
        n_ok = int(v["pass"].sum()) if "pass" in v else 0
        b.append(Block("p", f"{n_ok} of {len(v)} targets are within tolerance. The simulated value is for the "
                            "first projection year (the final year is shown for drift); tolerances are "
                            "relative (a fraction of the published value) or absolute, as listed."))
        _fig(b, byk, "validation")
        b.append(Block("table", table=vt))

    # appendices
    b.append(Block("h2", "Appendix A. Methods and assumptions"))
    b.extend(_methods(d))
    b.append(Block("h2", "Appendix B. Run provenance"))
    b.append(Block("table", table=Table(["Item", "Value"], [[k, str(v)] for k, v in tables.provenance(d)],
                                        numeric_from=99)))
    return b


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + fmt(x)


def _includes_zero(r: pd.Series) -> bool:
    return bool(r["lower"] <= 0 <= r["upper"])


def _key_messages(d: RunData) -> list[str]:
    """A few plain sentences, each built from summary rows (no number is typed in)."""
    msgs: list[str] = []
    base = d.one(d.comparator, OUT.emergency_admissions)
    rate = d.one(d.comparator, OUT.emergency_admissions_per_1000)
    if base is not None:
        s = (f"Baseline: {fmt_interval(base['mean'], base['lower'], base['upper'])} emergency admissions over "
             f"{d.whole}")
        if rate is not None:
            s += f", {fmt(rate['mean'])} per 1,000 person-years"
        msgs.append(s + ".")
    yes = d.one(d.comparator, OUT.emergency_admissions_per_1000, stratum="core20=yes")
    no = d.one(d.comparator, OUT.emergency_admissions_per_1000, stratum="core20=no")
    if yes is not None and no is not None:
        msgs.append(f"Residents of Core20 areas (the most deprived 20% in England) are admitted at "
                    f"{fmt(yes['mean'])} per 1,000 person-years, against {fmt(no['mean'])} elsewhere.")
    nb = tables.by_area(d, ("neighbourhood",))
    if not nb.empty and nb["baseline_rate_mean"].notna().any() and len(nb) > 1:
        top = nb.loc[nb["baseline_rate_mean"].idxmax()]
        low = nb.loc[nb["baseline_rate_mean"].idxmin()]
        msgs.append(f"Neighbourhood admission rates range from {fmt(low['baseline_rate_mean'])} ({low['area']}) "
                    f"to {fmt(top['baseline_rate_mean'])} per 1,000 ({top['area']}).")
    for sc in d.scenarios:
        av = d.one(sc, OUT.emergency_admissions, "difference")
        if av is None:
            continue
        if av["mean"] <= 0:
            s = (f"{scenario_label(sc)}: {fmt_interval(-av['mean'], -av['upper'], -av['lower'])} emergency "
                 f"admissions avoided over {d.whole}")
        else:
            s = (f"{scenario_label(sc)}: {fmt_interval(av['mean'], av['lower'], av['upper'])} more emergency "
                 f"admissions than the {d.comparator} over {d.whole}")
        pc = d.one(sc, OUT.emergency_admissions, "percent_change")
        if pc is not None:
            s += f" ({fmt(abs(pc['mean']))}% {'fewer' if pc['mean'] <= 0 else 'more'})"
        if _includes_zero(av):
            s += "; the interval includes zero, so the effect is not distinguishable from chance"
        nc, _ = d.effect(sc, OUT.net_cost)
        if nc is not None and pd.notna(nc["mean"]):
            s += f"; net cost {fmt_interval(nc['mean'], nc['lower'], nc['upper'], True)}"
            s += " (negative: a net saving)" if nc["mean"] < 0 else ""
        roi, _ = d.effect(sc, OUT.roi)
        if roi is not None and pd.notna(roi["mean"]):
            s += f"; {fmt(roi['mean'], money=True, digits=2)} of costs avoided per £1 spent"
        dy = d.one(sc, OUT.emergency_admissions_per_1000, "difference", stratum="core20=yes")
        dn = d.one(sc, OUT.emergency_admissions_per_1000, "difference", stratum="core20=no")
        if dy is not None and dn is not None:
            narrower = dy["mean"] < dn["mean"]
            s += (f". Admission rate change per 1,000 person-years: {_signed(dy['mean'])} in Core20 areas, "
                  f"{_signed(dn['mean'])} elsewhere, so on average the gap {'narrows' if narrower else 'widens'}")
        msgs.append(s + ".")
    if not d.scenarios:
        msgs.append("No intervention scenarios in this run: the sections on impact and costs are empty.")
    return msgs


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
    cap = ("– : not in this folder, or undefined in every replicate (for example no payback within the horizon, "
           "no QALY gain, or more admissions than the baseline).")
    if short:
        cap += f" † based on n of the {d.replicates} replicates: in the others the figure is undefined."
    return Table(["Five-year effect (95% interval)"] + [scenario_label(s) for s in d.scenarios], rows,
                 caption=cap, css="impact")


def _baseline_table(head: pd.DataFrame) -> Table:
    base = head[head["section"] == "Baseline projection"]
    rows = [[r["indicator"], fmt_interval(r["mean"], r["lower"], r["upper"], bool(r["money"]))]
            for _, r in base.iterrows()]
    return Table(["Indicator", "Mean (95% interval)"], rows)


def _col(t: pd.DataFrame, prefix: str, money: bool = False) -> list[str]:
    """A column of 'mean (lower to upper)' cells with one number of decimals for the whole column."""
    m, lo, hi = t[f"{prefix}_mean"], t[f"{prefix}_lower"], t[f"{prefix}_upper"]
    dg = digits_for(list(pd.concat([m, lo, hi]).dropna().abs()))
    return [fmt_interval(a, b, c, money, dg) if pd.notna(a) else "–" for a, b, c in zip(m, lo, hi, strict=True)]


def _neighbourhood_table(d: RunData) -> Table | None:
    t = tables.by_area(d, ("neighbourhood",))
    if t.empty or "baseline_rate_mean" not in t:
        return None
    key = f"{d.scenarios[0]}_avoided_mean" if d.scenarios else "baseline_rate_mean"
    t = t.sort_values(key, ascending=False)
    header = ["Neighbourhood", "Residents (end)", "Core20 %", "Baseline admissions per 1,000"]
    cols = [_col(t, "baseline_rate")]
    for sc in d.scenarios:
        header.append(f"{scenario_label(sc)}: admissions avoided")
        cols.append(_col(t, f"{sc}_avoided"))
    rows = []
    for i, (_, r) in enumerate(t.iterrows()):
        rows.append([r["area"], fmt(r["residents_end"]), fmt(100 * r["share_core20"], digits=0)
                     if pd.notna(r["share_core20"]) else "–"] + [c[i] for c in cols])
    cap = ("Baseline rate per 1,000 person-years and admissions avoided over " + d.whole
           + ("; ranked by admissions avoided in " + scenario_label(d.scenarios[0]) if d.scenarios
              else "; ranked by baseline rate")
           + ". Avoided per 1,000 residents is in results.xlsx (by neighbourhood).")
    return Table(header, rows, caption=cap, css="areas")


def _deprivation_table(d: RunData) -> Table | None:
    t = tables.by_deprivation(d)
    if t.empty:
        return None
    header = ["Group", "Person-years", "Baseline admissions", "Baseline per 1,000"]
    cols = [_col(t, "baseline_admissions"), _col(t, "baseline_rate")]
    for sc in d.scenarios:
        header.append(f"{scenario_label(sc)}: avoided per 1,000")
        cols.append(_col(t, f"{sc}_avoided_per_1000"))
    rows = [[r["group"], fmt(r[OUT.person_years])] + [c[i] for c in cols]
            for i, (_, r) in enumerate(t.iterrows())]
    return Table(header, rows, css="areas",
                 caption=f"All residents of {_coverage(d)}, {d.whole}; rates per 1,000 person-years. IMD 2019 "
                         "decile and quintile 1 = most deprived; Core20 = the most deprived 20% of LSOAs in "
                         "England. Counts avoided by group are in results.xlsx (by deprivation).")


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
    cap = (f"Totals over {d.whole} in this run (scaled like every count); places are those made available (a "
           "scenario file's capacity is for the whole ICS at full scale, divided between neighbourhoods). "
           "Compare scenarios only where places and money are alike: a warning above says where they are not.")
    return [Block("h3", "Places, participants and money by area"),
            Block("table", table=Table(header, rows, caption=cap, numeric_from=4))]


def _activity_table(d: RunData) -> Table | None:
    a = tables.activity(d)
    if a.empty:
        return None
    rows = [[scenario_label(r["scenario"]), r["indicator"],
             fmt_interval(r["mean"], r["lower"], r["upper"], "cost" in r["outcome"])] for _, r in a.iterrows()]
    return Table(["Scenario", "Measure", "Five-year total (95% interval)"], rows, numeric_from=2,
                 caption=f"Counts over {d.whole} as each intervention module records them (offers, uptake, "
                         "participants, costs).")


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
                 caption=f"Cumulative from {first} to the year shown (the last row of each scenario is the whole "
                         "horizon), paired with the baseline replicate by replicate; money and QALYs discounted "
                         "as the model's economics settings say.")


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
                 caption=f"{d.whole}, {_coverage(d)}. 'difference' is scenario minus {d.comparator}; 'value' "
                         "rows of paired outcomes (costs avoided, net cost, ROI, payback, QALYs gained, cost per "
                         "outcome) already compare with the baseline, replicate by replicate, and are "
                         "discounted. Yearly figures are in results.xlsx (costs sheet).")


def _validation_table(d: RunData) -> Table | None:
    v = tables.validation(d)
    if v is None or v.empty:
        return None
    rows, cls = [], []
    for _, r in v.iterrows():
        ok = bool(r.get("pass", False))
        tol = r.get("tolerance")
        tol_s = (f"±{tol:.0%}" if r.get("kind") == "relative" else f"±{fmt(tol)}") if pd.notna(tol) else "–"
        rows.append([str(r.get("target", "")), str(r.get("source", "")), fmt(r.get("observed")),
                     fmt(r.get("simulated")), fmt(r.get("simulated_final_year")), tol_s,
                     "yes" if ok else "no"])
        cls.append("" if ok else "fail")
    return Table(["Target", "Published source", "Published", "Simulated", "Simulated, final year", "Tolerance",
                  "Within tolerance"], rows, cls, numeric_from=2)


def _methods(d: RunData) -> list[Block]:
    from ..model import default_plan

    b = [Block("p", "neighsim simulates every resident of the chosen area month by month (a microsimulation "
                    "built on Mesa). Residents are synthesised from real LSOA data (Census 2021 households, "
                    "mid-year population estimates, IMD 2019) and grouped into neighbourhoods, localities and "
                    "places. Each month the processes below run in a fixed order; each computes a hazard per "
                    "resident and draws events from its own random stream, keyed by seed, replicate and "
                    "resident, so scenarios differ only where an intervention changes a hazard (common random "
                    "numbers). Results are counted by neighbourhood, IMD decile, sex and age band and summarised "
                    "across replicates.")]
    b.append(Block("list", items=[f"{p.name} — {p.description}" for p in default_plan()]))
    ps = d.parameters
    counts = {k: sum(1 for p in ps if p.get("confidence") == k) for k in CONFIDENCE}
    n_ass = sum(1 for p in ps if p.get("assumption"))
    b.append(Block("h3", "Parameters and their sources"))
    b.append(Block("p", f"The model uses {len(ps)} parameters, read from {d.parameters_dir}. Each has a source "
                        "and a confidence mark: " + "; ".join(f"{k} = {v} ({counts[k]})" for k, v in
                                                              CONFIDENCE.items())
                        + f". The {n_ass} parameters marked M or A are assumptions and are highlighted below; "
                        "they are the first candidates for sensitivity analysis and local evidence."))
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


# ----------------------------------------------------------------------------------------------- HTML
CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2733;margin:0;
background:#f4f6f9;line-height:1.5}
main{max-width:1180px;margin:0 auto;padding:24px 32px 64px;background:#fff;box-shadow:0 0 8px rgba(0,0,0,.06)}
h1{font-size:30px;margin:8px 0 12px;color:#123a6b}
h2{font-size:23px;margin:40px 0 10px;padding-bottom:6px;border-bottom:3px solid #123a6b;color:#123a6b}
h3{font-size:18px;margin:24px 0 8px;color:#1d2733}
p,li{font-size:15.5px}
.note{background:#eef4fb;border-left:5px solid #2f6db5;padding:10px 16px;margin:8px 0 16px;font-size:15px}
.warning{background:#fff4e0;border-left:5px solid #d9822b;padding:10px 16px;margin:8px 0 16px;font-size:15px}
.facts li{margin:2px 0}
table{border-collapse:collapse;width:100%;margin:8px 0 18px;font-size:13.5px}
th{background:#123a6b;color:#fff;text-align:left;padding:7px 8px;vertical-align:bottom}
td{padding:6px 8px;border-bottom:1px solid #e3e7ee;vertical-align:top}
tr:nth-child(even) td{background:#f8f9fb}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
th.num{text-align:right}
tr.assume td{background:#fff4cc}
tr.fail td{background:#fde3ec}
caption{caption-side:bottom;text-align:left;font-size:13px;color:#555;padding-top:4px}
figure{margin:18px 0 28px}
figure img{width:100%;height:auto;border:1px solid #e3e7ee}
figcaption{font-size:14px;color:#444;margin-top:6px}
figcaption b{color:#1d2733}
.wide{overflow-x:auto}
table.areas td:first-child{min-width:210px}
table.impact td:first-child{min-width:220px}
table.impact td.num{white-space:normal}
table.params td:nth-child(1){word-break:break-all;min-width:150px}
table.params td:nth-child(2){min-width:120px}
table.params td:nth-child(6){white-space:nowrap}
table.budget td.num{white-space:normal;min-width:110px}
@media print{body{background:#fff}main{box-shadow:none;max-width:none}figure,table{page-break-inside:avoid}}
"""


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _html_table(t: Table) -> str:
    out = [f'<div class="wide"><table class="{t.css}">' if t.css else '<div class="wide"><table>']
    if t.caption:
        out.append(f"<caption>{_esc(t.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f'<th class="num">{_esc(h)}</th>' if j >= t.numeric_from
                                       else f"<th>{_esc(h)}</th>" for j, h in enumerate(t.header))
               + "</tr></thead><tbody>")
    for i, row in enumerate(t.rows):
        cls = t.row_class[i] if i < len(t.row_class) and t.row_class[i] else ""
        cells = "".join(f'<td class="num">{_esc(c)}</td>' if j >= t.numeric_from else f"<td>{_esc(c)}</td>"
                        for j, c in enumerate(row))
        out.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def to_html(blocks: list[Block], title: str) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en-GB">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_esc(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body><main>"]
    first_list = True
    for blk in blocks:
        if blk.kind in ("h1", "h2", "h3"):
            parts.append(f"<{blk.kind}>{_esc(blk.text)}</{blk.kind}>")
        elif blk.kind == "p":
            parts.append(f"<p>{_esc(blk.text)}</p>")
        elif blk.kind == "note":
            parts.append(f'<div class="note">{_esc(blk.text)}</div>')
        elif blk.kind == "warning":
            parts.append(f'<div class="warning" role="alert"><b>Warning.</b> {_esc(blk.text)}</div>')
        elif blk.kind == "list":
            cls = ' class="facts"' if first_list else ""
            first_list = False
            parts.append(f"<ul{cls}>" + "".join(f"<li>{_esc(i)}</li>" for i in blk.items) + "</ul>")
        elif blk.kind == "table" and blk.table is not None:
            parts.append(_html_table(blk.table))
        elif blk.kind == "figure" and blk.figure is not None:
            f = blk.figure
            parts.append(f'<figure><img src="{_data_uri(f.path)}" alt="{_esc(f.title)}">'
                         f"<figcaption><b>{_esc(f.title)}.</b> {_esc(f.caption)}</figcaption></figure>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------- Markdown
def _md(s: object) -> str:
    """Text for Markdown: HTML in names and descriptions is shown, never run (renderers pass raw HTML)."""
    return html.escape(str(s), quote=False)


def _md_cell(s: object) -> str:
    return _md(s).replace("|", "\\|").replace("\n", " ")


def _md_table(t: Table) -> str:
    lines = ["| " + " | ".join(_md_cell(h) for h in t.header) + " |",
             "| " + " | ".join("---:" if j >= t.numeric_from else "---" for j in range(len(t.header))) + " |"]
    for i, row in enumerate(t.rows):
        cells = [_md_cell(c) for c in row]
        if i < len(t.row_class) and t.row_class[i] == "assume":
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    if t.caption:
        lines += ["", f"*{_md(t.caption)}*"]
    return "\n".join(lines)


def to_markdown(blocks: list[Block], fig_dir_name: str = "figures") -> str:
    parts: list[str] = []
    for blk in blocks:
        if blk.kind == "h1":
            parts.append(f"# {_md(blk.text)}")
        elif blk.kind == "h2":
            parts.append(f"## {_md(blk.text)}")
        elif blk.kind == "h3":
            parts.append(f"### {_md(blk.text)}")
        elif blk.kind == "p":
            parts.append(_md(blk.text))
        elif blk.kind == "note":
            parts.append("> " + _md(blk.text))
        elif blk.kind == "warning":
            parts.append("> **Warning.** " + _md(blk.text))
        elif blk.kind == "list":
            parts.append("\n".join(f"- {_md(i)}" for i in blk.items))
        elif blk.kind == "table" and blk.table is not None:
            t = blk.table
            if any(c == "assume" for c in t.row_class):
                parts.append("Parameters in **bold** are assumptions (confidence M or A).")
            parts.append(_md_table(t))
        elif blk.kind == "figure" and blk.figure is not None:
            f = blk.figure
            parts.append(f"![{_md(f.title)}]({fig_dir_name}/{f.path.name})\n\n*{_md(f.title)}.* {_md(f.caption)}")
    return "\n\n".join(parts) + "\n"


def title_of(d: RunData) -> str:
    return f"neighsim report: {_coverage(d)}" + (
        f" — {', '.join(scenario_label(s) for s in d.scenarios)} against {d.comparator}" if d.scenarios
        else " — baseline")


__all__ = ["outline", "to_html", "to_markdown", "title_of"]
