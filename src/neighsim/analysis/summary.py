"""From task counts to the tidy summary: periods, areas, strata, outcomes, paired differences, intervals.

results.parquet has one row per scenario x outcome x period x level x area x stratum x measure with
mean, lower and upper (2.5th and 97.5th percentiles across replicates and parameter draws); summary.csv
the rows of them that fit in a spreadsheet. The schema is documented in docs/outputs.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..model import add_months, financial_year
from ..outcomes import OUT, RATE_OF, is_count
from ..parameters import ParameterSet
from ..population.geography import ICS_NAME, Geography
from ..processes.plan import ADMISSION_CAUSES, LENGTH_OF_STAY_INDEX, snapshot_results
from ..recorder import AGE_BAND_NAMES, SEX_LABELS
from .grouping import group_sum, sorted_codes

FIVE_YEARS = "2026-2031"
KEYS = ["scenario", "replicate", "param_draw"]


def is_snapshot(measure: str) -> bool:
    """Declared as a snapshot by the process that records it (counts at a period's end, not summed)."""
    return measure in snapshot_results()


def period_labels(months: int, start: dt.date) -> tuple[np.ndarray, str]:
    labels = np.array([financial_year(add_months(start, m)) for m in range(months)])
    first, last = labels[0], labels[-1]
    whole = FIVE_YEARS if (first, last) == ("2026/27", "2030/31") else f"{first[:4]}-{int(last[:4]) + 1}"
    return labels, whole


def to_periods(counts: pd.DataFrame, months: int, start: dt.date, los: np.ndarray | None = None) -> pd.DataFrame:
    """Counts by financial year and the whole horizon, with derived outcomes (all admissions, bed days,
    person-years). Events are summed; snapshots are taken at the period's last recorded month.

    The sums group on integer codes (grouping.py), not on the string columns: the same rows, order
    and values as grouping the columns themselves, several times faster on a whole-area run."""
    labels, whole = period_labels(months, start)
    dims = KEYS + ["neighbourhood", "imd_decile", "sex", "age_band"]
    dim_codes = [sorted_codes(counts[c]) for c in dims]
    mcode, measures = sorted_codes(counts["measure"])
    periods, pcode_of_month = np.unique(labels, return_inverse=True)
    periods = pd.Index(periods)
    pcode = pcode_of_month[counts["month"].to_numpy()]
    snap = np.array([is_snapshot(m) for m in measures], dtype=bool)[mcode]
    ev = ~snap
    value = counts["value"].to_numpy()[ev]
    ev_codes = [c[ev] for c, _ in dim_codes]
    sizes = [len(u) for _, u in dim_codes]

    def frame(got: list[np.ndarray], sums: np.ndarray, with_period: bool) -> pd.DataFrame:
        cols = {c: u.take(k) for c, (_, u), k in zip(dims, dim_codes, got, strict=False)}
        if with_period:
            cols["period"] = periods.take(got[-2])
        cols["measure"] = measures.take(got[-1])
        cols["value"] = sums
        return pd.DataFrame(cols)

    ev_fy = frame(*group_sum(ev_codes + [pcode[ev], mcode[ev]], sizes + [len(periods), len(measures)], value), True)
    ev_all = frame(*group_sum(ev_codes + [mcode[ev]], sizes + [len(measures)], value), False).assign(period=whole)
    sn = np.flatnonzero(snap)
    month = counts["month"].to_numpy()[sn]
    run_period = [c[sn] for c, _ in dim_codes[:len(KEYS)]] + [pcode[sn]]
    last = pd.Series(month).groupby(run_period).transform("max").to_numpy()
    final = month.max() if len(sn) else 0
    snaps = []
    for rows, label in ((sn[month == last], None), (sn[month == final], whole)):
        part = counts.take(rows).drop(columns="month")
        snaps.append(part.assign(period=periods.take(pcode[rows]) if label is None else label))
    out = pd.concat([ev_fy, ev_all, *snaps], ignore_index=True)
    # derived outcomes
    wide_keys = dims + ["period"]
    adm = out[out["measure"].isin([r.name for r in ADMISSION_CAUSES])]
    extra = [adm.groupby(wide_keys, observed=True)["value"].sum().reset_index().assign(measure=OUT.emergency_admissions)]
    if los is not None:
        codes, uniques = pd.factorize(adm["measure"])
        w = np.array([los[LENGTH_OF_STAY_INDEX[m]] for m in uniques], dtype=float)[codes]
        extra.append(adm.assign(value=adm["value"] * w).groupby(wide_keys, observed=True)["value"].sum()
                     .reset_index().assign(measure=OUT.bed_days))
    pm = out[out["measure"] == OUT.person_months]
    extra.append(pm.assign(value=pm["value"] / 12.0, measure=OUT.person_years))
    out = pd.concat([out[out["measure"] != OUT.person_months]] + extra, ignore_index=True)
    return out.rename(columns={"measure": "outcome"})


def _areas(geo: Geography) -> tuple[dict[int, str], dict[int, str]]:
    nb = geo.neighbourhoods
    return dict(zip(nb["id"], nb["locality"], strict=True)), dict(zip(nb["id"], nb["place"], strict=True))


STRATA_ALL_LEVELS = ("all", "core20", "imd_quintile")
STRATA_TOP_LEVELS = ("all", "sex", "imd_decile", "imd_quintile", "age_band", "core20")
# A stratum of several dimensions, e.g. "sex=female & imd_quintile=1": no comma, quote or newline in any
# label, so summary.csv never quotes one (older folders wrote "sex=female,imd_quintile=1").
STRATUM_JOIN = " & "


def joint_stratum(*parts: str) -> str:
    """One stratum label of several `dim=value` parts."""
    return STRATUM_JOIN.join(parts)


def stratum_parts(stratum: str) -> list[str]:
    """The `dim=value` parts of a stratum label (also the comma-joined labels of older folders)."""
    return [p.strip() for p in stratum.replace(",", STRATUM_JOIN).split(STRATUM_JOIN.strip())]


def _stratum_values(df: pd.DataFrame, dim: str) -> pd.Series:
    if dim == "all":
        return pd.Series("all", index=df.index)
    if dim == "sex":
        return "sex=" + df["sex"].map(dict(enumerate(SEX_LABELS)))
    if dim == "imd_decile":
        return "imd_decile=" + df["imd_decile"].astype(str)
    if dim == "imd_quintile":
        return "imd_quintile=" + ((df["imd_decile"] + 1) // 2).astype(str)
    if dim == "age_band":
        return "age_band=" + df["age_band"].map(dict(enumerate(AGE_BAND_NAMES)))
    if dim == "core20":
        return "core20=" + np.where(df["imd_decile"] <= 2, "yes", "no")
    raise ValueError(dim)


def by_area_and_stratum(periods: pd.DataFrame, geo: Geography,
                        strata: tuple[str, ...] = STRATA_TOP_LEVELS) -> pd.DataFrame:
    """Sum period counts to every level (ics, place, locality, neighbourhood) and stratum (`strata`:
    the dimensions, e.g. ("all",) alone for a package's subsets).

    For each stratum dimension the counts are first reduced to neighbourhood x stratum value (the
    expensive pass, once), then summed to each level's areas. Both passes group on sorted integer
    codes (grouping.py): the rows, order and sums of grouping the string columns."""
    loc, place = _areas(geo)
    nbname = dict(zip(geo.neighbourhoods["id"], geo.neighbourhoods["name"], strict=True))
    base = KEYS + ["period", "outcome"]
    area_maps = {"ics": None, "place": place, "locality": loc, "neighbourhood": nbname}
    base_codes = [sorted_codes(periods[c]) for c in base]
    nb_code, nbs = sorted_codes(periods["neighbourhood"])
    sizes = [len(u) for _, u in base_codes]
    value = periods["value"].to_numpy()
    frames = []
    for dim in strata:
        s_code, labels = _stratum_codes(periods, dim)
        keep = (s_code >= 0) & (nb_code >= 0)
        got, reduced = group_sum([c[keep] for c, _ in base_codes] + [nb_code[keep], s_code[keep]],
                                 sizes + [len(nbs), len(labels)], value[keep])
        *b, nb, st = got
        for level, amap in area_maps.items():
            if dim not in (STRATA_TOP_LEVELS if level in ("ics", "place") else STRATA_ALL_LEVELS):
                continue
            a_of_nb, areas = sorted_codes(pd.Series(nbs).map(amap) if amap else pd.Series([ICS_NAME] * len(nbs)))
            a = a_of_nb[nb]
            ok = a >= 0
            got2, sums = group_sum([c[ok] for c in b] + [a[ok], st[ok]], sizes + [len(areas), len(labels)],
                                   reduced[ok])
            cols = {c: u.take(k) for c, (_, u), k in zip(base, base_codes, got2, strict=False)}
            cols |= {"level": level, "area": areas.take(got2[-2]), "stratum": labels.take(got2[-1]), "value": sums}
            frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def _stratum_codes(periods: pd.DataFrame, dim: str) -> tuple[np.ndarray, pd.Index]:
    """Each row's stratum of `dim` as a code sorted like its label, and the labels: the labels are
    made (_stratum_values) for each distinct value of the column they come from, not for each row."""
    col = {"all": None, "sex": "sex", "age_band": "age_band"}.get(dim, "imd_decile")
    if col is None:
        return np.zeros(len(periods), dtype=np.int64), pd.Index(_stratum_values(periods.iloc[:1], dim))
    codes, values = sorted_codes(periods[col])
    label_codes, labels = sorted_codes(_stratum_values(pd.DataFrame({col: values}), dim))
    return np.where(codes >= 0, label_codes[codes], -1), labels


def add_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Rates per 1,000 person-years for admissions and deaths (ratio of sums, per replicate)."""
    keys = KEYS + ["period", "level", "area", "stratum"]
    py = df[df["outcome"] == OUT.person_years].set_index(keys)["value"]
    out = [df]
    for name in RATE_OF:
        num = df[df["outcome"] == name].set_index(keys)["value"].reindex(py.index, fill_value=0.0)
        rate = (num / py.where(py > 0) * 1000.0).dropna()
        out.append(rate.reset_index().assign(outcome=f"{name}_per_1000"))
    return pd.concat(out, ignore_index=True)


def reduce_run(counts: pd.DataFrame, lifetable: pd.DataFrame, geo: Geography, months: int, start: dt.date,
               params_for_draw: Callable[[int], ParameterSet]) -> pd.DataFrame:
    """One run's counts (or several runs') -> tidy rows: every level, area, stratum, period and outcome,
    with rates, life expectancy, inequality and costs. Per run, so a summary never holds all runs."""
    from .impacts import add_costs, inequality_rows
    from .life import life_expectancy_table

    los = np.asarray(params_for_draw(-1)["admissions.length_of_stay"])
    periods = to_periods(counts, months, start, los)
    tidy = add_rates(by_area_and_stratum(periods, geo))
    _, whole = period_labels(months, start)
    place = dict(zip(geo.neighbourhoods["id"], geo.neighbourhoods["place"], strict=True))
    extra = [life_expectancy_table(lifetable, geo, whole), inequality_rows(periods, place, ICS_NAME)]
    tidy = pd.concat([tidy] + [e for e in extra if not e.empty], ignore_index=True)
    return add_costs(tidy, params_for_draw)


def summarise_replicates(df: pd.DataFrame, comparator: str = "baseline") -> pd.DataFrame:
    """mean, lower, upper across replicates and draws of a tidy per-run table held in memory (tests,
    notebooks): scenario values, paired differences from the comparator (same replicate and draw) and
    percentage change. The same code as `neighsim run`'s streaming summary (cells.py)."""
    import tempfile
    from pathlib import Path

    from .cells import RESULTS_FILE, CellStore, ResultsWriter, read_results, write_results

    with tempfile.TemporaryDirectory() as tmp:
        store = CellStore(Path(tmp), is_count)
        econ = CellStore(Path(tmp) / "econ")
        econ.dir.mkdir()
        for (scen, rep, draw), g in df.groupby(KEYS, sort=True):
            store.add(str(scen), int(rep), int(draw), g)
        order = sorted({r for runs in store.runs.values() for r in runs})
        scenarios = sorted(store.runs)
        with ResultsWriter(Path(tmp) / RESULTS_FILE) as out:
            write_results(store, econ, scenarios, comparator, order, out)
        return read_results(tmp)
