"""Sorted group sums over integer codes: the hot groupbys of a run's reduction without string keys.

pandas sorts a multi-column groupby by its keys and sums each group's rows in their order (with
compensated summation). Grouping instead on one int64 key that sorts the same way (the columns'
sorted codes packed in mixed radix) gives the same groups in the same order and bit-identical sums,
without hashing string columns (pandas' str columns are Arrow strings: slow to factorise and take).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def sorted_codes(values: pd.Series | pd.Index | np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Codes whose order is the sort order of `values` (-1 for missing), and the distinct values,
    with their dtype kept (uniques.take(codes) gives the values back). Small-ranged integers (the
    recorder's ids, bands and deciles) are offsets from their minimum: no hashing; the distinct values
    then include absent ones in the range, which only widens the key."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu" and len(values):
        arr = np.asarray(values)
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < 1 << 16:
            return arr.astype(np.int64) - lo, pd.Index(np.arange(lo, hi + 1).astype(arr.dtype))
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64, copy=False), pd.Index(uniques)


def group_sum(codes: Sequence[np.ndarray], sizes: Sequence[int],
              values: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Sum `values` by the code columns (each in 0..size-1), groups sorted lexicographically by the
    columns: what `groupby(columns, sort=True).sum()` gives. Returns each group's codes and its sum."""
    total = 1
    for s in sizes:
        total *= max(int(s), 1)
    if total >= 2**62:  # too many combinations to pack: let pandas group the code columns
        frame = pd.DataFrame({i: c for i, c in enumerate(codes)})
        s = pd.Series(values).groupby([frame[i] for i in frame], sort=True).sum()
        idx = s.index if isinstance(s.index, pd.MultiIndex) else pd.MultiIndex.from_arrays([s.index])
        return [idx.get_level_values(i).to_numpy(dtype=np.int64) for i in range(len(codes))], s.to_numpy()
    key = np.zeros(len(values), dtype=np.int64)
    for c, s in zip(codes, sizes, strict=True):
        key = key * max(int(s), 1) + c
    summed = pd.Series(values).groupby(key, sort=True).sum()
    rest = summed.index.to_numpy(dtype=np.int64)
    out: list[np.ndarray] = []
    for s in reversed(sizes):
        rest, c = np.divmod(rest, max(int(s), 1))
        out.append(c)
    return out[::-1], summed.to_numpy()
