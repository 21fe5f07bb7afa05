"""One-way sensitivity analysis: parameter quantiles, common random numbers, the tornado table and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neighsim.cli import main
from neighsim.config import load_config
from neighsim.errors import NeighsimError
from neighsim.parameters import Parameter, ParameterSet, load_parameters
from neighsim.population.geography import ICS_NAME
from neighsim.runner.sensitivity import (
    BASELINE,
    COLUMNS,
    OUTCOMES,
    _economics,
    _setup,
    _simulate,
    default_candidates,
    intervention_candidates,
    lean_reduce,
    lean_summary,
    run_sensitivity,
)
from neighsim.runner.tasks import Task, get_population, run_task
from neighsim.scenarios import load_scenarios

FALLS = "configs/scenarios/falls_pathway.yaml"
TINY = ["--la", "Tamworth", "--scale", "0.02"]
EFFECT = "interventions.falls_mfa_rate_ratio"
OTHER_MODULE = "interventions.tobacco_inpatient_screened"  # tobacco's: the falls pathway never reads it


def P(value, dist) -> Parameter:
    return Parameter(name="t.x", value=value, source="test", confidence="A", dist=dist)


# --- Parameter.quantile -------------------------------------------------------------------------------
def test_quantile_known_answers():
    z = stats.norm.ppf(0.975)
    assert P(0.8, {"type": "lognormal", "se": 0.1}).quantile(0.5) == pytest.approx(0.8)
    assert P(0.8, {"type": "lognormal", "se": 0.1}).quantile(0.975) == pytest.approx(0.8 * np.exp(0.1 * z))
    assert P(2.0, {"type": "normal", "sd": 0.5}).quantile(0.975) == pytest.approx(2.0 + 0.5 * 1.959964)
    assert P(0.3, {"type": "beta", "a": 30, "b": 70}).quantile(0.1) == pytest.approx(stats.beta.ppf(0.1, 30, 70))
    assert P(300.0, {"type": "gamma", "shape": 16}).quantile(0.9) == pytest.approx(
        stats.gamma.ppf(0.9, 16, scale=300.0 / 16))
    assert P(0.95, {"type": "triangular", "low": 0.85, "high": 1.0}).quantile(0.5) == pytest.approx(
        stats.triang.ppf(0.5, (0.95 - 0.85) / 0.15, loc=0.85, scale=0.15))
    assert P(12.0, {"type": "uniform", "low": 6, "high": 18}).quantile(0.25) == pytest.approx(9.0)
    assert P(1.5, {"type": "fixed"}).quantile(0.975) == 1.5
    with pytest.raises(ValueError):
        P(1.0, {"type": "normal", "sd": 1}).quantile(1.0)


def test_quantile_of_lists_moves_every_element_at_the_same_quantile():
    z = stats.norm.ppf(0.975)
    shared = P((1.0, 2.0), {"type": "lognormal", "se": 0.1}).quantile(0.975)
    assert shared == pytest.approx((np.exp(0.1 * z), 2.0 * np.exp(0.1 * z)))
    own = P((1.0, 2.0, 3.0), {"type": "lognormal", "se": [0.0, 0.1, 0.2]}).quantile(0.975)
    assert own == pytest.approx((1.0, 2.0 * np.exp(0.1 * z), 3.0 * np.exp(0.2 * z)))
    assert P((1.0, 2.0), {"type": "normal", "sd": 0.5}).quantile(0.025) == pytest.approx((1 - 0.98, 2 - 0.98), abs=1e-3)
    assert isinstance(P((5.0, 6.0), {"type": "gamma", "shape": 4}).quantile(0.5), tuple)


@pytest.mark.parametrize("dist", [{"type": "lognormal", "se": 0.2}, {"type": "normal", "sd": 0.1},
                                  {"type": "beta", "a": 20, "b": 20}, {"type": "gamma", "shape": 9},
                                  {"type": "triangular", "low": 0.4, "high": 0.9}, {"type": "uniform", "low": 0.1,
                                                                                     "high": 0.3}])
def test_quantile_agrees_with_draw(dist):
    """The quantiles are those of the distribution `draw` samples: the median of many draws is near
    quantile 0.5, about 2.5% of draws fall below quantile 0.025 and 97.5% below 0.975."""
    p = P(0.5, dist)
    rng = np.random.default_rng(1)
    draws = np.array([p.draw(rng).value for _ in range(20_000)])
    lo, mid, hi = p.quantile(0.025), p.quantile(0.5), p.quantile(0.975)
    assert np.median(draws) == pytest.approx(mid, rel=0.02, abs=1e-3)
    assert (draws < lo).mean() == pytest.approx(0.025, abs=0.005)
    assert (draws < hi).mean() == pytest.approx(0.975, abs=0.005)
    if dist["type"] in ("triangular", "uniform"):
        assert dist["low"] <= lo < hi <= dist["high"]


def test_parameter_set_quantile_uses_the_accepted_joint_draws():
    params = load_parameters("configs/parameters")
    assert params.quantile(EFFECT, 0.5) == pytest.approx(params[EFFECT])
    joint = pd.DataFrame({"falls.admission_per_fall": [0.01, 0.02, 0.03, 0.04, 0.05]})
    ps = ParameterSet(dict(params.items()), joint)
    assert ps.quantile("falls.admission_per_fall", 0.5) == pytest.approx(0.03)
    assert ps.quantile("falls.admission_per_fall", 0.975) == pytest.approx(np.quantile(joint.iloc[:, 0], 0.975))
    with pytest.raises(KeyError):
        ps.quantile("falls.nope", 0.5)
    assert replace(params.spec(EFFECT)).quantile(0.975) > params[EFFECT]


# --- the runs --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def falls_setup():
    cfg = load_config(population={"local_authorities": ["Tamworth"], "scale": 0.05})
    scenario = load_scenarios([FALLS], cfg)["falls_pathway"]
    return cfg, scenario, get_population(cfg), load_parameters(cfg.parameters_dir())


def _run(cfg, pop, params, name, scenario=None):
    nbs = tuple(pop.geography.neighbourhood_ids())
    return run_task(cfg, Task(name, 0, nbs, -1), scenario=scenario, population=pop, params=params).counts


def test_default_candidates(falls_setup):
    cfg, scenario, _, params = falls_setup
    names = default_candidates(scenario, params)
    assert EFFECT in names and "interventions.falls_mfa_cost" in names and "economics.cost_hip_fracture" in names
    assert "falls.admission_per_fall" in names and "mortality.frailty_hr" in names
    assert not [n for n in names if n.startswith("interventions.") and "falls" not in n]
    assert all(params.spec(n).dist["type"] != "fixed" for n in names)
    assert "interventions.falls_fls_coverage" not in names  # fixed


def test_an_effect_parameter_moves_the_scenario_not_the_baseline(falls_setup):
    cfg, scenario, pop, params = falls_setup
    hi = params.update({EFFECT: params.quantile(EFFECT, 0.975)})
    pd.testing.assert_frame_equal(_run(cfg, pop, params, "baseline"), _run(cfg, pop, hi, "baseline"))
    a, b = _run(cfg, pop, params, "s", scenario), _run(cfg, pop, hi, "s", scenario)
    assert a.loc[a["measure"] == "falls", "value"].sum() < b.loc[b["measure"] == "falls", "value"].sum()
    res = run_sensitivity(cfg, FALLS, None, parameters=[EFFECT], progress=False)
    t = res["table"].set_index("outcome")
    assert t.loc["nmb_20000", "at_high"] != t.loc["nmb_20000", "central"]
    assert t.loc["nmb_20000", "swing"] > 0
    assert res["manifest"]["simulations"] == 2 + 2  # central arms, then the scenario alone at low and high


def test_scale_up_multiplies_the_tornados_money_by_one_over_the_scale(falls_setup):
    cfg, *_ = falls_setup
    plain = run_sensitivity(cfg, FALLS, None, parameters=[EFFECT], progress=False)["table"]
    up_cfg = cfg.with_overrides(population={"scale_up": True})
    up = run_sensitivity(up_cfg, FALLS, None, parameters=[EFFECT], progress=False)["table"]
    assert not plain["scaled_up"].any() and up["scaled_up"].all()
    for col in ("central", "at_low", "at_high", "swing"):
        np.testing.assert_allclose(up[col], plain[col] / 0.05, rtol=1e-12)


def test_a_parameter_the_scenario_cannot_touch_has_no_swing(falls_setup):
    """Common random numbers: runs that differ only in a parameter nobody reads are identical."""
    cfg, scenario, pop, params = falls_setup
    other = params.update({OTHER_MODULE: params.quantile(OTHER_MODULE, 0.975)})
    pd.testing.assert_frame_equal(_run(cfg, pop, params, "s", scenario), _run(cfg, pop, other, "s", scenario))
    res = run_sensitivity(cfg, FALLS, None, parameters=[OTHER_MODULE, "economics.cost_admission_falls"],
                          progress=False)
    t = res["table"]
    assert (t.loc[t["parameter"] == OTHER_MODULE, "swing"] == 0).all()
    money = t[(t["parameter"] == "economics.cost_admission_falls") & (t["outcome"] == "net_cost")]
    assert money["swing"].iloc[0] > 0  # a cost parameter: the same runs, costed again
    assert res["manifest"]["simulations"] == 2  # neither needs a new simulation


def _tidy(cfg, pop, params, name, scenario=None, replicate=0, lean=True):
    from neighsim.analysis.summary import reduce_run

    nbs = tuple(pop.geography.neighbourhood_ids())
    res = run_task(cfg, Task(name, replicate, nbs, -1), scenario=scenario, population=pop, params=params)
    if lean:
        return lean_reduce(res.counts, cfg.time.months, cfg.time.start, params)
    return reduce_run(res.counts, res.lifetable, pop.geography, cfg.time.months, cfg.time.start, lambda d: params)


def test_the_lean_summary_gives_the_full_summarys_ics_economics(falls_setup):
    """lean_reduce (ICS only, strata all and age bands) -> economics_rows: the same ICS economics, every
    period and outcome (survivors' included), as the full reduce_run summary."""
    from neighsim.analysis.impacts import economics_rows
    from neighsim.analysis.summary import period_labels

    cfg, scenario, pop, params = falls_setup
    labels, whole = period_labels(cfg.time.months, cfg.time.start)
    years = list(dict.fromkeys(labels))
    econ = {}
    for lean in (True, False):
        tidy = pd.concat([_tidy(cfg, pop, params, BASELINE, lean=lean),
                          _tidy(cfg, pop, params, "falls_pathway", scenario, lean=lean)], ignore_index=True)
        e = economics_rows(tidy, BASELINE, years, whole, lambda d: params)
        e = e[(e["level"] == "ics") & (e["area"] == ICS_NAME) & (e["stratum"] == "all")]
        econ[lean] = e.set_index(["scenario", "replicate", "param_draw", "period", "outcome"])["value"].sort_index()
    lean, full = econ[True], econ[False]
    # the worker's path (counts summed straight from the model's recorder) gives lean_summary's rows
    _setup(cfg, (Path(FALLS),))
    for arm, scen in ((BASELINE, None), ("falls_pathway", scenario)):
        direct, _ = _simulate(arm, {}, 0, False, False)
        nbs = tuple(pop.geography.neighbourhood_ids())
        counts = run_task(cfg, Task(arm, 0, nbs, -1), scenario=scen, population=pop, params=params).counts
        via = lean_summary(counts, cfg.time.months, cfg.time.start)
        key = ["scenario", "replicate", "param_draw", "period", "level", "area", "stratum", "outcome"]
        a, b = (d.set_index(key)["value"].sort_index() for d in (direct, via))
        assert a.index.equals(b.index)
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=1e-9)
    assert lean.index.equals(full.index) and len(lean) > 100
    assert {whole, *years} <= set(lean.index.get_level_values("period"))
    assert {"nmb_20000", "net_cost", "qalys_gained", "survivor_admissions"} <= set(lean.index.get_level_values(-1))
    np.testing.assert_allclose(lean.to_numpy(), full.to_numpy(), rtol=1e-9, atol=1e-6, equal_nan=True)


def test_workers_do_not_change_the_tornado(tmp_path):
    cfg = load_config(population={"local_authorities": ["Tamworth"], "scale": 0.02})
    names = [EFFECT, "economics.utility_multiplier_frailty", "interventions.falls_mfa_cost",
             "economics.cost_hip_fracture"]
    for w in (1, 2):
        res = run_sensitivity(cfg, FALLS, tmp_path / f"w{w}", parameters=names, workers=w, progress=False)
        assert res["manifest"]["workers"] == w
    assert (tmp_path / "w1" / "tornado.csv").read_bytes() == (tmp_path / "w2" / "tornado.csv").read_bytes()


def test_several_scenarios_share_the_baseline(tmp_path):
    """Two scenario files in one call: each tornado as from its own call, with the baseline's runs shared."""
    from neighsim.runner.sensitivity import run_sensitivities

    cfg = load_config(population={"local_authorities": ["Tamworth"], "scale": 0.02})
    tobacco = "configs/scenarios/tobacco.yaml"
    names = [EFFECT, "economics.utility_multiplier_frailty"]
    both = run_sensitivities(cfg, [FALLS, tobacco], tmp_path / "both", parameters=names, workers=2, progress=False)
    assert list(both) == ["falls_pathway", "tobacco"]
    alone = {}
    for f in (FALLS, tobacco):
        res = run_sensitivity(cfg, f, tmp_path / Path(f).stem, parameters=names, workers=2, progress=False)
        alone[res["manifest"]["scenario"]] = res
    for name in both:
        assert (tmp_path / "both" / name / "tornado.csv").read_bytes() == \
            (tmp_path / name / "tornado.csv").read_bytes()
        assert both[name]["manifest"]["simulations"] == alone[name]["manifest"]["simulations"]
    # falls: 2 central + 2 arms x 2 (utility) + 2 (effect); tobacco: 2 + 4; together the baseline's 1 + 2 once
    assert [alone[n]["manifest"]["simulations"] for n in both] == [8, 6]
    assert both["tobacco"]["manifest"]["simulations_in_call"] == 8 + 6 - 3


def test_replicates_average_common_random_numbers(falls_setup):
    """--replicates 2: every point is the mean over replicates 0 and 1, the same two at every point."""
    from neighsim.analysis.summary import period_labels

    cfg, scenario, pop, params = falls_setup
    res = run_sensitivity(cfg, FALLS, None, parameters=[EFFECT, OTHER_MODULE], replicates=2, progress=False)
    m = res["manifest"]
    assert m["replicates"] == 2 and m["simulations"] == 2 * (2 + 2)  # central arms, the scenario at low and high
    labels, whole = period_labels(cfg.time.months, cfg.time.start)
    years = list(dict.fromkeys(labels))
    per_rep = [_economics({BASELINE: _tidy(cfg, pop, params, BASELINE, replicate=r),
                           "falls_pathway": _tidy(cfg, pop, params, "falls_pathway", scenario, replicate=r)},
                          "falls_pathway", years, whole, params) for r in (0, 1)]
    assert per_rep[0]["nmb_20000"] != per_rep[1]["nmb_20000"]
    for o in OUTCOMES:
        assert m["central"][o] == pytest.approx((per_rep[0][o] + per_rep[1][o]) / 2, rel=1e-12)
    t = res["table"]
    assert (t.loc[t["parameter"] == OTHER_MODULE, "swing"] == 0).all()
    assert (t.loc[(t["parameter"] == EFFECT) & (t["outcome"] == "nmb_20000"), "swing"] > 0).all()


def test_intervention_candidates():
    params = load_parameters("configs/parameters")
    cfg = load_config()
    falls = intervention_candidates(load_scenarios([FALLS], cfg)["falls_pathway"], params)
    assert EFFECT in falls and "interventions.falls_mfa_cost" in falls and "economics.cost_hip_fracture" in falls
    assert "economics.utility_by_age" in falls and "interventions.falls_fls_coverage" not in falls  # fixed
    assert not [n for n in falls if not n.startswith(("interventions.falls", "economics."))]
    assert all(params.spec(n).dist["type"] != "fixed" for n in falls)
    assert set(falls) <= set(default_candidates(load_scenarios([FALLS], cfg)["falls_pathway"], params))
    warm = intervention_candidates(load_scenarios(["configs/scenarios/warm_homes.yaml"], cfg)["warm_homes"], params)
    assert "admissions.cold_home_rr" in warm  # read when the programme is built: the risk it removes
    assert not [n for n in warm if n.startswith("interventions.falls")]


# --- the command -----------------------------------------------------------------------------------------
def test_cli_writes_the_tornado(tmp_path, capsys):
    out = tmp_path / "sens"
    args = ["sensitivity", FALLS, *TINY, "--parameters", "interventions.falls_mfa_cost", EFFECT,
            "--out", str(out), "--quiet", "--top", "3"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "simulated sample at --scale 0.02" in text and "Whole projection" in text and "tornado.csv" in text
    t = pd.read_csv(out / "tornado.csv")
    assert list(t.columns) == COLUMNS
    assert set(t["outcome"]) == set(OUTCOMES) and len(t) == 2 * len(OUTCOMES)
    assert (t["scale"] == 0.02).all()
    nmb = t[t["outcome"] == "nmb_20000"]
    assert list(nmb["swing"]) == sorted(nmb["swing"], reverse=True)
    assert np.allclose(t["swing"], (t["at_high"] - t["at_low"]).abs())
    cost = t[(t["parameter"] == "interventions.falls_mfa_cost") & (t["outcome"] == "net_cost")].iloc[0]
    assert cost["at_low"] < cost["central"] < cost["at_high"]
    m = json.loads((out / "sensitivity.json").read_text())
    assert m["scenario"] == "falls_pathway" and m["scale"] == 0.02 and m["n_candidates"] == 2
    assert m["candidates"] == ["interventions.falls_mfa_cost", EFFECT] and m["seconds"] > 0


def test_cli_candidate_group_replicates_and_workers(tmp_path, capsys, monkeypatch):
    import neighsim.runner.sensitivity as sens

    group = [EFFECT, "economics.cost_hip_fracture"]  # the real group is tested above; this is the plumbing
    monkeypatch.setattr(sens, "intervention_candidates", lambda scenario, params: group)
    out = tmp_path / "sens"
    assert main(["sensitivity", FALLS, *TINY, "--candidates", "interventions", "--replicates", "2",
                 "--workers", "2", "--out", str(out), "--quiet", "--top", "3"]) == 0
    text = capsys.readouterr().out
    assert "mean of 2 replicates" in text and "in 2 processes" in text
    m = json.loads((out / "sensitivity.json").read_text())
    assert m["candidate_group"] == "interventions" and m["replicates"] == 2 and m["workers"] == 2
    assert m["candidates"] == group and m["simulations"] == 2 * (2 + 2)
    t = pd.read_csv(out / "tornado.csv")
    assert len(t) == len(OUTCOMES) * m["n_candidates"]
    with pytest.raises(SystemExit):
        main(["sensitivity", FALLS, "--candidates", "interventions", "--parameters", EFFECT])
    with pytest.raises(SystemExit):
        main(["sensitivity", FALLS, "--replicates", "0"])


@pytest.mark.parametrize("args, says", [
    (["missing.yaml"], "missing.yaml: no such scenario file"),
    ([FALLS, "--parameters", "falls.nope"], "--parameters falls.nope: no such parameter"),
    ([FALLS, "--parameters", "interventions.falls_fls_coverage"], "--parameters interventions.falls_fls_coverage: fixed"),
    ([FALLS, "--low", "0.9", "--high", "0.1"], "--low 0.9 must be below --high 0.1"),
])
def test_cli_bad_input_is_one_clear_line(tmp_path, capsys, args, says):
    assert main(["sensitivity", *args, *TINY, "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err and "Traceback" not in err


def test_run_sensitivity_refuses_bad_quantiles(falls_setup):
    cfg = falls_setup[0]
    with pytest.raises(NeighsimError, match="0 < low < high < 1"):
        run_sensitivity(cfg, FALLS, None, parameters=[EFFECT], low=0.6, high=0.4, progress=False)
