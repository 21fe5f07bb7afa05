"""Survivor effects: admissions and costs of people alive only because of a programme, shown apart.

A programme that prevents deaths adds person-years, and the survivors are admitted like anyone else of
their age: a scenario's admissions can rise while deaths fall. Per replicate, paired with the comparator
(common random numbers), within each age band b the change in admissions splits exactly into

    A_s - A_c = (PY_s - PY_c) x r_s  +  (r_s - r_c) x PY_c        r = admissions / person-years

the first term being the survivors' admissions (extra person-years at the scenario's rate) and the second
the change among people alive either way (prevention). Summed over the recorder's seven age bands, at ICS
and place level (where age-band strata exist), for each financial year and the whole period. Survivors
are frailer than the average resident of their band, so their admissions are, if anything, understated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..outcomes import OUT

KEYS = ["replicate", "param_draw", "period", "level", "area"]


def survivor_rows(tidy: pd.DataFrame, comparator: str) -> pd.DataFrame:
    """survivor_person_years, survivor_admissions, survivor_cost_admissions, survivor_cost_social_care (their
    social care for frailty and after falls, at the scenario's rate per person-year of their band) and
    prevented_admissions for
    every scenario other than the comparator (stratum 'all')."""
    need = tidy[tidy["stratum"].str.startswith("age_band=")
                & tidy["outcome"].isin([OUT.emergency_admissions, OUT.person_years, OUT.cost_admissions,
                                        OUT.cost_social_care])]
    if need.empty or comparator not in set(need["scenario"]):
        return pd.DataFrame()
    wide = need.pivot_table(index=["scenario", *KEYS, "stratum"], columns="outcome", values="value",
                            aggfunc="sum", fill_value=0.0)
    for col in (OUT.emergency_admissions, OUT.person_years, OUT.cost_admissions, OUT.cost_social_care):
        if col not in wide:
            wide[col] = 0.0
    comp = wide.xs(comparator, level="scenario")
    frames = []
    for scen in sorted(set(need["scenario"]) - {comparator}):
        s = wide.xs(scen, level="scenario")
        c = comp.reindex(s.index, fill_value=0.0)
        py_s = s[OUT.person_years].to_numpy()
        extra = py_s - c[OUT.person_years].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(py_s > 0, s[OUT.emergency_admissions].to_numpy() / py_s, 0.0)
            cost_rate = np.where(py_s > 0, s[OUT.cost_admissions].to_numpy() / py_s, 0.0)
            care_rate = np.where(py_s > 0, s[OUT.cost_social_care].to_numpy() / py_s, 0.0)
        change = s[OUT.emergency_admissions].to_numpy() - c[OUT.emergency_admissions].to_numpy()
        per_band = pd.DataFrame({OUT.survivor_person_years: extra, OUT.survivor_admissions: extra * rate,
                                 OUT.survivor_cost_admissions: extra * cost_rate,
                                 OUT.survivor_cost_social_care: extra * care_rate,
                                 OUT.prevented_admissions: change - extra * rate}, index=s.index)
        summed = per_band.groupby(level=KEYS).sum().reset_index()
        long = summed.melt(id_vars=KEYS, var_name="outcome", value_name="value")
        frames.append(long.assign(scenario=scen, stratum="all"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
