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
from .data import RunData
from .figures import PALETTE, Figure, _footer, _tick
from .labels import fmt, fmt_interval, scenario_label, slug, wrap

if TYPE_CHECKING:
    from openpyxl import Workbook

    from .render import Block

# outcome, how it reads, sign (-1: shown as avoided = baseline minus scenario), money
SHOWN: list[tuple[str, str, int, bool]] = [
    (OUT.emergency_admissions, "Emergency admissions avoided", -1, False),
    (OUT.deaths, "Deaths averted", -1, False),
    (OUT.bed_days, "Bed days avoided", -1, False),
    (OUT.admissions_falls, "Falls admissions avoided", -1, False),
    (OUT.hip_fractures, "Hip fractures avoided", -1, False),
    (OUT.qalys, "QALYs gained (undiscounted)", 1, False),
    (OUT.cost_admissions, "Admission costs avoided (£, undiscounted)", -1, True),
    (OUT.cost_intervention, "Intervention cost (£)", 1, True),
]
FIGURE_OUTCOMES = (OUT.emergency_admissions, OUT.deaths)
TABLE_OUTCOMES = (OUT.emergency_admissions, OUT.deaths, OUT.bed_days, OUT.cost_intervention)
SHEET = "contributions"
INTERACTION = "Interaction (package minus the parts alone)"
EXPLAIN = (
    "The package's effect is split two ways, each from the same paired runs (every part-package shares the "
    "baseline's random numbers). Added in order: the interventions are switched on one at a time in the order "
    "shown, and each figure is what that one adds to those before it, so it depends on the order. Shapley "
    "value: what an intervention adds averaged over every order the package could be built in, a fair share "
    "that does not depend on any order. Both add up to the package total in every replicate. The interaction "
    "is the package's effect minus the sum of each intervention's effect alone: below zero, the parts overlap "
    "(they partly prevent the same admissions); above zero, they reinforce each other. The sequential figures "
    "put all of an interaction on the later intervention; the Shapley values share it out evenly.")


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
    for o, words, sign, money in SHOWN:
        if o == outcome:
            return words, sign, money
    return outcome.replace("_", " ").capitalize(), 1, False


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
    wanted += [("interaction", "interaction", INTERACTION), ("total", "total", "Package total")]
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
    fig.legend(handles, ["Added in the order shown (left bar)", "Shapley value, any order (right bar)"],
               loc="upper right", frameon=False, fontsize=11, ncol=2)
    title = f"What each part of {scenario_label(pkg)} contributes"
    fig.suptitle(title, fontsize=18, fontweight="bold", x=0.01, ha="left")
    _footer(fig, d, counts=True)
    path = out / f"contributions_{slug(pkg)}.png"
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(path, dpi=150)
    plt.close(fig)
    order = ", then ".join(scenario_label(n) for n in names)
    return Figure(f"contributions_{slug(pkg)}", path, title,
                  f"{d.coverage}, {d.whole}. Solid bars: each intervention's addition when they are switched on in "
                  f"this order: {order}. Hatched bars beside them: Shapley values (the addition averaged over "
                  "every order). Both stack up to the package total (dark bar). The grey bar, set apart, is the "
                  "interaction: the package minus the sum of the parts alone (below zero: they overlap). "
                  "Whiskers: 95% intervals across replicates.", "scenario")


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
    b = [Block("h3", "What each part of a package contributes"), Block("p", EXPLAIN)]
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
            for kind, part in (("total", "Package total"), ("interaction", INTERACTION)):
                v = cell.get((kind, part), "–")
                rows.append([words, part, v, v])
                cls.append("")
        if rows:
            b.append(Block("table", table=Table(
                ["Outcome", "Part", "Added in this order (95% interval)", "Shapley value (95% interval)"], rows, cls,
                numeric_from=2, caption=f"{scenario_label(pkg)}, {d.coverage}, {d.whole}; order: "
                                        f"{', '.join(scenario_label(n) for n in names)}. The interaction does not "
                                        "depend on the order and is not added to the total. Every outcome, year, "
                                        "place, locality and neighbourhood is in results.xlsx (contributions).")))
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
    for area in areas:
        cell = {(x.kind, x.part): fmt_interval(x.mean, x.lower, x.upper)
                for x in parts(d, pkg, OUT.emergency_admissions, "place", area).itertuples()}
        rows.append([area] + [cell.get(("shapley", n), "–") for n in names]
                    + [cell.get(("interaction", INTERACTION), "–"), cell.get(("total", "Package total"), "–")])
    return Table(["Place"] + [f"{scenario_label(n)} (Shapley)" for n in names] + ["Interaction", "Package total"],
                 rows, numeric_from=1, caption=f"Emergency admissions avoided by place, {d.whole}, {scenario_label(pkg)}: "
                                               "Shapley values with 95% intervals.")


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
    orders = "; ".join(f"{scenario_label(p)}: {', '.join(order_of(d, p))}" for p in packages(d))
    _write_frame(wb.create_sheet(SHEET), df, note=(
        "Contributions to the package's effect (scenario minus baseline, paired by replicate; negative = fewer). "
        "measure: sequential (added in the order: " + orders + "), shapley (averaged over every order), "
        "interaction (package minus the sum of the parts alone; not added), total (the package). Sequential "
        "and Shapley contributions each add up to the total."))
