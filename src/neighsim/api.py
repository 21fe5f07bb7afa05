"""A small Python API for notebooks: run, load and slice results as pandas DataFrames."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ICSConfig, load_config
from .errors import ConfigError, NeighsimError
from .outcomes import OUT
from .paths import project_root
from .runner.experiment import read_summary, run_experiment

__all__ = ["headline", "load_results", "load_scenarios", "run", "scenario_path", "select"]

ScenarioInput = str | os.PathLike | Mapping[str, Any]


def run(out: str | Path, scenarios: ScenarioInput | Sequence[ScenarioInput] | None = None, replicates: int = 1,
        config: ICSConfig | None = None, **kwargs: Any) -> pd.DataFrame:
    """Run the baseline and scenarios, and return the summary DataFrame.

    `scenarios`: scenario files (paths; a relative path not found from the working folder is looked
    up in the project, as experiment files do) and/or dicts with the structure of a scenario file
    (name, description, interventions), validated by the same schema; one or a list. Other keyword
    arguments go to `run_experiment` (psa, neighbourhoods, backend, workers, resume, force_new, ...)."""
    cfg = config or load_config()
    sc = load_scenarios(scenarios, cfg)
    _fresh_population(cfg)
    run_experiment(cfg, out, scenarios=sc, replicates=replicates, progress=False, **kwargs)
    return read_summary(out)


def scenario_path(path: str | os.PathLike) -> Path:
    """A scenario file: as given if it exists (absolute, or relative to the working folder), else
    relative to the project root (the folder holding configs/)."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    q = project_root() / p
    if q.exists():
        return q
    raise ConfigError(str(p), None, f"scenario file not found (looked in the working folder {Path.cwd()} and the "
                                    f"project {project_root()})")


def load_scenarios(scenarios: ScenarioInput | Sequence[ScenarioInput] | None,
                   config: ICSConfig | None = None) -> dict[str, Any]:
    """Scenarios by name from files and/or dicts (see `run`), read together so that one may take the
    places of another (`capacity: {same_as: NAME}`). Errors name the file, or the dict as
    `<scenario dict N>` (N from 1), and the field."""
    from .interventions.capacity import resolve_same_as
    from .interventions.scenario import parse_scenario
    from .parameters import load_parameters
    from .yamlio import read_yaml

    if isinstance(scenarios, str | os.PathLike | Mapping):
        scenarios = [scenarios]
    if not scenarios:
        return {}
    cfg = config or load_config()
    params = load_parameters(cfg.parameters_dir())
    out: dict[str, Any] = {}
    for i, item in enumerate(scenarios, start=1):
        if isinstance(item, Mapping):
            label = f"<scenario dict {i}>"
            sc = parse_scenario(dict(item), cfg, file=label, params=params)
        elif isinstance(item, str | os.PathLike):
            p = scenario_path(item)
            label = str(p)
            sc = parse_scenario(read_yaml(p), cfg, file=label, params=params, default_name=p.stem)
        else:
            raise ConfigError(f"<scenario {i}>", None, "expected a scenario file (a path) or a dict with name, "
                                                       f"description and interventions, got {type(item).__name__}")
        if sc.name in out:
            raise ConfigError(label, "name", f"scenario name {sc.name!r} is used twice")
        out[sc.name] = sc
    return resolve_same_as(out)


def _fresh_population(cfg: ICSConfig) -> None:
    """Forget a population this process built from other parameter values (a parameter file edited,
    or a plug-in registered since), so that the run uses the parameters it is fingerprinted with."""
    from .parameters import load_parameters
    from .runner.fingerprint import parameters_digest
    from .runner.tasks import get_population, release_populations

    pop = get_population(cfg)  # the run needs it anyway: built here once, or the one this process holds
    if parameters_digest(pop.params) != parameters_digest(load_parameters(cfg.parameters_dir())):
        release_populations()


def load_results(out: str | Path) -> dict[str, Any]:
    """Everything in an output folder: summary, replicates, convergence, validation, manifest."""
    d = Path(out)
    res: dict[str, Any] = {"summary": read_summary(d)}
    for name, fname in (("replicates", "replicates.parquet"), ("economics", "economics_replicates.parquet")):
        if (d / fname).is_file():
            res[name] = pd.read_parquet(d / fname)
    for name in ("convergence", "validation"):
        if (d / f"{name}.csv").is_file():
            try:
                res[name] = pd.read_csv(d / f"{name}.csv")
            except pd.errors.EmptyDataError:  # e.g. convergence of a single replicate: nothing to show
                res[name] = pd.DataFrame()
    if (d / "manifest.json").is_file():
        res["manifest"] = json.loads((d / "manifest.json").read_text())
    return res


def select(summary: pd.DataFrame, outcome: str | None = None, *, scenario: str | None = None,
           period: str = "2026-2031", level: str | None = None, area: str | None = None, stratum: str = "all",
           measure: str | None = None) -> pd.DataFrame:
    """Rows of summary.csv for one outcome, period and stratum: at one level (all its areas), or for one
    area (`area`: a place, locality or neighbourhood name, any case; its level is found). Default: the
    ICS."""
    if area is not None:
        level, area = find_area(summary, area, level)
    level = level or "ics"
    s = summary[(summary["period"] == period) & (summary["level"] == level) & (summary["stratum"] == stratum)]
    if area is not None:
        s = s[s["area"] == area]
    if outcome is not None:
        s = s[s["outcome"] == outcome]
    if scenario is not None:
        s = s[s["scenario"] == scenario]
    if measure is not None:
        s = s[s["measure"] == measure]
    return s.reset_index(drop=True)


def find_area(summary: pd.DataFrame, name: str, level: str | None = None) -> tuple[str, str]:
    """(level, area) of an area named in any case (exactly, or the one area whose name starts with it);
    a clear error listing the areas otherwise."""
    from .report.data import resolve_area

    return resolve_area(summary[["level", "area"]].drop_duplicates(), name, level)


def headline(summary: pd.DataFrame, period: str = "2026-2031", *, level: str | None = None,
             area: str | None = None) -> pd.DataFrame:
    """One row per scenario: admissions avoided, costs, ROI, QALYs and inequality change over `period`
    (default the five years; a shorter projection has its own, e.g. '2026-2028' for two years), for the
    ICS or one area (`area`, any level; `level` narrows the search)."""
    if area is not None:
        level, area = find_area(summary, area, level)
    elif level not in (None, "ics"):
        raise NeighsimError(f"headline: level={level!r} has many areas; name one with area=")
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
            x = select(summary, outcome, scenario=scen, measure=measure, period=period, level=level, area=area)
            if len(x):
                r[label] = x["mean"].iloc[0]
                r[f"{label}_lower"] = x["lower"].iloc[0]
                r[f"{label}_upper"] = x["upper"].iloc[0]
        if area is not None:
            r = {"level": level, "area": area} | r
        rows.append(r)
    return pd.DataFrame(rows)
