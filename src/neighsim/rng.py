"""Counter-based random streams: common random numbers by construction.

Every uniform is a pure function of (master seed, replicate, stream name, step, resident id):
    u = splitmix64_finaliser(key(seed, replicate, stream, step) + id * golden_gamma) / 2**64
So a draw for a subset of residents equals the same residents' draws in the full population, a
neighbourhood run alone sees the same numbers as inside a whole-ICS run, and the result cannot depend
on how many processes share the work. Streams are named by their place in the model (for example
"mortality", "smoking.quit", "intervention.falls_pathway.uptake"), so adding an intervention with its
own streams never moves anybody else's draws.
"""

from __future__ import annotations

import hashlib

import numpy as np

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_U64_GAMMA = np.uint64(GAMMA)
_U64_M1 = np.uint64(_M1)
_U64_M2 = np.uint64(_M2)
_ONE_BITS = np.uint64(0x3FF0000000000000)


def _mix(z: int) -> int:
    """splitmix64 finaliser on a Python int (for keys)."""
    z &= MASK
    z = ((z ^ (z >> 30)) * _M1) & MASK
    z = ((z ^ (z >> 27)) * _M2) & MASK
    return z ^ (z >> 31)


def stream_hash(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def _mix_array(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a uint64 array."""
    z ^= z >> np.uint64(30)
    z *= _U64_M1
    z ^= z >> np.uint64(27)
    z *= _U64_M2
    z ^= z >> np.uint64(31)
    return z


class Streams:
    """Named random streams for one (seed, replicate)."""

    __slots__ = ("seed", "replicate", "_base", "_cache")

    def __init__(self, seed: int, replicate: int = 0):
        self.seed = int(seed)
        self.replicate = int(replicate)
        self._base = _mix(_mix(self.seed ^ 0x6E656967687369) + _mix(self.replicate + 0x5DEECE66D))
        self._cache: dict[str, int] = {}

    def key(self, stream: str, step: int) -> int:
        k = self._cache.get(stream)
        if k is None:
            k = self._cache[stream] = _mix(self._base ^ stream_hash(stream))
        return _mix(k + _mix((int(step) + 1) * GAMMA))

    def key_u64(self, stream: str, step: int) -> np.uint64:
        """The key of (stream, step) for compiled kernels."""
        return np.uint64(self.key(stream, step))

    def uniform(self, stream: str, step: int, ids: np.ndarray) -> np.ndarray:
        """U[0,1) for each id: the same id always gets the same number in this (stream, step)."""
        ids = np.asarray(ids)
        out = np.empty(len(ids), dtype=np.float64)
        if len(ids) >= _COMPILED_MIN:
            from .processes.kernels import uniforms

            uniforms(ids.astype(np.int64, copy=False), self.key_u64(stream, step), out)
        else:
            _hash_into(ids, self.key(stream, step), out)
        return out

    def uniform_scalar(self, stream: str, step: int, index: int) -> float:
        return float(self.uniform(stream, step, np.array([index], dtype=np.uint64))[0])

    def normal(self, stream: str, step: int, ids: np.ndarray) -> np.ndarray:
        """Standard normal per id (Box-Muller on two sub-streams)."""
        u1 = self.uniform(stream + "#1", step, ids)
        u2 = self.uniform(stream + "#2", step, ids)
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)

    def generator(self, stream: str, step: int = 0) -> np.random.Generator:
        """A numpy Generator keyed on (seed, replicate, stream, step), for draws not tied to residents."""
        return np.random.Generator(np.random.Philox(key=self.key(stream, step)))


_COMPILED_MIN = 64  # below this the numpy version is as fast as calling the compiled one


def _hash_into(ids: np.ndarray, key: int, out: np.ndarray) -> None:
    """The numpy reference of the stream (kernels.uniform computes the same bits)."""
    z = ids.astype(np.uint64, copy=True)
    z *= _U64_GAMMA
    z += np.uint64(key)
    _mix_array(z)
    z >>= np.uint64(12)
    z |= _ONE_BITS
    out[:] = z.view(np.float64)
    out -= 1.0


def poisson_from_uniform(lam: np.ndarray | float, u: np.ndarray) -> np.ndarray:
    """Poisson counts by inverting the CDF with a given uniform (keeps draws counter-based): the
    smallest k with cdf(k) >= u, summing terms p_k = p_{k-1} * lam / k (at most 200 terms)."""
    from .processes.kernels import poisson_inverse

    lam = np.ascontiguousarray(np.broadcast_to(np.asarray(lam, dtype=float), np.shape(u)), dtype=np.float64)
    u = np.ascontiguousarray(u, dtype=np.float64)
    k = np.zeros(np.shape(u), dtype=np.int64)
    poisson_inverse(lam.ravel(), u.ravel(), np.exp(-lam).ravel(), k.reshape(-1))
    return k
