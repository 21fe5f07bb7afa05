"""Shared fixtures: small real populations (one or two local authorities) built once per session, and one
small validated run with made-up scenarios for the report's tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neighsim.analysis.summary import summarise_replicates
from neighsim.cli import main
from neighsim.config import load_config
from neighsim.population import build_population


@pytest.fixture(scope="session")
def tamworth_config():
    return load_config(population={"local_authorities": ["Tamworth"]})


@pytest.fixture(scope="session")
def tamworth(tamworth_config):
    return build_population(tamworth_config)


@pytest.fixture(scope="session")
def small_config():
    """About 8,000 residents of Tamworth: fast enough for engine tests."""
    return load_config(population={"local_authorities": ["Tamworth"], "scale": 0.1})


@pytest.fixture(scope="session")
def small_population(small_config):
    return build_population(small_config)


@pytest.fixture(scope="session")
def tamworth_ids() -> dict[str, int]:
    """Tamworth's neighbourhood ids by name (ids depend on the whole ICS's layout, names do not)."""
    geo = build_population(load_config(population={"local_authorities": ["Tamworth"], "scale": 0.05})).geography
    return dict(zip(geo.neighbourhoods["name"], geo.neighbourhoods["id"], strict=True))


SMALL_RUN = ["--la", "Tamworth", "--scale", "0.05"]


@pytest.fixture(scope="session")
def validated_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real run (Tamworth, 5% of residents, 2 replicates) and `neighsim validate`: a baseline-only
    folder. Shared: copy it (made_up_scenarios does) before writing anything that another test reads."""
    out = tmp_path_factory.mktemp("validated") / "baseline"
    assert main(["run", *SMALL_RUN, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    assert main(["validate", *SMALL_RUN, "--out", str(out), "--quiet"]) == 0
    return out


def _add_made_up_scenarios(src: Path, dst: Path) -> Path:
    """A copy of a real baseline folder with two invented scenarios, falls_pathway and warm_homes (test data,
    not model results): admission counts scaled down per replicate, with cost, QALY and inequality rows. The
    copy keeps its summary in summary.csv (results.parquet left behind), as older folders do; its numbers
    test the report's plumbing only."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("tasks", "figures", "report*", "results.*", "areas"))
    rep = pd.read_parquet(dst / "replicates.parquet")
    base = rep[rep["scenario"] == "baseline"]
    affected = base["outcome"].str.startswith(("admissions_", "emergency_admissions", "bed_days"))
    frames = [rep]
    for k, name in enumerate(("falls_pathway", "warm_homes")):
        sc = base.assign(scenario=name)
        factor = 1 - (0.05 + 0.02 * k) * (1 + 0.3 * np.random.default_rng(k).standard_normal(len(sc)))
        sc.loc[affected, "value"] = sc.loc[affected, "value"] * factor[affected.to_numpy()]
        frames.append(sc)
    rep = pd.concat(frames, ignore_index=True)
    ea = rep[(rep["outcome"] == "emergency_admissions") & (rep["level"] == "ics") & (rep["stratum"] == "all")]
    base_ea = ea[ea["scenario"] == "baseline"].set_index(["replicate", "period"])["value"]
    extra = []
    for r in ea.to_dict("records"):
        key = {k: v for k, v in r.items() if k not in ("outcome", "value")}
        is_base = r["scenario"] == "baseline"
        extra += [{**key, "outcome": "cost_admissions", "value": r["value"] * 2500.0},
                  {**key, "outcome": "sii_admissions", "value": 40.0 - (0.0 if is_base else 3.0)},
                  {**key, "outcome": "core20_gap_admissions", "value": 25.0 - (0.0 if is_base else 2.0)}]
        if not is_base:
            avoided = base_ea[(r["replicate"], r["period"])] - r["value"]
            cost = 50_000.0
            extra += [{**key, "outcome": "cost_intervention", "value": cost},
                      {**key, "outcome": "net_cost", "value": cost - 2500.0 * avoided},
                      {**key, "outcome": "roi", "value": 2500.0 * avoided / cost},
                      {**key, "outcome": "qalys", "value": 0.05 * avoided},
                      {**key, "outcome": f"{r['scenario']}_participants", "value": 300.0}]
    made_up = pd.DataFrame(extra)
    rep = rep[~rep["outcome"].isin(set(made_up["outcome"]))]  # replace, never duplicate, real outcomes
    summarise_replicates(pd.concat([rep, made_up], ignore_index=True), "baseline").to_csv(dst / "summary.csv",
                                                                                         index=False)
    return dst


@pytest.fixture(scope="session")
def made_up_scenarios() -> Callable[[Path, Path], Path]:
    """made_up_scenarios(src, dst): copy a baseline folder to dst and add two invented scenarios."""
    return _add_made_up_scenarios
