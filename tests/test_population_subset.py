"""A run of some neighbourhoods builds only their residents (households, network), and they are exactly
the residents, states, ties and results the whole build gives them (population/synth.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neighsim.config import load_config
from neighsim.errors import NeighsimError
from neighsim.population import Population, UnknownNeighbourhoods, build_population
from neighsim.runner import tasks as tasks_mod
from neighsim.runner.experiment import read_summary, run_experiment
from neighsim.runner.tasks import Task, get_population, release_populations, run_task

TAMWORTH = {"population": {"local_authorities": ["Tamworth"], "scale": 0.05}}
WHOLE = {"population": {"scale": 0.05}}
SHORT = {"time": {"months": 12}}


@pytest.fixture(autouse=True)
def _fresh_cache():
    release_populations()
    yield
    release_populations()


def assert_same(a: Population, b: Population) -> None:
    """Same residents (every field, bit for bit), ties, households and reference."""
    sa, sb = a.cohort.state_dict(), b.cohort.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        assert np.array_equal(sa[k], sb[k]), k
    for x, y in ((a.network.indptr, b.network.indptr), (a.network.indices, b.network.indices),
                 (a.household_lsoa, b.household_lsoa), (a.household_fuel_poor, b.household_fuel_poor)):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert a.reference.frailty_fit == b.reference.frailty_fit
    for key, v in a.reference.targets.now.items():
        assert np.array_equal(v, b.reference.targets.now[key]), key
    assert a.reference.cohort.n == b.reference.cohort.n
    pd.testing.assert_frame_equal(a.geography.lsoas, b.geography.lsoas)
    pd.testing.assert_frame_equal(a.geography.neighbourhoods, b.geography.neighbourhoods)


@pytest.mark.parametrize("cfg_over, names", [
    (TAMWORTH, ["Tamworth: Wilnecote & Belgrave"]),  # one LA: LSOA rows renumbered
    (WHOLE, ["Tamworth: Amington & Spital", "Stoke-on-Trent North"]),  # whole ICS, two neighbourhoods
])
def test_subset_build_is_the_whole_build_subset(cfg_over, names):
    cfg = load_config(**cfg_over)
    whole = build_population(cfg)
    nb = whole.geography.neighbourhoods
    nbs = sorted(int(nb.loc[nb["name"].str.startswith(n), "id"].iloc[0]) for n in names)
    part = build_population(cfg, neighbourhoods=nbs)
    assert_same(part.subset(nbs), whole.subset(nbs))
    assert_same(whole.select(nbs).subset(nbs), whole.subset(nbs))
    # the network built for the neighbourhoods alone is their blocks of the whole network
    assert np.array_equal(part.network.indptr, whole.subset(nbs).network.indptr)
    assert np.array_equal(part.network.indices, whole.subset(nbs).network.indices)


def test_subset_build_holds_only_the_asked_residents(tamworth_ids):
    cfg = load_config(**TAMWORTH)
    nid = tamworth_ids["Tamworth: Wilnecote & Belgrave"]
    whole = build_population(cfg)
    part = build_population(cfg, neighbourhoods=[nid])
    a, b = whole.neighbourhood_bounds()[nid]
    assert 0 < part.cohort.n == b - a < whole.cohort.n
    assert set(np.unique(part.cohort.neighbourhood)) == {nid}
    assert part.network.n == part.cohort.n
    assert part.built == (nid,) and whole.built is None
    assert part.holds([nid]) and not part.holds(None) and not part.holds(list(tamworth_ids.values()))
    assert part.geography.neighbourhood_ids() == whole.geography.neighbourhood_ids()  # areas: all of them
    assert part.reference.cohort.n == whole.reference.cohort.n  # the whole ICS stays the reference
    with pytest.raises(NeighsimError, match="not built"):
        part.subset([n for n in tamworth_ids.values() if n != nid])
    with pytest.raises(UnknownNeighbourhoods, match=r"unknown neighbourhood ids \[3\]"):
        build_population(cfg, neighbourhoods=[3])  # a Stoke neighbourhood: not in this run's LAs


def test_task_of_a_subset_build_gives_the_old_results(tamworth_ids):
    """The task's counts from the neighbourhood's own build equal those from the whole build subset."""
    cfg = load_config(**TAMWORTH, **SHORT)
    task = Task("baseline", 0, (tamworth_ids["Tamworth: Amington & Spital"],))
    new = run_task(cfg, task)
    assert tasks_mod._POPULATION_CACHE[tasks_mod.config_key(cfg)].built == task.neighbourhoods
    old = run_task(cfg, task, population=build_population(cfg))
    assert new.residents == old.residents > 0
    pd.testing.assert_frame_equal(new.counts, old.counts, check_exact=True)
    pd.testing.assert_frame_equal(new.lifetable, old.lifetable, check_exact=True)


def test_run_of_one_neighbourhood_gives_the_old_summary(tmp_path, tamworth_ids, monkeypatch):
    cfg = load_config(**TAMWORTH, **SHORT)
    nid = tamworth_ids["Tamworth: Wilnecote & Belgrave"]
    builds = []
    real = tasks_mod.build_population
    monkeypatch.setattr(tasks_mod, "build_population",
                        lambda *a, **k: builds.append(k.get("neighbourhoods")) or real(*a, **k))
    run_experiment(cfg, tmp_path / "new", neighbourhoods=[nid], progress=False)
    assert builds == [(nid,)]  # only the neighbourhood asked for was built
    get_population(cfg)  # the old way: the whole population, held by the process, then subset
    run_experiment(cfg, tmp_path / "old", neighbourhoods=[nid], progress=False)
    assert builds == [(nid,), None]
    pd.testing.assert_frame_equal(read_summary(tmp_path / "new"), read_summary(tmp_path / "old"), check_exact=True)


def test_population_cache_is_keyed_on_the_neighbourhoods(tamworth_ids):
    cfg = load_config(**TAMWORTH)
    a, b = tamworth_ids["Tamworth: Amington & Spital"], tamworth_ids["Tamworth: Wilnecote & Belgrave"]
    first = get_population(cfg, [a])
    assert first.built == (a,) and get_population(cfg, [a]) is first
    other = get_population(cfg, [b])  # not held: taken from the same starting residents
    assert other.built == (b,) and other.reference is first.reference
    whole = build_population(cfg)
    assert_same(other.subset([b]), whole.subset([b]))
    every = get_population(cfg)
    assert every.built is None and every.cohort.n == whole.cohort.n
    assert get_population(cfg, [a]) is every  # the whole population holds every neighbourhood
    assert get_population(cfg.with_overrides(seed=7), [a]).built == (a,)  # another configuration: rebuilt


def test_build_progress_on_stderr_only_when_asked(capsys, tamworth_ids):
    cfg = load_config(**TAMWORTH)
    build_population(cfg, progress=False, neighbourhoods=[tamworth_ids["Tamworth: Amington & Spital"]])
    assert capsys.readouterr().err == ""
    build_population(cfg, progress=True, neighbourhoods=[tamworth_ids["Tamworth: Amington & Spital"]])
    err = capsys.readouterr().err
    assert "population" in err and "social network (1 neighbourhood," in err and "4/5" in err
    assert "\n" not in err and err.endswith("\r")  # the bar clears itself: a following error stays one line
