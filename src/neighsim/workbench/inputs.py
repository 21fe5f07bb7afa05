"""What the analyst sets in the workbench, as plain data: the area, the run settings and the scenarios.

Nothing here knows about Solara. The page keeps each scenario as a *form* (the text of its fields) and
turns it into a scenario dict with the structure of a scenario file (`name`, `description`,
`interventions`); that dict is checked by the same schema as the files (interventions/schema.py) while
the analyst types, and in full (dates against the projection, areas, capacity shares, `same_as`) by
`neighsim.api.load_scenarios` before a run. The run settings are checked by the experiment file's schema
(runner/experiment_file.py). Every problem becomes one line naming the scenario (as `<scenario N: NAME>`,
the way `api.load_scenarios` names dicts) and the field, never a traceback.

A run is identified by its cache key: a hash of the scenario dicts, the area, the scale, the replicates
(and PSA, years, seed) and of the configuration and parameter values it reads.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

from ..errors import ConfigError, NeighsimError

DEFAULT_SCALE = 0.05  # a 5% sample, counts scaled up: a locality runs in a few seconds
DEFAULT_REPLICATES = 3
MAX_SCENARIOS = 4
MAX_REPLICATES = 50  # interactive use; `neighsim run --psa N` for more
LEVELS = ("ics", "place", "locality", "neighbourhoods")
LEVEL_LABELS = {"ics": "Whole ICS", "place": "Place", "locality": "Locality",
                "neighbourhoods": "Neighbourhoods"}
TARGET_MODES = ("all", "core20", "areas")
PLACE_MODES = ("unlimited", "capacity", "budget")
SETTINGS_LABEL = "<run settings>"
CACHE_VERSION = 1  # bump when what a cached folder holds changes


class InputError(NeighsimError):
    """One or more problems with what the analyst set; `problems` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# --- the area ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Area:
    """What to simulate and report: the whole ICS, a place, a locality, or some neighbourhoods (by name)."""

    level: str = "locality"
    names: tuple[str, ...] = ("Tamworth",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))

    @property
    def label(self) -> str:
        if self.level == "ics":
            return "the whole ICS"
        if self.level == "neighbourhoods" and len(self.names) != 1:
            return f"{len(self.names)} neighbourhoods"
        return self.names[0] if self.names else "(none chosen)"

    def canonical(self) -> dict[str, Any]:
        names = sorted(self.names) if self.level == "neighbourhoods" else list(self.names)
        return {"level": self.level, "names": [] if self.level == "ics" else names}


def neighbourhoods_of(area: Area, table) -> list[int]:
    """Neighbourhood ids of an area (table: config.neighbourhood_table). InputError when it is empty or
    names an unknown place, locality or neighbourhood."""
    if area.level not in LEVELS:
        raise InputError([f"{SETTINGS_LABEL}, field 'area.level': expected one of {', '.join(LEVELS)}, "
                          f"got {area.level!r}"])
    if area.level == "ics":
        return sorted(int(i) for i in table["id"])
    if not area.names:
        what = "neighbourhood" if area.level == "neighbourhoods" else area.level
        raise InputError([f"{SETTINGS_LABEL}, field 'area': choose a {what} (from the list or the map)"])
    col = {"place": "place", "locality": "locality", "neighbourhoods": "name"}[area.level]
    known = {str(n).casefold(): str(n) for n in table[col].unique()}
    unknown = [n for n in area.names if str(n).casefold() not in known]
    if unknown:
        raise InputError([f"{SETTINGS_LABEL}, field 'area': unknown {col if col != 'name' else 'neighbourhood'} "
                          f"{', '.join(map(repr, unknown))}; known: {'; '.join(sorted(known.values()))}"])
    want = {known[str(n).casefold()] for n in area.names}
    return sorted(int(i) for i in table.loc[table[col].isin(want), "id"])


def report_area(area: Area) -> str | None:
    """The area name the results and the report are read for (`api.headline(area=...)`,
    `write_report(area=...)`); None: the run's whole area (the ICS, or several neighbourhoods: the run
    covers exactly them, so its top-level rows are theirs)."""
    if area.level in ("place", "locality") or (area.level == "neighbourhoods" and len(area.names) == 1):
        return area.names[0]
    return None


# --- run settings ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSettings:
    scale: float = DEFAULT_SCALE
    replicates: int = DEFAULT_REPLICATES
    psa: bool = True
    years: int = 5
    seed: int | None = None


def check_settings(s: RunSettings) -> None:
    """The experiment file's schema (the same bounds as `neighsim experiment`), then the workbench's own
    limit on replicates."""
    from pydantic import ValidationError

    from ..config import validation_to_config_error
    from ..runner.experiment_file import ExperimentSpec

    raw = {"name": "workbench", "replicates": s.replicates, "psa": s.psa, "scale": s.scale, "scale_up": True,
           "years": s.years}
    if s.seed is not None:
        raw["seed"] = s.seed
    try:
        ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise InputError([str(validation_to_config_error(SETTINGS_LABEL, exc))]) from None
    if s.replicates > MAX_REPLICATES:
        raise InputError([f"{SETTINGS_LABEL}, field 'replicates': at most {MAX_REPLICATES} here (interactive "
                          f"use), got {s.replicates}; run `neighsim run --psa N` for more"])


def config_overrides(s: RunSettings) -> dict[str, Any]:
    out: dict[str, Any] = {"population": {"scale": float(s.scale), "scale_up": True},
                           "time": {"months": 12 * int(s.years)}}
    if s.seed is not None:
        out["seed"] = int(s.seed)
    return out


# --- scenario forms ------------------------------------------------------------------------------------
def blank_entry(kind: str = "falls_pathway") -> dict[str, Any]:
    """The form of one intervention: every field as the page shows it (text for numbers)."""
    return {"type": kind, "name": "", "start": "", "end": "", "ramp_months": "0", "target_mode": "all",
            "target_localities": [], "target_neighbourhoods": [], "target_core20": False, "eligibility": "",
            "uptake": "", "places": "unlimited", "amount": "", "allocation": "random", "extra": ""}


def blank_scenario(name: str = "scenario_1", kind: str = "falls_pathway") -> dict[str, Any]:
    return {"name": name, "description": "", "interventions": [blank_entry(kind)]}


def _number(text: Any) -> Any:
    """A number typed as text: int or float when it reads as one, else the text itself (so the schema
    names what is wrong with it, exactly as for a file)."""
    if not isinstance(text, str):
        return text
    t = text.strip().replace(",", "").replace("£", "")
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return text.strip()


def _label(index: int, name: Any) -> str:
    return f"<scenario {index}: {name}>" if name else f"<scenario {index}>"


def entry_from_form(f: dict[str, Any], label: str, pre: str) -> dict[str, Any]:
    """One intervention's form as a scenario-file entry (ConfigError for what the form itself cannot
    read: the extra settings' YAML, an area list left empty)."""
    e: dict[str, Any] = {"type": str(f.get("type") or "").strip()}
    if str(f.get("name") or "").strip():
        e["name"] = str(f["name"]).strip()
    for key in ("start", "end"):
        if str(f.get(key) or "").strip():
            e[key] = str(f[key]).strip()
    ramp = str(f.get("ramp_months", "") or "").strip()
    if ramp:
        e["ramp_months"] = _number(ramp)
    mode = f.get("target_mode") or "all"
    if mode == "core20":
        e["targeting"] = "core20"
    elif mode == "areas":
        t: dict[str, Any] = {}
        if f.get("target_localities"):
            t["localities"] = list(f["target_localities"])
        if f.get("target_neighbourhoods"):
            t["neighbourhoods"] = list(f["target_neighbourhoods"])
        if not t:
            raise ConfigError(label, f"{pre}.targeting", "choose at least one locality or neighbourhood to target "
                                                         "(or target all)")
        if f.get("target_core20"):
            t["core20"] = True
        e["targeting"] = t
    elif mode != "all":
        raise ConfigError(label, f"{pre}.targeting", f"expected one of {', '.join(TARGET_MODES)}, got {mode!r}")
    if str(f.get("eligibility") or "").strip():
        e["eligibility"] = str(f["eligibility"]).strip()
    if str(f.get("uptake") or "").strip():
        e["uptake"] = _number(f["uptake"])
    places = f.get("places") or "unlimited"
    amount = str(f.get("amount") or "").strip()
    if places in ("capacity", "budget"):
        if not amount:
            what = "places a year" if places == "capacity" else "pounds a year"
            raise ConfigError(label, f"{pre}.{places}", f"give the {what} (whole ICS at full scale), or choose "
                                                       "unlimited")
        e[places] = _number(amount)
    elif places != "unlimited":
        raise ConfigError(label, f"{pre}.capacity", f"expected one of {', '.join(PLACE_MODES)}, got {places!r}")
    if f.get("allocation"):
        e["allocation"] = f["allocation"]
    extra = str(f.get("extra") or "").strip()
    if extra:
        try:
            more = yaml.safe_load(extra)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise ConfigError(label, f"{pre} (extra settings)", f"not valid YAML{where}: "
                                                                f"{getattr(exc, 'problem', None) or exc}") from None
        if more is not None and not isinstance(more, dict):
            raise ConfigError(label, f"{pre} (extra settings)", "expected keys and values, e.g. "
                                                                "'cost: {per_participant: 300}'")
        e.update(more or {})
    return e


def scenario_from_form(form: dict[str, Any], index: int) -> dict[str, Any]:
    """A scenario form as a scenario dict (the structure of a scenario file)."""
    name = str(form.get("name") or "").strip()
    label = _label(index, name)
    out: dict[str, Any] = {"name": name or None, "description": str(form.get("description") or "").strip()}
    out["interventions"] = [entry_from_form(f, label, f"interventions[{i}]")
                            for i, f in enumerate(form.get("interventions") or [])]
    return out


def form_from_scenario(d: dict[str, Any]) -> dict[str, Any]:
    """A scenario dict (a bundled file) as a form; what the form has no field for is kept, unchanged, in
    each intervention's extra settings (YAML), so nothing is lost."""
    entries = []
    for raw in d.get("interventions") or []:
        e = dict(raw)
        f = blank_entry(str(e.pop("type", "")))
        for key in ("name", "start", "end"):
            v = e.pop(key, None)
            f[key] = "" if v is None else str(v)
        f["ramp_months"] = str(e.pop("ramp_months", 0))
        t = e.pop("targeting", "all")
        if t in (None, "all"):
            f["target_mode"] = "all"
        elif t == "core20":
            f["target_mode"] = "core20"
        elif isinstance(t, dict) and set(t) <= {"localities", "neighbourhoods", "core20"} and (
                t.get("localities") or t.get("neighbourhoods")):
            f.update(target_mode="areas", target_localities=_as_list(t.get("localities")),
                     target_neighbourhoods=_as_list(t.get("neighbourhoods")), target_core20=bool(t.get("core20")))
        else:
            e["targeting"] = t
        rule = e.pop("eligibility", None)
        if isinstance(rule, str):
            f["eligibility"] = rule
        elif rule is not None:
            e["eligibility"] = rule
        up = e.pop("uptake", None)
        if isinstance(up, dict) and set(up) == {"probability"}:
            up = up["probability"]
        if isinstance(up, int | float | str) and not isinstance(up, bool):
            f["uptake"] = str(up)
        elif up is not None:
            e["uptake"] = up
        for key in ("capacity", "budget"):
            v = e.pop(key, None)
            if isinstance(v, int | float) and not isinstance(v, bool):
                f["places"], f["amount"] = key, f"{v:g}"
            elif v is not None:
                e[key] = v
        f["allocation"] = str(e.pop("allocation", "random"))
        e.pop("description", None)
        f["extra"] = yaml.safe_dump(e, sort_keys=False, default_flow_style=None).strip() if e else ""
        entries.append(f)
    return {"name": str(d.get("name") or ""), "description": str(d.get("description") or ""),
            "interventions": entries or [blank_entry()]}


def _as_list(v: Any) -> list[Any]:
    return [] if v is None else list(v) if isinstance(v, list | tuple) else [v]


def quick_check(form: dict[str, Any], index: int, params: Any = None) -> tuple[dict[str, Any] | None, str | None]:
    """(scenario dict, None), or (dict or None, the problem as one line): the form read, then the scenario
    file's schema (interventions/schema.py) with the parameter names checked when `params` is given. The
    checks that need the population (areas, capacity shares, dates against the horizon) are left to
    `full_check`."""
    from pydantic import ValidationError

    from ..config import validation_to_config_error
    from ..interventions import registry
    from ..interventions.schema import CAPACITY_TAGS, NAME_PATTERN, scenario_model

    try:
        d = scenario_from_form(form, index)
    except ConfigError as exc:
        return None, str(exc)
    label = _label(index, d.get("name"))
    types = registry.types()
    try:
        scenario_model(types).model_validate(d, context={"params": params} if params is not None else None)
    except ValidationError as exc:
        return d, str(validation_to_config_error(label, exc, frozenset(types) | CAPACITY_TAGS))
    import re

    if not d.get("name") or not re.match(NAME_PATTERN, d["name"]):
        return d, f"{label}, field 'name': expected a short name (letters, digits, _ . -), got {d.get('name')!r}"
    if d["name"] == "baseline":
        return d, f"{label}, field 'name': 'baseline' is the comparator's name; choose another"
    return d, None


def scenario_dicts(forms: list[dict[str, Any]], params: Any = None) -> list[dict[str, Any]]:
    """Every form as a scenario dict, or InputError with every problem found (one line each)."""
    if len(forms) > MAX_SCENARIOS:
        raise InputError([f"at most {MAX_SCENARIOS} scenarios side by side, got {len(forms)}"])
    problems, out, seen = [], [], {}
    for i, form in enumerate(forms, start=1):
        d, problem = quick_check(form, i, params)
        if problem:
            problems.append(problem)
            continue
        assert d is not None
        if d["name"] in seen:
            problems.append(f"{_label(i, d['name'])}, field 'name': scenario name {d['name']!r} is used twice "
                            f"(also scenario {seen[d['name']]})")
        seen[d["name"]] = i
        out.append(d)
    if problems:
        raise InputError(problems)
    return out


def full_check(dicts: list[dict[str, Any]], cfg: Any) -> dict[str, Any]:
    """The scenarios as a run reads them (`api.load_scenarios`: the schema, then dates, areas, capacity
    shares and `same_as`); InputError naming the scenario and field otherwise. Needs the population."""
    from .. import api

    try:
        return api.load_scenarios(list(dicts), cfg)
    except ConfigError as exc:
        raise InputError([page_words(str(exc), dicts)]) from None


def page_words(message: str, dicts: list[dict[str, Any]]) -> str:
    """A message about `<scenario dict N>` (as `api.load_scenarios` names dicts) naming the scenario as the
    page does."""
    for i, d in enumerate(dicts, start=1):
        message = message.replace(f"<scenario dict {i}>", _label(i, d.get("name")))
    return " ".join(message.split())


# --- a run request and its cache key ---------------------------------------------------------------------
@dataclass(frozen=True)
class RunRequest:
    area: Area = field(default_factory=Area)
    scenarios: tuple[dict[str, Any], ...] = ()
    settings: RunSettings = field(default_factory=RunSettings)

    def canonical(self) -> dict[str, Any]:
        return {"area": self.area.canonical(), "scenarios": [_plain(d) for d in self.scenarios],
                "settings": _plain(asdict(self.settings))}

    def to_json(self) -> dict[str, Any]:
        return {"area": {"level": self.area.level, "names": list(self.area.names)},
                "scenarios": [_plain(d) for d in self.scenarios], "settings": asdict(self.settings)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunRequest:
        return cls(Area(d["area"]["level"], tuple(d["area"]["names"])), tuple(d["scenarios"]),
                   RunSettings(**d["settings"]))


def _plain(x: Any) -> Any:
    """JSON-ready and canonical: whole floats as ints (6000.0 and 6000 are the same capacity), tuples as
    lists, keys as text."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, float) and math.isfinite(x) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    if isinstance(x, bool | int | float | str) or x is None:
        return x
    return str(x)


def cache_key(request: RunRequest, context: str = "") -> str:
    """The run's identity: a SHA-256 of the scenario dicts (in their order: it is the order shown), the
    area, scale, replicates, PSA, years and seed, and `context` (the digest of the configuration and of
    the parameter values, so an edited parameter file makes new runs). Key order inside a dict and 6000
    against 6000.0 do not matter."""
    text = json.dumps({"v": CACHE_VERSION, "request": request.canonical(), "context": context}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def context_digest(cfg: Any) -> str:
    """Configuration (less scale, seed and horizon, which the request holds) and parameter values."""
    from .. import __version__
    from ..parameters import load_parameters
    from ..runner.fingerprint import parameters_digest

    d = cfg.model_dump(mode="json")
    d.pop("source", None)
    return hashlib.sha256(json.dumps({"config": d, "neighsim": __version__,
                                      "parameters": parameters_digest(load_parameters(cfg.parameters_dir()))},
                                     sort_keys=True, default=str).encode()).hexdigest()[:20]


# --- the optimiser's panel ("Optimise a budget": neighsim optimise in the page) ------------------------------
OPTIMISE_LABEL = "<optimise>"
OPTIMISE_BUDGET = "2m"
OPTIMISE_SCALE = 0.05  # curves for a locality in about a minute on a laptop
OPTIMISE_REPLICATES = 3
OPTIMISE_DRAWS = 5  # PSA draws of the comparison run (the command's --psa; 0 skips it)
EQUITY_MODES = ("none", "gap-narrows", "core20-share")


@dataclass(frozen=True)
class OptimiseRequest:
    """What `neighsim optimise` is asked for from the page: the budget (pounds over the projection, full
    population), the objective, the equity rule (its canonical text, e.g. `core20-share=0.4`; None: none),
    the interventions (scenario files by name, in a canonical order), the page's area and the sample."""

    area: Area = field(default_factory=Area)
    budget: float = 2_000_000.0
    objective: str = "nmb"
    equity: str | None = None
    interventions: tuple[str, ...] = ("falls_pathway", "health_checks", "tobacco", "warm_homes")
    scale: float = OPTIMISE_SCALE
    replicates: int = OPTIMISE_REPLICATES
    draws: int = OPTIMISE_DRAWS
    years: int = 5
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "interventions", tuple(self.interventions))

    @property
    def settings(self) -> RunSettings:
        """The sample and horizon as run settings (the curves' replicates; central values, not PSA)."""
        return RunSettings(scale=self.scale, replicates=self.replicates, psa=False, years=self.years, seed=self.seed)

    def curves(self) -> dict[str, Any]:
        """What the response curves depend on (not the budget, objective, equity or comparison draws)."""
        return {"area": self.area.canonical(), "interventions": sorted(self.interventions),
                "settings": _plain(asdict(self.settings))}

    def canonical(self) -> dict[str, Any]:
        return {**self.curves(), "budget": _plain(float(self.budget)), "objective": self.objective,
                "equity": self.equity, "draws": int(self.draws)}

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["area"] = {"level": self.area.level, "names": list(self.area.names)}
        d["interventions"] = list(self.interventions)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OptimiseRequest:
        d = dict(d)
        d["area"] = Area(d["area"]["level"], tuple(d["area"]["names"]))
        return cls(**d)


def optimise_key(request: OptimiseRequest, context: str = "") -> str:
    """The optimisation's identity (its cache folder), like `cache_key`: the area, budget, objective,
    equity rule, interventions (in any order), scale, replicates, comparison draws, years and seed, and the
    configuration's digest. Never the same as a scenario run's key."""
    text = json.dumps({"v": CACHE_VERSION, "kind": "optimise", "request": request.canonical(), "context": context},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def curves_key(request: OptimiseRequest, context: str = "") -> str:
    """The identity of the response curves alone: another budget, objective, equity rule or number of
    comparison draws has the same curves, so their runs are reused."""
    text = json.dumps({"v": CACHE_VERSION, "kind": "optimise-curves", "request": request.curves(),
                       "context": context}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def optimise_area(area: Area) -> str | None:
    """The page's area as `neighsim optimise --area` takes it (None: the whole ICS). The optimiser
    allocates within one area: the ICS, a place, a locality or one neighbourhood."""
    if area.level == "ics":
        return None
    if not area.names:
        raise InputError([f"{OPTIMISE_LABEL}, field 'area': choose an area (from the list or the map)"])
    if area.level == "neighbourhoods" and len(area.names) != 1:
        raise InputError([f"{OPTIMISE_LABEL}, field 'area': the optimiser allocates within one area (the whole "
                          f"ICS, a place, a locality or one neighbourhood); {len(area.names)} neighbourhoods are "
                          "chosen"])
    return str(area.names[0])


def _flag_words(message: str) -> str:
    """A message of `neighsim optimise` (`--equity 'x': ...`, `--interventions: ...`) naming the panel's
    field instead of the command's flag."""
    import re

    m = re.match(r"^--([a-z][a-z-]*)(?: [^:]*)?: (.*)$", " ".join(str(message).split()))
    if not m:
        return " ".join(str(message).split())
    return f"{OPTIMISE_LABEL}, field '{m.group(1).replace('-', '_')}': {m.group(2)}"


def read_optimise_form(form: dict[str, Any], area: Area) -> OptimiseRequest:
    """The panel's fields (text as typed) as an OptimiseRequest, or InputError with every problem, one
    line each naming the field. The budget is read by `optimise.parse_budget` (as `neighsim optimise
    --budget`: 2000000, 2e6, 2m, £500k), the equity rule by `optimise.parse_equity`, the objective against
    `optimise.OBJECTIVES`, the interventions against the scenario files the command takes, scale and
    replicates by the experiment file's schema (`check_settings`); years and seed come from the run
    settings (form keys `years`, `seed`)."""

    from ..optimise import OBJECTIVES, parse_budget, parse_equity
    from ..optimise.curves import scenario_files

    problems: list[str] = []
    L = OPTIMISE_LABEL

    def number(key: str, kind: type, label: str = L) -> Any:
        text = str(form.get(key, "") or "").strip()
        try:
            return kind(text.replace(",", ""))
        except ValueError:
            problems.append(f"{label}, field '{key}': expected {'a whole number' if kind is int else 'a number'}, "
                            f"got {text!r}")
            return None

    budget = None
    try:
        budget = parse_budget(str(form.get("budget", "") or ""))
    except ValueError as exc:
        problems.append(f"{L}, field 'budget': {exc}")
    objective = str(form.get("objective") or "")
    if objective not in OBJECTIVES:
        problems.append(f"{L}, field 'objective': expected one of {', '.join(OBJECTIVES)}, got {objective!r}")
    mode = str(form.get("equity") or "none")
    equity = None
    if mode == "core20-share" and not str(form.get("share", "") or "").strip():
        problems.append(f"{L}, field 'equity': give the least share of the spend on Core20 residents (0 to 1, or "
                        "a percentage such as 40%)")
    elif mode != "none":
        text = mode if mode != "core20-share" else f"core20-share={str(form.get('share')).strip()}"
        try:
            eq = parse_equity(text)
            equity = eq.text if eq is not None else None
        except NeighsimError as exc:
            problems.append(_flag_words(str(exc)))
    chosen = [str(x) for x in (form.get("interventions") or [])]
    known = scenario_files()
    if not chosen:
        problems.append(f"{L}, field 'interventions': choose at least one intervention")
    unknown = [x for x in chosen if x not in known]
    if unknown:
        problems.append(f"{L}, field 'interventions': unknown {', '.join(map(repr, unknown))}; expected some of "
                        f"{', '.join(known)}")
    sc = number("scale", float)
    reps = number("replicates", int)
    draws = number("draws", int)
    if draws is not None and not 0 <= draws <= MAX_REPLICATES:
        problems.append(f"{L}, field 'draws': PSA draws of the comparison run, 0 (none) to {MAX_REPLICATES}, got "
                        f"{draws}")
    yrs = number("years", int, SETTINGS_LABEL)
    sd = number("seed", int, SETTINGS_LABEL) if str(form.get("seed", "") or "").strip() else None
    try:
        optimise_area(area)
    except InputError as exc:
        problems += exc.problems
    if None not in (sc, reps, yrs):
        try:
            check_settings(RunSettings(scale=sc, replicates=reps, psa=False, years=yrs, seed=sd))
        except InputError as exc:  # scale and replicates are the panel's; years and seed the run settings'
            problems += [p.replace(SETTINGS_LABEL, L, 1) if ("'scale'" in p or "'replicates'" in p) else p
                         for p in exc.problems]
    if problems:
        raise InputError(problems)
    return OptimiseRequest(area, float(budget), objective, equity, tuple(sorted(dict.fromkeys(chosen))), float(sc),
                           int(reps), int(draws), int(yrs), sd)
