"""Inequality and economics outcomes added to the per-replicate table before it is summarised.

Inequality (per scenario, replicate, period, at ICS and place level): age-standardised emergency
admission rates per 1,000 by IMD decile (European Standard Population 2013, in the recorder's age
bands), their slope and relative index of inequality, and the Core20-versus-rest gap. Differences
between scenarios and their intervals then come from the generic paired summary.

Costs per run: NHS admission costs and personal social services costs in 2026/27 prices (NHS cost inflation
index), and intervention costs. The paired economics (cost-effectiveness, ROI, payback, budget impact, by
perspective) are in appraisal.py.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..outcomes import OUT
from ..parameters import ParameterSet
from .grouping import group_sum, sorted_codes
from .inequality import age_standardised_rate, sii_rii

# European Standard Population 2013 (per 100,000) in the recorder's bands 0-17 ... 85+
ESP2013_BANDS = np.array([19300, 20700, 21000, 19500, 10500, 6500, 2500], dtype=float)
KEYS = ["scenario", "replicate", "param_draw"]
CAUSES = ("respiratory", "cardiovascular", "other")
ECON_OUTCOMES = (OUT.cost_admissions, OUT.cost_social_care, OUT.cost_intervention, OUT.costs_avoided, OUT.net_cost,
                 OUT.roi, OUT.payback_year, OUT.cost_per_admission_avoided, OUT.cost_per_qaly, OUT.qalys_gained,
                 OUT.admissions_avoided)


def inequality_rows(periods: pd.DataFrame, place_of_nb: dict[int, str], ics_name: str) -> pd.DataFrame:
    """sii_admissions, rii_admissions, core20_gap_admissions, core20_ratio_admissions and the
    age-standardised rate (asr_admissions_per_1000) per replicate at ICS and place level.

    The admissions and person-years by age band of every area, run, period and decile group come from
    a few grouped sums over all of them (_band_sums), not a groupby per group: the same rows summed in
    the same order as grouping each group alone, so the same floats."""
    need = periods[periods["outcome"].isin([OUT.emergency_admissions, OUT.person_years])]
    if need.empty:
        return pd.DataFrame()
    areas, runs, labels, present, by_decile, by_group = _band_sums(need, place_of_nb)
    rows = []
    for a, (level, area) in enumerate([("ics", ics_name)] + [("place", pl) for pl in areas]):
        for r, run in enumerate(runs):
            for p, period in enumerate(labels):
                if not present[a, r, p]:
                    continue
                base = dict(zip(KEYS + ["period"], (*run, period), strict=True)) | {
                    "level": level, "area": area, "stratum": "all"}
                rates, pys = [], []
                for d in range(10):
                    rate, py = _asr(by_decile[0, a, r, p, d], by_decile[1, a, r, p, d])
                    rates.append(rate)
                    pys.append(py)
                rates_a, pys_a = np.array(rates), np.array(pys)
                ok = np.isfinite(rates_a) & (pys_a > 0)
                if ok.sum() >= 2:
                    sii, rii = sii_rii(rates_a[ok], pys_a[ok])
                    rows += [base | {"outcome": OUT.sii_admissions, "value": sii},
                             base | {"outcome": OUT.rii_admissions, "value": rii}]
                core, rest, allr = (_asr(by_group[0, g, a, r, p], by_group[1, g, a, r, p])[0] for g in range(3))
                rows.append(base | {"outcome": OUT.asr_admissions_per_1000, "value": allr})
                if np.isfinite(core) and np.isfinite(rest):
                    rows += [base | {"outcome": OUT.core20_gap_admissions, "value": core - rest},
                             base | {"outcome": OUT.core20_ratio_admissions, "value": core / rest if rest else np.nan}]
    return pd.DataFrame(rows)


def _asr(events: np.ndarray, person_years: np.ndarray) -> tuple[float, float]:
    """Age-standardised admissions per 1,000 person-years and the person-years, from sums by age band."""
    if person_years.sum() <= 0:
        return float("nan"), 0.0
    return 1000.0 * age_standardised_rate(events, person_years, ESP2013_BANDS), float(person_years.sum())


def _band_sums(need: pd.DataFrame, place_of_nb: dict[int, str]):
    """Emergency admissions and person-years by age band 0..6 for every area (the ICS, then each place
    sorted), run (KEYS, sorted), period (sorted) and IMD decile 1..10 (by_decile: [outcome, area, run,
    period, decile, band]), and for deciles 1-2, 3-10 and all (by_group: [outcome, group, area, run,
    period, band]), zero where there are no rows; present[area, run, period] says which have rows.

    The rows are summed to run x period x place x decile x band first (the pivot table of the rows by
    those keys), then, in that table's sorted row order, to each area's groups: pandas group sums
    (compensated, in row order), as grouping each group's rows alone did, so the floats are the same."""
    n_band = len(ESP2013_BANDS)
    key_codes = [sorted_codes(need[c]) for c in KEYS + ["period"]]
    pl_code, places = sorted_codes(need["neighbourhood"].map(place_of_nb))
    dec_code, deciles = sorted_codes(need["imd_decile"])
    band_code, bands = sorted_codes(need["age_band"])
    is_py = (need["outcome"] == OUT.person_years).to_numpy().astype(np.int64)
    keep = (pl_code >= 0) & (dec_code >= 0) & (band_code >= 0)
    codes = [c[keep] for c, _ in key_codes] + [pl_code[keep], dec_code[keep], band_code[keep], is_py[keep]]
    sizes = [len(u) for _, u in key_codes] + [len(places), len(deciles), len(bands), 2]
    got, sums = group_sum(codes, sizes, need["value"].to_numpy(dtype=float)[keep])
    cell = _pack(got[:-1], sizes[:-1])  # the pivot table: a row per run, period, place, decile and band
    cells, first, row_of = np.unique(cell, return_index=True, return_inverse=True)
    wide = np.zeros((2, len(cells)))  # a missing outcome is 0
    wide[got[-1], row_of] = sums
    run_c, (per_c, pl_c, dec_c, band_c) = [g[first] for g in got[:3]], (g[first] for g in got[3:7])
    run_ids, run_first, run_of = np.unique(_pack(run_c, sizes[:3]), return_index=True, return_inverse=True)
    runs = [tuple(u[c[i]].item() if hasattr(u[c[i]], "item") else u[c[i]]
                  for (_, u), c in zip(key_codes[:3], run_c, strict=True)) for i in run_first]
    labels = key_codes[3][1].tolist()
    n_area, n_run, n_per = 1 + len(places), len(run_ids), len(labels)
    dec = deciles.to_numpy()[dec_c].astype(np.int64)
    band = bands.to_numpy()[band_c].astype(np.int64)
    in_band = (band >= 0) & (band < n_band)
    present = np.zeros((n_area, n_run, n_per), dtype=bool)
    present[0, run_of, per_c] = True
    present[1 + pl_c, run_of, per_c] = True
    by_decile = np.zeros((2, n_area, n_run, n_per, 10, n_band))
    by_group = np.zeros((2, 3, n_area, n_run, n_per, n_band))
    for area in (np.zeros(len(cells), dtype=np.int64), 1 + pl_c):  # the ICS (all places), then each place
        (ga, gr, gp, gd, gb), s = _sum_rows(wide, in_band & (dec >= 1) & (dec <= 10),
                                            [area, run_of, per_c, dec - 1, band], [n_area, n_run, n_per, 10, n_band])
        by_decile[:, ga, gr, gp, gd, gb] = s
        for g, member in enumerate((dec <= 2, dec > 2, np.ones(len(dec), dtype=bool))):
            (ga, gr, gp, gb), s = _sum_rows(wide, in_band & member, [area, run_of, per_c, band],
                                            [n_area, n_run, n_per, n_band])
            by_group[:, g, ga, gr, gp, gb] = s
    return places.tolist(), runs, labels, present, by_decile, by_group


def _pack(codes: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c, s in zip(codes, sizes, strict=True):
        key = key * max(int(s), 1) + c
    return key


def _sum_rows(wide: np.ndarray, sel: np.ndarray, codes: list[np.ndarray], sizes: list[int]):
    """Both outcomes of the pivot table's rows `sel`, summed by `codes` (pandas group sums in row order)."""
    (got, ev), (_, py) = (group_sum([c[sel] for c in codes], sizes, wide[k][sel]) for k in range(2))
    return got, np.array([ev, py])


# each NHS / social care unit cost and the NHS cost inflation index of its price year (PSSRU); the warm-homes
# measure (a housing cost) is re-priced with the GDP deflator in its own module
PRICE_YEAR = {"cost_admission_respiratory": "nhscii_2016_17", "cost_admission_cardiovascular": "nhscii_2016_17",
              "cost_admission_other": "nhscii_2016_17", "cost_admission_falls": "nhscii_2016_17",
              "cost_hip_fracture": "nhscii_2012_13", "social_care_hip_fracture": "nhscii_2023_24",
              "social_care_fall_admission": "nhscii_2023_24", "social_care_frailty_annual": "nhscii_2023_24"}
PRICES = "nhscii_2026_27"


def priced(p: ParameterSet, name: str) -> float | np.ndarray:
    """economics.<name> in 2026/27 prices: value x NHSCII(2026/27) / NHSCII(its price year)."""
    e = "economics."
    return np.asarray(p[e + name], dtype=float) * p[e + PRICES] / p[e + PRICE_YEAR[name]]


def unit_costs(p: ParameterSet) -> dict[str, float]:
    """Cost per admission by cause in 2026/27 prices (NHS cost inflation index)."""
    return {OUT.admissions_respiratory: float(priced(p, "cost_admission_respiratory")),
            OUT.admissions_cardiovascular: float(priced(p, "cost_admission_cardiovascular")),
            OUT.admissions_other: float(priced(p, "cost_admission_other")),
            "falls_no_hip": float(priced(p, "cost_admission_falls")),
            OUT.hip_fractures: float(priced(p, "cost_hip_fracture"))}


FRAILTY_SNAPSHOTS = ("frailty_mild", "frailty_moderate", "frailty_severe")


def add_costs(tidy: pd.DataFrame, params_for_draw: Callable[[int], ParameterSet]) -> pd.DataFrame:
    """cost_admissions (NHS), cost_social_care (personal social services: after hip fractures and fall
    admissions, and a year of care per resident in each frailty category at a financial year's end) and
    cost_intervention (sum of each module's `<name>_cost`) per row group. A period that is not a financial
    year (the whole horizon) takes the sum of the years' social care, not its end-of-period snapshot."""
    idx = KEYS + ["period", "level", "area", "stratum"]
    wide = tidy.pivot_table(index=idx, columns="outcome", values="value", aggfunc="sum")
    out = []
    for draw, g in wide.groupby(level="param_draw"):
        p = params_for_draw(int(draw))
        c = unit_costs(p)
        col = lambda name, g=g: g[name].fillna(0.0) if name in g else 0.0  # noqa: E731
        cost = (col(OUT.admissions_respiratory) * c[OUT.admissions_respiratory]
                + col(OUT.admissions_cardiovascular) * c[OUT.admissions_cardiovascular]
                + col(OUT.admissions_other) * c[OUT.admissions_other]
                + (col(OUT.admissions_falls) - col(OUT.hip_fractures)) * c["falls_no_hip"]
                + col(OUT.hip_fractures) * c[OUT.hip_fractures])
        frail = priced(p, "social_care_frailty_annual")
        care = (col(OUT.hip_fractures) * float(priced(p, "social_care_hip_fracture"))
                + (col(OUT.admissions_falls) - col(OUT.hip_fractures)) * float(priced(p, "social_care_fall_admission"))
                + sum(col(name) * frail[k + 1] for k, name in enumerate(FRAILTY_SNAPSHOTS)))
        iv_cols = [k for k in g.columns if k.endswith("_cost") and k not in ECON_OUTCOMES]
        icost = g[iv_cols].fillna(0.0).sum(axis=1) if iv_cols else pd.Series(0.0, index=g.index)
        out.append(pd.DataFrame({OUT.cost_admissions: cost, OUT.cost_social_care: care,
                                 OUT.cost_intervention: icost}))
    costs = pd.concat(out)
    period = costs.index.get_level_values("period")
    fy = period.str.match(r"^\d{4}/\d{2}$")
    if (~fy).any() and fy.any():  # the whole horizon's social care: the sum of its financial years
        keys = [k for k in idx if k != "period"]
        by_year = costs.loc[fy, OUT.cost_social_care].groupby(level=keys).sum()
        whole = costs.loc[~fy, OUT.cost_social_care].droplevel("period")
        costs.loc[~fy, OUT.cost_social_care] = by_year.reindex(whole.index, fill_value=0.0).to_numpy()
    costs = costs.reset_index().melt(id_vars=idx, var_name="outcome", value_name="value")
    return pd.concat([tidy, costs], ignore_index=True)


from .appraisal import economics_rows  # noqa: E402, F401  (re-exported: the paired economics live there)


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
