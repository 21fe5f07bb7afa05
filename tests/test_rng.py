"""Counter-based streams: common random numbers by construction."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neighsim.processes.base import slot_events
from neighsim.rng import Streams, _hash_into, poisson_from_uniform


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


def test_slot_event_rates():
    u = Streams(5, 0).uniform("rates", 0, np.arange(300_000))
    ev = slot_events(u, [np.full(len(u), 0.02), np.full(len(u), 0.1)])
    assert abs(ev[0].mean() - 0.02) < 0.0015 and abs(ev[1].mean() - 0.1) < 0.003


def test_compiled_stream_is_the_numpy_stream():
    """The kernels' uniform (numba) gives the same bits as the numpy reference, for any ids."""
    s = Streams(20260401, 2)
    ids = np.random.default_rng(0).integers(0, 2**45, 300_000)
    ref = np.empty(len(ids))
    _hash_into(ids, s.key("admissions", 11), ref)
    assert np.array_equal(s.uniform("admissions", 11, ids), ref)


def _poisson_reference(lam, u):
    """The array algorithm the compiled one replaced (kept here as the reference)."""
    lam = np.broadcast_to(np.asarray(lam, dtype=float), np.shape(u))
    k = np.zeros(np.shape(u), dtype=np.int64)
    p = np.exp(-lam)
    cdf = p.copy()
    active = u >= cdf
    n = 0
    while active.any() and n < 200:
        n += 1
        p = np.where(active, p * lam / n, p)
        k = np.where(active, k + 1, k)
        cdf = np.where(active, cdf + p, cdf)
        active &= u >= cdf
    return k


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 180), min_size=1, max_size=40), st.integers(0, 10_000))
def test_compiled_poisson_equals_the_array_algorithm(lams, step):
    lam = np.array(lams)
    u = Streams(9, 0).uniform("poisson", step, np.arange(len(lam)))
    assert np.array_equal(poisson_from_uniform(lam, u), _poisson_reference(lam, u))
