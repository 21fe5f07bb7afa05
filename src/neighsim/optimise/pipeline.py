"""`neighsim optimise`: response curves, the allocation, its scenario file, and the comparison with simple
rules at the same money (docs/optimise.md)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import wording
from ..config import ICSConfig
from ..errors import NeighsimError
from . import curves as cv
from .rules import RuleAllocation, make_rules
from .solver import OBJECTIVES, Equity, solve_allocation

DEFAULT_LEVELS = (0.25, 0.5, 1.0)
COMPARE = "optimised"


@dataclass
class Result:
    out: Path
    area: cv.Area
    budget: float
    objective: str
    equity: Equity | None
    cost_basis: str
    candidates: list[cv.Candidate]
    options: pd.DataFrame  # one row per option, means and intervals
    curves: pd.DataFrame  # per replicate
    allocation: pd.DataFrame  # the chosen options
    predicted: pd.DataFrame  # the allocation's metrics per replicate (sum of its options)
    scenario: dict[str, Any] | None
    rules: list[RuleAllocation]
    comparison: pd.DataFrame | None
    timings: dict[str, float]
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _say(progress: bool) -> Callable[[str], None]:
    def say(msg: str) -> None:
        if progress:
            print(msg, flush=True)
    return say


def check_levels(levels: list[float] | tuple[float, ...] | None) -> tuple[float, ...]:
    lv = tuple(sorted(set(float(x) for x in (levels or DEFAULT_LEVELS))))
    if not lv or any(not (0 < x <= 1) for x in lv):
        raise NeighsimError(f"--levels: each level is a fraction above 0 and at most 1 of what a neighbourhood could "
                            f"take, got {' '.join(f'{x:g}' for x in (levels or ()))}")
    return lv


def optimise(cfg: ICSConfig, out: str | Path, budget: float, *, objective: str = "nmb", equity: Equity | None = None,
             area: str | None = None, interventions: list[str] | None = None,
             levels: list[float] | tuple[float, ...] | None = None, replicates: int = 3, curve_psa: bool = False,
             psa: int = 10, compare_psa: bool = True, cost_basis: str = "programme", scenario_limits: bool = True,
             shrink: bool = True,
             backend: str = "serial", workers: int | None = None, progress: bool = True,
             force_new: bool = False) -> Result:
    """Allocate `budget` (pounds over the projection, full population) across the area's neighbourhoods x
    interventions x capacity levels, and compare the allocation with simple rules. Writes OUT/allocation.csv,
    allocation_scenario.yaml, comparison.csv, optimise.png, optimise.md, curves.csv and optimise.json; the runs
    are kept in OUT/runs/ (demand, levels, compare-DIGEST) and reused by a later call with the same inputs."""
    from . import outputs

    t_all = time.perf_counter()
    say = _say(progress)
    if not budget > 0 or not np.isfinite(budget):
        raise NeighsimError(f"--budget must be a positive amount of pounds, got {budget:g}")
    if objective not in OBJECTIVES:
        raise NeighsimError(f"--objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    if cost_basis not in ("programme", "cash"):
        raise NeighsimError(f"--cost-basis {cost_basis!r}: expected programme or cash")
    lv = check_levels(levels)
    where = cv.resolve_area(cfg, area)
    cfg = cv.area_config(cfg, where).with_overrides(population={"scale_up": True})
    out = Path(out)
    timings: dict[str, float] = {}
    settings = cv.RunSettings(cfg, where, replicates, curve_psa, backend, workers, progress, force_new)
    t = time.perf_counter()
    cands = cv.resolve_interventions(interventions, cfg, where)
    if equity is not None:  # said before any run: an area without Core20 residents has no gap to narrow
        from ..interventions.scenario import ics_population

        coh = ics_population(cfg).cohort
        if not np.any(np.isin(coh.neighbourhood, where.ids) & (coh.imd_decile <= 2)):
            raise NeighsimError(f"--equity {equity.text}: {where.name} has no Core20 residents (IMD deciles 1-2)")
    reach = [c for c in cands if c.reach]
    if not reach:
        raise NeighsimError(f"--interventions: none of {', '.join(c.name for c in cands)} reaches anyone in "
                            f"{where.name}")
    nb_count = len(where.ids)
    n_runs = replicates * (1 + len(reach)) + replicates * (1 + len(reach) * len(lv))
    say(f"Optimising £{budget:,.0f} over {cfg.time.months // 12} years for {where.name} ({where.level}, "
        f"{nb_count} neighbourhood{'s' if nb_count != 1 else ''}) across {', '.join(c.name for c in reach)}; "
        f"{len(lv)} capacity levels, {replicates} {'parameter draws' if curve_psa else 'replicates'} at --scale "
        f"{cfg.population.scale:g} (scaled up): {n_runs} simulations for the curves.")

    # 1. what each neighbourhood could take: the interventions unlimited
    say("Curves 1/2: demand (each intervention unlimited in every neighbourhood)")
    dem_sc = {f"opt_{c.name}_demand": {"name": f"opt_{c.name}_demand", "description": f"{c.name} unlimited",
                                       "interventions": [cv.entry_at(c, None, where)]} for c in reach}
    cv.run(settings, out / "runs" / "demand", dem_sc)
    dem, c20share = cv.demand(out / "runs" / "demand", reach, where)
    timings["demand"] = time.perf_counter() - t

    # 2. the levels: one scenario per intervention and level, every neighbourhood at once
    t = time.perf_counter()
    labels: dict[str, tuple[str, float]] = {}
    capacities: dict[tuple[str, float], dict[int, float]] = {}
    lvl_sc: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for c in reach:
        d = dem[dem["intervention"] == c.name].set_index("neighbourhood")["demand"]
        top = {n: float(d.get(n, 0.0)) for n in c.reach}
        if scenario_limits and c.limit is not None:
            top = {n: min(v, c.limit) for n, v in top.items()}
        top = {n: v for n, v in top.items() if v * cfg.population.scale >= 1.0}  # at least a place in the sample
        if not top:
            notes.append(wording.say("opt_note_no_uptake", intervention=c.name))
            continue
        for level in lv:
            name = f"opt_{c.name}_{cv.level_label(level)}"
            caps = {n: round(level * v, 1) for n, v in top.items()}
            labels[name] = (c.name, level)
            capacities[(c.name, level)] = caps
            lvl_sc[name] = {"name": name, "description": f"{c.name} at {level:.0%} of what each neighbourhood could "
                                                         "take", "interventions": [cv.entry_at(c, caps, where)]}
    if not lvl_sc:
        raise NeighsimError("no intervention was taken up in the demand run at this scale: use a larger --scale")
    say(f"Curves 2/2: {len(lvl_sc)} level scenarios x {replicates} {'draws' if curve_psa else 'replicates'}")
    cv.run(settings, out / "runs" / "levels", lvl_sc)
    raw_curves, nbh = cv.read_curves(out / "runs" / "levels", labels, capacities, where)
    options = cv.summarise(raw_curves)
    curves = raw_curves
    if shrink:  # each neighbourhood's effect per participant towards the area's: less winner's curse
        options, curves = cv.shrink(options, raw_curves)
    timings["levels"] = time.perf_counter() - t

    # 3. the allocation
    t = time.perf_counter()
    value = OBJECTIVES[objective]
    cost = "cost" if cost_basis == "programme" else "cash"
    limits = {c.name: c.limit for c in reach if c.limit is not None} if scenario_limits else None
    chosen = solve_allocation(options, budget, value, cost=cost, equity=equity, limits=limits)
    alloc = options[chosen].reset_index(drop=True)
    keys = alloc[["intervention", "neighbourhood", "level"]]
    reps = sorted(curves["replicate"].unique())
    predicted = curves.merge(keys, on=["intervention", "neighbourhood", "level"]).groupby("replicate")[
        list(cv.METRICS)].sum().reindex(reps, fill_value=0.0)
    predicted_raw = raw_curves.merge(keys, on=["intervention", "neighbourhood", "level"]).groupby("replicate")[
        list(cv.METRICS)].sum().reindex(reps, fill_value=0.0)
    timings["solve"] = time.perf_counter() - t
    say(f"Allocation: {len(alloc)} of {len(options)} options chosen, predicted cost £{alloc[cost].sum():,.0f} of "
        f"£{budget:,.0f} ({cost_basis}), {value} {alloc[value].sum():,.1f}")

    places = {iv: {int(n): float(cap) for n, cap in zip(g["neighbourhood"], g["capacity"], strict=True)}
              for iv, g in alloc.groupby("intervention")}
    by_name = {c.name: c for c in reach}
    scenario = None
    if places:
        scenario = {"name": COMPARE, "description": (f"Allocation of £{budget:,.0f} ({cost_basis} cost) maximising "
                                                     f"{value} in {where.name}"
                                                     + (f"; {equity.describe()}" if equity else "")),
                    "interventions": [cv.entry_at(by_name[iv], p, where) for iv, p in places.items()]}

    # 4. the simple rules at the same money per intervention
    spend = {iv: float(g[cost].sum()) for iv, g in alloc.groupby("intervention")}
    if sum(spend.values()) <= 0:
        ivs = sorted(options["intervention"].unique())
        spend = {iv: budget / len(ivs) for iv in ivs}
        notes.append(wording.say("opt_note_equal_parts"))
    rules = make_rules(options, curves, nbh, spend, c20share, cost, cfg.population.scale, cfg.time.months / 12)
    notes += [n for r in rules for n in r.notes]

    # 5. the allocation and the rules as scenarios, with a PSA
    comparison = None
    if psa > 0:
        t = time.perf_counter()
        cmp_sc: dict[str, dict[str, Any]] = {}
        if scenario is not None:
            cmp_sc[COMPARE] = scenario
        for r in rules:
            ents = [cv.entry_at(by_name[iv], p, where, core20=r.core20) for iv, p in r.places.items() if p]
            if ents:
                cmp_sc[f"rule_{r.name}"] = {"name": f"rule_{r.name}", "description": r.label, "interventions": ents}
        say(f"Comparison: {len(cmp_sc)} scenarios x {psa} {'PSA draws' if compare_psa else 'replicates'}")
        # one folder per set of compared scenarios: another budget runs afresh, the same one is reused
        key = hashlib.sha256(json.dumps([cmp_sc, psa, compare_psa], sort_keys=True, default=str).encode())
        folder = out / "runs" / f"compare-{key.hexdigest()[:10]}"
        cv.run(settings, folder, cmp_sc, replicates=psa, psa=compare_psa)
        comparison = compare(folder, list(cmp_sc), predicted, rules, value, cost, predicted_raw)
        timings["compare"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t_all
    res = Result(out, where, budget, objective, equity, cost_basis, reach, options, curves, alloc, predicted,
                 scenario, rules, comparison, timings, notes=notes + [n for c in reach for n in c.notes],
                 settings={"scale": cfg.population.scale, "replicates": replicates, "curve_psa": curve_psa,
                           "psa": psa, "compare_psa": compare_psa, "levels": list(lv), "seed": cfg.seed,
                           "years": cfg.time.months // 12, "scenario_limits": scenario_limits,
                           "limits": limits or {}, "backend": backend, "workers": workers, "shrink": shrink})
    outputs.write_all(res)
    return res


def compare(out: Path, scenarios: list[str], predicted: pd.DataFrame, rules: list[RuleAllocation], value: str,
            cost: str, predicted_raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per scenario of the comparison run: the objective, costs, effects and the change in the Core20 gap,
    each with its mean and 95% interval across draws; effect per £1m; each rule's objective minus the
    optimised allocation's, draw by draw (paired: the same draws and random numbers); and what the curves
    predicted (shrunk, and the plain sum of the chosen options' measured effects)."""
    econ = cv._read(out, "economics_replicates.parquet", level="ics", stratum="all", outcome=list(cv.ECONOMICS))
    period = cv.whole_period(list(econ["period"].unique()))
    e = econ[econ["period"] == period].pivot_table(index=["scenario", "replicate"], columns="outcome",
                                                   values="value", aggfunc="sum").rename(columns=cv.ECONOMICS)
    r = cv._read(out, "replicates.parquet", level="ics", period=period,
                 outcome=["emergency_admissions", "person_years", "core20_gap_admissions"],
                 stratum=["all", "core20=yes", "core20=no"])
    w = r.pivot_table(index=["scenario", "replicate"], columns=["outcome", "stratum"], values="value", aggfunc="sum")
    base = w.loc["baseline"]
    pred = {COMPARE: predicted}
    pred.update({f"rule_{x.name}": x.predicted for x in rules if x.predicted is not None})
    labels = {COMPARE: "optimised allocation"} | {f"rule_{x.name}": x.label for x in rules}
    rows = []
    for s in scenarios:
        if s not in e.index.get_level_values(0):
            continue
        es = e.loc[s]
        ws = w.loc[s].reindex(es.index)
        b = base.reindex(es.index)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = 1000.0 * ((ws[("emergency_admissions", "core20=yes")] - b[("emergency_admissions", "core20=yes")])
                            / b[("person_years", "core20=yes")]
                            - (ws[("emergency_admissions", "core20=no")] - b[("emergency_admissions", "core20=no")])
                            / b[("person_years", "core20=no")])
            asr = ws[("core20_gap_admissions", "all")] - b[("core20_gap_admissions", "all")]
            per = es[value] / es[cost] * 1e6
        row: dict[str, Any] = {"strategy": s, "label": labels.get(s, s), "draws": len(es)}
        if s != COMPARE and COMPARE in e.index.get_level_values(0):
            d = (es[value] - e.loc[COMPARE][value].reindex(es.index)).dropna()
            row.update(minus_optimised_mean=float(d.mean()), minus_optimised_lower=float(d.quantile(0.025)),
                       minus_optimised_upper=float(d.quantile(0.975)))
        for name, series in (("objective", es[value]), ("cost", es["cost"]), ("cash", es["cash"]),
                             ("admissions_avoided", es["admissions_avoided"]), ("qalys_gained", es["qalys_gained"]),
                             ("nmb_20000", es["nmb_20000"]), ("gap_change", gap), ("core20_gap_asr_change", asr),
                             ("objective_per_1m", per)):
            x = pd.to_numeric(series, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
            row[f"{name}_mean"] = float(x.mean()) if len(x) else np.nan
            row[f"{name}_lower"] = float(x.quantile(0.025)) if len(x) else np.nan
            row[f"{name}_upper"] = float(x.quantile(0.975)) if len(x) else np.nan
        p = pred.get(s)
        if p is not None and len(p):
            pv = p[value]
            sd = float(pv.std(ddof=1)) if len(pv) > 1 else 0.0
            row.update(predicted_mean=float(pv.mean()), predicted_lower=float(pv.mean() - cv.Z95 * sd),
                       predicted_upper=float(pv.mean() + cv.Z95 * sd), predicted_cost=float(p[cost].mean()))
        if s == COMPARE and predicted_raw is not None and len(predicted_raw):
            row["predicted_unshrunk_mean"] = float(predicted_raw[value].mean())
        rows.append(row)
    return pd.DataFrame(rows)
