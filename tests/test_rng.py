"""Counter-based streams: common random numbers by construction."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neighsim.processes.base import slot_events, slot_split
from neighsim.rng import Streams, poisson_from_uniform


def test_subset_draw_equals_full_draw():
    s = Streams(42, 3)
    ids = np.arange(100_000)
    full = s.uniform("mortality", 7, ids)
    sub = np.random.default_rng(0).choice(ids, 1000, replace=False)
    assert np.array_equal(s.uniform("mortality", 7, sub), full[sub])
    assert np.array_equal(Streams(42, 3).uniform("mortality", 7, ids), full)  # a fresh object agrees


def test_streams_steps_replicates_and_seeds_differ():
    ids = np.arange(50_000)
    a = Streams(1, 0).uniform("x", 0, ids)
    for other in (Streams(1, 0).uniform("y", 0, ids), Streams(1, 0).uniform("x", 1, ids),
                  Streams(1, 1).uniform("x", 0, ids), Streams(2, 0).uniform("x", 0, ids)):
        assert abs(np.corrcoef(a, other)[0, 1]) < 0.02
        assert not np.array_equal(a, other)


def test_uniform_distribution():
    u = Streams(7, 0).uniform("check", 0, np.arange(400_000))
    assert u.min() >= 0.0 and u.max() < 1.0
    hist = np.bincount((u * 20).astype(int), minlength=20) / len(u)
    assert np.all(np.abs(hist - 0.05) < 0.002)


def test_poisson_from_uniform_mean():
    u = Streams(1, 0).uniform("p", 0, np.arange(200_000))
    k = poisson_from_uniform(3.0, u)
    assert abs(k.mean() - 3.0) < 0.02 and abs(k.var() - 3.0) < 0.05


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 0.3), min_size=2, max_size=5), st.integers(0, 4), st.floats(0, 0.3))
def test_slot_events_exclusive_and_independent_of_other_causes(probs, which, new_p):
    which = which % len(probs)
    u = Streams(3, 0).uniform("slots", 0, np.arange(20_000))
    p = [np.full(len(u), x) for x in probs]
    ev = slot_events(u, p)
    assert (np.sum(ev, axis=0) <= 1).all()
    p2 = list(p)
    p2[which] = np.full(len(u), new_p)
    ev2 = slot_events(u, p2)
    for k in range(len(probs)):
        if k != which:
            assert np.array_equal(ev[k], ev2[k])
    # slot_split gives the same events
    slots, frac = slot_split(u, len(probs))
    for k, pos in enumerate(slots):
        hit = np.zeros(len(u), bool)
        hit[pos] = frac[pos] < len(probs) * p[k][pos]
        assert np.array_equal(hit, ev[k])


def test_slot_event_rates():
    u = Streams(5, 0).uniform("rates", 0, np.arange(300_000))
    ev = slot_events(u, [np.full(len(u), 0.02), np.full(len(u), 0.1)])
    assert abs(ev[0].mean() - 0.02) < 0.0015 and abs(ev[1].mean() - 0.1) < 0.003
