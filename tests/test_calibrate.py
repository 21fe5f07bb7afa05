"""neighsim calibrate: recovers a known value, resumes safely, writes a folder every command takes,
and the PSA draws calibrated parameters jointly from the accepted draws."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from neighsim.calibrate import Calibration, Knob, knob, score, write_value
from neighsim.cli import main
from neighsim.config import load_config
from neighsim.errors import ConfigError
from neighsim.parameters import ACCEPTED_DRAWS, load_parameters
from neighsim.paths import configs_dir

SMALL = ["--la", "Tamworth", "--scale", "0.1"]
TARGET = "falls_admissions_65plus"
TRUE = 0.05


def _targets_with_truth(tmp_path, cfg):
    """A targets file whose falls-admission figure is what the model gives at admission_per_fall = TRUE."""
    src = yaml.safe_load((configs_dir() / "targets.yaml").read_text())["targets"][TARGET]
    cal = Calibration(cfg, None, [Knob("falls.admission_per_fall", 0.02, 0.08, False)], [TARGET])
    observed = cal.simulate({"falls.admission_per_fall": TRUE})[TARGET]
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": {TARGET: {**src, "observed": float(observed), "tolerance": 0.05}}}))
    return path


def test_calibration_recovers_a_known_value(tmp_path, capsys):
    cfg = load_config(population={"local_authorities": ["Tamworth"], "scale": 0.1})
    targets = _targets_with_truth(tmp_path, cfg)
    out = tmp_path / "cal"
    argv = ["calibrate", *SMALL, "--parameters", "falls.admission_per_fall=0.02:0.08", "--targets", str(targets),
            "--trials", "16", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    folder = out / "calibrated"
    fitted = load_parameters(folder)
    assert fitted["falls.admission_per_fall"] == pytest.approx(TRUE, rel=0.12)
    assert fitted.spec("falls.admission_per_fall").calibrated
    record = yaml.safe_load((folder / "calibration.yaml").read_text())
    assert record["trials"] == 16 and record["targets"][0]["within"] and record["commit"]
    trials = pd.read_csv(out / "trials.csv")
    # the chosen trial: the lowest score among those inside every tolerance
    assert len(trials) == 16 and trials.loc[trials["within_all"], "score"].min() == pytest.approx(record["best_score"])
    assert record["lowest_score_of_any_trial"] == pytest.approx(trials["score"].min())
    accepted = pd.read_csv(folder / ACCEPTED_DRAWS)
    assert len(accepted) == int(trials["within_all"].sum()) >= 1
    assert accepted["falls.admission_per_fall"].between(0.02, 0.08).all()
    # every other parameter is untouched
    base = load_parameters(configs_dir() / "parameters")
    assert all(np.array_equal(fitted[k], base[k]) for k, _ in base.items() if k != "falls.admission_per_fall")
    # resume adds trials to the same study; other inputs are refused
    assert main(argv[:-5] + ["--trials", "18", "--out", str(out), "--quiet", "--resume"]) == 0
    assert len(pd.read_csv(out / "trials.csv")) == 18
    assert main(argv + ["--resume", "--months", "24"]) == 2
    assert "other inputs (months differ)" in capsys.readouterr().err
    assert main(argv) == 2  # a study is there: --resume or another folder
    # any command takes the calibrated folder
    assert main(["population", *SMALL, "--parameters", str(folder)]) == 0
    assert main(["population", *SMALL, "--parameters", str(tmp_path / "nowhere")]) == 2
    assert "--parameters" in capsys.readouterr().err


def test_psa_draws_calibrated_parameters_jointly(tmp_path):
    folder = tmp_path / "params"
    shutil.copytree(configs_dir() / "parameters", folder)
    for f in folder.glob(ACCEPTED_DRAWS):
        f.unlink()
    rows = pd.DataFrame({"falls.admission_per_fall": [0.031, 0.052], "falls.hip_fracture_per_fall": [0.007, 0.011]})
    rows.to_csv(folder / ACCEPTED_DRAWS, index=False)
    p = load_parameters(folder)
    rng = np.random.default_rng(3)
    seen = {(d["falls.admission_per_fall"], d["falls.hip_fracture_per_fall"]) for d in (p.draw(rng) for _ in range(40))}
    assert seen == {(0.031, 0.007), (0.052, 0.011)}  # pairs kept together, never mixed
    pd.DataFrame({"falls.nonsense": [1.0]}).to_csv(folder / ACCEPTED_DRAWS, index=False)
    with pytest.raises(ConfigError, match="falls.nonsense"):
        load_parameters(folder)
    pd.DataFrame({"falls.admission_per_fall": ["x"]}).to_csv(folder / ACCEPTED_DRAWS, index=False)
    with pytest.raises(ConfigError, match="finite number"):
        load_parameters(folder)


def test_ranges_scores_and_writing(tmp_path):
    p = load_parameters(configs_dir() / "parameters")
    k = knob(p.spec("falls.admission_per_fall"))  # beta: central 95%
    assert 0 < k.low < p["falls.admission_per_fall"] < k.high < 1
    assert knob(p.spec("mortality.q80_male"), "0.04:0.09") == Knob("mortality.q80_male", 0.04, 0.09, False)
    from neighsim.errors import NeighsimError

    with pytest.raises(NeighsimError, match="no uncertainty range"):
        knob(p.spec("mortality.q_background"))  # fixed: no range of its own
    with pytest.raises(NeighsimError, match="LOW:HIGH"):
        knob(p.spec("mortality.q80_male"), "0.09")
    with pytest.raises(NeighsimError, match="one number at a time"):
        knob(p.spec("mortality.ltc_rr"))
    targets = {"a": {"observed": 100.0, "tolerance": 0.1, "kind": "relative"},
               "b": {"observed": 5.0, "tolerance": 1.0, "kind": "absolute"}}
    value, within = score(targets, {"a": 110.0, "b": 7.0})
    assert value == pytest.approx((1.0 + 4.0) / 2) and within == {"a": True, "b": False}
    folder = tmp_path / "params"
    shutil.copytree(configs_dir() / "parameters", folder)
    write_value(folder, p.spec("falls.female_hip_rr"), 1.75, "fitted (test)")
    again = load_parameters(folder)
    assert again["falls.female_hip_rr"] == 1.75 and again.spec("falls.female_hip_rr").calibrated
    assert again.spec("falls.female_hip_rr").source == p.spec("falls.female_hip_rr").source
    assert (folder / "falls.yaml").read_text().startswith("# Falls")  # comments kept


@pytest.mark.parametrize("extra, target, why", [
    ([], "growth_65plus", "whole 60-month horizon and the run simulates 12 months"),
    (SMALL, "growth_65plus_one_year", "growth of all nine local authorities"),
    (SMALL, "le_male_stoke_on_trent", "Stoke-on-Trent, which the run does not hold"),
])
def test_targets_the_run_cannot_judge_are_refused_by_name(tmp_path, capsys, extra, target, why):
    """A named target the calibration run cannot simulate is a clear error, never a silent misfit
    (five-year growth against one simulated year, the nine LAs' growth against one LA)."""
    argv = ["calibrate", *extra, "--parameters", "falls.admission_per_fall", "--target", target,
            "--trials", "1", "--out", str(tmp_path / "cal"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert target in err and why in err and "Traceback" not in err
