"""Known-answer and property tests for annuitisation, budget impact, ROI with QALYs, ICER/CEAC and QALE.

Every known answer is worked by hand in the comment beside it, so a failure points at the formula rather
than at a re-run of the same code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from neighsim.analysis.economics import (
    annuitise,
    annuity_factor,
    budget_impact,
    ceac,
    cost_per_outcome,
    discount_factors,
    equivalent_annual_cost,
    icer,
    lifetime_qalys_beyond,
    payback_year,
    present_value,
    quality_adjusted_life_expectancy,
    roi,
    roi_with_qalys,
)

rates = st.floats(min_value=0.0, max_value=0.2, allow_nan=False)
cash = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)

# ------------------------------------------------------------------------------------ annuity factor


def test_annuity_factor_by_hand():
    # annuity-due, first year undiscounted: r = 0.5, n = 3 -> 1 + 1/1.5 + 1/2.25 = 1 + 2/3 + 4/9 = 19/9
    assert annuity_factor(0.5, 3) == pytest.approx(19 / 9, rel=1e-12)
    # r = 0 -> n
    assert annuity_factor(0.0, 7) == 7.0
    # n = 1 -> just the undiscounted first payment
    assert annuity_factor(0.035, 1) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    ("rate", "years", "match"),
    [(0.035, 0, "years"), (0.035, -2, "years"), (0.035, 2.5, "years"), (-1.0, 5, "rate"), (-1.5, 5, "rate")],
)
def test_annuity_factor_rejects_bad_inputs(rate: float, years: float, match: str):
    with pytest.raises(ValueError, match=match):
        annuity_factor(rate, years)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(rate=st.floats(min_value=-0.5, max_value=1.0, allow_nan=False), years=st.integers(1, 80))
def test_annuity_factor_is_sum_of_discount_factors(rate: float, years: int):
    assert annuity_factor(rate, years) == pytest.approx(discount_factors(years, rate).sum(), rel=1e-10)


def test_annuity_factor_accurate_near_zero_rate():
    # sum_{t<10} (1+r)^-t ~ 10 - r*45 for tiny r (first-order term: -r * sum t = -45 r)
    assert annuity_factor(1e-12, 10) == pytest.approx(10 - 45e-12, rel=1e-14)


# -------------------------------------------------------------------------- equivalent annual cost


def test_equivalent_annual_cost_green_book_1000_at_3_5_percent_over_20_years():
    # 1.035^20 = 1.9897889, so 1.035^-20 = 0.5025659.
    # annuity-due factor = (1 - 0.5025659) / (1 - 1/1.035) = 0.4974341 / 0.0338164 = 14.709840
    # EAC = 1000 / 14.709840 = 67.9817.
    # (Arrears tables give 1000 x 0.035 / 0.4974341 = 70.3611; ours is that / 1.035 = 67.9817.)
    assert equivalent_annual_cost(1000.0, 0.035, 20) == pytest.approx(67.9817, abs=5e-4)
    assert equivalent_annual_cost(1000.0, 0.035, 20) * 1.035 == pytest.approx(
        1000.0 * 0.035 / (1 - 1.035**-20), rel=1e-12
    )


@settings(max_examples=200, deadline=None)
@given(capital=cash, rate=rates, life=st.integers(1, 60))
def test_equivalent_annual_cost_pv_equals_capital(capital: float, rate: float, life: int):
    charges = np.full(life, equivalent_annual_cost(capital, rate, life))
    assert present_value(charges, rate) == pytest.approx(capital, rel=1e-9, abs=1e-6)


# --------------------------------------------------------------------------------------- annuitise


def test_annuitise_single_payment_year_0_lifetime_3():
    # r = 1: factor for L = 3 is 1 + 1/2 + 1/4 = 1.75; 700 / 1.75 = 400 a year in years 0, 1, 2.
    assert annuitise([700.0, 0.0, 0.0], 3, rate=1.0) == pytest.approx([400.0, 400.0, 400.0])
    # at 3.5%: factor = 1 + 0.966184 + 0.933511 = 2.899694; 1000 / 2.899694 = 344.8640
    assert annuitise([1000.0, 0, 0, 0], 3, rate=0.035) == pytest.approx([344.8640] * 3 + [0.0], abs=1e-4)


def test_annuitise_two_payments_with_horizon_4():
    # r = 1, L = 3: 700 in year 0 -> 400 in years 0, 1, 2; 350 in year 2 -> 350/1.75 = 200 in years 2, 3, 4.
    # Horizon 4 keeps years 0..3: [400, 400, 400+200, 200]; the year-4 charge of 200 is dropped.
    got = annuitise([700.0, 0.0, 350.0, 0.0], 3, rate=1.0, horizon=4)
    assert got == pytest.approx([400.0, 400.0, 600.0, 200.0])
    # Infinite horizon keeps year 4: PV = 400 + 400/2 + 600/4 + 200/8 + 200/16 = 787.5
    #                                = PV(cash) = 700 + 350/4.
    full = annuitise([700.0, 0.0, 350.0, 0.0], 3, rate=1.0, horizon=5)
    assert full == pytest.approx([400.0, 400.0, 600.0, 200.0, 200.0])
    assert present_value(full, 1.0) == pytest.approx(787.5)


def test_annuitise_default_horizon_is_cash_length_and_zero_rate_spreads_evenly():
    # r = 0, L = 4: 800 -> 200 a year; default horizon = 2 years keeps two of the four charges.
    assert annuitise([800.0, 0.0], 4, rate=0.0) == pytest.approx([200.0, 200.0])


def test_annuitise_rounds_lifetime_half_up_and_at_least_one():
    cash_ = [700.0, 0.0, 0.0]
    # 2.5 -> 3 (half up), 3.4 -> 3
    assert annuitise(cash_, 2.5, rate=1.0) == pytest.approx([400.0, 400.0, 400.0])
    assert annuitise(cash_, 3.4, rate=1.0) == pytest.approx([400.0, 400.0, 400.0])
    # 0.3 -> 0 -> at least 1: cash unchanged
    assert annuitise(cash_, 0.3, rate=1.0) == pytest.approx(cash_)
    with pytest.raises(ValueError, match="lifetime_years"):
        annuitise(cash_, 0.0)
    with pytest.raises(ValueError, match="horizon"):
        annuitise(cash_, 3, horizon=-1)


def test_annuitise_empty_cash():
    assert annuitise([], 5, horizon=3) == pytest.approx([0.0, 0.0, 0.0])
    assert annuitise([], 5).size == 0


@settings(max_examples=200, deadline=None)
@given(values=st.lists(cash, min_size=1, max_size=15), rate=rates)
def test_annuitise_lifetime_one_is_identity(values: list[float], rate: float):
    assert annuitise(values, 1, rate) == pytest.approx(values, rel=1e-12, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(cash, min_size=1, max_size=15),
    life=st.integers(1, 30),
    rate=rates,
    extra=st.integers(0, 5),
)
def test_annuitise_preserves_pv_over_an_unbounded_horizon(
    values: list[float], life: int, rate: float, extra: int
):
    horizon = len(values) + life + extra  # >= len + L - 1: every charge is kept
    charges = annuitise(values, life, rate, horizon=horizon)
    scale = max(1.0, sum(abs(v) for v in values))
    assert present_value(charges, rate) == pytest.approx(present_value(values, rate), abs=1e-9 * scale)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.floats(0, 1e6), min_size=1, max_size=15), life=st.integers(1, 30), rate=rates)
def test_annuitise_never_charges_more_pv_than_spent_for_nonnegative_cash(
    values: list[float], life: int, rate: float
):
    # dropping charges beyond the horizon can only lower the PV when all cash is >= 0
    charges = annuitise(values, life, rate)
    assert present_value(charges, rate) <= present_value(values, rate) * (1 + 1e-12) + 1e-9


# ----------------------------------------------------------------------------------- budget impact


def test_budget_impact_by_hand():
    # rate 0.25 -> discount factors 1, 0.8, 0.64. Programme [100, 50, 0], savings [0, 40, 200] (padded).
    # net = [100, 10, -200]; discounted = [100, 8, -128]; cumulative = [100, 110, -90];
    # cumulative discounted = [100, 108, -20] -> first <= 0 in year 3.
    bi = budget_impact([100.0, 50.0], [0.0, 40.0, 200.0], rate=0.25)
    assert list(bi.index) == [1, 2, 3] and bi.index.name == "year"
    assert list(bi.columns) == [
        "programme_cost",
        "savings",
        "net_cash",
        "net_cash_discounted",
        "cumulative_net_cash",
        "cumulative_net_cash_discounted",
    ]
    assert bi["programme_cost"].tolist() == pytest.approx([100.0, 50.0, 0.0])
    assert bi["net_cash"].tolist() == pytest.approx([100.0, 10.0, -200.0])
    assert bi["net_cash_discounted"].tolist() == pytest.approx([100.0, 8.0, -128.0])
    assert bi["cumulative_net_cash"].tolist() == pytest.approx([100.0, 110.0, -90.0])
    assert bi["cumulative_net_cash_discounted"].tolist() == pytest.approx([100.0, 108.0, -20.0])
    assert payback_year([0.0, 40.0, 200.0], [100.0, 50.0], rate=0.25) == 3


def _first_crossing(cum: np.ndarray) -> int | None:
    hit = np.flatnonzero(cum <= 0)
    return int(hit[0]) + 1 if hit.size else None


@settings(max_examples=300, deadline=None)
@given(
    programme=st.lists(st.floats(0, 1e5), min_size=1, max_size=12),
    savings=st.lists(st.floats(0, 1e5), min_size=1, max_size=12),
    rate=rates,
)
def test_payback_year_agrees_with_budget_impact(programme: list[float], savings: list[float], rate: float):
    bi = budget_impact(programme, savings, rate)
    cum = bi["cumulative_net_cash_discounted"].to_numpy()
    # payback_year absorbs float error with a 1e-9 relative tolerance; keep clear of exact ties
    scale = max(1.0, sum(programme) + sum(savings))
    assume(np.all(np.abs(cum) > 1e-7 * scale))
    assert payback_year(savings, programme, rate) == _first_crossing(cum)
    # the final cumulative discounted net cash is net_cost over the same years
    assert cum[-1] == pytest.approx(present_value(programme, rate) - present_value(savings, rate), abs=1e-6)


# ------------------------------------------------------------------------------------ ROI with QALYs


def test_roi_with_qalys_by_hand_beside_cash_roi():
    # savings 500, cost 1000: cash-releasing ROI = 0.5; with 0.1 QALY at 20,000: (500 + 2000)/1000 = 2.5
    assert roi_with_qalys(500.0, 0.1, 20_000.0, 1000.0) == pytest.approx(2.5)
    assert roi([500.0], [1000.0]) == pytest.approx(0.5)
    # zero QALYs reduce to the cash ROI
    assert roi_with_qalys(500.0, 0.0, 20_000.0, 1000.0) == pytest.approx(0.5)
    assert math.isnan(roi_with_qalys(500.0, 0.1, 20_000.0, 0.0))  # type: ignore[arg-type]
    assert math.isnan(roi_with_qalys(500.0, 0.1, 20_000.0, -10.0))  # type: ignore[arg-type]


def test_roi_with_qalys_vectorised():
    # thresholds 20k, 30k: (500 + 2000)/1000 = 2.5, (500 + 3000)/1000 = 3.5; cost 0 -> nan
    got = roi_with_qalys(
        500.0, 0.1, np.array([20_000.0, 30_000.0, 30_000.0]), np.array([1000.0, 1000.0, 0.0])
    )
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, [2.5, 3.5, np.nan])


# ------------------------------------------------------------------------------------------ ICER


def test_icer_quadrants_vectorised():
    # NE 1000/0.1 = 10,000; SE dominant -500/0.1 = -5,000; NW dominated inf; SW -500/-0.1 = 5,000;
    # zero QALYs nan; nan input nan
    c = np.array([1000.0, -500.0, 1000.0, -500.0, 1000.0, np.nan])
    q = np.array([0.1, 0.1, -0.1, -0.1, 0.0, 0.1])
    np.testing.assert_allclose(icer(c, q), [10_000.0, -5_000.0, np.inf, 5_000.0, np.nan, np.nan])
    assert icer(1000.0, 0.1) == pytest.approx(10_000.0)
    assert isinstance(icer(1000.0, 0.1), float)
    # zero cost, QALYs lost: dominated (cost >= 0), as cost_per_outcome says
    assert icer(0.0, -0.1) == math.inf


finite_or_nan = st.one_of(st.floats(-1e6, 1e6), st.just(0.0), st.just(math.nan))


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(finite_or_nan, finite_or_nan), min_size=1, max_size=20))
def test_icer_matches_cost_per_outcome_elementwise(pairs: list[tuple[float, float]]):
    c = np.array([p[0] for p in pairs])
    q = np.array([p[1] for p in pairs])
    expected = [cost_per_outcome(a, b) for a, b in pairs]
    np.testing.assert_allclose(icer(c, q), expected, rtol=1e-15)


# ------------------------------------------------------------------------------------------- CEAC


def test_ceac_four_samples_by_hand():
    # samples (cost, QALY): (1000, 0.1), (5000, 0.1), (-200, 0.05), (3000, -0.1)
    # lambda 0:      NMB = -1000, -5000,  200, -3000              -> 1/4
    # lambda 20,000: NMB =  1000, -3000, 1200, -5000              -> 2/4
    # lambda 50,000: NMB =  4000,     0, 2700, -8000 (tie: no)    -> 2/4
    # lambda 60,000: NMB =  5000,  1000, 3200, -9000              -> 3/4
    cost = [1000.0, 5000.0, -200.0, 3000.0]
    qaly = [0.1, 0.1, 0.05, -0.1]
    got = ceac(cost, qaly, [0.0, 20_000.0, 50_000.0, 60_000.0])
    np.testing.assert_allclose(got, [0.25, 0.5, 0.5, 0.75])


def test_ceac_drops_nan_samples_and_handles_none_left():
    # a nan sample in either array is dropped: 3 samples remain; at lambda 20,000 NMB = 1000, -3000, 1200
    got = ceac([1000.0, 5000.0, -200.0, np.nan, 1.0], [0.1, 0.1, 0.05, 0.1, np.nan], [20_000.0])
    np.testing.assert_allclose(got, [2 / 3])
    assert np.isnan(ceac([np.nan], [0.1], [0.0, 1.0])).all()
    with pytest.raises(ValueError, match="equal length"):
        ceac([1.0, 2.0], [0.1], [0.0])


samples = st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(0.0, 10.0)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(s=samples, lams=st.lists(st.floats(0, 1e6), min_size=1, max_size=20))
def test_ceac_monotone_in_lambda_when_qalys_nonnegative(s: list[tuple[float, float]], lams: list[float]):
    thresholds = np.sort(np.array(lams))
    curve = ceac([c for c, _ in s], [q for _, q in s], thresholds)
    assert np.all(np.diff(curve) >= 0)
    assert np.all((curve >= 0) & (curve <= 1))


@settings(max_examples=200, deadline=None)
@given(s=st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(1e-3, 10.0)), min_size=1, max_size=30))
def test_ceac_reaches_one_for_large_lambda_when_all_qalys_positive(s: list[tuple[float, float]]):
    # lambda x q >= 1e12 x 1e-3 = 1e9 > any cost (<= 1e6)
    assert ceac([c for c, _ in s], [q for _, q in s], [1e12]) == pytest.approx([1.0])


# ------------------------------------------------------------------- quality-adjusted life expectancy


def test_qale_toy_table_by_hand():
    # q = [0.1, 0.5, 1.0], u = [0.9, 0.8, 0.5]; deaths live half the year: this-year QALYs u (1 - q/2)
    #   age 2: 0.5 x 0.5 = 0.25
    # r = 0:
    #   age 1: 0.8 x 0.75 + 0.5 x 0.25 = 0.6 + 0.125 = 0.725
    #   age 0: 0.9 x 0.95 + 0.9 x 0.725 = 0.855 + 0.6525 = 1.5075
    q = [0.1, 0.5, 1.0]
    u = [0.9, 0.8, 0.5]
    assert quality_adjusted_life_expectancy(q, u, rate=0.0) == pytest.approx([1.5075, 0.725, 0.25])
    # r = 0.5 (next year weighted 1/1.5):
    #   age 1: 0.6 + 0.5 x 0.25 / 1.5 = 0.6 + 0.083333 = 0.683333
    #   age 0: 0.855 + 0.9 x 0.683333 / 1.5 = 0.855 + 0.41 = 1.265
    assert quality_adjusted_life_expectancy(q, u, rate=0.5) == pytest.approx([1.265, 0.6833333, 0.25])


def test_qale_closes_table_at_last_age_and_accepts_scalar_utility():
    # the last age's q is taken as 1 whatever is supplied: [0.1, 0.5, 0.2] gives the same as [..., 1.0]
    q_open = [0.1, 0.5, 0.2]
    # u = 1 and r = 0 -> ordinary life expectancy with a half-year for deaths:
    #   age 2: 0.5; age 1: 0.75 + 0.5 x 0.5 = 1.0; age 0: 0.95 + 0.9 x 1.0 = 1.85
    assert quality_adjusted_life_expectancy(q_open, 1.0, rate=0.0) == pytest.approx([1.85, 1.0, 0.5])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        quality_adjusted_life_expectancy([0.1, 1.2], 1.0)
    with pytest.raises(ValueError):
        quality_adjusted_life_expectancy([0.1, 0.2], [1.0, 1.0, 1.0])


@settings(max_examples=200, deadline=None)
@given(
    q=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
    u=st.floats(0.0, 1.0),
    rate=rates,
)
def test_qale_matches_explicit_survival_sum(q: list[float], u: float, rate: float):
    # QALE_0 = sum_k (1+r)^-k u S_k (1 - q_k / 2), S_k = prod_{j<k} (1 - q_j), last q forced to 1
    qq = np.array(q)
    qq[-1] = 1.0
    surv = np.concatenate([[1.0], np.cumprod(1 - qq)[:-1]])
    expected = np.sum(discount_factors(qq.size, rate) * u * surv * (1 - qq / 2))
    got = quality_adjusted_life_expectancy(q, u, rate)
    assert got[0] == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert np.all(got >= 0)
    assert np.all(got <= np.arange(qq.size, 0, -1) + 1e-12)  # never more than the years left in the table


# ------------------------------------------------------------------------------ QALYs beyond horizon


def test_lifetime_qalys_beyond_by_hand():
    # extra alive [10, 4], QALE [2.0, 0.5]: 20 + 2 = 22 QALYs at the horizon; H = 2, r = 0.5 -> 22 / 2.25
    assert lifetime_qalys_beyond([10.0, 4.0], [2.0, 0.5], 2, rate=0.5) == pytest.approx(22 / 2.25)
    # fewer survivors give a loss; H = 0 is undiscounted
    assert lifetime_qalys_beyond([-1.0, 0.0], [2.0, 0.5], 0, rate=0.5) == pytest.approx(-2.0)
    with pytest.raises(ValueError, match="equal length"):
        lifetime_qalys_beyond([1.0], [2.0, 0.5], 2)


def test_lifetime_extrapolation_consistent_with_qale():
    # One extra person aged 0 at the end of a 1-year horizon is worth QALE_0 discounted one year; that
    # equals the QALE of a table with an extra perfect-health, no-death year in front, minus that year.
    q = np.array([0.1, 0.5, 1.0])
    u = np.array([0.9, 0.8, 0.5])
    r = 0.035
    qale = quality_adjusted_life_expectancy(q, u, r)
    beyond = lifetime_qalys_beyond([1.0, 0.0, 0.0], qale, 1, r)
    longer = quality_adjusted_life_expectancy(np.r_[0.0, q], np.r_[1.0, u], r)
    assert beyond == pytest.approx(longer[0] - 1.0, rel=1e-12)


def test_quadrant_names_each_part_of_the_plane_as_cost_per_outcome_treats_it():
    from neighsim.analysis.economics import cost_per_outcome, quadrant

    cases = {(-5.0, 1.0): "dominant", (0.0, 1.0): "dominant", (5.0, 1.0): "north-east", (5.0, -1.0): "dominated",
             (0.0, -1.0): "dominated", (-5.0, -1.0): "south-west", (5.0, 0.0): "undefined",
             (float("nan"), 1.0): "undefined"}
    for (c, q), want in cases.items():
        assert quadrant(c, q) == want, (c, q)
        r = cost_per_outcome(c, q)
        assert (np.isnan(r) if want == "undefined" else np.isinf(r) if want == "dominated" else r == c / q)
