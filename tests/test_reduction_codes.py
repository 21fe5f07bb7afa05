"""The run reduction groups on integer codes (analysis/grouping.py) for speed; these check it gives
exactly what grouping the columns themselves gives: the same groups, order, dtypes and sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neighsim.analysis.grouping import group_sum, sorted_codes
from neighsim.analysis.summary import STRATA_TOP_LEVELS, _stratum_codes, _stratum_values


def _frame(n: int = 5_000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "scenario": rng.choice(["tobacco", "baseline", "b2"], n),
        "replicate": rng.integers(0, 3, n).astype(np.int32),
        "neighbourhood": rng.choice([3, 17, 40, 1000], n).astype(np.int16),
        "imd_decile": rng.integers(1, 11, n).astype(np.int8),
        "sex": rng.integers(0, 2, n).astype(np.int8),
        "age_band": rng.integers(0, 7, n).astype(np.int8),
        "measure": rng.choice(["deaths", "admissions_other", "person_months", "qaly_loss"], n),
        "value": rng.random(n) * rng.integers(1, 40, n),  # not whole numbers: summation order shows
    })


@pytest.mark.parametrize("force_fallback", [False, True])
def test_group_sum_is_a_sorted_groupby_sum(force_fallback):
    df = _frame()
    keys = ["scenario", "replicate", "neighbourhood", "sex", "measure"]
    want = df.groupby(keys, sort=True)["value"].sum()
    coded = [sorted_codes(df[k]) for k in keys]
    sizes = [len(u) for _, u in coded]
    if force_fallback:
        sizes[0] = 2**62  # too many combinations to pack: pandas groups the codes instead
    got, sums = group_sum([c for c, _ in coded], sizes, df["value"].to_numpy())
    rebuilt = pd.MultiIndex.from_arrays([u.take(g) for (_, u), g in zip(coded, got, strict=True)], names=keys)
    pd.testing.assert_index_equal(rebuilt, want.index)
    assert np.array_equal(sums, want.to_numpy())  # exact, not approximately


def test_sorted_codes_keep_order_and_dtype():
    for values in (pd.Series(np.array([5, -2, 5, 9], dtype=np.int8)), pd.Series(["b", "a", "c", "a"]),
                   pd.Series(np.array([0, 1 << 20], dtype=np.int64))):
        codes, uniques = sorted_codes(values)
        assert uniques.dtype == values.dtype
        pd.testing.assert_index_equal(uniques.take(codes), pd.Index(values))
        assert (np.argsort(codes, kind="stable") == np.argsort(values.to_numpy(), kind="stable")).all()


@pytest.mark.parametrize("dim", STRATA_TOP_LEVELS)
def test_stratum_codes_sort_like_their_labels(dim):
    df = _frame(500)
    codes, labels = _stratum_codes(df, dim)
    assert list(labels.take(codes)) == list(_stratum_values(df, dim))
    assert list(labels) == sorted(labels)
