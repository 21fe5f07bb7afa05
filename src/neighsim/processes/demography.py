"""Emigration, births and in-migration (ageing is done once at the start of each step by the model).

Assumptions (docs/model.md): residents leave at a flat gross rate; in-migrants arrive in each
neighbourhood so that net migration equals the configured rate, and take the current state of a
randomly chosen resident of the neighbourhood's starting population (so they resemble its residents);
they join no household and have no social ties. Newborns join the mother's household and LSOA.
"""

from __future__ import annotations

import numpy as np

from ..rng import poisson_from_uniform
from .base import Process, Rows, select

NEW_ID_BASE = 1 << 40
NBHD_ID_SHIFT = 28
COPY_FIELDS = ("age_months", "male", "lsoa", "neighbourhood", "locality", "la", "imd_decile", "smoking",
               "quit_step", "htn", "cvd", "copd", "diabetes", "htn_dx", "cvd_dx", "copd_dx", "diabetes_dx",
               "other_ltcs", "frailty")
INHERIT_FROM_MOTHER = ("lsoa", "neighbourhood", "locality", "la", "imd_decile", "household", "fuel_poor")


class Emigration(Process):
    name = "emigration"
    streams = ("migration.out",)
    description = "residents leave the ICS at a flat gross rate (assumption)"

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        alive = c.alive[rows]
        p = model.params["demography.emigration_rate"] / 12.0
        u = model.draw("migration.out", rows)
        out = select(rows, alive & (u < p))
        if len(out):
            c.alive[out] = False
            model.record("emigrants", out)


class Births(Process):
    name = "births"
    streams = ("births",)
    description = "women aged 15-44 give birth at age-specific fertility rates; newborns placed by the model"

    def prepare(self, model) -> None:
        self.asfr_month = np.zeros(121)
        self.asfr_month[15:45] = np.repeat(model.params["demography.asfr"], 5) / 12.0

    def default_rows(self, model) -> Rows:
        return model.ctx.rows_women

    def apply(self, model, rows: Rows | None = None) -> None:
        rows = self.default_rows(model) if rows is None else rows
        c = model.cohort
        age = c.age_months[rows] // 12
        p = self.asfr_month[np.minimum(age, 120)]
        p = np.where(c.male[rows] | ~c.alive[rows], 0.0, p)
        u = model.draw("births", rows)
        mothers = select(rows, u < p)
        if len(mothers):
            model.pending_births.append(mothers)


class Newborns(Process):
    name = "newborns"
    level = "model"
    streams = ("births.sex",)
    description = "the month's newborns join their mother's household (ids keyed by neighbourhood)"

    def apply(self, model, rows: Rows | None = None) -> None:
        if not model.pending_births:
            return
        c = model.cohort
        mothers = np.concatenate(model.pending_births)
        model.pending_births.clear()
        mothers = mothers[np.lexsort((c.id[mothers], c.neighbourhood[mothers]))]
        ids = model.new_ids(c.neighbourhood[mothers])
        male = model.streams.uniform("births.sex", model.t, c.id[mothers]) < model.params["demography.male_birth_share"]
        values = {f: c[f][mothers] for f in INHERIT_FROM_MOTHER}
        new = c.append(len(mothers), id=ids, male=male, age_months=np.zeros(len(mothers), np.int16),
                       entry_step=np.full(len(mothers), model.t, np.int16), **values)
        model.on_new_rows(new)
        model.record("births", new)


class Immigration(Process):
    name = "immigration"
    level = "model"
    streams = ("migration.in", "migration.template")
    description = "in-migrants arrive per neighbourhood (net migration rate) resembling its residents"

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
        model.record("immigrants", new)
