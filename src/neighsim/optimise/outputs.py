"""What `neighsim optimise` writes: allocation.csv, allocation_scenario.yaml, comparison.csv, curves.csv,
optimise.png, optimise.md and optimise.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from . import curves as cv
from .solver import OBJECTIVE_LABELS, OBJECTIVES

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import Result

UNITS = {"admissions": "admissions avoided", "qalys": "QALYs gained", "nmb": "£ NMB"}


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
        head = (f"# Written by `neighsim optimise`: the allocation of £{res.budget:,.0f} ({res.cost_basis} cost) in "
                f"{res.area.name}\n# maximising {OBJECTIVE_LABELS[res.objective]}"
                + (f", {res.equity.describe()}" if res.equity else "") + ".\n"
                "# Each neighbourhood has its own places a year (full scale): run it with\n"
                f"#   neighsim run {yml} --scale {res.settings['scale']:g} --scale-up"
                + ("" if res.area.whole_ics else "".join(f" --la '{la}'" for la in res.area.local_authorities))
                + "\n")
        yml.write_text(head + yaml.safe_dump(res.scenario, sort_keys=False, allow_unicode=True, width=110))
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
    unit = UNITS[res.objective]
    y = np.arange(len(s))[::-1]
    colours = ["#1b6ca8" if lab.startswith("optimised") else "#8c8c8c" for lab in s["label"]]
    panels = (("mean", "lower", "upper", "Net monetary benefit at £20,000 per QALY" if nmb else f"Total ({unit})"),
              ("per_mean", "per_lower", "per_upper", "£ of NMB per £1 spent" if nmb else f"{unit.capitalize()} per £1m spent"))
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
            ax.plot(s["predicted"], y, "D", color="#e07b00", ms=9, label="predicted from the curves (the optimiser's "
                                                                         "view: its own pick is biased up)")
            fig.legend(loc="outside lower center", fontsize=13, frameon=False)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([_wrap(t) for t in s["label"]] if ax is axes[0] else [])
        ax.set_title(title, fontsize=16)
        ax.tick_params(labelsize=13)
        ax.grid(axis="x", alpha=0.3)
    how = (f"{res.settings['psa']} PSA draws" if res.comparison is not None and res.settings.get("compare_psa")
           else f"{res.settings['psa']} replicates" if res.comparison is not None else "predicted from the curves")
    fig.suptitle(f"£{res.budget / 1e6:,.2f}m in {res.area.name}: optimised allocation against simple rules at "
                 f"the same money\n(mean and 95% interval, {how})", fontsize=16)
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
    lines = [f"## Optimised allocation: £{res.budget:,.0f} in {res.area.name}", ""]
    lines.append(f"Objective: **{OBJECTIVE_LABELS[res.objective]}** over {st['years']} years; budget on "
                 f"{'programme cost (discounted, measures annuitised)' if cost == 'cost' else 'programme cash'}; "
                 f"equity: {res.equity.describe() if res.equity else 'none'}. Curves from "
                 f"{st['replicates']} {'parameter draws' if st['curve_psa'] else 'replicates'} at a "
                 f"{st['scale'] * 100:g}% sample scaled up, levels {', '.join(f'{x:.0%}' for x in st['levels'])} of "
                 "what each neighbourhood could take.")
    lines += ["", "| intervention | neighbourhood | level | places a year | cost | predicted effect (95% interval) |",
              "| --- | --- | --- | --- | --- | --- |"]
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
        lines.append("| (nothing: no option improves the objective within the budget and constraints) | | | | | |")
    c = res.comparison
    if c is not None and len(c):
        how = "PSA draws" if st.get("compare_psa") else "replicates"
        lines += ["", f"Run as scenarios ({st['psa']} {how}) against simple rules spending the same money on each "
                      "intervention:", "",
                  "| strategy | effect (95% interval) | minus the optimised, draw by draw | per £1m | cost | "
                  "change in Core20 gap (per 1,000 a year) |",
                  "| --- | --- | --- | --- | --- | --- |"]
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
            plain = ("" if not np.isfinite(raw) else
                     f" (the plain sum of the chosen options' measured effects: {_num(raw, res.objective)})")
            lines += ["", f"The curves predicted {_num(o['predicted_mean'], res.objective)}{plain} for the optimised "
                          f"allocation; run afresh it gave {_num(o['objective_mean'], res.objective)}. An optimiser picks the options "
                          "whose measured effects were luckiest, so its prediction of its own pick is biased upwards "
                          "(the winner's curse); quote the run, and use more replicates or a larger --scale for "
                          "sharper curves."]
    lines += ["", "![Optimised allocation against simple rules](optimise.png)", ""]
    t = res.timings
    lines.append(f"Run time {t.get('total', 0):.0f} s (curves {t.get('demand', 0) + t.get('levels', 0):.0f} s, "
                 f"solve {t.get('solve', 0):.2f} s, comparison {t.get('compare', 0):.0f} s). Method and caveats: "
                 "docs/optimise.md (effects assumed separable by neighbourhood; interactions between interventions "
                 "in the same neighbourhood are in the comparison run, not in the prediction).")
    for n in res.notes:
        lines.append(f"- {n}")
    return "\n".join(lines) + "\n"


def console(res: Result) -> list[str]:
    """The lines `neighsim optimise` prints at the end."""
    value = OBJECTIVES[res.objective]
    cost = "cost" if res.cost_basis == "programme" else "cash"
    out = [f"Allocation of £{res.budget:,.0f} in {res.area.name} maximising {value}"
           + (f" ({res.equity.describe()})" if res.equity else "") + ":"]
    for r in res.allocation.itertuples():
        out.append(f"  {r.intervention:<16} {r.area[:60]:<60} {r.level:>5.0%} {r.capacity:>9,.0f} places/yr "
                   f"{_money(getattr(r, cost)):>10}  {value} {getattr(r, value):,.1f}")
    if not len(res.allocation):
        out.append("  nothing: no option improves the objective within the budget and constraints")
    if res.comparison is not None:
        out.append("Against simple rules at the same money (mean, 95% interval):")
        for r in res.comparison.itertuples():
            diff = getattr(r, "minus_optimised_mean", np.nan)
            paired = "" if not np.isfinite(diff) else (f"; minus the optimised {diff:,.1f} ({r.minus_optimised_lower:,.1f} "
                                                       f"to {r.minus_optimised_upper:,.1f})")
            out.append(f"  {r.label:<46} {value} {r.objective_mean:>12,.1f} ({r.objective_lower:,.1f} to "
                       f"{r.objective_upper:,.1f}){paired}; cost {_money(r.cost_mean)}; per £1m "
                       f"{r.objective_per_1m_mean:,.1f}; Core20 gap {r.gap_change_mean:+.2f} per 1,000")
    return out
