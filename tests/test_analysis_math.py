"""Known-answer and property tests for neighsim.analysis (inequality, life tables, economics, intervals)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from neighsim.analysis.economics import (
    cost_per_outcome,
    discount_factors,
    inflate,
    net_cost,
    payback_year,
    present_value,
    roi,
)
from neighsim.analysis.inequality import age_standardised_rate, gap, ridit_midpoints, sii_rii
from neighsim.analysis.intervals import (
    interval_width_by_replicates,
    mean_interval,
    paired_difference,
    percent_change,
    summarise,
)
from neighsim.analysis.lifetable import life_expectancy, period_life_table

# ----------------------------------------------------------------------------------------- inequality


def test_ridit_midpoints_by_hand():
    # shares 0.2, 0.6, 0.2 -> cumulative 0.2, 0.8, 1.0 -> midpoints 0.1, 0.5, 0.9
    assert ridit_midpoints([100, 300, 100]) == pytest.approx([0.1, 0.5, 0.9])


def test_sii_rii_exact_linear_gradient_unequal_populations():
    """rate = 100 - 50*rank at the ridit midpoints: fitted(0) = 100, fitted(1) = 50 -> SII 50, RII 2."""
    pops = np.array([100.0, 300.0, 50.0, 250.0, 300.0])
    rates = 100.0 - 50.0 * ridit_midpoints(pops)
    sii, rii = sii_rii(rates, pops)
    assert sii == pytest.approx(50.0, rel=1e-12)
    assert rii == pytest.approx(2.0, rel=1e-12)


def test_sii_rii_two_groups_by_hand_and_zero_population_ignored():
    # equal pops -> ranks 0.25, 0.75; line through (0.25, 40), (0.75, 20): slope -40, intercept 50,
    # fitted(1) = 10 -> SII = 50 - 10 = 40, RII = 50/10 = 5. A zero-population group (rate nan) is ignored.
    assert sii_rii([40, 20], [1, 1]) == pytest.approx((40.0, 5.0))
    assert sii_rii([40, np.nan, 20], [1, 0, 1]) == pytest.approx((40.0, 5.0))


def test_sii_sign_convention_higher_in_least_deprived_is_negative():
    sii, rii = sii_rii([20, 40], [1, 1])
    assert sii < 0 and rii < 1


def test_sii_rii_errors():
    with pytest.raises(ValueError):
        sii_rii([1, 2, 3], [1, 2])
    with pytest.raises(ValueError):
        sii_rii([1, 2], [1, 0])  # only one populated group
    with pytest.raises(ValueError):
        sii_rii([1, 2], [1, -1])


populations = st.lists(st.floats(0.0, 1e6), min_size=2, max_size=12).filter(
    lambda p: sum(x > 1e-3 for x in p) >= 2
)


@given(populations, st.floats(0.01, 1e4))
def test_sii_of_constant_rate_is_zero_and_rii_one(pops, c):
    sii, rii = sii_rii([c] * len(pops), pops)
    assert sii == pytest.approx(0.0, abs=1e-9 * c)
    assert rii == pytest.approx(1.0, abs=1e-9)


@given(populations, st.floats(0.1, 100.0), st.floats(0.0, 10.0))
def test_sii_scales_with_rates_and_recovers_any_exact_line(pops, slope, base):
    # rate = base + slope*(1 - rank): fitted(0) = base + slope, fitted(1) = base
    rates = base + slope * (1 - ridit_midpoints(pops))
    sii, _ = sii_rii(rates, pops)
    assert sii == pytest.approx(slope, rel=1e-6)
    sii3, _ = sii_rii(3 * rates, pops)
    assert sii3 == pytest.approx(3 * sii, rel=1e-9)


@given(populations)
def test_ridit_midpoints_in_unit_interval_and_ordered(pops):
    r = ridit_midpoints(pops)
    assert np.all(r >= 0) and np.all(r <= 1)
    assert np.all(np.diff(r) >= -1e-12)


def test_age_standardised_rate_by_hand():
    # rates 2/1000 = 0.002, 10/2000 = 0.005, 30/1500 = 0.02; weights 20:50:30 -> 0.2, 0.5, 0.3
    # ASR = 0.2*0.002 + 0.5*0.005 + 0.3*0.02 = 0.0004 + 0.0025 + 0.006 = 0.0089
    assert age_standardised_rate([2, 10, 30], [1000, 2000, 1500], [20, 50, 30]) == pytest.approx(0.0089)


def test_age_standardised_rate_zero_person_years_band_weight_redistributed():
    # middle band unobserved: weights 0.2, 0.3 renormalised to 0.4, 0.6 -> 0.4*0.002 + 0.6*0.02 = 0.0128
    assert age_standardised_rate([2, 0, 30], [1000, 0, 1500], [20, 50, 30]) == pytest.approx(0.0128)
    assert math.isnan(age_standardised_rate([0, 0], [0, 0], [1, 1]))
    with pytest.raises(ValueError):
        age_standardised_rate([1, 2], [10, 10], [1, 1, 1])


@given(st.lists(st.floats(1.0, 1e5), min_size=1, max_size=10), st.floats(0.0, 0.5), st.data())
def test_age_standardised_rate_of_constant_rate_is_that_rate(py, rate, data):
    w = data.draw(st.lists(st.floats(0.01, 1.0), min_size=len(py), max_size=len(py)))
    events = [rate * p for p in py]
    assert age_standardised_rate(events, py, w) == pytest.approx(rate, rel=1e-9, abs=1e-15)


def test_gap():
    assert gap(30.0, 20.0) == pytest.approx((10.0, 1.5))
    a, r = gap(5.0, 0.0)
    assert a == 5.0 and math.isnan(r)


# ----------------------------------------------------------------------------------------- life table


def test_life_table_hand_computed_three_intervals():
    """Hand-computed abridged table (no published reference reproduced; the arithmetic is written out).

    Ages [0,1), [1,5), 5+ ; deaths 10, 8, 50 ; person-years 1000, 4000, 500 ; default ax 0.1, 2, 1/m.
      m = 0.01, 0.002, 0.1
      q0 = 1*0.01 / (1 + 0.9*0.01) = 10/1009      q1 = 4*0.002 / (1 + 2*0.002) = 2/251      q2 = 1
      l0 = 100000, d0 = l0*q0 = 991.0802775,      l1 = 99008.9197225
      d1 = l1*q1 = 788.9156950,                   l2 = 98220.0040275
      L0 = 1*l1 + 0.1*d0 = 99108.0277502          L1 = 4*l2 + 2*d1 = 394457.8475000
      L2 = l2/0.1 = 982200.0402750
      T0 = 1475765.9155252, e0 = T0/l0 = 14.75765916 ; e1 = T1/l1 = 13.90438247 ; e2 = 1/0.1 = 10
    """
    lt = period_life_table([10, 8, 50], [1000, 4000, 500], [0, 1, 5])
    assert list(lt.columns[:1]) == ["age"]
    for col in ["age", "mx", "qx", "ax", "lx", "dx", "Lx", "Tx", "ex"]:
        assert col in lt.columns
    assert lt["mx"].tolist() == pytest.approx([0.01, 0.002, 0.1])
    assert lt["ax"].tolist() == pytest.approx([0.1, 2.0, 10.0])
    assert lt["qx"].tolist() == pytest.approx([10 / 1009, 2 / 251, 1.0], rel=1e-12)
    assert lt["lx"].tolist() == pytest.approx([100000.0, 99008.9197225, 98220.0040275], rel=1e-10)
    assert lt["dx"].tolist() == pytest.approx([991.0802775, 788.9156950, 98220.0040275], rel=1e-9)
    assert lt["Lx"].tolist() == pytest.approx([99108.0277502, 394457.8475000, 982200.0402750], rel=1e-10)
    assert lt["Tx"].iloc[0] == pytest.approx(1475765.9155252, rel=1e-10)
    assert lt["ex"].tolist() == pytest.approx([14.75765916, 13.90438247, 10.0], rel=1e-8)
    assert life_expectancy([10, 8, 50], [1000, 4000, 500], [0, 1, 5]) == pytest.approx(14.75765916)


def _exponential_ax(m: float, n: np.ndarray) -> np.ndarray:
    """Mean time lived in an interval of width n by those dying in it under constant hazard m."""
    return 1 / m - n * np.exp(-m * n) / (1 - np.exp(-m * n))


def test_life_table_constant_hazard_single_years_gives_e0_one_over_m():
    """Exponential survival: with constant m and ax set consistently, Chiang's qx = 1 - exp(-m n) exactly,
    lx = 1e5*exp(-m x), and e_x = 1/m at every age (analytic result, not a published table)."""
    m = 0.02
    ages = np.arange(0, 101)
    py = np.full(ages.size, 1000.0)
    deaths = m * py
    ax = np.append(_exponential_ax(m, np.ones(100)), np.nan)
    lt = period_life_table(deaths, py, ages, ax=ax)
    assert lt["qx"].iloc[:-1].to_numpy() == pytest.approx(1 - np.exp(-m), rel=1e-10)
    assert lt["lx"].to_numpy() == pytest.approx(1e5 * np.exp(-m * ages), rel=1e-10)
    assert lt["ex"].to_numpy() == pytest.approx(np.full(ages.size, 1 / m), rel=1e-10)
    # default ax (0.1 then n/2) is a close but not exact approximation
    assert life_expectancy(deaths, py, ages) == pytest.approx(1 / m, rel=2e-3)


@settings(deadline=None)
@given(
    st.floats(0.001, 0.3),
    st.lists(st.sampled_from([1, 4, 5, 10]), min_size=1, max_size=20),
)
def test_life_table_constant_hazard_any_widths(m, widths):
    ages = np.concatenate([[0], np.cumsum(widths)])
    n = np.asarray(widths, dtype=float)
    py = np.full(ages.size, 500.0)
    ax = np.append(_exponential_ax(m, n), np.nan)
    lt = period_life_table(m * py, py, ages, ax=ax)
    assert lt["ex"].iloc[0] == pytest.approx(1 / m, rel=1e-9)


def test_life_table_default_ax_and_errors():
    lt = period_life_table([5, 5, 5, 20], [1000, 1000, 1000, 100], [0, 1, 5, 10])
    assert lt["ax"].tolist() == pytest.approx([0.1, 2.0, 2.5, 5.0])
    with pytest.raises(ValueError):
        period_life_table([1, 0], [10, 10], [0, 1])  # no deaths in the open interval
    with pytest.raises(ValueError):
        period_life_table([1, 1], [0, 10], [0, 1])  # zero person-years
    with pytest.raises(ValueError):
        period_life_table([1, 1], [10, 10], [5, 1])  # ages not increasing


# ----------------------------------------------------------------------------------------- economics


def test_discount_factors_green_book():
    assert discount_factors(4) == pytest.approx([1.0, 1 / 1.035, 1 / 1.035**2, 1 / 1.035**3], rel=1e-12)
    assert discount_factors(2, mid_year=True) == pytest.approx([1 / 1.035**0.5, 1 / 1.035**1.5])
    assert discount_factors(3, rate=0.0) == pytest.approx([1.0, 1.0, 1.0])
    assert discount_factors(0).size == 0


def test_present_value_by_hand():
    # 100 + 100/1.035 + 100/1.035^2 = 100 + 96.61835749 + 93.35107004 = 289.96942753
    assert present_value([100, 100, 100]) == pytest.approx(289.96942753, rel=1e-10)
    assert present_value([100, 100], rate=0.0) == 200.0


def test_roi_net_cost_payback_by_hand():
    """Cost 1000 in year 1; savings 500 in years 2-4 at 3.5%.

    PV savings = 500/1.035 + 500/1.035^2 + 500/1.035^3 = 483.09179 + 466.75535 + 450.97135 = 1400.81850
    ROI = 1.40081850 ; net cost = 1000 - 1400.81850 = -400.81850
    cumulative savings: y2 483.09 < 1000, y3 949.85 < 1000, y4 1400.82 >= 1000 -> payback year 4
    3-year horizon: ROI = 949.84714 / 1000
    """
    cost, saved = [1000.0], [0.0, 500.0, 500.0, 500.0]
    pv_saved = 500 / 1.035 + 500 / 1.035**2 + 500 / 1.035**3
    assert pv_saved == pytest.approx(1400.81850, rel=1e-8)
    assert roi(saved, cost) == pytest.approx(pv_saved / 1000)
    assert net_cost(saved, cost) == pytest.approx(1000 - pv_saved)
    assert payback_year(saved, cost) == 4
    assert roi(saved, cost, horizon=3) == pytest.approx((500 / 1.035 + 500 / 1.035**2) / 1000)
    assert roi(saved, cost, horizon=10) == pytest.approx(roi(saved, cost))  # zero padding


def test_payback_exact_breakeven_and_never():
    assert payback_year([0, 500, 500], [1000], rate=0.0) == 3  # cumulative 1000 >= 1000 exactly
    assert payback_year([0.1, 0.2], [0.3], rate=0.0) == 2  # 0.1 + 0.2 != 0.3 in floating point
    assert payback_year([100, 100], [1000, 0]) is None
    assert math.isnan(roi([100], [0]))


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30),
    st.floats(-5, 5),
    st.floats(-5, 5),
    st.floats(0.0, 0.1),
)
def test_present_value_is_linear(x, a, b, rate):
    y = list(reversed(x))
    lhs = present_value(a * np.asarray(x) + b * np.asarray(y), rate)
    rhs = a * present_value(x, rate) + b * present_value(y, rate)
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-6)


@given(
    st.lists(st.integers(0, 1000), min_size=1, max_size=15),
    st.lists(st.integers(0, 1000), min_size=0, max_size=15),
    st.integers(1, 1000),
)
def test_payback_year_agrees_with_roi_at_that_horizon(saved, later_costs, first_cost):
    cost = [first_cost, *later_costs]
    k = payback_year(saved, cost)
    horizon = max(len(saved), len(cost))
    if k is None:
        assert all(roi(saved, cost, horizon=h) < 1 for h in range(1, horizon + 1))
    else:
        assert roi(saved, cost, horizon=k) >= 1 - 1e-9
        assert all(roi(saved, cost, horizon=h) < 1 for h in range(1, k))


def test_cost_per_outcome_rules():
    assert cost_per_outcome(20000.0, 2.0) == 10000.0
    assert cost_per_outcome(-500.0, 2.0) == -250.0  # dominant: saves money, gains outcomes
    assert math.isnan(cost_per_outcome(100.0, 0.0))
    assert cost_per_outcome(100.0, -1.0) == math.inf  # dominated
    assert cost_per_outcome(0.0, -1.0) == math.inf
    assert cost_per_outcome(-300.0, -3.0) == 100.0  # south-west: saving per outcome forgone
    assert math.isnan(cost_per_outcome(math.nan, 1.0))


def test_inflate():
    index = {"2019/20": 100.0, "2023/24": 120.0}
    assert inflate(50.0, "2019/20", "2023/24", index) == pytest.approx(60.0)
    assert inflate(60.0, "2023/24", "2019/20", index) == pytest.approx(50.0)
    with pytest.raises(KeyError):
        inflate(1.0, "2010/11", "2023/24", index)


# ----------------------------------------------------------------------------------------- intervals


def test_summarise_percentiles_by_hand():
    # linear quantile of [1..5] at 0.025: position 0.025*4 = 0.1 -> 1.1 ; at 0.975: 3.9 -> 4.9
    assert summarise(np.array([1.0, 2, 3, 4, 5])) == pytest.approx((3.0, 1.1, 4.9))
    assert summarise(np.array([7.0])) == (7.0, 7.0, 7.0)
    mean, lo, hi = summarise(np.array([[1.0, 10.0], [3.0, 30.0]]), axis=0, level=0.5)
    assert mean == pytest.approx([2.0, 20.0])
    assert lo == pytest.approx([1.5, 15.0]) and hi == pytest.approx([2.5, 25.0])


def test_paired_difference_and_percent_change():
    assert paired_difference([3, 5], [1, 1]) == pytest.approx([2, 4])
    with pytest.raises(ValueError):
        paired_difference([1, 2, 3], [1, 2])
    assert percent_change([110, 130], [100, 100]) == pytest.approx(20.0)  # means 120 vs 100
    assert math.isnan(percent_change([1, 2], [0, 0]))
    per_rep = percent_change(np.array([[11, 11], [9, 9]]), np.array([[10, 10], [0, 0]]), axis=1)
    assert per_rep[0] == pytest.approx(10.0) and math.isnan(per_rep[1])


def test_interval_width_by_replicates_by_hand():
    df = interval_width_by_replicates(np.array([1.0, 2.0, 3.0, 4.0]))
    assert list(df.columns) == [
        "n_replicates",
        "mean",
        "ci_mean_lower",
        "ci_mean_upper",
        "ci_mean_width",
        "pi_lower",
        "pi_upper",
        "pi_width",
    ]
    assert df["n_replicates"].tolist() == [2, 3, 4]
    # n = 2: mean 1.5, sd = sqrt(0.5), half-width = z*sqrt(0.5)/sqrt(2) = z/2 ; percentiles 1.025, 1.975
    z = norm.ppf(0.975)
    row = df.iloc[0]
    assert row["mean"] == pytest.approx(1.5)
    assert row["ci_mean_width"] == pytest.approx(z)
    assert (row["pi_lower"], row["pi_upper"]) == pytest.approx((1.025, 1.975))
    assert isinstance(df, pd.DataFrame)
    assert interval_width_by_replicates(np.arange(10.0), steps=[5, 10])["n_replicates"].tolist() == [5, 10]
    with pytest.raises(ValueError):
        interval_width_by_replicates(np.arange(10.0), steps=[1])


def test_normal_interval_for_mean_covers_truth_about_95_percent():
    """2000 simulated data sets of 100 draws from N(10, 3^2) (fixed seed): the mean +/- 1.96 sd/sqrt(n)
    interval should contain 10 in about 95% of them (binomial sd of the coverage ~0.005)."""
    rng = np.random.default_rng(20240601)
    data = rng.normal(10.0, 3.0, size=(2000, 100))
    _, lo, hi = mean_interval(data, axis=1)
    coverage = np.mean((lo <= 10.0) & (10.0 <= hi))
    assert 0.93 <= coverage <= 0.97
    # the convergence table's last row is the same interval
    last = interval_width_by_replicates(data[0]).iloc[-1]
    m, lo0, hi0 = mean_interval(data[0])
    assert (last["mean"], last["ci_mean_lower"], last["ci_mean_upper"]) == pytest.approx((m, lo0, hi0))


def test_net_monetary_benefit_known_answers_and_agreement_with_the_icer():
    from neighsim.analysis.economics import cost_per_outcome, net_monetary_benefit

    assert net_monetary_benefit(2.0, 30_000.0, 20_000.0) == 10_000.0
    assert net_monetary_benefit(0.5, -4_000.0, 30_000.0) == 19_000.0  # saves money and gains QALYs
    assert net_monetary_benefit(-1.0, 1_000.0, 20_000.0) == -21_000.0  # dominated
    for q, c in ((2.0, 30_000.0), (2.0, 50_000.0), (0.1, 1_000.0)):  # QALYs gained: NMB > 0 iff ICER < threshold
        assert (net_monetary_benefit(q, c, 20_000.0) > 0) == (cost_per_outcome(c, q) < 20_000.0)
