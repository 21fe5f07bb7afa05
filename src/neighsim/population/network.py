"""Social network: households as cliques plus age-assortative ties within each neighbourhood.

Stored for the engine as a symmetric CSR adjacency over cohort rows (indptr, indices). Ties never
cross neighbourhoods, so a neighbourhood's block is self-contained. Built with numpy rather than
networkx objects (a networkx graph of 1.2 million nodes takes tens of seconds and gigabytes);
`to_networkx` gives a neighbourhood's graph for analysis, and the tests check the summary
statistics against networkx.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class Network:
    indptr: np.ndarray  # int64 [n+1]
    indices: np.ndarray  # int32 neighbours (cohort rows)
    household_edges: int
    other_edges: int

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def matrix(self) -> sp.csr_matrix:
        data = np.ones(len(self.indices), dtype=np.float32)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))

    def block(self, start: int, stop: int) -> Network:
        """The sub-network of rows start..stop-1 (a neighbourhood block), re-indexed from 0.
        Ties leaving the block are dropped (a neighbourhood block has none)."""
        ip = self.indptr[start : stop + 1]
        idx = self.indices[ip[0] : ip[-1]].astype(np.int64) - start
        keep = (idx >= 0) & (idx < stop - start)
        if keep.all():
            return Network(ip - ip[0], idx.astype(np.int32), -1, -1)
        rows = np.repeat(np.arange(stop - start), np.diff(ip))
        counts = np.bincount(rows[keep], minlength=stop - start)
        indptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
        return Network(indptr, idx[keep].astype(np.int32), -1, -1)

    def local_clustering(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Local clustering coefficient of each node (0 where degree < 2, as networkx)."""
        b = self.block(start, self.n if stop is None else stop)
        a = b.matrix()
        tri = np.asarray((a @ a).multiply(a).sum(axis=1)).ravel() / 2.0
        d = b.degree().astype(float)
        denom = d * (d - 1) / 2.0
        return np.divide(tri, denom, out=np.zeros_like(tri), where=denom > 0)

    def to_networkx(self, start: int = 0, stop: int | None = None):
        import networkx as nx

        b = self.block(start, self.n if stop is None else stop)
        g = nx.Graph()
        g.add_nodes_from(range(b.n))
        rows = np.repeat(np.arange(b.n), b.degree())
        mask = rows < b.indices
        g.add_edges_from(zip(rows[mask].tolist(), b.indices[mask].tolist(), strict=True))
        return g


def build_network(household: np.ndarray, age: np.ndarray, neighbourhood: np.ndarray, ids: np.ndarray,
                  streams, mean_ties: float, age_sd: float) -> Network:
    """household/neighbourhood per row; draws keyed on resident ids (and stub number)."""
    n = len(household)
    rows = np.arange(n)
    # Household cliques: all pairs within a household.
    order = np.argsort(household, kind="stable")
    hh_sorted = household[order]
    starts = np.flatnonzero(np.r_[True, hh_sorted[1:] != hh_sorted[:-1]])
    sizes = np.diff(np.r_[starts, n])
    src, dst = [], []
    for k in range(2, int(sizes.max(initial=1)) + 1):
        s = starts[sizes == k]
        if len(s) == 0:
            continue
        members = order[s[:, None] + np.arange(k)]  # [m, k]
        i, j = np.triu_indices(k, 1)
        src.append(members[:, i].ravel())
        dst.append(members[:, j].ravel())
    hh_src = np.concatenate(src) if src else np.empty(0, np.int64)
    hh_dst = np.concatenate(dst) if dst else np.empty(0, np.int64)
    # Extra ties: stubs paired after sorting by neighbourhood then noisy age (age assortativity).
    from ..rng import poisson_from_uniform

    stubs = np.minimum(poisson_from_uniform(mean_ties, streams.uniform("synth.network.stubs", 0, ids)), 63)
    owner = np.repeat(rows, stubs)
    stub_no = np.arange(len(owner)) - np.repeat(np.cumsum(stubs) - stubs, stubs)
    noise = streams.normal("synth.network.age", 0, ids[owner] * 64 + stub_no)  # one draw per stub
    key = neighbourhood[owner].astype(float) * 1e4 + age[owner] + age_sd * noise
    owner = owner[np.argsort(key, kind="stable")]
    # pairs (0,1), (2,3), ... counted within each neighbourhood's block, so that one neighbourhood's
    # ties never depend on how many stubs the neighbourhoods before it had (an LA built alone is
    # then exactly that LA inside the whole ICS)
    nb = neighbourhood[owner]
    first = np.flatnonzero(np.r_[True, nb[1:] != nb[:-1]])
    pos = np.arange(len(owner)) - np.repeat(first, np.diff(np.r_[first, len(owner)]))
    left = np.flatnonzero((pos % 2 == 0) & (np.r_[nb[1:] == nb[:-1], False]))
    a, b = owner[left], owner[left + 1]
    ok = (a != b) & (household[a] != household[b])
    src_all = np.concatenate([hh_src, a[ok]])
    dst_all = np.concatenate([hh_dst, b[ok]])
    lo, hi = np.minimum(src_all, dst_all), np.maximum(src_all, dst_all)
    pairs = np.sort(lo.astype(np.int64) * n + hi)  # sorted and deduplicated (np.unique hashes: slower here)
    if len(pairs):
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    lo, hi = pairs // n, pairs % n
    mat = sp.coo_matrix((np.ones(2 * len(lo), np.int8), (np.r_[lo, hi], np.r_[hi, lo])), shape=(n, n)).tocsr()
    mat.sort_indices()
    n_hh = len(hh_src)
    return Network(mat.indptr.astype(np.int64), mat.indices.astype(np.int32), n_hh, len(lo) - n_hh)
