"""Emigration, births and in-migration (ageing is done once at the start of each step by the model).

Assumptions (docs/model.md): residents leave at a flat gross rate; in-migrants arrive in each
neighbourhood so that net migration equals the configured rate, and take the current state of a
randomly chosen resident of the neighbourhood's starting population (so they resemble its residents);
they join no household and have no social ties. Newborns join the mother's household and LSOA.
"""

from __future__ import annotations

import numba as nb
import numpy as np

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
def _leavers(lo, hi, out, ids, alive, key, p):
    k = 0
    for r in range(U(lo), U(hi)):
        if alive[r] and uniform(ids[r], key) < p:
            out[k] = r
            k += 1
    return k


@nb.njit(**JIT)
def _mothers(lo, hi, out, ids, alive, male, age_years, key, asfr_month):
    k = 0
    for r in range(U(lo), U(hi)):
        p = asfr_month[U(min(age_years[r], 120))]
        if p > 0.0 and alive[r] and not male[r] and uniform(ids[r], key) < p:
            out[k] = r
            k += 1
    return k


class Emigration(Process):
    name = "emigration"
    description = "residents leave the ICS at a flat gross rate (assumption)"
    EMIGRANTS = Result("emigrants", "People leaving the area", "people")
    results = (EMIGRANTS,)
    streams = ("migration.out",)

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        out = candidates(_leavers, rows, c.n, c.id, c.alive, model.streams.key_u64("migration.out", model.t),
                         model.params["demography.emigration_rate"] / 12.0)
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
    description = "in-migrants arrive per neighbourhood (net migration rate) resembling its residents"
    IMMIGRANTS = Result("immigrants", "People moving into the area", "people")
    results = (IMMIGRANTS,)
    streams = ("migration.in", "migration.template")

    def apply(self, model, rows: Rows | None = None) -> None:
        c = model.cohort
        p = model.params
        rate = (p["demography.emigration_rate"] + model.config.population.net_migration_rate) / 12.0
        nb_ids = np.asarray(model.neighbourhoods)
        alive_by_nb = model.alive_by_neighbourhood
        lam = rate * alive_by_nb
        counts = poisson_from_uniform(lam, model.streams.uniform("migration.in", model.t, nb_ids.astype(np.uint64)))
        if counts.sum() == 0:
            return
        nbhd = np.repeat(nb_ids, counts)
        ids = model.new_ids(nbhd)
        starts = np.array([model.initial_blocks[n][0] for n in nbhd])
        sizes = np.array([model.initial_blocks[n][1] - model.initial_blocks[n][0] for n in nbhd])
        template = starts + (model.streams.uniform("migration.template", model.t, ids) * sizes).astype(np.int64)
        for r in range(1, 6):
            dead = ~c.alive[template]
            if not dead.any():
                break
            retry = starts + (model.streams.uniform(f"migration.template.{r}", model.t, ids) * sizes).astype(np.int64)
            template = np.where(dead, retry, template)
        values = {f: c[f][template] for f in COPY_FIELDS}
        new = c.append(len(ids), id=ids, entry_step=np.full(len(ids), model.t, np.int16), **values)
        model.on_new_rows(new)
        model.record(self.IMMIGRANTS.name, new)
