"""Synthesis of the residents of Staffordshire and Stoke-on-Trent at the start date.

Steps (docs/population.md explains each and which figures are assumptions):
1. ONS mid-2020 LSOA single-year-of-age counts, 90+ spread over 90..100, split by sex with the Census
   2021 age-specific sex ratios of the local authority.
2. Carried forward to the start date (projection.py), scaled if asked, integerised.
3. Geography (localities, neighbourhoods) sized on the carried-forward population.
4. Residents laid out neighbourhood by neighbourhood; smoking, long-term conditions (with diagnosis),
   frailty from EVIDENCE.md by age, sex and deprivation, shaped between LSOAs by the IoD2019
   comparative illness and disability ratio.
5. Households per LSOA to the Census 2021 counts; fuel-poor households to each LA's DESNZ rate,
   placed by the 'indoors' living-environment sub-domain and income deprivation.
6. A social network per neighbourhood.
Per-resident draws come from the counter-based streams, keyed on the resident id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..agents.cohort import CONDITIONS, Cohort
from ..config import LOCAL_AUTHORITIES, ICSConfig, load_config
from ..parameters import ParameterSet, load_parameters
from ..processes.common import (
    MAX_AGE,
    decile_position,
    decile_rr,
    expit,
    interp_age,
    logit,
)
from ..rng import Streams
from . import sources
from .geography import Geography, build_geography, restrict_geography
from .households import assign_lsoa
from .network import Network, build_network
from .projection import project, split_90plus, stochastic_round

SMOKING_AGE_EDGES = np.array([25, 35, 45, 55, 65])  # bands 18-24, 25-34, 35-44, 45-54, 55-64, 65+


@dataclass
class Population:
    config: ICSConfig
    params: ParameterSet
    geography: Geography
    cohort: Cohort
    household_lsoa: np.ndarray  # per household id: LSOA row in geography.lsoas
    household_fuel_poor: np.ndarray
    network: Network
    timings: dict[str, float] = field(default_factory=dict)

    # --- layout --------------------------------------------------------------------------------
    def neighbourhood_rows(self, nid: int) -> np.ndarray:
        return np.flatnonzero(self.cohort.neighbourhood == nid)

    def neighbourhood_bounds(self) -> dict[int, tuple[int, int]]:
        """Rows are contiguous per neighbourhood: {id: (start, stop)}."""
        nb = self.cohort.neighbourhood
        ids = self.geography.neighbourhoods["id"].to_numpy()
        starts = np.searchsorted(nb, ids, side="left")
        stops = np.searchsorted(nb, ids, side="right")
        return {int(i): (int(a), int(b)) for i, a, b in zip(ids, starts, stops, strict=True)}

    def subset(self, neighbourhoods: list[int]) -> Population:
        """The residents, households and ties of some neighbourhoods (ids unchanged)."""
        known = set(self.geography.neighbourhood_ids())
        bad = [n for n in neighbourhoods if n not in known]
        if bad:
            from ..errors import NeighsimError

            raise NeighsimError(f"unknown neighbourhood ids {bad}; known ids are {sorted(known)} "
                                "(see `neighsim population`)")
        bounds = self.neighbourhood_bounds()
        blocks = [bounds[n] for n in sorted(neighbourhoods)]
        rows = np.concatenate([np.arange(a, b) for a, b in blocks])
        indptr = [np.zeros(1, np.int64)]
        indices = []
        offset = 0
        for a, b in blocks:
            blk = self.network.block(a, b)
            indptr.append(blk.indptr[1:] + (indptr[-1][-1] if len(indptr) else 0))
            indices.append(blk.indices + offset)
            offset += b - a
        net = Network(np.concatenate(indptr), np.concatenate(indices).astype(np.int32), -1, -1)
        return Population(self.config, self.params, self.geography, self.cohort.subset(rows),
                          self.household_lsoa, self.household_fuel_poor, net, dict(self.timings))

    @property
    def n_households(self) -> int:
        hh = self.cohort.household
        return int(len(np.unique(hh[hh >= 0])))


def _female_share(las: pd.Series) -> np.ndarray:
    sex = sources.read("sex")
    tab = sex.pivot_table(index=["lad_name", "age"], columns="sex", values="count", aggfunc="sum")
    share = (tab["female"] / (tab["female"] + tab["male"])).unstack("age")  # LA x 0..90
    ages = np.minimum(np.arange(MAX_AGE + 1), 90)
    return share.loc[las.to_numpy()].to_numpy()[:, ages]


def build_population(config: ICSConfig | None = None, params: ParameterSet | None = None,
                     progress: bool = False) -> Population:
    cfg = config or load_config()
    p = params or load_parameters(cfg.parameters_dir())
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    streams = Streams(cfg.seed, 0)
    las = cfg.population.local_authorities or list(LOCAL_AUTHORITIES)

    # 1-2. Counts by LSOA x age x sex, carried forward.
    # Everything up to the resident layout is done for all nine LAs, so that ids, neighbourhoods and
    # draws do not depend on which LAs are asked for: Tamworth alone is Tamworth inside the ICS.
    raw = sources.read("population")
    raw = raw[raw["lad19_name"].isin(LOCAL_AUTHORITIES)].reset_index(drop=True)
    age_cols = [f"age_{a}" for a in range(90)] + ["age_90plus"]
    pop = split_90plus(raw[age_cols].to_numpy(float), p["demography.age90_decay"])
    imd = sources.read("imd").set_index("lsoa11_code")
    decile = raw["lsoa11_code"].map(imd["imd_decile"]).to_numpy(float)
    years = (cfg.population.start_date - cfg.population.base_date).days / 365.25
    expected = project(pop, _female_share(raw["lad19_name"]), decile, years, p,
                       cfg.population.net_migration_rate)
    lsoa_total = pd.Series(expected.sum(axis=(1, 2)), index=raw["lsoa11_code"])
    timings["project"] = time.perf_counter() - t0

    # 3. Geography on the full (unscaled) carried-forward population.
    geo_all = build_geography(cfg.geography, lsoa_total, list(LOCAL_AUTHORITIES), cfg.source or "configs/ics.yaml")
    lk_all = geo_all.lsoas
    order = raw.reset_index().set_index("lsoa11_code").loc[lk_all["lsoa11_code"], "index"].to_numpy()
    counts_all = stochastic_round(expected[order] * cfg.population.scale, streams.generator("synth.round"))
    hh_all = stochastic_round(household_counts(lk_all) * cfg.population.scale, streams.generator("synth.households"))
    res_offset = np.r_[0, np.cumsum(counts_all.sum(axis=(1, 2)))]
    hh_offset = np.r_[0, np.cumsum(hh_all)]
    keep = lk_all["lad19_name"].isin(las).to_numpy()
    geo = restrict_geography(geo_all, las, keep)
    lk = geo.lsoas
    counts = counts_all[keep]
    timings["geography"] = time.perf_counter() - t0

    # 4. Residents.
    n = int(counts.sum())
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    lsoa_row, rem = np.divmod(cell, (MAX_AGE + 1) * 2)
    age, male = np.divmod(rem, 2)
    c = Cohort(n)
    local = np.arange(n) - np.r_[0, np.cumsum(counts.sum(axis=(1, 2)))][lsoa_row]
    ids = (res_offset[:-1][keep][lsoa_row] + local).astype(np.int64)
    c["id"] = ids
    c["lsoa"] = lsoa_row
    c["male"] = male.astype(bool)
    c["age_months"] = age * 12 + (streams.uniform("synth.age", 0, ids) * 12).astype(np.int64)
    c["neighbourhood"] = lk["neighbourhood"].to_numpy()[lsoa_row]
    c["locality"] = lk["locality_id"].to_numpy()[lsoa_row]
    c["la"] = lk["la_id"].to_numpy()[lsoa_row]
    c["imd_decile"] = lk["imd_decile"].to_numpy()[lsoa_row]
    dec = c.imd_decile.astype(float)
    agef = c.age_months / 12.0
    _assign_smoking(c, p, streams, ids, agef, dec)
    cidr_resid = lk["cidr_resid"].to_numpy()[lsoa_row]
    _assign_conditions(c, p, streams, ids, agef, dec, cidr_resid)
    _assign_frailty(c, p, streams, ids, agef, dec)
    timings["attributes"] = time.perf_counter() - t0

    # 5. Households and fuel poverty.
    hh_counts = hh_all[keep]
    hh_start = hh_offset[:-1][keep]
    u = np.stack([streams.uniform(f"synth.household.{k}", 0, ids) for k in range(4)], axis=1)
    household = np.empty(n, dtype=np.int64)
    starts = np.searchsorted(lsoa_row, np.arange(len(lk) + 1))
    household_lsoa = np.full(int(hh_offset[-1]) + 1, -1, dtype=np.int32)  # global household id -> LSOA row
    agey = agef
    for row in range(len(lk)):
        a, b = starts[row], starts[row + 1]
        if b == a:
            continue
        local_hh, H = assign_lsoa(agey[a:b], u[a:b], int(hh_counts[row]))
        household[a:b] = local_hh + hh_start[row]
        household_lsoa[hh_start[row]: hh_start[row] + H] = row
    c["household"] = household
    household_fuel_poor = _assign_fuel_poverty(household_lsoa, lk, p, streams)
    c["fuel_poor"] = household_fuel_poor[household]
    timings["households"] = time.perf_counter() - t0

    # 6. Social network.
    net = build_network(household, agey, c.neighbourhood.astype(np.int64), ids, streams,
                        cfg.network.mean_extra_ties, cfg.network.age_sd)
    timings["network"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t0
    return Population(cfg, p, geo, c, household_lsoa, household_fuel_poor, net, timings)


def household_counts(lk: pd.DataFrame) -> np.ndarray:
    """Census 2021 households per 2011 LSOA. Unchanged codes map directly; for LSOAs split or merged
    in 2021, the MSOA's unmatched 2021 households are shared among its unmatched 2011 LSOAs by
    population (no official LSOA11->LSOA21 file was available)."""
    hh = sources.read("households")
    hh = hh.assign(msoa=hh["lsoa21_name"].str[:-1].str.strip())
    direct = hh.set_index("lsoa21_code")["tenure_total_households"]
    out = lk["lsoa11_code"].map(direct)
    unmatched11 = lk[out.isna()]
    if len(unmatched11):
        pool = hh[~hh["lsoa21_code"].isin(lk["lsoa11_code"])].groupby("msoa")["tenure_total_households"].sum()
        pop = sources.read("population").set_index("lsoa11_code")["total_population"]
        w = unmatched11["lsoa11_code"].map(pop)
        share = w / w.groupby(unmatched11["msoa11_name"]).transform("sum")
        out.loc[unmatched11.index] = unmatched11["msoa11_name"].map(pool).to_numpy() * share.to_numpy()
    if out.isna().any():
        from ..errors import NeighsimError

        raise NeighsimError(f"no Census 2021 household count for LSOAs {lk.loc[out.isna(), 'lsoa11_code'].tolist()}")
    return out.to_numpy(float)


def _band(agef: np.ndarray) -> np.ndarray:
    return np.searchsorted(SMOKING_AGE_EDGES, agef, side="right")


def smoking_decile_factor(decile: np.ndarray, p: ParameterSet) -> np.ndarray:
    """Prevalence ratio of a decile to the mean of deciles (geometric interpolation of ONS 1 and 10)."""
    d1, d10 = p["smoking.prevalence_decile1"], p["smoking.prevalence_decile10"]
    prev = d1 * (d10 / d1) ** ((np.arange(1, 11) - 1) / 9.0)
    return (prev / prev.mean())[np.asarray(decile, dtype=int) - 1]


def _assign_smoking(c: Cohort, p: ParameterSet, s: Streams, ids, agef, dec) -> None:
    adult = agef >= 18
    band = _band(agef)
    cur = p["smoking.prevalence_by_age"][band] * smoking_decile_factor(dec, p)
    ex = p["smoking.ex_smoker_by_age"][band]
    u = s.uniform("synth.smoking", 0, ids)
    status = np.where(u < cur, 1, np.where(u < cur + ex, 2, 0))
    c["smoking"] = np.where(adult, status, 0)
    # Ex-smokers quit between 0 and (age - 18) years ago, uniformly (assumption).
    uq = s.uniform("synth.quit_time", 0, ids)
    months_ago = (uq * np.maximum(agef - 18, 0.5) * 12).astype(np.int64)
    c["quit_step"] = np.where(c.smoking == 2, -1 - np.minimum(months_ago, 30000), -32000)


def smoking_or(smoking: np.ndarray, cur: np.ndarray, ex: np.ndarray, mix=(0.13, 0.25)) -> np.ndarray:
    """Odds multiplier for smoking relative to an England-average smoking mix (so tables stay averages)."""
    ref = (1 - mix[0] - mix[1]) + mix[0] * cur + mix[1] * ex
    return np.where(smoking == 1, cur, np.where(smoking == 2, ex, 1.0)) / ref


def _assign_conditions(c: Cohort, p: ParameterSet, s: Streams, ids, agef, dec, cidr_resid) -> None:
    mids = p["conditions.age_midpoints"]
    shift = p["conditions.deprivation_age_shift"] * decile_position(dec)
    eff_age = agef + shift
    undiag = p["conditions.undiagnosed_share"]
    for k, cond in enumerate(CONDITIONS):
        prev = interp_age(eff_age, mids, p[f"conditions.prevalence_{'hypertension' if cond == 'htn' else cond}"])
        sex_or = p["conditions.sex_or_male"][k]
        lo = logit(prev) + np.where(c.male, 0.5, -0.5) * np.log(sex_or)
        lo += np.log(smoking_or(c.smoking, p["conditions.smoking_hr_current"][k], p["conditions.smoking_hr_ex"][k]))
        lo += p["conditions.cidr_exponent"] * cidr_resid
        if cond == "copd":
            lo += np.log(decile_rr(dec, p["conditions.copd_deprivation_rr"]))
        has = s.uniform(f"synth.{cond}", 0, ids) < np.where(prev > 0, expit(lo), 0.0)
        c[cond] = has
        c[f"{cond}_dx"] = has & (s.uniform(f"synth.{cond}.dx", 0, ids) >= undiag[k])
    lam = interp_age(eff_age, mids, p["conditions.other_ltc_mean"])
    from ..rng import poisson_from_uniform

    c["other_ltcs"] = np.minimum(poisson_from_uniform(lam, s.uniform("synth.other_ltcs", 0, ids)), 8)


FRAILTY_AGE_EDGES = np.array([50, 65, 75, 85])


def _assign_frailty(c: Cohort, p: ParameterSet, s: Streams, ids, agef, dec) -> None:
    band = np.searchsorted(FRAILTY_AGE_EDGES, agef, side="right")
    prev = p["frailty.any_frailty_by_age"][band]
    nltc = c.ltc_count().astype(float)
    # centre the condition odds ratio on the England-average count at this age (population-independent)
    mids = p["conditions.age_midpoints"]
    ref_ltc = sum(interp_age(agef, mids, p[f"conditions.prevalence_{k}"])
                  for k in ("hypertension", "cvd", "copd", "diabetes")) + interp_age(agef, mids, p["conditions.other_ltc_mean"])
    lo = logit(prev) + np.log(p["frailty.ltc_or"]) * (nltc - ref_ltc)
    lo += np.log(p["frailty.deprivation_or_decile1"]) * decile_position(dec)
    frail = (s.uniform("synth.frailty", 0, ids) < np.where(prev > 0, expit(lo), 0.0))
    # Severity among the frail: shares at 65+, leaning severe with age and conditions.
    sev = p["frailty.severity_among_frail"]
    tilt = 0.02 * np.clip(agef - 75, -25, 20) + 0.08 * (nltc - 1.5)
    cum_mild = expit(logit(sev[0]) - tilt)
    cum_mod = expit(logit(sev[0] + sev[1]) - tilt)
    u = s.uniform("synth.frailty.severity", 0, ids)
    cat = np.where(u < cum_mild, 1, np.where(u < cum_mod, 2, 3))
    c["frailty"] = np.where(frail, cat, 0)


def _assign_fuel_poverty(household_lsoa: np.ndarray, lk: pd.DataFrame, p: ParameterSet,
                         s: Streams) -> np.ndarray:
    """Exactly round(rate x households) fuel-poor households per LA, weighted towards LSOAs with poor
    indoor living environment and income deprivation (Efraimidis-Spirakis weighted sampling)."""
    from .sources import N_LSOA_RANKS

    fuel = sources.read("fuel").set_index("lad_name")
    rate = (fuel["fuel_poor_households"] / fuel["households"])
    pct_in = lk["indoors_subdomain_rank"].to_numpy() / N_LSOA_RANKS
    pct_inc = lk["income_rank"].to_numpy() / N_LSOA_RANKS
    logw = -(p["housing.fuel_poverty_indoors_weight"] * pct_in + p["housing.fuel_poverty_income_weight"] * pct_inc)
    built = np.flatnonzero(household_lsoa >= 0)
    w = np.exp(logw)[household_lsoa[built]]
    key = np.full(len(household_lsoa), -np.inf)
    key[built] = np.log(np.maximum(s.uniform("synth.fuel_poverty", 0, built), 1e-300)) / w
    la_of_hh = np.full(len(household_lsoa), "", dtype=object)
    la_of_hh[built] = lk["lad19_name"].to_numpy()[household_lsoa[built]]
    out = np.zeros(len(household_lsoa), dtype=bool)
    for la in np.unique(la_of_hh[built]):
        members = np.flatnonzero(la_of_hh == la)
        k = int(round(rate[la] * len(members)))
        out[members[np.argsort(-key[members], kind="stable")[:k]]] = True
    return out
