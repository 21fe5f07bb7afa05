"""A summary of the synthesised population, for people (text) and programs (JSON)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..agents.cohort import CONDITIONS, FRAILTY_LABELS
from . import sources
from .geography import ICS_NAME
from .synth import Population, household_counts


def summarise_population(pop: Population, clustering_sample: int | None = None) -> dict[str, Any]:
    c = pop.cohort
    geo = pop.geography
    alive = c.alive
    age = c.age_years()
    n = int(alive.sum())
    scale = pop.config.population.scale
    la_names = geo.las
    la_pop = np.bincount(c.la[alive], minlength=len(la_names))
    loc_pop = np.bincount(c.locality[alive], minlength=int(geo.localities["id"].max()) + 1)
    nb_ids = geo.neighbourhoods["id"].to_numpy()
    nb_pop = np.bincount(c.neighbourhood[alive], minlength=int(nb_ids.max()) + 1)
    core20 = np.bincount(c.neighbourhood[alive & (c.imd_decile <= 2)], minlength=int(nb_ids.max()) + 1)
    adults = alive & (age >= 18)
    old = alive & (age >= 65)
    frail = np.bincount(c.frailty[old], minlength=4) / max(int(old.sum()), 1)
    hh = c.household[alive]
    hh_ids, hh_sizes = np.unique(hh[hh >= 0], return_counts=True)
    census_hh = float(household_counts(geo.lsoas).sum()) * scale
    deg = pop.network.degree()
    clustering = pop.network.local_clustering()
    fp_share = float(pop.household_fuel_poor[hh_ids].mean()) if len(hh_ids) else 0.0
    fuel = sources.read("fuel").set_index("lad_name")
    fuel_target = float(fuel.loc[la_names, "fuel_poor_households"].sum() / fuel.loc[la_names, "households"].sum())
    ltc = {cond: float(c[cond][adults].mean()) for cond in CONDITIONS}
    ltc_dx = {cond: float(c[f"{cond}_dx"][adults].mean()) for cond in CONDITIONS}
    nltc = c.ltc_count()
    return {
        "name": pop.config.name,
        "start_date": pop.config.population.start_date.isoformat(),
        "seed": pop.config.seed,
        "scale": scale,
        "total": n,
        "male_share": float(c.male[alive].mean()),
        "age_65plus_share": float(old.sum() / max(n, 1)),
        "core20_share": float((alive & (c.imd_decile <= 2)).sum() / max(n, 1)),
        "households": int(len(hh_ids)),
        "census2021_households": round(census_hh),
        "mean_household_size": float(hh_sizes.mean()) if len(hh_sizes) else 0.0,
        "local_authorities": [{"name": nm, "population": int(la_pop[i])} for i, nm in enumerate(la_names)],
        "places": [{"name": pl, "population": int(sum(int(loc_pop[r.id]) for r in geo.localities.itertuples()
                                                        if r.place == pl))}
                   for pl in sorted(geo.localities["place"].unique(), reverse=True)],
        "localities": [{"name": r.name, "place": r.place, "population": int(loc_pop[r.id])}
                       for r in geo.localities.itertuples()],
        "neighbourhoods": [{"id": int(r.id), "name": r.name, "locality": r.locality, "place": r.place,
                            "population": int(nb_pop[r.id]),
                            "core20_share": float(core20[r.id] / max(nb_pop[r.id], 1))}
                           for r in geo.neighbourhoods.itertuples()],
        "smoking_prevalence_adults": float((c.smoking[adults] == 1).mean()),
        "frailty_65plus": {lab: float(frail[i]) for i, lab in enumerate(FRAILTY_LABELS)},
        "ltc_prevalence_adults": ltc,
        "ltc_diagnosed_adults": ltc_dx,
        "multimorbidity_adults": float((nltc[adults] >= 2).mean()),
        "fuel_poor_household_share": fp_share,
        "fuel_poor_household_share_desnz": fuel_target,
        "network": {"nodes": int(pop.network.n), "edges": int(len(pop.network.indices) // 2),
                    "household_edges": int(pop.network.household_edges),
                    "other_edges": int(pop.network.other_edges),
                    "mean_degree": float(deg.mean()) if len(deg) else 0.0,
                    "clustering": float(clustering.mean()) if len(clustering) else 0.0},
        "build_seconds": round(pop.timings.get("total", float("nan")), 2),
        "ics": ICS_NAME,
    }


def format_summary(s: dict[str, Any]) -> str:
    """Readable text version of summarise_population."""
    lines = [
        f"{s['name']}: synthetic residents at {s['start_date']} (seed {s['seed']}"
        + (f", scale {s['scale']}" if s["scale"] != 1 else "") + ")",
        "",
        f"  residents            {s['total']:>12,}   ({s['male_share']:.1%} male, {s['age_65plus_share']:.1%} aged 65+)",
        f"  households           {s['households']:>12,}   (Census 2021: {s['census2021_households']:,}; "
        f"mean size {s['mean_household_size']:.2f})",
        f"  Core20 residents     {s['core20_share']:>12.1%}   (IMD 2019 deciles 1-2)",
        f"  adult smokers        {s['smoking_prevalence_adults']:>12.1%}",
        f"  multimorbidity (2+)  {s['multimorbidity_adults']:>12.1%}   of adults",
        "  LTCs, adults         " + ", ".join(
            f"{k} {v:.1%} ({s['ltc_diagnosed_adults'][k]:.1%} diagnosed)" for k, v in s["ltc_prevalence_adults"].items()),
        "  frailty at 65+       " + ", ".join(f"{k} {v:.1%}" for k, v in s["frailty_65plus"].items()),
        f"  fuel-poor households {s['fuel_poor_household_share']:>12.1%}   (DESNZ LILEE for these LAs: "
        f"{s['fuel_poor_household_share_desnz']:.1%})",
        f"  social network       {s['network']['edges']:>12,} ties; mean degree {s['network']['mean_degree']:.2f}, "
        f"clustering {s['network']['clustering']:.3f}",
        "",
        "Places and localities",
    ]
    for pl in s["places"]:
        lines.append(f"  {pl['name']:<40} {pl['population']:>10,}")
        for loc in s["localities"]:
            if loc["place"] == pl["name"]:
                lines.append(f"    {loc['name']:<38} {loc['population']:>10,}")
    lines += ["", f"Neighbourhoods ({len(s['neighbourhoods'])})",
              f"  {'id':>3}  {'population':>10}  {'Core20':>6}  name"]
    for nb in s["neighbourhoods"]:
        lines.append(f"  {nb['id']:>3}  {nb['population']:>10,}  {nb['core20_share']:>6.1%}  {nb['name']}")
    lines.append("")
    lines.append(f"Built in {s['build_seconds']} s. Data: ONS, MHCLG, DESNZ (Open Government Licence v3.0).")
    return "\n".join(lines)


def population_frame(pop: Population) -> pd.DataFrame:
    """Residents as a DataFrame (for notebooks); one row per resident, labelled categories."""
    c = pop.cohort
    geo = pop.geography
    df = pd.DataFrame({f: c[f] for f in c.fields})
    df["age"] = df["age_months"] // 12
    df["lsoa11_code"] = geo.lsoas["lsoa11_code"].to_numpy()[df["lsoa"]]
    return df
