"""Cost-effectiveness and budget impact, per replicate and parameter draw, paired with the comparator.

The NICE reference case is the headline: NHS and personal social services costs (admissions by cause,
hip fractures, social care after falls and fractures and for frailty), costs and QALYs discounted at the
parameter economics.discount_rate (3.5%), and the future costs of people alive only because of the
programme left out (their admissions and social care are unrelated to it: survivors.py). Beside it: the NHS alone, the
wider view (productivity of the extra working-age years and of days off work avoided), and the reference
case with unrelated future costs counted.

Horizons: for each financial year the figures are cumulative from the first year to that year, so the
whole period is the last of them. Measures with a lifetime (an intervention's '<name>_capital' cash, with
'<name>_capital_years' = cash x lifetime) are annuitised (Green Book): the equivalent annual cost is
charged from installation for the lifetime, and charges beyond the horizon are left out, as are the
benefits beyond it - except the QALYs of people alive at the horizon's end only because of the programme,
which are extrapolated over their lifetime (extra survivors by age band x the comparator's discounted
quality-adjusted life expectancy at the band's midpoint). Payback and budget impact are cash: the whole
cost when it is spent, and all admission costs, survivors' included.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..outcomes import OUT
from ..parameters import ParameterSet
from ..processes.common import AGE_BAND_LABELS, AGE_BANDS
from .economics import (
    NMB_THRESHOLDS,
    annuitise,
    cost_per_outcome,
    discount_factors,
    lifetime_qalys_beyond,
    net_monetary_benefit,
    payback_year,
    quality_adjusted_life_expectancy,
    roi_with_qalys,
)

RUN = ["replicate", "param_draw", "level", "area"]
BANDS = [f"age_band={b}" for b in AGE_BAND_LABELS]
BAND_MIDPOINT = np.array([9, 26, 42, 57, 70, 80, 89])  # the age at which a band's life expectancy is read
MAX_AGE = 110
WORKING_DAYS = 228  # working days in a year (assumption: 52 weeks x 5, less holidays and bank holidays)
QALY_VALUE_ROI = 20_000.0  # value of a QALY in the ROI that counts health (NICE's lower threshold)
ALL_NEEDED = (OUT.cost_admissions, OUT.cost_social_care, OUT.cost_intervention, OUT.qalys, OUT.emergency_admissions,
              OUT.population, OUT.person_years)
BAND_NEEDED = (OUT.qalys, OUT.deaths, OUT.person_years, OUT.population, OUT.emergency_admissions)


class _Run:
    """One run's yearly arrays for one area: `get(scenario, outcome, stratum)`, zeros where absent."""

    def __init__(self, arrays: dict, key: tuple, n: int):
        self.arrays, self.key, self.zero = arrays, key, np.zeros(n)

    def get(self, scenario: str, outcome: str, stratum: str = "all") -> np.ndarray:
        return self.arrays.get((scenario, *self.key, stratum, outcome), self.zero)

    def has_bands(self, scenario: str) -> bool:
        return any((scenario, *self.key, b, OUT.person_years) in self.arrays for b in BANDS)


def qale_by_band(run: _Run, comparator: str, rate: float) -> np.ndarray | None:
    """Discounted QALYs still to live at each band's midpoint, from the comparator's death rates and
    QALYs per person-year by band over the whole horizon (constant within a band, to MAX_AGE)."""
    if not run.has_bands(comparator):
        return None
    py = np.array([run.get(comparator, OUT.person_years, b).sum() for b in BANDS])
    deaths = np.array([run.get(comparator, OUT.deaths, b).sum() for b in BANDS])
    qalys = np.array([run.get(comparator, OUT.qalys, b).sum() for b in BANDS])
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(py > 0, deaths / py, 1.0)
        u = np.where(py > 0, qalys / py, 0.0)
    band = np.searchsorted(np.asarray(AGE_BANDS[1:]), np.arange(MAX_AGE + 1), side="right")
    qale = quality_adjusted_life_expectancy(-np.expm1(-m[band]), u[band], rate)
    return qale[BAND_MIDPOINT]


def _capital(run: _Run, scen: str, comparator: str, capital: list[str]) -> tuple[np.ndarray, list[tuple]]:
    """Total capital cash by year and, per module, (cash by year, lifetime in years)."""
    total = np.zeros_like(run.zero)
    parts = []
    for name in capital:
        cash = run.get(scen, name) - run.get(comparator, name)
        spent = run.get(scen, name).sum()
        if not np.any(cash) or spent <= 0:
            continue
        life = run.get(scen, f"{name}_years").sum() / spent
        total = total + cash
        parts.append((cash, life))
    return total, parts


def economics_rows(tidy: pd.DataFrame, comparator: str, years: list[str], whole: str,
                   params_for_draw: Callable[[int], ParameterSet]) -> pd.DataFrame:
    """Paired economics for every scenario other than the comparator (stratum 'all'): see the module."""
    from .survivors import survivor_rows

    capital = sorted(o for o in tidy["outcome"].unique() if o.endswith("_capital"))
    need_all = set(ALL_NEEDED) | set(capital) | {f"{c}_years" for c in capital}
    per = tidy[tidy["period"].isin(years)]
    sel = per[((per["stratum"] == "all") & per["outcome"].isin(need_all))
              | (per["stratum"].isin(BANDS) & per["outcome"].isin(BAND_NEEDED))]
    if sel.empty or comparator not in set(sel["scenario"]):
        return pd.DataFrame()
    survivors = survivor_rows(tidy, comparator)
    frames = [sel]
    if not survivors.empty:
        frames.append(survivors[survivors["period"].isin(years)])
    both = pd.concat(frames, ignore_index=True)
    wide = both.pivot_table(index=["scenario", *RUN, "stratum", "outcome"], columns="period", values="value",
                            aggfunc="sum").reindex(columns=years).fillna(0.0)
    arrays = dict(zip(wide.index, wide.to_numpy(), strict=True))
    runs = sorted({k[1:5] for k in arrays}, key=lambda k: (k[0], k[1], k[2] != "ics", k[2], k[3]))
    rows: list[dict] = []
    for scen in sorted(set(sel["scenario"]) - {comparator}):
        # the ICS's QALYs beyond the horizon per extra survivor, and admission and social care costs per
        # extra person-year: what areas without age bands use
        per_survivor: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for key in runs:
            rep, draw, level, area = key
            run = _Run(arrays, key, len(years))
            p = params_for_draw(int(draw))
            rows += _one(run, scen, comparator, years, whole, p, capital, per_survivor,
                         {"scenario": scen, "replicate": rep, "param_draw": draw, "level": level, "area": area,
                          "stratum": "all"})
    out = pd.DataFrame(rows)
    if not survivors.empty:
        out = pd.concat([out, survivors], ignore_index=True)
    return out


def _one(run: _Run, scen: str, comp: str, years: list[str], whole: str, p: ParameterSet, capital: list[str],
         per_survivor: dict, base: dict) -> list[dict]:
    n = len(years)
    rate = float(p["economics.discount_rate"])
    disc = discount_factors(n, rate)
    g = run.get
    # survivors' (unrelated) admission costs and the lifetime QALYs beyond each horizon; levels without age
    # bands take the ICS's per extra survivor and per extra person-year
    d_pop = g(scen, OUT.population) - g(comp, OUT.population)
    d_py = g(scen, OUT.person_years) - g(comp, OUT.person_years)
    qale = qale_by_band(run, comp, rate)
    run_key = (base["replicate"], base["param_draw"])
    if qale is not None:
        extra = np.array([g(scen, OUT.population, b) - g(comp, OUT.population, b) for b in BANDS])  # band x year
        beyond = np.array([lifetime_qalys_beyond(extra[:, h], qale, h + 1, rate) for h in range(n)])
        unrelated = g(scen, OUT.survivor_cost_admissions)
        unrelated_care = g(scen, OUT.survivor_cost_social_care)
        if base["level"] == "ics":
            with np.errstate(invalid="ignore", divide="ignore"):
                per_survivor[run_key] = (np.where(d_pop != 0, beyond / d_pop, 0.0),
                                         np.where(d_py != 0, unrelated / d_py, 0.0),
                                         np.where(d_py != 0, unrelated_care / d_py, 0.0))
    else:
        q_each, c_each, s_each = per_survivor.get(run_key, (np.zeros(n), np.zeros(n), np.zeros(n)))
        beyond, unrelated, unrelated_care = d_pop * q_each, d_py * c_each, d_py * s_each
    save_adm = g(comp, OUT.cost_admissions) - g(scen, OUT.cost_admissions)
    save_pss = g(comp, OUT.cost_social_care) - g(scen, OUT.cost_social_care)
    # the reference case leaves out the survivors' unrelated future costs: their admissions and social care
    save_nhs = save_adm + unrelated
    save_pss = save_pss + unrelated_care
    prog_cash = g(scen, OUT.cost_intervention) - g(comp, OUT.cost_intervention)
    cap_cash, parts = _capital(run, scen, comp, capital)
    prog = prog_cash - cap_cash + sum((annuitise(c, life, rate, horizon=n) for c, life in parts), np.zeros(n))
    dq = g(scen, OUT.qalys) - g(comp, OUT.qalys)
    adm = g(comp, OUT.emergency_admissions) - g(scen, OUT.emergency_admissions)
    productivity = _productivity(run, scen, comp, p) if run.has_bands(comp) else None
    budget_save = save_adm + save_pss - unrelated_care  # cash: survivors' costs are real spending
    rows = []

    def emit(label: str, vals: dict) -> None:
        rows.extend(base | {"period": label, "outcome": k, "value": float(v)} for k, v in vals.items())

    for h in range(1, n + 1):
        pv = lambda x, h=h: float(np.dot(x[:h], disc[:h]))  # noqa: E731
        c_prog, s_nhs, s_pss = pv(prog), pv(save_nhs), pv(save_pss)
        q = pv(dq) + float(beyond[h - 1])
        net = c_prog - s_nhs - s_pss
        pb = payback_year(budget_save[:h], prog_cash[:h], rate)
        vals = {OUT.cost_programme: c_prog, OUT.costs_avoided_nhs: s_nhs, OUT.costs_avoided_social_care: s_pss,
                OUT.costs_avoided: s_nhs + s_pss, OUT.net_cost: net,
                OUT.roi: (s_nhs + s_pss) / c_prog if c_prog > 0 else np.nan,
                OUT.roi_cash: pv(budget_save) / pv(prog_cash) if pv(prog_cash) > 0 else np.nan,
                OUT.budget_savings_cash_pv: pv(budget_save), OUT.budget_programme_cash_pv: pv(prog_cash),
                OUT.roi_qalys: roi_with_qalys(s_nhs + s_pss, q, QALY_VALUE_ROI, c_prog),
                OUT.payback_year: float(pb) if pb is not None else np.nan,
                OUT.admissions_avoided: float(adm[:h].sum()), OUT.qalys_gained: q,
                OUT.qalys_beyond_horizon: float(beyond[h - 1]),
                OUT.cost_per_admission_avoided: cost_per_outcome(net, float(adm[:h].sum())),
                OUT.cost_per_qaly: cost_per_outcome(net, q),
                **{f"nmb_{int(k)}": net_monetary_benefit(q, net, k) for k in NMB_THRESHOLDS},
                OUT.net_cost_nhs: c_prog - s_nhs, OUT.cost_per_qaly_nhs: cost_per_outcome(c_prog - s_nhs, q),
                OUT.nmb_20000_nhs: net_monetary_benefit(q, c_prog - s_nhs, 20_000.0),
                OUT.net_cost_with_unrelated: net + pv(unrelated) + pv(unrelated_care),
                OUT.cost_per_qaly_with_unrelated: cost_per_outcome(net + pv(unrelated) + pv(unrelated_care), q)}
        if productivity is not None:
            wider = net - pv(productivity)
            vals |= {OUT.productivity_gain: pv(productivity), OUT.net_cost_wider: wider,
                     OUT.cost_per_qaly_wider: cost_per_outcome(wider, q),
                     OUT.nmb_20000_wider: net_monetary_benefit(q, wider, 20_000.0)}
        y = h - 1
        budget = {OUT.budget_programme_cash: prog_cash[y], OUT.budget_savings_cash: budget_save[y],
                  OUT.budget_net_cash: prog_cash[y] - budget_save[y],
                  OUT.budget_net_cash_discounted: (prog_cash[y] - budget_save[y]) * disc[y]}
        emit(years[y], vals | budget)
        if h == n:
            emit(whole, vals | {OUT.budget_programme_cash: prog_cash.sum(), OUT.budget_savings_cash: budget_save.sum(),
                                OUT.budget_net_cash: (prog_cash - budget_save).sum(),
                                OUT.budget_net_cash_discounted: float(np.dot(prog_cash - budget_save, disc))})
    return rows


def _productivity(run: _Run, scen: str, comp: str, p: ParameterSet) -> np.ndarray:
    """Wider view, by year: extra person-years of working age x employment rate x output per worker-year,
    plus days off work avoided (admissions avoided x employment rate x days per admission)."""
    emp = np.asarray(p["economics.employment_rate_by_age"], dtype=float)
    # 2023/24 earnings re-priced to 2026/27 with the GDP deflator (not an NHS cost)
    value = float(p["economics.productivity_annual"]) * p["economics.price_index_2026_27"] / p["economics.price_index_2023_24"]
    days = float(p["economics.work_days_lost_per_admission"])
    out = np.zeros_like(run.zero)
    for b, e in zip(BANDS, emp, strict=True):
        extra_py = run.get(scen, OUT.person_years, b) - run.get(comp, OUT.person_years, b)
        fewer_adm = run.get(comp, OUT.emergency_admissions, b) - run.get(scen, OUT.emergency_admissions, b)
        out = out + e * value * (extra_py + fewer_adm * days / WORKING_DAYS)
    return out


# ratio outcomes: (numerator, denominator, QALYs valued in the numerator at this many £ each)
RATIOS = {OUT.cost_per_qaly: (OUT.net_cost, OUT.qalys_gained, 0.0),
          OUT.cost_per_qaly_nhs: (OUT.net_cost_nhs, OUT.qalys_gained, 0.0),
          OUT.cost_per_qaly_wider: (OUT.net_cost_wider, OUT.qalys_gained, 0.0),
          OUT.cost_per_qaly_with_unrelated: (OUT.net_cost_with_unrelated, OUT.qalys_gained, 0.0),
          OUT.cost_per_admission_avoided: (OUT.net_cost, OUT.admissions_avoided, 0.0),
          OUT.roi: (OUT.costs_avoided, OUT.cost_programme, 0.0),
          OUT.roi_qalys: (OUT.costs_avoided, OUT.cost_programme, QALY_VALUE_ROI),
          OUT.roi_cash: (OUT.budget_savings_cash_pv, OUT.budget_programme_cash_pv, 0.0)}
_ICERS = {k for k, (_, den, _) in RATIOS.items() if den not in (OUT.cost_programme, OUT.budget_programme_cash_pv)}


def ratios_of_means(summary: pd.DataFrame) -> pd.DataFrame:
    """A ratio's mean is the ratio of the means (the NICE way: mean cost / mean QALYs), not the mean of each
    draw's ratio, which one draw with QALYs near zero can swamp. An ICER's interval (the draws' own ratios)
    is kept only when at least 97.5% of draws gain at a positive cost (both lower bounds above zero);
    otherwise it is empty: read the net monetary benefit's interval and the acceptability curve instead."""
    keys = ["period", "level", "area", "stratum"]
    by = summary.set_index([*keys, "outcome"])
    out = summary.copy()
    for name, (num, den, valued) in RATIOS.items():
        rows = out.index[out["outcome"] == name]
        if not len(rows):
            continue
        idx = pd.MultiIndex.from_frame(out.loc[rows, keys])

        def get(outcome: str, col: str, idx=idx) -> np.ndarray:
            try:
                return by[col].reindex([(*k, outcome) for k in idx]).to_numpy(dtype=float)
            except KeyError:
                return np.full(len(idx), np.nan)
        n_mean = get(num, "mean") + (valued * get(OUT.qalys_gained, "mean") if valued else 0.0)
        d_mean = get(den, "mean")
        out.loc[rows, "mean"] = [cost_per_outcome(a, b) if name in _ICERS else (a / b if b > 0 else np.nan)
                                 for a, b in zip(n_mean, d_mean, strict=True)]
        if name in _ICERS:
            settled = (get(num, "lower") > 0) & (get(den, "lower") > 0)
            out.loc[rows, "lower"] = np.where(settled, out.loc[rows, "lower"], np.nan)
            out.loc[rows, "upper"] = np.where(settled, out.loc[rows, "upper"], np.nan)
    return out
