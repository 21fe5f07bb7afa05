"""Emigration, births and in-migration (ageing is done once at the start of each step by the model).

Migration by age (population/migration.py): residents leave at the gross rate (Census 2021) plus any
net outflow of their LA and age in the ONS 2022-based projection; in-migrants arrive in each
neighbourhood at the gross rate plus any net inflow, by single year of age, so that net migration by
age follows the projection. An in-migrant takes the current health of a resident of the same age
in the neighbourhood's starting population (so they resemble residents of that age there) and that
resident's LSOA; they join no household and have no social ties (assumption). Newborns join the
mother's household and LSOA.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..population.migration import net_migration_rates
from ..rng import poisson_from_uniform
from .base import Process, Result, Rows
from .kernels import JIT, U, candidates, uniform

NEW_ID_BASE = 1 << 40
NBHD_ID_SHIFT = 28
COPY_FIELDS = ("age_months", "male", "lsoa", "neighbourhood", "locality", "la", "imd_decile", "smoking",
               "quit_step", "htn", "cvd", "copd", "diabetes", "htn_dx", "cvd_dx", "copd_dx", "diabetes_dx",
               "other_ltcs", "frailty")
INHERIT_FROM_MOTHER = ("lsoa", "neighbourhood", "locality", "la", "imd_decile", "household", "fuel_poor")


@nb.njit(**JIT)
def _leavers(lo, hi, out, ids, alive, la, age_years, key, monthly):
    """Residents leaving this month: monthly[la, age] (the chance, by the resident's LA and age)."""
    k = 0
    for r in range(U(lo), U(hi)):
        if alive[r] and uniform(ids[r], key) < monthly[U(la[r]), U(min(age_years[r], 100))]:
            out[k] = r
            k += 1
    return k


@nb.njit(**JIT)
def _alive_by_age(alive, neighbourhood, position, age_years, out):
    """Living residents per (neighbourhood position, age 0..100), in one pass over the rows."""
    for r in range(U(alive.size)):
        if alive[r]:
            out[U(position[U(neighbourhood[r])]), U(min(age_years[r], 100))] += 1


@nb.njit(**JIT)
def _templates(new_ids, ages, lo, hi, alive, age_years, key):
    """For each in-migrant, a living resident of its age in its neighbourhood's starting rows [lo, hi):
    tried at random (counter-based draws), widening the age to +/-1, +/-3 and +/-10 years if none is
    found, then any living resident; -1 if the block has nobody alive."""
    out = np.full(new_ids.size, -1, np.int64)
    for i in range(U(new_ids.size)):
        size = hi[i] - lo[i]
        for k in range(4000):
            r = lo[i] + np.int64(uniform(np.uint64(new_ids[i]) * np.uint64(4096) + np.uint64(k), key) * size)
            width = 0 if k < 1000 else (1 if k < 2000 else (3 if k < 3000 else 10))
            if alive[r] and abs(np.int64(min(age_years[r], 100)) - ages[i]) <= width:
                out[i] = r
                break
        if out[i] < 0:
            for r in range(U(lo[i]), U(hi[i])):
                if alive[r]:
                    out[i] = r
                    break
    return out


@nb.njit(**JIT)
def _mothers(lo, hi, out, ids, alive, male, age_years, key, asfr_month):
    k = 0
    for r in range(U(lo), U(hi)):
        p = asfr_month[U(min(age_years[r], 120))]
        if p > 0.0 and alive[r] and not male[r] and uniform(ids[r], key) < p:
            out[k] = r
            k += 1
    return k


def migration_rates(model) -> tuple[np.ndarray, np.ndarray]:
    """Monthly out- and in-migration chances per resident by [LA of this model, age 0..100]."""
    gross = model.params["demography.emigration_rate"]
    net = net_migration_rates(model.params, model.population.geography.las)
    return (gross + np.maximum(-net, 0.0)) / 12.0, (gross + np.maximum(net, 0.0)) / 12.0


class Emigration(Process):
    name = "emigration"
    description = ("residents leave at the Census 2021 gross rate plus the net outflow of their LA and age "
                   "in the ONS 2022-based projection")
    EMIGRANTS = Result("emigrants", "People leaving the area", "people")
    results = (EMIGRANTS,)
    streams = ("migration.out",)

    def prepare(self, model) -> None:
        self.monthly, _ = migration_rates(model)

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        out = candidates(_leavers, rows, c.n, c.id, c.alive, c.la, model.age,
                         model.streams.key_u64("migration.out", model.t), self.monthly)
        if len(out):
            c.alive[out] = False
            model.record(self.EMIGRANTS.name, out)


class Births(Process):
    name = "births"
    description = "women aged 15-44 give birth at age-specific fertility rates; newborns placed by the model"
    streams = ("births",)

    def prepare(self, model) -> None:
        self.asfr_month = np.zeros(121)
        self.asfr_month[15:45] = np.repeat(model.params["demography.asfr"], 5) / 12.0
        self.mothers: list[np.ndarray] = []

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        mothers = candidates(_mothers, rows, c.n, c.id, c.alive, c.male, model.age,
                             model.streams.key_u64("births", model.t), self.asfr_month)
        if len(mothers):
            self.mothers.append(mothers)

    def take_mothers(self) -> np.ndarray:
        """This month's mothers (for the newborns process), once."""
        out = np.concatenate(self.mothers) if self.mothers else np.empty(0, dtype=np.int64)
        self.mothers.clear()
        return out


class Newborns(Process):
    name = "newborns"
    level = "model"
    description = "the month's newborns join their mother's household (ids keyed by neighbourhood)"
    BIRTHS = Result("births", "Births", "people")
    results = (BIRTHS,)
    streams = ("births.sex",)

    def apply(self, model, rows: Rows | None = None) -> None:
        mothers = model.process("births").take_mothers()
        if len(mothers) == 0:
            return
        c = model.cohort
        mothers = mothers[np.lexsort((c.id[mothers], c.neighbourhood[mothers]))]
        ids = model.new_ids(c.neighbourhood[mothers])
        male = model.streams.uniform("births.sex", model.t, c.id[mothers]) < model.params["demography.male_birth_share"]
        values = {f: c[f][mothers] for f in INHERIT_FROM_MOTHER}
        new = c.append(len(mothers), id=ids, male=male, age_months=np.zeros(len(mothers), np.int16),
                       entry_step=np.full(len(mothers), model.t, np.int16), **values)
        model.on_new_rows(new)
        model.record(self.BIRTHS.name, new)


class Immigration(Process):
    name = "immigration"
    level = "model"
    description = ("in-migrants arrive per neighbourhood and single year of age (Census gross rate plus the "
                   "projection's net inflow), resembling residents of that age there")
    IMMIGRANTS = Result("immigrants", "People moving into the area", "people")
    results = (IMMIGRANTS,)
    streams = ("migration.in", "migration.template", "migration.month")

    def prepare(self, model) -> None:
        _, monthly = migration_rates(model)
        c = model.cohort
        nbs = np.asarray(model.neighbourhoods)
        self.position = np.zeros(int(nbs.max()) + 1, dtype=np.int64)
        self.position[nbs] = np.arange(len(nbs))
        # each neighbourhood lies in one LA: its row of the rates
        first = np.array([model.initial_blocks[n][0] for n in nbs])
        self.monthly = monthly[c.la[first].astype(np.int64)]  # [neighbourhood position, age]
        # each neighbourhood's starting rows, where templates are looked for
        self.block_lo = first.astype(np.int64)
        self.block_hi = np.array([model.initial_blocks[n][1] for n in nbs], dtype=np.int64)

    def apply(self, model, rows: Rows | None = None) -> None:
        c = model.cohort
        nbs = np.asarray(model.neighbourhoods)
        alive = np.zeros((len(nbs), 101), dtype=np.int64)
        _alive_by_age(c.alive[: c.n], c.neighbourhood[: c.n], self.position, model.age, alive)
        cell_ids = (nbs[:, None].astype(np.uint64) * np.uint64(128) + np.arange(101, dtype=np.uint64)).ravel()
        counts = poisson_from_uniform((self.monthly * alive).ravel(),
                                      model.streams.uniform("migration.in", model.t, cell_ids))
        if counts.sum() == 0:
            return
        cell = np.repeat(np.arange(counts.size), counts)
        pos, age = cell // 101, cell % 101
        nbhd = nbs[pos]
        ids = model.new_ids(nbhd)
        lo, hi = self.block_lo[pos], self.block_hi[pos]
        template = _templates(ids, age.astype(np.int64), lo, hi, c.alive, model.age,
                              model.streams.key_u64("migration.template", model.t))
        ok = template >= 0
        ids, age, template = ids[ok], age[ok], template[ok]
        if len(ids) == 0:
            return
        values = {f: c[f][template] for f in COPY_FIELDS}
        month = (model.streams.uniform("migration.month", model.t, ids) * 12).astype(np.int64)
        values["age_months"] = (age * 12 + month).astype(np.int16)
        new = c.append(len(ids), id=ids, entry_step=np.full(len(ids), model.t, np.int16), **values)
        model.on_new_rows(new)
        model.record(self.IMMIGRANTS.name, new)
