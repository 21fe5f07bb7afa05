"""Placing residents in households consistent with the Census 2021 household count of each LSOA.

Within an LSOA: heads are drawn among adults (young adults less often); about half the households get
a partner of similar age; children and remaining adults join a head whose age fits a parent (about
30 years older, with spread), older non-partnered adults join a random household. Everything is
vectorised per LSOA and driven by counter-based draws keyed on resident ids.
"""

from __future__ import annotations

import numpy as np

COUPLE_SHARE = 0.55  # share of households headed by an adult under 85 that hold a couple (assumption)
PARENT_AGE_GAP = 30.0  # mean age gap between a child and the household head (assumption)
PARENT_AGE_SD = 6.0


def assign_lsoa(age: np.ndarray, u: np.ndarray, n_households: int) -> tuple[np.ndarray, int]:
    """Household index (0..H-1) for each resident of one LSOA; u has shape [n, 4] of uniforms."""
    n = len(age)
    hh = np.full(n, -1, dtype=np.int64)
    adults = np.flatnonzero(age >= 18)
    if len(adults) == 0 or n_households <= 0:
        return np.zeros(n, dtype=np.int64), 1
    H = int(min(n_households, len(adults)))
    # Heads: weighted sampling without replacement (Efraimidis-Spirakis keys u^(1/w)).
    a_age = age[adults]
    w = np.where(a_age < 20, 0.1, np.where(a_age < 25, 0.5, 1.0))
    key = np.log(np.maximum(u[adults, 0], 1e-300)) / w
    heads = adults[np.argsort(-key, kind="stable")[:H]]
    # Order heads by age (+ a fractional jitter) so children can find a parent-aged head.
    head_key = age[heads] + u[heads, 1]
    order = np.argsort(head_key, kind="stable")
    heads = heads[order]
    head_key = head_key[order]
    hh[heads] = np.arange(H)
    # Partners: similar-aged non-head adults, matched by rank.
    rest = np.flatnonzero(hh < 0)
    cand = rest[age[rest] >= 20]
    eligible = np.flatnonzero(age[heads] < 85)
    n_couples = int(min(len(cand), round(COUPLE_SHARE * len(eligible))))
    if n_couples:
        ch = eligible[np.argsort(u[heads[eligible], 2], kind="stable")[:n_couples]]
        cp = cand[np.argsort(u[cand, 2], kind="stable")[:n_couples]]
        ch = ch[np.argsort(age[heads[ch]] + 4 * u[heads[ch], 3], kind="stable")]
        cp = cp[np.argsort(age[cp] + 4 * u[cp, 3], kind="stable")]
        hh[cp] = ch
    # Children and young adults: a head about PARENT_AGE_GAP years older.
    rest = np.flatnonzero(hh < 0)
    young = rest[age[rest] < 30]
    if len(young):
        z = np.sqrt(-2 * np.log(np.maximum(u[young, 2], 1e-12))) * np.cos(2 * np.pi * u[young, 3])
        target = age[young] + PARENT_AGE_GAP + PARENT_AGE_SD * z + u[young, 1]
        pos = np.clip(np.searchsorted(head_key, target), 0, H - 1)
        hh[young] = pos
    older = np.flatnonzero(hh < 0)
    if len(older):
        hh[older] = np.minimum((u[older, 3] * H).astype(np.int64), H - 1)
    return hh, H
