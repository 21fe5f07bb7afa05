"""A baseline that holds steady: rates normalised on the starting population, onset and frailty
transitions derived from the prevalence curves, migration by age, falls history at the start."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neighsim.agents.cohort import CONDITIONS
from neighsim.model import NeighbourhoodModel
from neighsim.population.attributes import FRAILTY_MIN_AGE
from neighsim.population.migration import net_migration_rates, snpp_growth
from neighsim.processes.reference import onset_for_curve, smooth_ratio
from neighsim.processes.smoking import smoking_rate_ratio
from neighsim.processes.tables import N_ASD, death_hazard


@given(p_now=st.floats(0.0, 0.85), rise=st.floats(0.0, 0.1), hazard=st.floats(0.0, 0.5), rr=st.floats(1.0, 4.0))
@settings(max_examples=200, deadline=None)
def test_onset_carries_a_cohort_along_its_curve(p_now, rise, hazard, rr):
    """One year of the derived onset, with those who have the condition dying at rr times the others,
    takes the survivors from p_now to p_next (unless the curve needs more than the clip allows)."""
    p_next = min(p_now + rise, 0.95)
    inc = float(onset_for_curve(np.array([p_now]), np.array([p_next]), np.array([hazard]), rr)[0])
    mean = 1 + p_now * (rr - 1)
    s1, s0 = p_now * np.exp(-hazard * rr / mean), (1 - p_now) * np.exp(-hazard / mean)
    got = (s1 + s0 * inc) / (s1 + s0)
    if 0.0 < inc < 0.9:
        assert got == pytest.approx(p_next, abs=1e-9)
    else:  # clipped: never an onset below zero, never above the cap
        assert 0.0 <= inc <= 0.9


def test_smoothing_keeps_big_cells_and_fills_empty_ones():
    sums, counts = np.zeros(N_ASD), np.zeros(N_ASD)
    counts[500], sums[500] = 10_000, 20_000.0  # a big cell: its own mean
    counts[520], sums[520] = 3, 30.0  # a small cell of the same age (the other sex): shrunk to its neighbours
    out = smooth_ratio(sums, counts)
    assert out[500] == pytest.approx(2.0, rel=1e-3)
    assert np.isfinite(out).all() and (out > 0).all()
    assert abs(out[520] - 10.0) > 1.0


def test_rates_are_normalised_on_the_starting_population(tamworth):
    """The mean multiplier of each cell on the whole ICS at the start is divided out: residents of a
    well-filled cell die, on average, at the published rate of their age, sex and decile."""
    m = NeighbourhoodModel(tamworth)
    ref, p = m.reference, m.params
    c = ref.cohort
    smk = smoking_rate_ratio(c.smoking, c.quit_step, 0, p["mortality.quit_benefit_halflife_years"],
                             p["mortality.smoking_rr_current"], p["mortality.smoking_rr_ex"])
    mort = m.process("mortality")
    own = mort.individual(p, smk, c.htn, c.cvd, c.copd, c.diabetes, c.frailty, ref.factor("mortality"))
    hazard = np.bincount(ref.asd, weights=mort.table[ref.asd] * own, minlength=N_ASD)
    n = np.bincount(ref.asd, minlength=N_ASD)
    big = n >= 800  # small cells borrow from their neighbours (10 pseudo-residents): about 1% here
    assert big.sum() > 100
    np.testing.assert_allclose(hazard[big] / n[big], death_hazard(p)[big], rtol=0.02)
    # an LSOA factor averages to about one within each decile (a residual within the decile)
    for name in ("illness", "acute", "mortality"):
        f = ref.factor(name)
        for d in range(1, 11):
            sel = c.imd_decile == d
            if sel.sum() > 10_000:
                assert np.exp(np.log(f[sel]).mean()) == pytest.approx(1.0, abs=0.1), (name, d)


def test_frailty_transitions_reproduce_next_years_shares(tamworth):
    m = NeighbourhoodModel(tamworth)
    ref, p = m.reference, m.params
    now, nxt = ref.target("frailty")
    rates = m.process("frailty").rates
    age = np.repeat(np.arange(121), 20)
    cell = (age >= 55) & (age <= 90) & (ref.targets.count > 500)
    from neighsim.processes.frailty import fall_factor_mean

    probs = -np.expm1(-rates * np.stack([ref.mean(p["frailty.ltc_progression_rr"] ** ref.nltc.astype(float),
                                                  ref.cohort.frailty == k) for k in range(3)], axis=1)
                      * fall_factor_mean(p, ref)[:, :3])  # the expected ratio after falls and hip fractures
    hr = np.asarray(p["mortality.frailty_hr"])
    s = now * np.exp(-death_hazard(p)[:, None] * hr / (now @ hr)[:, None])
    onset, g1, g2 = probs.T
    year = np.stack([s[:, 0] * (1 - onset), s[:, 1] * (1 - g1) + s[:, 0] * onset,
                     s[:, 2] * (1 - g2) + s[:, 1] * g1, s[:, 3] + s[:, 2] * g2], axis=1)
    year /= year.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(year[cell], nxt[cell], atol=1e-6)
    assert (probs[age < FRAILTY_MIN_AGE] == 0).all()  # residents enter the eFI at 50 instead


def test_synthesis_hits_the_published_frailty_and_records_targets(tamworth):
    t = tamworth.reference.targets
    age = np.repeat(np.arange(121), 20)
    share = t.now["frailty"][:, 1:].sum(axis=1)
    for lo, hi, published in ((50, 64, 0.10), (65, 120, 0.437)):
        sel = (age >= lo) & (age <= hi)
        assert share[sel].sum() / t.count[sel].sum() == pytest.approx(published, abs=1e-4)  # whole ICS
    for cond in CONDITIONS:  # a year older, prevalence is never lower in the middle of life
        sel = (age >= 30) & (age <= 70)
        assert (t.next[cond][sel] >= t.now[cond][sel] - 1e-9).all()


def test_falls_history_and_entry_at_fifty(small_population):
    m = NeighbourhoodModel(small_population)
    c = m.cohort
    older = c.alive & (m.age >= 65)
    fell = (c.last_fall_step > -13) & older
    assert 0.25 < fell.sum() / older.sum() < 0.5  # a third to a half fell in the past year
    assert (c.hip_fracture_step[older] > -13).sum() > 0
    assert (c.last_fall_step[c.last_fall_step > -32000] < 0).all()  # all before the start
    m.run(24)
    turned = np.flatnonzero(c.alive & (c.entry_step < 0) & (c.age_months >= 600) & (c.age_months < 624))
    assert len(turned) > 100 and 0.005 < (c.frailty[turned] > 0).mean() < 0.15


def test_migration_follows_the_projection_by_age():
    from neighsim.config import LOCAL_AUTHORITIES
    from neighsim.parameters import load_parameters
    from neighsim.paths import configs_dir

    p = load_parameters(configs_dir() / "parameters")
    rates = net_migration_rates(p, list(LOCAL_AUTHORITIES))
    assert rates.shape == (9, 101) and np.isfinite(rates).all()
    stoke = rates[list(LOCAL_AUTHORITIES).index("Stoke-on-Trent")]
    assert stoke[18:20].max() > 0.02  # students arrive
    assert np.all(rates[:, 65:] == rates[:, 65:66])  # 65+: one rate (not the projection's residual)
    assert snpp_growth(list(LOCAL_AUTHORITIES), 85) == pytest.approx(0.2282, abs=5e-4)
    assert snpp_growth(list(LOCAL_AUTHORITIES), 65) == pytest.approx(0.0895, abs=5e-4)


def test_starting_ages_are_those_of_the_ons_projection(tamworth):
    """Each LA starts with the ONS projection's residents of each single age at the start date (90+ as
    a group), whatever the mortality parameters; only their spread over LSOAs is the model's."""
    import datetime as dt

    from neighsim.population.migration import snpp_at

    want = snpp_at("Tamworth", dt.date(2026, 4, 1))
    ages = np.minimum(tamworth.cohort.age_months // 12, 90)
    have = np.bincount(ages, minlength=91)
    assert np.abs(have - want).max() < 0.03 * want.max()  # integerised cells
    assert abs(have.sum() / want.sum() - 1) < 0.002
    assert abs(have[85:].sum() / want[85:].sum() - 1) < 0.02


def test_start_date_outside_the_projection_is_a_clear_error():
    from neighsim.config import load_config
    from neighsim.errors import ConfigError
    from neighsim.population import build_population

    cfg = load_config(population={"start_date": "2040-04-01", "scale": 0.01, "local_authorities": ["Tamworth"]})
    with pytest.raises(ConfigError, match="population.start_date.*mid-2022 and mid-2036"):
        build_population(cfg)


def test_in_migrants_arrive_at_the_ages_of_the_projection(small_population):
    m = NeighbourhoodModel(small_population).run(12)
    c = m.cohort
    new = np.flatnonzero(c.entry_step >= 0)
    born = new[c.age_months[new] < 12 + 1]
    movers = np.setdiff1d(new, born)
    assert len(movers) > 100
    ages = c.age_months[movers] // 12
    assert np.median(ages) < np.median(c.age_months[c.alive & (c.entry_step < 0)] // 12)  # younger
    # each took the state of a resident of their age: nobody under 18 smokes, conditions follow age
    assert (c.smoking[movers][ages < 17] == 0).all()


@pytest.mark.slow
def test_whole_ics_baseline_holds_steady():
    """Five years of the whole ICS: the rates that drifted before (severe frailty, falls admissions,
    deaths and admissions at 65+) stay within 5% from the first to the last year."""
    from neighsim.config import load_config
    from neighsim.validate import drift_table, run_baseline

    run = run_baseline(load_config(), progress=False)
    d = drift_table(run.probe, run.months).set_index(["measure", "age_band"])
    for key in (("frailty_severe", "75-84"), ("frailty_moderate", "75-84"), ("frailty_mild", "65-74"),
                ("admissions_falls", "75-84"), ("admissions_other", "65-74"), ("deaths", "75-84"),
                ("prevalent_htn", "50-64"), ("multimorbid", "65-74")):
        assert abs(d.loc[key, "change"]) <= 0.05, (key, d.loc[key, "change"])
    assert d["steady"].dropna().mean() > 0.95


def test_growth_starts_from_the_population_as_built(small_population):
    """The one-year growth compares the living at the end of month 12 with the residents as built,
    not with them after the first month's ageing (which would hide a twelfth of a year's birthdays)."""
    from neighsim.validate import run_baseline

    built = np.sort(np.minimum(small_population.cohort.age_months // 12, 120))
    run = run_baseline(small_population.config, progress=False, population=small_population, months=12)
    assert np.array_equal(np.sort(run.probe.start_ages), built)


def test_projection_years_are_mid_years():
    """The projection's year y is 30 June y: a start date on that day takes that year's figures."""
    import datetime as dt

    from neighsim.population.migration import _snpp, snpp_at

    assert np.allclose(snpp_at("Tamworth", dt.date(2022, 6, 30)), _snpp()["Tamworth"][0])
    assert np.allclose(snpp_at("Tamworth", dt.date(2026, 6, 30)), _snpp()["Tamworth"][4])
