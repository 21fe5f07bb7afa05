"""Migration by age: the net migration the ONS 2022-based subnational population projection (SNPP,
migration category variant, bundled) implies for each local authority and single year of age.

The SNPP publishes population by single year of age and year. Following each cohort from mid-2026 to
mid-2031, the change not explained by deaths (the model's own England curve) is net migration:
net(a) = P(a+1, y+1) - P(a, y) x survival(a). Above 64 the residual is mostly a difference between
the projection's mortality and ours rather than migration, and it would make the 65+ and 85+ growth
match the SNPP by construction; those ages take the mean rate at 55-64 instead (assumption), so that
the growth of the older population is a check of the model, not an input (docs/validation.md).
Gross out-migration (Census 2021) is a flat rate; in-migration is gross plus net, by age.

The same projection fixes the starting population: the residents carried forward from mid-2020 are
scaled, LA by LA and age by age, to the projection at the start date (`align_to_snpp`).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np

from ..errors import ConfigError, NeighsimError
from ..parameters import ParameterSet
from ..processes.common import MAX_AGE, base_annual_qx
from . import sources

FIRST_YEAR, LAST_YEAR = 2026, 2031  # the cohorts followed: mid-2026 to mid-2031
OLD_AGE = 65  # from here the SNPP residual is not used (see module docstring)


def _survival(p: ParameterSet) -> np.ndarray:
    """One-year survival by age 0..100 (persons: mean of the sexes' England curves)."""
    ages = np.arange(MAX_AGE + 1, dtype=float)
    q = 0.5 * (base_annual_qx(ages, np.zeros(len(ages), bool), p) + base_annual_qx(ages, np.ones(len(ages), bool), p))
    return 1.0 - q


@cache
def _snpp() -> dict[str, np.ndarray]:
    """Persons by LA: [year 2022.., age 0..90 (90 = 90+)]."""
    df = sources.read("snpp")
    out = {}
    for la, g in df.groupby("lad_name"):
        age = g["age"].astype(str).str.replace("+", "", regex=False).astype(int)
        tab = g.assign(age=age).pivot_table(index="year", columns="age", values="value", aggfunc="sum")
        out[str(la)] = tab.sort_index().to_numpy(float)
    return out


def snpp_years() -> np.ndarray:
    return np.sort(sources.read("snpp")["year"].unique())


def snpp_at(la: str, when: dt.date, source: str = "configs/ics.yaml") -> np.ndarray:
    """The projection's persons by age 0..90 (90 = 90+) of an LA at a date, linear between mid-years."""
    years = snpp_years()
    t = when.year + (when - dt.date(when.year, 6, 30)).days / 365.25  # the projection's years are 30 June
    if not years[0] <= t <= years[-1]:
        raise ConfigError(source, "population.start_date",
                          f"expected a date between mid-{years[0]} and mid-{years[-1]}, the years of the bundled "
                          f"ONS projection the starting population is aligned to (got {when})")
    i = min(int(np.searchsorted(years, t, side="right")) - 1, len(years) - 2)
    w = t - years[i]
    pop = _snpp()[la]
    return (1 - w) * pop[i] + w * pop[i + 1]


def align_to_snpp(expected: np.ndarray, la_of_row: np.ndarray, las: list[str], when: dt.date,
                  source: str = "configs/ics.yaml") -> np.ndarray:
    """Scale the carried-forward counts [LSOA, age 0..100, sex] so that each LA's persons by single age
    (90+ as one group) equal the ONS projection at `when`: the model's own mortality then shapes only how
    an LA's residents spread over its LSOAs, never how many of each age it has at the start."""
    out = expected.copy()
    for i, la in enumerate(las):
        rows = la_of_row == i
        have = expected[rows].sum(axis=(0, 2))  # [101]
        want = snpp_at(la, when, source)
        f = np.ones(MAX_AGE + 1)
        if ((have[:90] <= 0) & (want[:90] > 0)).any():
            raise NeighsimError(f"{la}: the carried-forward population has nobody of some age the ONS "
                                "projection has, so it cannot be aligned to it")
        f[:90] = np.divide(want[:90], have[:90], out=np.ones(90), where=have[:90] > 0)
        top = have[90:].sum()
        f[90:] = want[90] / top if top > 0 else 1.0
        out[rows] *= f[None, :, None]
    return out


def net_migration_rates(p: ParameterSet, las: list[str]) -> np.ndarray:
    """[LA, age 0..100]: net migrants per resident-year by age before ageing (see module docstring)."""
    years = snpp_years()
    s = _survival(p)
    out = np.zeros((len(las), MAX_AGE + 1))
    for i, la in enumerate(las):
        pop = _snpp()[la]
        net, base = np.zeros(91), np.zeros(91)
        for y in range(FIRST_YEAR, LAST_YEAR):
            now, nxt = pop[np.searchsorted(years, y)], pop[np.searchsorted(years, y + 1)]
            net[:89] += nxt[1:90] - now[:89] * s[:89]
            net[89] += nxt[90] - now[89] * s[89] - now[90] * s[92]
            base[:89] += now[:89]
            base[89] += now[89] + now[90]
        rate = np.divide(net, base, out=np.zeros(91), where=base > 0)
        rate[OLD_AGE:] = rate[55:OLD_AGE].mean()
        out[i, :90] = rate[:90]
        out[i, 90:] = rate[OLD_AGE]
    return out


def snpp_growth(las: list[str], lo: int, hi: int = 200) -> float:
    """Growth from mid-2026 to mid-2031 of the SNPP population aged lo..hi in these LAs (the check)."""
    years = snpp_years()
    a, b = np.searchsorted(years, FIRST_YEAR), np.searchsorted(years, LAST_YEAR)
    cols = slice(lo, min(hi, 90) + 1)
    start = sum(_snpp()[la][a, cols].sum() for la in las)
    end = sum(_snpp()[la][b, cols].sum() for la in las)
    return float(end / start - 1)
