"""End-to-end: the neighsim command on a small real population."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from neighsim.cli import main

SMALL = ["--la", "Tamworth", "--scale", "0.05"]
COLUMNS = ["scenario", "outcome", "period", "level", "area", "stratum", "measure", "mean", "lower", "upper"]


def test_run_writes_manifest_and_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", *SMALL, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replicates"] == 2 and manifest["seed"] == 20260401 and "versions" in manifest
    s = pd.read_csv(out / "summary.csv")
    assert list(s.columns[: len(COLUMNS)]) == COLUMNS
    assert {"2026/27", "2030/31", "2026-2031"} <= set(s["period"])
    assert {"ics", "place", "la", "locality", "neighbourhood"} == set(s["level"])  # la: life expectancy
    assert {"all", "sex=female", "imd_decile=1", "imd_quintile=5", "age_band=65-74", "core20=yes"} <= set(s["stratum"])
    for outcome in ("population", "emergency_admissions", "admissions_respiratory", "admissions_falls",
                    "deaths", "life_expectancy", "sii_life_expectancy", "bed_days"):
        assert outcome in set(s["outcome"]), outcome
    ics = s[(s["level"] == "ics") & (s["stratum"] == "all") & (s["period"] == "2026-2031")].set_index("outcome")
    causes = sum(ics.loc[f"admissions_{c}", "mean"] for c in ("respiratory", "cardiovascular", "falls", "other"))
    assert abs(ics.loc["emergency_admissions", "mean"] - causes) < 1e-6
    assert (s["lower"] <= s["mean"] + 1e-9).all() and (s["mean"] <= s["upper"] + 1e-9).all()
    assert "emergency_admissions" in capsys.readouterr().out
    # resume: nothing left to do, same summary
    assert main(["run", *SMALL, "--replicates", "2", "--out", str(out), "--quiet", "--resume"]) == 0
    pd.testing.assert_frame_equal(s, pd.read_csv(out / "summary.csv"))
    # without --resume the folder is protected
    assert main(["run", *SMALL, "--out", str(out), "--quiet"]) == 2


def test_run_psa_draws_parameters_per_replicate(tmp_path, capsys):
    """`--psa N`: N replicates, each with its own parameter draw (recorded as param_draw); --psa and
    --replicates together are refused in one line."""
    out = tmp_path / "psa"
    assert main(["run", *SMALL, "--psa", "2", "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["psa"] is True and manifest["replicates"] == 2
    reps = pd.read_parquet(out / "replicates.parquet", columns=["replicate", "param_draw"]).drop_duplicates()
    assert sorted(reps["param_draw"]) == [0, 1] and (reps["replicate"] == reps["param_draw"]).all()
    capsys.readouterr()
    assert main(["run", *SMALL, "--psa", "2", "--replicates", "2", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--replicates or --psa" in err and "Traceback" not in err and err.count("\n") == 1


def test_run_neighbourhood_subset_and_bad_ids(tmp_path, capsys, tamworth_ids):
    out = tmp_path / "nb"
    nb = str(tamworth_ids["Tamworth: Wilnecote & Belgrave"])
    assert main(["run", *SMALL, "--neighbourhoods", nb, "--out", str(out), "--quiet"]) == 0
    s = pd.read_csv(out / "summary.csv")
    assert set(s.loc[s["level"] == "neighbourhood", "area"]) == {"Tamworth: Wilnecote & Belgrave"}
    assert main(["run", *SMALL, "--neighbourhoods", "999", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown ids [999]" in err and "Traceback" not in err


def test_validate_and_plan(tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["validate", *SMALL, "--out", str(out), "--quiet"]) == 0
    v = pd.read_csv(out / "validation.csv")
    assert list(v.columns[:8]) == ["target", "measure", "source", "observed", "simulated", "simulated_final_year",
                                   "tolerance", "kind"]
    assert {"pass", "pass_final_year"} <= set(v.columns) and len(v) >= 20
    assert (out / "validation.png").stat().st_size > 1000
    drift = pd.read_csv(out / "drift.csv")
    assert {"measure", "age_band", "first_year", "final_year", "change", "within_5pct"} <= set(drift.columns)
    assert {"admissions_falls", "deaths", "frailty_severe", "prevalent_htn"} <= set(drift["measure"])
    assert main(["plan"]) == 0
    text = capsys.readouterr().out
    for name in ("emigration", "smoking", "conditions", "frailty", "falls", "admissions", "mortality", "births"):
        assert name in text


def test_bench_json(capsys):
    assert main(["bench", *SMALL, "--json", "--quiet"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("residents", "steps", "seconds", "agent_steps_per_second", "peak_memory_mb", "per_agent_speedup"):
        assert key in res
    assert res["per_agent_identical"] is True and res["per_agent_speedup"] > 1


def test_a_name_declared_twice_is_refused():
    """States, results and outcomes are declared once; a second declaration of a name is an error."""
    from neighsim.processes.base import Process
    from neighsim.processes.plan import PLAN, declared_results, declared_states

    class Copy(Process):
        name = "copy"
        states = PLAN[1].states
        results = PLAN[1].results

    assert len(declared_states()) == len({s.name for s in declared_states()})
    with pytest.raises(ValueError, match="declared twice"):
        declared_states((*PLAN, Copy))
    with pytest.raises(ValueError, match="declared twice"):
        declared_results((*PLAN, Copy))
