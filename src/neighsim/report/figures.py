"""Figures a manager can paste into a slide: one message each, large type, titled and labelled.

Each function reads the run through RunData, writes one PNG and returns a Figure record, or returns
None when the folder lacks what the figure needs (so a baseline-only run simply has fewer figures).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402

from ..analysis.summary import joint_stratum
from ..outcomes import OUT
from ..wording import say  # noqa: E402
from .data import RunData  # noqa: E402
from .labels import (  # noqa: E402
    CAUSE_OUTCOMES,
    PER_1000_TO_FIGURE,
    RATE_UNIT,
    cause_label,
    fmt,
    fmt_interval,
    outcome_label,
    rate_label,
    scenario_label,
    short_area,
    target_label,
    wrap,
)
from .tables import by_area  # noqa: E402

BASE_COLOUR = "#3b3b3b"
PALETTE = ["#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]
CAUSE_COLOURS = {OUT.admissions_respiratory: "#4e79a7", OUT.admissions_cardiovascular: "#e15759",
                 OUT.admissions_falls: "#f28e2b", OUT.admissions_other: "#bab0ac"}
CORE20_COLOUR, REST_COLOUR = "#c2410c", "#6b7280"
DPI = 150
# The report shows a figure about REPORT_WIDTH_PX wide: a figure WIDTH inches wide keeps 10 pt type at 10 pt.
REPORT_WIDTH_PX = 1100
WIDTH = 11.0
MAX_ROWS = 26  # neighbourhoods in one panel; more are split place by place
SCENARIO_COLUMNS = 5  # scenarios side by side in the neighbourhood chart; more start a new panel row
NAME_FONT = 11
NAME_WIDTH, NAME_WIDTH_NARROW = 42, 32  # characters on a line of a neighbourhood's name, wrapped on words
ROW_LINE, ROW_PAD, BAR = 0.19, 0.16, 0.3  # inches: a line of a name, the space between rows, a bar
STYLE = {
    "font.size": 13, "axes.titlesize": 17, "axes.titleweight": "bold", "axes.labelsize": 14,
    "xtick.labelsize": 12, "ytick.labelsize": 12, "legend.fontsize": 12, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.color": "#e6e6e6", "grid.linewidth": 0.8,
    "axes.axisbelow": True, "figure.facecolor": "white", "savefig.facecolor": "white",
}


@dataclass(frozen=True)
class Figure:
    key: str
    path: Path
    title: str
    caption: str
    section: str


def colour(d: RunData, scenario: str) -> str:
    if scenario == d.comparator:
        return BASE_COLOUR
    return PALETTE[d.scenarios.index(scenario) % len(PALETTE)]


def min_font(width_in: float) -> float:
    """The smallest type (points) that still reads as 10 pt when a figure `width_in` inches wide is shown
    REPORT_WIDTH_PX wide at 96 pixels per inch."""
    return 10.0 * 96 * width_in / REPORT_WIDTH_PX


def _footer(fig: MplFigure, d: RunData, counts: bool, intervals: bool = True, y: float = 0.005) -> None:
    """A small line under the plot so a pasted figure still says what it covers."""
    sampled = counts and d.scale is not None and d.scale < 1
    words = say("fig_footer", coverage=d.coverage, sample=f"{d.scale:.0%}" if sampled else None,
                scaled=d.scale_up, replicates=d.replicates, psa=bool(d.manifest.get("psa")), intervals=intervals)
    size = max(10.0, round(min_font(fig.get_figwidth()), 1))
    text = wrap(words, int(72 * 0.96 * fig.get_figwidth() / (0.58 * size)))
    fig.footer = fig.text(0.01, y, text, fontsize=size, color="#666666", ha="left", va="bottom")  # type: ignore[attr-defined]
    fig.footer_inches = (text.count("\n") + 1) * size * 1.3 / 72 + 0.06  # type: ignore[attr-defined]


def _foot(fig: MplFigure) -> float:
    """The share of the figure's height its footer takes (a small margin without one)."""
    return getattr(fig, "footer_inches", 0.15) / fig.get_figheight()


def _save(fig: MplFigure, path: Path) -> None:
    fig.tight_layout(rect=(0, _foot(fig), 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _tick(money: bool = False) -> matplotlib.ticker.FuncFormatter:
    """Axis ticks with thousands separators and no spurious decimals (0 not 0.000)."""
    def f(v: float, _pos: int) -> str:
        s = f"{abs(v):,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{abs(v):,.3g}"
        return ("−" if v < 0 else "") + ("£" if money else "") + s
    return matplotlib.ticker.FuncFormatter(f)


def _label_points(ax: matplotlib.axes.Axes, xs: list[float], ys: list[float], labels: list[str]) -> None:
    """Label a few points without overlaps: text on the side facing the middle, nudged down when crowded
    (a label of several lines takes room for each)."""
    ax.autoscale_view()
    to_axes = ax.transData + ax.transAxes.inverted()
    used: list[tuple[float, float]] = []  # (centre, half height) in axes fraction
    line = 0.045 * 6 / max(ax.get_figure().get_figheight() * ax.get_position().height, 1.0)
    pts = sorted(zip(xs, ys, labels, strict=True), key=lambda t: -t[1])
    for x, y, lab in pts:
        fx, fy = to_axes.transform((x, y))
        half = line * (lab.count("\n") + 1) / 2
        ty = min(fy, 0.98 - half)
        while any(abs(ty - u) < half + h + 0.01 for u, h in used):
            ty -= line / 2
        used.append((ty, half))
        right = fx > 0.6
        tx = fx - 0.025 if right else fx + 0.025
        ax.annotate(lab, (x, y), xytext=(tx, ty), textcoords="axes fraction", ha="right" if right else "left",
                    va="center", fontsize=10.5, color="#222222", linespacing=1.05, zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
                    arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.7, "shrinkA": 0, "shrinkB": 6})


def _err(lower: pd.Series, mean: pd.Series, upper: pd.Series) -> np.ndarray | None:
    """Asymmetric error bars, clipped at zero length where an interval does not contain its mean; None
    (no whiskers) when every interval is a single value, as for a constant."""
    e = np.vstack([np.clip(np.asarray(mean, float) - np.asarray(lower, float), 0, None),
                   np.clip(np.asarray(upper, float) - np.asarray(mean, float), 0, None)])
    e = np.nan_to_num(e)
    return e if e.any() else None


def _series(d: RunData, scenario: str, outcome: str, measure: str = "value", stratum: str | None = "all"
            ) -> pd.DataFrame:
    """Rows of the report's area."""
    return d.here(scenario=scenario, outcome=outcome, measure=measure, stratum=stratum)


def _per_figure(r: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """A per-1,000 rate's mean and interval as figures show them: per 100,000 person-years."""
    r = r.copy()
    for c in ("mean", "lower", "upper"):
        if c in r:
            r[c] = r[c] * PER_1000_TO_FIGURE
    return r


# -------------------------------------------------------------------------- neighbourhoods, row by row
def _panels_of_rows(t: pd.DataFrame, key: str) -> list[pd.DataFrame]:
    """The neighbourhoods in panels of at most MAX_ROWS rows: all in one when they fit, otherwise place
    by place (places packed together while they fit, a larger place split), each sorted by `key`."""
    if len(t) <= MAX_ROWS:
        return [t.sort_values(key)]
    place = t["area"].str.split(": ").str[0]
    panels: list[pd.DataFrame] = []
    cur: list[pd.DataFrame] = []
    for _, g in t.groupby(place, sort=True):
        g = g.sort_values(key, ascending=False)
        for i in range(0, len(g), MAX_ROWS):
            piece = g.iloc[i:i + MAX_ROWS]
            if cur and sum(map(len, cur)) + len(piece) > MAX_ROWS:
                panels.append(pd.concat(cur))
                cur = []
            cur.append(piece)
    if cur:
        panels.append(pd.concat(cur))
    return [p.sort_values(key) for p in panels]


def _rows(names: pd.Series, width: int = NAME_WIDTH) -> tuple[list[str], np.ndarray, float]:
    """Each name whole, wrapped on words; the y of each row (inches from the panel's foot) and the panel's
    height: a row is as tall as its name."""
    labels = [wrap(str(a), width) for a in names]
    h = np.array([ROW_LINE * (lab.count("\n") + 1) + ROW_PAD for lab in labels])
    return labels, np.cumsum(h) - h / 2, float(h.sum()) + ROW_PAD


def _row_figure(heights: list[float], ncols: int, width: float, head: float = 1.1, extra: float = 1.2
                ) -> tuple[MplFigure, list[list[matplotlib.axes.Axes]]]:
    """A figure of panel rows as tall as their rows (inches), `ncols` panels sharing each row's names, laid
    out by matplotlib (constrained) above a strip for the footer."""
    height = sum(heights) + head * len(heights) + extra
    fig = plt.figure(figsize=(width, height), layout="constrained")
    gs = fig.add_gridspec(len(heights), ncols, height_ratios=heights)
    axes: list[list[matplotlib.axes.Axes]] = []
    for i in range(len(heights)):
        first = fig.add_subplot(gs[i, 0])
        axes.append([first] + [fig.add_subplot(gs[i, j], sharey=first) for j in range(1, ncols)])
    return fig, axes


def _save_as_laid_out(fig: MplFigure, path: Path) -> None:
    """Save a constrained-layout figure with its footer moved below everything the layout placed."""
    footer = getattr(fig, "footer", None)
    if footer is not None:
        footer.set_y(-0.12 / fig.get_figheight())
        footer.set_va("top")
    fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.12)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- figures
def annual_admissions(d: RunData, out: Path) -> Figure | None:
    """Annual emergency admissions by scenario with interval bands; with scenarios, a second panel
    shows the admissions avoided each year, which the first panel's scale can hide."""
    with_diff = bool(d.scenarios)
    fig, axes = plt.subplots(1, 2 if with_diff else 1, figsize=(WIDTH + 1 if with_diff else WIDTH, 6.5), squeeze=False)
    ax = axes[0][0]
    drawn = False
    for sc in [d.comparator] + d.scenarios:
        r = _series(d, sc, OUT.emergency_admissions)
        r = r[r["period"].isin(d.years)].set_index("period").reindex(d.years).dropna(subset=["mean"])
        if r.empty:
            continue
        x = [d.years.index(p) for p in r.index]
        c = colour(d, sc)
        ax.plot(x, r["mean"], marker="o", lw=2.5, color=c, label=scenario_label(sc))
        if sc == d.comparator or not with_diff:  # scenario bands would hide each other; see the right panel
            ax.fill_between(x, r["lower"], r["upper"], color=c, alpha=0.15, lw=0)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xticks(range(len(d.years)), d.years)
    ax.set_xlabel(say("fig_axis_financial_year"))
    ax.set_ylabel(say("fig_axis_per_year", outcome=outcome_label(OUT.emergency_admissions)))
    ax.yaxis.set_major_formatter(_tick())
    ax.legend(frameon=False, loc="best", fontsize=11)
    title = say("fig_annual_title", scenarios=with_diff)
    if with_diff:
        ax.set_title(say("fig_annual_left_heading"), fontsize=15)
        a2 = axes[0][1]
        for sc in d.scenarios:
            r = _series(d, sc, OUT.emergency_admissions, "difference")
            r = r[r["period"].isin(d.years)].set_index("period").reindex(d.years).dropna(subset=["mean"])
            if r.empty:
                continue
            x = [d.years.index(p) for p in r.index]
            c = colour(d, sc)
            a2.plot(x, -r["mean"], marker="o", lw=2.5, color=c, label=scenario_label(sc))
            a2.fill_between(x, -r["upper"], -r["lower"], color=c, alpha=0.18, lw=0)
        a2.axhline(0, color="black", lw=0.8)
        a2.set_xticks(range(len(d.years)), d.years)
        a2.set_xlabel(say("fig_axis_financial_year"))
        a2.set_ylabel(say("fig_annual_avoided_axis"))
        a2.yaxis.set_major_formatter(_tick())
        a2.set_title(say("fig_annual_avoided_heading", comparator=d.comparator), fontsize=15)
        fig.suptitle(title, fontsize=18, fontweight="bold")
    else:
        ax.set_title(title)
    _footer(fig, d, counts=True)
    path = out / "annual_admissions.png"
    _save(fig, path)
    cap = say("fig_annual_caption", scenarios=with_diff)
    return Figure("annual_admissions", path, title, cap, "headline")


def admissions_by_cause(d: RunData, out: Path) -> Figure | None:
    """Baseline admissions per year, stacked by cause."""
    causes = [c for c in CAUSE_OUTCOMES if d.has_outcome(c, d.comparator)]
    if not causes or not d.years:
        return None
    fig, ax = plt.subplots(figsize=(WIDTH, 6))
    bottom = np.zeros(len(d.years))
    for c in causes:
        r = _series(d, d.comparator, c).set_index("period").reindex(d.years)["mean"].fillna(0).to_numpy()
        ax.bar(d.years, r, bottom=bottom, color=CAUSE_COLOURS.get(c), label=cause_label(c), width=0.65)
        bottom += r
    ax.set_xlabel(say("fig_axis_financial_year"))
    ax.set_ylabel(say("fig_axis_per_year", outcome=outcome_label(OUT.emergency_admissions)))
    ax.yaxis.set_major_formatter(_tick())
    title = say("fig_cause_title", comparator=d.comparator_label)
    ax.set_title(title)
    ax.legend(frameon=False, ncol=len(causes), loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax.grid(axis="x", visible=False)
    _footer(fig, d, counts=True)
    path = out / "admissions_by_cause.png"
    _save(fig, path)
    return Figure("admissions_by_cause", path, title, say("fig_cause_caption"), "baseline")


def _deciles(d: RunData, scenario: str, outcome: str, measure: str) -> pd.DataFrame:
    r = _series(d, scenario, outcome, measure, stratum=None)
    r = r[r["stratum"].str.fullmatch(r"imd_decile=\d+")].copy()
    r["decile"] = r["stratum"].str.split("=").str[1].astype(int)
    return r[r["period"] == d.whole].sort_values("decile")


def rate_by_imd(d: RunData, out: Path) -> Figure | None:
    r = _deciles(d, d.comparator, OUT.emergency_admissions_per_1000, "value")
    if r.empty:
        return None
    r = _per_figure(r)
    fig, ax = plt.subplots(figsize=(WIDTH, 6))
    ax.bar(r["decile"], r["mean"], color=plt.cm.viridis(np.linspace(0.15, 0.85, 10))[r["decile"] - 1],
           yerr=_err(r["lower"], r["mean"], r["upper"]), capsize=4, ecolor="#333333")
    total = d.one(d.comparator, OUT.emergency_admissions_per_1000)
    if total is not None:
        m = total["mean"] * PER_1000_TO_FIGURE
        ax.axhline(m, color="#c51b7d", ls="--", lw=1.8, label=say("fig_all_residents", rate=fmt(m, digits=0)))
        ax.legend(frameon=False, loc="upper right")
    ax.set_xticks(range(1, 11))
    ax.set_xlabel(say("fig_axis_imd_decile"))
    ax.set_ylabel(wrap(rate_label(OUT.emergency_admissions_per_1000), 28))
    ax.yaxis.set_major_formatter(_tick())
    ax.set_title(say("fig_rate_by_imd_heading", comparator=d.comparator_label))
    ax.grid(axis="x", visible=False)
    _footer(fig, d, counts=False)
    path = out / "rate_by_imd.png"
    _save(fig, path)
    return Figure("rate_by_imd", path, say("fig_rate_by_imd_title", comparator=d.comparator_label),
                  say("fig_rate_by_imd_caption", rate_unit=RATE_UNIT, whole=d.whole), "baseline")


def neighbourhood_rates(d: RunData, out: Path) -> Figure | None:
    """Neighbourhoods ranked by their admission rate: one row each, the whole name on the left."""
    t = by_area(d, ("neighbourhood",))
    if t.empty or "baseline_rate_mean" not in t:
        return None
    t = t.dropna(subset=["baseline_rate_mean"])
    if t.empty:
        return None
    panels = _panels_of_rows(t, "baseline_rate_mean")
    rows = [_rows(p["area"]) for p in panels]
    fig, axes = _row_figure([r[2] for r in rows], 1, WIDTH)
    cmap = matplotlib.colors.LinearSegmentedColormap.from_list(
        "core20", plt.cm.YlOrRd(np.linspace(0.15, 0.95, 256)))
    total = d.one(d.comparator, OUT.emergency_admissions_per_1000)
    hi = float(np.nanmax(t["baseline_rate_upper"].fillna(t["baseline_rate_mean"]))) * PER_1000_TO_FIGURE
    for (ax,), p, (labels, y, h) in zip(axes, panels, rows, strict=True):
        share = p["share_core20"].fillna(0).to_numpy()
        m, lo, up = (p[f"baseline_rate_{c}"] * PER_1000_TO_FIGURE for c in ("mean", "lower", "upper"))
        ax.barh(y, m, height=BAR, color=cmap(share), xerr=_err(lo, m, up), capsize=3, ecolor="#333333")
        ax.set_yticks(y, labels, fontsize=NAME_FONT)
        ax.set_ylim(0, h)
        ax.set_xlim(0, hi * 1.04)
        if total is not None:
            ax.axvline(total["mean"] * PER_1000_TO_FIGURE, color="#1f3b73", ls="--", lw=1.8,
                       label=say("fig_all_residents", rate=fmt(total["mean"] * PER_1000_TO_FIGURE, digits=0)))
        ax.xaxis.set_major_formatter(_tick())
        ax.set_xlabel(f"{rate_label(OUT.emergency_admissions_per_1000)}, {d.whole}")
        ax.grid(axis="y", visible=False)
    if total is not None:
        axes[0][0].legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, 1.0 + 0.35 / rows[0][2]),
                          fontsize=11)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, 100))
    cb = fig.colorbar(sm, ax=[a[0] for a in axes], pad=0.02, fraction=0.03, aspect=40)
    cb.set_label(say("fig_axis_core20_share"))
    cb.set_ticks([0, 25, 50, 75, 100])
    title = say("fig_neighbourhood_rates_title", comparator=d.comparator_label)
    fig.suptitle(wrap(title, 60), fontsize=16, fontweight="bold")
    _footer(fig, d, counts=False)
    path = out / "neighbourhood_rates.png"
    _save_as_laid_out(fig, path)
    cap = say("fig_neighbourhood_rates_caption", comparator=d.comparator, rate_unit=RATE_UNIT,
              split=len(panels) > 1, max_rows=MAX_ROWS)
    return Figure("neighbourhood_rates", path, title, cap, "baseline")


def life_expectancy(d: RunData, out: Path) -> Figure | None:
    fig, ax = plt.subplots(figsize=(11, 6))
    drawn = False
    for sex, c, off in (("female", "#7b3294", 0.08), ("male", "#008837", -0.08)):
        xs, rows = [], []
        for q in range(1, 6):
            r = d.one(d.comparator, OUT.life_expectancy, stratum=joint_stratum(f"sex={sex}", f"imd_quintile={q}"))
            if r is not None:
                xs.append(q + off)
                rows.append(r)
        if not rows:
            continue
        f = pd.DataFrame(rows)
        ax.errorbar(xs, f["mean"], yerr=_err(f["lower"], f["mean"], f["upper"]), color=c, marker="o", ms=9,
                    lw=2.2, capsize=5, label=f"{sex.capitalize()}s")
        for x, m in zip(xs, f["mean"], strict=True):
            ax.annotate(fmt(m, digits=1), (x, m), textcoords="offset points", xytext=(12 if off > 0 else -12, 0),
                        ha="left" if off > 0 else "right", va="center", fontsize=11, color=c)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xticks(range(1, 6), ["1\nmost deprived", "2", "3", "4", "5\nleast deprived"])
    ax.set_xlim(0.5, 5.5)
    ax.set_xlabel(say("fig_axis_imd_quintile"))
    ax.set_ylabel(outcome_label(OUT.life_expectancy))
    ax.set_title(say("fig_life_expectancy_heading"))
    ax.legend(frameon=False, loc="upper left")
    _footer(fig, d, counts=False)
    path = out / "life_expectancy.png"
    _save(fig, path)
    return Figure(OUT.life_expectancy, path, say("fig_life_expectancy_title"),
                  say("fig_life_expectancy_caption", whole=d.whole), "baseline")


def target_baseline(d: RunData, out: Path) -> Figure | None:
    """Where to target: baseline admission rate against the share of residents in Core20 areas."""
    t = by_area(d, ("neighbourhood",))
    if t.empty or t["share_core20"].isna().all() or "baseline_rate_mean" not in t:
        return None
    t = t.dropna(subset=["baseline_rate_mean"])
    places = (t["area"].str.split(": ").str[0]).to_numpy()
    uniq = list(dict.fromkeys(sorted(places)))
    legend = len(uniq) <= 12
    fig, ax = plt.subplots(figsize=(WIDTH, 7.5 if legend else 7))
    size = 60 + 600 * t[OUT.person_years] / t[OUT.person_years].max()
    cols = {p: plt.cm.tab20(i % 20) for i, p in enumerate(uniq)}
    rate = t["baseline_rate_mean"] * PER_1000_TO_FIGURE
    ax.scatter(100 * t["share_core20"], rate, s=size, c=[cols[p] for p in places],
               alpha=0.8, edgecolor="white", lw=1)
    top = t.assign(_r=rate).nlargest(min(4, len(t)), "_r")
    _label_points(ax, list(100 * top["share_core20"]), list(top["_r"]), [short_area(a, 24) for a in top["area"]])
    total = d.one(d.comparator, OUT.emergency_admissions_per_1000)
    if total is not None:
        ax.axhline(total["mean"] * PER_1000_TO_FIGURE, color="#888888", ls="--", lw=1.2)
    if legend:
        for p in uniq:
            ax.scatter([], [], color=cols[p], s=80, label=p)
        ax.legend(frameon=False, fontsize=10.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3,
                  title="Place", title_fontsize=11)
    ax.set_xlabel(say("fig_target_baseline_axis"))
    ax.set_ylabel(wrap(rate_label(OUT.emergency_admissions_per_1000), 28))
    ax.yaxis.set_major_formatter(_tick())
    title = say("fig_target_baseline_title")
    ax.set_title(wrap(title, 56))
    _footer(fig, d, counts=False, intervals=False)
    path = out / "target_baseline.png"
    _save(fig, path)
    return Figure("target_baseline", path, title, say("fig_target_baseline_caption"), "baseline")


def avoided_by_neighbourhood(d: RunData, out: Path) -> Figure | None:
    """Admissions avoided in each neighbourhood: one row per neighbourhood, one narrow column per scenario
    (each on its own scale), at most SCENARIO_COLUMNS columns and MAX_ROWS rows to a panel."""
    if not d.scenarios:
        return None
    t = by_area(d, ("neighbourhood",))
    if t.empty:
        return None
    scs = [sc for sc in d.scenarios if f"{sc}_avoided_mean" in t and t[f"{sc}_avoided_mean"].notna().any()]
    if not scs:
        return None
    t = t.assign(_rank=t[[f"{sc}_avoided_mean" for sc in scs]].mean(axis=1))
    panels = _panels_of_rows(t, "_rank")
    blocks = [scs[i:i + SCENARIO_COLUMNS] for i in range(0, len(scs), SCENARIO_COLUMNS)]
    ncols = len(blocks[0])
    rows = [_rows(p["area"], NAME_WIDTH_NARROW) for p in panels]
    grid = [(p, r, b) for p, r in zip(panels, rows, strict=True) for b in blocks]
    fig, axes = _row_figure([g[1][2] for g in grid], ncols, WIDTH, head=1.5)
    lim = {}
    for sc in scs:
        lo, hi = t[f"{sc}_avoided_lower"].fillna(0), t[f"{sc}_avoided_upper"].fillna(0)
        m = t[f"{sc}_avoided_mean"].fillna(0)
        a, b = float(min(lo.min(), m.min(), 0)), float(max(hi.max(), m.max(), 0))
        pad = 0.06 * (b - a or 1.0)
        lim[sc] = (a - (pad if a < 0 else 0), b + pad)
    for row_axes, (p, (labels, y, h), block) in zip(axes, grid, strict=True):
        for j, ax in enumerate(row_axes):
            if j >= len(block):
                ax.set_visible(False)
                continue
            sc = block[j]
            m, lo, hi = (p[f"{sc}_avoided_{c}"].fillna(0) for c in ("mean", "lower", "upper"))
            ax.barh(y, m, height=BAR, color=colour(d, sc), xerr=_err(lo, m, hi), capsize=2,
                    error_kw={"lw": 0.9}, ecolor="#555555")
            ax.axvline(0, color="black", lw=0.8)
            ax.set_xlim(*lim[sc])
            ax.set_ylim(0, h)
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(3))
            ax.xaxis.set_major_formatter(_tick())
            ax.set_title(wrap(scenario_label(sc), 14), fontsize=12.5, fontweight="bold")
            ax.grid(axis="y", visible=False)
            if j:
                ax.tick_params(axis="y", left=False, labelleft=False)
        row_axes[0].set_yticks(y, labels, fontsize=NAME_FONT)
    fig.supxlabel(say("fig_avoided_by_neighbourhood_axis", whole=d.whole), fontsize=12.5)
    title = say("fig_avoided_by_neighbourhood_title")
    fig.suptitle(title, fontsize=16, fontweight="bold")
    _footer(fig, d, counts=True)
    path = out / "avoided_by_neighbourhood.png"
    _save_as_laid_out(fig, path)
    cap = say("fig_avoided_by_neighbourhood_caption", whole=d.whole, comparator=d.comparator)
    return Figure("avoided_by_neighbourhood", path, title, cap, "scenario")


def avoided_by_imd(d: RunData, out: Path) -> Figure | None:
    if not d.scenarios:
        return None
    frames = {sc: _deciles(d, sc, OUT.emergency_admissions_per_1000, "difference") for sc in d.scenarios}
    frames = {k: _per_figure(v) for k, v in frames.items() if not v.empty}
    if not frames:
        return None
    fig, ax = plt.subplots(figsize=(WIDTH, 6.5))
    k = len(frames)
    w = 0.8 / k
    for i, (sc, r) in enumerate(frames.items()):
        x = r["decile"] + (i - (k - 1) / 2) * w
        ax.bar(x, -r["mean"], width=w, color=colour(d, sc), label=scenario_label(sc),
               yerr=_err(-r["upper"], -r["mean"], -r["lower"]), capsize=3, ecolor="#333333")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(1, 11))
    ax.set_xlabel(say("fig_axis_imd_decile"))
    ax.set_ylabel(wrap(say("fig_axis_avoided_rate", rate_unit=RATE_UNIT), 28))
    ax.yaxis.set_major_formatter(_tick())
    ax.set_title(say("fig_avoided_by_imd_heading"))
    ax.grid(axis="x", visible=False)
    if k > 1:
        ax.legend(frameon=False, ncol=min(k, 3), loc="upper center", bbox_to_anchor=(0.5, -0.14))
    _footer(fig, d, counts=False)
    path = out / "avoided_by_imd.png"
    _save(fig, path)
    return Figure("avoided_by_imd", path, say("fig_avoided_by_imd_title"),
                  say("fig_avoided_by_imd_caption", comparator=d.comparator, rate_unit=RATE_UNIT), "scenario")


def deprivation_gap(d: RunData, out: Path) -> Figure | None:
    """Left: the comparator's rate in Core20 areas and elsewhere, once (the scenarios move it by far less
    than a bar's width, so repeating it per scenario only drew identical bars). Right: each scenario's
    fall in each rate, and the change in the age-standardised gap."""
    if not d.scenarios:
        return None
    groups = [("core20=yes", "Core20\n(most deprived 20%)"), ("core20=no", "Rest of\npopulation")]
    base = [d.one(d.comparator, OUT.emergency_admissions_per_1000, stratum=g) for g, _ in groups]
    if any(r is None for r in base):
        return None
    diffs = {sc: [d.one(sc, OUT.emergency_admissions_per_1000, "difference", stratum=g) for g, _ in groups]
             for sc in d.scenarios}
    diffs = {k: v for k, v in diffs.items() if all(r is not None for r in v)}
    if not diffs:
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(WIDTH + 1, 7.5), gridspec_kw={"width_ratios": [1, 2.2]})
    fig.subplots_adjust(left=0.1, right=0.98, top=0.84, bottom=0.36, wspace=0.42)
    f = _per_figure(pd.DataFrame(base))
    a1.bar(range(2), f["mean"], width=0.6, color=[CORE20_COLOUR, REST_COLOUR],
           yerr=_err(f["lower"], f["mean"], f["upper"]), capsize=4, ecolor="#333333")
    for i, m in enumerate(f["mean"]):
        a1.text(i, m / 2, fmt(m, digits=0), ha="center", va="center", fontsize=12, color="white",
                fontweight="bold")
    a1.set_xticks(range(2), [g[1] for g in groups], fontsize=11)
    a1.set_ylabel(wrap(rate_label(OUT.emergency_admissions_per_1000), 28))
    a1.yaxis.set_major_formatter(_tick())
    a1.set_title(wrap(say("fig_gap_rate_heading", comparator=d.comparator_label), 20), fontsize=14)
    a1.grid(axis="x", visible=False)
    gap0 = d.one(d.comparator, OUT.core20_gap_admissions)
    if gap0 is not None:
        gap_now = fmt(gap0["mean"] * PER_1000_TO_FIGURE, digits=0)
        words = say("fig_gap_standardised", gap=gap_now, rate_unit=RATE_UNIT)
        a1.text(0.5, -0.2, wrap(words, 26), transform=a1.transAxes, ha="center", va="top", fontsize=11)
    w = 0.8 / len(diffs)
    gap_lines: list[tuple[str, str]] = []
    for i, (sc, rows) in enumerate(diffs.items()):
        f = _per_figure(pd.DataFrame(rows))
        x = np.arange(2) + (i - (len(diffs) - 1) / 2) * w
        a2.bar(x, -f["mean"], width=w, color=colour(d, sc), yerr=_err(-f["upper"], -f["mean"], -f["lower"]),
               capsize=3, ecolor="#333333", label=scenario_label(sc))
        gap = d.effect(sc, OUT.core20_gap_admissions)[0]
        if gap is not None:
            g = _per_figure(gap)
            gap_lines.append((f"{scenario_label(sc)}: {fmt_interval(g['mean'], g['lower'], g['upper'])}",
                              colour(d, sc)))
    a2.axhline(0, color="black", lw=0.8)
    a2.set_xticks(range(2), [g[1] for g in groups], fontsize=11)
    a2.set_ylabel(wrap(say("fig_axis_avoided_rate", rate_unit=RATE_UNIT), 28))
    a2.yaxis.set_major_formatter(_tick())
    a2.set_title(say("fig_gap_fall_heading", comparator=d.comparator), fontsize=14)
    a2.grid(axis="x", visible=False)
    if gap_lines:
        a2.text(0.5, -0.16, say("fig_gap_change_heading", rate_unit=RATE_UNIT),
                transform=a2.transAxes, ha="center", va="top", fontsize=11)
    for i, (text, c) in enumerate(gap_lines):
        a2.text(0.5, -0.23 - 0.06 * i, text, transform=a2.transAxes, ha="center", va="top", fontsize=11, color=c)
    if len(diffs) > 1 and not gap_lines:  # otherwise the coloured lines under the panel name the scenarios
        a2.legend(frameon=False, fontsize=10.5, loc="best")
    fig.suptitle(say("fig_deprivation_gap_heading"), fontsize=17, fontweight="bold")
    _footer(fig, d, counts=False)
    path = out / "deprivation_gap.png"
    fig.savefig(path, dpi=DPI)  # fixed margins: tight_layout would squeeze the notes under the axes
    plt.close(fig)
    cap = say("fig_deprivation_gap_caption", comparator=d.comparator, rate_unit=RATE_UNIT)
    return Figure("deprivation_gap", path, say("fig_deprivation_gap_title"), cap, "scenario")


def cost_effectiveness(d: RunData, out: Path) -> Figure | None:
    """Means with intervals, for folders without per-draw economics (the business case plots each draw),
    with the £20,000 and £30,000 per QALY lines the business-case planes draw."""
    from .business_case import draws
    from .economics_figures import THRESHOLD_STYLE, threshold_lines

    if set(draws(d)["scenario"]) & set(d.scenarios):
        return None
    pts = []
    q_name = OUT.qalys_gained if d.has_outcome(OUT.qalys_gained) else OUT.qalys
    for sc in d.scenarios:
        q, _ = d.effect(sc, q_name)
        c, _ = d.effect(sc, OUT.net_cost)
        if q is None or c is None or not np.isfinite([q["mean"], c["mean"]]).all():
            continue
        pts.append((sc, q, c))
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(WIDTH, 7.5))
    for sc, q, c in pts:
        ax.errorbar(q["mean"], c["mean"], xerr=_err(pd.Series([q["lower"]]), pd.Series([q["mean"]]),
                                                    pd.Series([q["upper"]])),
                    yerr=_err(pd.Series([c["lower"]]), pd.Series([c["mean"]]), pd.Series([c["upper"]])),
                    fmt="o", ms=11, color=colour(d, sc), capsize=5, lw=2, zorder=4)
        ax.annotate(wrap(scenario_label(sc), 22), (q["mean"], c["mean"]), textcoords="offset points",
                    xytext=(10, 8), fontsize=12, color=colour(d, sc), zorder=5,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85})
    xs = [v for _, q, _ in pts for v in (q["mean"], q["lower"], q["upper"]) if np.isfinite(v)] + [0.0]
    ys = [v for _, _, c in pts for v in (c["mean"], c["lower"], c["upper"]) if np.isfinite(v)] + [0.0]
    xspan, yspan = max(max(xs) - min(xs), 1e-9), max(max(ys) - min(ys), 1.0)
    x0, x1 = min(xs) - 0.12 * xspan, max(xs) + 0.25 * xspan
    y0, y1 = min(ys) - 0.15 * yspan, max(ys) + 0.2 * yspan
    x0, x1 = min(x0, -0.25 * abs(x1)), max(x1, 0.25 * abs(x0))
    y0, y1 = min(y0, -0.15 * abs(y1)), max(y1, 0.15 * abs(y0))
    threshold_lines(ax, (x0, x1), (y0, y1))
    kw = {"fontsize": 11, "color": "#999999", "transform": ax.transAxes, "zorder": 1}
    ax.text(0.98, 0.02, say("fig_ce_saves_gains"), ha="right", va="bottom", **kw)
    ax.text(0.98, 0.98, say("fig_ce_costs_gains"), ha="right", va="top", **kw)
    ax.text(0.02, 0.98, say("fig_ce_costs_loses"), ha="left", va="top", **kw)
    ax.yaxis.set_major_formatter(_tick(money=True))
    ax.set_xlabel(outcome_label(q_name) if q_name == OUT.qalys_gained else say("fig_ce_qalys_axis"))
    ax.set_ylabel(wrap(say("fig_ce_cost_axis"), 30))
    title = say("fig_cost_effectiveness_title")
    ax.set_title(title)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(THRESHOLD_STYLE),
              fontsize=11.5, title=say("fig_ce_threshold_legend"), title_fontsize=11.5)
    _footer(fig, d, counts=True)
    path = out / "cost_effectiveness.png"
    _save(fig, path)
    cap = say("fig_cost_effectiveness_caption", whole=d.whole)
    return Figure("cost_effectiveness", path, title, cap, "scenario")


def target_scenarios(d: RunData, out: Path) -> Figure | None:
    """Where to target: admissions avoided against the baseline rate, by neighbourhood."""
    if not d.scenarios:
        return None
    t = by_area(d, ("neighbourhood",))
    if t.empty or "baseline_rate_mean" not in t:
        return None
    scs = [sc for sc in d.scenarios if f"{sc}_avoided_per_1000_mean" in t
           and t[f"{sc}_avoided_per_1000_mean"].notna().any()]
    if not scs:
        return None
    k = len(scs)
    ncol = min(k, 2)
    nrow = int(np.ceil(k / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(WIDTH, (5.2 if ncol > 1 else 6.5) * nrow + 1.2), squeeze=False,
                             layout="constrained")
    share = 100 * t["share_core20"].fillna(0)
    size = 30 + 300 * t[OUT.person_years] / t[OUT.person_years].max()
    rate = t["baseline_rate_mean"] * PER_1000_TO_FIGURE
    sc_map = None
    for ax, sc in zip(axes.flat, scs, strict=False):
        y = t[f"{sc}_avoided_per_1000_mean"] * PER_1000_TO_FIGURE
        sc_map = ax.scatter(rate, y, s=size, c=share, cmap="YlOrRd", vmin=0, vmax=100,
                            edgecolor="#555555", lw=0.6, alpha=0.85)
        top = t.assign(_y=y, _x=rate).nlargest(min(3, len(t)), "_y")
        _label_points(ax, list(top["_x"]), list(top["_y"]), [short_area(a, 20) for a in top["area"]])
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(wrap(scenario_label(sc), 34), fontsize=13.5)
        ax.xaxis.set_major_formatter(_tick())
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        need = say("fig_target_need_axis", comparator=d.comparator_label, rate_unit=RATE_UNIT)
        ax.set_xlabel(wrap(need, 34), fontsize=11.5)
        ax.set_ylabel(wrap(say("fig_target_benefit_axis", rate_unit=RATE_UNIT), 24), fontsize=11.5)
    for ax in list(axes.flat)[k:]:
        ax.set_visible(False)
    if sc_map is not None:
        cb = fig.colorbar(sc_map, ax=axes.ravel().tolist(), pad=0.01, fraction=0.04, aspect=40)
        cb.set_label(say("fig_axis_core20_share"))
    title = say("fig_target_scenarios_title")
    fig.suptitle(title, fontsize=16, fontweight="bold")
    _footer(fig, d, counts=False, intervals=False)
    path = out / "target_scenarios.png"
    _save_as_laid_out(fig, path)
    cap = say("fig_target_scenarios_caption", rate_unit=RATE_UNIT)
    return Figure("target_scenarios", path, title, cap, "scenario")


def validation(d: RunData, out: Path) -> Figure | None:
    v = d.validation
    if v is None or v.empty or not {"simulated", "observed", "tolerance", "kind", "target"} <= set(v.columns):
        return None
    v = v.reset_index(drop=True)
    names = [target_label(str(t), str(m) if pd.notna(m) else None)
             for t, m in zip(v["target"], v["measure"] if "measure" in v else [None] * len(v), strict=True)]
    ratio = v["simulated"] / v["observed"].replace(0, np.nan)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.34 * len(v) + 2.2))
    y = np.arange(len(v))
    ok = v["pass"].astype(bool) if "pass" in v else pd.Series(True, index=v.index)
    for i, r in v.iterrows():
        tol = r["tolerance"] if r["kind"] == "relative" else r["tolerance"] / abs(r["observed"] or np.nan)
        ax.plot([1 - tol, 1 + tol], [i, i], color="#d9d9d9", lw=9, solid_capstyle="butt", zorder=1)
    ax.scatter(ratio, y, c=np.where(ok, "#1b7837", "#c51b7d"), s=60, zorder=3)
    ax.axvline(1.0, color="black", lw=0.9)
    ax.set_yticks(y, names, fontsize=11)
    ax.set_ylim(len(v) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(say("fig_validation_axis"))
    ax.scatter([], [], c="#1b7837", label=say("fig_validation_legend", within=True))
    ax.scatter([], [], c="#c51b7d", label=say("fig_validation_legend", within=False))
    ax.legend(frameon=False, loc="lower left", fontsize=11)
    fig.suptitle(wrap(say("fig_validation_heading", passed=int(ok.sum()), targets=len(v)), 60),
                 fontsize=16, fontweight="bold")
    fig.tight_layout()
    path = out / "validation.png"
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    cap = say("fig_validation_caption")
    return Figure("validation", path, say("fig_validation_title"), cap, "validation")


ALL: list[Callable[[RunData, Path], Figure | None]] = [
    annual_admissions, avoided_by_neighbourhood, avoided_by_imd, deprivation_gap, cost_effectiveness,
    target_scenarios, admissions_by_cause, rate_by_imd, neighbourhood_rates, life_expectancy, target_baseline,
    validation,
]


def make_figures(d: RunData, out: Path) -> list[Figure]:
    """Write every figure the folder supports into out (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    from .contributions import figures as contribution_figures
    from .economics_figures import figures as economics_figures

    with plt.rc_context(STYLE):
        figs = [f(d, out) for f in ALL]
        figs += contribution_figures(d, out)
        figs += economics_figures(d, out)
    return [f for f in figs if f is not None]


__all__ = ["Figure", "make_figures"]
