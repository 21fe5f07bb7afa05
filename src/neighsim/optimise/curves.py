"""Response curves: what each intervention buys in each neighbourhood at a few capacity levels.

For every intervention, one scenario per capacity level targets *all* the area's neighbourhoods at once,
each with its own places (`capacity: {per: neighbourhood, places: {...}}`), and the summary's
neighbourhood rows give every neighbourhood's curve from those few runs. This is exact when effects are
separable by neighbourhood: residents receive an intervention only in their own neighbourhood, every
neighbourhood is simulated on its own (a neighbourhood alone equals the same neighbourhood in a whole run,
docs/reliability.md) and its places are its own (per-neighbourhood capacity, never an ICS-wide pool shared
out by eligible residents). tests/test_optimise.py checks it on Tamworth.

Levels are fractions of what each neighbourhood could take: the most participants (places) it uses in a
financial year when the intervention is unlimited (the demand run), never more than the scenario's own
capacity for the whole area.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import LOCAL_AUTHORITIES, ICSConfig, _area_key, neighbourhood_table
from ..errors import NeighsimError, warn
from ..paths import project_root
from ..wording import say

BUILT_IN = ("health_checks", "tobacco", "warm_homes", "falls_pathway")
METRICS = ("cost", "cash", "admissions_avoided", "qalys_gained", "nmb_20000", "gap_change", "core20_cost",
           "participants")
ECONOMICS = {"cost_programme": "cost", "budget_programme_cash": "cash", "admissions_avoided": "admissions_avoided",
             "qalys_gained": "qalys_gained", "nmb_20000": "nmb_20000"}
Z95 = 1.959963984540054


# --- the area -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Area:
    """The area the budget is for: its level, name, neighbourhood ids and names, local authorities."""

    level: str
    name: str
    ids: tuple[int, ...]
    names: dict[int, str]
    local_authorities: tuple[str, ...] | None  # None: the whole ICS

    @property
    def whole_ics(self) -> bool:
        return self.local_authorities is None


def resolve_area(cfg: ICSConfig, text: str | None) -> Area:
    """The area a user names (--area): the ICS, a place, a local authority, a locality or a neighbourhood,
    by name in any case (a neighbourhood also by id, or by its name without the locality), or the one area
    whose name starts with it. One line naming --area and the areas otherwise."""
    table = neighbourhood_table(cfg)
    names = {int(i): str(n) for i, n in zip(table["id"], table["name"], strict=True)}
    ics = cfg.name

    def area(level: str, name: str, rows: pd.DataFrame) -> Area:
        las = tuple(la for la in LOCAL_AUTHORITIES if la in set(rows["local_authority"]))
        ids = tuple(sorted(int(i) for i in rows["id"]))
        return Area(level, name, ids, {i: names[i] for i in ids}, None if level == "ics" else las)

    if text is None or _area_key(text) in (_area_key(ics), "ics", "all"):
        return area("ics", ics, table)
    want = _area_key(text)
    cands: list[tuple[str, str, pd.DataFrame]] = []
    for level, col in (("place", "place"), ("local authority", "local_authority"), ("locality", "locality"),
                       ("neighbourhood", "name")):
        for value in dict.fromkeys(table[col].astype(str)):
            cands.append((level, value, table[table[col].astype(str) == value]))
    for _, r in table.iterrows():  # a neighbourhood by its name without the locality, or by id
        cands.append(("neighbourhood", str(r["name"]).partition(": ")[2] or str(r["name"]),
                      table[table["id"] == r["id"]]))
    if want.isdigit() and int(want) in names:
        return area("neighbourhood", names[int(want)], table[table["id"] == int(want)])
    for match in (lambda k: k == want, lambda k: k.startswith(want)):
        hits = [(lv, nm, rows) for lv, nm, rows in cands if match(_area_key(nm))]
        if not hits:
            continue
        # the same neighbourhoods named at several levels (Tamworth is a local authority and a locality)
        distinct = {tuple(sorted(rows["id"])): (lv, nm, rows) for lv, nm, rows in hits}
        if len(distinct) > 1:
            raise NeighsimError(f"--area {text!r} matches {len(distinct)} areas: "
                                + "; ".join(f"{nm} ({lv})" for lv, nm, _ in list(distinct.values())[:8])
                                + ". Give more of the name")
        lv, nm, rows = next(iter(distinct.values()))
        level = "neighbourhood" if len(rows) == 1 else lv
        return area(level, names[int(rows["id"].iloc[0])] if level == "neighbourhood" else nm, rows)
    places = sorted(set(table["place"]))
    localities = list(dict.fromkeys(table["locality"]))
    raise NeighsimError(f"--area {text!r}: no such area. Give the ICS, a place ({', '.join(places)}), a local "
                        f"authority or locality ({', '.join(localities)}) or a neighbourhood (id or name, any case; "
                        "`neighsim population` lists them)")


def area_config(cfg: ICSConfig, area: Area) -> ICSConfig:
    """The configuration that simulates the area's local authorities (the whole ICS: all nine)."""
    if area.whole_ics:
        return cfg.with_overrides(population={"local_authorities": None})
    return cfg.with_overrides(population={"local_authorities": list(area.local_authorities)})


# --- the interventions --------------------------------------------------------------------------------------
@dataclass
class Candidate:
    """An intervention the budget may buy: the scenario file it comes from and its entry there, the
    neighbourhoods of the area it can reach, and the most places a year the scenario allows in the area."""

    name: str  # the intervention's name (its entry's `name`, or its type): outcomes are `<name>_...`
    file: str
    entry: dict[str, Any]
    reach: tuple[int, ...]  # area neighbourhoods with targeted, eligible residents
    limit: float | None  # places a year the scenario allows in the area, full scale; None: unlimited
    notes: list[str] = field(default_factory=list)


def scenario_files() -> dict[str, Path]:
    """Scenario files with one intervention in configs/scenarios, by file name (stem); not those taking
    their places from another scenario (same_as)."""
    from ..yamlio import read_yaml

    out: dict[str, Path] = {}
    for p in sorted((project_root() / "configs" / "scenarios").glob("*.yaml")):
        try:
            raw = read_yaml(p)
        except Exception:  # noqa: BLE001  (a broken file elsewhere must not stop this one)
            continue
        ivs = raw.get("interventions") if isinstance(raw, dict) else None
        if isinstance(ivs, list) and len(ivs) == 1 and isinstance(ivs[0], dict) and not (
                isinstance(ivs[0].get("capacity"), dict) and "same_as" in ivs[0]["capacity"]):
            out[p.stem] = p  # one intervention with places of its own
    return out


def resolve_interventions(items: list[str] | None, cfg: ICSConfig, area: Area) -> list[Candidate]:
    """--interventions: scenario files of one intervention, by path or by name (the file's name in
    configs/scenarios, e.g. falls_pathway or falls_pathway_core20); default the four built-in ones."""
    from ..api import load_scenarios
    from ..interventions import registry
    from ..interventions.scenario import ics_population
    from ..yamlio import read_yaml

    known = scenario_files()
    out: list[Candidate] = []
    for item in items or list(BUILT_IN):
        p = Path(item)
        if not (item.endswith((".yaml", ".yml")) or p.is_file()):
            key = item.strip().casefold().replace("-", "_")
            if key not in known:
                raise NeighsimError(f"--interventions: unknown intervention {item!r}; expected one of "
                                    f"{', '.join(known)} (scenario files of one intervention in configs/scenarios) "
                                    "or the path of such a scenario file")
            p = known[key]
        elif not p.is_file():
            raise NeighsimError(f"--interventions: {item}: no such scenario file")
        raw = read_yaml(p)
        ivs = raw.get("interventions") if isinstance(raw, dict) else None
        if not isinstance(ivs, list) or len(ivs) != 1:
            raise NeighsimError(f"--interventions: {p} holds {len(ivs) if isinstance(ivs, list) else 'no'} "
                                "interventions; give scenario files of one intervention each")
        sc = next(iter(load_scenarios([p], cfg).values()))  # validates it (one line naming file and field)
        spec = sc.specs[0]
        d = spec.delivery
        if d.same_as is not None:
            raise NeighsimError(f"--interventions: {p} takes its places from another scenario (same_as); give a "
                                "file with its own capacity or budget")
        entry = copy.deepcopy(ivs[0])
        notes = []
        fixed = (entry.get("cost") or {}).get("fixed_per_year", 0)
        if fixed not in (0, None):
            notes.append(say("opt_note_fixed_cost", fixed=fixed))
            warn(f"--interventions: {p}: {notes[-1]}")
        cls = registry.get(spec.type)
        pop = ics_population(cfg)
        shares = cls.compute_shares(pop.cohort, d.rule, d.targeting)
        reach = tuple(n for n in area.ids if shares.get(n, 0.0) > 0)
        limit = None
        if d.capacity is not None:
            basis = d.capacity_shares if d.capacity_shares is not None else (d.shares or shares)
            limit = float(d.capacity) * float(sum(basis.get(n, 0.0) for n in area.ids))
        if any(c.name == spec.name for c in out):
            raise NeighsimError(f"--interventions: two interventions are called {spec.name!r}; give each once")
        out.append(Candidate(spec.name, str(p), entry, reach, limit, notes))
    return out


# --- scenarios at given capacities ----------------------------------------------------------------------------
def entry_at(c: Candidate, places: dict[int, float] | None, area: Area, core20: bool = False) -> dict[str, Any]:
    """The candidate's scenario entry targeted at the neighbourhoods of `places` (ids -> places a year at
    full scale), each with its own places; `places` None: unlimited in every neighbourhood it reaches.
    `core20`: only Core20 residents (IMD deciles 1-2)."""
    e = copy.deepcopy(c.entry)
    nbs = sorted(places) if places is not None else list(c.reach)
    t = e.get("targeting")
    target: dict[str, Any] = {}
    if isinstance(t, dict):
        target = {k: v for k, v in t.items() if k in ("core20", "imd_deciles") and v not in (None, False)}
    elif t == "core20":
        target = {"core20": True}
    if core20:
        target.pop("imd_deciles", None)
        target["core20"] = True
    target["neighbourhoods"] = [area.names[n] for n in nbs]
    e["targeting"] = target
    e.pop("budget", None)
    e["capacity"] = None if places is None else {
        "per": "neighbourhood", "places": {area.names[n]: round(float(places[n]), 1) for n in nbs}}
    cost = dict(e.get("cost") or {})
    if cost.get("fixed_per_year") not in (None, 0):
        cost["fixed_per_year"] = 0
    if cost:
        e["cost"] = cost
    e.pop("name", None)
    return {"type": e.pop("type"), "name": c.name, **e}


def level_label(level: float) -> str:
    return f"{level * 100:g}".replace(".", "p")


def whole_period(periods: list[str]) -> str:
    whole = sorted(p for p in periods if "-" in p and "/" not in p)
    if not whole:
        raise NeighsimError("the run has no whole-period rows")
    return whole[0]


# --- running and reading ----------------------------------------------------------------------------------------
@dataclass
class RunSettings:
    cfg: ICSConfig
    area: Area
    replicates: int
    psa: bool
    backend: str = "serial"
    workers: int | None = None
    progress: bool = True
    force_new: bool = False

    @property
    def neighbourhoods(self) -> list[int] | None:
        return None if self.area.whole_ics else list(self.area.ids)


def run(settings: RunSettings, out: Path, scenarios: dict[str, dict[str, Any]], *, replicates: int | None = None,
        psa: bool | None = None) -> Path:
    """Run the baseline and `scenarios` (dicts of scenario files) into `out`, continuing a folder made
    with the same inputs (so a second optimisation of the same curves, another budget, runs nothing)."""
    from ..api import load_scenarios
    from ..runner.experiment import run_experiment

    sc = load_scenarios(list(scenarios.values()), settings.cfg)
    run_experiment(settings.cfg, out, scenarios=sc, replicates=replicates or settings.replicates,
                   psa=settings.psa if psa is None else psa, neighbourhoods=settings.neighbourhoods,
                   backend=settings.backend, workers=settings.workers, resume=True, force_new=settings.force_new,
                   progress=settings.progress, name=out.name)
    return out


def _read(out: Path, name: str, **match: Any) -> pd.DataFrame:
    filters = [(k, "in", list(v)) if isinstance(v, list | tuple | set) else (k, "==", v) for k, v in match.items()]
    return pd.read_parquet(out / name, filters=filters or None)


def demand(out: Path, candidates: list[Candidate], area: Area) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(demand, core20 share): per intervention and neighbourhood, the most participants a year (full scale,
    mean over replicates) of the unlimited run, and the Core20 share of its participants over the period."""
    by_name = {v: k for k, v in area.names.items()}
    outcomes = [f"{c.name}_participants" for c in candidates]
    r = _read(out, "replicates.parquet", level="neighbourhood", outcome=outcomes,
              stratum=["all", "core20=yes"])
    r = r[r["scenario"] != "baseline"]
    r["neighbourhood"] = r["area"].map(by_name)
    r["intervention"] = r["outcome"].str.removesuffix("_participants")
    years = r[r["period"].str.contains("/") & (r["stratum"] == "all")]
    peak = years.groupby(["intervention", "neighbourhood", "replicate"])["value"].max()
    dem = peak.groupby(["intervention", "neighbourhood"]).mean().rename("demand").reset_index()
    period = whole_period(list(r["period"].unique()))
    w = r[r["period"] == period].pivot_table(index=["intervention", "neighbourhood"], columns="stratum",
                                             values="value", aggfunc="sum")
    share = (w.get("core20=yes", 0.0) / w["all"].where(w["all"] > 0)).fillna(0.0).rename("core20_share")
    return dem, share.reset_index()


def read_curves(out: Path, labels: dict[str, tuple[str, float]], capacities: dict[tuple[str, float], dict[int, float]],
                area: Area) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, neighbourhoods): per intervention, neighbourhood, level and replicate every metric (the
    neighbourhood's rows of the run; gap_change and core20_cost worked out from its Core20 rows), and per
    neighbourhood the baseline's person-years, Core20 person-years and emergency admissions (means)."""
    by_name = {v: k for k, v in area.names.items()}
    econ = _read(out, "economics_replicates.parquet", level="neighbourhood", outcome=list(ECONOMICS),
                 stratum="all")
    period = whole_period(list(econ["period"].unique()))
    econ = econ[econ["period"] == period]
    e = econ.pivot_table(index=["scenario", "replicate", "area"], columns="outcome", values="value", aggfunc="sum")
    e = e.rename(columns=ECONOMICS).reset_index()
    ivs = sorted({iv for iv, _ in labels.values()})
    outs = ["emergency_admissions", "cost_intervention", "person_years"] + [f"{iv}_participants" for iv in ivs]
    r = _read(out, "replicates.parquet", level=["neighbourhood", "ics"], period=period, outcome=outs,
              stratum=["all", "core20=yes", "core20=no"])
    nb = r[r["level"] == "neighbourhood"]
    w = nb.pivot_table(index=["scenario", "replicate", "area"], columns=["outcome", "stratum"], values="value",
                       aggfunc="sum")
    w.columns = [f"{o}|{s}" for o, s in w.columns]
    w = w.reset_index()
    base = w[w["scenario"] == "baseline"].drop(columns="scenario").set_index(["replicate", "area"])
    ics = r[(r["level"] == "ics") & (r["scenario"] == "baseline") & (r["outcome"] == "person_years")]
    py = ics.pivot_table(index="replicate", columns="stratum", values="value", aggfunc="sum")
    rows = []
    for scen, (iv, level) in labels.items():
        s = w[w["scenario"] == scen].set_index(["replicate", "area"])
        if s.empty:
            continue
        d = s.join(base.add_suffix("_b"), how="inner")

        def col(frame: pd.DataFrame, name: str, suffix: str = "") -> pd.Series:
            return frame[name + suffix] if name + suffix in frame else pd.Series(0.0, index=frame.index)

        d_c20 = col(d, "emergency_admissions|core20=yes").fillna(0) - col(d, "emergency_admissions|core20=yes", "_b").fillna(0)
        d_non = col(d, "emergency_admissions|core20=no").fillna(0) - col(d, "emergency_admissions|core20=no", "_b").fillna(0)
        reps = d.index.get_level_values("replicate")
        py_c20 = py["core20=yes"].reindex(reps).to_numpy() if "core20=yes" in py else np.full(len(d), np.nan)
        py_non = py["core20=no"].reindex(reps).to_numpy() if "core20=no" in py else np.full(len(d), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = 1000.0 * (d_c20.to_numpy() / py_c20 - d_non.to_numpy() / py_non)
            ci_all = col(d, "cost_intervention|all").fillna(0).to_numpy()
            c20_frac = np.where(ci_all > 0, col(d, "cost_intervention|core20=yes").fillna(0).to_numpy() / ci_all, 0.0)
        frame = pd.DataFrame({"scenario": scen, "intervention": iv, "level": level,
                              "replicate": reps, "area": d.index.get_level_values("area"),
                              "gap_change": gap, "core20_frac": c20_frac,
                              "participants": col(d, f"{iv}_participants|all").fillna(0).to_numpy()})
        rows.append(frame)
    curves = pd.concat(rows, ignore_index=True)
    curves = curves.merge(e, on=["scenario", "replicate", "area"], how="left")
    for m in ECONOMICS.values():
        curves[m] = curves[m].fillna(0.0)
    curves["core20_cost"] = curves["cost"] * curves["core20_frac"]
    curves["neighbourhood"] = curves["area"].map(by_name)
    curves = curves[curves["neighbourhood"].notna()].copy()
    curves["neighbourhood"] = curves["neighbourhood"].astype(int)
    curves["capacity"] = [capacities[(iv, lv)].get(n, 0.0)
                          for iv, lv, n in zip(curves["intervention"], curves["level"], curves["neighbourhood"],
                                               strict=True)]
    # a neighbourhood the level did not target (nobody there to reach) is no option
    curves = curves[curves["capacity"] > 0].drop(columns=["scenario", "core20_frac"])
    b = base.reset_index()
    b["neighbourhood"] = b["area"].map(by_name)
    for c in ("person_years|core20=yes", "emergency_admissions|all"):
        b[c] = b[c].fillna(0.0) if c in b else 0.0
    nbh = b.groupby("neighbourhood").agg(
        person_years=("person_years|all", "mean"), core20_person_years=("person_years|core20=yes", "mean"),
        admissions=("emergency_admissions|all", "mean")).reset_index()
    nbh["neighbourhood"] = nbh["neighbourhood"].astype(int)
    nbh["name"] = nbh["neighbourhood"].map(area.names)
    return curves.sort_values(["intervention", "neighbourhood", "level", "replicate"]).reset_index(drop=True), nbh


def summarise(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per option (intervention, neighbourhood, level): each metric's mean, sd across replicates
    and interval (mean ± 1.96 sd: the spread of one run's result)."""
    keys = ["intervention", "neighbourhood", "area", "level", "capacity"]
    g = curves.groupby(keys, sort=True)
    out = g[list(METRICS)].mean()
    sd = g[list(METRICS)].std(ddof=1).fillna(0.0)
    for m in METRICS:
        out[f"{m}_sd"] = sd[m]
        out[f"{m}_lower"] = out[m] - Z95 * sd[m]
        out[f"{m}_upper"] = out[m] + Z95 * sd[m]
    out["replicates"] = g.size()
    return out.reset_index()


SHRUNK = ("admissions_avoided", "qalys_gained", "nmb_20000", "gap_change")


def shrink(options: pd.DataFrame, curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Empirical-Bayes shrinkage of each option's effects (admissions avoided, QALYs, NMB, gap change) per
    participant towards the pooled effect per participant of the same intervention and level across the
    area's neighbourhoods: y*_k = mu + B_k (y_k - mu), B_k = tau^2 / (tau^2 + s_k^2), with s_k^2 the
    variance of the option's mean (sd^2 / replicates / participants^2), mu = sum of effects / sum of
    participants and tau^2 the between-neighbourhood variance (moments, participant-weighted, at least 0).
    Returns the options with shrunk means (raw ones kept as `<metric>_raw`; intervals moved with the mean)
    and the per-replicate curves moved by the same amount (so sums over options keep their spread)."""
    opts = options.copy()
    shift = pd.DataFrame(0.0, index=opts.index, columns=list(SHRUNK))
    for _, g in opts.groupby(["intervention", "level"]):
        part = g["participants"].to_numpy(float)
        ok = part > 0
        if ok.sum() < 2:
            continue
        for m in SHRUNK:
            y = g[m].to_numpy(float)[ok] / part[ok]
            s2 = (g[f"{m}_sd"].to_numpy(float)[ok] ** 2 / g["replicates"].to_numpy(float)[ok]) / part[ok] ** 2
            w = part[ok] / part[ok].sum()
            mu = float(g[m].to_numpy(float)[ok].sum() / part[ok].sum())
            tau2 = max(0.0, float((w * (y - mu) ** 2).sum() - (w * s2).sum()))
            b = np.divide(tau2, tau2 + s2, out=np.ones_like(s2), where=(tau2 + s2) > 0)
            new = (mu + b * (y - mu)) * part[ok]
            shift.loc[g.index[ok], m] = new - g[m].to_numpy(float)[ok]
    for m in SHRUNK:
        opts[f"{m}_raw"] = opts[m]
        for col in (m, f"{m}_lower", f"{m}_upper"):
            opts[col] = opts[col] + shift[m]
    keys = ["intervention", "neighbourhood", "level"]
    moved = curves.merge(pd.concat([opts[keys], shift], axis=1), on=keys, how="left", suffixes=("", "_shift"))
    for m in SHRUNK:
        moved[m] = moved[m] + moved[f"{m}_shift"].fillna(0.0)
    return opts, moved.drop(columns=[f"{m}_shift" for m in SHRUNK])


def stamp() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")
