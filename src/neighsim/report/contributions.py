"""What each part of a package contributes: the waterfall figure, the table and the results.xlsx sheet.

Read from the package's `contribution_*` rows of summary.csv (analysis/contributions.py makes them):
measures `sequential:<name>` (added in the stated order), `shapley:<name>`, `interaction` and `total`,
each a mean and 95% interval across replicates. The order is the manifest's (`contributions`), else
the rows' own. Shown as 'avoided' (baseline minus scenario) for admissions, deaths, bed days and
admission costs, so that bars above zero are good news, as in the rest of the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..analysis.contributions import PREFIX
from ..outcomes import OUT
from ..wording import say
from .data import RunData
from .figures import PALETTE, Figure, _footer, _tick
from .labels import fmt, fmt_interval, scenario_label, slug, wrap

if TYPE_CHECKING:
    from openpyxl import Workbook

    from .render import Block

# outcome, sign (-1: shown as avoided = baseline minus scenario), money; how each reads is the template's
# contrib_outcome
SHOWN: list[tuple[str, int, bool]] = [
    (OUT.emergency_admissions, -1, False),
    (OUT.deaths, -1, False),
    (OUT.bed_days, -1, False),
    (OUT.admissions_falls, -1, False),
    (OUT.hip_fractures, -1, False),
    (OUT.qalys, 1, False),
    (OUT.cost_admissions, -1, True),
    (OUT.cost_intervention, 1, True),
]
FIGURE_OUTCOMES = (OUT.emergency_admissions, OUT.deaths)
TABLE_OUTCOMES = (OUT.emergency_admissions, OUT.deaths, OUT.bed_days, OUT.cost_intervention)
SHEET = "contributions"


def packages(d: RunData) -> list[str]:
    """Scenarios with contribution rows, in the report's scenario order."""
    named = list((d.manifest.get("contributions") or {}).keys())
    cands = [s for s in d.scenarios if s in named] + [s for s in d.scenarios if s not in named]
    return [s for s in cands if d.has_outcome(PREFIX + OUT.emergency_admissions, s)
            or any(d.has_outcome(PREFIX + o, s) for o, *_ in SHOWN)]


def order_of(d: RunData, pkg: str) -> list[str]:
    """The waterfall's order: the manifest's, else the order of the rows' sequential measures."""
    plan = (d.manifest.get("contributions") or {}).get(pkg) or {}
    if plan.get("order"):
        return [str(x) for x in plan["order"]]
    outcome = next((PREFIX + o for o, *_ in SHOWN if d.has_outcome(PREFIX + o, pkg)), None)
    r = d.rows(scenario=pkg, outcome=outcome) if outcome else d.summary.iloc[0:0]
    seq = [m.split(":", 1)[1] for m in r["measure"] if m.startswith("sequential:")]
    return list(dict.fromkeys(seq))


def _spec(outcome: str) -> tuple[str, int, bool]:
    for o, sign, money in SHOWN:
        if o == outcome:
            return say("contrib_outcome", outcome=o), sign, money
    return outcome.replace("_", " ").capitalize(), 1, False


def _summary_parts() -> tuple[tuple[str, str], ...]:
    """(kind, how it reads in the 'part' column) of the package total and the interaction."""
    return ("total", say("contrib_total")), ("interaction", say("contrib_interaction"))


def parts(d: RunData, pkg: str, outcome: str, level: str | None = None, area: str | None = None,
          period: str | None = None) -> pd.DataFrame:
    """One cell's contributions, signed for reading: rows (kind, part, mean, lower, upper, n), kinds
    sequential and shapley per intervention in the order, then interaction and total."""
    _, sign, _ = _spec(outcome)
    if level is None:
        level, area = d.focus_level, d.area
    r = d.rows(scenario=pkg, outcome=PREFIX + outcome, period=period or d.whole, level=level,
               area=area or (d.ics_area if level == "ics" else None), stratum="all")
    if r.empty:
        return pd.DataFrame(columns=["kind", "part", "mean", "lower", "upper", "n"])
    by = r.drop_duplicates("measure").set_index("measure")
    rows = []
    wanted = [(f"sequential:{n}", "sequential", n) for n in order_of(d, pkg)]
    wanted += [(f"shapley:{n}", "shapley", n) for n in order_of(d, pkg)]
    wanted += [(kind, kind, part) for kind, part in reversed(_summary_parts())]
    for measure, kind, part in wanted:
        if measure not in by.index:
            continue
        x = by.loc[measure]
        lo, hi = (x["lower"], x["upper"]) if sign > 0 else (-x["upper"], -x["lower"])
        rows.append({"kind": kind, "part": part, "mean": sign * x["mean"], "lower": lo, "upper": hi, "n": x["n"]})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------- figure
def _panel(ax: Any, t: pd.DataFrame, names: list[str], words: str, money: bool) -> None:
    """A waterfall of the sequential contributions with the Shapley waterfall beside it, then the
    package total and, set apart, the interaction; whiskers are 95% intervals."""
    k, w = len(names), 0.38
    colours = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    for j, kind in enumerate(("sequential", "shapley")):
        s = t[t["kind"] == kind].set_index("part")
        cum = 0.0
        for i, n in enumerate(names):
            if n not in s.index:
                continue
            m, lo, hi = s.loc[n, ["mean", "lower", "upper"]].astype(float)
            x = i + (j - 0.5) * w
            ax.bar(x, m, bottom=cum, width=w, color=colours[n], alpha=1.0 if j == 0 else 0.55,
                   hatch="" if j == 0 else "//", edgecolor="white" if j == 0 else colours[n], lw=0.8)
            ax.errorbar(x, cum + m, yerr=[[max(m - lo, 0)], [max(hi - m, 0)]], color="#333333", capsize=3, lw=1.2)
            ax.annotate(fmt(m, money), (x, cum + (max(hi, m) if m >= 0 else min(lo, m))),
                        xytext=(0, 3 if m >= 0 else -3), textcoords="offset points", ha="center",
                        va="bottom" if m >= 0 else "top", fontsize=9, color="#222222")
            cum += m
    for i, (kind, colour, hatch) in enumerate((("total", "#3b3b3b", ""), ("interaction", "#bdbdbd", "xx"))):
        r = t[t["kind"] == kind]
        if r.empty:
            continue
        m, lo, hi = r.iloc[0][["mean", "lower", "upper"]].astype(float)
        x = k + i + (0.35 if kind == "interaction" else 0)
        ax.bar(x, m, width=2 * w, color=colour, hatch=hatch, edgecolor="white" if not hatch else "#777777")
        ax.errorbar(x, m, yerr=[[max(m - lo, 0)], [max(hi - m, 0)]], color="#333333", capsize=4, lw=1.4)
        ax.annotate(fmt(m, money), (x, max(hi, m) if m >= 0 else min(lo, m)), xytext=(0, 3 if m >= 0 else -3),
                    textcoords="offset points", ha="center", va="bottom" if m >= 0 else "top", fontsize=10,
                    fontweight="bold")
    ax.axvline(k + 0.67, color="#888888", lw=0.8, ls="--")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(list(range(k)) + [k, k + 1.35],
                  [wrap(scenario_label(n), 14) for n in names] + ["Package\ntotal", "Interaction\n(not added)"],
                  fontsize=11)
    ax.yaxis.set_major_formatter(_tick(money))
    ax.grid(axis="x", visible=False)
    ax.set_title(words, fontsize=15)


def waterfall(d: RunData, out: Path, pkg: str) -> Figure | None:
    names = order_of(d, pkg)
    panels = [(o, parts(d, pkg, o)) for o in FIGURE_OUTCOMES]
    panels = [(o, t) for o, t in panels if not t.empty]
    if not names or not panels:
        return None
    width = min(20.0, (1.1 * (len(names) + 2) + 1.5) * len(panels))
    fig, axes = plt.subplots(1, len(panels), figsize=(max(width, 11.0), 7), squeeze=False)
    for ax, (o, t) in zip(axes[0], panels, strict=True):
        words, _, money = _spec(o)
        _panel(ax, t, names, f"{words}, {d.whole}", money)
    handles = [plt.Rectangle((0, 0), 1, 1, color=PALETTE[0]),
               plt.Rectangle((0, 0), 1, 1, facecolor=PALETTE[0], alpha=0.55, hatch="//", edgecolor=PALETTE[0])]
    fig.legend(handles, [say("contrib_legend", kind=kind) for kind in ("sequential", "shapley")],
               loc="upper right", frameon=False, fontsize=11, ncol=2)
    title = say("contrib_title", package=scenario_label(pkg))
    fig.suptitle(title, fontsize=18, fontweight="bold", x=0.01, ha="left")
    _footer(fig, d, counts=True)
    path = out / f"contributions_{slug(pkg)}.png"
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(path, dpi=150)
    plt.close(fig)
    caption = say("contrib_figure_caption", coverage=d.coverage, whole=d.whole,
                  order=[scenario_label(n) for n in names])
    return Figure(f"contributions_{slug(pkg)}", path, title, caption, "scenario")


def figures(d: RunData, out: Path) -> list[Figure]:
    """One waterfall per package with contribution rows."""
    figs = [waterfall(d, out, p) for p in packages(d)]
    return [f for f in figs if f is not None]


# ---------------------------------------------------------------------------------- report blocks
def blocks(d: RunData, byk: dict[str, Figure]) -> list[Block]:
    """The report's section for packages with contributions (nothing when there are none)."""
    from .render import Block, Table

    pk = packages(d)
    if not pk:
        return []
    b = [Block("h3", say("contrib_heading")), Block("p", say("contrib_explain"))]
    for pkg in pk:
        names = order_of(d, pkg)
        f = byk.get(f"contributions_{slug(pkg)}")
        if f is not None:
            b.append(Block("figure", figure=f))
        rows, cls = [], []
        for o in TABLE_OUTCOMES:
            t = parts(d, pkg, o)
            if t.empty:
                continue
            words, _, money = _spec(o)
            cell = {(r.kind, r.part): fmt_interval(r.mean, r.lower, r.upper, money) for r in t.itertuples()}
            for n in names:
                rows.append([words, scenario_label(n), cell.get(("sequential", n), "–"), cell.get(("shapley", n), "–")])
                cls.append("")
            for kind, part in _summary_parts():
                v = cell.get((kind, part), "–")
                rows.append([words, part, v, v])
                cls.append("")
        if rows:
            b.append(Block("table", table=Table(
                ["Outcome", "Part", say("contrib_column", kind="sequential"), say("contrib_column", kind="shapley")],
                rows, cls, numeric_from=2,
                caption=say("contrib_table_caption", package=scenario_label(pkg), coverage=d.coverage, whole=d.whole,
                            order=[scenario_label(n) for n in names]))))
        places = _place_table(d, pkg, names)
        if places is not None:
            b.append(Block("table", table=places))
    return b


def _place_table(d: RunData, pkg: str, names: list[str]) -> Any:
    """Shapley values of emergency admissions avoided by place, when the run covers more than one."""
    from .render import Table

    r = d.rows(scenario=pkg, outcome=PREFIX + OUT.emergency_admissions, period=d.whole, level="place",
               stratum="all")
    areas = list(dict.fromkeys(r["area"]))
    if len(areas) < 2:
        return None
    rows = []
    summary = dict(_summary_parts())
    for area in areas:
        cell = {(x.kind, x.part): fmt_interval(x.mean, x.lower, x.upper)
                for x in parts(d, pkg, OUT.emergency_admissions, "place", area).itertuples()}
        rows.append([area] + [cell.get(("shapley", n), "–") for n in names]
                    + [cell.get((kind, summary[kind]), "–") for kind in ("interaction", "total")])
    return Table(["Place"] + [f"{scenario_label(n)} (Shapley)" for n in names] + ["Interaction", summary["total"]],
                 rows, numeric_from=1,
                 caption=say("contrib_place_caption", whole=d.whole, package=scenario_label(pkg)))


# ------------------------------------------------------------------------------------------ results.xlsx
def sheet_frame(d: RunData) -> pd.DataFrame:
    """Every contribution row of summary.csv, with readable names (signs as in summary.csv)."""
    frames = []
    for pkg in packages(d):
        for o, *_ in SHOWN:
            r = d.rows(scenario=pkg, outcome=PREFIX + o)
            if not r.empty:
                frames.append(r)
    if not frames:
        return pd.DataFrame()
    s = pd.concat(frames, ignore_index=True)
    kind = s["measure"].str.split(":").str[0]
    part = np.where(s["measure"].str.contains(":"), s["measure"].str.split(":", n=1).str[-1], "")
    return pd.DataFrame({"package": s["scenario"], "outcome": s["outcome"].str.removeprefix(PREFIX).map(d.label),
                         "period": s["period"], "level": s["level"], "area": s["area"], "measure": kind,
                         "intervention": part, "mean": s["mean"], "lower": s["lower"], "upper": s["upper"],
                         "replicates (n)": s["n"], "summary outcome": s["outcome"], "summary measure": s["measure"]})


def add_sheet(wb: Workbook, d: RunData) -> None:
    """A 'contributions' sheet when the run has any (a run without packages gets none)."""
    from .excel import _write_frame

    df = sheet_frame(d)
    if df.empty:
        return
    orders = [(scenario_label(p), order_of(d, p)) for p in packages(d)]
    _write_frame(wb.create_sheet(SHEET), df, note=say("contrib_sheet_note", orders=orders))
