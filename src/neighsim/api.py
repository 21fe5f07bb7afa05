"""A small Python API for notebooks: run, load and slice results as pandas DataFrames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ICSConfig, load_config
from .outcomes import OUT
from .runner.experiment import read_summary, run_experiment

__all__ = ["headline", "load_results", "run", "select"]


def run(out: str | Path, scenarios: list[str] | None = None, replicates: int = 1,
        config: ICSConfig | None = None, **kwargs: Any) -> pd.DataFrame:
    """Run the baseline (and scenario files) and return the summary DataFrame."""
    from .scenarios import load_scenarios

    cfg = config or load_config()
    sc = load_scenarios(scenarios, cfg) if scenarios else {}
    run_experiment(cfg, out, scenarios=sc, replicates=replicates, progress=False, **kwargs)
    return read_summary(out)


def load_results(out: str | Path) -> dict[str, Any]:
    """Everything in an output folder: summary, replicates, convergence, validation, manifest."""
    d = Path(out)
    res: dict[str, Any] = {"summary": read_summary(d)}
    for name, fname in (("replicates", "replicates.parquet"), ("economics", "economics_replicates.parquet")):
        if (d / fname).is_file():
            res[name] = pd.read_parquet(d / fname)
    for name in ("convergence", "validation"):
        if (d / f"{name}.csv").is_file():
            res[name] = pd.read_csv(d / f"{name}.csv")
    if (d / "manifest.json").is_file():
        res["manifest"] = json.loads((d / "manifest.json").read_text())
    return res


def select(summary: pd.DataFrame, outcome: str | None = None, *, scenario: str | None = None,
           period: str = "2026-2031", level: str = "ics", stratum: str = "all",
           measure: str | None = None) -> pd.DataFrame:
    """Rows of summary.csv for one outcome at one level (all areas), period and stratum."""
    s = summary[(summary["period"] == period) & (summary["level"] == level) & (summary["stratum"] == stratum)]
    if outcome is not None:
        s = s[s["outcome"] == outcome]
    if scenario is not None:
        s = s[s["scenario"] == scenario]
    if measure is not None:
        s = s[s["measure"] == measure]
    return s.reset_index(drop=True)


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario: five-year admissions avoided, costs, ROI, QALYs and inequality change."""
    rows = []
    for scen in summary["scenario"].unique():
        r: dict[str, Any] = {"scenario": scen}
        for outcome, measure, label in (
                (OUT.emergency_admissions, "value", "admissions"),
                (OUT.emergency_admissions, "difference", "admissions_change"),
                (OUT.bed_days, "difference", "bed_days_change"),
                (OUT.deaths, "difference", "deaths_change"),
                (OUT.cost_intervention, "difference", "intervention_cost"),
                (OUT.costs_avoided, "value", OUT.costs_avoided), (OUT.net_cost, "value", OUT.net_cost),
                (OUT.roi, "value", OUT.roi), (OUT.qalys_gained, "value", OUT.qalys_gained),
                (OUT.sii_admissions, "difference", "sii_admissions_change"),
                (OUT.core20_gap_admissions, "difference", "core20_gap_change")):
            x = select(summary, outcome, scenario=scen, measure=measure)
            if len(x):
                r[label] = x["mean"].iloc[0]
                r[f"{label}_lower"] = x["lower"].iloc[0]
                r[f"{label}_upper"] = x["upper"].iloc[0]
        rows.append(r)
    return pd.DataFrame(rows)
