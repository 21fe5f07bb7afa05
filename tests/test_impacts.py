"""Inequality and economics outcomes: known answers on constructed tables, and on a real run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neighsim.analysis.impacts import ESP2013_BANDS, economics_rows, inequality_rows, unit_costs
from neighsim.config import load_config
from neighsim.parameters import load_parameters

P = load_parameters(load_config().parameters_dir())


def _periods(rate_of_decile, py=1000.0):
    rows = []
    for d in range(1, 11):
        for band in range(len(ESP2013_BANDS)):
            base = {"scenario": "baseline", "replicate": 0, "param_draw": -1, "period": "2026-2031",
                    "neighbourhood": 0, "imd_decile": d, "sex": 0, "age_band": band}
            rows.append(base | {"outcome": "person_years", "value": py})
            rows.append(base | {"outcome": "emergency_admissions", "value": rate_of_decile(d) * py / 1000})
    return pd.DataFrame(rows)


def test_inequality_of_an_exact_linear_gradient():
    # equal populations per decile: ridit midpoints 0.05..0.95; rate = 150 - 100 * rank per 1,000
    per = _periods(lambda d: 150 - 100 * (d - 0.5) / 10)
    out = inequality_rows(per, {0: "Staffordshire"}, "ICS").set_index(["level", "outcome"])["value"]
    assert out[("ics", "sii_admissions")] == pytest.approx(100.0)
    assert out[("ics", "rii_admissions")] == pytest.approx(150 / 50)
    core = np.mean([150 - 100 * (d - 0.5) / 10 for d in (1, 2)])
    rest = np.mean([150 - 100 * (d - 0.5) / 10 for d in range(3, 11)])
    assert out[("ics", "core20_gap_admissions")] == pytest.approx(core - rest)


def test_flat_rates_have_no_gap():
    out = inequality_rows(_periods(lambda d: 80.0), {0: "P"}, "ICS").set_index(["level", "outcome"])["value"]
    assert out[("ics", "sii_admissions")] == pytest.approx(0.0, abs=1e-9)
    assert out[("ics", "rii_admissions")] == pytest.approx(1.0)


def test_paired_economics_known_answer():
    years = ["2026/27", "2027/28"]
    rows = []
    for scen, cost_adm, cost_iv, adm, q in (("baseline", [1000, 1000], [0, 0], [10, 10], [100, 100]),
                                            ("alt", [600, 400], [500, 0], [8, 6], [101, 102])):
        for y, a, b, c, d in zip(years, cost_adm, cost_iv, adm, q, strict=True):
            base = {"scenario": scen, "replicate": 0, "param_draw": -1, "period": y, "level": "ics",
                    "area": "ICS", "stratum": "all"}
            rows += [base | {"outcome": "cost_admissions", "value": a},
                     base | {"outcome": "cost_intervention", "value": b},
                     base | {"outcome": "emergency_admissions", "value": c}, base | {"outcome": "qalys", "value": d}]
    econ = economics_rows(pd.DataFrame(rows), "baseline", years, "2026-2028", lambda d: P)
    v = econ[econ["period"] == "2026-2028"].set_index("outcome")["value"]
    disc = 1 / 1.035
    avoided = 400 + 600 * disc
    assert v["costs_avoided"] == pytest.approx(avoided)
    assert v["roi"] == pytest.approx(avoided / 500)
    assert v["net_cost"] == pytest.approx(500 - avoided)
    assert v["admissions_avoided"] == 6
    assert v["payback_year"] == 2
    assert v["qalys_gained"] == pytest.approx(1 + 2 * disc)
    assert v["nmb_20000"] == pytest.approx(20_000 * (1 + 2 * disc) - (500 - avoided))
    assert v["nmb_30000"] == pytest.approx(30_000 * (1 + 2 * disc) - (500 - avoided))
    first = econ[econ["period"] == "2026/27"].set_index("outcome")["value"]
    assert first["roi"] == pytest.approx(400 / 500) and np.isnan(first["payback_year"])


def test_costs_and_qalys_in_a_real_run(tmp_path):
    from neighsim.runner.experiment import run_experiment

    cfg = load_config(population={"local_authorities": ["Tamworth"], "scale": 0.05})
    run_experiment(cfg, tmp_path, replicates=1, progress=False)
    rep = pd.read_parquet(tmp_path / "replicates.parquet")
    ics = rep[(rep["level"] == "ics") & (rep["stratum"] == "all") & (rep["period"] == "2026-2031")]
    v = ics.set_index("outcome")["value"]
    c = unit_costs(P)
    want = (v["admissions_respiratory"] * c["admissions_respiratory"]
            + v["admissions_cardiovascular"] * c["admissions_cardiovascular"]
            + v["admissions_other"] * c["admissions_other"]
            + (v["admissions_falls"] - v["hip_fractures"]) * c["falls_no_hip"] + v["hip_fractures"] * c["hip_fractures"])
    assert v["cost_admissions"] == pytest.approx(want)
    assert 0.6 < v["qalys"] / v["person_years"] < 0.95
    for name in ("sii_admissions", "rii_admissions", "core20_gap_admissions", "asr_admissions_per_1000"):
        assert name in v.index


def test_counts_absent_in_a_replicate_count_as_zero():
    from neighsim.analysis.summary import summarise_replicates

    rows = [{"scenario": "baseline", "replicate": r, "param_draw": -1, "period": "2026/27", "level": "ics",
             "area": "A", "stratum": "all", "outcome": "hip_fractures", "value": 3.0} for r in (0,)]
    rows += [{"scenario": "baseline", "replicate": r, "param_draw": -1, "period": "2026/27", "level": "ics",
              "area": "A", "stratum": "all", "outcome": "deaths", "value": 1.0} for r in (0, 1, 2)]
    s = summarise_replicates(pd.DataFrame(rows)).set_index("outcome")
    assert s.loc["hip_fractures", "mean"] == pytest.approx(1.0) and s.loc["hip_fractures", "n"] == 3
