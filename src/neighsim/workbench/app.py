"""The workbench page (Solara): area, scenarios, run, results, downloads and Mesa's agent view; and the
"Optimise a budget" tab (`neighsim optimise` in the page).

State is per browser tab (Solara's reactive variables live in the tab's kernel); runs, the cache and the
worker process are the server's (jobs.py), shared by every tab. Every callback goes through `guarded`,
which turns any exception into a message in the page (a user's mistake in one line, a bug as "internal
error", its traceback on the server's console only), so the page never shows a traceback.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import time
import traceback
from pathlib import Path
from typing import Any

import solara
import solara.lab

from ..errors import NeighsimError
from ..paths import configs_dir
from ..yamlio import read_yaml
from . import results as R
from .inputs import (
    DEFAULT_REPLICATES,
    DEFAULT_SCALE,
    EQUITY_MODES,
    LEVEL_LABELS,
    LEVELS,
    MAX_SCENARIOS,
    OPTIMISE_BUDGET,
    OPTIMISE_DRAWS,
    OPTIMISE_REPLICATES,
    OPTIMISE_SCALE,
    PLACE_MODES,
    TARGET_MODES,
    Area,
    InputError,
    OptimiseRequest,
    RunRequest,
    RunSettings,
    blank_entry,
    check_settings,
    form_from_scenario,
    neighbourhoods_of,
    quick_check,
    read_optimise_form,
    report_area,
    scenario_dicts,
)
from .jobs import ATLAS_SCALE, workbench

log = logging.getLogger("neighsim.workbench")

CSS = """
.nw-tile .v-btn__content { white-space: normal; text-transform: none; line-height: 1.15; font-size: 11px;
                          flex: 1 1 100%; min-width: 0; max-width: 100%; justify-content: flex-start;
                          text-align: left; overflow-wrap: anywhere; }
.nw-tile { height: auto !important; min-height: 44px; width: 140px; margin: 2px 0; padding: 4px 6px !important;
           letter-spacing: normal; }
.nw-head .v-btn__content { text-transform: none; letter-spacing: normal; }
.nw-table { border-collapse: collapse; font-size: 13px; margin: 4px 0 12px 0; }
.nw-table th, .nw-table td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; vertical-align: top; }
.nw-table th { background: #f3f3f3; text-align: center; }
.nw-table td:first-child { text-align: left; font-weight: 600; }
.nw-legend { height: 12px; width: 260px; border: 1px solid #aaa; }
.nw-note { color: #555; font-size: 13px; }
"""

# --- per-tab state -----------------------------------------------------------------------------------------
area_level = solara.reactive("locality")
area_names = solara.reactive(["Tamworth"])
scale = solara.reactive(str(DEFAULT_SCALE))
replicates = solara.reactive(str(DEFAULT_REPLICATES))
psa = solara.reactive(True)
years = solara.reactive("5")
seed = solara.reactive("")
measure = solara.reactive("admission_rate")
messages: solara.Reactive[list[str]] = solara.reactive([])  # problems with the last action
shown: solara.Reactive[dict[str, Any] | None] = solara.reactive(None)  # the run on screen
status = solara.reactive("")
year_outcome = solara.reactive("emergency_admissions")
year_difference = solara.reactive(False)
agent_nb = solara.reactive("")
agent_scenario = solara.reactive("baseline")
agent_sample = solara.reactive("100")
agent_months = solara.reactive("24")
main_tab = solara.reactive(0)  # 0: scenarios, 1: optimise a budget
# the optimiser's panel: its fields as typed, its problems, progress and the optimisation on screen
opt_form: solara.Reactive[dict[str, Any]] = solara.reactive({
    "budget": OPTIMISE_BUDGET, "objective": "nmb", "equity": "none", "share": "0.4",
    "interventions": ["falls_pathway", "health_checks", "tobacco", "warm_homes"], "scale": str(OPTIMISE_SCALE),
    "replicates": str(OPTIMISE_REPLICATES), "draws": str(OPTIMISE_DRAWS)})
opt_messages: solara.Reactive[list[str]] = solara.reactive([])
opt_status = solara.reactive("")
opt_shown: solara.Reactive[dict[str, Any] | None] = solara.reactive(None)
opt_slot = solara.reactive("")


def _guarding(target: solara.Reactive[list[str]]):
    def guard(fn):
        """A callback that never lets an exception reach the page: a user's mistake is shown as its one
        line, anything else as an internal error with the details on the console."""
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except InputError as exc:
                target.set(exc.problems)
            except NeighsimError as exc:
                target.set([" ".join(str(exc).split())])
            except Exception as exc:  # noqa: BLE001
                log.error("internal error in the workbench page:\n%s", traceback.format_exc())
                target.set([f"internal error: {type(exc).__name__}: {exc} (a bug in neighsim; the details are "
                            "in the server's console)"])
        return run
    return guard


guarded = _guarding(messages)  # problems shown above the map
opt_guarded = _guarding(opt_messages)  # problems shown in the optimiser's panel


# --- presets and lists ---------------------------------------------------------------------------------------
@functools.cache
def presets() -> dict[str, dict[str, Any]]:
    """The bundled scenario files (configs/scenarios/*.yaml) by name."""
    out = {}
    for p in sorted((configs_dir() / "scenarios").glob("*.yaml")):
        try:
            d = read_yaml(p)
        except NeighsimError:
            continue
        if isinstance(d, dict):
            out[str(d.get("name") or p.stem)] = d
    return out


def start_forms() -> list[dict[str, Any]]:
    p = presets()
    return [form_from_scenario(p["falls_pathway"])] if "falls_pathway" in p else [form_from_scenario(
        {"name": "scenario_1", "interventions": [{"type": "falls_pathway"}]})]


forms = solara.reactive(start_forms())  # a new tab's scenarios (never changed in place: changes make new lists)


def intervention_types() -> list[str]:
    from ..interventions import registry

    return registry.available()


def type_info(kind: str) -> dict[str, Any]:
    from ..interventions import registry

    try:
        cls = registry.get(kind)
    except NeighsimError:
        return {"rule": "", "uptake": "", "unit": "resident"}
    return {"rule": cls.default_rule, "uptake": cls.uptake_param or "1", "unit": cls.unit}


def geography() -> Any:
    return workbench().table


def current_area() -> Area:
    return Area(area_level.value, tuple(area_names.value) if area_level.value != "ics" else ())


def current_settings() -> RunSettings:
    problems = []

    def number(text: str, kind: type, field: str) -> Any:
        try:
            return kind(str(text).strip())
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            problems.append(f"<run settings>, field '{field}': expected {what}, got {text!r}")
            return kind(0) if kind is int else 0.0

    s = RunSettings(scale=number(scale.value, float, "scale"), replicates=number(replicates.value, int, "replicates"),
                    psa=bool(psa.value), years=number(years.value, int, "years"),
                    seed=number(seed.value, int, "seed") if str(seed.value).strip() else None)
    if problems:
        raise InputError(problems)
    check_settings(s)
    return s


# --- changing the forms (immutably, so Solara sees the change) ---------------------------------------------
def _set_forms(new: list[dict[str, Any]]) -> None:
    forms.set(new)
    messages.set([])


def set_scenario(si: int, key: str, value: Any) -> None:
    new = [dict(f) for f in forms.value]
    new[si][key] = value
    _set_forms(new)


def set_entry(si: int, ei: int, key: str, value: Any) -> None:
    new = [dict(f) for f in forms.value]
    entries = [dict(e) for e in new[si]["interventions"]]
    entries[ei][key] = value
    new[si]["interventions"] = entries
    _set_forms(new)


def add_scenario() -> None:
    if len(forms.value) >= MAX_SCENARIOS:
        raise InputError([f"at most {MAX_SCENARIOS} scenarios side by side"])
    names = {f.get("name") for f in forms.value}
    k = len(forms.value) + 1
    while f"scenario_{k}" in names:
        k += 1
    _set_forms([*forms.value, {"name": f"scenario_{k}", "description": "", "interventions": [blank_entry()]}])


def remove_scenario(si: int) -> None:
    _set_forms([f for i, f in enumerate(forms.value) if i != si])


def load_preset(si: int, name: str) -> None:
    d = presets().get(name)
    if d is None:
        raise InputError([f"no bundled scenario {name!r}; bundled: {', '.join(presets())}"])
    new = list(forms.value)
    new[si] = form_from_scenario(d)
    _set_forms(new)


def add_entry(si: int) -> None:
    new = [dict(f) for f in forms.value]
    new[si]["interventions"] = [*new[si]["interventions"], blank_entry()]
    _set_forms(new)


def remove_entry(si: int, ei: int) -> None:
    new = [dict(f) for f in forms.value]
    new[si]["interventions"] = [e for i, e in enumerate(new[si]["interventions"]) if i != ei]
    _set_forms(new)


def choose_area(level: str, names: list[str]) -> None:
    area_level.set(level)
    area_names.set(list(names))
    messages.set([])


def toggle_neighbourhood(name: str) -> None:
    if area_level.value == "neighbourhoods":
        names = list(area_names.value)
        names = [n for n in names if n != name] if name in names else [*names, name]
        choose_area("neighbourhoods", names)
    else:
        choose_area("neighbourhoods", [name])


# --- background work -------------------------------------------------------------------------------------
def _follow(job: Any, task: Any, status: solara.Reactive[str]) -> dict[str, Any]:
    """Show a background job's progress on its task's bar and in a status line until it is done; its result."""
    while not job.done():
        fraction, what = job.progress()
        task.progress = round(100 * fraction, 1)
        status.set(what[:1].upper() + what[1:] + " ...")
        time.sleep(0.25)
    return job.result()


@solara.lab.task
def run_task(request: RunRequest) -> dict[str, Any]:
    """Submit the run (or find it in the cache) and follow its progress until it is done."""
    try:
        wb = workbench()
        job = wb.run(request)
        res = _follow(job, run_task, status)
        if not res.get("ok"):
            messages.set(res.get("errors") or ["the run failed"])
            status.set("")
            return res
        area = report_area(request.area)
        label = request.area.label
        shown.set({"key": job.key, "folder": str(job.folder), "area": area, "label": label,
                   "request": request, "warnings": res.get("warnings", []), "cached": job.cached or res.get("cached"),
                   "seconds": res.get("seconds", 0.0), "report": None})
        status.set("Reused from the cache: these inputs were run before." if job.cached else
                   f"Finished in {res.get('seconds', 0):.1f} s.")
        return res
    except Exception as exc:  # noqa: BLE001
        return _internal_error(exc, "running", messages, status)


def _internal_error(exc: BaseException, doing: str, msgs: Any, state: Any = None) -> dict[str, Any]:
    """A failure inside the app while `doing` something: one line in the page, the traceback in the console."""
    log.error("internal error while %s:\n%s", doing, traceback.format_exc())
    msgs.set([f"internal error: {type(exc).__name__}: {exc} (details in the server's console)"])
    if state is not None:
        state.set("")
    return {"ok": False}

@guarded
def start_run() -> None:
    messages.set([])
    if not forms.value:
        dicts: list[dict[str, Any]] = []
    else:
        dicts = scenario_dicts(forms.value, workbench().params)
    area = current_area()
    neighbourhoods_of(area, geography())
    request = RunRequest(area, tuple(dicts), current_settings())
    status.set("Starting ...")
    run_task(request)


@solara.lab.task
def report_task(info: dict[str, Any]) -> dict[str, Any]:
    try:
        folder = Path(info["folder"])
        from ..report import area_folder

        where = folder / "areas" / area_folder(info["area"]) if info["area"] else folder
        if (where / "results.xlsx").is_file() and (where / "report.html").is_file():
            res = {"ok": True, "html": str(where / "report.html"), "xlsx": str(where / "results.xlsx")}
        else:
            res = workbench().report(folder, info["area"]).result()
        if not res.get("ok"):
            messages.set(res.get("errors") or ["the report failed"])
        return res
    except Exception as exc:  # noqa: BLE001
        return _internal_error(exc, "writing the report", messages)


@solara.lab.task
def agents_task(args: tuple) -> dict[str, Any]:
    try:
        res = workbench().agents(*args).result()
        if not res.get("ok"):
            messages.set(res.get("errors") or ["the agent view failed"])
        return res
    except Exception as exc:  # noqa: BLE001
        log.error("internal error in the agent view:\n%s", traceback.format_exc())
        messages.set([f"internal error: {type(exc).__name__}: {exc} (details in the server's console)"])
        return {"ok": False}


# --- the optimiser ("Optimise a budget") ------------------------------------------------------------------
def set_opt(key: str, value: Any) -> None:
    opt_form.set({**opt_form.value, key: value})
    opt_messages.set([])


def optimise_request() -> OptimiseRequest:
    """The panel's fields, the page's area and the run settings' horizon and seed, checked (InputError with
    every problem, one line each)."""
    area = current_area()
    req = read_optimise_form({**opt_form.value, "years": years.value, "seed": seed.value}, area)
    neighbourhoods_of(area, geography())
    return req


@solara.lab.task
def optimise_task(request: OptimiseRequest) -> dict[str, Any]:
    """Submit the optimisation (or find it in the cache) and follow its progress until it is done."""
    try:
        job = workbench().optimise(request)
        res = _follow(job, optimise_task, opt_status)
        if not res.get("ok"):
            opt_messages.set(res.get("errors") or ["the optimisation failed"])
            opt_status.set("")
            return res
        opt_shown.set({"key": job.key, "folder": str(job.folder), "request": request,
                       "warnings": res.get("warnings", []), "cached": job.cached or res.get("cached"),
                       "seconds": res.get("seconds", 0.0), "reused": res.get("curves_reused") or []})
        opt_status.set("Reused from the cache: this optimisation was made before." if job.cached else
                       f"Finished in {res.get('seconds', 0):.1f} s"
                       + (" (the response curves of an earlier optimisation reused)." if res.get("curves_reused")
                          else "."))
        return res
    except Exception as exc:  # noqa: BLE001
        return _internal_error(exc, "optimising", opt_messages, opt_status)


@opt_guarded
def start_optimise() -> None:
    opt_messages.set([])
    request = optimise_request()
    opt_status.set("Starting ...")
    optimise_task(request)


def slot_choices() -> list[str]:
    """Where the allocation's scenario can go: an existing scenario slot (replacing it) or a new one."""
    out = [f"Scenario {i + 1}: {f.get('name') or '(no name)'}" for i, f in enumerate(forms.value)]
    if len(forms.value) < MAX_SCENARIOS:
        out.append(f"New scenario {len(forms.value) + 1}")
    return out


def load_allocation(info: dict[str, Any], slot: str) -> int:
    """The allocation's scenario file (allocation_scenario.yaml) into a scenario slot, named `optimised` (or
    `optimised_2`, ... when another slot has that name), and the page's area set to the optimisation's;
    then the Scenarios tab. Returns the slot's index."""
    path = Path(info["folder"]) / "allocation_scenario.yaml"
    if not path.is_file():
        raise InputError(["<optimise>: the allocation chose nothing, so there is no scenario to load"])
    choices = slot_choices()
    if slot not in choices:
        slot = choices[-1]
    index = choices.index(slot)
    form = form_from_scenario(read_yaml(path))
    taken = {f.get("name") for i, f in enumerate(forms.value) if i != index}
    name, k = "optimised", 2
    while name in taken:
        name, k = f"optimised_{k}", k + 1
    form["name"] = name
    new = list(forms.value)
    if index < len(new):
        new[index] = form
    else:
        new.append(form)
    req: OptimiseRequest = info["request"]
    choose_area(req.area.level, list(req.area.names))
    _set_forms(new)
    status.set(f"The allocation is loaded into scenario {index + 1} ({name}) for {req.area.label}: press Run to "
               "run it against the baseline with the run settings.")
    opt_slot.set("")
    main_tab.set(0)
    return index


_ATLAS: dict[str, Any] = {}


def load_atlas() -> Any:
    """The map's measures (a baseline run of every neighbourhood, cached like any run)."""
    if "frame" not in _ATLAS:
        wb = workbench()
        job = wb.atlas_job()
        while not job.done():
            time.sleep(0.25)
        res = job.result()
        if not res.get("ok"):
            raise NeighsimError("; ".join(res.get("errors") or ["the baseline for the map failed"]))
        _ATLAS["frame"] = R.atlas(R.load_view(job.folder, None, "").summary)
    return _ATLAS["frame"]


_VIEWS: dict[tuple[str, str | None], R.View] = {}


def view_of(info: dict[str, Any]) -> R.View:
    key = (info["key"], info["area"])
    if key not in _VIEWS:
        if len(_VIEWS) > 8:
            _VIEWS.pop(next(iter(_VIEWS)))
        _VIEWS[key] = R.load_view(Path(info["folder"]), info["area"], info["label"])
    return _VIEWS[key]


# --- components ------------------------------------------------------------------------------------------
def Note(text: str, tag: str = "div", classes: list[str] | None = None) -> None:
    """Text with **bold** and `code` as HTML (Solara's Markdown would load KaTeX, which is not installed)."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    solara.HTML(tag=tag, unsafe_innerHTML=out, classes=classes or (["nw-note"] if tag == "div" else []))


@solara.component
def Boundary(section: Any, *args: Any):
    """An error boundary: an exception while drawing `section` becomes a message in the page (the details
    on the console), never a traceback."""
    exc, clear = solara.use_exception()
    if exc is not None:
        log.error("internal error drawing the page:\n%s", "".join(traceback.format_exception(exc)))
        with solara.Row(style={"align-items": "center"}):
            solara.Error(f"internal error: {type(exc).__name__}: {exc} (a bug in neighsim; the details are in the "
                         "server's console)")
            solara.Button("Try again", text=True, on_click=clear)
        return
    section(*args)


@solara.component
def Messages():
    for m in messages.value:
        solara.Error(m, classes=["nw-error"])


@solara.component
def AreaPicker():
    table = geography()
    level = area_level.value
    solara.Select("Area", values=[LEVEL_LABELS[x] for x in LEVELS], value=LEVEL_LABELS[level],
                  on_value=guarded(lambda v: choose_area({b: a for a, b in LEVEL_LABELS.items()}[v],
                                                         _first_names(table, {b: a for a, b in
                                                                              LEVEL_LABELS.items()}[v]))))
    if level in ("place", "locality"):
        names = sorted(table[level].unique())
        current = area_names.value[0] if area_names.value and area_names.value[0] in names else None
        solara.Select(LEVEL_LABELS[level], values=names, value=current,
                      on_value=guarded(lambda v: choose_area(level, [v])))
    elif level == "neighbourhoods":
        solara.SelectMultiple("Neighbourhoods", values=list(area_names.value), all_values=list(table["name"]),
                              on_value=guarded(lambda v: choose_area("neighbourhoods", list(v))))
    n = len(neighbourhoods_or_empty(table))
    solara.Text(f"{current_area().label}: {n} neighbourhood{'s' if n != 1 else ''}", classes=["nw-note"])


def _short(name: str, width: int = 60) -> str:
    short = name.split(": ", 1)[-1]
    return short if len(short) <= width else short[: width - 1].rstrip() + "…"


def _first_names(table: Any, level: str) -> list[str]:
    if level == "ics":
        return []
    if level == "neighbourhoods":
        return [str(table["name"].iloc[0])]
    col = table[level]
    keep = [n for n in area_names.value if n in set(col)]
    return keep[:1] or [str(sorted(col.unique())[0])]


def neighbourhoods_or_empty(table: Any) -> list[int]:
    try:
        return neighbourhoods_of(current_area(), table)
    except InputError:
        return []


@solara.component
def Settings():
    solara.InputText("Scale (fraction of residents)", value=scale, continuous_update=False)
    solara.InputText("Replicates", value=replicates, continuous_update=False)
    solara.Checkbox(label="PSA: each replicate draws every uncertain parameter", value=psa)
    solara.InputText("Years (1 to 20)", value=years, continuous_update=False)
    solara.InputText("Seed (blank: the configuration's)", value=seed, continuous_update=False)
    Note(f"Interactive runs use a **{float(DEFAULT_SCALE):.0%} sample** of residents by default, with counts, costs "
         f"and QALYs scaled up to stand for all residents (`--scale {DEFAULT_SCALE} --scale-up`): quick, with more "
         "chance variation than a full run. The intervals are 95% intervals across the replicates.")


@solara.component
def AreaMap():
    atlas_task = solara.lab.use_task(load_atlas, dependencies=[], raise_error=False)
    with solara.Card("Map of neighbourhoods", subtitle="Click a neighbourhood to choose it (click more to add); "
                                                       "click a locality or place to choose it"):
        if atlas_task.pending or atlas_task.not_called:
            solara.Text("Measuring the baseline of every neighbourhood for the map ...", classes=["nw-note"])
            solara.ProgressLinear(True)
            return
        if atlas_task.error or atlas_task.value is None:
            solara.Error(f"The map's measures could not be made: {atlas_task.exception}")
            return
        frame = atlas_task.value
        solara.Select("Colour by", values=[R.MEASURES[k][0] for k in R.MEASURES], value=R.MEASURES[measure.value][0],
                      on_value=guarded(lambda v: measure.set({w: k for k, (w, _) in R.MEASURES.items()}[v])))
        colours, lo, hi, stops = R.colour_scale(frame[measure.value])
        with solara.Row(style={"align-items": "center"}):
            solara.Text(R.format_measure(measure.value, lo))
            solara.HTML(tag="div", unsafe_innerHTML="", classes=["nw-legend"],
                        style={"background": f"linear-gradient(to right, {', '.join(stops)})"})
            solara.Text(R.format_measure(measure.value, hi))
            solara.Text(f"baseline {frame.attrs.get('period', '')}, {ATLAS_SCALE:.0%} sample", classes=["nw-note"])
        table = geography()
        chosen = set(table.loc[table["id"].isin(neighbourhoods_or_empty(table)), "name"])
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start", "gap": "14px"}):
            solara.Button("Whole ICS", outlined=area_level.value != "ics", classes=["nw-head"],
                          on_click=guarded(lambda: choose_area("ics", [])))
            for place in ("Stoke-on-Trent", "Staffordshire"):
                localities = list(dict.fromkeys(table.loc[table["place"] == place, "locality"]))
                with solara.Column(gap="4px", style={"border": "1px solid #ccc", "padding": "6px",
                                                     "border-radius": "6px"}):
                    solara.Button(place, text=True, classes=["nw-head"], style={"font-weight": "700"},
                                  on_click=guarded(functools.partial(choose_area, "place", [place])))
                    with solara.Row(style={"flex-wrap": "wrap", "gap": "6px"}):
                        for loc in localities:
                            with solara.Column(gap="0px"):
                                solara.Button(loc.replace("Stoke-on-Trent ", "Stoke "), text=True,
                                              classes=["nw-head"], style={"font-size": "12px"},
                                              on_click=guarded(functools.partial(choose_area, "locality", [loc])))
                                for name in table.loc[table["locality"] == loc, "name"]:
                                    c = colours.get(name, "#dddddd")
                                    value = frame[measure.value].get(name, float("nan"))
                                    solara.Button(
                                        f"{_short(name)} · {R.format_measure(measure.value, value)}",
                                        classes=["nw-tile"], elevation=0,
                                        style={"background-color": c, "color": R.text_colour(c),
                                               "border": "3px solid #000" if name in chosen else "3px solid transparent"},
                                        on_click=guarded(functools.partial(toggle_neighbourhood, name)))


@solara.component
def EntryEditor(si: int, ei: int, entry: dict[str, Any], table: Any):
    info = type_info(entry.get("type", ""))
    set_ = functools.partial(set_entry, si, ei)
    with solara.Card(style={"margin": "4px 0", "padding": "6px"}):
        with solara.Row():
            solara.Select("Intervention", values=intervention_types(), value=entry.get("type"),
                          on_value=guarded(lambda v: set_("type", v)))
            solara.Button(icon_name="mdi-delete", text=True, on_click=guarded(lambda: remove_entry(si, ei)))
        with solara.Row():
            solara.InputText("Start (YYYY-MM[-DD])", value=entry.get("start", ""), on_value=guarded(lambda v: set_("start", v)))
            solara.InputText("Ramp (months)", value=entry.get("ramp_months", ""),
                             on_value=guarded(lambda v: set_("ramp_months", v)))
            solara.InputText("End (blank: none)", value=entry.get("end", ""), on_value=guarded(lambda v: set_("end", v)))
        solara.Select("Targeting", values=list(TARGET_MODES), value=entry.get("target_mode", "all"),
                      on_value=guarded(lambda v: set_("target_mode", v)))
        if entry.get("target_mode") == "areas":
            solara.SelectMultiple("Target localities", values=list(entry.get("target_localities") or []),
                                  all_values=sorted(table["locality"].unique()),
                                  on_value=guarded(lambda v: set_("target_localities", list(v))))
            solara.SelectMultiple("Target neighbourhoods", values=list(entry.get("target_neighbourhoods") or []),
                                  all_values=list(table["name"]),
                                  on_value=guarded(lambda v: set_("target_neighbourhoods", list(v))))
            solara.Checkbox(label="Core20 residents only", value=bool(entry.get("target_core20")),
                            on_value=guarded(lambda v: set_("target_core20", bool(v))))
        solara.InputText("Eligibility rule", value=entry.get("eligibility", ""), placeholder=info["rule"],
                         message=f"blank: the module's rule ({info['rule']})",
                         on_value=guarded(lambda v: set_("eligibility", v)))
        solara.InputText("Uptake (0 to 1)", value=entry.get("uptake", ""), message=f"blank: {info['uptake']}",
                         on_value=guarded(lambda v: set_("uptake", v)))
        with solara.Row():
            solara.Select("Places", values=list(PLACE_MODES), value=entry.get("places", "unlimited"),
                          on_value=guarded(lambda v: set_("places", v)))
            if entry.get("places") in ("capacity", "budget"):
                unit = ("homes" if info["unit"] == "home" else "places") if entry["places"] == "capacity" else "£"
                solara.InputText(f"{unit} a year (whole ICS, full scale)", value=entry.get("amount", ""),
                                 on_value=guarded(lambda v: set_("amount", v)))
        solara.Select("Allocation", values=["random", "highest_risk", "most_deprived"],
                      value=entry.get("allocation", "random"), on_value=guarded(lambda v: set_("allocation", v)))
        solara.InputTextArea("Other settings (YAML: cost, effects, options, ...)", value=entry.get("extra", ""),
                             rows=2, on_value=guarded(lambda v: set_("extra", v)))


@solara.component
def ScenarioEditor(si: int, form: dict[str, Any], table: Any):
    d, problem = quick_check(form, si + 1, workbench().params)
    with solara.Card(f"Scenario {si + 1}", style={"min-width": "300px"}):
        with solara.Row():
            solara.Select("Start from a bundled scenario", values=list(presets()), value=None,
                          on_value=guarded(lambda v: load_preset(si, v)))
            solara.Button(icon_name="mdi-close", text=True, on_click=guarded(lambda: remove_scenario(si)))
        solara.InputText("Name", value=form.get("name", ""), on_value=guarded(lambda v: set_scenario(si, "name", v)))
        solara.InputText("Description", value=form.get("description", ""),
                         on_value=guarded(lambda v: set_scenario(si, "description", v)))
        for ei, entry in enumerate(form.get("interventions") or []):
            EntryEditor(si, ei, entry, table)
        solara.Button("Add intervention", icon_name="mdi-plus", text=True, on_click=guarded(lambda: add_entry(si)))
        if problem:
            solara.Error(problem, classes=["nw-error"])
        elif d is not None:
            import yaml

            with solara.Details("As a scenario file"):
                solara.Preformatted(yaml.safe_dump(d, sort_keys=False))


@solara.component
def Scenarios():
    table = geography()
    with solara.Row(style={"align-items": "center"}):
        Note(f"Scenarios (up to {MAX_SCENARIOS}, side by side; each against the baseline)", tag="h3")
        solara.Button("Add scenario", icon_name="mdi-plus", disabled=len(forms.value) >= MAX_SCENARIOS,
                      on_click=guarded(add_scenario))
    if not forms.value:
        solara.Text("No scenario: a run gives the baseline alone.", classes=["nw-note"])
    with solara.Columns([1] * max(1, len(forms.value))):
        for si, form in enumerate(forms.value):
            ScenarioEditor(si, form, table)


@solara.component
def RunPanel():
    busy = run_task.pending
    with solara.Row(style={"align-items": "center"}):
        solara.Button("Run", icon_name="mdi-play", color="primary", disabled=busy, on_click=start_run,
                      classes=["nw-run"])
        solara.Text(status.value, classes=["nw-status"])
    solara.ProgressLinear(run_task.progress if busy and run_task.progress is not None else busy)


@solara.component
def Results():
    info = shown.value
    if info is not None:
        ResultsBody(info)


@solara.component
def ResultsBody(info: dict[str, Any]):
    try:
        view = view_of(info)
        head = R.html_table(R.headline_rows(view))
        econ = R.html_table(R.economics_rows(view))
    except Exception as exc:  # noqa: BLE001 - shown, never a traceback
        log.error("internal error reading the results:\n%s", traceback.format_exc())
        solara.Error(f"internal error reading the results: {type(exc).__name__}: {exc} (details in the server's "
                     "console)")
        return
    req: RunRequest = info["request"]
    s = req.settings
    Note(f"Results for {info['label']}", tag="h2")
    Note(f"{s.replicates} {'PSA draw' if s.psa else 'replicate'}{'s' if s.replicates != 1 else ''}, {s.scale:.0%} "
         f"sample of residents with counts scaled up, {view.period}; mean and 95% interval. Cache key "
         f"`{info['key']}`" + (" (reused from the cache)." if info.get("cached") else "."))
    for w in info.get("warnings") or []:
        solara.Warning(w)
    Note("Headline (whole horizon)", tag="h3")
    solara.HTML(tag="div", unsafe_innerHTML=head, classes=["nw-headline"])
    with solara.lab.Tabs():
        with solara.lab.Tab("By year"):
            with solara.Row():
                labels = {R.outcome_label(o): o for o in R.YEAR_OUTCOMES}
                solara.Select("Outcome", values=list(labels), value=R.outcome_label(year_outcome.value),
                              on_value=guarded(lambda v: year_outcome.set(labels[v])))
                solara.Checkbox(label="difference from the baseline", value=year_difference)
            Chart(info, "year", year_outcome.value, year_difference.value)
        with solara.lab.Tab("By neighbourhood"):
            Chart(info, "neighbourhood")
        with solara.lab.Tab("By deprivation"):
            Chart(info, "decile")
        with solara.lab.Tab("Economics"):
            Note("NICE reference case (NHS and social care, 3.5%): each scenario against the baseline.")
            solara.HTML(tag="div", unsafe_innerHTML=econ, classes=["nw-economics"])
        with solara.lab.Tab("Agents (Mesa)"):
            Boundary(AgentView, info)
    Boundary(Downloads, info)


def _make_chart(info: dict[str, Any], kind: str, outcome: str, difference: bool):
    view = view_of(info)
    if kind == "year":
        return R.year_figure(view, outcome, difference)
    return R.neighbourhood_figure(view) if kind == "neighbourhood" else R.decile_figure(view)


@solara.component
def Chart(info: dict[str, Any], kind: str, outcome: str = "emergency_admissions", difference: bool = False):
    deps = [info["key"], info["area"], kind, outcome, difference]

    def make():
        try:
            return _make_chart(info, kind, outcome, difference), None
        except Exception as exc:  # noqa: BLE001
            log.error("internal error drawing a chart:\n%s", traceback.format_exc())
            return None, f"internal error drawing the chart: {type(exc).__name__}: {exc}"

    fig, problem = solara.use_memo(make, dependencies=deps)
    if problem:
        solara.Error(problem)
    else:
        solara.FigureMatplotlib(fig, format="png", dependencies=deps)


@solara.component
def Downloads(info: dict[str, Any]):
    with solara.Card("Download what is on screen", subtitle="results.xlsx and report.html for this area "
                                                            "(neighsim report)"):
        res = report_task.value if report_task.finished else None
        ready = bool(res and res.get("ok") and info.get("key") == report_for.value)
        if not ready:
            solara.Button("Prepare the report", icon_name="mdi-file-document", disabled=report_task.pending,
                          on_click=guarded(lambda: (report_for.set(info["key"]), report_task(info))),
                          classes=["nw-prepare"])
            if report_task.pending:
                solara.ProgressLinear(True)
            return
        stem = "neighsim-" + (info["area"] or info["label"]).replace(" ", "-").replace(":", "").replace("&", "and")
        with solara.Row():
            solara.FileDownload(lambda: Path(res["xlsx"]).read_bytes(), filename=f"{stem}.xlsx",
                                label="Download XLSX", mime_type="application/vnd.openxmlformats-officedocument."
                                                                 "spreadsheetml.sheet")
            solara.FileDownload(lambda: Path(res["html"]).read_bytes(), filename=f"{stem}.html",
                                label="Download HTML report", mime_type="text/html")


report_for = solara.reactive("")


@solara.component
def AgentView(info: dict[str, Any]):
    table = geography()
    req: RunRequest = info["request"]
    try:
        ids = neighbourhoods_of(req.area, table)
    except InputError:
        ids = []
    names = list(table.loc[table["id"].isin(ids), "name"])
    if not names:
        return
    nb = agent_nb.value if agent_nb.value in names else names[0]
    scenarios = ["baseline"] + [d["name"] for d in req.scenarios]
    Note("A sample of one neighbourhood's residents as **Mesa agents**: `Resident` (a `mesa.Agent`, a view onto the "
         "engine's arrays) in the model's Mesa `AgentSet` (`model.agents`), recorded each month with Mesa's "
         "`DataCollector`; the counts come from `AgentSet.groupby`.")
    with solara.Row():
        solara.Select("Neighbourhood", values=names, value=nb, on_value=agent_nb.set)
        solara.Select("Scenario", values=scenarios, value=agent_scenario.value if agent_scenario.value in scenarios
                      else "baseline", on_value=agent_scenario.set)
        solara.InputText("Sample of residents", value=agent_sample, continuous_update=False)
        solara.InputText("Months", value=agent_months, continuous_update=False)

    @guarded
    def go():
        try:
            k, m = int(agent_sample.value), int(agent_months.value)
        except ValueError:
            raise InputError(["agent view: sample and months must be whole numbers"]) from None
        sc = agent_scenario.value if agent_scenario.value in scenarios else "baseline"
        agents_task((req, nb, sc, k, m))

    solara.Button("Show the agents", icon_name="mdi-account-group", disabled=agents_task.pending, on_click=go,
                  classes=["nw-agents"])
    if agents_task.pending:
        solara.ProgressLinear(True)
    res = agents_task.value if agents_task.finished else None
    if res and res.get("ok"):
        Boundary(AgentChart, res)


@solara.component
def AgentChart(res: dict[str, Any]):
    states, counts = res["states"], res["counts"]
    fig = solara.use_memo(lambda: R.agents_figure(states, counts), dependencies=[id(states)])
    solara.FigureMatplotlib(fig, format="png", dependencies=[id(states)])
    last = states[states["month"] == states["month"].max()].drop(columns=["month"]).head(25)
    Note(f"{states.attrs.get('neighbourhood', '')}, {states.attrs.get('scenario', '')}: the first 25 of "
         f"{states['resident_id'].nunique()} sampled residents at {last['date'].iloc[0]}")
    solara.DataFrame(last, items_per_page=25)


@solara.component
def OptimisePanel():
    f = opt_form.value
    busy = optimise_task.pending
    area = current_area()
    Note("Optimise a budget", tag="h3")
    Note(f"Where does a budget buy the most in **{area.label}** (the area chosen above)? The optimiser "
         "(`neighsim optimise`, docs/optimise.md) measures what each intervention buys in each neighbourhood at "
         "25%, 50% and 100% of what it could take, picks the best allocation within the budget (a mixed-integer "
         "programme), and runs it as a scenario beside simple rules spending the same money. The budget is "
         f"programme cost over the run settings' horizon ({years.value} years) for the whole population.")
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "baseline"}):
        solara.InputText("Budget (£ over the horizon, e.g. 2m, 500k, 2000000)", value=f.get("budget", ""),
                         continuous_update=False, on_value=opt_guarded(lambda v: set_opt("budget", v)))
        labels = {"admissions": "emergency admissions avoided", "qalys": "QALYs gained",
                  "nmb": "net monetary benefit (£20,000/QALY)"}
        solara.Select("Objective: maximise", values=list(labels.values()), value=labels.get(f.get("objective"), None),
                      on_value=opt_guarded(lambda v: set_opt("objective", {b: a for a, b in labels.items()}[v])))
        solara.Select("Equity", values=list(EQUITY_MODES), value=f.get("equity", "none"),
                      on_value=opt_guarded(lambda v: set_opt("equity", v)))
        if f.get("equity") == "core20-share":
            solara.InputText("Least share of the spend on Core20 residents (0 to 1, or 40%)",
                             value=f.get("share", ""), continuous_update=False,
                             on_value=opt_guarded(lambda v: set_opt("share", v)))
    from ..optimise.curves import BUILT_IN

    solara.SelectMultiple("Interventions", values=list(f.get("interventions") or []), all_values=list(BUILT_IN),
                          on_value=opt_guarded(lambda v: set_opt("interventions", list(v))))
    with solara.Row(style={"flex-wrap": "wrap"}):
        solara.InputText("Sample for the curves (fraction of residents)", value=f.get("scale", ""),
                         continuous_update=False, on_value=opt_guarded(lambda v: set_opt("scale", v)))
        solara.InputText("Replicates of each curve run", value=f.get("replicates", ""), continuous_update=False,
                         on_value=opt_guarded(lambda v: set_opt("replicates", v)))
        solara.InputText("PSA draws of the comparison (0: none)", value=f.get("draws", ""), continuous_update=False,
                         on_value=opt_guarded(lambda v: set_opt("draws", v)))
    with solara.Row(style={"align-items": "center"}):
        solara.Button("Optimise", icon_name="mdi-calculator-variant", color="primary", disabled=busy,
                      on_click=start_optimise, classes=["nw-optimise"])
        solara.Text(opt_status.value, classes=["nw-opt-status"])
    solara.ProgressLinear(optimise_task.progress if busy and optimise_task.progress is not None else busy)
    for m in opt_messages.value:
        solara.Error(m, classes=["nw-opt-error"])
    info = opt_shown.value
    if info is not None:
        Boundary(OptimiseResults, info)


@solara.component
def OptimiseResults(info: dict[str, Any]):
    o = solara.use_memo(lambda: R.load_optimisation(Path(info["folder"])), dependencies=[info["key"]])
    Note("Optimised allocation", tag="h3")
    Note(R.optimisation_heading(o) + f" Cache key `{info['key']}`"
         + (" (reused from the cache)." if info.get("cached") else "."))
    for w in info.get("warnings") or []:
        solara.Warning(w)
    if len(o.chosen):
        solara.HTML(tag="div", unsafe_innerHTML=R.html_table(R.allocation_rows(o)), classes=["nw-allocation"])
    else:
        Note("Nothing chosen: no option improves the objective within the budget and the constraints.")
    rows = R.comparison_rows(o)
    if rows:
        Note("Against simple rules spending the same money (everyone, Core20 only, by need), run as scenarios on "
             "the same draws", tag="h3")
        solara.HTML(tag="div", unsafe_innerHTML=R.html_table(rows), classes=["nw-comparison"])
        Note("The curves' prediction of the optimiser's own pick is biased upwards (the winner's curse): quote the "
             "run, and use more replicates or a larger sample for sharper curves.")
    png = o.file("optimise.png")
    if png is not None:
        solara.Image(png.read_bytes(), width="100%", classes=["nw-opt-figure"])
    for n in o.meta.get("notes") or []:
        Note(f"Note: {n}")
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        for name, mime in (("allocation.csv", "text/csv"), ("allocation_scenario.yaml", "application/x-yaml"),
                           ("optimise.md", "text/markdown"), ("optimise.png", "image/png")):
            p = o.file(name)
            if p is not None:
                solara.FileDownload(p.read_bytes, filename=name, label=f"Download {name}",
                                    mime_type=mime)
    if o.file("allocation_scenario.yaml") is not None:
        choices = slot_choices()
        slot = opt_slot.value if opt_slot.value in choices else choices[-1]
        with solara.Row(style={"align-items": "center"}):
            solara.Select("Scenario slot", values=choices, value=slot, on_value=opt_slot.set)
            solara.Button("Load the allocation into the scenario slot", icon_name="mdi-arrow-left-bold",
                          on_click=opt_guarded(lambda: load_allocation(info, slot)), classes=["nw-load-allocation"])
        Note("It becomes an ordinary scenario (the chosen neighbourhoods, each with its places a year) on the "
             "Scenarios tab, to run and compare like any other.")


@solara.component
def Page():
    solara.Title("neighsim workbench")
    solara.Style(CSS)
    with solara.AppBar():
        solara.AppBarTitle("neighsim workbench: Staffordshire and Stoke-on-Trent")
    with solara.Sidebar():
        with solara.Card("Area"):
            Boundary(AreaPicker)
        with solara.Card("Run settings"):
            Boundary(Settings)
    with solara.Column(style={"padding": "8px"}):
        Messages()
        Boundary(AreaMap)
        with solara.lab.Tabs(value=main_tab.value, on_value=main_tab.set, lazy=True):
            with solara.lab.Tab("Scenarios", classes=["nw-tab-scenarios"]):
                Boundary(Scenarios)
                Boundary(RunPanel)
                Boundary(Results)
            with solara.lab.Tab("Optimise a budget", classes=["nw-tab-optimise"]):
                Boundary(OptimisePanel)
