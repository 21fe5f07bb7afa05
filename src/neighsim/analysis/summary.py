"""From task counts to the tidy summary: periods, areas, strata, outcomes, paired differences, intervals.

summary.csv has one row per scenario x outcome x period x level x area x stratum x measure with
mean, lower and upper (2.5th and 97.5th percentiles across replicates and parameter draws). The
schema is documented in docs/outputs.md.
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
    person-years). Events are summed; snapshots are taken at the period's last recorded month."""
    labels, whole = period_labels(months, start)
    dims = KEYS + ["neighbourhood", "imd_decile", "sex", "age_band"]
    df = counts.copy()
    df["period"] = labels[df["month"].to_numpy()]
    codes, uniques = pd.factorize(df["measure"])  # a few dozen measures over a million rows
    snap = np.array([is_snapshot(m) for m in uniques], dtype=bool)[codes]
    ev = df[~snap]
    ev_fy = ev.groupby(dims + ["period", "measure"], observed=True)["value"].sum().reset_index()
    ev_all = ev.groupby(dims + ["measure"], observed=True)["value"].sum().reset_index().assign(period=whole)
    sn = df[snap]
    last = sn.groupby(KEYS + ["period"])["month"].transform("max")
    sn_fy = sn[sn["month"] == last].drop(columns="month")
    final = sn["month"].max() if len(sn) else 0
    sn_all = sn[sn["month"] == final].drop(columns="month").assign(period=whole)
    out = pd.concat([ev_fy, ev_all, sn_fy, sn_all], ignore_index=True)
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
    expensive pass, once), then summed to each level's areas."""
    loc, place = _areas(geo)
    nbname = dict(zip(geo.neighbourhoods["id"], geo.neighbourhoods["name"], strict=True))
    base = KEYS + ["period", "outcome"]
    frames = []
    area_maps = {"ics": None, "place": place, "locality": loc, "neighbourhood": nbname}
    for dim in strata:
        reduced = periods.assign(stratum=_stratum_values(periods, dim)).groupby(
            base + ["neighbourhood", "stratum"], observed=True)["value"].sum().reset_index()
        for level, amap in area_maps.items():
            if dim not in (STRATA_TOP_LEVELS if level in ("ics", "place") else STRATA_ALL_LEVELS):
                continue
            area = ICS_NAME if amap is None else reduced["neighbourhood"].map(amap)
            g = reduced.assign(level=level, area=area)
            frames.append(g.groupby(base + ["level", "area", "stratum"], observed=True)["value"].sum().reset_index())
    return pd.concat(frames, ignore_index=True)


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

    from .cells import CellStore, write_summary_csv

    with tempfile.TemporaryDirectory() as tmp:
        store = CellStore(Path(tmp), is_count)
        econ = CellStore(Path(tmp) / "econ")
        econ.dir.mkdir()
        for (scen, rep, draw), g in df.groupby(KEYS, sort=True):
            store.add(str(scen), int(rep), int(draw), g)
        order = sorted({r for runs in store.runs.values() for r in runs})
        scenarios = sorted(store.runs)
        write_summary_csv(store, econ, scenarios, comparator, order, Path(tmp) / "summary.csv")
        return pd.read_csv(Path(tmp) / "summary.csv", keep_default_na=False, na_values=[""])
