"""Survivor effects: the change in admissions splits exactly into survivors' admissions (extra
person-years at the scenario's rate, by age band) and the change among people alive either way."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from neighsim.analysis.survivors import survivor_rows

BANDS = [f"age_band={b}" for b in ("65-74", "75-84", "85+")]


def tidy(values: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """values: scenario -> per band (admissions, person-years); costs are 3,000 an admission."""
    rows = []
    for scen, per_band in values.items():
        for band, (adm, py) in zip(BANDS, per_band, strict=True):
            for outcome, v in (("emergency_admissions", adm), ("person_years", py), ("cost_admissions", 3000 * adm)):
                rows.append({"scenario": scen, "replicate": 0, "param_draw": -1, "period": "2026-2031",
                             "level": "ics", "area": "ICS", "stratum": band, "outcome": outcome, "value": v})
    return pd.DataFrame(rows)


def test_more_survivors_at_the_same_rates_are_all_survivor_admissions():
    t = tidy({"baseline": [(100, 1000), (200, 800), (300, 500)], "s": [(110, 1100), (200, 800), (312, 520)]})
    out = survivor_rows(t, "baseline").set_index("outcome")["value"]
    assert out["survivor_person_years"] == 120
    assert np.isclose(out["survivor_admissions"], 10 + 12)
    assert np.isclose(out["prevented_admissions"], 0.0)
    assert np.isclose(out["survivor_cost_admissions"], 3000 * 22)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 2000)), min_size=6, max_size=6))
def test_survivors_and_prevention_add_up_to_the_difference(cells):
    base, scen = cells[:3], cells[3:]
    out = survivor_rows(tidy({"baseline": base, "s": scen}), "baseline").set_index("outcome")["value"]
    diff = sum(a for a, _ in scen) - sum(a for a, _ in base)
    assert np.isclose(out["survivor_admissions"] + out["prevented_admissions"], diff)
    assert np.isclose(out["survivor_person_years"], sum(p for _, p in scen) - sum(p for _, p in base))
    assert "survivor_cost_admissions" in out
