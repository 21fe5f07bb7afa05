"""Business-case figures: the cost-effectiveness plane, the CEAC, the tornado and the PSA's convergence.

Each draws from business_case.py's tables so the figures and the tables can never disagree. Titles state
the finding; a run without a PSA says on the figure that its spread is Monte Carlo noise only.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from ..analysis.economics import NMB_THRESHOLDS  # noqa: E402
from ..outcomes import OUT  # noqa: E402
from ..wording import say  # noqa: E402
from . import business_case as bc  # noqa: E402
from .data import RunData  # noqa: E402
from .figures import Figure, _footer, _save, colour  # noqa: E402
from .labels import fmt, fmt_money, scenario_label, slug, wrap  # noqa: E402

THRESHOLD_STYLE = {20_000.0: ("#1b7837", "--"), 30_000.0: ("#762a83", ":")}
LOW_COLOUR, HIGH_COLOUR = "#4e79a7", "#e15759"
NOISE_BOX = {"boxstyle": "round,pad=0.4", "fc": "#fff4e0", "ec": "#d9822b"}


def _money_axis(money: bool = True) -> FuncFormatter:
    return FuncFormatter(lambda v, _p: fmt_money(v) if money else fmt(v))


def _noise_note(ax: Axes, d: RunData, y: float = -0.14) -> None:
    """Under the axes of a figure from a run without a PSA (never over the points): its spread is not
    parameter uncertainty."""
    if bc.is_psa(d):
        return
    ax.text(0.5, y, say("econ_noise_note"), transform=ax.transAxes, ha="center", va="top", fontsize=12,
            color="#8a4b08", bbox=NOISE_BOX, zorder=6)


def _room(lo: float, hi: float, share: float = 0.16) -> tuple[float, float]:
    """Axis limits that keep zero at least `share` of the axis from either end, so every quadrant of the
    plane (and its label) shows even when every draw falls in one."""
    for _ in range(2):
        span = hi - lo
        lo, hi = min(lo, -share * span), max(hi, share * span)
    return lo, hi


def threshold_label(lam: float) -> str:
    return say("econ_threshold", value=fmt_money(lam))


def threshold_lines(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float], shade: bool = True) -> None:
    """The NICE thresholds on a cost-effectiveness plane (cost = threshold x QALYs, one labelled line each,
    the area below the £20,000 line shaded), the axes through zero, and the plane's limits set."""
    (x0, x1), (y0, y1) = xlim, ylim
    xx = np.linspace(x0, x1, 200)
    if shade:
        ax.fill_between(xx, y0, np.clip(NMB_THRESHOLDS[0] * xx, y0, y1), color="#1b7837", alpha=0.06, lw=0,
                        zorder=0)
    for lam in NMB_THRESHOLDS:
        c_, ls = THRESHOLD_STYLE.get(lam, ("#555555", "--"))
        ax.plot(xx, lam * xx, color=c_, ls=ls, lw=1.8, label=threshold_label(lam), zorder=2)
    ax.axhline(0, color="black", lw=1)
    ax.axvline(0, color="black", lw=1)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def ce_plane(d: RunData, out: Path, sc: str) -> Figure | None:
    """One point per draw (incremental cost against QALYs gained), the mean, and the £20k/£30k lines."""
    w = bc.scenario_draws(d, sc)
    if w.empty or OUT.net_cost not in w or OUT.qalys_gained not in w:
        return None
    w = w[np.isfinite(w[OUT.qalys_gained]) & np.isfinite(w[OUT.net_cost])]
    if w.empty:
        return None
    q, c = w[OUT.qalys_gained].to_numpy(), w[OUT.net_cost].to_numpy()
    mq, mc = float(np.mean(q)), float(np.mean(c))
    fig, ax = plt.subplots(figsize=(11, 7.5))
    col = colour(d, sc)
    ax.scatter(q, c, s=28, color=col, alpha=0.45, lw=0, label=say("econ_ce_plane_points", n=len(w), psa=bc.is_psa(d)),
               zorder=3)
    ax.scatter([mq], [mc], s=220, marker="D", color=col, edgecolor="black", lw=1.5, zorder=5,
               label=say("econ_ce_plane_mean"))
    xs = np.concatenate([q, [0.0, mq]])
    ys = np.concatenate([c, [0.0, mc]])
    xspan = max(float(np.ptp(xs)), abs(mq) * 0.5, 1e-9)
    yspan = max(float(np.ptp(ys)), abs(mc) * 0.5, 1.0)
    x0, x1 = _room(xs.min() - 0.12 * xspan, xs.max() + 0.12 * xspan)
    y0, y1 = _room(ys.min() - 0.15 * yspan, ys.max() + 0.15 * yspan)
    threshold_lines(ax, (x0, x1), (y0, y1))
    kw = {"fontsize": 11, "color": "#777777", "transform": ax.transAxes, "zorder": 4,
          "bbox": {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8}}
    for x, y, gains in ((0.98, 0.98, True), (0.98, 0.02, True), (0.02, 0.98, False), (0.02, 0.02, False)):
        ax.text(x, y, say("econ_ce_plane_quadrant", costs_more=y > 0.5, gains_health=gains),
                ha="right" if x > 0.5 else "left", va="top" if y > 0.5 else "bottom", **kw)
    ax.yaxis.set_major_formatter(_money_axis())
    ax.set_xlabel(say("econ_ce_plane_xlabel"))
    ax.set_ylabel(say("econ_ce_plane_ylabel"))
    p20 = bc.probability_cost_effective(d, sc, NMB_THRESHOLDS[0])
    title = say("econ_ce_plane_title", scenario=scenario_label(sc), verdict=bc.verdict(d, sc),
                chance=f"{p20:.0%}" if p20 is not None and bc.is_psa(d) else "")
    ax.set_title(wrap(title, 70))
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=4, fontsize=11)
    _noise_note(ax, d, y=-0.2)
    _footer(fig, d, counts=True, intervals=False)
    path = out / f"ce_plane_{slug(sc)}.png"
    _save(fig, path)
    cap = say("econ_ce_plane_caption", psa=bc.is_psa(d), whole=d.whole, comparator=d.comparator)
    return Figure(f"ce_plane:{sc}", path, title, cap, "business case")


def ceac_figure(d: RunData, out: Path) -> Figure | None:
    """Probability cost-effective against the value of a QALY, one line per scenario."""
    t = bc.ceac_table(d)
    if t.empty:
        return None
    scs = [c for c in t.columns if c != "threshold"]
    fig, ax = plt.subplots(figsize=(11, 7))
    for sc in scs:
        ax.plot(t["threshold"], 100 * t[sc], lw=2.8, color=colour(d, sc), label=scenario_label(sc))
    for lam in NMB_THRESHOLDS:
        c_, ls = THRESHOLD_STYLE.get(lam, ("#555555", "--"))
        ax.axvline(lam, color=c_, ls=ls, lw=1.6)
        ax.text(lam + 800, 3, fmt_money(lam), color=c_, ha="left", va="bottom", fontsize=11)
    ax.set_xlim(0, float(t["threshold"].max()))
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_formatter(_money_axis())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    ax.set_xlabel(say("econ_ceac_xlabel"))
    ax.set_ylabel(say("econ_ceac_ylabel"))
    at20 = t.loc[t["threshold"] == NMB_THRESHOLDS[0]]
    parts = [f"{scenario_label(sc)} {100 * float(at20[sc].iloc[0]):.0f}%" for sc in scs] if len(at20) else []
    ax.set_title(wrap(say("econ_ceac_title", chances=parts), 70))
    ax.legend(frameon=False, loc="lower right")
    _noise_note(ax, d)
    _footer(fig, d, counts=False, intervals=False)
    path = out / "ceac.png"
    _save(fig, path)
    cap = say("econ_ceac_caption", n=bc.n_draws(d), psa=bc.is_psa(d), comparator=d.comparator)
    return Figure("ceac", path, say("econ_ceac_figure_title"), cap, "business case")


def _short(label: str, width: int = 46) -> str:
    """A parameter's label on one line: its first clause, cut at a word."""
    text = label.split(";")[0].strip().rstrip(".")
    text = text[:1].upper() + text[1:]
    if len(text) > width:
        text = text[: width - 1].rsplit(" ", 1)[0].rstrip(",: ") + "…"
    return text


def _name(parameter: str) -> str:
    """A parameter's name as words ('interventions.falls_mfa_cost' -> 'Falls mfa cost'), which identifies it
    better than the first words of its unit text."""
    text = parameter.split(".", 1)[-1].replace("_", " ")
    return text[:1].upper() + text[1:]


def _range(lo: object, hi: object) -> str:
    """'range 0.5 to 1.5' for scalar parameter values; for lists, that their elements move together."""
    try:
        a, b = float(lo), float(hi)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return say("econ_tornado_range", low="", high="")
    return say("econ_tornado_range", low=fmt(float(f"{a:.3g}")), high=fmt(float(f"{b:.3g}")))


def tornado_figure(d: RunData, out: Path, sc: str) -> Figure | None:
    """The ten largest one-way swings in NMB at £20,000, bars from the low to the high value."""
    t = bc.tornado(d, sc)
    if t is None:
        return None
    t = t.head(bc.TOP_TORNADO).iloc[::-1].reset_index(drop=True)
    central = float(t["central"].iloc[0])
    n = len(t)
    fig, ax = plt.subplots(figsize=(13, 2.6 + 0.75 * n))
    y = np.arange(n)
    for i, r in t.iterrows():
        ax.barh(i, r["at_low"] - central, left=central, color=LOW_COLOUR, height=0.6,
                label=say("econ_tornado_at", high=False) if i == 0 else None)
        ax.barh(i, r["at_high"] - central, left=central, color=HIGH_COLOUR, height=0.6, alpha=0.9,
                label=say("econ_tornado_at", high=True) if i == 0 else None)
    ax.axvline(central, color="black", lw=1.4, label=say("econ_tornado_central", value=fmt_money(central)))
    lo = float(min(t["at_low"].min(), t["at_high"].min(), central))
    hi = float(max(t["at_low"].max(), t["at_high"].max(), central))
    if lo <= 0 <= hi:
        ax.axvline(0, color="#1b7837", ls="--", lw=1.4, label=say("econ_tornado_zero"))
    names = [f"{_name(str(r['parameter']))}\n{_range(r.get('low_value'), r.get('high_value'))}"
             for _, r in t.iterrows()]
    ax.set_yticks(y, names, fontsize=11)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_formatter(_money_axis())
    ax.set_xlabel(say("econ_tornado_xlabel"))
    top = _name(str(t["parameter"].iloc[-1]))
    fig.suptitle(wrap(say("econ_tornado_title", scenario=scenario_label(sc), parameter=top[:1].lower() + top[1:]), 62),
                 fontsize=17, fontweight="bold")
    fig.legend(*ax.get_legend_handles_labels(), frameon=False, loc="lower center", bbox_to_anchor=(0.5, 0.035),
               ncol=2, fontsize=11)
    scale = t["scale"].iloc[0] if "scale" in t else None
    up = bool(t["scaled_up"].iloc[0]) if "scaled_up" in t else False
    where = d.ics_coverage  # the one-way sensitivity is of the run's whole area
    share = "" if scale is None or not scale < 1 else f"{scale:.0%}"
    fig.text(0.01, 0.005, say("econ_tornado_footer", area=where, share=share, scaled=up), fontsize=10,
             color="#666666", ha="left", va="bottom")
    path = out / f"tornado_{slug(sc)}.png"
    fig.tight_layout(rect=(0, 0.1 + 0.3 / n, 1, 1))
    fig.savefig(path, dpi=150)
    plt.close(fig)
    sampled = scale is not None and isinstance(scale, int | float) and math.isfinite(scale) and scale < 1
    cap = say("econ_tornado_caption", scenario=scenario_label(sc), share=f"{scale:.0%}" if sampled else "",
              factor=f"{1 / scale:.3g}" if sampled and scale > 0 else "", scale=f"{scale:g}" if sampled else "", scaled=up)
    return Figure(f"tornado:{sc}", path, say("econ_tornado_figure_title", scenario=scenario_label(sc)), cap,
                  "business case")


def _running(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ns = np.arange(2, x.size + 1)
    lo = np.array([np.quantile(x[:k], 0.025) for k in ns])
    hi = np.array([np.quantile(x[:k], 0.975) for k in ns])
    mean = np.cumsum(x)[1:] / ns
    return ns, mean, lo, hi


SETTLED_MCSE = 0.10  # a bound's Monte Carlo standard error, as a share of the interval's width
BOOTSTRAP = 1000


def bound_mcse(x: np.ndarray, seed: int = 0) -> float:
    """The larger Monte Carlo standard error of the 2.5th and 97.5th percentiles of the draws, as a share
    of the interval's width: how far the quoted bounds could move if the PSA were run again with as
    many draws (bootstrap over the draws, a fixed seed so the report is reproducible). Unlike the change
    over the last draws, it does not depend on the order the draws came in."""
    if x.size < 4:
        return math.nan
    rng = np.random.default_rng(seed)
    q = np.quantile(x[rng.integers(0, x.size, size=(BOOTSTRAP, x.size))], [0.025, 0.975], axis=1)
    lo, hi = np.quantile(x, [0.025, 0.975])
    width = hi - lo
    return float(np.max(q.std(axis=1, ddof=1)) / width) if width > 0 else 0.0


def draws_to_settle(mcse: float, n: int) -> int:
    """Draws for the bounds' Monte Carlo standard error to fall to SETTLED_MCSE of the width (it falls as one
    over the square root of the number of draws), rounded up to tens."""
    return int(math.ceil(n * (mcse / SETTLED_MCSE) ** 2 / 10.0) * 10)


def _convergence_title(worst: float, n: int) -> str:
    """The convergence figure's finding: whether the worst bound's Monte Carlo error (a share of the interval's
    width; NaN when too few draws) has settled, and if not how many of the n draws would settle it."""
    if not math.isfinite(worst):
        return say("econ_convergence_title", worst="", settled=False, needed="", target="")
    return say("econ_convergence_title", worst=f"{worst:.0%}", settled=worst < SETTLED_MCSE,
               needed=f"{draws_to_settle(worst, n):,}", target=f"{SETTLED_MCSE:.0%}")


def psa_convergence(d: RunData, out: Path) -> Figure | None:
    """Running mean and 2.5-97.5% interval of NMB at £20,000 against the number of draws."""
    w = bc.draws(d)
    if w.empty or OUT.nmb_20000 not in w:
        return None
    series = {}
    for sc in bc.economics_scenarios(d):
        x = w.loc[w["scenario"] == sc, OUT.nmb_20000].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if x.size >= bc.MIN_CONVERGENCE_DRAWS:
            series[sc] = x
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(11, 6.5))
    shifts = []
    for sc, x in series.items():
        ns, mean, lo, hi = _running(x)
        c = colour(d, sc)
        ax.plot(ns, mean, color=c, lw=2.4, label=scenario_label(sc))
        ax.fill_between(ns, lo, hi, color=c, alpha=0.15, lw=0)
        ax.plot(ns, lo, color=c, lw=1, ls="--")
        ax.plot(ns, hi, color=c, lw=1, ls="--")
        shifts.append(bound_mcse(x))
    ax.axhline(0, color="black", lw=0.9)
    ax.yaxis.set_major_formatter(_money_axis())
    ax.set_xlabel(say("econ_convergence_xlabel", psa=bc.is_psa(d)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(say("econ_convergence_ylabel"))
    worst = max(s for s in shifts if math.isfinite(s)) if any(math.isfinite(s) for s in shifts) else math.nan
    ax.set_title(wrap(_convergence_title(worst, max(x.size for x in series.values())), 70))
    ax.legend(frameon=False, loc="best")
    _noise_note(ax, d)
    _footer(fig, d, counts=True, intervals=False)
    path = out / "psa_convergence.png"
    _save(fig, path)
    cap = say("econ_convergence_caption", psa=bc.is_psa(d), target=f"{SETTLED_MCSE:.0%}")
    return Figure("psa_convergence", path, say("econ_convergence_figure_title"), cap, "business case")


def figures(d: RunData, out: Path) -> list[Figure]:
    """Every business-case figure the folder supports."""
    figs: list[Figure | None] = []
    for sc in bc.economics_scenarios(d):
        figs.append(ce_plane(d, out, sc))
        figs.append(tornado_figure(d, out, sc))
    figs += [ceac_figure(d, out), psa_convergence(d, out)]
    return [f for f in figs if f is not None]


__all__ = ["figures", "ce_plane", "threshold_lines", "ceac_figure", "tornado_figure", "psa_convergence", "bound_mcse", "draws_to_settle"]
