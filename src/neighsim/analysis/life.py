"""Life expectancy at birth from the simulated mortality (period life tables) and its inequality."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..outcomes import OUT
from ..population.geography import ICS_NAME, Geography
from ..recorder import LT_AGE_STARTS, SEX_LABELS
from .grouping import group_sum, sorted_codes
from .inequality import sii_rii
from .lifetable import life_expectancies
from .summary import joint_stratum

KEYS = ["scenario", "replicate", "param_draw"]


def _by_age(df: pd.DataFrame, keys: list[str], codes_of: dict[str, tuple[np.ndarray, pd.Index]]) -> pd.DataFrame:
    """Deaths and person-years by age (columns: LT_AGE_STARTS twice, zero where absent) for every group
    of `keys`, sorted: one grouped sum for all groups, on the columns' sorted codes (grouping.py), which
    sums each group's rows as a groupby of that group alone would (so the same life expectancies to the
    last bit), with the groups and index of `df.groupby(keys + ["age_start"]).sum().unstack(...)`.
    codes_of caches each column's sorted codes."""
    codes = [codes_of[k] if k in codes_of else codes_of.setdefault(k, sorted_codes(df[k])) for k in keys + ["age_start"]]
    sizes = [len(u) for _, u in codes]
    arrays = [c for c, _ in codes]
    keep = np.logical_and.reduce([c >= 0 for c in arrays])
    ages = codes[-1][1]
    col_of_age = pd.Index(LT_AGE_STARTS).get_indexer(ages)
    parts = []
    for measure in (OUT.deaths, OUT.person_years):
        got, sums = group_sum([c[keep] for c in arrays], sizes, df[measure].to_numpy(dtype=float)[keep])
        parts.append((got, sums))
    got = parts[0][0]
    group_key = np.zeros(len(got[0]), dtype=np.int64)
    for c, s in zip(got[:-1], sizes[:-1], strict=True):
        group_key = group_key * max(s, 1) + c
    groups, first, row = np.unique(group_key, return_index=True, return_inverse=True)
    n_age = len(LT_AGE_STARTS)
    wide = np.zeros((len(groups), 2 * n_age))
    col = col_of_age[got[-1]]
    ok = col >= 0  # ages not in the life table's intervals are left out, as reindexing the columns did
    for m, (_, sums) in enumerate(parts):
        wide[row[ok], m * n_age + col[ok]] = sums[ok]
    index = pd.MultiIndex.from_arrays([u.take(g[first]) for (_, u), g in zip(codes[:-1], got[:-1], strict=True)],
                                      names=keys)
    return pd.DataFrame(wide, index=index, columns=_by_age_columns())


@functools.cache
def _by_age_columns() -> pd.MultiIndex:
    return pd.MultiIndex.from_product([[OUT.deaths, OUT.person_years], LT_AGE_STARTS])


def life_expectancy_table(lt: pd.DataFrame, geo: Geography, period: str) -> pd.DataFrame:
    """Life expectancy at birth over the whole horizon, per replicate, as summary rows:
    ics, place and local authority (la) by sex, by sex and IMD quintile, plus the slope index of
    inequality across IMD deciles (sii_life_expectancy: fitted least-deprived minus most-deprived, years).
    Each level's sums by age are taken in one groupby per stratum, not one per area and stratum."""
    if lt.empty:
        return pd.DataFrame()
    place = dict(zip(geo.neighbourhoods["id"], geo.neighbourhoods["place"], strict=True))
    la = geo.lsoas.groupby("neighbourhood")["lad19_name"].first().to_dict()  # neighbourhoods lie in one LA
    df = lt.groupby(KEYS + ["neighbourhood", "sex", "imd_decile", "age_start", "measure"],
                    observed=True)["value"].sum().unstack("measure", fill_value=0.0).reset_index()
    if OUT.deaths not in df:
        df[OUT.deaths] = 0.0
    df[OUT.person_years] = df[OUT.person_months] / 12.0
    df["place"] = df["neighbourhood"].map(place)
    df["la"] = df["neighbourhood"].map(la)
    df["quintile"] = (df["imd_decile"] + 1) // 2
    df["ics"] = ICS_NAME
    rows = []
    codes_of: dict[str, tuple[np.ndarray, pd.Index]] = {}
    for area_level in ("ics", "place", "la"):
        run = [area_level] + KEYS + ["sex"]
        by_sex, by_q, by_d = (_by_age(df, run + extra, codes_of) for extra in ([], ["quintile"], ["imd_decile"]))
        by_quintile: dict[tuple, list[tuple[int, float]]] = {}
        for key, le in zip(by_q.index, _life_expectancies(by_q), strict=True):
            by_quintile.setdefault(key[:-1], []).append((key[-1], le))
        le_of_decile = dict(zip(by_d.index, _life_expectancies(by_d), strict=True))
        pops = _decile_person_years(df, run)
        for key, le in zip(by_sex.index, _life_expectancies(by_sex), strict=True):
            area, scen, rep, draw, sex = key
            base = {"scenario": scen, "replicate": rep, "param_draw": draw, "period": period,
                    "level": area_level, "area": area}
            sx = SEX_LABELS[int(sex)]
            rows.append({**base, "stratum": f"sex={sx}", "outcome": OUT.life_expectancy, "value": le})
            for q, le_q in by_quintile[key]:
                rows.append({**base, "stratum": joint_stratum(f"sex={sx}", f"imd_quintile={q}"),
                             "outcome": OUT.life_expectancy, "value": le_q})
            les, pop = np.full(10, np.nan), np.zeros(10)
            for d in range(1, 11):
                if key + (d,) in pops:
                    les[d - 1], pop[d - 1] = le_of_decile[key + (d,)], pops[key + (d,)]
            ok = ~np.isnan(les) & (pop > 0)
            sii = -sii_rii(les[ok], pop[ok])[0] if ok.sum() >= 3 else np.nan
            rows.append({**base, "stratum": f"sex={sx}", "outcome": OUT.sii_life_expectancy, "value": sii})
    return pd.DataFrame(rows)


def _life_expectancies(by_age: pd.DataFrame) -> np.ndarray:
    """Life expectancy at birth of each row of a _by_age table (nan where a row has too few residents
    for a life table, e.g. a tiny test population), all rows at once."""
    n_age = len(LT_AGE_STARTS)
    both = by_age.to_numpy(dtype=float)
    return life_expectancies(both[:, :n_age], both[:, n_age:], LT_AGE_STARTS)


def _decile_person_years(df: pd.DataFrame, run: list[str]) -> dict[tuple, float]:
    """Person-years of each run x IMD decile, each summed as Series.sum() sums that decile's rows
    (numpy's pairwise sum in row order, not a groupby's compensated sum: the same weights to the bit)."""
    py = df[OUT.person_years].to_numpy()
    groups = df.groupby(run + ["imd_decile"], sort=False).indices
    return {key: py[rows].sum() for key, rows in groups.items()}
