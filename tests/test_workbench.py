"""The workbench (`neighsim serve`): cache keys, input checks shown in the page, the local-only bind, and
the page itself driven in headless Chromium (Playwright's sync API with Debian's /usr/bin/chromium).

The browser test starts `neighsim serve` on a free port in a subprocess, picks one neighbourhood on the
map, changes the settings, runs it, sees the headline and the chart, runs again with another setting
(new numbers), asks for the same inputs again (the cache), downloads the XLSX (opened with openpyxl),
opens Mesa's agent view, then optimises a budget on the "Optimise a budget" tab (a bad budget's message,
the allocation, the comparison, a download), loads the allocation into a scenario slot and runs it, and
checks the browser console has no errors. Its screenshot is kept in the test's tmp_path, and copied to
docs/workbench_screenshot.png with NEIGHSIM_UPDATE_SCREENSHOT=1.

The optimiser's panel (`neighsim optimise` in the page): its fields read by the command's parsers, one line
per problem, its cache key, and (slow) an optimisation of one neighbourhood in the worker end to end.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from neighsim.errors import NeighsimError
from neighsim.workbench import inputs
from neighsim.workbench.inputs import Area, InputError, RunRequest, RunSettings, cache_key

ROOT = Path(__file__).resolve().parents[1]
FALLS = {"name": "falls", "description": "", "interventions": [
    {"type": "falls_pathway", "start": "2026-10", "ramp_months": 6, "capacity": 6000,
     "eligibility": "frailty >= moderate or fell_last_12m", "options": {"digital": True, "exercise": True}}]}


# --- the cache key ----------------------------------------------------------------------------------------
def _req(**kw) -> RunRequest:
    base = {"area": Area("locality", ("Tamworth",)), "scenarios": (FALLS,), "settings": RunSettings()}
    base.update(kw)
    return RunRequest(**base)


def test_cache_key_is_the_inputs_not_their_spelling() -> None:
    key = cache_key(_req())
    assert key == cache_key(_req()) and len(key) == 20
    # key order inside the dicts, 6000 against 6000.0, the order neighbourhoods were clicked: the same run
    shuffled = {"interventions": [{"options": {"exercise": True, "digital": True}, "capacity": 6000.0,
                                   "eligibility": "frailty >= moderate or fell_last_12m", "ramp_months": 6,
                                   "start": "2026-10", "type": "falls_pathway"}], "description": "", "name": "falls"}
    assert cache_key(_req(scenarios=(shuffled,))) == key
    a = Area("neighbourhoods", ("Tamworth: Amington & Spital", "Tamworth: Wilnecote & Belgrave"))
    b = Area("neighbourhoods", ("Tamworth: Wilnecote & Belgrave", "Tamworth: Amington & Spital"))
    assert cache_key(_req(area=a)) == cache_key(_req(area=b))


@pytest.mark.parametrize("change", [
    {"area": Area("locality", ("Stafford",))},
    {"area": Area("ics", ())},
    {"settings": RunSettings(scale=0.1)},
    {"settings": RunSettings(replicates=4)},
    {"settings": RunSettings(psa=False)},
    {"settings": RunSettings(years=3)},
    {"settings": RunSettings(seed=7)},
    {"scenarios": ()},
    {"scenarios": ({**FALLS, "interventions": [{**FALLS["interventions"][0], "capacity": 5000}]},)},
    {"scenarios": (FALLS, {**FALLS, "name": "falls_2"})},
])
def test_cache_key_changes_with_every_input(change: dict) -> None:
    assert cache_key(_req(**change)) != cache_key(_req())


def test_cache_key_changes_with_the_configuration_and_parameters() -> None:
    assert cache_key(_req(), "digest-a") != cache_key(_req(), "digest-b")
    two = _req(scenarios=(FALLS, {**FALLS, "name": "falls_2"}))
    swapped = _req(scenarios=({**FALLS, "name": "falls_2"}, FALLS))
    assert cache_key(two) != cache_key(swapped)  # the order is the order shown side by side


# --- reading and checking the inputs ------------------------------------------------------------------------
def test_every_bundled_scenario_survives_the_form() -> None:
    """A bundled file loaded into the form and read back is the same scenario for the schema."""
    from neighsim.interventions import registry
    from neighsim.interventions.schema import scenario_model
    from neighsim.parameters import load_parameters
    from neighsim.paths import configs_dir
    from neighsim.yamlio import read_yaml

    model = scenario_model(registry.types())
    params = load_parameters(configs_dir() / "parameters")
    files = sorted((configs_dir() / "scenarios").glob("*.yaml"))
    assert files
    for p in files:
        raw = read_yaml(p)
        back = inputs.scenario_from_form(inputs.form_from_scenario(raw), 1)
        ctx = {"params": params}
        assert model.model_validate(back, context=ctx) == model.model_validate(raw, context=ctx), p.name


@pytest.mark.parametrize("field,value,expected", [
    ("eligibility", "frailty >= moderat", "field 'interventions[0].eligibility'"),
    ("uptake", "1.5", "'interventions[0].uptake.probability': must be at most 1"),
    ("ramp_months", "six", "interventions[0].ramp_months"),
    ("start", "2026-13", "interventions[0].start"),
    ("extra", "cost: {per_particpant: 3}", "interventions[0].cost.per_particpant': unknown key"),
    ("extra", "cost: [", "(extra settings)': not valid YAML"),
    ("target_mode", "areas", "choose at least one locality or neighbourhood"),
])
def test_bad_inputs_give_one_line_naming_the_field(field: str, value: str, expected: str) -> None:
    form = inputs.blank_scenario("mine")
    form["interventions"][0][field] = value
    d, problem = inputs.quick_check(form, 2)
    assert problem is not None and expected in problem, problem
    assert problem.startswith("<scenario 2: mine>"), problem
    assert "Traceback" not in problem


def test_places_need_an_amount_and_names_are_checked() -> None:
    form = inputs.blank_scenario("mine")
    form["interventions"][0].update(places="capacity", amount="lots")
    assert "expected a number, got 'lots'" in inputs.quick_check(form, 1)[1]
    form["interventions"][0].update(amount="")
    assert "give the places a year" in inputs.quick_check(form, 1)[1]
    form["interventions"][0].update(amount="6,000")
    assert inputs.quick_check(form, 1) == (inputs.scenario_from_form(form, 1), None)
    assert inputs.scenario_from_form(form, 1)["interventions"][0]["capacity"] == 6000
    assert "'baseline' is the comparator's name" in inputs.quick_check(inputs.blank_scenario("baseline"), 1)[1]
    with pytest.raises(InputError, match="used twice"):
        inputs.scenario_dicts([inputs.blank_scenario("a"), inputs.blank_scenario("a")])
    with pytest.raises(InputError, match="at most 4 scenarios"):
        inputs.scenario_dicts([inputs.blank_scenario(f"s{i}") for i in range(5)])


@pytest.mark.parametrize("settings,expected", [
    (RunSettings(scale=2.0), "field 'scale'"),
    (RunSettings(scale=0.0), "field 'scale'"),
    (RunSettings(replicates=0), "field 'replicates'"),
    (RunSettings(replicates=51), "at most 50 here"),
    (RunSettings(years=21), "field 'years'"),
    (RunSettings(seed=-1), "field 'seed'"),
])
def test_run_settings_use_the_experiment_schema(settings: RunSettings, expected: str) -> None:
    with pytest.raises(InputError) as exc:
        inputs.check_settings(settings)
    assert exc.value.problems[0].startswith("<run settings>") and expected in exc.value.problems[0]


def test_areas_resolve_to_neighbourhoods() -> None:
    from neighsim.config import load_config, neighbourhood_table

    table = neighbourhood_table(load_config())
    assert len(inputs.neighbourhoods_of(Area("ics", ()), table)) == 26
    assert len(inputs.neighbourhoods_of(Area("place", ("stoke-on-trent",)), table)) == 7
    assert len(inputs.neighbourhoods_of(Area("locality", ("Tamworth",)), table)) == 2
    with pytest.raises(InputError, match="unknown locality 'Tamwerth'"):
        inputs.neighbourhoods_of(Area("locality", ("Tamwerth",)), table)
    with pytest.raises(InputError, match="choose a neighbourhood"):
        inputs.neighbourhoods_of(Area("neighbourhoods", ()), table)
    assert inputs.report_area(Area("neighbourhoods", ("a", "b"))) is None
    assert inputs.report_area(Area("locality", ("Tamworth",))) == "Tamworth"


@pytest.fixture(scope="module")
def workbench_here(tmp_path_factory):
    from neighsim.workbench import jobs

    wb = jobs.configure(tmp_path_factory.mktemp("cache"))
    yield wb
    wb.shutdown()


def test_validation_errors_are_shown_in_the_page(workbench_here) -> None:
    """The scenario editor renders the schema's message in an error box (no browser: Solara in-process)."""
    import ipyvuetify as v
    import solara

    from neighsim.workbench import app

    form = inputs.blank_scenario("bad")
    form["interventions"][0].update(eligibility="frailty >= moderat", uptake="1.5")
    _, rc = solara.render(app.ScenarioEditor(0, form, workbench_here.table), handle_error=False)
    texts = [" ".join(map(str, w.children)) for w in rc.find(v.Alert).widgets]
    assert len(texts) == 1
    assert "<scenario 1: bad>" in texts[0] and "interventions[0].eligibility" in texts[0]
    assert "uptake.probability': must be at most 1" in texts[0]
    form["interventions"][0].update(eligibility="", uptake="")
    _, rc = solara.render(app.ScenarioEditor(0, form, workbench_here.table), handle_error=False)
    assert not rc.find(v.Alert).widgets


def test_a_callback_never_raises_into_the_page(workbench_here, caplog) -> None:
    from neighsim.workbench import app

    app.messages.set([])
    app.guarded(lambda: 1 / 0)()
    assert app.messages.value[0].startswith("internal error: ZeroDivisionError") and "console" in app.messages.value[0]
    assert "Traceback" in caplog.text  # the details go to the console
    app.guarded(lambda: app.load_preset(0, "no_such"))()
    assert "no bundled scenario 'no_such'" in app.messages.value[0]
    app.messages.set([])


def test_a_run_that_cannot_be_made_says_why(tmp_path: Path) -> None:
    """The worker's checks (the run's own, after the schema) come back as lines naming the scenario."""
    from neighsim.workbench.jobs import do_run

    elsewhere = {"name": "stafford_only", "interventions": [{"type": "falls_pathway",
                                                             "targeting": {"localities": ["Stafford"]}}]}
    req = RunRequest(Area("neighbourhoods", ("Tamworth: Amington & Spital",)), (elsewhere,),
                     RunSettings(scale=0.02, replicates=1, psa=False, years=1))
    res = do_run(req.to_json(), str(tmp_path / "run"), None, "k")
    assert not res["ok"] and len(res["errors"]) == 1, res
    assert res["errors"][0].startswith("<scenario 1: stafford_only>, field 'interventions[0].targeting'"), res
    assert "none is in this run" in res["errors"][0]
    bad = RunRequest(Area("locality", ("Tamwerth",)), (), RunSettings(replicates=0))
    res = do_run(bad.to_json(), str(tmp_path / "bad"), None, "k")
    assert res["errors"] == ["<run settings>, field 'replicates': Input should be greater than or equal to 1, got 0"]


# --- the optimiser's panel ("Optimise a budget") ------------------------------------------------------------
ONE_NB = Area("neighbourhoods", ("Tamworth: Amington & Spital",))
OPT_FORM = {"budget": "£2m", "objective": "nmb", "equity": "none", "share": "0.4",
            "interventions": ["warm_homes", "falls_pathway"], "scale": "0.05", "replicates": "3", "draws": "5",
            "years": "5", "seed": ""}


def _opt(area: Area = ONE_NB, **kw) -> inputs.OptimiseRequest:
    return inputs.read_optimise_form({**OPT_FORM, **kw}, area)


def test_the_optimise_panel_reads_its_fields_with_the_commands_parsers() -> None:
    req = _opt()
    assert req.budget == 2_000_000 and req.objective == "nmb" and req.equity is None
    assert req.interventions == ("falls_pathway", "warm_homes")  # a canonical order: the order of clicks is not an input
    assert (req.scale, req.replicates, req.draws, req.years, req.seed) == (0.05, 3, 5, 5, None)
    assert _opt(budget="500k").budget == 500_000 and _opt(budget="2,000,000").budget == 2e6
    assert _opt(equity="gap-narrows").equity == "gap-narrows"
    assert _opt(equity="core20-share", share="40%").equity == "core20-share=0.4"
    assert _opt(seed="7").seed == 7
    assert inputs.OptimiseRequest.from_json(req.to_json()) == req
    assert inputs.optimise_area(Area("ics", ())) is None
    assert inputs.optimise_area(Area("locality", ("Tamworth",))) == "Tamworth"
    assert inputs.optimise_area(ONE_NB) == "Tamworth: Amington & Spital"


OPT_BAD = [
    ({"budget": "lots"}, "<optimise>, field 'budget': expected an amount of pounds such as 2000000, 2e6 or 2m"),
    ({"budget": "0"}, "<optimise>, field 'budget': expected a positive amount of pounds"),
    ({"budget": ""}, "<optimise>, field 'budget'"),
    ({"objective": "happiness"}, "<optimise>, field 'objective': expected one of admissions, qalys, nmb"),
    ({"equity": "core20-share", "share": "1.5"}, "<optimise>, field 'equity': the Core20 share must be from 0 to 1"),
    ({"equity": "core20-share", "share": ""}, "<optimise>, field 'equity': give the least share"),
    ({"equity": "fair"}, "<optimise>, field 'equity': expected gap-narrows or core20-share=X"),
    ({"interventions": []}, "<optimise>, field 'interventions': choose at least one intervention"),
    ({"interventions": ["juggling"]}, "<optimise>, field 'interventions': unknown 'juggling'"),
    ({"scale": "2"}, "<optimise>, field 'scale'"),
    ({"scale": "small"}, "<optimise>, field 'scale': expected a number, got 'small'"),
    ({"replicates": "0"}, "<optimise>, field 'replicates'"),
    ({"replicates": "51"}, "<optimise>, field 'replicates': at most 50 here"),
    ({"draws": "-1"}, "<optimise>, field 'draws': PSA draws of the comparison run, 0 (none) to 50"),
    ({"years": "30"}, "<run settings>, field 'years'"),
]


@pytest.mark.parametrize("change,expected", OPT_BAD, ids=[str(c) for c, _ in OPT_BAD])
def test_the_optimise_panel_says_what_is_wrong_in_one_line(change: dict, expected: str) -> None:
    with pytest.raises(InputError) as exc:
        _opt(**change)
    assert len(exc.value.problems) == 1, exc.value.problems
    assert exc.value.problems[0].startswith(expected), exc.value.problems
    assert "Traceback" not in exc.value.problems[0]


def test_the_optimise_panel_takes_one_area_and_lists_every_problem() -> None:
    two = Area("neighbourhoods", ("Tamworth: Amington & Spital", "Tamworth: Wilnecote & Belgrave"))
    with pytest.raises(InputError, match="allocates within one area .* 2 neighbourhoods are chosen"):
        _opt(area=two)
    with pytest.raises(InputError) as exc:
        _opt(budget="lots", interventions=[], scale="0")
    assert [p.split("'")[1] for p in exc.value.problems] == ["budget", "interventions", "scale"]
    # the optimiser's own checks, made in the worker, name the panel's field instead of the command's flag
    assert inputs._flag_words("--interventions: none of tobacco reaches anyone in X") == (
        "<optimise>, field 'interventions': none of tobacco reaches anyone in X")
    assert inputs._flag_words("--equity gap-narrows: X: Y has no Core20 residents (IMD deciles 1-2)") == (
        "<optimise>, field 'equity': X: Y has no Core20 residents (IMD deciles 1-2)")
    assert inputs._flag_words("no intervention was taken up") == "no intervention was taken up"


def test_the_optimisation_key_is_its_inputs() -> None:
    key = inputs.optimise_key(_opt(), "ctx")
    assert len(key) == 20 and key == inputs.optimise_key(_opt(), "ctx")
    # however spelt: the budget, the share, the order the interventions were chosen in
    assert inputs.optimise_key(_opt(budget="2,000,000", interventions=["falls_pathway", "warm_homes"]), "ctx") == key
    assert inputs.optimise_key(_opt(equity="core20-share", share="40%"), "ctx") == inputs.optimise_key(
        _opt(equity="core20-share", share="0.4"), "ctx")
    changes = [{"budget": "3m"}, {"objective": "qalys"}, {"equity": "gap-narrows"}, {"draws": "6"},
               {"interventions": ["falls_pathway"]}, {"scale": "0.1"}, {"replicates": "4"}, {"years": "3"},
               {"seed": "7"}, {"area": Area("locality", ("Tamworth",))}]
    keys = {inputs.optimise_key(_opt(**c), "ctx") for c in changes}
    assert len(keys) == len(changes) and key not in keys
    assert inputs.optimise_key(_opt(), "other") != key
    # never a scenario run's key; the curves are shared by every budget, objective, equity rule and draws
    assert key != cache_key(RunRequest(ONE_NB, (), RunSettings(scale=0.05, replicates=3, psa=False)), "ctx")
    curves = inputs.curves_key(_opt(), "ctx")
    assert curves != key
    for same in changes[:4]:
        assert inputs.curves_key(_opt(**same), "ctx") == curves
    for other in changes[4:]:
        assert inputs.curves_key(_opt(**other), "ctx") != curves


def test_the_optimise_panel_shows_problems_in_the_page(workbench_here) -> None:
    import ipyvuetify as v
    import solara

    from neighsim.workbench import app

    app.choose_area("neighbourhoods", list(ONE_NB.names))
    app.opt_form.set({**app.opt_form.value, "budget": "lots", "equity": "core20-share", "share": "2"})
    app.start_optimise()
    assert len(app.opt_messages.value) == 2 and not app.optimise_task.pending
    assert app.opt_messages.value[0].startswith("<optimise>, field 'budget'")
    _, rc = solara.render(app.OptimisePanel(), handle_error=False)
    texts = [" ".join(map(str, w.children)) for w in rc.find(v.Alert).widgets]
    assert texts == app.opt_messages.value
    app.opt_guarded(lambda: 1 / 0)()  # a bug: a line, never a traceback
    assert app.opt_messages.value[0].startswith("internal error: ZeroDivisionError")
    app.set_opt("budget", "2m")  # editing a field clears the messages
    assert app.opt_messages.value == []
    app.opt_form.set({**app.opt_form.value, "equity": "none"})


@pytest.mark.slow
def test_optimise_a_budget_in_the_worker_end_to_end(workbench_here) -> None:
    """One neighbourhood at a 5% sample, 2 replicates, 3 years, two interventions: the optimisation runs in
    the workbench's worker with progress, writes the command's files, is cached by its inputs, reuses its
    curves for another budget, and its allocation loads into a scenario slot as a valid scenario."""
    from neighsim.workbench import app
    from neighsim.workbench import results as R

    wb = workbench_here
    req = _opt(budget="300k", objective="qalys", interventions=["falls_pathway", "tobacco"], scale="0.05",
               replicates="2", draws="2", years="3")
    job = wb.optimise(req)
    said = set()
    while not job.done():
        said.add(job.progress()[1].split(":")[0])
        time.sleep(0.1)
    res = job.result()
    assert res["ok"], res
    assert {"curves 1/2", "curves 2/2"} & said, said
    for name in ("allocation.csv", "allocation_scenario.yaml", "comparison.csv", "optimise.png", "optimise.md",
                 "optimise.json", "workbench.json"):
        assert (job.folder / name).is_file(), name
    o = R.load_optimisation(job.folder)
    rows = R.allocation_rows(o)
    assert rows[-1]["Intervention"] == "Total" and len(rows) == len(o.chosen) + 1 >= 2
    assert "QALYs gained (95% interval)" in rows[0]
    comp = R.comparison_rows(o)
    assert [r["Strategy"] for r in comp][0] == "Optimised allocation" and len(comp) >= 3
    assert "Tamworth: Amington & Spital" in R.optimisation_heading(o)
    # the same inputs: from the cache; another budget: the curves are reused
    again = wb.optimise(req)
    assert again.cached and again.done() and again.result()["ok"]
    other = wb.optimise(dataclasses.replace(req, budget=200_000.0))
    t0 = time.perf_counter()
    res2 = other.future.result(timeout=300)
    assert res2["ok"] and res2["curves_reused"] == ["demand", "levels"], res2
    levels = json.loads((other.folder / "runs" / "levels" / "manifest.json").read_text())
    assert levels["tasks_resumed"] == levels["tasks"]  # resumed, not run again
    print(f"first optimisation {res['seconds']:.1f} s, another budget {res2['seconds']:.1f} s "
          f"({time.perf_counter() - t0:.1f} s)")
    # the page draws it: the tables, the figure, the downloads and the button that loads it into a slot
    import ipyvuetify as v
    import solara

    _, rc = solara.render(app.OptimiseResults(info := {"key": job.key, "folder": str(job.folder), "request": req}),
                          handle_error=False)
    html = " ".join(str(w.unsafe_innerHTML) for w in rc.find(solara.widgets.HTML).widgets)
    assert html.count('class="nw-table"') == 2 and "Falls pathway" in html and "Core20 only" in html, html
    buttons = " ".join(" ".join(map(str, w.children)) for w in rc.find(v.Btn).widgets)
    for name in ("allocation.csv", "allocation_scenario.yaml", "optimise.md", "Load the allocation"):
        assert name in buttons, buttons
    # the allocation into a scenario slot: an ordinary scenario, valid for the schema, for the same area
    app.forms.set(app.start_forms())
    app.choose_area("locality", ["Stafford"])
    assert app.slot_choices()[-1] == "New scenario 2"
    assert app.load_allocation(info, "New scenario 2") == 1
    form = app.forms.value[1]
    assert form["name"] == "optimised" and app.current_area() == ONE_NB and app.main_tab.value == 0
    d, problem = inputs.quick_check(form, 2, wb.params)
    assert problem is None, problem
    assert d["interventions"][0]["targeting"] == {"neighbourhoods": ["Tamworth: Amington & Spital"]}
    app.load_allocation(info, app.slot_choices()[0])  # into slot 1 too: slot 2 has the name already
    assert [f["name"] for f in app.forms.value] == ["optimised_2", "optimised"]
    app.forms.set(app.start_forms())


# --- binding ---------------------------------------------------------------------------------------------
def test_the_server_binds_loopback_unless_told() -> None:
    from neighsim.workbench.server import check_bind, is_loopback, serve

    assert check_bind(None, explicit=False) == "127.0.0.1"
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host) and check_bind(host, explicit=False) == host
    for host in ("0.0.0.0", "::", "192.0.2.10"):
        assert not is_loopback(host)
        with pytest.raises(NeighsimError, match="refusing to listen"):
            check_bind(host, explicit=False)
        assert check_bind(host, explicit=True) == host
    with pytest.raises(NeighsimError, match="refusing to listen"):  # before anything starts
        serve("0.0.0.0", 0, explicit_host=False)


def test_serve_is_a_command() -> None:
    from neighsim.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.command == "serve" and args.host is None and args.port == 8765
    args = build_parser().parse_args(["serve", "--port", "0", "--host", "0.0.0.0"])
    assert args.port == 0 and args.host == "0.0.0.0"


# --- the page in a browser ------------------------------------------------------------------------------------
def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`neighsim serve` on a free port, in its own process group (stopped at the end)."""
    port = _free_port()
    cache = tmp_path_factory.mktemp("workbench-cache")
    env = {**os.environ, "SOLARA_HOST": "0.0.0.0", "HOST": "0.0.0.0"}  # ignored: only --host changes the address
    proc = subprocess.Popen([sys.executable, "-m", "neighsim.cli", "serve", "--port", str(port), "--cache-dir",
                             str(cache)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: [lines.append(x) for x in proc.stdout], daemon=True).start()
    deadline = time.time() + 90
    while not any("neighsim workbench at" in x for x in lines):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("the workbench did not start:\n" + "".join(lines))
        time.sleep(0.2)
    assert f"http://127.0.0.1:{port}" in "".join(lines)
    yield {"url": f"http://127.0.0.1:{port}/", "port": port, "lines": lines, "cache": cache}
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@pytest.mark.slow
def test_the_workbench_in_a_browser(server, tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed (apt-get install chromium); the workbench's browser test needs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    import openpyxl

    # only loopback answers
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", server["port"])) == 0
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 2300}, accept_downloads=True)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.set_default_timeout(45_000)
            page.goto(server["url"])
            # the map: choose one neighbourhood by clicking its tile
            page.locator(".nw-tile", has_text="Amington & Spital").click()
            page.get_by_text("Tamworth: Amington & Spital: 1 neighbourhood").wait_for()
            # a setting: 2 replicates (PSA draws) instead of 3, at the default 5% sample
            assert page.get_by_label("Scale (fraction of residents)").input_value() == "0.05"
            page.get_by_label("Replicates").fill("2")
            page.get_by_label("Replicates").press("Tab")
            # a bad value is shown in the page, naming the field; correcting it clears the message
            uptake = page.get_by_label("Uptake (0 to 1)")
            uptake.fill("1.5")
            uptake.press("Tab")
            page.get_by_text("uptake.probability': must be at most 1").wait_for()
            uptake.fill("")
            uptake.press("Tab")
            page.get_by_text("uptake.probability': must be at most 1").wait_for(state="detached")
            # a second scenario side by side, from a bundled file
            page.get_by_role("button", name="Add scenario").click()
            page.get_by_label("Start from a bundled scenario").nth(1).click(force=True)
            page.get_by_role("option", name="warm_homes", exact=True).click()
            sync_api.expect(page.get_by_label("Name").nth(1)).to_have_value("warm_homes")
            # run: progress, then the headline and the chart
            page.locator(".nw-run").click()
            page.get_by_text("Results for Tamworth: Amington & Spital").wait_for()
            first = page.locator(".nw-headline").inner_text()
            assert "Falls pathway" in first and "Warm homes" in first and "Emergency admissions avoided" in first
            assert page.locator(".nw-headline tbody tr").count() == 2
            page.locator("img").first.wait_for()
            key1 = page.get_by_text("Cache key").inner_text()
            # another setting: new numbers on screen
            page.get_by_label("Replicates").fill("3")
            page.get_by_label("Replicates").press("Tab")
            page.locator(".nw-run").click()
            page.wait_for_function("k => !document.body.innerText.includes(k)", arg=key1.split("Cache key")[1][:21])
            page.get_by_text("3 PSA draws").wait_for()
            assert page.locator(".nw-headline").inner_text() != first
            # the same inputs again come from the cache
            page.locator(".nw-run").click()
            page.get_by_text("Reused from the cache").first.wait_for()
            # the economics and the deprivation chart
            page.get_by_role("tab", name="Economics").click()
            assert "NMB at £20,000/QALY" in page.locator(".nw-economics").inner_text()
            # downloads: the report of what is on screen
            page.locator(".nw-prepare").click()
            page.get_by_text("Download XLSX").wait_for()
            with page.expect_download() as dl:
                page.get_by_text("Download XLSX").click()
            xlsx = tmp_path / "results.xlsx"
            dl.value.save_as(xlsx)
            book = openpyxl.load_workbook(xlsx)
            assert "headline" in book.sheetnames and "by neighbourhood" in book.sheetnames
            assert "Amington & Spital" in str([c.value for c in book["headline"][1]])
            # Mesa's agent view
            page.get_by_role("tab", name="Agents (Mesa)").click()
            page.locator(".nw-agents").click()
            page.get_by_text("sampled residents at").wait_for()
            page.get_by_role("tab", name="By year").click()
            page.wait_for_timeout(500)
            shot = tmp_path / "workbench_screenshot.png"
            page.screenshot(path=str(shot))
            # optimise a budget (a 3-year horizon, two interventions, 2 replicates, 2 draws): a bad budget's
            # message, the allocation, the comparison, a download, and the allocation run as a scenario
            page.get_by_label("Years (1 to 20)").fill("3")
            page.get_by_label("Years (1 to 20)").press("Tab")
            page.get_by_role("tab", name="Optimise a budget").click()
            budget = page.get_by_label("Budget (£ over the horizon")
            budget.fill("lots")
            budget.press("Tab")
            page.locator(".nw-optimise").click()
            page.get_by_text("<optimise>, field 'budget': expected an amount of pounds").wait_for()
            budget.fill("300k")
            budget.press("Tab")
            page.get_by_text("field 'budget'").wait_for(state="detached")
            page.get_by_label("Objective: maximise").click(force=True)
            page.get_by_role("option", name="QALYs gained").click()
            page.get_by_label("Interventions").click(force=True)
            for name in ("health_checks", "warm_homes"):
                page.get_by_role("option", name=name, exact=True).click()
            page.keyboard.press("Escape")
            for label in ("Replicates of each curve run", "PSA draws of the comparison"):
                page.get_by_label(label).fill("2")
                page.get_by_label(label).press("Tab")
            page.locator(".nw-optimise").click()
            page.get_by_role("heading", name="Optimised allocation").wait_for(timeout=180_000)
            assert "Falls pathway" in page.locator(".nw-allocation").inner_text()
            assert "Core20 only" in page.locator(".nw-comparison").inner_text()
            assert "2 PSA draws" in page.get_by_text("Curves from 2 replicates").inner_text()
            with page.expect_download() as dl:
                page.get_by_text("Download allocation.csv").click()
            assert (Path(dl.value.path()).read_text().splitlines()[0].startswith("intervention,neighbourhood_id"))
            page.screenshot(path=str(tmp_path / "optimise_screenshot.png"))
            page.locator(".nw-load-allocation").click()
            page.get_by_text("The allocation is loaded into scenario 3 (optimised)").wait_for()
            sync_api.expect(page.get_by_label("Name").nth(2)).to_have_value("optimised")
            page.locator(".nw-run").click()
            page.wait_for_function("() => document.querySelectorAll('.nw-headline tbody tr').length === 3")
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))  # what the page showed, for the report
            print("server console:\n" + "".join(server["lines"][-40:]), "\nscreenshot:", tmp_path / "failure.png")
            raise
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000
    if os.environ.get("NEIGHSIM_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "workbench_screenshot.png")
    assert not errors, errors
    assert not any("Traceback" in x for x in server["lines"]), "".join(server["lines"])
