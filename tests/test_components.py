"""Each component of the integrated falls pathway, warm homes' deaths and the engine's falls-frailty feedback:
the effect realised among participants equals its source within Monte Carlo error (common random numbers
make the comparison sharp), and only the increment over today's delivery is credited and charged."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neighsim.model import NeighbourhoodModel
from test_interventions import EventLog, run, scenario

ONLY = {k: False for k in ("assessment", "exercise", "digital", "bone_health", "medication_review", "fracture_liaison")}
# no feedback from fewer falls or fractures (recent-fall ratio, frailty progression): the events compared
# are then the same residents' under the same random numbers
NO_FEEDBACK = {"falls.previous_fall_rr": 1.0, "frailty.fall_progression_rr": 1.0,
               "frailty.hip_fracture_progression_rr": 1.0}


def falls_only(cfg, component: str, effects: dict, **entry):
    return scenario(cfg, {"type": "falls_pathway", "eligibility": "true", "uptake": 1.0,
                          "effects": {"effect_months": 60, **effects},
                          "options": {**ONLY, component: True, "repeat_months": 99}, **entry})


def window_rates(log: EventLog, kind: str, start: pd.Series, end: pd.Series) -> tuple[int, float]:
    """Events of `kind` among residents from their start month to their end month, per person-month."""
    ev = log.events_of(kind)
    ev = ev[ev["id"].isin(start.index)]
    t = ev["t"].to_numpy()
    inside = (t >= start.loc[ev["id"]].to_numpy()) & (t <= end.loc[ev["id"]].to_numpy())
    pm = sum(int(((start.reindex(ids) <= t) & (end.reindex(ids) >= t)).sum()) for t, ids in log.alive.items())
    return int(inside.sum()), inside.sum() / pm


def test_bone_health_hip_fractures_match_scoop(tamworth):
    """Women 70-85 given a bone-health assessment have hip fractures per fall x 0.72 (SCOOP, Shepstone
    2018) for the effect's months; their falls are unchanged."""
    params = tamworth.params.update(NO_FEEDBACK)
    sc = falls_only(tamworth.config, "bone_health", {"bone_health_hip_fracture_hr": 0.72, "bone_health_months": 60})
    logs = {k: EventLog(("fall", "fracture")) for k in ("base", "alt")}
    run(tamworth, None, params=params, extra=[logs["base"]])
    alt = run(tamworth, sc, params=params, extra=[logs["alt"]])
    c = alt.cohort
    until = pd.Series(c["falls_pathway_bone_until"], index=c.id)
    start = pd.Series(c["falls_pathway_entry_step"], index=c.id)[until >= 0]
    until = until[until >= 0]
    assert len(start) > 3000 and not c.male[np.isin(c.id, start.index)].any()
    n_f, f_b = window_rates(logs["base"], "fall", start, until)
    _, f_a = window_rates(logs["alt"], "fall", start, until)
    n_h, h_b = window_rates(logs["base"], "fracture", start, until)
    _, h_a = window_rates(logs["alt"], "fracture", start, until)
    print(f"falls {n_f}: ratio {f_a / f_b:.4f}; hip fractures {n_h}: ratio {h_a / h_b:.4f}")
    assert abs(f_a / f_b - 1) < 0.01
    assert abs(h_a / h_b - 0.72) < 3.5 * math.sqrt(0.72 * 0.28 / n_h) + 0.01


def test_medication_review_only_the_increment_and_its_rate_ratio(tamworth):
    """Reviews reach the frailty cohort between today's coverage and the target; the reviewed fall at the
    review's rate ratio for 12 months."""
    params = tamworth.params.update(NO_FEEDBACK)
    sc = falls_only(tamworth.config, "medication_review",
                    {"medication_review_rate_ratio": 0.7, "medication_review_current": 0.4,
                     "medication_review_coverage": 0.8})
    logs = {k: EventLog(("fall",)) for k in ("base", "alt")}
    run(tamworth, None, params=params, extra=[logs["base"]])
    alt = run(tamworth, sc, params=params, extra=[logs["alt"]])
    c = alt.cohort
    first = pd.Series(c["falls_pathway_review_step"], index=c.id)
    reviewed = first[first >= 0]
    # share of the frailty cohort at the start (65+, moderate or severe) ever reviewed: about 0.8 - 0.4
    start = tamworth.cohort
    cohort = start.id[start.alive & (start.age_months >= 65 * 12) & (start.frailty >= 2)]
    share = np.isin(cohort, reviewed.index).mean()
    print(f"frailty cohort at the start {len(cohort)}, reviewed {share:.3f}")
    assert abs(share - 0.4) < 0.03
    # the last review's 12 months (earlier ones are checked by the same arithmetic in the model)
    until = pd.Series(c["falls_pathway_review_until"], index=c.id)[reviewed.index]
    n, r_b = window_rates(logs["base"], "fall", until - 11, until)
    _, r_a = window_rates(logs["alt"], "fall", until - 11, until)
    print(f"falls {n}: ratio {r_a / r_b:.4f}")
    # the ratio applies to the hazard; with at most one fall a month, frail residents' monthly chances
    # (hazards up to about 2 a year) thin by slightly less: (1 - exp(-0.7 h/12)) / (1 - exp(-h/12)) <= 0.74
    assert 0.7 <= r_a / r_b < 0.75


def test_fracture_liaison_only_beyond_todays_coverage(tamworth):
    """With today's coverage 0.9 and a target of 1.0 only a tenth of hip fractures are the programme's:
    they (and only they) are charged and have post-fracture mortality at the hazard ratio."""
    p = tamworth.params
    sc = falls_only(tamworth.config, "fracture_liaison", {"fls_current_coverage": 0.9, "fls_coverage": 1.0})
    m = run(tamworth, sc)
    tot = m.interventions[0].summary()["totals"]
    fractures = m.counts().query("measure == 'hip_fractures'")["value"].sum()
    share = tot["fls_patients"] / fractures
    print(f"hip fractures {fractures:.0f}, in the increment {tot['fls_patients']:.0f} ({share:.3f})")
    assert abs(share - 0.1) < 4 * math.sqrt(0.09 / fractures)
    assert tot["cost"] == pytest.approx(tot["fls_patients"] * p["interventions.falls_fls_cost"])
    # a target at or below today's coverage does nothing and costs nothing
    none = run(tamworth, falls_only(tamworth.config, "fracture_liaison",
                                    {"fls_current_coverage": 0.9, "fls_coverage": 0.85}), months=24)
    assert none.interventions[0].summary()["totals"].get("fls_patients", 0.0) == 0.0
    base = run(tamworth, None, months=24)
    assert base.counts().equals(none.counts())


def test_digital_users_fall_at_the_assumed_ratio_unless_exercising(tamworth):
    params = tamworth.params.update(NO_FEEDBACK)
    sc = falls_only(tamworth.config, "digital", {"digital_uptake": 1.0, "digital_rate_ratio": 0.8})
    logs = {k: EventLog(("fall",)) for k in ("base", "alt")}
    run(tamworth, None, params=params, extra=[logs["base"]])
    alt = run(tamworth, sc, params=params, extra=[logs["alt"]])
    c = alt.cohort
    until = pd.Series(c["falls_pathway_digital_until"], index=c.id)
    start = pd.Series(c["falls_pathway_entry_step"], index=c.id)[until >= 0]
    n, r_b = window_rates(logs["base"], "fall", start, until[until >= 0])
    _, r_a = window_rates(logs["alt"], "fall", start, until[until >= 0])
    print(f"falls {n}: ratio {r_a / r_b:.4f}")
    assert 0.8 <= r_a / r_b < 0.8 * 1.02


def test_falls_and_hip_fractures_speed_frailty_progression(tamworth):
    """In the 12 months after a fall, progression runs at fall_progression_rr times (after a hip fracture
    hip_fracture_progression_rr times) the rate of the same cell's residents who did not fall, and
    prevalence holds (the tables are normalised on the expected share of recent fallers)."""
    m = NeighbourhoodModel(tamworth, tamworth.params)
    fr = m.process("frailty")
    m.run(1)
    c = m.cohort
    rows = np.flatnonzero(c.alive & (c.frailty < 3))
    ratio = fr.after_fall(m, rows)
    hip = (m.t - c.hip_fracture_step[rows].astype(int)) <= 12
    fell = ((m.t - c.last_fall_step[rows].astype(int)) <= 12) & ~hip
    assert np.all(ratio[hip] == tamworth.params["frailty.hip_fracture_progression_rr"])
    assert np.all(ratio[fell] == tamworth.params["frailty.fall_progression_rr"])
    assert np.all(ratio[~hip & ~fell] == 1.0)
    assert fell.sum() > 1000 and hip.sum() > 50


def test_warm_homes_remove_the_cold_home_winter_excess_of_deaths(tamworth):
    """Residents of treated homes die at the rate of a never-cold home: the engine's winter excess for
    fuel-poor homes is divided out, from the month after installation, in winter only."""
    from neighsim.processes.admissions import winter_curve

    sc = scenario(tamworth.config, {"type": "warm_homes", "uptake": 1.0, "eligibility": "true",
                                    "effects": {"respiratory_rr": 1.0, "cardiovascular_rr": 1.0,
                                                "existing_schemes_annual": 0.0}})
    m = run(tamworth, sc, months=10)  # April 2026 to January 2027
    wh = m.interventions[0]
    rows = wh.treated_rows(m)
    rows = rows[m.cohort.fuel_poor[rows]]
    assert len(rows) > 1000
    cold = tamworth.params["mortality.cold_home_winter_rr"]
    got = np.asarray(wh._mortality(m, rows)) * m.process("mortality").cold_factor(m.calendar_month)
    print(f"month {m.calendar_month}: winter curve {winter_curve(m.calendar_month):.2f}, cold ratio {cold}")
    assert m.process("mortality").cold_factor(m.calendar_month) > 1.1  # a winter month
    on = wh._on(m, rows)
    assert on.mean() > 0.9 and np.allclose(got[on], 1.0)


def test_a_quitters_admission_excess_starts_at_the_smokers_and_halves_every_half_life():
    """Admission risk no longer drops to never-smoker level the month after quitting (Duncan 2019)."""
    from neighsim.processes.admissions import smoking_excess

    status = np.array([0, 1, 2, 2, 2, 2], dtype=np.int8)
    quit = np.array([-32000, -32000, 30, 6, -18, -32000], dtype=np.int16)
    got = smoking_excess(status, quit, 30, 2.0)
    np.testing.assert_allclose(got, [0.0, 1.0, 1.0, 0.5, 0.25, 0.0], atol=1e-6)


def test_warm_homes_budget_buys_homes_at_the_price_charged(small_config, small_population):
    """A budget converts to homes at the re-priced cost (BRE's 2011/12 GBP 6,700 in 2026/27 prices), the
    cost the module charges, so the money reported equals the budget for the homes delivered."""
    p = small_population.params
    unit = 6700.0 * p["economics.price_index_2026_27"] / p["economics.price_index_2011_12"]
    sc = scenario(small_config, {"type": "warm_homes", "budget": 100 * unit})
    assert sc.specs[0].delivery.capacity == pytest.approx(100.0)
    iv = sc.build(p)[0]
    assert iv.costs["per_participant"] == pytest.approx(unit)


def test_bone_health_is_once_and_reviews_not_on_top_of_an_assessment(tamworth):
    """Re-entering the pathway does not repeat (or re-charge) bone health while its effect lasts, and
    nobody is given a separate medication review while an assessment's effect is active."""
    sc = scenario(tamworth.config, {"type": "falls_pathway", "eligibility": "true", "uptake": 1.0,
                                    "effects": {"bone_health_months": 60, "effect_months": 6,
                                                "medication_review_current": 0.0,
                                                "medication_review_coverage": 1.0},
                                    "options": {**ONLY, "bone_health": True, "assessment": True,
                                                "medication_review": True, "repeat_months": 6}})
    m = run(tamworth, sc, months=36)
    c = m.cohort
    tot = m.interventions[0].summary()["totals"]
    women = int((c["falls_pathway_bone_until"] >= 0).sum())
    assert tot["participants"] > 1.5 * len(np.flatnonzero(c["falls_pathway_entry_step"] >= 0))  # re-entries
    assert tot["bone_health"] == women  # each woman once
    review, entry, mfa = (c[f"falls_pathway_{k}"].astype(int) for k in ("review_step", "entry_step", "mfa_until"))
    last = (review >= 0) & (entry >= 0)
    assert not ((review[last] >= entry[last]) & (review[last] <= mfa[last])).any()
    assert tot["medication_reviews"] > 1000


def test_hip_fractures_and_injurious_falls_lose_quality_of_life():
    """QALYs a month: the age-norm utility less 0.53 for the three months after a hip fracture's month, 0.16
    to its twelfth, 0.09 for twelve months after an admitted fall (the larger loss when both apply); the
    event's own month was counted at its start."""
    from neighsim.processes.quality_of_life import _event_losses, _qalys, fall_losses, largest_by_row

    t, never = 20, -32000
    n = 5
    one = np.ones(n, dtype=np.bool_)
    zero = np.zeros(n, dtype=np.bool_)
    hip = np.array([t, t - 5, t - 12, never, t - 2], dtype=np.int16)
    fall = np.array([never, t - 1, never, t - 3, t - 13], dtype=np.int16)
    hip_loss = np.where(np.arange(12) < 3, 0.53, 0.16)
    out = np.zeros(n)
    args = (one, np.arange(n), np.full(n, 80, dtype=np.int16), zero, zero, zero, zero, np.zeros(n, np.int8),
            np.zeros(n, np.int8), np.zeros(n, np.int8), np.zeros(n), np.full(121, 0.8), np.ones(16), np.ones(16),
            np.ones(4), 0.0, 0.0)
    _qalys(n, *args, out)
    loss = fall_losses(t, hip, fall, hip_loss, 0.09)
    np.testing.assert_allclose(loss, [0.0, 0.16, 0.16, 0.09, 0.53])
    # an admission's loss of 0.2 on row 0 joins: the larger of each row's losses counts
    rows, best = largest_by_row(np.concatenate([np.arange(n), [0, 3]]), np.concatenate([loss, [0.2, 0.05]]))
    _event_losses(rows, best, *args, out)
    np.testing.assert_allclose(out * 12, [0.8 - 0.2, 0.8 - 0.16, 0.8 - 0.16, 0.8 - 0.09, 0.8 - 0.53])


def test_smokers_and_cold_homes_lose_quality_of_life():
    """A current smoker (status 1, not an ex-smoker) and a resident of a cold home lose their decrements,
    a relieved home (weight 0) none, and utility never goes below 0."""
    from neighsim.processes.quality_of_life import _qalys

    n = 5
    one = np.ones(n, dtype=np.bool_)
    zero = np.zeros(n, dtype=np.bool_)
    smoker = np.array([1, 2, 0, 1, 1], dtype=np.int8)
    cold = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    frailty = np.array([0, 0, 0, 0, 3], dtype=np.int8)
    out = np.zeros(n)
    _qalys(n, one, np.arange(n), np.full(n, 40, dtype=np.int16), zero, zero, zero, zero, np.zeros(n, np.int8),
           frailty, smoker, cold, np.full(121, 0.9), np.ones(16), np.ones(16), np.array([1.0, 1, 1, 0.01]),
           0.05, 0.03, out)
    np.testing.assert_allclose(out * 12, [0.85, 0.87, 0.9, 0.82, 0.0])


def test_the_quality_of_life_candidates_cover_every_recent_event(small_population):
    """The short list of residents who may carry an event's loss holds everyone with a hip fracture or an
    admitted fall in the last year, in every month (so the monthly pass over everyone can skip them)."""
    from neighsim.model import NeighbourhoodModel

    m = NeighbourhoodModel(small_population)
    q = m.process("quality_of_life")
    for _ in range(30):
        m.run(1)
        c, t = m.cohort, m.t
        q.losses(m)  # the list as the month's QALYs read it
        listed = np.unique(np.concatenate([r for _, r in q.recent]))
        recent = np.flatnonzero(c.alive & (((t - c.hip_fracture_step.astype(int)) <= 12)
                                           | ((t - c.fall_admission_step.astype(int)) <= 12)))
        assert np.isin(recent, listed).all()
