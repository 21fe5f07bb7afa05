"""The paired economics (analysis/appraisal.py): known answers on constructed tables for annuitised
measures, unrelated future costs, social care, lifetime QALYs beyond the horizon, perspectives and budget
impact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neighsim.analysis.appraisal import BANDS, economics_rows
from neighsim.analysis.economics import equivalent_annual_cost
from neighsim.config import load_config
from neighsim.parameters import load_parameters

P = load_parameters(load_config().parameters_dir())
YEARS = ["2026/27", "2027/28", "2028/29"]
WHOLE = "2026-2029"
R = 0.035


def _table(values: dict[str, dict[str, list[float]]], stratum: str = "all") -> list[dict]:
    rows = []
    for scen, outcomes in values.items():
        for outcome, by_year in outcomes.items():
            for y, v in zip(YEARS, by_year, strict=True):
                rows.append({"scenario": scen, "replicate": 0, "param_draw": -1, "period": y, "level": "ics",
                             "area": "ICS", "stratum": stratum, "outcome": outcome, "value": float(v)})
    return rows


def _whole(rows: list[dict]) -> pd.Series:
    econ = economics_rows(pd.DataFrame(rows), "baseline", YEARS, WHOLE, lambda d: P)
    e = econ[(econ["period"] == WHOLE) & (econ["scenario"] == "alt")]
    return e.set_index("outcome")["value"]


def test_a_measure_with_a_lifetime_is_annuitised_but_budget_impact_is_cash():
    """£10,000 of a 20-year measure spent in year 1: the cost-effectiveness charges its equivalent annual
    cost in each of the 3 years; the budget sees £10,000 in year 1."""
    rows = _table({"baseline": {"cost_intervention": [0, 0, 0]},
                   "alt": {"cost_intervention": [10_000, 0, 0], "warm_homes_capital": [10_000, 0, 0],
                           "warm_homes_capital_years": [200_000, 0, 0]}})
    v = _whole(rows)
    eac = equivalent_annual_cost(10_000, R, 20)
    assert v["cost_programme"] == pytest.approx(eac * (1 + 1 / 1.035 + 1 / 1.035**2))
    assert v["budget_programme_cash"] == pytest.approx(10_000)
    assert v["net_cost"] == pytest.approx(v["cost_programme"])


def test_reference_case_leaves_survivors_unrelated_costs_out_and_counts_social_care():
    """The alternative saves 100 deaths' worth of person-years; its survivors cost 500 a year in admissions.
    Admissions cost 1,000 less among people alive either way, social care 200 less: the reference case
    counts 1,200 a year saved, the 'with unrelated' view 700, the budget 700."""
    band = BANDS[5]
    rows = _table({"baseline": {"cost_admissions": [10_000] * 3, "cost_social_care": [2_000] * 3,
                                "cost_intervention": [0] * 3},
                   "alt": {"cost_admissions": [9_500] * 3, "cost_social_care": [1_800] * 3,
                           "cost_intervention": [3_000] * 3}})
    # age-band strata: the survivors (10 extra person-years a year at the alternative's 50 per person-year)
    rows += _table({"baseline": {"person_years": [100] * 3, "cost_admissions": [5_000] * 3,
                                 "emergency_admissions": [10] * 3},
                    "alt": {"person_years": [110] * 3, "cost_admissions": [5_500] * 3,
                            "emergency_admissions": [11] * 3}}, stratum=band)
    v = _whole(rows)
    disc = 1 + 1 / 1.035 + 1 / 1.035**2
    assert v["costs_avoided_nhs"] == pytest.approx(1_000 * disc)
    assert v["costs_avoided_social_care"] == pytest.approx(200 * disc)
    assert v["net_cost"] == pytest.approx((3_000 - 1_200) * disc)
    assert v["net_cost_with_unrelated"] == pytest.approx((3_000 - 700) * disc)
    assert v["net_cost_nhs"] == pytest.approx((3_000 - 1_000) * disc)
    assert v["budget_savings_cash"] == pytest.approx(700 * 3)
    assert v["roi"] == pytest.approx(1_200 / 3_000)


def test_extra_survivors_at_the_horizon_bring_their_lifetime_qalys():
    """10 more people alive at the end in the 75-84 band: QALYs beyond = 10 x the comparator's discounted
    QALE at 80 (its death rate and QALYs per person-year), discounted by the 3 years to the horizon."""
    from neighsim.analysis.economics import quality_adjusted_life_expectancy

    strata = {}
    for k, b in enumerate(BANDS):
        py = 1_000.0
        strata[b] = {"baseline": {"person_years": [py] * 3, "deaths": [py * 0.01 * (k + 1)] * 3,
                                  "qalys": [py * 0.8] * 3, "population": [py] * 3},
                     "alt": {"person_years": [py] * 3, "deaths": [py * 0.01 * (k + 1)] * 3,
                             "qalys": [py * 0.8] * 3, "population": [py + (10 if k == 5 else 0)] * 3}}
    rows = _table({"baseline": {"population": [7_000] * 3, "cost_intervention": [0] * 3},
                   "alt": {"population": [7_010] * 3, "cost_intervention": [100] * 3}})
    for b, vals in strata.items():
        rows += _table(vals, stratum=b)
    v = _whole(rows)
    band = np.searchsorted([18, 35, 50, 65, 75, 85], np.arange(111), side="right")
    m = 0.01 * (band + 1)
    qale = quality_adjusted_life_expectancy(-np.expm1(-m), np.full(111, 0.8), R)[80]
    assert v["qalys_beyond_horizon"] == pytest.approx(10 * qale / 1.035**3)
    assert v["qalys_gained"] == pytest.approx(v["qalys_beyond_horizon"])
    assert v["cost_per_qaly"] == pytest.approx(100 * (1 + 1 / 1.035 + 1 / 1.035**2) / v["qalys_gained"])


def test_budget_impact_by_year_and_cumulative_economics():
    rows = _table({"baseline": {"cost_admissions": [1_000] * 3, "cost_intervention": [0] * 3},
                   "alt": {"cost_admissions": [900, 600, 600], "cost_intervention": [500, 100, 0]}})
    econ = economics_rows(pd.DataFrame(rows), "baseline", YEARS, WHOLE, lambda d: P)
    alt = econ[econ["scenario"] == "alt"].pivot_table(index="period", columns="outcome", values="value")
    np.testing.assert_allclose(alt.loc[YEARS, "budget_net_cash"], [400, -300, -400])
    np.testing.assert_allclose(alt.loc[YEARS, "budget_net_cash_discounted"],
                               [400, -300 / 1.035, -400 / 1.035**2])
    assert alt.loc[WHOLE, "budget_net_cash"] == pytest.approx(-300)
    # cumulative: by the second year 500 saved against 600 spent, by the third 900 against 600
    assert alt.loc["2027/28", "costs_avoided"] == pytest.approx(100 + 400 / 1.035)
    assert alt.loc[WHOLE, "payback_year"] == 3 and np.isnan(alt.loc["2027/28", "payback_year"])
    # cash-releasing ROI: discounted cash saved per discounted cash spent
    assert alt.loc[WHOLE, "roi_cash"] == pytest.approx((100 + 400 / 1.035 + 400 / 1.035**2) / (500 + 100 / 1.035))


def test_the_whole_horizon_social_care_is_the_sum_of_its_years():
    from neighsim.analysis.impacts import add_costs, priced

    rows = []
    for period, frail in (("2026/27", 10), ("2027/28", 20), ("2026-2028", 20)):
        rows.append({"scenario": "baseline", "replicate": 0, "param_draw": -1, "period": period, "level": "ics",
                     "area": "ICS", "stratum": "all", "outcome": "frailty_severe", "value": float(frail)})
    out = add_costs(pd.DataFrame(rows), lambda d: P)
    care = out[out["outcome"] == "cost_social_care"].set_index("period")["value"]
    per_year = float(priced(P, "social_care_frailty_annual")[3])
    assert care["2026/27"] == pytest.approx(10 * per_year)
    assert care["2026-2028"] == pytest.approx(30 * per_year)


def test_scale_up_multiplies_counts_and_money_not_rates_or_ratios(tmp_path):
    """The same sample with and without --scale-up: counts, costs and QALYs x 1/scale; rates, ICERs and
    ROIs unchanged."""
    from neighsim.runner.experiment import run_experiment
    from neighsim.scenarios import load_scenarios

    out = {}
    for up in (False, True):
        cfg = load_config(population={"local_authorities": ["Tamworth"], "scale": 0.02, "scale_up": up},
                          time={"months": 24})
        scen = load_scenarios(["configs/scenarios/falls_pathway.yaml"], cfg)
        run_experiment(cfg, tmp_path / str(up), scenarios=scen, replicates=1, progress=False)
        s = pd.read_csv(tmp_path / str(up) / "summary.csv")
        s = s[(s["level"] == "ics") & (s["stratum"] == "all") & (s["period"] == "2026-2028")]
        out[up] = s.set_index(["scenario", "outcome", "measure"])["mean"]
    plain, up = out[False], out[True]
    for key in [("baseline", "emergency_admissions", "value"), ("baseline", "qalys", "value"),
                ("falls_pathway", "net_cost", "value"), ("falls_pathway", "cost_intervention", "difference")]:
        assert up[key] == pytest.approx(plain[key] / 0.02, rel=1e-9), key
    for key in [("baseline", "emergency_admissions_per_1000", "value"), ("falls_pathway", "roi", "value"),
                ("falls_pathway", "roi_qalys", "value")]:
        assert np.isfinite(plain[key]) and up[key] == pytest.approx(plain[key], rel=1e-9), key


def test_an_icer_is_the_ratio_of_means_and_its_interval_only_when_draws_agree():
    """Two draws: cost 100 and 300, QALYs 0.01 and 1: the mean of ratios (5,150) is swamped by the draw with
    almost no QALYs; the ICER is 200 / 0.505. The interval is dropped when the QALYs' lower bound is not
    above zero, kept when both lower bounds are."""
    from neighsim.analysis.appraisal import ratios_of_means

    def summary(q_lower):
        base = {"period": "2026-2031", "level": "ics", "area": "ICS", "stratum": "all", "scenario": "s",
                "measure": "value"}
        return pd.DataFrame([
            base | {"outcome": "net_cost", "mean": 200.0, "lower": 105.0, "upper": 295.0},
            base | {"outcome": "qalys_gained", "mean": 0.505, "lower": q_lower, "upper": 0.98},
            base | {"outcome": "cost_per_qaly", "mean": 5_150.0, "lower": 300.0, "upper": 9_800.0},
            base | {"outcome": "costs_avoided", "mean": 50.0, "lower": 0.0, "upper": 100.0},
            base | {"outcome": "cost_programme", "mean": 250.0, "lower": 200.0, "upper": 300.0},
            base | {"outcome": "roi", "mean": 0.3, "lower": 0.0, "upper": 0.5},
            base | {"outcome": "roi_qalys", "mean": 99.0, "lower": 0.0, "upper": 200.0}])

    out = ratios_of_means(summary(-0.1)).set_index("outcome")
    assert out.loc["cost_per_qaly", "mean"] == pytest.approx(200 / 0.505)
    assert np.isnan(out.loc["cost_per_qaly", "lower"]) and np.isnan(out.loc["cost_per_qaly", "upper"])
    assert out.loc["roi", "mean"] == pytest.approx(50 / 250) and out.loc["roi", "upper"] == 0.5
    assert out.loc["roi_qalys", "mean"] == pytest.approx((50 + 20_000 * 0.505) / 250)
    kept = ratios_of_means(summary(0.02)).set_index("outcome")
    assert kept.loc["cost_per_qaly", "lower"] == 300.0 and kept.loc["cost_per_qaly", "upper"] == 9_800.0


def test_survivors_social_care_is_an_unrelated_cost_too():
    """10 extra person-years at the alternative's £10 of social care each: the reference case adds £100 a
    year back to the social care avoided; the budget (cash) does not."""
    band = BANDS[6]
    rows = _table({"baseline": {"cost_social_care": [2_000] * 3, "cost_intervention": [0] * 3},
                   "alt": {"cost_social_care": [2_050] * 3, "cost_intervention": [500] * 3}})
    rows += _table({"baseline": {"person_years": [100] * 3, "cost_social_care": [1_000] * 3},
                    "alt": {"person_years": [110] * 3, "cost_social_care": [1_100] * 3}}, stratum=band)
    v = _whole(rows)
    disc = 1 + 1 / 1.035 + 1 / 1.035**2
    assert v["costs_avoided_social_care"] == pytest.approx((-50 + 100) * disc)
    assert v["budget_savings_cash"] == pytest.approx(-50 * 3)
    assert v["net_cost_with_unrelated"] == pytest.approx((500 + 50) * disc)
