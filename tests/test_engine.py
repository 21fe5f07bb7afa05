"""The engine: identical paths, common random numbers, bookkeeping, Mesa views."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from neighsim.model import NeighbourhoodModel


def test_runs_and_conserves_people(small_population):
    m = NeighbourhoodModel(small_population).run(24)
    c = m.cohort
    df = m.counts()
    tot = df.groupby("measure")["value"].sum()
    start = small_population.cohort.n
    assert tot["population_start"] == start
    assert c.alive.sum() == start + tot["births"] + tot["immigrants"] - tot["deaths"] - tot["emigrants"]
    assert (c.death_step >= 0).sum() == tot["deaths"]
    assert c.n == start + tot["births"] + tot["immigrants"]
    assert len(np.unique(c.id)) == c.n  # ids unique, newcomers included
    # person-months: everybody alive at the start of each month
    assert tot["person_months"] > 23 * start


def test_same_seed_identical_other_seed_differs(small_population, small_config):
    a = NeighbourhoodModel(small_population).run(12)
    b = NeighbourhoodModel(small_population).run(12)
    assert a.cohort.equals(b.cohort) and a.counts().equals(b.counts())
    c = NeighbourhoodModel(small_population, replicate=1).run(12)
    assert not a.counts().equals(c.counts())


def test_per_agent_path_identical(small_population):
    pop = small_population.subset([small_population.geography.neighbourhood_ids()[0]])
    rows = np.arange(600)  # a few hundred residents keep the slow path quick
    pop.cohort = pop.cohort.subset(rows)
    pop.network = pop.network.block(0, 600)
    vec = NeighbourhoodModel(pop).run(3)
    agent = NeighbourhoodModel(pop, agents="all").run(3, per_agent=True)
    assert vec.cohort.equals(agent.cohort)
    assert vec.counts().equals(agent.counts())


def test_neighbourhood_alone_equals_inside_whole_run(small_population):
    whole = NeighbourhoodModel(small_population).run(12)
    for nb in small_population.geography.neighbourhood_ids():
        alone = NeighbourhoodModel(small_population.subset([nb])).run(12)
        w = whole.counts()
        w = w[w["neighbourhood"] == nb].reset_index(drop=True)
        assert w.equals(alone.counts().reset_index(drop=True))
        ids = np.sort(whole.cohort.id[(whole.cohort.neighbourhood == nb) & whole.cohort.alive])
        assert np.array_equal(ids, np.sort(alone.cohort.id[alone.cohort.alive]))


def test_null_modifier_changes_nothing(small_population):
    base = NeighbourhoodModel(small_population).run(12)
    m = NeighbourhoodModel(small_population)
    for name in ("mortality", "admissions.respiratory", "falls.rate", "onset.cvd", "smoking.quit"):
        m.add_modifier(name, lambda model, rows: 1.0)
    m.run(12)
    assert base.cohort.equals(m.cohort) and base.counts().equals(m.counts())


def test_modifier_moves_only_its_own_events(small_population):
    base = NeighbourhoodModel(small_population).run(12).counts()
    m = NeighbourhoodModel(small_population)
    m.add_modifier("admissions.respiratory", lambda model, rows: 0.5)
    alt = m.run(12).counts()
    tb, ta = (d.groupby("measure")["value"].sum() for d in (base, alt))
    assert ta["admissions_respiratory"] < 0.65 * tb["admissions_respiratory"]
    # fewer admissions, less quality of life lost to them
    assert ta["qalys"] > tb["qalys"]
    # admissions change no state, so every other count is bitwise identical (common random numbers)
    for measure in tb.index.drop(["admissions_respiratory", "qalys"]):
        assert ta[measure] == tb[measure], measure


def test_unknown_modifier_is_a_clear_error(small_population):
    from neighsim.errors import NeighsimError

    m = NeighbourhoodModel(small_population)
    with pytest.raises(NeighsimError, match="unknown hazard modifier"):
        m.add_modifier("admisions.resp", lambda model, rows: 1.0)


def test_resident_views_read_and_write_the_arrays(small_population):
    m = NeighbourhoodModel(small_population, agents="sample", sample_size=50)
    assert len(m.agents) == 50
    r = next(iter(m.agents))
    assert r.age == m.cohort.age_months[r.row] // 12
    r.smoking = 1
    assert m.cohort.smoking[r.row] == 1 and r.smoking_status == "current"
    smokers = m.agents.select(lambda a: a.smoking == 1)
    assert r in smokers
    by_sex = m.agents.groupby("sex").count()
    assert sum(by_sex.values()) == 50
    m.close()
    assert m not in mesa.Agent._ids


def test_validation_probe_and_life_expectancy(small_population):
    from neighsim.analysis.life import life_expectancy_table

    m = NeighbourhoodModel(small_population).run(60)
    lt = m.lifetable_counts().assign(scenario="baseline", replicate=0, param_draw=-1)
    le = life_expectancy_table(lt, small_population.geography, "2026-2031")
    ics = le[(le["level"] == "ics") & (le["outcome"] == "life_expectancy") & (le["stratum"] == "sex=female")]
    assert 75 < float(ics["value"].iloc[0]) < 92


def test_two_threads_identical_to_one(small_population):
    one = NeighbourhoodModel(small_population, threads=1).run(12)
    two = NeighbourhoodModel(small_population, threads=2).run(12)
    assert two.threads == 2
    assert one.cohort.equals(two.cohort) and one.counts().equals(two.counts())


# --- a process defined outside the package -------------------------------------------------------------
import numba  # noqa: E402

from neighsim.processes.base import Process, Result, State  # noqa: E402
from neighsim.processes.kernels import JIT, U, candidates, uniform  # noqa: E402
from neighsim.processes.plan import default_plan  # noqa: E402


@numba.njit(**JIT)
def _lonely_candidates(lo, hi, out, ids, alive, age, lonely, key, p):
    k = 0
    for r in range(U(lo), U(hi)):
        if age[r] >= 65 and alive[r] and not lonely[r] and uniform(ids[r], key) < p:
            out[k] = r
            k += 1
    return k


class Loneliness(Process):
    """The worked example of docs/model.md: residents 65+ become lonely at a monthly rate."""

    name = "loneliness"
    description = "residents aged 65+ become lonely (1% a month; an illustration)"
    states = (State("lonely", np.bool_, False, "feels lonely"),)
    BECAME_LONELY = Result("became_lonely", "Residents becoming lonely", "people")
    LONELY = Result("lonely_residents", "Lonely residents (end of period)", "people", kind="snapshot")
    results = (BECAME_LONELY, LONELY)
    streams = ("loneliness",)
    modifiers = ("loneliness.onset",)

    def apply(self, model, rows=None):
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        p = 0.01 * model.modifier_bound("loneliness.onset")
        cand = candidates(_lonely_candidates, rows, c.n, c.id, c.alive, model.age, c.lonely,
                          model.streams.key_u64("loneliness", model.t), p)
        new = cand[model.draw("loneliness", cand) < 0.01 * model.modifier("loneliness.onset", cand)]
        c.lonely[new] = True
        model.record(self.BECAME_LONELY.name, new)

    def snapshot(self, model):
        model.count_living(self.LONELY.name, model.cohort.lonely)


def test_a_process_from_elsewhere_is_one_class_and_one_line(small_population):
    plan = default_plan()
    plan.insert(len(plan) - 1, Loneliness())  # before quality of life
    m = NeighbourhoodModel(small_population, plan=plan).run(12)
    base = NeighbourhoodModel(small_population).run(12)
    tot = m.counts().groupby("measure")["value"].sum()
    older = int(((small_population.cohort.age_months >= 65 * 12)).sum())
    assert 0.05 * older < tot["became_lonely"] < 0.2 * older  # about 11% of those 65+ over a year
    assert tot["lonely_residents"] > 0 and m.cohort.lonely.sum() == tot["became_lonely"]
    # its own stream moves nobody else's draws: every other count is bitwise identical
    other = m.counts()
    other = other[~other["measure"].isin(["became_lonely", "lonely_residents"])].reset_index(drop=True)
    assert other.equals(base.counts())
    # the state lives in this model's cohort only
    assert "lonely" not in small_population.cohort and "lonely" not in base.cohort
    # the per-agent path runs the same compiled code
    pop = small_population.subset([small_population.geography.neighbourhood_ids()[0]])
    pop.cohort = pop.cohort.subset(np.arange(400))
    pop.network = pop.network.block(0, 400)
    plan_a, plan_b = default_plan(), default_plan()
    plan_a.insert(len(plan_a) - 1, Loneliness())
    plan_b.insert(len(plan_b) - 1, Loneliness())
    vec = NeighbourhoodModel(pop, plan=plan_a).run(3)
    agent = NeighbourhoodModel(pop, plan=plan_b, agents="all").run(3, per_agent=True)
    assert vec.counts().equals(agent.counts()) and vec.cohort.equals(agent.cohort)


def test_intervention_fields_never_leak_into_other_models(small_population, small_config):
    from neighsim.interventions.scenario import parse_scenario

    sc = parse_scenario({"name": "hc", "interventions": [{"type": "health_checks"}]}, small_config)
    a = NeighbourhoodModel(small_population, interventions=sc.build(small_population.params))
    assert "health_checks_check_step" in a.cohort
    b = NeighbourhoodModel(small_population)
    assert "health_checks_check_step" not in b.cohort and "health_checks_check_step" not in small_population.cohort
    b.cohort.append(3)  # newcomers get the defaults of their own cohort's fields only
    assert b.cohort.n == small_population.cohort.n + 3
