"""Fair comparisons of places and money (issue 13, item 5): capacity and budget per area, "the same places
as scenario X", the places each area got recorded every month, and the report's warning when compared
scenarios deliver very different amounts.

A small probe module (defined here, registered for this file only) keeps these tests independent of the
built-in modules' pathways: residents meeting its rule take a place once, if there is one."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neighsim.cli import main
from neighsim.interventions import Intervention, parse_scenario, registry
from neighsim.interventions.base import cumulative_ramp
from neighsim.interventions.capacity import resolve_same_as
from neighsim.model import NeighbourhoodModel
from neighsim.report import write_report

PROBE = "fair_probe"
SCALE = 0.1  # small_config's


class FairProbe(Intervention):
    """Residents meeting the rule take a place once (uptake 1 by default); each month's candidates are
    recorded, so a test can see where places were oversubscribed."""

    description = "test probe: a service with places"
    default_rule = "age >= 65"
    cost_spec = {"per_participant": None}

    def setup(self, model):
        model.cohort.add_field(f"{self.name}_served", np.bool_, False)

    def on_begin(self, model):
        if not self.active(model.t):
            return
        c = model.cohort
        rows = self.accepts(model, self.eligible(model, np.flatnonzero(c.alive & ~c[f"{self.name}_served"])))
        served = self.allocate(model, rows)
        c[f"{self.name}_served"][served] = True
        self.record(model, "candidates", rows)
        self.record(model, "participants", served)
        self.charge(model, served, self.costs["per_participant"])


@pytest.fixture(scope="module", autouse=True)
def probe_registered():
    registry.register(PROBE)(FairProbe)
    yield
    registry.unregister(PROBE)


def entry(**kw):
    return {"type": PROBE, "cost": {"per_participant": 200}, **kw}


def scenario(cfg, name, **kw):
    return parse_scenario({"name": name, "interventions": [entry(**kw)]}, cfg, file=f"{name}.yaml")


def run(pop, sc, months):
    m = NeighbourhoodModel(pop, pop.params, interventions=sc.build(pop.params)).run(months)
    return m, m.interventions[0]


def by_cell(model, measure: str) -> pd.Series:
    df = model.counts()
    return df[df["measure"] == measure].groupby(["month", "neighbourhood"])["value"].sum()


def place_table(iv, model, months) -> pd.Series:
    return pd.Series({(t, n): iv.places(t, n) for t in range(months) for n in model.neighbourhoods})


# --- per-area capacity -------------------------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(a=st.integers(0, 6000), b=st.integers(0, 6000), ramp=st.integers(0, 5))
def test_per_area_capacity_is_never_exceeded(small_population, small_config, tamworth_ids, a, b, ramp):
    """Each neighbourhood's places are its own capacity x scale (within one a year), participants never
    exceed them in any month, and the recorded '_places' are exactly the places made available."""
    n1, n2 = tamworth_ids["Tamworth: Amington & Spital"], tamworth_ids["Tamworth: Wilnecote & Belgrave"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # capacity 0 and unlisted areas warn
        sc = scenario(small_config, "areas", ramp_months=ramp, allocation="highest_risk", eligibility="age >= 50",
                      capacity={"per": "neighbourhood", "places": {"tamworth: amington & spital": a, n2: b}})
    months = 14
    m, iv = run(small_population, sc, months)
    places = place_table(iv, m, months)
    part = by_cell(m, f"{PROBE}_participants").reindex(places.index, fill_value=0.0)
    assert (part <= places).all()
    recorded = by_cell(m, f"{PROBE}_places").reindex(places.index, fill_value=0.0)
    assert np.allclose(recorded, places, atol=1e-9)
    for n, cap in ((n1, a), (n2, b)):
        got = places.xs(n, level=1).sum()
        assert abs(got - cap * SCALE * cumulative_ramp(months, ramp) / 12) < 1.0 + 1e-9, (n, cap)
    assert iv.summary()["totals"].get("places", 0.0) == pytest.approx(places.sum())


def test_per_place_capacity_divides_by_eligible_residents(small_config):
    """A place's capacity is shared by its neighbourhoods' eligible residents; unlisted places get none
    (said); an unknown area or a duplicate is one clear error."""
    whole = scenario(small_config, "whole", capacity=6000).specs[0].delivery
    with pytest.warns(UserWarning, match="areas not listed get no places: Stoke-on-Trent"):
        staffs = scenario(small_config, "staffs", capacity={"per": "place", "places": {"STAFFORDSHIRE": 4000}})
    d = staffs.specs[0].delivery
    assert d.capacity == 4000 and "per place: Staffordshire 4,000" in d.capacity_note
    in_staffs = {n: s for n, s in whole.shares.items() if n >= 7}  # ids 0-6 are Stoke-on-Trent's
    for n, s in in_staffs.items():
        assert d.capacity * d.capacity_shares[n] == pytest.approx(4000 * s / sum(in_staffs.values()))
    assert not any(d.capacity_shares.get(n, 0.0) for n in range(7))
    with pytest.raises(Exception, match=r"interventions\[0\].capacity.places.*unknown place 'Narnia'"):
        scenario(small_config, "bad", capacity={"per": "place", "places": {"Narnia": 10}})
    with pytest.raises(Exception, match="listed twice"):
        scenario(small_config, "bad", capacity={"per": "locality", "places": {"Tamworth": 10, "tamworth": 5}})


# --- budget -------------------------------------------------------------------------------------------------
def test_budget_converts_to_places(small_population, small_config):
    """places = budget / per_participant cost: the same places as that capacity, and the money spent is
    participants x unit cost (within the budget)."""
    by_cap = scenario(small_config, "cap", capacity=3000)
    by_budget = scenario(small_config, "budget", budget=600_000)  # £200 a participant
    assert by_budget.specs[0].delivery.capacity == 3000
    m1, iv1 = run(small_population, by_cap, 12)
    m2, iv2 = run(small_population, by_budget, 12)
    assert place_table(iv1, m1, 12).equals(place_table(iv2, m2, 12))
    tot = iv2.summary()["totals"]
    assert tot["cost"] == pytest.approx(200 * tot["participants"])
    assert tot["cost"] <= 600_000 * SCALE * sum(iv2.shares.get(n, 0) for n in m2.neighbourhoods) + 200 * 2
    with pytest.warns(UserWarning, match="areas not listed get no places"):
        per_area = scenario(small_config, "area_budget", budget={"per": "locality", "pounds": {"Tamworth": 100_000}},
                            cost={"per_participant": 250}).specs[0].delivery
    assert per_area.capacity == pytest.approx(400) and "£100,000" in per_area.capacity_note
    assert sum(per_area.capacity_shares.values()) == pytest.approx(1.0)


# --- same places as another scenario -----------------------------------------------------------------------
def test_same_places_gives_equal_places_and_participants(small_population, small_config):
    """Core20 targeting with the places of the 'all' scenario: equal places in every neighbourhood and
    month (and bitwise the same places()), equal participants wherever both are oversubscribed; the
    whole-ICS Core20 scenario instead gets other places."""
    common = {"capacity": 8000, "start": "2026-06-01", "ramp_months": 4, "allocation": "random"}
    sc = resolve_same_as({
        "all": scenario(small_config, "all", **common),
        "core20": scenario(small_config, "core20", targeting="core20", **common),
        "same": scenario(small_config, "same", targeting="core20", start="2026-06-01", ramp_months=4,
                         capacity={"same_as": "all"}),
    })
    months = 24
    runs = {k: run(small_population, s, months) for k, s in sc.items()}
    places = {k: place_table(iv, m, months) for k, (m, iv) in runs.items()}
    assert places["all"].equals(places["same"]) and places["all"].sum() > 0
    assert not places["all"].equals(places["core20"])
    rec = {k: by_cell(m, f"{PROBE}_places") for k, (m, _) in runs.items()}
    assert np.allclose(rec["all"], rec["same"].reindex(rec["all"].index), atol=1e-9)
    cells = places["all"].index
    part = {k: by_cell(runs[k][0], f"{PROBE}_participants").reindex(cells, fill_value=0) for k in ("all", "same")}
    cand = {k: by_cell(runs[k][0], f"{PROBE}_candidates").reindex(cells, fill_value=0) for k in ("all", "same")}
    both = (cand["all"] >= places["all"]) & (cand["same"] >= places["same"]) & (places["all"] > 0)
    assert both.sum() > 20
    assert part["all"][both].equals(part["same"][both])
    assert (part["same"] <= places["same"]).all()


def test_same_places_follow_the_other_scenarios_schedule(small_config):
    """A scenario whose own ramp differs takes the other's schedule (said), so the places still match."""
    base = scenario(small_config, "a", capacity=1200, start="2026-07-01", ramp_months=6)
    with pytest.warns(UserWarning, match="follow a's start, end and ramp"):
        sc = resolve_same_as({"a": base, "b": scenario(small_config, "b", start="2026-07-01",
                                                       capacity={"same_as": "a.yaml"})})
    d = sc["b"].specs[0].delivery
    assert d.schedule is not None and d.capacity == 1200 and d.capacity_note.startswith("same places as a")


def test_unresolved_same_as_is_a_clear_error(small_population, small_config):
    alone = scenario(small_config, "alone", capacity={"same_as": "elsewhere"})
    with pytest.raises(Exception, match="loaded together"):
        run(small_population, alone, 1)
    with pytest.raises(Exception, match=r"alone.yaml.*interventions\[0\].capacity.same_as.*not in this run"):
        resolve_same_as({"alone": alone})


# --- the report ---------------------------------------------------------------------------------------------
def _write(tmp_path, name, **kw):
    import yaml

    p = tmp_path / f"{name}.yaml"
    e = entry(eligibility="age >= 65", start="2026-04-01", allocation="random", **kw)
    p.write_text(yaml.safe_dump({"name": name, "interventions": [e]}))
    return str(p)


def _report(tmp_path, out, files):
    args = ["run", *files, "--la", "Stoke-on-Trent", "--scale", "0.03", "--out", str(out), "--quiet"]
    assert main(args) == 0
    write_report(out)
    return (out / "report.html").read_text(), pd.read_csv(out / "summary.csv")


@pytest.mark.slow
def test_report_warns_for_unequal_places_not_for_same_places(tmp_path):
    """Core20 with the whole ICS's capacity against all: Stoke's places and money differ, and the report
    says so in a warning box; with the same places per area, no warning. summary.csv has places,
    participants and cost at every level."""
    everyone = _write(tmp_path, "everyone", capacity=3000)
    core20 = _write(tmp_path, "core20", capacity=3000, targeting="core20")
    html, summary = _report(tmp_path, tmp_path / "unequal", [everyone, core20])
    assert 'class="warning"' in html and "Unequal delivery" in html and "same_as: everyone" in html
    assert "Stoke-on-Trent: participants" in html
    assert "Places, participants and money by area" in html and "capacity/yr" not in html
    rows = summary[(summary["measure"] == "value") & (summary["stratum"] == "all") & (summary["period"] == "2026-2031")]
    for level in ("ics", "place", "locality", "neighbourhood"):
        got = set(rows.loc[rows["level"] == level, "outcome"])
        assert {f"{PROBE}_places", f"{PROBE}_participants", f"{PROBE}_cost"} <= got, level

    same = _write(tmp_path, "same", capacity={"same_as": "everyone"}, targeting="core20")
    html, summary = _report(tmp_path, tmp_path / "fair", [everyone, same])
    assert "Unequal delivery" not in html  # (the run's other warning, no PSA, is not about fairness)
    assert "same places as everyone" in html
    place = rows_of(summary, "place", "Stoke-on-Trent")
    assert place[("everyone", f"{PROBE}_places")] == pytest.approx(place[("same", f"{PROBE}_places")])


def rows_of(summary: pd.DataFrame, level: str, area: str) -> dict[tuple[str, str], float]:
    r = summary[(summary["level"] == level) & (summary["area"] == area) & (summary["measure"] == "value")
                & (summary["stratum"] == "all") & (summary["period"] == "2026-2031")]
    return {(s, o): v for s, o, v in zip(r["scenario"], r["outcome"], r["mean"], strict=True)}
