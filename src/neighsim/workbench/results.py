"""What the page shows of a finished run: headline, economics, charts and the map's baseline measures.

Everything is read from the run's summary with the project's API (`api.headline`, `api.select`), for the
area on screen; figures are matplotlib (Agg) figures, closed by the caller. The words and number formats
are the report's (report/labels.py), so the page and the report say the same thing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import api
from ..outcomes import OUT
from ..report.labels import (
    fmt,
    fmt_interval,
    fmt_money,
    fmt_money_interval,
    outcome_label,
    scenario_label,
    short_area,
)

PALETTE = ("#4d4d4d", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e")  # baseline first


@dataclass
class View:
    """A run's summary read for one area: `level`/`area` as api.select takes them (None: the run's top
    level, which covers exactly the run's neighbourhoods)."""

    summary: pd.DataFrame
    area: str | None
    label: str

    @property
    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(self.summary["scenario"]))

    @property
    def period(self) -> str:
        """The whole horizon's label ('2026-2031'; the one without a '/')."""
        whole = sorted(p for p in self.summary["period"].unique() if "/" not in p)
        return whole[0] if whole else str(self.summary["period"].max())

    @property
    def years(self) -> list[str]:
        return sorted(p for p in self.summary["period"].unique() if "/" in p)

    def rows(self, outcome: str, **kw: Any) -> pd.DataFrame:
        kw.setdefault("period", self.period)
        return api.select(self.summary, outcome, area=self.area, **kw)


def load_view(folder: Path, area: str | None, label: str) -> View:
    from ..runner.experiment import read_summary

    return View(read_summary(folder), area, label)


# --- tables ----------------------------------------------------------------------------------------
HEADLINE_COLUMNS = (  # (api.headline's column, words, money, sign: -1 shows "avoided")
    ("admissions_change", "Emergency admissions avoided", False, -1),
    ("bed_days_change", "Bed days avoided", False, -1),
    ("deaths_change", "Deaths averted", False, -1),
    ("intervention_cost", "Intervention cost", True, 1),
    ("costs_avoided", "NHS and social care costs avoided", True, 1),
    ("net_cost", "Net cost", True, 1),
    ("qalys_gained", "QALYs gained", False, 1),
    ("roi", "ROI (£ per £1)", False, 1),
)


def _cell(mean: Any, lower: Any, upper: Any, money: bool, sign: int) -> str:
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "–"
    m, lo, hi = sign * float(mean), sign * float(lower), sign * float(upper)
    lo, hi = min(lo, hi), max(lo, hi)
    if money:
        return fmt_money_interval(m, lo, hi)
    biggest = max(abs(m), abs(lo), abs(hi))
    whole = all(float(x).is_integer() for x in (m, lo, hi))
    return fmt_interval(m, lo, hi, digits=0 if whole or biggest >= 10 else 1 if biggest >= 1 else 2)


def headline_rows(view: View) -> list[dict[str, str]]:
    """One row per scenario (not the baseline): the whole horizon's effects with 95% intervals."""
    h = api.headline(view.summary, view.period, area=view.area)
    out = []
    for r in h.to_dict("records"):
        if r["scenario"] == "baseline":
            continue
        row = {"Scenario": scenario_label(r["scenario"])}
        for col, words, money, sign in HEADLINE_COLUMNS:
            row[words] = _cell(r.get(col), r.get(f"{col}_lower"), r.get(f"{col}_upper"), money, sign)
        out.append(row)
    return out


ECONOMICS = (  # (outcome, words, money)
    (OUT.cost_programme, "Programme cost (discounted)", True),
    (OUT.costs_avoided, "Costs avoided", True),
    (OUT.net_cost, "Net cost", True),
    (OUT.qalys_gained, "QALYs gained", False),
    (OUT.cost_per_qaly, "Cost per QALY (ICER)", True),
    (OUT.nmb_20000, "NMB at £20,000/QALY", True),
    (OUT.roi, "ROI, financial (£ per £1)", False),
    (OUT.roi_qalys, "ROI with QALYs at £20,000 (£ per £1)", False),
)


def economics_rows(view: View) -> list[dict[str, str]]:
    """Net cost, QALYs, NMB and ROI per scenario (each its own value row: already a comparison with the
    baseline), with 95% intervals."""
    out = []
    for scen in view.scenarios:
        if scen == "baseline":
            continue
        row = {"Scenario": scenario_label(scen)}
        for outcome, words, money in ECONOMICS:
            x = view.rows(outcome, scenario=scen, measure="value")
            row[words] = "–" if x.empty else _cell(x["mean"].iloc[0], x["lower"].iloc[0], x["upper"].iloc[0],
                                                   money, 1)
        out.append(row)
    return out


def html_table(rows: list[dict[str, str]], css_class: str = "nw-table") -> str:
    """A small HTML table (values escaped)."""
    if not rows:
        return "<p>No scenario in this run: add one to see its effects.</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# --- figures -----------------------------------------------------------------------------------------
def _figure(w: float = 7.5, h: float = 3.6) -> tuple[Figure, Any]:
    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def _colours(view: View) -> dict[str, str]:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(view.scenarios)}


YEAR_OUTCOMES = (OUT.emergency_admissions, OUT.deaths, OUT.bed_days, OUT.admissions_falls, OUT.cost_admissions,
                 OUT.cost_intervention)


def year_figure(view: View, outcome: str = OUT.emergency_admissions, difference: bool = False) -> Figure:
    """The outcome by financial year, each scenario with its 95% interval band (or each scenario's
    difference from the baseline)."""
    fig, ax = _figure()
    colours = _colours(view)
    years = view.years
    x = np.arange(len(years))
    for scen in view.scenarios:
        if difference and scen == "baseline":
            continue
        measure = "difference" if difference else "value"
        d = pd.concat([view.rows(outcome, scenario=scen, measure=measure, period=p) for p in years])
        if d.empty:
            continue
        d = d.set_index("period").reindex(years)
        ax.plot(x, d["mean"], marker="o", color=colours[scen], label=scenario_label(scen))
        ax.fill_between(x, d["lower"], d["upper"], color=colours[scen], alpha=0.15, linewidth=0)
    if difference:
        ax.axhline(0, color="#999999", linewidth=0.8)
    ax.set_xticks(x, years)
    words = outcome_label(outcome)
    ax.set_title(f"{words}{' - difference from the baseline' if difference else ''}, {view.label}", fontsize=10)
    ax.set_ylabel(("change in " if difference else "") + words.split(" (")[0].lower(), fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def neighbourhood_figure(view: View) -> Figure:
    """Emergency admissions avoided over the whole horizon by neighbourhood of the area, per scenario,
    with 95% intervals."""
    s = view.summary
    nbs = sorted(s.loc[s["level"] == "neighbourhood", "area"].unique())
    if view.area is not None:
        here = api.find_area(s, view.area)
        if here[0] == "neighbourhood":
            nbs = [here[1]]
        else:
            col = here[0]
            geo = _geography(s)
            if geo is not None:
                nbs = sorted(geo.loc[geo[col] == here[1], "name"]) if col in geo else nbs
    scens = [x for x in view.scenarios if x != "baseline"]
    fig, ax = _figure(7.5, max(2.4, 0.5 + 0.42 * len(nbs) * max(1, len(scens))))
    if not scens:
        ax.text(0.5, 0.5, "No scenario in this run", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    colours = _colours(view)
    height = 0.8 / len(scens)
    y = np.arange(len(nbs))
    for i, scen in enumerate(scens):
        d = s[(s["outcome"] == OUT.emergency_admissions) & (s["scenario"] == scen) & (s["measure"] == "difference")
              & (s["period"] == view.period) & (s["level"] == "neighbourhood") & (s["stratum"] == "all")]
        d = d.set_index("area").reindex(nbs)
        mean, lo, hi = -d["mean"].to_numpy(), -d["upper"].to_numpy(), -d["lower"].to_numpy()
        err = np.vstack([np.clip(mean - lo, 0, None), np.clip(hi - mean, 0, None)])
        ax.barh(y + (i - (len(scens) - 1) / 2) * height, mean, height=height * 0.9, color=colours[scen],
                xerr=err, error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"},
                label=scenario_label(scen))
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks(y, [short_area(n, 34) for n in nbs], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"emergency admissions avoided, {view.period} (95% interval)", fontsize=9)
    ax.set_title(f"Where: admissions avoided by neighbourhood, {view.label}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return fig


def decile_figure(view: View) -> Figure:
    """The change in the emergency admission rate (per 1,000 person-years) by IMD decile, per scenario.
    Deciles are summarised at the run's top level, which covers exactly the run's neighbourhoods."""
    s = view.summary
    scens = [x for x in view.scenarios if x != "baseline"]
    fig, ax = _figure()
    if not scens:
        ax.text(0.5, 0.5, "No scenario in this run", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    colours = _colours(view)
    deciles = list(range(1, 11))
    width = 0.8 / len(scens)
    x = np.arange(10)
    for i, scen in enumerate(scens):
        d = s[(s["outcome"] == f"{OUT.emergency_admissions}_per_1000") & (s["scenario"] == scen)
              & (s["measure"] == "difference") & (s["period"] == view.period) & (s["level"] == "ics")
              & (s["stratum"].isin([f"imd_decile={k}" for k in deciles]))]
        d = d.assign(k=d["stratum"].str.split("=").str[1].astype(int)).set_index("k").reindex(deciles)
        mean = -d["mean"].to_numpy()
        err = np.vstack([np.clip(mean - (-d["upper"].to_numpy()), 0, None),
                         np.clip(-d["lower"].to_numpy() - mean, 0, None)])
        ax.bar(x + (i - (len(scens) - 1) / 2) * width, mean, width=width * 0.9, color=colours[scen], yerr=err,
               error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"}, label=scenario_label(scen))
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.set_xticks(x, [f"{k}" + ("\nmost deprived" if k == 1 else "\nleast" if k == 10 else "") for k in deciles],
                  fontsize=8)
    ax.set_xlabel("IMD 2019 decile of the resident's area", fontsize=9)
    ax.set_ylabel("fall in admissions per 1,000 a year", fontsize=9)
    ax.set_title(f"For whom: fall in the emergency admission rate by deprivation decile, {view.label} "
                 f"({view.period})", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _geography(summary: pd.DataFrame) -> pd.DataFrame | None:
    """Neighbourhood -> locality and place (from the neighbourhoods' names and the geography's rule)."""
    from ..population.geography import place_of_locality

    nbs = summary.loc[summary["level"] == "neighbourhood", "area"].unique()
    if not len(nbs):
        return None
    loc = [n.split(":", 1)[0] for n in nbs]
    return pd.DataFrame({"name": nbs, "locality": loc, "place": [place_of_locality(x) for x in loc]})


# --- the map's baseline measures ------------------------------------------------------------------------
MEASURES = {  # name -> (words, unit)
    "admission_rate": ("Emergency admissions per 1,000 a year", "per 1,000"),
    "core20_share": ("Core20 share of residents (%)", "%"),
    "death_rate": ("Deaths per 1,000 a year", "per 1,000"),
    "falls_rate": ("Falls admissions per 1,000 a year", "per 1,000"),
    "smokers": ("Smokers (% of residents)", "%"),
    "frail": ("Moderate or severe frailty (% of residents)", "%"),
    "fuel_poor": ("Living in a fuel-poor home (%)", "%"),
    "residents": ("Residents", ""),
}


def atlas(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per neighbourhood (name) with the MEASURES, from a baseline run of every neighbourhood
    (the first projection year)."""
    s = summary[(summary["level"] == "neighbourhood") & (summary["scenario"] == "baseline")
                & (summary["measure"] == "value")]
    period = sorted(p for p in s["period"].unique() if "/" in p)[0]
    s = s[s["period"] == period]

    def get(outcome: str, stratum: str = "all") -> pd.Series:
        x = s[(s["outcome"] == outcome) & (s["stratum"] == stratum)]
        return x.set_index("area")["mean"]

    py = get(OUT.person_years)
    pop = get("population")
    out = pd.DataFrame({
        "admission_rate": get(f"{OUT.emergency_admissions}_per_1000"),
        "core20_share": 100 * get(OUT.person_years, "core20=yes").reindex(py.index, fill_value=0) / py,
        "death_rate": get(f"{OUT.deaths}_per_1000"),
        "falls_rate": get(f"{OUT.admissions_falls}_per_1000"),
        "smokers": 100 * get("smokers").reindex(pop.index, fill_value=0) / pop,
        "frail": 100 * (get("frailty_moderate").reindex(pop.index, fill_value=0)
                        + get("frailty_severe").reindex(pop.index, fill_value=0)) / pop,
        "fuel_poor": 100 * get("fuel_poor_residents").reindex(pop.index, fill_value=0) / pop,
        "residents": get("population_start"),
    })
    out.attrs["period"] = period
    return out


def colour_scale(values: pd.Series, cmap: str = "YlOrRd") -> tuple[dict[str, str], float, float, list[str]]:
    """(area -> hex colour, low, high, gradient stops) for the map's tiles."""
    import matplotlib
    from matplotlib.colors import to_hex

    v = values.astype(float)
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    span = hi - lo or 1.0
    cm = matplotlib.colormaps[cmap]
    colours = {str(k): to_hex(cm(0.1 + 0.85 * (float(x) - lo) / span)) if np.isfinite(x) else "#dddddd"
               for k, x in v.items()}
    stops = [to_hex(cm(0.1 + 0.85 * i / 4)) for i in range(5)]
    return colours, lo, hi, stops


def text_colour(background: str) -> str:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(background)
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "#ffffff"


def format_measure(name: str, x: float) -> str:
    if not np.isfinite(x):
        return "–"
    return fmt(round(x)) if name == "residents" else f"{x:.1f}"


# --- agents --------------------------------------------------------------------------------------------
FRAILTY_COLOURS = {"fit": "#d9f0d3", "mild": "#fee08b", "moderate": "#fc8d59", "severe": "#d73027"}


def agents_figure(states: pd.DataFrame, counts: pd.DataFrame, rows: int = 40) -> Figure:
    """Left: each sampled resident's frailty month by month (grey once dead); right: the sample by
    frailty, from Mesa's AgentSet.groupby, and deaths."""
    from matplotlib.colors import ListedColormap

    fig = Figure(figsize=(9.5, 4.2), dpi=100, layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.4, 1])
    order = ["fit", "mild", "moderate", "severe"]
    wide = states.pivot(index="resident_id", columns="month", values="frailty").head(rows)
    alive = states.pivot(index="resident_id", columns="month", values="alive").reindex(wide.index)
    codes = np.array(wide.apply(lambda c: c.map({k: i for i, k in enumerate(order)})), dtype=float)
    codes[~np.array(alive, dtype=bool)] = 4
    cmap = ListedColormap([FRAILTY_COLOURS[k] for k in order] + ["#9e9e9e"])
    ax.imshow(codes, aspect="auto", cmap=cmap, vmin=-0.5, vmax=4.5, interpolation="nearest")
    ax.set_xlabel("month of the projection", fontsize=9)
    ax.set_ylabel(f"resident (first {len(wide)} of the sample)", fontsize=9)
    ax.set_yticks([])
    ax.set_title("Each resident's frailty (grey: died)", fontsize=10)
    months = counts.index.to_numpy()
    for k in order:
        col = f"frailty: {k}"
        if col in counts:
            ax2.plot(months, counts[col], color=FRAILTY_COLOURS[k] if k != "fit" else "#1b9e77", label=k)
    ax2.plot(months, len(states["resident_id"].unique()) - counts["alive"], color="#4d4d4d", linestyle="--",
             label="died")
    ax2.set_xlabel("month", fontsize=9)
    ax2.set_ylabel("sampled residents", fontsize=9)
    ax2.set_title("The sample by frailty (AgentSet.groupby)", fontsize=10)
    ax2.legend(fontsize=8, frameon=False)
    return fig


# --- an optimisation ("Optimise a budget") -----------------------------------------------------------------
OBJECTIVE_COLUMNS = {"admissions": "Emergency admissions avoided", "qalys": "QALYs gained",
                     "nmb": "NMB at £20,000/QALY"}


@dataclass
class Optimisation:
    """The files `neighsim optimise` wrote in a folder: the allocation (allocation.csv, its TOTAL row last),
    the comparison with the simple rules (comparison.csv; None when it was skipped) and the settings, notes
    and timings (optimise.json)."""

    folder: Path
    meta: dict[str, Any]
    allocation: pd.DataFrame
    comparison: pd.DataFrame | None

    @property
    def objective(self) -> str:
        return str(self.meta.get("objective") or "nmb")

    @property
    def money(self) -> bool:
        return self.objective == "nmb"

    @property
    def chosen(self) -> pd.DataFrame:
        return self.allocation[self.allocation["intervention"] != "TOTAL"]

    def file(self, name: str) -> Path | None:
        p = self.folder / name
        return p if p.is_file() else None


def load_optimisation(folder: Path) -> Optimisation:
    import json

    folder = Path(folder)
    meta = json.loads((folder / "optimise.json").read_text())
    alloc = pd.read_csv(folder / "allocation.csv")
    comp = pd.read_csv(folder / "comparison.csv") if (folder / "comparison.csv").is_file() else None
    return Optimisation(folder, meta, alloc, comp)


def _effect(o: Optimisation, mean: Any, lower: Any = None, upper: Any = None) -> str:
    vals = [None if v is None or pd.isna(v) else float(v) for v in (mean, lower, upper)]
    return fmt_money_interval(*vals) if o.money else fmt_interval(*vals)


def _iv_label(name: str) -> str:
    return str(name).replace("_", " ").capitalize()


def optimisation_heading(o: Optimisation) -> str:
    m = o.meta
    from ..optimise.solver import objective_label

    eq = m.get("equity")
    s = m.get("settings") or {}
    return (f"£{float(m['budget']):,.0f} over {s.get('years', '?')} years in {m['area']['name']}, maximising "
            f"{objective_label(o.objective)}; equity: {eq or 'none'}. Curves from "
            f"{s.get('replicates')} replicates at a {float(s.get('scale', 0)):.0%} sample scaled up; "
            f"{s.get('psa', 0)} PSA draws for the comparison.")


def allocation_rows(o: Optimisation) -> list[dict[str, str]]:
    """The allocation as the page shows it: one row per option chosen, then the total."""
    effect = f"{OBJECTIVE_COLUMNS.get(o.objective, o.objective)} (95% interval)"
    out = []
    for r in o.allocation.itertuples():
        total = r.intervention == "TOTAL"
        out.append({"Intervention": "Total" if total else _iv_label(r.intervention),
                    "Neighbourhood": "" if total else str(r.neighbourhood),
                    "Level": "" if total or pd.isna(r.level) else f"{float(r.level):.0%}",
                    "Places a year": "" if total or pd.isna(r.capacity) else fmt(float(r.capacity), digits=0),
                    "Cost (programme)": fmt_money(None if pd.isna(r.cost) else float(r.cost)),
                    effect: _effect(o, r.effect_mean, r.effect_lower, r.effect_upper)})
    return out


def comparison_rows(o: Optimisation) -> list[dict[str, str]]:
    """The allocation and the simple rules run as scenarios: the objective (95% interval across draws), each
    rule minus the optimised draw by draw, per £1m, the cost, the change in the Core20 gap and the curves'
    prediction."""
    if o.comparison is None or not len(o.comparison):
        return []
    col = OBJECTIVE_COLUMNS.get(o.objective, o.objective)
    out = []
    for _, r in o.comparison.iterrows():
        def g(name: str, r: pd.Series = r) -> Any:
            return r.get(name, np.nan)

        gap = g("gap_change_mean")
        out.append({
            "Strategy": str(r["label"])[:1].upper() + str(r["label"])[1:],
            f"{col} (95% interval)": _effect(o, g("objective_mean"), g("objective_lower"), g("objective_upper")),
            "Minus the optimised, draw by draw": ("" if pd.isna(g("minus_optimised_mean")) else
                                                  _effect(o, g("minus_optimised_mean"), g("minus_optimised_lower"),
                                                          g("minus_optimised_upper"))),
            "Per £1m spent": _effect(o, g("objective_per_1m_mean")),
            "Cost": fmt_money_interval(g("cost_mean"), g("cost_lower"), g("cost_upper")),
            "Core20 gap change (per 1,000 a year)": "–" if pd.isna(gap) else
            f"{gap:+.2f} ({g('gap_change_lower'):+.2f} to {g('gap_change_upper'):+.2f})",
            "Predicted from the curves": "" if pd.isna(g("predicted_mean")) else _effect(o, g("predicted_mean")),
        })
    return out
