"""What `neighsim optimise` writes: allocation.csv, allocation_scenario.yaml, comparison.csv, curves.csv,
optimise.png, optimise.md and optimise.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from ..wording import say
from . import curves as cv
from .solver import OBJECTIVES, objective_label

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import Result


def _money(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    a = abs(x)
    s = f"£{a / 1e6:,.2f}m" if a >= 1e6 else f"£{a:,.0f}"
    return ("-" if x < 0 else "") + s


def _num(x: float, objective: str) -> str:
    if not np.isfinite(x):
        return "-"
    return _money(x) if objective == "nmb" else f"{x:,.1f}"


def allocation_table(res: Result) -> pd.DataFrame:
    value = OBJECTIVES[res.objective]
    a = res.allocation
    out = pd.DataFrame({
        "intervention": a["intervention"], "neighbourhood_id": a["neighbourhood"], "neighbourhood": a["area"],
        "level": a["level"], "capacity": a["capacity"].round(1), "cost": a["cost"].round(0),
        "cash": a["cash"].round(0), "objective": value,
        "effect_mean": a[value], "effect_lower": a[f"{value}_lower"], "effect_upper": a[f"{value}_upper"],
        "admissions_avoided": a["admissions_avoided"], "qalys_gained": a["qalys_gained"],
        "nmb_20000": a["nmb_20000"], "gap_change": a["gap_change"], "core20_cost": a["core20_cost"].round(0)})
    p = res.predicted
    sd = p.std(ddof=1).fillna(0.0) if len(p) > 1 else p.iloc[0] * 0 if len(p) else pd.Series(dtype=float)
    if len(p):
        total = {"intervention": "TOTAL", "neighbourhood_id": np.nan, "neighbourhood": "", "level": np.nan,
                 "capacity": np.nan, "cost": round(float(p["cost"].mean())), "cash": round(float(p["cash"].mean())),
                 "objective": value, "effect_mean": float(p[value].mean()),
                 "effect_lower": float(p[value].mean() - cv.Z95 * sd[value]),
                 "effect_upper": float(p[value].mean() + cv.Z95 * sd[value]),
                 "admissions_avoided": float(p["admissions_avoided"].mean()),
                 "qalys_gained": float(p["qalys_gained"].mean()), "nmb_20000": float(p["nmb_20000"].mean()),
                 "gap_change": float(p["gap_change"].mean()), "core20_cost": round(float(p["core20_cost"].mean()))}
        out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    out["neighbourhood_id"] = out["neighbourhood_id"].astype("Int64")
    return out


def write_all(res: Result) -> dict[str, Path]:
    out = res.out
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    res.options.to_csv(out / "curves.csv", index=False)
    paths["curves"] = out / "curves.csv"
    allocation_table(res).to_csv(out / "allocation.csv", index=False)
    paths["allocation"] = out / "allocation.csv"
    yml = out / "allocation_scenario.yaml"
    if res.scenario is not None:
        yml.write_text(_scenario_header(res, yml) + yaml.safe_dump(res.scenario, sort_keys=False, allow_unicode=True,
                                                                   width=110))
        paths["scenario"] = yml
    elif yml.exists():
        yml.unlink()
    if res.comparison is not None:
        res.comparison.to_csv(out / "comparison.csv", index=False)
        paths["comparison"] = out / "comparison.csv"
    paths["figure"] = figure(res, out / "optimise.png")
    (out / "optimise.md").write_text(markdown(res))
    paths["markdown"] = out / "optimise.md"
    meta = {"budget": res.budget, "objective": res.objective, "equity": res.equity.text if res.equity else None,
            "cost_basis": res.cost_basis, "area": {"level": res.area.level, "name": res.area.name,
                                                    "neighbourhoods": list(res.area.ids)},
            "interventions": {c.name: {"file": c.file, "limit_per_year": c.limit, "notes": c.notes}
                              for c in res.candidates},
            "settings": res.settings, "timings_seconds": {k: round(v, 1) for k, v in res.timings.items()},
            "notes": res.notes, "written": cv.stamp()}
    (out / "optimise.json").write_text(json.dumps(meta, indent=2, default=str))
    paths["json"] = out / "optimise.json"
    return paths


def _scenario_header(res: Result, yml: Path) -> str:
    """The comment at the top of allocation_scenario.yaml, ending with the command line that runs it (an argv,
    kept out of the wording so that the path is written as it is)."""
    head = say("opt_scenario_header", budget=f"{res.budget:,.0f}", cost_basis=res.cost_basis, area=res.area.name,
               objective=objective_label(res.objective), equity=res.equity.describe() if res.equity else "")
    argv = ["neighsim", "run", str(yml), "--scale", f"{res.settings['scale']:g}", "--scale-up"]
    if not res.area.whole_ics:
        argv += [part for la in res.area.local_authorities for part in ("--la", f"'{la}'")]
    return f"{head}\n#   {' '.join(argv)}\n"


def _strategies(res: Result) -> pd.DataFrame:
    """Per strategy: label, total objective and per £1m with intervals (from the comparison run, or the
    curves' predictions when there was none)."""
    if res.comparison is not None and len(res.comparison):
        c = res.comparison
        return pd.DataFrame({"label": c["label"], "mean": c["objective_mean"], "lower": c["objective_lower"],
                             "upper": c["objective_upper"], "per_mean": c["objective_per_1m_mean"],
                             "per_lower": c["objective_per_1m_lower"], "per_upper": c["objective_per_1m_upper"],
                             "predicted": c.get("predicted_mean", pd.Series(np.nan, index=c.index))})
    value = OBJECTIVES[res.objective]
    cost = "cost" if res.cost_basis == "programme" else "cash"
    rows = []
    for label, p in [("optimised allocation", res.predicted)] + [(r.label, r.predicted) for r in res.rules]:
        if p is None or not len(p):
            continue
        sd = float(p[value].std(ddof=1)) if len(p) > 1 else 0.0
        per = p[value] / p[cost].where(p[cost] > 0) * 1e6
        rows.append({"label": label, "mean": p[value].mean(), "lower": p[value].mean() - cv.Z95 * sd,
                     "upper": p[value].mean() + cv.Z95 * sd, "per_mean": per.mean(), "per_lower": per.min(),
                     "per_upper": per.max(), "predicted": p[value].mean()})
    return pd.DataFrame(rows)


def figure(res: Result, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    s = _strategies(res)
    nmb = res.objective == "nmb"
    if nmb:  # NMB per £1 spent reads better than per £1m
        s[["per_mean", "per_lower", "per_upper"]] = s[["per_mean", "per_lower", "per_upper"]] / 1e6
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.6), constrained_layout=True)
    y = np.arange(len(s))[::-1]
    colours = ["#1b6ca8" if lab.startswith("optimised") else "#8c8c8c" for lab in s["label"]]
    panels = (("mean", "lower", "upper", say("opt_figure_total_title", objective=res.objective)),
              ("per_mean", "per_lower", "per_upper", say("opt_figure_per_title", objective=res.objective)))
    for ax, (m, lo, hi, title) in zip(axes, panels, strict=True):
        if nmb and m == "mean":
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{'-' if v < 0 else ''}£{abs(v) / 1e6:,.1f}m"))
        elif nmb:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{'-' if v < 0 else ''}£{abs(v):,.1f}"))
        else:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        mean = s[m].to_numpy(float)
        err = np.vstack([np.clip(mean - s[lo].to_numpy(float), 0, None), np.clip(s[hi].to_numpy(float) - mean, 0, None)])
        ax.barh(y, mean, color=colours, height=0.6)
        ax.errorbar(mean, y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=6, lw=1.6)
        if m == "mean" and s["predicted"].notna().any():
            ax.plot(s["predicted"], y, "D", color="#e07b00", ms=9, label=say("opt_figure_predicted"))
            fig.legend(loc="outside lower center", fontsize=13, frameon=False)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([_wrap(t) for t in s["label"]] if ax is axes[0] else [])
        ax.set_title(title, fontsize=16)
        ax.tick_params(labelsize=13)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(say("opt_figure_title", millions=f"{res.budget / 1e6:,.2f}", area=res.area.name,
                     draws=res.settings["psa"], compared=res.comparison is not None,
                     psa=bool(res.settings.get("compare_psa"))), fontsize=16)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def _wrap(text: str, width: int = 22) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def markdown(res: Result) -> str:
    value = OBJECTIVES[res.objective]
    cost = "cost" if res.cost_basis == "programme" else "cash"
    st = res.settings
    lines = [say("opt_md_heading", budget=f"{res.budget:,.0f}", area=res.area.name), ""]
    lines.append(say("opt_md_objective", objective=objective_label(res.objective), years=st["years"],
                     cash=cost == "cash", equity=res.equity.describe() if res.equity else "",
                     replicates=st["replicates"], curve_psa=st["curve_psa"], scale=f"{st['scale'] * 100:g}",
                     levels=", ".join(f"{x:.0%}" for x in st["levels"])))
    lines += ["", say("opt_md_allocation_columns")]
    for r in res.allocation.itertuples():
        lines.append(f"| {r.intervention.replace('_', ' ')} | {r.area} | {r.level:.0%} | {r.capacity:,.0f} | "
                     f"{_money(getattr(r, cost))} | {_num(getattr(r, value), res.objective)} "
                     f"({_num(getattr(r, value + '_lower'), res.objective)} to "
                     f"{_num(getattr(r, value + '_upper'), res.objective)}) |")
    p = res.predicted
    if len(p):
        sd = float(p[value].std(ddof=1)) if len(p) > 1 else 0.0
        lines.append(f"| **total** | | | | {_money(float(p[cost].mean()))} | "
                     f"{_num(float(p[value].mean()), res.objective)} ({_num(float(p[value].mean()) - cv.Z95 * sd, res.objective)} "
                     f"to {_num(float(p[value].mean()) + cv.Z95 * sd, res.objective)}) |")
    if not len(res.allocation):
        lines.append(f"| ({say('opt_nothing')}) | | | | | |")
    lines += _md_comparison(res)
    lines += ["", say("opt_md_figure"), ""]
    t = res.timings
    lines.append(say("opt_md_timings", total=f"{t.get('total', 0):.0f}",
                     curves=f"{t.get('demand', 0) + t.get('levels', 0):.0f}", solve=f"{t.get('solve', 0):.2f}",
                     compare=f"{t.get('compare', 0):.0f}"))
    for n in res.notes:
        lines.append(f"- {n}")
    return "\n".join(lines) + "\n"


def _md_comparison(res: Result) -> list[str]:
    """The report's lines on the comparison run: the strategies' table, then the curves' prediction against the
    rerun (none without a comparison)."""
    c = res.comparison
    if c is None or not len(c):
        return []
    lines = ["", say("opt_md_comparison_intro", draws=res.settings["psa"], psa=bool(res.settings.get("compare_psa"))),
             "", say("opt_md_comparison_columns")]
    for r in c.itertuples():
        diff = getattr(r, "minus_optimised_mean", np.nan)
        paired = ("" if not np.isfinite(diff) else
                  f"{_num(diff, res.objective)} ({_num(r.minus_optimised_lower, res.objective)} to "
                  f"{_num(r.minus_optimised_upper, res.objective)})")
        lines.append(f"| {r.label} | {_num(r.objective_mean, res.objective)} ({_num(r.objective_lower, res.objective)} "
                     f"to {_num(r.objective_upper, res.objective)}) | {paired} | "
                     f"{_num(r.objective_per_1m_mean, res.objective)} | {_money(r.cost_mean)} | "
                     f"{r.gap_change_mean:+.2f} ({r.gap_change_lower:+.2f} to {r.gap_change_upper:+.2f}) |")
    opt = c[c["strategy"] == "optimised"]
    if len(opt) and "predicted_mean" in opt and np.isfinite(opt["predicted_mean"].iloc[0]):
        o = opt.iloc[0]
        raw = o.get("predicted_unshrunk_mean", np.nan)
        lines += ["", say("opt_md_winners_curse", predicted=_num(o["predicted_mean"], res.objective),
                          unshrunk=_num(raw, res.objective) if np.isfinite(raw) else "",
                          rerun=_num(o["objective_mean"], res.objective))]
    return lines


def console(res: Result) -> list[str]:
    """The lines `neighsim optimise` prints at the end."""
    value = OBJECTIVES[res.objective]
    cost = "cost" if res.cost_basis == "programme" else "cash"
    out = [say("opt_console_heading", budget=f"{res.budget:,.0f}", area=res.area.name,
               objective=objective_label(res.objective),
               equity=res.equity.describe() if res.equity else "")]
    for r in res.allocation.itertuples():
        out.append(f"  {r.intervention:<16} {r.area[:60]:<60} {r.level:>5.0%} {r.capacity:>9,.0f} places/yr "
                   f"{_money(getattr(r, cost)):>10}  {value} {getattr(r, value):,.1f}")
    if not len(res.allocation):
        out.append(f"  {say('opt_nothing')}")
    if res.comparison is not None:
        out.append(say("opt_console_rules_heading"))
        for r in res.comparison.itertuples():
            diff = getattr(r, "minus_optimised_mean", np.nan)
            paired = np.isfinite(diff)
            words = say("opt_console_rule", lower=f"{r.objective_lower:,.1f}", upper=f"{r.objective_upper:,.1f}",
                        minus=f"{diff:,.1f}" if paired else "",
                        minus_lower=f"{r.minus_optimised_lower:,.1f}" if paired else "",
                        minus_upper=f"{r.minus_optimised_upper:,.1f}" if paired else "",
                        cost=_money(r.cost_mean), per_1m=f"{r.objective_per_1m_mean:,.1f}",
                        gap=f"{r.gap_change_mean:+.2f}")
            out.append(f"  {r.label:<46} {value} {r.objective_mean:>12,.1f} {words}")
    return out
