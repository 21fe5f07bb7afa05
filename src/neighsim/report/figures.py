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

from ..outcomes import OUT
from .data import RunData  # noqa: E402
from .labels import CAUSE_OUTCOMES, fmt, fmt_interval, outcome_label, scenario_label, short_area, wrap  # noqa: E402
from .tables import by_area  # noqa: E402

BASE_COLOUR = "#3b3b3b"
PALETTE = ["#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]
CAUSE_COLOURS = {OUT.admissions_respiratory: "#4e79a7", OUT.admissions_cardiovascular: "#e15759",
                 OUT.admissions_falls: "#f28e2b", OUT.admissions_other: "#bab0ac"}
DPI = 150
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


def _footer(fig: MplFigure, d: RunData, counts: bool, intervals: bool = True, y: float = 0.005) -> None:
    """A small line under the plot so a pasted figure still says what it covers."""
    bits = []
    las = d.local_authorities
    bits.append(f"Area: {', '.join(las) if las else d.ics_area}")
    if counts and d.scale is not None and d.scale < 1:
        bits.append(f"counts scaled up from a {d.scale:.0%} sample of residents" if d.scale_up
                    else f"counts for a {d.scale:.0%} sample of residents")
    if d.replicates:
        what = "PSA draws (each its own parameter values)" if d.manifest.get("psa") else "replicate(s)"
        bits.append(f"{d.replicates} {what}" + ("; whiskers and bands: 95% interval" if intervals else ""))
    fig.text(0.01, y, "; ".join(bits), fontsize=10, color="#666666", ha="left", va="bottom")


def _save(fig: MplFigure, path: Path) -> None:
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _tick(money: bool = False) -> matplotlib.ticker.FuncFormatter:
    """Axis ticks with thousands separators and no spurious decimals (0 not 0.000)."""
    def f(v: float, _pos: int) -> str:
        s = f"{abs(v):,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{abs(v):,.3g}"
        return ("−" if v < 0 else "") + ("£" if money else "") + s
    return matplotlib.ticker.FuncFormatter(f)


def _label_points(ax: matplotlib.axes.Axes, xs: list[float], ys: list[float], labels: list[str]) -> None:
    """Label a few points without overlaps: text on the side facing the middle, nudged down when crowded."""
    ax.autoscale_view()
    to_axes = ax.transData + ax.transAxes.inverted()
    used: list[float] = []
    pts = sorted(zip(xs, ys, labels, strict=True), key=lambda t: -t[1])
    for x, y, lab in pts:
        fx, fy = to_axes.transform((x, y))
        ty = min(fy, 0.97)
        while any(abs(ty - u) < 0.05 for u in used):
            ty -= 0.05
        used.append(ty)
        right = fx > 0.6
        tx = fx - 0.025 if right else fx + 0.025
        ax.annotate(lab, (x, y), xytext=(tx, ty), textcoords="axes fraction", ha="right" if right else "left",
                    va="center", fontsize=10, color="#222222",
                    arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.7, "shrinkA": 0, "shrinkB": 6})


def _err(lower: pd.Series, mean: pd.Series, upper: pd.Series) -> np.ndarray:
    """Asymmetric error bars, clipped at zero length where an interval does not contain its mean."""
    return np.vstack([np.clip(mean - lower, 0, None), np.clip(upper - mean, 0, None)])


def _series(d: RunData, scenario: str, outcome: str, measure: str = "value", stratum: str | None = "all",
            level: str = "ics") -> pd.DataFrame:
    r = d.rows(scenario=scenario, outcome=outcome, measure=measure, level=level, stratum=stratum)
    if level == "ics":
        r = r[r["area"] == d.ics_area]
    return r


# ---------------------------------------------------------------------------------------------- figures
def annual_admissions(d: RunData, out: Path) -> Figure | None:
    """Annual emergency admissions by scenario with interval bands; with scenarios, a second panel
    shows the admissions avoided each year, which the first panel's scale can hide."""
    with_diff = bool(d.scenarios)
    fig, axes = plt.subplots(1, 2 if with_diff else 1, figsize=(16 if with_diff else 11, 6.5), squeeze=False)
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
    ax.set_xlabel("Financial year")
    ax.set_ylabel("Emergency admissions per year")
    ax.yaxis.set_major_formatter(_tick())
    ax.legend(frameon=False, loc="best", fontsize=11)
    if with_diff:
        ax.set_title("Admissions per year", fontsize=15)
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
        a2.set_xlabel("Financial year")
        a2.set_ylabel("Admissions avoided that year")
        a2.yaxis.set_major_formatter(_tick())
        a2.set_title(f"Admissions avoided against the {d.comparator}", fontsize=15)
        title = "Emergency admissions per year, by scenario"
        fig.suptitle(title, fontsize=18, fontweight="bold")
    else:
        title = "Emergency admissions per year (baseline)"
        ax.set_title(title)
    _footer(fig, d, counts=True)
    path = out / "annual_admissions.png"
    _save(fig, path)
    cap = ("Mean number of emergency admissions each financial year; shaded bands are 95% intervals"
           + (" (left: the baseline's only)." if with_diff else ".")
           + (" Right: admissions avoided each year (baseline minus scenario, paired by replicate); above "
              "zero means fewer admissions than the baseline." if with_diff else ""))
    return Figure("annual_admissions", path, title, cap, "headline")


def admissions_by_cause(d: RunData, out: Path) -> Figure | None:
    """Baseline admissions per year, stacked by cause."""
    causes = [c for c in CAUSE_OUTCOMES if d.has_outcome(c, d.comparator)]
    if not causes or not d.years:
        return None
    fig, ax = plt.subplots(figsize=(11, 6))
    bottom = np.zeros(len(d.years))
    for c in causes:
        r = _series(d, d.comparator, c).set_index("period").reindex(d.years)["mean"].fillna(0).to_numpy()
        ax.bar(d.years, r, bottom=bottom, color=CAUSE_COLOURS.get(c), label=outcome_label(c).replace(
            " admissions", "").replace("Other emergency", "Other"), width=0.65)
        bottom += r
    ax.set_xlabel("Financial year")
    ax.set_ylabel("Emergency admissions per year")
    ax.yaxis.set_major_formatter(_tick())
    ax.set_title("Baseline emergency admissions by cause")
    ax.legend(frameon=False, ncol=len(causes), loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax.grid(axis="x", visible=False)
    _footer(fig, d, counts=True)
    path = out / "admissions_by_cause.png"
    _save(fig, path)
    return Figure("admissions_by_cause", path, "Baseline emergency admissions by cause",
                  "Mean admissions each financial year in the baseline, by cause of admission.", "baseline")


def _deciles(d: RunData, scenario: str, outcome: str, measure: str) -> pd.DataFrame:
    r = _series(d, scenario, outcome, measure, stratum=None)
    r = r[r["stratum"].str.fullmatch(r"imd_decile=\d+")].copy()
    r["decile"] = r["stratum"].str.split("=").str[1].astype(int)
    return r[r["period"] == d.whole].sort_values("decile")


def rate_by_imd(d: RunData, out: Path) -> Figure | None:
    r = _deciles(d, d.comparator, OUT.emergency_admissions_per_1000, "value")
    if r.empty:
        return None
    fig, ax = plt.subplots(figsize=(11, 6))
    ax.bar(r["decile"], r["mean"], color=plt.cm.viridis(np.linspace(0.15, 0.85, 10))[r["decile"] - 1],
           yerr=_err(r["lower"], r["mean"], r["upper"]), capsize=4, ecolor="#333333")
    total = d.one(d.comparator, OUT.emergency_admissions_per_1000)
    if total is not None:
        ax.axhline(total["mean"], color="#c51b7d", ls="--", lw=1.8, label=f"All residents: {fmt(total['mean'])}")
        ax.legend(frameon=False, loc="upper right")
    ax.set_xticks(range(1, 11))
    ax.set_xlabel("IMD 2019 decile of home area (1 = most deprived 10%)")
    ax.set_ylabel("Admissions per 1,000 person-years")
    ax.set_title("Baseline emergency admission rate by deprivation")
    ax.grid(axis="x", visible=False)
    _footer(fig, d, counts=False)
    path = out / "rate_by_imd.png"
    _save(fig, path)
    return Figure("rate_by_imd", path, "Baseline emergency admission rate by deprivation decile",
                  f"Emergency admissions per 1,000 person-years over {d.whole}, by the IMD 2019 decile of the "
                  "resident's LSOA, with 95% intervals.", "baseline")


def neighbourhood_rates(d: RunData, out: Path) -> Figure | None:
    t = by_area(d, ("neighbourhood",))
    if t.empty or "baseline_rate_mean" not in t:
        return None
    t = t.dropna(subset=["baseline_rate_mean"]).sort_values("baseline_rate_mean")
    n = len(t)
    fig, ax = plt.subplots(figsize=(12, max(4.5, 0.42 * n + 2)))
    share = t["share_core20"].fillna(0).to_numpy()
    cmap = matplotlib.colors.LinearSegmentedColormap.from_list(
        "core20", plt.cm.YlOrRd(np.linspace(0.15, 0.95, 256)))
    ax.barh(range(n), t["baseline_rate_mean"], color=cmap(share),
            xerr=_err(t["baseline_rate_lower"], t["baseline_rate_mean"], t["baseline_rate_upper"]),
            capsize=3, ecolor="#333333")
    ax.set_yticks(range(n), [wrap(a, 48) for a in t["area"]], fontsize=10 if n > 15 else 12)
    total = d.one(d.comparator, OUT.emergency_admissions_per_1000)
    if total is not None:
        ax.axvline(total["mean"], color="#1f3b73", ls="--", lw=1.8, label=f"All residents: {fmt(total['mean'])}")
        ax.legend(frameon=False, loc="lower right")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, 100))
    cb = fig.colorbar(sm, ax=ax, pad=0.01, fraction=0.03)
    cb.set_label("% of residents in Core20 areas")
    cb.set_ticks([0, 25, 50, 75, 100])
    ax.set_xlabel("Emergency admissions per 1,000 person-years")
    ax.set_title("Baseline emergency admission rate by neighbourhood")
    ax.grid(axis="y", visible=False)
    _footer(fig, d, counts=False)
    path = out / "neighbourhood_rates.png"
    _save(fig, path)
    return Figure("neighbourhood_rates", path, "Baseline emergency admission rate by neighbourhood",
                  "Neighbourhoods ranked by their baseline admission rate (95% intervals); darker bars have more "
                  "residents in the 20% most deprived areas of England (Core20).", "baseline")


def life_expectancy(d: RunData, out: Path) -> Figure | None:
    fig, ax = plt.subplots(figsize=(11, 6))
    drawn = False
    for sex, c, off in (("female", "#7b3294", 0.08), ("male", "#008837", -0.08)):
        xs, rows = [], []
        for q in range(1, 6):
            r = d.one(d.comparator, OUT.life_expectancy, stratum=f"sex={sex},imd_quintile={q}")
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
    ax.set_xlabel("IMD 2019 quintile of home area")
    ax.set_ylabel("Life expectancy at birth (years)")
    ax.set_title("Life expectancy by deprivation and sex (baseline)")
    ax.legend(frameon=False, loc="upper left")
    _footer(fig, d, counts=False)
    path = out / "life_expectancy.png"
    _save(fig, path)
    return Figure(OUT.life_expectancy, path, "Life expectancy by deprivation quintile and sex",
                  f"Period life expectancy at birth from the simulated deaths over {d.whole}, with 95% "
                  "intervals.", "baseline")


def target_baseline(d: RunData, out: Path) -> Figure | None:
    """Where to target: baseline admission rate against the share of residents in Core20 areas."""
    t = by_area(d, ("neighbourhood",))
    if t.empty or t["share_core20"].isna().all() or "baseline_rate_mean" not in t:
        return None
    t = t.dropna(subset=["baseline_rate_mean"])
    fig, ax = plt.subplots(figsize=(11, 7))
    size = 60 + 600 * t[OUT.person_years] / t[OUT.person_years].max()
    places = (t["area"].str.split(": ").str[0]).to_numpy()
    uniq = list(dict.fromkeys(places))
    cols = {p: plt.cm.tab20(i % 20) for i, p in enumerate(uniq)}
    ax.scatter(100 * t["share_core20"], t["baseline_rate_mean"], s=size, c=[cols[p] for p in places],
               alpha=0.8, edgecolor="white", lw=1)
    top = t.nlargest(min(5, len(t)), "baseline_rate_mean")
    _label_points(ax, list(100 * top["share_core20"]), list(top["baseline_rate_mean"]),
                  [short_area(a) for a in top["area"]])
    total = d.one(d.comparator, OUT.emergency_admissions_per_1000)
    if total is not None:
        ax.axhline(total["mean"], color="#888888", ls="--", lw=1.2)
    if len(uniq) <= 12:
        for p in uniq:
            ax.scatter([], [], color=cols[p], s=80, label=p)
        ax.legend(frameon=False, fontsize=10, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="Locality",
                  title_fontsize=11)
    ax.set_xlabel("Residents living in Core20 areas (%)")
    ax.set_ylabel("Admissions per 1,000 person-years")
    ax.set_title("Where to target: admission rate and deprivation by neighbourhood")
    _footer(fig, d, counts=False, intervals=False)
    path = out / "target_baseline.png"
    _save(fig, path)
    return Figure("target_baseline", path, "Where to target: admission rate and deprivation by neighbourhood",
                  "Each bubble is a neighbourhood (size: residents). Top right: high admission rates and many "
                  "residents in the most deprived areas. The dashed line is the rate for all residents.",
                  "baseline")


def avoided_by_neighbourhood(d: RunData, out: Path) -> Figure | None:
    if not d.scenarios:
        return None
    t = by_area(d, ("neighbourhood",))
    cols = [f"{sc}_avoided_mean" for sc in d.scenarios]
    if t.empty or t[cols].isna().all().all():
        return None
    t = t.assign(_rank=t[cols].mean(axis=1)).sort_values("_rank")
    n, k = len(t), len(d.scenarios)
    fig, axes = plt.subplots(1, k, figsize=(7 + 4.5 * k, max(4.5, 0.42 * n + 2.2)), sharey=True, squeeze=False)
    for ax, sc in zip(axes[0], d.scenarios, strict=True):
        m, lo, hi = (t[f"{sc}_avoided_{c}"] for c in ("mean", "lower", "upper"))
        ax.barh(range(n), m.fillna(0), color=colour(d, sc), xerr=_err(lo.fillna(0), m.fillna(0), hi.fillna(0)),
                capsize=3, ecolor="#333333")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(wrap(scenario_label(sc), 30), fontsize=15)
        ax.set_xlabel(f"Admissions avoided ({d.whole})")
        ax.grid(axis="y", visible=False)
    axes[0][0].set_yticks(range(n), [wrap(a, 48) for a in t["area"]], fontsize=10 if n > 15 else 12)
    fig.suptitle("Emergency admissions avoided by neighbourhood", fontsize=18, fontweight="bold")
    _footer(fig, d, counts=True)
    path = out / "avoided_by_neighbourhood.png"
    _save(fig, path)
    return Figure("avoided_by_neighbourhood", path, "Emergency admissions avoided by neighbourhood",
                  f"Admissions avoided over {d.whole} (baseline minus scenario, paired by replicate), ranked; "
                  "whiskers are 95% intervals. Bars left of zero mean more admissions than the baseline.",
                  "scenario")


def avoided_by_imd(d: RunData, out: Path) -> Figure | None:
    if not d.scenarios:
        return None
    frames = {sc: _deciles(d, sc, OUT.emergency_admissions_per_1000, "difference") for sc in d.scenarios}
    frames = {k: v for k, v in frames.items() if not v.empty}
    if not frames:
        return None
    fig, ax = plt.subplots(figsize=(12, 6.5))
    k = len(frames)
    w = 0.8 / k
    for i, (sc, r) in enumerate(frames.items()):
        x = r["decile"] + (i - (k - 1) / 2) * w
        ax.bar(x, -r["mean"], width=w, color=colour(d, sc), label=scenario_label(sc),
               yerr=_err(-r["upper"], -r["mean"], -r["lower"]), capsize=3, ecolor="#333333")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(1, 11))
    ax.set_xlabel("IMD 2019 decile of home area (1 = most deprived 10%)")
    ax.set_ylabel("Admissions avoided per 1,000 person-years")
    ax.set_title("Reduction in emergency admission rate by deprivation")
    ax.grid(axis="x", visible=False)
    if k > 1:
        ax.legend(frameon=False)
    _footer(fig, d, counts=False)
    path = out / "avoided_by_imd.png"
    _save(fig, path)
    return Figure("avoided_by_imd", path, "Reduction in emergency admission rate by deprivation decile",
                  "Fall in the admission rate against the baseline in each IMD decile (per 1,000 person-years, "
                  "95% intervals). Taller bars on the left mean the benefit goes mostly to the most deprived.",
                  "scenario")


def deprivation_gap(d: RunData, out: Path) -> Figure | None:
    if not d.scenarios:
        return None
    groups = [("core20=yes", "Core20\n(most deprived 20%)"), ("core20=no", "Rest of\npopulation")]
    rates = {sc: [d.one(sc, OUT.emergency_admissions_per_1000, stratum=g) for g, _ in groups]
             for sc in [d.comparator] + d.scenarios}
    if any(r is None for r in rates[d.comparator]):
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 7.5))
    fig.subplots_adjust(left=0.07, right=0.98, top=0.85, bottom=0.36, wspace=0.3)
    allsc = [sc for sc in [d.comparator] + d.scenarios if all(r is not None for r in rates[sc])]
    w = 0.8 / len(allsc)
    for i, sc in enumerate(allsc):
        f = pd.DataFrame(rates[sc])
        x = np.arange(2) + (i - (len(allsc) - 1) / 2) * w
        a1.bar(x, f["mean"], width=w, color=colour(d, sc), label=scenario_label(sc),
               yerr=_err(f["lower"], f["mean"], f["upper"]), capsize=3, ecolor="#333333")
    a1.set_xticks(range(2), [g[1] for g in groups])
    a1.set_ylabel("Admissions per 1,000 person-years")
    a1.set_title("Admission rate", fontsize=15)
    a1.legend(frameon=False, fontsize=11, loc="upper center", ncol=min(3, len(allsc)), bbox_to_anchor=(0.5, -0.16))
    a1.grid(axis="x", visible=False)
    diffs = {sc: [d.one(sc, OUT.emergency_admissions_per_1000, "difference", stratum=g) for g, _ in groups]
             for sc in d.scenarios}
    diffs = {k: v for k, v in diffs.items() if all(r is not None for r in v)}
    w = 0.8 / max(1, len(diffs))
    gap_lines: list[tuple[str, str]] = []
    for i, (sc, rows) in enumerate(diffs.items()):
        f = pd.DataFrame(rows)
        x = np.arange(2) + (i - (len(diffs) - 1) / 2) * w
        a2.bar(x, -f["mean"], width=w, color=colour(d, sc), yerr=_err(-f["upper"], -f["mean"], -f["lower"]),
               capsize=3, ecolor="#333333")
        gap = d.effect(sc, OUT.core20_gap_admissions)[0]
        if gap is not None:
            gap_lines.append((f"{scenario_label(sc)}: {fmt_interval(gap['mean'], gap['lower'], gap['upper'])}",
                              colour(d, sc)))
    if gap_lines:
        a2.text(0.5, -0.16, "Change in Core20 gap, per 1,000 a year (negative = narrower):",
                transform=a2.transAxes, ha="center", va="top", fontsize=11)
    for i, (text, c) in enumerate(gap_lines):
        a2.text(0.5, -0.23 - 0.06 * i, text, transform=a2.transAxes, ha="center", va="top", fontsize=11, color=c)
    a2.axhline(0, color="black", lw=0.8)
    a2.set_xticks(range(2), [g[1] for g in groups])
    a2.set_ylabel("Admissions avoided per 1,000 person-years")
    a2.set_title("Reduction against baseline", fontsize=15)
    a2.grid(axis="x", visible=False)
    fig.suptitle("Does the deprivation gap narrow? Core20 against the rest", fontsize=18, fontweight="bold")
    _footer(fig, d, counts=False)
    path = out / "deprivation_gap.png"
    fig.savefig(path, dpi=DPI)  # fixed margins: tight_layout would squeeze the notes under the axes
    plt.close(fig)
    return Figure("deprivation_gap", path, "Change in the deprivation gap: Core20 against the rest",
                  "Left: admission rates in Core20 areas and elsewhere, baseline and scenarios. Right: the fall in "
                  "each rate. The gap narrows when the Core20 bar on the right is taller than the other.",
                  "scenario")


def cost_effectiveness(d: RunData, out: Path) -> Figure | None:
    """Means with intervals, for folders without per-draw economics (the business case plots each draw)."""
    from .business_case import draws

    if set(draws(d)["scenario"]) & set(d.scenarios):
        return None
    pts = []
    q_name = OUT.qalys_gained if d.has_outcome(OUT.qalys_gained) else OUT.qalys
    for sc in d.scenarios:
        q, _ = d.effect(sc, q_name)
        c, _ = d.effect(sc, OUT.net_cost)
        if q is None or c is None or not np.isfinite([q["mean"], c["mean"]]).all():
            continue
        if q is not None and c is not None:
            pts.append((sc, q, c))
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(11, 7))
    for sc, q, c in pts:
        ax.errorbar(q["mean"], c["mean"], xerr=_err(pd.Series([q["lower"]]), pd.Series([q["mean"]]),
                                                    pd.Series([q["upper"]])),
                    yerr=_err(pd.Series([c["lower"]]), pd.Series([c["mean"]]), pd.Series([c["upper"]])),
                    fmt="o", ms=11, color=colour(d, sc), capsize=5, lw=2, label=scenario_label(sc))
        ax.annotate(scenario_label(sc), (q["mean"], c["mean"]), textcoords="offset points", xytext=(10, 8),
                    fontsize=12, color=colour(d, sc), zorder=5,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85})
    ax.axhline(0, color="black", lw=1)
    ax.axvline(0, color="black", lw=1)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    ax.set_xlim(min(x0, -0.25 * abs(x1)), max(x1, 0.25 * abs(x0)))
    ax.set_ylim(min(y0, -0.15 * abs(y1)), max(y1, 0.15 * abs(y0)) * 1.08)
    kw = {"fontsize": 11, "color": "#999999", "transform": ax.transAxes, "zorder": 1}
    ax.text(0.98, 0.02, "Saves money and gains health", ha="right", va="bottom", **kw)
    ax.text(0.98, 0.98, "Costs more, gains health", ha="right", va="top", **kw)
    ax.text(0.02, 0.98, "Costs more, loses health", ha="left", va="top", **kw)
    ax.yaxis.set_major_formatter(_tick(money=True))
    ax.set_xlabel("QALYs gained" + (" (discounted)" if q_name == OUT.qalys_gained else ""))
    ax.set_ylabel("Net cost (£; below zero = net saving)")
    ax.set_title("Cost-effectiveness plane")
    _footer(fig, d, counts=True)
    path = out / "cost_effectiveness.png"
    _save(fig, path)
    return Figure("cost_effectiveness", path, "Cost-effectiveness plane",
                  f"Net cost against QALYs gained over {d.whole} for each scenario, with 95% intervals on both.",
                  "scenario")


def target_scenarios(d: RunData, out: Path) -> Figure | None:
    """Where to target: admissions avoided per 1,000 against the baseline rate, by neighbourhood."""
    if not d.scenarios:
        return None
    t = by_area(d, ("neighbourhood",))
    if t.empty or "baseline_rate_mean" not in t:
        return None
    scs = [sc for sc in d.scenarios if t[f"{sc}_avoided_per_1000_mean"].notna().any()]
    if not scs:
        return None
    k = len(scs)
    ncol = min(k, 2)
    nrow = int(np.ceil(k / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(7.5 * ncol + 1.5, 6 * nrow), squeeze=False, layout="constrained")
    share = 100 * t["share_core20"].fillna(0)
    size = 50 + 450 * t[OUT.person_years] / t[OUT.person_years].max()
    sc_map = None
    for ax, sc in zip(axes.flat, scs, strict=False):
        y = t[f"{sc}_avoided_per_1000_mean"]
        sc_map = ax.scatter(t["baseline_rate_mean"], y, s=size, c=share, cmap="YlOrRd", vmin=0, vmax=100,
                            edgecolor="#555555", lw=0.6, alpha=0.85)
        top = t.assign(_y=y).nlargest(min(4, len(t)), "_y")
        _label_points(ax, list(top["baseline_rate_mean"]), list(top["_y"]), [short_area(a, 24) for a in top["area"]])
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(wrap(scenario_label(sc), 40), fontsize=15)
        ax.set_xlabel("Baseline admissions per 1,000 person-years")
        ax.set_ylabel("Avoided per 1,000 person-years")
    for ax in list(axes.flat)[k:]:
        ax.set_visible(False)
    if sc_map is not None:
        cb = fig.colorbar(sc_map, ax=axes.ravel().tolist(), pad=0.01, fraction=0.03)
        cb.set_label("% of residents in Core20 areas")
    fig.suptitle("Where to target: benefit against need, by neighbourhood", fontsize=18, fontweight="bold")
    _footer(fig, d, counts=False, intervals=False, y=-0.03)
    path = out / "target_scenarios.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return Figure("target_scenarios", path, "Where to target: benefit against need, by neighbourhood",
                  "Each bubble is a neighbourhood (size: residents; colour: share in Core20 areas). Neighbourhoods "
                  "top right have high need and gain most per resident.", "scenario")


def validation(d: RunData, out: Path) -> Figure | None:
    v = d.validation
    if v is None or v.empty or not {"simulated", "observed", "tolerance", "kind", "target"} <= set(v.columns):
        return None
    v = v.reset_index(drop=True)
    ratio = v["simulated"] / v["observed"].replace(0, np.nan)
    fig, ax = plt.subplots(figsize=(11, 0.38 * len(v) + 2.2))
    y = np.arange(len(v))
    ok = v["pass"].astype(bool) if "pass" in v else pd.Series(True, index=v.index)
    for i, r in v.iterrows():
        tol = r["tolerance"] if r["kind"] == "relative" else r["tolerance"] / abs(r["observed"] or np.nan)
        ax.plot([1 - tol, 1 + tol], [i, i], color="#d9d9d9", lw=9, solid_capstyle="butt", zorder=1)
    ax.scatter(ratio, y, c=np.where(ok, "#1b7837", "#c51b7d"), s=60, zorder=3)
    ax.axvline(1.0, color="black", lw=0.9)
    ax.set_yticks(y, v["target"], fontsize=11)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Simulated ÷ published (grey band: tolerance)")
    ax.scatter([], [], c="#1b7837", label="within tolerance")
    ax.scatter([], [], c="#c51b7d", label="outside tolerance")
    ax.legend(frameon=False, loc="lower right", fontsize=11)
    ax.set_title(f"Baseline against published figures: {int(ok.sum())} of {len(v)} within tolerance")
    fig.tight_layout()
    path = out / "validation.png"
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return Figure("validation", path, "Baseline against published figures",
                  "Each target's simulated value divided by the published value (first projection year); 1 is a "
                  "perfect match; the grey band is the tolerance.", "validation")


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
