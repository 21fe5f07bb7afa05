"""The business case: value for money, budget impact and the uncertainty around them, per scenario.

Read from summary.csv (means and 95% intervals), economics_replicates.parquet (one row per replicate or
PSA draw: the cost-effectiveness plane, the CEAC, cumulative budget intervals) and, when `neighsim
sensitivity` wrote them, RUN/sensitivity/<scenario>/tornado.csv. Every number is for the whole area
(ICS level) and the run's whole horizon unless a table says otherwise.

Intervals are only fit for a business case when the run drew its parameters (`neighsim run --psa N`):
otherwise they show Monte Carlo noise alone, and the section says so in a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..analysis.economics import NMB_THRESHOLDS, ceac, icer, quadrant
from ..outcomes import OUT
from ..parameters import CONFIDENCE
from ..wording import say
from .data import RunData
from .labels import fmt, fmt_interval, fmt_money, fmt_money_interval, scenario_label

if TYPE_CHECKING:
    from openpyxl import Workbook

    from .figures import Figure
    from .render import Block, Table

ECON_FILE = "economics_replicates.parquet"
CEAC_THRESHOLDS = np.arange(0.0, 100_001.0, 1_000.0)
DRAW_KEYS = ["replicate", "param_draw"]
BUDGET = ["budget_programme_cash", "budget_savings_cash", "budget_net_cash", "budget_net_cash_discounted"]
CUMULATIVE = "cumulative_net_cash_discounted"
TOP_TORNADO = 10
TOP_ASSUMPTIONS = 5
MIN_CONVERGENCE_DRAWS = 10



def valued() -> list[str]:
    """What the business case counts, an item a line (bc_valued)."""
    return say("bc_valued").splitlines()


def not_valued() -> list[str]:
    """What the business case leaves out, an item a line (bc_not_valued)."""
    return say("bc_not_valued").splitlines()


@dataclass(frozen=True)
class Measure:
    """One line of the value-for-money table: an outcome and how to show it."""

    label: str
    outcome: str
    kind: str  # money, qalys, count, ratio, year, icer


# the value-for-money table's lines (outcome, kind); their labels are bc_value_measure's
VALUE_MEASURES = [
    (OUT.cost_programme, "money"), (OUT.costs_avoided_nhs, "money"), (OUT.costs_avoided_social_care, "money"),
    (OUT.net_cost, "money"), (OUT.admissions_avoided, "count"), (OUT.qalys_gained, "qalys"),
    (OUT.qalys_beyond_horizon, "qalys"), (OUT.cost_per_qaly, "icer"), (OUT.nmb_20000, "money"),
    (OUT.nmb_30000, "money"), (OUT.roi, "ratio"), (OUT.roi_qalys, "ratio"), (OUT.roi_cash, "ratio"),
    (OUT.payback_year, "year"), (OUT.cost_per_admission_avoided, "icer"),
]
INDENTED = {OUT.qalys_beyond_horizon}  # a part of the line above
# perspective (bc_perspective's key), incremental cost, cost per QALY, NMB at £20,000 (None: worked out per draw)
PERSPECTIVES = [
    ("reference", OUT.net_cost, OUT.cost_per_qaly, OUT.nmb_20000),
    ("nhs", OUT.net_cost_nhs, OUT.cost_per_qaly_nhs, OUT.nmb_20000_nhs),
    ("unrelated", OUT.net_cost_with_unrelated, OUT.cost_per_qaly_with_unrelated, None),
    ("wider", OUT.net_cost_wider, OUT.cost_per_qaly_wider, OUT.nmb_20000_wider),
]


def value_measures() -> list[Measure]:
    """The value-for-money table's lines, labelled."""
    return [Measure(("  " if o in INDENTED else "") + say("bc_value_measure", outcome=o), o, kind)
            for o, kind in VALUE_MEASURES]


# --------------------------------------------------------------------------------------------- data
def is_psa(d: RunData) -> bool:
    """Did each replicate draw its own parameters? Only then do intervals include parameter uncertainty."""
    return bool(d.manifest.get("psa"))


def replicates_long(d: RunData) -> pd.DataFrame:
    """economics_replicates.parquet as read (empty when the folder has none)."""
    def read() -> pd.DataFrame:
        p = d.out_dir / ECON_FILE
        if not p.exists():
            return pd.DataFrame(columns=["scenario", *DRAW_KEYS, "period", "level", "area", "stratum", "outcome",
                                         "value"])
        return pd.read_parquet(p)
    return d.cached("economics_replicates", read)


def draws(d: RunData, period: str | None = None) -> pd.DataFrame:
    """One row per scenario and draw, one column per economics outcome: ICS, everyone, `period`
    (default the whole horizon). Rows are in replicate order, as the running intervals need."""
    def make() -> pd.DataFrame:
        e = replicates_long(d)
        if e.empty:
            return pd.DataFrame(columns=["scenario", *DRAW_KEYS])
        e = e[(e["level"] == d.focus_level) & (e["stratum"] == "all") & (e["period"] == (period or d.whole))]
        if d.area and (e["area"] == d.area).any():
            e = e[e["area"] == d.area]
        w = e.groupby(["scenario", *DRAW_KEYS, "outcome"], sort=False)["value"].first().unstack("outcome")
        return w.reset_index().sort_values(["scenario", *DRAW_KEYS]).reset_index(drop=True)
    return d.cached(f"draws:{period or d.whole}", make)


def scenario_draws(d: RunData, scenario: str) -> pd.DataFrame:
    w = draws(d)
    return w[w["scenario"] == scenario].reset_index(drop=True)


def economics_scenarios(d: RunData) -> list[str]:
    """Scenarios with reference-case economics in the summary."""
    return [sc for sc in d.scenarios if d.one(sc, OUT.net_cost) is not None
            and d.one(sc, OUT.qalys_gained) is not None]


def n_draws(d: RunData, scenario: str | None = None) -> int:
    w = draws(d)
    if scenario is not None:
        w = w[w["scenario"] == scenario]
    n = len(w) if scenario is not None else (w.groupby("scenario").size().max() if len(w) else 0)
    return int(n or d.replicates or 0)


def interval_source(d: RunData) -> str:
    """Where the 95% intervals come from, in one plain sentence."""
    return say("interval_source", psa=is_psa(d), n=n_draws(d))


def not_psa_warning(d: RunData) -> str:
    return say("not_psa_warning", n=n_draws(d))


def stat(d: RunData, scenario: str, outcome: str, period: str | None = None) -> tuple[float, float, float, int]:
    """mean, lower, upper, n of a scenario's economics outcome (nan when absent)."""
    r = d.one(scenario, outcome, "value", period)
    if r is None:
        return math.nan, math.nan, math.nan, 0
    return float(r["mean"]), float(r["lower"]), float(r["upper"]), int(r["n"]) if pd.notna(r["n"]) else 0


def _summarise(x: pd.Series | np.ndarray) -> tuple[float, float, float, int]:
    """mean and 2.5-97.5% (numpy 'linear', as summary.csv) of the finite values."""
    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return math.nan, math.nan, math.nan, 0
    lo, hi = np.quantile(v, [0.025, 0.975])
    return float(v.mean()), float(lo), float(hi), int(v.size)


def ceac_table(d: RunData) -> pd.DataFrame:
    """Probability each scenario is cost-effective against the comparator, by threshold (£ per QALY)."""
    def make() -> pd.DataFrame:
        out = pd.DataFrame({"threshold": CEAC_THRESHOLDS})
        for sc in economics_scenarios(d):
            w = scenario_draws(d, sc)
            if w.empty or OUT.net_cost not in w or OUT.qalys_gained not in w:
                continue
            out[sc] = ceac(w[OUT.net_cost].to_numpy(), w[OUT.qalys_gained].to_numpy(), CEAC_THRESHOLDS)
        return out if out.shape[1] > 1 else pd.DataFrame()
    return d.cached("ceac", make)


def probability_cost_effective(d: RunData, scenario: str, threshold: float) -> float | None:
    w = scenario_draws(d, scenario)
    if w.empty or OUT.net_cost not in w or OUT.qalys_gained not in w:
        return None
    p = ceac(w[OUT.net_cost].to_numpy(), w[OUT.qalys_gained].to_numpy(), [threshold])[0]
    return None if math.isnan(p) else float(p)


def budget_table(d: RunData, scenario: str) -> pd.DataFrame:
    """Cash by financial year (mean, lower, upper of each budget outcome) and the cumulative discounted net
    cash; with economics_replicates the cumulative's interval is worked out draw by draw."""
    rows = []
    for y in d.years:
        row: dict[str, object] = {"year": y}
        for o in BUDGET:
            m, lo, hi, _n = stat(d, scenario, o, y)
            row |= {f"{o}_mean": m, f"{o}_lower": lo, f"{o}_upper": hi}
        rows.append(row)
    t = pd.DataFrame(rows)
    key = "budget_net_cash_discounted"
    if t.empty or t[f"{key}_mean"].isna().all():
        return pd.DataFrame()
    e = replicates_long(d)
    e = e[(e["scenario"] == scenario) & (e["outcome"] == key) & (e["level"] == d.focus_level)
          & (e["area"] == d.area) & (e["stratum"] == "all") & e["period"].isin(d.years)]
    c = CUMULATIVE
    if not e.empty:
        wide = e.pivot_table(index=DRAW_KEYS, columns="period", values="value", aggfunc="first")
        cum = wide.reindex(columns=d.years).fillna(0.0).cumsum(axis=1)
        stats = [_summarise(cum[y]) for y in d.years]
        t[f"{c}_mean"], t[f"{c}_lower"], t[f"{c}_upper"] = ([s[i] for s in stats] for i in range(3))
    else:
        t[f"{c}_mean"] = t[f"{key}_mean"].cumsum()
        t[f"{c}_lower"] = t[f"{c}_upper"] = np.nan
    total: dict[str, object] = {"year": f"Total {d.whole}"}
    for o in BUDGET:
        m, lo, hi, _n = stat(d, scenario, o)
        total |= {f"{o}_mean": m, f"{o}_lower": lo, f"{o}_upper": hi}
    total |= {f"{c}_{s}": t[f"{c}_{s}"].iloc[-1] for s in ("mean", "lower", "upper")}
    return pd.concat([t, pd.DataFrame([total])], ignore_index=True)


def tornado_path(d: RunData, scenario: str) -> Path:
    return d.out_dir / "sensitivity" / scenario / "tornado.csv"


def tornado(d: RunData, scenario: str, outcome: str = "nmb_20000") -> pd.DataFrame | None:
    """The one-way sensitivity rows for `outcome`, largest swing first, with each parameter's source and
    confidence mark; None when `neighsim sensitivity` has not been run for this scenario."""
    p = tornado_path(d, scenario)
    if not p.exists():
        return None
    try:
        t = pd.read_csv(p)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    need = {"parameter", "central", "at_low", "at_high"}
    if not need <= set(t.columns):
        return None
    if "outcome" in t:
        t = t[t["outcome"] == outcome]
    if t.empty:
        return None
    t = t.copy()
    if "swing" not in t:
        t["swing"] = (t["at_high"] - t["at_low"]).abs()
    if "label" not in t:
        t["label"] = t["parameter"]
    t["label"] = t["label"].fillna(t["parameter"]).astype(str)
    meta = {str(p["parameter"]): p for p in d.parameters}
    t["source"] = [str(meta.get(str(x), {}).get("source", "")) for x in t["parameter"]]
    t["confidence"] = [str(meta.get(str(x), {}).get("confidence", "")) for x in t["parameter"]]
    return t.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------- formatting
def _sig3(x: float) -> float:
    return float(f"{x:.3g}") if math.isfinite(x) and x != 0 else x


def _icer_cell(cost: float, qalys: float, lower: float, upper: float, q_lower: float, q_upper: float,
               per: str = "QALY") -> str:
    """The ICER as NICE reads it: mean cost over mean QALYs, with words for the quadrants where a ratio
    misleads, and no interval when the QALY interval includes zero (the ratio is then unbounded)."""
    if not (math.isfinite(cost) and math.isfinite(qalys)):
        return "–"
    where = quadrant(cost, qalys)
    if where in ("dominant", "dominated", "undefined"):
        return say("bc_icer_quadrant", where=where)
    bounded = not (math.isfinite(q_lower) and q_lower <= 0 <= q_upper)
    spread = math.isfinite(lower) and math.isfinite(upper) and _sig3(lower) != _sig3(upper)
    return say("bc_icer", point=fmt(_sig3(float(icer(cost, qalys))), money=True), per=per,
               saved=where == "south-west", bounded=bounded, low=fmt(_sig3(lower), money=True) if spread else None,
               high=fmt(_sig3(upper), money=True) if spread else None)


def _payback_cell(d: RunData, m: float, lo: float, hi: float, n: int, total: int) -> str:
    if n == 0 or not math.isfinite(m):
        return say("bc_payback", within=False)
    def year(v: float) -> str:
        i = int(round(v))
        return d.years[i - 1] if 1 <= i <= len(d.years) else f"year {i}"
    span = year(lo) if n == 1 or year(lo) == year(hi) else f"{year(lo)} to {year(hi)}"
    return say("bc_payback", within=True, partial=bool(total and n < total), n=n, total=total, year=year(m),
               span=span)


def cell(d: RunData, scenario: str, m: Measure) -> str:
    mean, lo, hi, n = stat(d, scenario, m.outcome)
    if m.kind == "year":
        return _payback_cell(d, mean, lo, hi, n, n_draws(d, scenario))
    if m.kind == "icer":
        cost, _, _, _ = stat(d, scenario, OUT.net_cost)
        base = OUT.qalys_gained if m.outcome == OUT.cost_per_qaly else OUT.admissions_avoided
        q, ql, qh, _ = stat(d, scenario, base)
        return _icer_cell(cost, q, lo, hi, ql, qh, "QALY" if base == OUT.qalys_gained else "admission")
    if m.kind == "money":
        return fmt_money_interval(mean, lo, hi)
    if m.kind == "ratio":
        return fmt_interval(mean, lo, hi, money=True, digits=2)
    return fmt_interval(mean, lo, hi)


def verdict(d: RunData, scenario: str) -> str:
    """One sentence on the reference-case result, for the figure title and the section's first line."""
    c, *_ = stat(d, scenario, OUT.net_cost)
    q, *_ = stat(d, scenario, OUT.qalys_gained)
    if not (math.isfinite(c) and math.isfinite(q)):
        return say("bc_verdict", where=None)
    where = quadrant(c, q)
    if where != "north-east":
        return say("bc_verdict", where=where)
    r = c / q
    band = "below" if r < 20_000 else "between" if r <= 30_000 else "above"
    return say("bc_verdict", where=where, cost_per_qaly=fmt(_sig3(r), money=True), band=band)


# ------------------------------------------------------------------------------------------- blocks
def blocks(d: RunData, byk: dict[str, Figure], number: int) -> list[Block]:
    """The business-case section: one subsection per intervention scenario."""
    from .render import Block

    b = [Block("h2", f"{number}. Business case")]
    scs = economics_scenarios(d)
    if not scs:
        b.append(Block("p", say("bc_none")))
        return b
    b.append(Block("p", say("bc_intro", comparator=d.comparator, whole=d.whole)))
    b.append(Block("note", interval_source(d)))
    if not is_psa(d):
        b.append(Block("warning", not_psa_warning(d)))
    for k in ("ceac", "psa_convergence"):
        if k in byk:
            b.append(Block("figure", figure=byk[k]))
    for sc in scs:
        b.extend(_scenario_blocks(d, sc, byk))
    b.append(Block("h3", say("bc_valued_heading")))
    b.append(Block("p", say("bc_valued_label", valued=True)))
    b.append(Block("list", items=valued()))
    b.append(Block("p", say("bc_valued_label", valued=False)))
    b.append(Block("list", items=not_valued()))
    b.append(Block("p", say("bc_not_cash")))
    return b


def _scenario_blocks(d: RunData, sc: str, byk: dict[str, Figure]) -> list[Block]:
    from .render import Block

    name = scenario_label(sc)
    b = [Block("h3", f"Business case: {name}")]
    b.append(Block("p", _summary(d, sc)))
    if f"ce_plane:{sc}" in byk:
        b.append(Block("figure", figure=byk[f"ce_plane:{sc}"]))
    b.append(Block("table", table=value_table(d, sc)))
    pt = perspective_table(d, sc)
    if pt is not None:
        b.append(Block("table", table=pt))
    bt = budget_block_table(d, sc)
    if bt is not None:
        b.append(Block("table", table=bt))
    b.extend(_assumption_blocks(d, sc, byk))
    return b


def _summary(d: RunData, sc: str) -> str:
    """The scenario's first line: its verdict, NMB and chance of being cost-effective."""
    nmb, nlo, nhi, _ = stat(d, sc, OUT.nmb_20000)
    p20 = probability_cost_effective(d, sc, NMB_THRESHOLDS[0])
    p30 = probability_cost_effective(d, sc, NMB_THRESHOLDS[1])
    known = p20 is not None and p30 is not None
    return say("bc_scenario_summary", scenario=scenario_label(sc), verdict=verdict(d, sc),
               nmb=fmt_money_interval(nmb, nlo, nhi) if math.isfinite(nmb) else None,
               p20=f"{p20:.0%}" if known else None, p30=f"{p30:.0%}" if known else None, draws=n_draws(d, sc),
               psa=is_psa(d))


def value_table(d: RunData, sc: str) -> Table:
    from .render import Table

    rows = [[m.label, cell(d, sc, m)] for m in value_measures() if d.one(sc, m.outcome) is not None]
    return Table(say("bc_value_columns", whole=d.whole).split("|"), rows,
                 caption=say("bc_value_caption", source=interval_source(d)))


def _draw_nmb(d: RunData, sc: str, cost: str) -> tuple[float, float, float, int]:
    w = scenario_draws(d, sc)
    if w.empty or cost not in w or OUT.qalys_gained not in w:
        return math.nan, math.nan, math.nan, 0
    return _summarise(NMB_THRESHOLDS[0] * w[OUT.qalys_gained] - w[cost])


def perspective_rows(d: RunData, sc: str) -> list[dict[str, object]]:
    """The reference case and the other perspectives, with numbers (for the table and the sheet)."""
    q, _, _, _ = stat(d, sc, OUT.qalys_gained)
    out = []
    for key, cost, per_qaly, nmb in PERSPECTIVES:
        c = stat(d, sc, cost)
        if c[3] == 0:
            continue
        r = stat(d, sc, per_qaly)
        v = stat(d, sc, nmb) if nmb else _draw_nmb(d, sc, cost)
        out.append({"perspective": say("bc_perspective", key=key), "counts": say("bc_perspective_counts", key=key),
                    "cost": c, "icer": r,
                    "icer_point": float(icer(c[0], q)) if math.isfinite(c[0]) and math.isfinite(q) else math.nan,
                    "nmb": v, "outcomes": (cost, per_qaly, nmb or "")})
    return out


def perspective_table(d: RunData, sc: str) -> Table | None:
    from .render import Table

    q, ql, qh, _ = stat(d, sc, OUT.qalys_gained)
    rows = [[r["perspective"], r["counts"], fmt_money_interval(*r["cost"][:3]),
             _icer_cell(r["cost"][0], q, r["icer"][1], r["icer"][2], ql, qh), fmt_money_interval(*r["nmb"][:3])]
            for r in perspective_rows(d, sc)]
    if len(rows) < 2:
        return None
    return Table(["Perspective", "Counts", "Incremental cost", "Cost per QALY", "NMB at £20,000"], rows,
                 numeric_from=2, caption=say("bc_perspective_caption"))


def budget_block_table(d: RunData, sc: str) -> Table | None:
    from .render import Table

    t = budget_table(d, sc)
    if t.empty:
        return None
    cols = [*BUDGET, CUMULATIVE]
    rows = [[str(r["year"])] + [fmt_money_interval(r[f"{o}_mean"], r[f"{o}_lower"], r[f"{o}_upper"])
                                for o in cols] for _, r in t.iterrows()]
    return Table([say("bc_budget_heading")] + [say("bc_budget_column", outcome=o) for o in cols], rows, css="budget",
                 caption=say("bc_budget_caption"))


def _assumption_blocks(d: RunData, sc: str, byk: dict[str, Figure]) -> list[Block]:
    from .render import Block, Table

    t = tornado(d, sc)
    if t is None:
        return [Block("p", say("bc_no_tornado", scenario=scenario_label(sc), folder=d.out_dir / "sensitivity" / sc))]
    b: list[Block] = []
    if f"tornado:{sc}" in byk:
        b.append(Block("figure", figure=byk[f"tornado:{sc}"]))
    rows, cls = [], []
    for _, r in t.head(TOP_ASSUMPTIONS).iterrows():
        rows.append([str(r["label"]), str(r["parameter"]),
                     f"{fmt_money(r['at_low'])} to {fmt_money(r['at_high'])}", fmt_money(r["swing"]),
                     str(r["source"]) or "–", str(r["confidence"]) or "–"])
        cls.append("assume" if r["confidence"] in ("M", "A") else "")
    b.append(Block("table", table=Table(
        say("bc_assumption_columns").split("|"), rows, cls, numeric_from=99, css="params",
        caption=say("bc_assumptions_caption", n=len(rows), confidence=CONFIDENCE))))
    return b


# --------------------------------------------------------------------------------------------- XLSX
def add_sheets(wb: Workbook, d: RunData) -> None:
    """'business case', 'budget impact', 'ceac' and (when present) 'tornado' sheets in results.xlsx."""
    from .excel import _write_frame

    scs = economics_scenarios(d)
    if not scs:
        return
    src = interval_source(d) + ("" if is_psa(d) else " " + not_psa_warning(d))
    rows = []
    for sc in scs:
        total = n_draws(d, sc)
        for m in value_measures():
            mean, lo, hi, n = stat(d, sc, m.outcome)
            if d.one(sc, m.outcome) is None:
                continue
            rows.append({"scenario": scenario_label(sc), "table": "value for money", "measure": m.label.strip(),
                         "mean": mean, "lower 95%": lo, "upper 95%": hi, "draws with a value": n,
                         "draws": total, "outcome": m.outcome})
        for r in perspective_rows(d, sc):
            for what, key, o in (("incremental cost", "cost", 0), ("cost per QALY", "icer", 1),
                                 ("NMB at £20,000", "nmb", 2)):
                m_, lo, hi, n = r[key]
                rows.append({"scenario": scenario_label(sc), "table": "perspectives",
                             "measure": f"{r['perspective']} ({r['counts']}): {what}", "mean": m_, "lower 95%": lo,
                             "upper 95%": hi, "draws with a value": n, "draws": total,
                             "outcome": r["outcomes"][o] or "20000 x qalys_gained - " + r["outcomes"][0]})
    _write_frame(wb.create_sheet("business case"), pd.DataFrame(rows),
                 note=say("bc_sheet_note", whole=d.whole, source=src))

    frames = []
    for sc in scs:
        t = budget_table(d, sc)
        if not t.empty:
            frames.append(t.rename(columns=_budget_names()).assign(scenario=scenario_label(sc)))
    if frames:
        f = pd.concat(frames, ignore_index=True)
        f = f[["scenario"] + [c for c in f.columns if c != "scenario"]]
        _write_frame(wb.create_sheet("budget impact"), f,
                     note=say("bc_budget_sheet_note"))

    c = ceac_table(d)
    if not c.empty:
        c = c.rename(columns={"threshold": "threshold (£ per QALY)"} | {sc: scenario_label(sc) for sc in scs})
        _write_frame(wb.create_sheet("ceac"), c,
                     note=say("bc_ceac_sheet_note", source=src))

    tor = [t.assign(scenario=scenario_label(sc)) for sc in scs if (t := tornado_all(d, sc)) is not None]
    if tor:
        f = pd.concat(tor, ignore_index=True)
        f = f[["scenario"] + [x for x in f.columns if x != "scenario"]]
        _write_frame(wb.create_sheet("tornado"), f,
                     note=say("bc_tornado_sheet_note"),
                     highlight=f["confidence"].isin(["M", "A"]))


def tornado_all(d: RunData, sc: str) -> pd.DataFrame | None:
    """Every outcome of the scenario's tornado.csv, with sources and confidence marks."""
    p = tornado_path(d, sc)
    if not p.exists() or tornado(d, sc) is None:
        return None
    t = pd.read_csv(p)
    meta = {str(x["parameter"]): x for x in d.parameters}
    t["source"] = [str(meta.get(str(x), {}).get("source", "")) for x in t["parameter"]]
    t["confidence"] = [str(meta.get(str(x), {}).get("confidence", "")) for x in t["parameter"]]
    return t


def _budget_names() -> dict[str, str]:
    names = {"year": "financial year"}
    for o in [*BUDGET, CUMULATIVE]:
        words = say("bc_budget_column", outcome=o)
        for s, sw in (("mean", "mean"), ("lower", "lower 95%"), ("upper", "upper 95%")):
            names[f"{o}_{s}"] = f"{words} (£, {sw})"
    return names


__all__ = ["add_sheets", "blocks", "ceac_table", "draws", "is_psa", "tornado"]
