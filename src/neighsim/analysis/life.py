"""Life expectancy at birth from the simulated mortality (period life tables) and its inequality."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..outcomes import OUT
from ..population.geography import ICS_NAME, Geography
from ..recorder import LT_AGE_STARTS, SEX_LABELS
from .inequality import sii_rii
from .lifetable import life_expectancy

KEYS = ["scenario", "replicate", "param_draw"]


def _le(group: pd.DataFrame) -> float:
    d = group.set_index("age_start")
    deaths = d[OUT.deaths].reindex(LT_AGE_STARTS, fill_value=0.0).to_numpy()
    py = d[OUT.person_years].reindex(LT_AGE_STARTS, fill_value=0.0).to_numpy()
    if (py <= 0).any() or deaths[-1] <= 0:
        return float("nan")  # too few residents for a life table (e.g. a tiny test population)
    return life_expectancy(deaths, py, LT_AGE_STARTS)


def life_expectancy_table(lt: pd.DataFrame, geo: Geography, period: str) -> pd.DataFrame:
    """Life expectancy at birth over the whole horizon, per replicate, as summary rows:
    ics, place and local authority (la) by sex, by sex and IMD quintile, plus the slope index of
    inequality across IMD deciles (sii_life_expectancy: fitted least-deprived minus most-deprived, years)."""
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
    rows = []
    for area_level, area_col in (("ics", None), ("place", "place"), ("la", "la")):
        areas = [(ICS_NAME, df)] if area_col is None else list(df.groupby(area_col))
        for area, sub in areas:
            for (scen, rep, draw, sex), g in sub.groupby(KEYS + ["sex"]):
                base = {"scenario": scen, "replicate": rep, "param_draw": draw, "period": period,
                        "level": area_level, "area": area}
                agg = g.groupby("age_start")[[OUT.deaths, OUT.person_years]].sum().reset_index()
                sx = SEX_LABELS[int(sex)]
                rows.append({**base, "stratum": f"sex={sx}", "outcome": OUT.life_expectancy, "value": _le(agg)})
                for q, gq in g.groupby("quintile"):
                    agg = gq.groupby("age_start")[[OUT.deaths, OUT.person_years]].sum().reset_index()
                    rows.append({**base, "stratum": f"sex={sx},imd_quintile={q}", "outcome": OUT.life_expectancy,
                                 "value": _le(agg)})
                les, pops = [], []
                for d in range(1, 11):
                    gd = g[g["imd_decile"] == d]
                    agg = gd.groupby("age_start")[[OUT.deaths, OUT.person_years]].sum().reset_index()
                    les.append(_le(agg) if len(gd) else np.nan)
                    pops.append(gd[OUT.person_years].sum())
                les, pops = np.array(les), np.array(pops)
                ok = ~np.isnan(les) & (pops > 0)
                sii = -sii_rii(les[ok], pops[ok])[0] if ok.sum() >= 3 else np.nan
                rows.append({**base, "stratum": f"sex={sx}", "outcome": OUT.sii_life_expectancy, "value": sii})
    return pd.DataFrame(rows)
