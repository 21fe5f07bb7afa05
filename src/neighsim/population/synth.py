"""Synthesis of the residents of Staffordshire and Stoke-on-Trent at the start date.

Steps (docs/population.md explains each and which figures are assumptions):
1. ONS mid-2020 LSOA single-year-of-age counts, 90+ spread over 90..100, split by sex with the Census
   2021 age-specific sex ratios of the local authority.
2. Carried forward to the start date (projection.py, with net migration by age from the ONS
   projection, migration.py), scaled if asked, integerised.
3. Geography (localities, neighbourhoods) sized on the carried-forward population.
4. Residents of the whole ICS laid out neighbourhood by neighbourhood; smoking, long-term conditions
   (with diagnosis) and frailty (attributes.py) by age, sex and deprivation, shaped between LSOAs by
   the IoD2019 comparative illness and disability ratio, with the cells' targets for the engine.
5. Households per LSOA to the Census 2021 counts; fuel-poor households to each LA's DESNZ rate,
   placed by the 'indoors' living-environment sub-domain and income deprivation; then the LAs (and
   neighbourhoods) asked for are kept (the whole ICS stays as the engine's reference,
   processes/reference.py).
6. A social network per neighbourhood, built only for the neighbourhoods kept.
Per-resident draws come from the counter-based streams, keyed on the resident id (the network's on
the resident id and stub number, paired within each neighbourhood), so a build of some neighbourhoods
gives exactly their residents, households and ties in the whole-ICS build (tested).

Steps 1-5 run for the whole ICS in every build: the engine normalises its rates on every starting
resident (processes/reference.py), the frailty curve is solved on all of them, and fuel-poor
households are drawn per LA. Only the network (over half of a whole build) is per neighbourhood.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..agents.cohort import Cohort
from ..config import LOCAL_AUTHORITIES, ICSConfig, load_config
from ..errors import NeighsimError
from ..parameters import ParameterSet, load_parameters
from ..processes.common import MAX_AGE
from ..processes.reference import StartingPopulation
from ..rng import Streams
from . import sources
from .attributes import assign_health
from .geography import Geography, build_geography, restrict_geography
from .households import assign_lsoa
from .migration import align_to_snpp, net_migration_rates, snpp_at
from .network import Network, build_network
from .projection import project, split_90plus, stochastic_round


@dataclass
class Population:
    config: ICSConfig
    params: ParameterSet
    geography: Geography
    cohort: Cohort
    household_lsoa: np.ndarray  # per household id: LSOA row in geography.lsoas
    household_fuel_poor: np.ndarray
    network: Network
    reference: StartingPopulation  # the whole ICS at the start: what rates are normalised on
    timings: dict[str, float] = field(default_factory=dict)
    built: tuple[int, ...] | None = None  # the neighbourhoods whose residents `cohort` holds; None: all

    # --- layout --------------------------------------------------------------------------------
    def neighbourhood_rows(self, nid: int) -> np.ndarray:
        return np.flatnonzero(self.cohort.neighbourhood == nid)

    def neighbourhood_bounds(self) -> dict[int, tuple[int, int]]:
        """Rows are contiguous per neighbourhood: {id: (start, stop)} (start == stop for one not built)."""
        nb = self.cohort.neighbourhood
        ids = self.geography.neighbourhoods["id"].to_numpy()
        starts = np.searchsorted(nb, ids, side="left")
        stops = np.searchsorted(nb, ids, side="right")
        return {int(i): (int(a), int(b)) for i, a, b in zip(ids, starts, stops, strict=True)}

    def holds(self, neighbourhoods: Iterable[int] | None) -> bool:
        """Whether the residents of these neighbourhoods (None: of every one) are here."""
        if self.built is None:
            return True
        return neighbourhoods is not None and set(neighbourhoods) <= set(self.built)

    def subset(self, neighbourhoods: list[int]) -> Population:
        """The residents, households and ties of some neighbourhoods (ids unchanged)."""
        _check_ids(self.geography, neighbourhoods)
        if not self.holds(neighbourhoods):
            raise NeighsimError(f"neighbourhoods {sorted(set(neighbourhoods) - set(self.built or ()))} were not "
                                f"built in this population (it holds {list(self.built or ())})")
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
                          self.household_lsoa, self.household_fuel_poor, net, self.reference,
                          dict(self.timings), tuple(sorted(set(neighbourhoods))))

    def select(self, neighbourhoods: Iterable[int] | None = None, progress: bool = False) -> Population:
        """The same starting residents with other neighbourhoods kept (None: every one), without
        synthesising anything again: their rows of the whole-ICS start and their network (what a build
        asked for them gives)."""
        nbs = None if neighbourhoods is None else tuple(neighbourhoods)
        stages = _Stages(progress, 1)
        try:
            return _assemble(self.config, self.params, self.geography, self.reference, self.household_lsoa,
                             self.household_fuel_poor, nbs, stages, {}, time.perf_counter())
        finally:
            stages.close()

    @property
    def n_households(self) -> int:
        hh = self.cohort.household
        return int(len(np.unique(hh[hh >= 0])))


class UnknownNeighbourhoods(NeighsimError):
    """Neighbourhood ids the geography (of the configuration's LAs) does not have."""

    def __init__(self, bad: list[int], known: list[int]):
        self.bad, self.known = bad, known
        super().__init__(f"unknown neighbourhood ids {bad}; known ids are {known} (see `neighsim population`)")


def _check_ids(geo: Geography, neighbourhoods: Iterable[int]) -> None:
    known = set(geo.neighbourhood_ids())
    bad = [n for n in neighbourhoods if n not in known]
    if bad:
        raise UnknownNeighbourhoods(bad, sorted(known))


class _Stages:
    """Progress of a build on stderr: a bar over its stages, named as they start (nothing without
    progress)."""

    def __init__(self, progress: bool, total: int):
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="population", unit="stage", file=sys.stderr, leave=False,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")

    def start(self, what: str, first: bool = False) -> None:
        """Stage `what` begins (and the one before it is done)."""
        if self.bar is not None:
            if not first:
                self.bar.update(1)
            self.bar.set_postfix_str(what)

    def close(self) -> None:
        if self.bar is not None:
            if self.bar.n < self.bar.total:
                self.bar.set_postfix_str("done")
                self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()


def _female_share(las: pd.Series) -> np.ndarray:
    sex = sources.read("sex")
    tab = sex.pivot_table(index=["lad_name", "age"], columns="sex", values="count", aggfunc="sum")
    share = (tab["female"] / (tab["female"] + tab["male"])).unstack("age")  # LA x 0..90
    ages = np.minimum(np.arange(MAX_AGE + 1), 90)
    return share.loc[las.to_numpy()].to_numpy()[:, ages]


def build_population(config: ICSConfig | None = None, params: ParameterSet | None = None,
                     progress: bool = False, neighbourhoods: Iterable[int] | None = None) -> Population:
    """The residents at the start date of the configuration's LAs, or only of `neighbourhoods` (ids of
    the whole-ICS geography, `neighsim population`): exactly their residents, households and ties in the
    whole build, with the whole ICS as the reference and the geography of the configuration's LAs.
    `progress`: a bar of the stages on stderr."""
    cfg = config or load_config()
    stages = _Stages(progress, 5)
    try:
        stages.start("projection" if params is not None else "parameters and projection", first=True)
        p = params or load_parameters(cfg.parameters_dir())
        return _build(cfg, p, None if neighbourhoods is None else tuple(neighbourhoods), stages)
    finally:
        stages.close()


def _build(cfg: ICSConfig, p: ParameterSet, neighbourhoods: tuple[int, ...] | None, stages: _Stages
           ) -> Population:
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
    las_all = list(LOCAL_AUTHORITIES)
    la_of_row = raw["lad19_name"].map({la: i for i, la in enumerate(las_all)}).to_numpy()
    migration = net_migration_rates(p, las_all)[la_of_row]
    expected = project(pop, _female_share(raw["lad19_name"]), decile, years, p, migration)
    expected = align_to_snpp(expected, la_of_row, las_all, cfg.population.start_date, cfg.source or "configs/ics.yaml")
    # neighbourhoods are drawn on published counts (mid-2020 by LSOA, scaled to the ONS projection's
    # mid-2026 total of each LA), not on the model's own carried-forward ones, so that a calibrated
    # parameter folder (mortality, migration) never moves a neighbourhood's boundary
    mid_year = dt.date(cfg.population.start_date.year, 6, 30)
    la_total = np.array([snpp_at(la, mid_year, cfg.source or "configs/ics.yaml").sum() for la in las_all])
    published = pop.sum(axis=1)
    lsoa_total = pd.Series(published * (la_total / np.bincount(la_of_row, weights=published))[la_of_row],
                           index=raw["lsoa11_code"])
    timings["project"] = time.perf_counter() - t0

    # 3. Geography on the full (unscaled) published population of every LSOA.
    stages.start("geography")
    geo_all = build_geography(cfg.geography, lsoa_total, list(LOCAL_AUTHORITIES), cfg.source or "configs/ics.yaml")
    lk_all = geo_all.lsoas
    order = raw.reset_index().set_index("lsoa11_code").loc[lk_all["lsoa11_code"], "index"].to_numpy()
    counts_all = stochastic_round(expected[order] * cfg.population.scale, streams.generator("synth.round"))
    hh_all = stochastic_round(household_counts(lk_all) * cfg.population.scale, streams.generator("synth.households"))
    res_offset = np.r_[0, np.cumsum(counts_all.sum(axis=(1, 2)))]
    hh_offset = np.r_[0, np.cumsum(hh_all)]
    keep = lk_all["lad19_name"].isin(las).to_numpy()
    geo = restrict_geography(geo_all, las, keep)
    if neighbourhoods is not None:
        _check_ids(geo, neighbourhoods)  # before the work, not after it
    timings["geography"] = time.perf_counter() - t0

    # 4-5. Residents of the whole ICS, their health, households and fuel poverty: rates are normalised
    # on all of them (processes/reference.py), and an LA built alone gets the same residents.
    stages.start(f"residents and health of the whole ICS ({int(counts_all.sum()):,})")
    start = _residents(counts_all, res_offset, lk_all, p, streams)
    stages.start("households")
    household_lsoa, household_fuel_poor = _households(start.cohort, lk_all, hh_all, hh_offset, p, streams)
    timings["attributes"] = time.perf_counter() - t0
    if not keep.all():
        new_row = np.where(keep, np.cumsum(keep) - 1, -1)
        household_lsoa = np.where(household_lsoa >= 0, new_row[np.maximum(household_lsoa, 0)], -1).astype(np.int32)
    return _assemble(cfg, p, geo, start, household_lsoa, household_fuel_poor, neighbourhoods, stages, timings, t0)


def _assemble(cfg: ICSConfig, p: ParameterSet, geo: Geography, start: StartingPopulation, household_lsoa: np.ndarray,
              household_fuel_poor: np.ndarray, neighbourhoods: Iterable[int] | None, stages: _Stages,
              timings: dict[str, float], t0: float) -> Population:
    """The residents of the geography's LAs (and of `neighbourhoods` only, if given) taken from the
    whole-ICS start, and their social network (6)."""
    built = None
    if neighbourhoods is not None:
        built = tuple(sorted({int(n) for n in neighbourhoods}))
        _check_ids(geo, built)
        if set(built) == set(geo.neighbourhood_ids()):
            built = None  # every one: the whole build
    keep = start.lsoas["lad19_name"].isin(geo.las).to_numpy()
    sc = start.cohort
    if keep.all() and built is None:
        c = sc
    else:
        chosen = keep[sc.lsoa]
        if built is not None:
            chosen &= np.isin(sc.neighbourhood, built)
        c = sc.subset(np.flatnonzero(chosen))
        if not keep.all():
            new_row = np.where(keep, np.cumsum(keep) - 1, -1)
            c["lsoa"] = new_row[c.lsoa]
            c["la"] = geo.lsoas["la_id"].to_numpy()[c.lsoa]
    timings["households"] = time.perf_counter() - t0

    # 6. Social network, of the residents kept only (ties never cross neighbourhoods).
    n_nb = len(built) if built is not None else len(geo.neighbourhoods)
    stages.start(f"social network ({n_nb} neighbourhood{'s' if n_nb != 1 else ''}, {c.n:,} residents)")
    net = build_network(c.household.astype(np.int64), c.age_months / 12.0, c.neighbourhood.astype(np.int64), c.id,
                        Streams(cfg.seed, 0), cfg.network.mean_extra_ties, cfg.network.age_sd)
    timings["network"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t0
    return Population(cfg, p, geo, c, household_lsoa, household_fuel_poor, net, start, timings, built)


def _residents(counts: np.ndarray, res_offset: np.ndarray, lk: pd.DataFrame, p: ParameterSet,
               streams: Streams) -> StartingPopulation:
    """Residents of the counts [LSOA, age, sex] laid out LSOA by LSOA, with their health."""
    n = int(counts.sum())
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    lsoa_row, rem = np.divmod(cell, (MAX_AGE + 1) * 2)
    age, male = np.divmod(rem, 2)
    c = Cohort(n)
    local = np.arange(n) - np.r_[0, np.cumsum(counts.sum(axis=(1, 2)))][lsoa_row]
    ids = (res_offset[:-1][lsoa_row] + local).astype(np.int64)
    c["id"] = ids
    c["lsoa"] = lsoa_row
    c["male"] = male.astype(bool)
    c["age_months"] = age * 12 + (streams.uniform("synth.age", 0, ids) * 12).astype(np.int64)
    for name, col in (("neighbourhood", "neighbourhood"), ("locality", "locality_id"), ("la", "la_id"),
                      ("imd_decile", "imd_decile")):
        c[name] = lk[col].to_numpy()[lsoa_row]
    targets, fit = assign_health(c, p, streams, ids, c.age_months / 12.0, c.imd_decile.astype(float),
                               lk["cidr_resid"].to_numpy()[lsoa_row])
    return StartingPopulation(c, lk, targets, fit)


def _households(c: Cohort, lk: pd.DataFrame, hh_counts: np.ndarray, hh_offset: np.ndarray, p: ParameterSet,
                streams: Streams) -> tuple[np.ndarray, np.ndarray]:
    """Households per LSOA to the Census counts, and fuel poverty; returns household id -> LSOA row and
    household id -> fuel poor."""
    ids, lsoa_row, agey = c.id, c.lsoa.astype(np.int64), c.age_months / 12.0
    u = np.stack([streams.uniform(f"synth.household.{k}", 0, ids) for k in range(4)], axis=1)
    household = np.empty(c.n, dtype=np.int64)
    starts = np.searchsorted(lsoa_row, np.arange(len(lk) + 1))
    household_lsoa = np.full(int(hh_offset[-1]) + 1, -1, dtype=np.int32)  # global household id -> LSOA row
    for row in range(len(lk)):
        a, b = starts[row], starts[row + 1]
        if b == a:
            continue
        local_hh, H = assign_lsoa(agey[a:b], u[a:b], int(hh_counts[row]))
        household[a:b] = local_hh + hh_offset[row]
        household_lsoa[hh_offset[row]: hh_offset[row] + H] = row
    c["household"] = household
    household_fuel_poor = _assign_fuel_poverty(household_lsoa, lk, p, streams)
    c["fuel_poor"] = household_fuel_poor[household]
    return household_lsoa, household_fuel_poor


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
    names, la_of_lsoa = np.unique(lk["lad19_name"].to_numpy(), return_inverse=True)  # LA codes, not strings
    la_of_hh = np.full(len(household_lsoa), -1, dtype=np.int64)
    la_of_hh[built] = la_of_lsoa[household_lsoa[built]]
    out = np.zeros(len(household_lsoa), dtype=bool)
    for code in np.unique(la_of_hh[built]):
        members = np.flatnonzero(la_of_hh == code)
        k = int(round(rate[names[code]] * len(members)))
        out[members[np.argsort(-key[members], kind="stable")[:k]]] = True
    return out
