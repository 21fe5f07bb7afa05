"""Compiled building blocks shared by the processes' kernels (numba, cached on disk).

Each process keeps its own kernel in its own file; these are the pieces they share: the counter-based
uniform (the same bits as rng.py's numpy version), the rate-to-probability conversion (the same
arithmetic as common.rate_to_prob) and the row iteration. Kernels take rows either as a range
[lo, hi) (the vectorised path, or one half of it on a thread) or as an index array (the per-agent
path), so every path runs the same compiled code.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
S30, S27, S31, S12 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(12)
TWO_M52 = 2.0 ** -52
DT = 1.0 / 12.0
SIXTH = 1.0 / 6.0
JIT = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}
# Kernels index with unsigned integers: numba then skips its negative-index wraparound test, which
# otherwise keeps the compiler from optimising the loops (measured: about twice as fast).
U = np.uint64


@nb.njit(inline="always", **JIT)
def uniform(ident, key):
    """U[0,1) for one id: splitmix64 finaliser of id*gamma + key, top 52 bits (as rng.Streams)."""
    z = np.uint64(ident) * GAMMA + key
    z ^= z >> S30
    z *= M1
    z ^= z >> S27
    z *= M2
    z ^= z >> S31
    return float(z >> S12) * TWO_M52


@nb.njit(inline="always", **JIT)
def slot_of(u, K):
    """The slot of a uniform shared by K mutually exclusive causes, and the uniform within the slot
    (as base.slot_events: floor(uK) and frac(uK))."""
    scaled = u * K
    slot = U(min(np.int64(scaled), K - 1))
    return slot, scaled - slot


@nb.njit(inline="always", **JIT)
def rate_to_prob(rate):
    """1 - exp(-rate/12): the third-order series below 0.1, exact above (as common.rate_to_prob)."""
    x = rate * DT
    if x > 0.1:
        return -math.expm1(-x)
    return x * (1.0 - x * (0.5 - x * SIXTH))


@nb.njit(**JIT)
def uniforms(ids, key, out):
    """The numpy stream's uniforms, compiled (rng.Streams.uniform uses it for large arrays)."""
    for i in range(ids.shape[0]):
        out[i] = uniform(ids[i], key)


@nb.njit(**JIT)
def poisson_inverse(lam, u, p0, out):
    """out[i] = smallest k with cdf(k) >= u[i] for Poisson(lam[i]); p0 = exp(-lam) (computed by numpy so
    the terms are the same bits as the array version this replaced); at most 200 terms."""
    for i in range(U(u.size)):
        p = p0[i]
        cdf = p
        k = 0
        while u[i] >= cdf and k < 200:
            k += 1
            p = p * lam[i] / k
            cdf = cdf + p
        out[i] = k


def runs(rows, n: int) -> list[tuple[int, int]]:
    """Rows as ranges [lo, hi): one for a slice, one per consecutive stretch of an index array."""
    if isinstance(rows, slice):
        lo = rows.start or 0
        hi = n if rows.stop is None else rows.stop
        return [(lo, hi)] if hi > lo else []
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.r_[0, breaks]
    ends = np.r_[breaks, len(rows)]
    return [(int(rows[a]), int(rows[b - 1]) + 1) for a, b in zip(starts, ends, strict=True)]


def candidates(kernel, rows, n: int, *args) -> np.ndarray:
    """Cohort rows a compiled kernel selects, over the given rows (a slice or an index array). A kernel
    takes (lo, hi, out, ...) and writes the rows in [lo, hi) it selects to out, returning how many:
    residents who cannot have the event are skipped before their uniform is computed."""
    parts = []
    for lo, hi in runs(rows, n):
        out = np.empty(hi - lo, dtype=np.int64)
        k = kernel(lo, hi, out, *args)
        parts.append(out[:k])
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
