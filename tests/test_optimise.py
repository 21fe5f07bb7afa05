"""`neighsim optimise` (docs/optimise.md): the MILP against brute force on hand-made curves, with and without
the equity constraints and the scenario's capacity limits; the separability by neighbourhood that lets a few
runs give every neighbourhood's curve; an allocation's rerun reproducing its prediction; bad flags."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from neighsim.cli import main
from neighsim.errors import NeighsimError
from neighsim.optimise import Equity, parse_equity, solve_allocation

# --- the solver on hand-made curves ---------------------------------------------------------------------------
# 2 interventions x 3 neighbourhoods x 3 levels (level 0, nothing, is implicit): cost and value of each level
COSTS = {"a": (1.0, 2.0, 4.0), "b": (2.0, 3.0, 5.0)}
VALUES = {("a", 1): (3, 5, 6), ("a", 2): (1.5, 4, 7), ("a", 3): (1, 2, 3),
          ("b", 1): (1, 2, 2), ("b", 2): (4.2, 5, 9), ("b", 3): (3, 6.5, 7)}
# the Core20 gap: intervention a narrows it in neighbourhood 3 only, b widens it in 2 (its best value)
GAPS = {("a", 1): 0.1, ("a", 2): 0.2, ("a", 3): -0.5, ("b", 1): 0.0, ("b", 2): 0.6, ("b", 3): -0.1}
CORE20 = {1: 0.0, 2: 0.1, 3: 0.9}  # share of a neighbourhood's spend on Core20 residents


def hand_made() -> pd.DataFrame:
    rows = []
    for (iv, n), vals in VALUES.items():
        for k, level in enumerate((0.25, 0.5, 1.0)):
            cost = COSTS[iv][k]
            rows.append({"intervention": iv, "neighbourhood": n, "level": level, "capacity": 100.0 * level,
                         "cost": cost, "value": float(vals[k]), "gap_change": GAPS[(iv, n)] * (k + 1),
                         "core20_cost": CORE20[n] * cost})
    return pd.DataFrame(rows)


def enumerate_best(opts: pd.DataFrame, budget: float, equity: Equity | None = None,
                   limits: dict[str, float] | None = None) -> tuple[float, list[int]]:
    """The optimum by brute force: every combination of one level (or none) per intervention and
    neighbourhood (4^6 = 4,096 here), each checked against every constraint."""
    groups = list(opts.groupby(["intervention", "neighbourhood"], sort=False).indices.values())
    combos = np.array(list(itertools.product(*[[-1, *g] for g in groups])))
    x = np.zeros((len(combos), len(opts)))
    for col in combos.T:
        x[np.flatnonzero(col >= 0), col[col >= 0]] = 1.0
    value, cost = x @ opts["value"].to_numpy(float), x @ opts["cost"].to_numpy(float)
    ok = cost <= budget + 1e-9
    for iv, lim in (limits or {}).items():
        ok &= x @ np.where(opts["intervention"] == iv, opts["capacity"], 0.0) <= lim + 1e-9
    if equity is not None and equity.kind == "gap-narrows":
        ok &= x @ opts["gap_change"].to_numpy(float) <= 1e-12
    if equity is not None and equity.kind == "core20-share":
        ok &= x @ opts["core20_cost"].to_numpy(float) >= equity.share * cost - 1e-9
    best = int(np.flatnonzero(ok)[np.argmax(value[ok])])
    return float(value[best]), [int(i) for i in np.flatnonzero(x[best])]


def check_feasible(opts, chosen, budget, equity=None, limits=None):
    sub = opts[chosen]
    assert sub.groupby(["intervention", "neighbourhood"]).size().max() <= 1 if len(sub) else True
    assert sub["cost"].sum() <= budget + 1e-9
    if equity is not None and equity.kind == "gap-narrows":
        assert sub["gap_change"].sum() <= 1e-9
    if equity is not None and equity.kind == "core20-share":
        assert sub["core20_cost"].sum() >= equity.share * sub["cost"].sum() - 1e-9
    for iv, lim in (limits or {}).items():
        assert sub.loc[sub["intervention"] == iv, "capacity"].sum() <= lim + 1e-6


@pytest.mark.parametrize("budget", [1, 3, 6, 9, 14, 30])
@pytest.mark.parametrize("equity", [None, "gap-narrows", "core20-share=0.5"])
def test_milp_finds_the_brute_force_optimum(budget, equity):
    opts = hand_made()
    eq = parse_equity(equity)
    chosen = solve_allocation(opts, budget, "value", equity=eq)
    check_feasible(opts, chosen, budget, eq)
    best, _ = enumerate_best(opts, budget, eq)
    assert opts.loc[chosen, "value"].sum() == pytest.approx(best)


def test_known_answer_by_hand():
    """Budget 6 without constraints. Per pound, a in 1 at 25% (cost 1, value 3) is best, then b in 2 at 25%
    (2, 4.2) and b in 3 at 50% (3, 6.5): together 6 for 13.7. The alternatives that spend 6: a in 1 at 50%, a
    in 2 at 50% and b in 2 at 25% (13.2); a in 1 at 50% with b in 3 at 50% and a in 2 at 25% (13.0); b in 2 at
    100% with a in 1 at 25% (12.2). Enumeration agrees."""
    opts = hand_made()
    chosen = solve_allocation(opts, 6, "value")
    got = sorted(zip(opts.loc[chosen, "intervention"], opts.loc[chosen, "neighbourhood"], opts.loc[chosen, "level"],
                     strict=True))
    assert got == [("a", 1, 0.25), ("b", 2, 0.25), ("b", 3, 0.5)]
    assert opts.loc[chosen, "value"].sum() == pytest.approx(13.7)
    best, pick = enumerate_best(opts, 6)
    assert best == pytest.approx(13.7) and pick == list(np.flatnonzero(chosen))


def test_random_problems_match_brute_force():
    rng = np.random.default_rng(16)
    for _ in range(25):
        opts = hand_made()
        opts["value"] = np.round(rng.normal(2.0, 3.0, len(opts)), 2)  # some options do harm
        opts["cost"] = np.round(rng.uniform(0.5, 5.0, len(opts)), 2)
        opts["gap_change"] = np.round(rng.normal(0.0, 1.0, len(opts)), 3)
        opts["core20_cost"] = opts["cost"] * rng.uniform(0, 1, len(opts))
        budget = float(rng.uniform(2, 15))
        for eq in (None, Equity("gap-narrows"), Equity("core20-share", 0.4)):
            limits = {"a": 120.0} if rng.uniform() < 0.5 else None
            chosen = solve_allocation(opts, budget, "value", equity=eq, limits=limits)
            check_feasible(opts, chosen, budget, eq, limits)
            assert opts.loc[chosen, "value"].sum() == pytest.approx(enumerate_best(opts, budget, eq, limits)[0])


def test_gap_constraint_binds_only_when_the_best_allocation_widens_the_gap():
    opts = hand_made()
    free = solve_allocation(opts, 6, "value")
    assert opts.loc[free, "gap_change"].sum() > 0  # b in 2 widens the gap
    fair = solve_allocation(opts, 6, "value", equity=Equity("gap-narrows"))
    assert opts.loc[fair, "gap_change"].sum() <= 1e-12
    assert opts.loc[fair, "value"].sum() < opts.loc[free, "value"].sum()
    assert opts.loc[fair, "value"].sum() == enumerate_best(opts, 6, Equity("gap-narrows"))[0]
    # every option narrowing the gap: the constraint changes nothing
    calm = opts.assign(gap_change=-opts["gap_change"].abs())
    assert (solve_allocation(calm, 6, "value", equity=Equity("gap-narrows")) == solve_allocation(calm, 6, "value")).all()


def test_core20_share_binds_when_it_should():
    opts = hand_made()
    free = solve_allocation(opts, 6, "value")
    share = opts.loc[free, "core20_cost"].sum() / opts.loc[free, "cost"].sum()
    assert share < 0.6
    fair = solve_allocation(opts, 6, "value", equity=Equity("core20-share", 0.8))
    sub = opts[fair]
    assert sub["core20_cost"].sum() >= 0.8 * sub["cost"].sum() - 1e-9 and sub["cost"].sum() > 0
    assert sub["value"].sum() == pytest.approx(enumerate_best(opts, 6, Equity("core20-share", 0.8))[0])
    assert sub["value"].sum() < opts.loc[free, "value"].sum()
    loose = solve_allocation(opts, 6, "value", equity=Equity("core20-share", share / 2))
    assert opts.loc[loose, "value"].sum() == opts.loc[free, "value"].sum()


def test_capacity_limit_is_respected():
    opts = hand_made()
    free = solve_allocation(opts, 30, "value")
    assert opts.loc[free & (opts["intervention"] == "a"), "capacity"].sum() > 150
    lim = solve_allocation(opts, 30, "value", limits={"a": 150.0})
    check_feasible(opts, lim, 30, limits={"a": 150.0})
    assert opts.loc[lim, "value"].sum() == enumerate_best(opts, 30, limits={"a": 150.0})[0]


def test_shrinkage_pulls_noisy_effects_towards_the_pooled_effect_per_participant():
    from neighsim.optimise.curves import SHRUNK, shrink

    rows = []
    for n, (eff, sd, part) in enumerate([(30.0, 40.0, 100.0), (-10.0, 40.0, 100.0), (12.0, 1.0, 100.0)]):
        row = {"intervention": "a", "neighbourhood": n, "area": str(n), "level": 0.5, "capacity": 10.0,
               "participants": part, "replicates": 4, "cost": 5.0}
        for m in SHRUNK:
            row |= {m: eff, f"{m}_sd": sd, f"{m}_lower": eff - 2 * sd, f"{m}_upper": eff + 2 * sd}
        rows.append(row)
    opts = pd.DataFrame(rows)
    curves = pd.DataFrame([{"intervention": "a", "neighbourhood": n, "level": 0.5, "replicate": r, **{m: 1.0 for m in SHRUNK}}
                           for n in range(3) for r in range(4)])
    got, moved = shrink(opts, curves)
    pooled = 32.0 / 3
    y = got["qalys_gained"].to_numpy()
    assert abs(y[0] - pooled) < 30 - pooled and abs(y[1] - pooled) < abs(-10 - pooled)  # noisy ones pulled in
    assert abs(y[2] - 12.0) < 1.0  # a precise one barely moves
    assert list(got["qalys_gained_raw"]) == [30.0, -10.0, 12.0]
    shift = got["qalys_gained"] - got["qalys_gained_raw"]
    assert np.allclose(moved.groupby("neighbourhood")["qalys_gained"].mean().to_numpy(), 1.0 + shift.to_numpy())
    assert np.allclose(got["qalys_gained_upper"] - got["qalys_gained"], 2 * opts["qalys_gained_sd"])  # interval moves with it


@pytest.mark.parametrize("text,kind,share", [("gap-narrows", "gap-narrows", 0.0), ("core20-share=0.4", "core20-share", 0.4),
                                             ("Core20-Share=40%", "core20-share", 0.4), ("core20-share=1", "core20-share", 1.0)])
def test_parse_equity(text, kind, share):
    eq = parse_equity(text)
    assert eq.kind == kind and eq.share == pytest.approx(share)


@pytest.mark.parametrize("text", ["fair", "core20-share", "core20-share=1.5", "core20-share=-0.1", "gap"])
def test_parse_equity_refuses(text):
    with pytest.raises(NeighsimError, match="--equity"):
        parse_equity(text)


# --- real runs: Tamworth at 5% -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tamworth():
    from neighsim.config import load_config
    from neighsim.optimise import curves as cv

    cfg = load_config(population={"scale": 0.05, "local_authorities": ["Tamworth"], "scale_up": True},
                      time={"months": 24})
    area = cv.resolve_area(cfg, "tamworth")
    return cfg, area, cv.resolve_interventions(["falls_pathway", "tobacco"], cfg, area)


def test_area_names_resolve(tamworth):
    from neighsim.config import load_config
    from neighsim.optimise.curves import resolve_area

    cfg = load_config()
    _, area, _ = tamworth
    assert area.ids == (24, 25) and area.local_authorities == ("Tamworth",)
    assert resolve_area(cfg, None).whole_ics and len(resolve_area(cfg, None).ids) == 26
    assert resolve_area(cfg, "stoke-on-trent").ids == tuple(range(7))
    assert resolve_area(cfg, "wilnecote & belgrave").ids == (25,)
    assert resolve_area(cfg, "24").ids == (24,)
    with pytest.raises(NeighsimError, match="--area 'Atlantis'"):
        resolve_area(cfg, "Atlantis")


def test_effects_are_separable_by_neighbourhood(tamworth, tmp_path):
    """One run targeting both neighbourhoods, each with its own places, gives each neighbourhood exactly what
    a run targeting it alone gives (every count and every economic figure), and the other neighbourhood
    exactly the baseline: so the curves of every neighbourhood come from the same few runs."""
    from neighsim.api import load_scenarios
    from neighsim.optimise import curves as cv
    from neighsim.runner.experiment import run_experiment

    cfg, area, cands = tamworth
    caps = {"falls_pathway": {24: 150.0, 25: 300.0}, "tobacco": {24: 60.0, 25: 90.0}}
    both = {"name": "both", "interventions": [cv.entry_at(c, caps[c.name], area) for c in cands]}
    one = {"name": "one", "interventions": [cv.entry_at(c, {24: caps[c.name][24]}, area) for c in cands]}
    run_experiment(cfg, tmp_path, scenarios=load_scenarios([both, one], cfg), replicates=2, neighbourhoods=[24, 25],
                   progress=False)
    for name in ("replicates.parquet", "economics_replicates.parquet"):
        r = pd.read_parquet(tmp_path / name, filters=[("level", "==", "neighbourhood")])
        w = r.pivot_table(index=["replicate", "period", "area", "stratum", "outcome"], columns="scenario",
                          values="value")
        a24 = w.xs(area.names[24], level="area")
        a25 = w.xs(area.names[25], level="area")
        assert a24["both"].notna().all() and len(a24) > 100
        assert (a24["both"] == a24["one"]).all(), name
        if name == "replicates.parquet":
            assert (a25["one"].fillna(0) == a25["baseline"].fillna(0)).all()
        assert (a24["both"] != a25["both"].reindex(a24.index)).any()  # the two neighbourhoods differ


def test_allocation_rerun_reproduces_its_prediction(tmp_path):
    """A tiny real optimisation (Tamworth, 5%, two years): the allocation respects the budget and the
    scenario's capacity, its scenario file loads and holds the chosen places, and run as one scenario on
    the same replicates it gives the predicted effect within the prediction's interval."""
    from neighsim.api import load_scenarios
    from neighsim.config import load_config
    from neighsim.optimise import optimise

    cfg = load_config(population={"scale": 0.05}, time={"months": 24})
    budget = 400_000.0
    res = optimise(cfg, tmp_path, budget, objective="qalys", area="Tamworth",
                   interventions=["falls_pathway", "tobacco"], levels=[0.5, 1.0], replicates=3, psa=3,
                   compare_psa=False, progress=False)
    assert set(res.options["neighbourhood"]) == {24, 25} and set(res.options["level"]) == {0.5, 1.0}
    assert len(res.allocation) >= 1
    assert res.allocation["cost"].sum() <= budget
    for iv, g in res.allocation.groupby("intervention"):
        lim = res.settings["limits"].get(iv)
        assert lim is None or g["capacity"].sum() <= lim * (1 + 1e-9)
    for name in ("allocation.csv", "allocation_scenario.yaml", "comparison.csv", "optimise.png", "optimise.md",
                 "curves.csv", "optimise.json"):
        assert (tmp_path / name).is_file(), name
    sc = load_scenarios([tmp_path / "allocation_scenario.yaml"], cfg.with_overrides(
        population={"local_authorities": ["Tamworth"]}))["optimised"]
    written = {(s.name, n): s.delivery.capacity * share for s in sc.specs
               for n, share in s.delivery.capacity_shares.items()}
    chosen = {(r.intervention, r.neighbourhood): r.capacity for r in res.allocation.itertuples()}
    assert written.keys() == chosen.keys()
    assert all(written[k] == pytest.approx(chosen[k], abs=0.051) for k in chosen)
    alloc = pd.read_csv(tmp_path / "allocation.csv")
    assert list(alloc["intervention"])[-1] == "TOTAL"
    c = res.comparison.set_index("strategy")
    opt = c.loc["optimised"]
    assert opt["predicted_lower"] <= opt["objective_mean"] <= opt["predicted_upper"]
    # same replicates, common random numbers: the plain sum of the chosen options' measured effects is what the
    # rerun gives, but for interactions of two interventions in one neighbourhood
    assert opt["objective_mean"] == pytest.approx(opt["predicted_unshrunk_mean"], rel=0.15, abs=1.0)
    assert opt["cost_mean"] == pytest.approx(opt["predicted_cost"], rel=0.02)
    assert {"rule_everyone", "rule_core20", "rule_need"} <= set(c.index)
    assert np.isnan(opt["minus_optimised_mean"]) and np.isfinite(c.loc["rule_need", "minus_optimised_mean"])
    # the rules spend about the same money (Core20 only may spend less: fewer Core20 residents to serve)
    assert c.loc["rule_everyone", "cost_mean"] == pytest.approx(opt["cost_mean"], rel=0.25)
    md = (tmp_path / "optimise.md").read_text()
    assert "Optimised allocation" in md and "optimise.png" in md


# --- bad flags: one clear line ------------------------------------------------------------------------------------
BAD = [
    (["--budget", "0"], ["--budget", "positive"]),
    (["--budget=-5m"], ["--budget", "positive"]),
    (["--budget", "lots"], ["--budget", "lots"]),
    (["--budget", "1m", "--interventions", "juggling"], ["--interventions", "juggling"]),
    (["--budget", "1m", "--area", "Atlantis"], ["--area", "Atlantis"]),
    (["--budget", "1m", "--equity", "fair"], ["--equity", "gap-narrows", "core20-share"]),
    (["--budget", "1m", "--equity", "core20-share=2"], ["--equity", "0 to 1"]),
    (["--budget", "1m", "--objective", "happiness"], ["--objective", "happiness"]),
    (["--budget", "1m", "--levels", "0"], ["--levels"]),
    (["--area", "Tamworth"], ["--budget"]),
]


@pytest.mark.parametrize("argv,names", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_flags_give_one_clear_line(argv, names, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc_info:
        raise SystemExit(main(["optimise", *argv, "--scale", "0.01", "--out", str(tmp_path / "o"), "--quiet"]))
    err = capsys.readouterr().err
    assert exc_info.value.code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("neighsim optimise: error:"), err
    for name in names:
        assert name in err, (name, err)
    assert not (tmp_path / "o" / "runs").exists()
