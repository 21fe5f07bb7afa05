"""Reading an output folder into one object the figures and tables can query.

Everything the report shows comes from here: summary.csv, manifest.json, validation.csv (optional) and
the parameter files the run used. Nothing is computed that the folder cannot support; where a figure or
table needs an outcome or a scenario that the folder lacks, the query returns an empty frame and the
section says so.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import NeighsimError
from ..outcomes import OUT
from ..wording import say

SUMMARY_COLUMNS = ["scenario", "outcome", "period", "level", "area", "stratum", "measure",
                   "mean", "lower", "upper", "n"]
# Outcomes that are already a comparison with the comparator (never differenced again).
RATIO_OUTCOMES = (OUT.roi,)


@dataclass
class RunData:
    """An output folder, parsed once. Selectors return tidy frames (possibly empty)."""

    out_dir: Path
    summary: pd.DataFrame
    manifest: dict[str, Any]
    validation: pd.DataFrame | None
    parameters: list[dict[str, Any]]
    parameters_dir: Path | None
    comparator: str
    scenarios: list[str]
    whole: str
    years: list[str]
    ics_area: str
    notes: list[str] = field(default_factory=list)
    focus_level: str = "ics"  # the area the report is about (`neighsim report --area`): the ICS by default
    focus_area: str = ""

    _groups: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _index: dict[tuple[str, ...], int] = field(default_factory=dict, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)  # indexes shared with for_area's copies

    def __post_init__(self) -> None:
        # Every table and figure asks for a few rows out of hundreds of thousands, hundreds of times:
        # split once by (scenario, outcome) and index single rows by their full key.
        s = self.summary
        self._groups = s.groupby(["scenario", "outcome"], sort=False).indices  # key -> row positions
        keys = zip(s["scenario"], s["outcome"], s["measure"], s["period"], s["level"], s["area"], s["stratum"],
                   strict=True)
        self._index = {k: i for i, k in enumerate(keys)}

    @property
    def area(self) -> str:
        """The name of the area the report is about."""
        return self.focus_area or self.ics_area

    @property
    def is_ics(self) -> bool:
        return self.focus_level == "ics"

    @property
    def comparator_label(self) -> str:
        """What the comparator is called: 'Baseline', or the scenario's name marked as the comparator."""
        from .labels import scenario_label

        return "Baseline" if self.comparator == "baseline" else f"{scenario_label(self.comparator)} (comparator)"

    @property
    def ics_coverage(self) -> str:
        """What the run simulated: its local authorities, or the whole ICS."""
        las = self.local_authorities
        return ", ".join(las) if las else self.ics_area

    @property
    def coverage(self) -> str:
        """The report's area in words."""
        return self.ics_coverage if self.is_ics else f"{self.area} ({LEVEL_NAMES[self.focus_level]})"

    def for_area(self, name: str, level: str | None = None) -> RunData:
        """The same folder, about one area (place, locality or neighbourhood; any case)."""
        lvl, area = resolve_area(self.area_table(), name, level)
        other = copy.copy(self)  # shares the summary and its indexes (built once), not the cached tables
        other.focus_level, other.focus_area, other._cache = lvl, area, {}
        return other

    def _index_of(self, key: str, make: Any) -> Any:
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def area_table(self) -> pd.DataFrame:
        """Every (level, area) in the folder."""
        return self._index_of("area_table", lambda: self.summary[["level", "area"]].drop_duplicates())

    def here(self, **match: Any) -> pd.DataFrame:
        """rows() of the report's area (its level and name)."""
        return self.rows(level=self.focus_level, area=self.area, **match)

    def neighbourhoods_here(self) -> list[str]:
        """Names of the neighbourhoods inside the report's area (all of them for the ICS)."""
        nbs = self.summary.loc[self.summary["level"] == "neighbourhood", "area"].unique().tolist()
        if self.is_ics:
            return nbs
        if self.focus_level == "neighbourhood":
            return [self.area]
        geo = self.manifest.get("geography") or []
        col = {"place": "place", "locality": "locality", "la": "locality"}.get(self.focus_level)
        inside = {g.get("name") for g in geo if isinstance(g, dict) and col and g.get(col) == self.area}
        if inside:
            return [n for n in nbs if n in inside]
        # folders made before the manifest recorded the geography: a neighbourhood's name starts with its
        # locality, and a locality's place follows the geography's own rule
        from ..population.geography import place_of_locality

        loc = {n: n.split(":", 1)[0] for n in nbs}
        if self.focus_level == "place":
            return [n for n in nbs if place_of_locality(loc[n]) == self.area]
        return [n for n in nbs if loc[n] == self.area]

    def areas_here(self, level: str) -> set[str] | None:
        """The areas of `level` inside the report's area (None: all, for the ICS)."""
        if self.is_ics:
            return None
        from ..population.geography import place_of_locality

        nbs = self.neighbourhoods_here()
        if level == "neighbourhood":
            return set(nbs)
        localities = {n.split(":", 1)[0] for n in nbs}
        return localities if level == "locality" else {place_of_locality(x) for x in localities}

    def cached(self, key: str, make: Any) -> Any:
        """Tables are used by the HTML, Markdown and XLSX writers alike: build each once."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # ------------------------------------------------------------------ selectors
    def rows(self, *, scenario: str | None = None, outcome: str | None = None, period: str | None = None,
             level: str | None = None, area: str | None = None, stratum: str | None = None,
             measure: str | None = None) -> pd.DataFrame:
        """Rows matching every given field (None means any)."""
        if scenario is not None and outcome is not None:
            pos = self._groups.get((scenario, outcome))
            if pos is None:
                return self.summary.iloc[0:0]
            s = self.summary.iloc[pos]
        elif outcome is None and level is not None and area is not None:  # an area's rows: indexed too
            by = self._index_of("by_area", lambda: self.summary.groupby(["level", "area", "scenario"],
                                                                        sort=False).indices)
            keys = [(level, area, scenario)] if scenario is not None else [
                (level, area, sc) for sc in [self.comparator, "baseline", *self.scenarios]]
            found = [by[k] for k in dict.fromkeys(keys) if k in by]
            s = self.summary.iloc[np.sort(np.concatenate(found))] if found else self.summary.iloc[0:0]
            level = area = None
        else:
            s = self.summary
            for col, val in (("scenario", scenario), ("outcome", outcome)):
                if val is not None:
                    s = s[s[col] == val]
        for col, val in (("period", period), ("level", level), ("area", area), ("stratum", stratum),
                         ("measure", measure)):
            if val is not None:
                s = s[s[col] == val]
        return s

    def one(self, scenario: str, outcome: str, measure: str = "value", period: str | None = None,
            level: str | None = None, area: str | None = None, stratum: str = "all") -> pd.Series | None:
        """A single summary row (mean, lower, upper, n) or None when the folder lacks it. Default: the
        report's area; a level without an area: the level's first row."""
        if level is None:
            level, area = self.focus_level, area or self.area
        if area is None and level != "ics":
            r = self.rows(scenario=scenario, outcome=outcome, measure=measure, period=period or self.whole,
                          level=level, stratum=stratum)
            return None if r.empty else r.iloc[0]
        key = (scenario, outcome, measure, period or self.whole, level, area or self.ics_area, stratum)
        i = self._index.get(key)
        return None if i is None else self.summary.iloc[i]

    def has_outcome(self, outcome: str, scenario: str | None = None) -> bool:
        return any(o == outcome and (scenario is None or s == scenario) for s, o in self._groups)

    def outcomes(self) -> list[str]:
        return sorted({o for _, o in self._groups})

    def effect(self, scenario: str, outcome: str, *, stratum: str = "all", period: str | None = None,
               level: str | None = None, area: str | None = None) -> tuple[pd.Series | None, str]:
        """The scenario's effect on an outcome and how it was read.

        Outcomes the comparator also has (admissions, costs of admissions, SII...) are read as the paired
        ``difference``; outcomes only scenarios have (net cost, ROI, intervention costs) are already a
        comparison, so the scenario's own ``value`` is the effect. ROI is never differenced.
        """
        base = self.one(self.comparator, outcome, "value", period, level, area, stratum)
        if base is not None and outcome not in RATIO_OUTCOMES:
            return self.one(scenario, outcome, "difference", period, level, area, stratum), "difference"
        return self.one(scenario, outcome, "value", period, level, area, stratum), "value"

    @property
    def intervention_names(self) -> list[str]:
        """Names (and types) of the interventions in the run's scenarios, for labelling their outcomes."""
        names: set[str] = set(self.scenarios)
        for sc in (self.manifest.get("scenarios") or {}).values():
            for iv in (sc or {}).get("interventions", []) if isinstance(sc, dict) else []:
                if isinstance(iv, dict):
                    names.update(str(iv[k]) for k in ("name", "type") if iv.get(k))
        return sorted(names)

    def label(self, outcome: str) -> str:
        from .labels import outcome_label

        return outcome_label(outcome, self.intervention_names)

    @property
    def parameters_used(self) -> list[dict[str, Any]]:
        """The parameters this run used: those its tasks and summary read (manifest.json records them),
        and every parameter that is not an intervention's (the population synthesis reads the rest once,
        before any run); all of them for a folder made before reads were recorded."""
        used = self.manifest.get("parameters_used")
        if not isinstance(used, list):
            return self.parameters
        read = set(used)
        return [p for p in self.parameters if p["parameter"] in read
                or not (str(p["parameter"]).startswith("interventions.") or p.get("plugin"))]

    @property
    def replicates(self) -> int | None:
        r = self.manifest.get("replicates")
        return int(r) if isinstance(r, int | float) else None

    @property
    def scale(self) -> float | None:
        pop = (self.manifest.get("config") or {}).get("population") or {}
        s = pop.get("scale")
        return float(s) if isinstance(s, int | float) else None

    @property
    def scale_up(self) -> bool:
        """Whether the run's counts were scaled up by 1/scale to stand for every resident."""
        pop = (self.manifest.get("config") or {}).get("population") or {}
        return bool(pop.get("scale_up"))

    @property
    def local_authorities(self) -> list[str] | None:
        pop = (self.manifest.get("config") or {}).get("population") or {}
        las = pop.get("local_authorities")
        return list(las) if las else None


LEVEL_NAMES = {"ics": "integrated care system", "place": "place", "la": "local authority", "locality": "locality",
               "neighbourhood": "neighbourhood"}
AREA_LEVELS = ("ics", "place", "locality", "neighbourhood")  # searched in this order; "la" rows are life expectancy only


def resolve_area(areas: pd.DataFrame, name: str, level: str | None = None) -> tuple[str, str]:
    """(level, area) for a name in any case: an exact match first (the widest level that has it), else the
    one area whose name starts with it (a neighbourhood's name begins with its locality). A clear error
    listing the areas when none or several match."""
    if level is not None and level not in AREA_LEVELS:
        raise NeighsimError(f"unknown level {level!r}; expected one of {', '.join(AREA_LEVELS)}")
    levels = [level] if level else list(AREA_LEVELS)
    a = areas[areas["level"].isin(levels)]
    want = str(name).strip().casefold()
    folded = a["area"].astype(str).str.casefold()
    for hits in (a[folded == want], a[folded.str.startswith(want)] if want else a.iloc[0:0]):
        if len(hits):
            hits = hits.assign(_o=hits["level"].map({v: i for i, v in enumerate(AREA_LEVELS)})).sort_values("_o")
            first = hits.iloc[0]
            same_level = hits[hits["level"] == first["level"]]
            if len(same_level) > 1:
                raise NeighsimError(f"area {name!r} matches {len(same_level)} {first['level']} areas: "
                                    + "; ".join(same_level["area"].astype(str).head(8)) + ". Give more of the name")
            return str(first["level"]), str(first["area"])
    listing = "; ".join(f"{lv}: " + ", ".join(sorted(a.loc[a["level"] == lv, "area"].astype(str))[:40])
                        for lv in levels if lv != "ics" and (a["level"] == lv).any())
    raise NeighsimError(f"no area called {name!r} in this output folder. Areas: {listing}")


def _read_manifest(out: Path) -> dict[str, Any]:
    p = out / "manifest.json"
    if not p.exists():
        return {}
    try:
        m = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise NeighsimError(f"{p}: not valid JSON ({e.msg}, line {e.lineno})") from None
    return m if isinstance(m, dict) else {}


def _read_summary(out: Path) -> pd.DataFrame:
    """Every summary row: results.parquet (summary.csv in older folders), its strings plain Python objects
    (one per distinct value) for cheap equality tests on small slices."""
    from ..analysis.cells import read_results

    return read_results(out, objects=True)


def _read_validation(out: Path) -> pd.DataFrame | None:
    p = out / "validation.csv"
    if not p.exists():
        return None
    df = pd.read_csv(p)
    if "pass" in df.columns:
        df["pass"] = df["pass"].astype(str).str.lower().isin(("true", "1", "yes"))
    return df


def _parameters(manifest: dict[str, Any]) -> tuple[list[dict[str, Any]], Path | None, str | None]:
    """The parameter table of the run's own parameter folder when it still exists, else the default one."""
    from ..config import load_config
    from ..parameters import load_parameters

    cfg = manifest.get("config") or {}
    candidates: list[Path] = []
    if cfg.get("base_dir") and cfg.get("parameters"):
        candidates.append(Path(cfg["base_dir"]) / str(cfg["parameters"]))
    note = None
    for d in candidates:
        if d.is_dir():
            return load_parameters(d).table(), d.resolve(), None
    d = load_config().parameters_dir()
    if candidates:
        note = say("note_parameters_moved", was=candidates[0], now=d)
    return load_parameters(d).table(), d, note


def _period_kind(periods: list[str]) -> tuple[str, list[str]]:
    years = sorted(p for p in periods if "/" in p)
    wholes = sorted(p for p in periods if "/" not in p)
    if not wholes:
        raise NeighsimError("summary.csv has no whole-horizon period (such as 2026-2031)")
    return wholes[0], years


def load_run(out_dir: str | Path) -> RunData:
    """Parse an output folder; raises NeighsimError with a plain message when it is not one."""
    out = Path(out_dir)
    if not out.is_dir():
        raise NeighsimError(f"{out}: no such output folder")
    summary = _read_summary(out)
    manifest = _read_manifest(out)
    comparator = str(manifest.get("comparator") or "baseline")
    present = list(dict.fromkeys(summary["scenario"]))
    if comparator not in present:
        raise NeighsimError(f"{out}/summary.csv: no rows for the comparator scenario {comparator!r}")
    # the baseline is never shown as an intervention, also when another scenario is the comparator
    shown = [s for s in present if s not in (comparator, "baseline")]
    ordered = [s for s in (manifest.get("scenarios") or {}) if s in shown]
    scenarios = ordered + sorted(s for s in shown if s not in ordered)
    whole, years = _period_kind(list(summary["period"].unique()))
    ics = summary.loc[summary["level"] == "ics", "area"]
    ics_area = str(ics.iloc[0]) if len(ics) else ""
    params, pdir, pnote = _parameters(manifest)
    data = RunData(out_dir=out, summary=summary, manifest=manifest, validation=_read_validation(out),
                   parameters=params, parameters_dir=pdir, comparator=comparator, scenarios=scenarios,
                   whole=whole, years=years, ics_area=ics_area)
    if pnote:
        data.notes.append(pnote)
    data.notes.extend(_data_notes(data))
    return data


def _data_notes(d: RunData) -> list[str]:
    """Plain statements about the folder a reader should know before quoting numbers (wording:
    templates/text.j2)."""
    notes: list[str] = []
    las = d.local_authorities
    if las:
        notes.append(say("note_some_las", las=", ".join(las), ics=d.ics_area))
    if d.scale is not None and d.scale < 1:
        notes.append(say("note_sample", share=f"{d.scale:.0%}", scale=f"{d.scale:g}", factor=f"{1 / d.scale:.3g}",
                         scaled=d.scale_up))
    reps = d.replicates
    if reps:
        short = d.summary[d.summary["n"] < reps]
        if len(short):
            notes.append(say("note_short_rows", short=f"{len(short):,}", total=f"{len(d.summary):,}", reps=reps))
        if reps < 10:
            notes.append(say("note_few_replicates", reps=reps))
    if d.scenarios and d.has_outcome(OUT.costs_avoided_social_care):
        notes.append(say("note_reference_case"))
    elif d.scenarios:
        notes.append(say("note_old_economics"))
    if any(o.endswith("_ottawa_implied_readmissions_avoided") for o in d.outcomes()):
        notes.append(say("note_ottawa"))
    return notes
