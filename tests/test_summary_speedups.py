"""The per-run summary's fast paths give exactly what the simple code gave: the inequality rows
(one grouped pass, not a groupby per group), life expectancies (all groups' life tables at once, sums
by age from integer codes) and summary.csv's text (formatted without DataFrame.to_csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neighsim.analysis.cells import csv_text
from neighsim.analysis.impacts import ESP2013_BANDS, KEYS, inequality_rows
from neighsim.analysis.inequality import age_standardised_rate, sii_rii
from neighsim.analysis.life import _by_age
from neighsim.analysis.lifetable import life_expectancies, life_expectancy
from neighsim.outcomes import OUT
from neighsim.recorder import LT_AGE_STARTS


def _inequality_rows_reference(periods: pd.DataFrame, place_of_nb: dict[int, str], ics_name: str) -> pd.DataFrame:
    """inequality_rows as it was: a pivot table, then a groupby per area, run, period and decile group."""
    need = periods[periods["outcome"].isin([OUT.emergency_admissions, OUT.person_years])]
    if need.empty:
        return pd.DataFrame()
    df = need.assign(place=need["neighbourhood"].map(place_of_nb))
    wide = df.pivot_table(index=KEYS + ["period", "place", "imd_decile", "age_band"], columns="outcome",
                          values="value", aggfunc="sum", fill_value=0.0).reset_index()
    rows = []
    areas = [("ics", ics_name, lambda d: d)]
    for pl in sorted(df["place"].unique()):
        areas.append(("place", pl, lambda d, pl=pl: d[d["place"] == pl]))
    for level, area, pick in areas:
        for key, g in pick(wide).groupby(KEYS + ["period"]):
            base = dict(zip(KEYS + ["period"], key, strict=True)) | {"level": level, "area": area, "stratum": "all"}

            def asr(part: pd.DataFrame) -> tuple[float, float]:
                by_band = part.groupby("age_band")[[OUT.emergency_admissions, OUT.person_years]].sum()
                by_band = by_band.reindex(range(len(ESP2013_BANDS)), fill_value=0.0)
                if by_band[OUT.person_years].sum() <= 0:
                    return float("nan"), 0.0
                rate = age_standardised_rate(by_band[OUT.emergency_admissions].to_numpy(),
                                             by_band[OUT.person_years].to_numpy(), ESP2013_BANDS)
                return 1000.0 * rate, float(by_band[OUT.person_years].sum())

            rates, pys = zip(*(asr(g[g["imd_decile"] == d]) for d in range(1, 11)), strict=True)
            rates_a, pys_a = np.array(rates), np.array(pys)
            ok = np.isfinite(rates_a) & (pys_a > 0)
            if ok.sum() >= 2:
                sii, rii = sii_rii(rates_a[ok], pys_a[ok])
                rows += [base | {"outcome": OUT.sii_admissions, "value": sii},
                         base | {"outcome": OUT.rii_admissions, "value": rii}]
            core, _ = asr(g[g["imd_decile"] <= 2])
            rest, _ = asr(g[g["imd_decile"] > 2])
            allr, _ = asr(g)
            rows.append(base | {"outcome": OUT.asr_admissions_per_1000, "value": allr})
            if np.isfinite(core) and np.isfinite(rest):
                rows += [base | {"outcome": OUT.core20_gap_admissions, "value": core - rest},
                         base | {"outcome": OUT.core20_ratio_admissions, "value": core / rest if rest else np.nan}]
    return pd.DataFrame(rows)


def _periods(seed: int, n: int = 3_000) -> pd.DataFrame:
    """Rows as to_periods gives them: several runs, periods and neighbourhoods in three places, values
    that are not whole numbers (summation order shows), some bands and deciles absent, some groups with
    no person-years (and so no admissions), keys repeated."""
    rng = np.random.default_rng(seed)
    keys = pd.DataFrame({
        "scenario": rng.choice(["tobacco", "baseline"], n),
        "replicate": rng.integers(0, 2, n).astype(np.int32),
        "param_draw": rng.integers(0, 2, n).astype(np.int32),
        "neighbourhood": rng.choice([0, 1, 2, 5, 9], n).astype(np.int16),
        "imd_decile": rng.choice([1, 2, 3, 5, 6, 7, 9, 10], n).astype(np.int8),
        "sex": rng.integers(0, 2, n).astype(np.int8),
        "age_band": rng.choice([0, 1, 2, 3, 5, 6], n).astype(np.int8),
        "period": rng.choice(["2026/27", "2027/28", "2026-2028"], n),
    })
    py = rng.random(n) * rng.integers(1, 60, n)
    py[rng.random(n) < 0.05] = 0.0
    adm = np.where(py > 0, rng.random(n) * py * 0.2, 0.0)
    out = pd.concat([keys.assign(outcome=OUT.person_years, value=py), keys.assign(outcome=OUT.deaths, value=adm / 3),
                     keys.assign(outcome=OUT.emergency_admissions, value=adm)], ignore_index=True)
    return out.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_inequality_rows_are_exactly_the_per_group_computation(seed):
    per = _periods(seed)
    places = {0: "Stoke", 1: "Staffs", 2: "Staffs", 5: "Burton", 9: "Stoke"}
    got = inequality_rows(per, places, "ICS")
    want = _inequality_rows_reference(per, places, "ICS")
    assert len(got) > 100
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.equals(want)


def test_inequality_rows_of_one_sparse_place_and_no_rows():
    per = _periods(4, n=40)
    got = inequality_rows(per, {k: "P" for k in range(10)}, "ICS")
    pd.testing.assert_frame_equal(got, _inequality_rows_reference(per, {k: "P" for k in range(10)}, "ICS"),
                                  check_exact=True)
    assert inequality_rows(per[per["outcome"] == OUT.deaths], {0: "P"}, "ICS").empty


def test_life_expectancies_are_each_rows_life_table():
    rng = np.random.default_rng(5)
    k = len(LT_AGE_STARTS)
    deaths = rng.random((400, k)) * rng.integers(0, 30, (400, k))
    py = rng.random((400, k)) * 1000 + 1
    py[::7, 3] = 0.0  # no residents in an interval: no life table
    deaths[::11, -1] = 0.0  # nobody dies in the open interval: unbounded
    got = life_expectancies(deaths, py, LT_AGE_STARTS)
    for i in range(len(got)):
        if (py[i] <= 0).any() or deaths[i, -1] <= 0:
            assert np.isnan(got[i])
        else:
            assert got[i] == life_expectancy(deaths[i], py[i], LT_AGE_STARTS)  # exact
    ages = [0, 1, 5, 10]
    assert life_expectancies(np.array([[10.0, 8, 50, 5]]), np.array([[1000.0, 4000, 500, 30]]), ages)[0] == \
        life_expectancy([10.0, 8, 50, 5], [1000.0, 4000, 500, 30], ages)
    bad = deaths.copy()
    bad[1, 2] = -1.0
    with pytest.raises(ValueError):
        life_expectancies(bad, py + 1, LT_AGE_STARTS)


def test_by_age_is_the_groupby_table():
    rng = np.random.default_rng(6)
    n = 5_000
    df = pd.DataFrame({"area": rng.choice(["b", "a", "c"], n), "replicate": rng.integers(0, 3, n),
                       "sex": rng.integers(0, 2, n).astype(np.int8),
                       "age_start": rng.choice(np.asarray(LT_AGE_STARTS)[::2], n),
                       OUT.deaths: rng.random(n) * 3, OUT.person_years: rng.random(n) * 90})
    keys = ["area", "replicate", "sex"]
    want = df.groupby(keys + ["age_start"])[[OUT.deaths, OUT.person_years]].sum().unstack("age_start", fill_value=0.0)
    want = want.reindex(columns=pd.MultiIndex.from_product([[OUT.deaths, OUT.person_years], LT_AGE_STARTS]),
                        fill_value=0.0)
    got = _by_age(df, keys, {})
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.index) == list(want.index)


def test_csv_text_is_to_csv():
    rng = np.random.default_rng(7)
    n = 3_000
    floats = np.concatenate([rng.integers(0, 2**64, n, dtype=np.uint64).view(np.float64),
                             rng.normal(size=n) * 10.0 ** rng.integers(-8, 20, n)])
    floats[::13] = np.nan
    df = pd.DataFrame({"s": rng.choice(["a", "b,c", 'q"t', "x\ny", "x\ry", " lead", ""], 2 * n),
                       "o": pd.Series(rng.choice(["u", "v"], 2 * n), dtype=object).where(rng.random(2 * n) > 0.1),
                       "f": floats, "n": rng.integers(-5, 5, 2 * n), "g": np.concatenate([floats[n:], floats[:n]])})
    df["s"] = df["s"].astype("str").where(rng.random(2 * n) > 0.1)
    special = pd.DataFrame({"s": ["a", "b", "c", "d"], "o": ["", "e", "f", "g"],
                            "f": [0.0, -0.0, np.inf, -np.inf], "n": [1, 2, 3, 4], "g": [1e16, 1e-5, 1e-4, 5e-324]})
    for frame in (df, special, df.iloc[:0], df.assign(f=(rng.random(2 * n) * 1e3).astype(np.float32)), df[["f"]]):
        for header in (True, False):
            assert csv_text(frame, header=header) == frame.to_csv(index=False, header=header)
