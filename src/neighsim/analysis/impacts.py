"""Inequality and economics outcomes added to the per-replicate table before it is summarised.

Inequality (per scenario, replicate, period, at ICS and place level): age-standardised emergency
admission rates per 1,000 by IMD decile (European Standard Population 2013, in the recorder's age
bands), their slope and relative index of inequality, and the Core20-versus-rest gap. Differences
between scenarios and their intervals then come from the generic paired summary.

Economics (paired with the comparator, per replicate, every area, stratum 'all'): admission costs in
2026/27 prices, intervention costs, costs avoided, net cost, return on investment (pounds of
admission costs avoided per pound spent, both discounted), payback year, cost per admission avoided
and per QALY gained, net monetary benefit at £20,000 and £30,000 per QALY, over horizons of 1 to 5 years.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..outcomes import OUT
from ..parameters import ParameterSet
from .economics import NMB_THRESHOLDS, cost_per_outcome, discount_factors, net_monetary_benefit, payback_year
from .inequality import age_standardised_rate, sii_rii

# European Standard Population 2013 (per 100,000) in the recorder's bands 0-17 ... 85+
ESP2013_BANDS = np.array([19300, 20700, 21000, 19500, 10500, 6500, 2500], dtype=float)
KEYS = ["scenario", "replicate", "param_draw"]
CAUSES = ("respiratory", "cardiovascular", "other")
ECON_OUTCOMES = (OUT.cost_admissions, OUT.cost_intervention, OUT.costs_avoided, OUT.net_cost, OUT.roi, OUT.payback_year,
                 OUT.cost_per_admission_avoided, OUT.cost_per_qaly, OUT.qalys_gained, OUT.admissions_avoided)


def inequality_rows(periods: pd.DataFrame, place_of_nb: dict[int, str], ics_name: str) -> pd.DataFrame:
    """sii_admissions, rii_admissions, core20_gap_admissions, core20_ratio_admissions and the
    age-standardised rate (asr_admissions_per_1000) per replicate at ICS and place level."""
    need = periods[periods["outcome"].isin([OUT.emergency_admissions, OUT.person_years])]
    if need.empty:
        return pd.DataFrame()
    df = need.assign(place=need["neighbourhood"].map(place_of_nb))
    wide = df.pivot_table(index=KEYS + ["period", "place", "imd_decile", "age_band"], columns="outcome",
                          values="value", aggfunc="sum", fill_value=0.0).reset_index()
    rows = []
    areas: list[tuple[str, str, Callable[[pd.DataFrame], pd.DataFrame]]] = [("ics", ics_name, lambda d: d)]
    for pl in sorted(df["place"].unique()):
        areas.append(("place", pl, lambda d, pl=pl: d[d["place"] == pl]))
    for level, area, pick in areas:
        sub = pick(wide)
        for key, g in sub.groupby(KEYS + ["period"]):
            base = dict(zip(KEYS + ["period"], key, strict=True)) | {"level": level, "area": area, "stratum": "all"}

            def asr(part: pd.DataFrame) -> tuple[float, float]:
                by_band = part.groupby("age_band")[[OUT.emergency_admissions, OUT.person_years]].sum()
                by_band = by_band.reindex(range(len(ESP2013_BANDS)), fill_value=0.0)
                if by_band[OUT.person_years].sum() <= 0:
                    return float("nan"), 0.0
                rate = age_standardised_rate(by_band[OUT.emergency_admissions].to_numpy(),
                                             by_band[OUT.person_years].to_numpy(), ESP2013_BANDS)
                return 1000.0 * rate, float(by_band[OUT.person_years].sum())

            rates, pys = [], []
            for d in range(1, 11):
                r, py = asr(g[g["imd_decile"] == d])
                rates.append(r)
                pys.append(py)
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


def unit_costs(p: ParameterSet) -> dict[str, float]:
    """Cost per admission by cause in 2026/27 prices (GDP deflator ratios from the parameters)."""
    up = p["economics.price_index_2026_27"]
    hip = p["economics.cost_hip_fracture"] * up / p["economics.price_index_2012_13"]
    return {OUT.admissions_respiratory: p["economics.cost_admission_respiratory"] * up,
            OUT.admissions_cardiovascular: p["economics.cost_admission_cardiovascular"] * up,
            OUT.admissions_other: p["economics.cost_admission_other"] * up,
            "falls_no_hip": p["economics.cost_admission_falls"] * up,
            OUT.hip_fractures: hip}


def add_costs(tidy: pd.DataFrame, params_for_draw: Callable[[int], ParameterSet]) -> pd.DataFrame:
    """cost_admissions and cost_intervention (sum of each module's `<name>_cost`) per row group."""
    idx = KEYS + ["period", "level", "area", "stratum"]
    wide = tidy.pivot_table(index=idx, columns="outcome", values="value", aggfunc="sum")
    out = []
    for draw, g in wide.groupby(level="param_draw"):
        c = unit_costs(params_for_draw(int(draw)))
        col = lambda name, g=g: g[name].fillna(0.0) if name in g else 0.0  # noqa: E731
        cost = (col(OUT.admissions_respiratory) * c[OUT.admissions_respiratory]
                + col(OUT.admissions_cardiovascular) * c[OUT.admissions_cardiovascular]
                + col(OUT.admissions_other) * c[OUT.admissions_other]
                + (col(OUT.admissions_falls) - col(OUT.hip_fractures)) * c["falls_no_hip"]
                + col(OUT.hip_fractures) * c[OUT.hip_fractures])
        iv_cols = [k for k in g.columns if k.endswith("_cost") and k not in ECON_OUTCOMES]
        icost = g[iv_cols].fillna(0.0).sum(axis=1) if iv_cols else pd.Series(0.0, index=g.index)
        out.append(pd.DataFrame({OUT.cost_admissions: cost, OUT.cost_intervention: icost}))
    costs = pd.concat(out).reset_index().melt(id_vars=idx, var_name="outcome", value_name="value")
    return pd.concat([tidy, costs], ignore_index=True)


def economics_rows(tidy: pd.DataFrame, comparator: str, years: list[str], whole: str,
                   params_for_draw: Callable[[int], ParameterSet]) -> pd.DataFrame:
    """Paired economics per replicate for every scenario other than the comparator (stratum 'all').

    For a financial-year period the figures are cumulative from 2026/27 to that year (the payback
    horizon); for the whole period they cover all five years. Costs and QALYs are discounted (year 1
    undiscounted); admissions avoided are not."""
    sel = tidy[(tidy["stratum"] == "all") & tidy["period"].isin(years)
               & tidy["outcome"].isin([OUT.cost_admissions, OUT.cost_intervention, OUT.qalys, OUT.emergency_admissions])]
    if sel.empty or comparator not in set(sel["scenario"]):
        return pd.DataFrame()
    wide = sel.pivot_table(index=["replicate", "param_draw", "level", "area", "outcome"],
                           columns=["scenario", "period"], values="value", aggfunc="sum")
    rows = []
    for scen in sorted(set(sel["scenario"]) - {comparator}):
        for (rep, draw, level, area), g in wide.groupby(level=["replicate", "param_draw", "level", "area"]):
            rate = params_for_draw(int(draw))["economics.discount_rate"]
            def series(outcome: str, s: str, g=g) -> np.ndarray:
                try:
                    row = g.xs(outcome, level="outcome")
                except KeyError:
                    return np.zeros(len(years))
                return np.array([float(row.get((s, y), pd.Series([0.0])).iloc[0]) if (s, y) in row.columns
                                 else 0.0 for y in years])
            avoided = series(OUT.cost_admissions, comparator) - series(OUT.cost_admissions, scen)
            icost = series(OUT.cost_intervention, scen) - series(OUT.cost_intervention, comparator)
            qaly = series(OUT.qalys, scen) - series(OUT.qalys, comparator)
            adm = series(OUT.emergency_admissions, comparator) - series(OUT.emergency_admissions, scen)
            disc = discount_factors(len(years), rate)
            for h, label in [(k + 1, years[k]) for k in range(len(years))] + [(len(years), whole)]:
                pv_avoided = float((avoided[:h] * disc[:h]).sum())
                pv_cost = float((icost[:h] * disc[:h]).sum())
                pv_qaly = float((qaly[:h] * disc[:h]).sum())
                net = pv_cost - pv_avoided
                base = {"scenario": scen, "replicate": rep, "param_draw": draw, "period": label, "level": level,
                        "area": area, "stratum": "all"}
                pb = payback_year(avoided[:h], icost[:h], rate)
                vals = {OUT.costs_avoided: pv_avoided, OUT.net_cost: net,
                        OUT.roi: pv_avoided / pv_cost if pv_cost > 0 else np.nan,
                        OUT.payback_year: float(pb) if pb is not None else np.nan,
                        OUT.admissions_avoided: float(adm[:h].sum()), OUT.qalys_gained: pv_qaly,
                        OUT.cost_per_admission_avoided: cost_per_outcome(net, float(adm[:h].sum())),
                        OUT.cost_per_qaly: cost_per_outcome(net, pv_qaly),
                        **{f"nmb_{int(k)}": net_monetary_benefit(pv_qaly, net, k) for k in NMB_THRESHOLDS}}
                rows += [base | {"outcome": k, "value": v} for k, v in vals.items()]
    from .survivors import survivor_rows

    survivors = survivor_rows(tidy, comparator)
    return pd.concat([pd.DataFrame(rows), survivors], ignore_index=True) if not survivors.empty else pd.DataFrame(rows)


def summarise_economics(econ: pd.DataFrame) -> pd.DataFrame:
    """mean and 95% interval of the paired economics (NaN replicates, e.g. no payback, are left out;
    n says how many counted)."""
    if econ.empty:
        return econ
    keys = ["scenario", "period", "level", "area", "stratum", "outcome"]
    g = econ.replace([np.inf, -np.inf], np.nan).groupby(keys, observed=True)["value"]
    res = pd.DataFrame({"mean": g.mean(), "lower": g.quantile(0.025), "upper": g.quantile(0.975),
                        "n": g.count()}).reset_index()
    return res.assign(measure="value")
