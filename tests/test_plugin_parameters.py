"""Plug-ins ship their own parameters; scenarios as dicts from Python; the docs' plug-in example runs.

The example plug-in (examples/plugin_walking_group) is registered in-process, as an installed one would be
through its entry point: importing its package registers the type, and its `parameters/` folder is found
beside the module."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neighsim import api
from neighsim.config import load_config
from neighsim.errors import ConfigError, NeighsimError
from neighsim.interventions import registry
from neighsim.parameters import load_parameters
from neighsim.paths import project_root
from neighsim.runner.fingerprint import parameters_digest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin_walking_group"
DOC = ROOT / "docs" / "interventions.md"
PLUGIN_PARAMS = {"walking_group.uptake", "walking_group.falls_rate_ratio", "walking_group.stop_annual",
                 "walking_group.cost_per_participant"}
BLOCK = re.compile(r"<!-- example: (\S+) -->\n```[a-z]*\n(.*?)\n```", re.S)


@pytest.fixture(scope="module")
def walking_group():
    """The example plug-in, registered in-process (its package on the path and imported)."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        import walking_group  # noqa: F401  (registers the type)

        yield registry.get("walking_group")
    finally:
        registry.unregister("walking_group")
        sys.path.remove(str(EXAMPLE))
        for name in [m for m in sys.modules if m == "walking_group" or m.startswith("walking_group.")]:
            del sys.modules[name]
        from neighsim.runner.tasks import release_populations

        release_populations()  # populations built here hold the plug-in's parameters


@pytest.fixture(scope="module")
def config():
    return load_config(population={"local_authorities": ["Stoke-on-Trent"], "scale": 0.02}, time={"months": 24})


def _register(tmp_path: Path, name: str, text: str, plugin: str = "extra") -> Path:
    f = tmp_path / name
    f.write_text(textwrap.dedent(text))
    return registry.register_parameters(f, plugin)


# --- parameters ---------------------------------------------------------------------------------------------
def test_the_plugins_parameters_are_merged_with_the_projects(walking_group, config):
    project = load_parameters(config.parameters_dir(), plugins=False)
    params = load_parameters(config.parameters_dir())
    assert set(dict(params.items())) - set(dict(project.items())) == PLUGIN_PARAMS
    spec = params.spec("walking_group.falls_rate_ratio")
    assert spec.plugin == "walking_group" and spec.file == "walking_group.yaml (plug-in walking_group)"
    assert spec.value == 0.9 and spec.dist == {"type": "lognormal", "se": 0.1} and spec.confidence == "A"
    assert spec.is_assumption and "Sherrington" in spec.source
    assert params["walking_group.uptake"] == 0.2
    rows = {r["parameter"]: r for r in params.table()}  # the report's parameter table
    assert rows["walking_group.cost_per_participant"]["file"].endswith("(plug-in walking_group)")
    assert (EXAMPLE / "walking_group" / "parameters").resolve() in {p for _, p in registry.parameter_sources()}


def test_plugin_parameters_take_part_in_psa_draws_and_move_no_other_draw(walking_group, config):
    params = load_parameters(config.parameters_dir())
    project = load_parameters(config.parameters_dir(), plugins=False)
    draws = [params.draw(np.random.default_rng(s)) for s in range(5)]
    for key in PLUGIN_PARAMS:
        values = {d[key] for d in draws}
        assert len(values) == 5 and params[key] not in values, key
    assert all(0 < d["walking_group.uptake"] < 1 for d in draws)  # beta
    # the project's parameters draw exactly as without the plug-in (and as before plug-ins existed)
    for s in range(3):
        a, b = params.draw(np.random.default_rng(s)), project.draw(np.random.default_rng(s))
        for key, _ in project.items():
            assert np.array_equal(np.asarray(a[key]), np.asarray(b[key])), key


def test_a_name_already_defined_is_an_error_naming_both_files(walking_group, config, tmp_path):
    f = _register(tmp_path, "interventions.yaml", """\
        falls_pathway_uptake: {value: 0.5, source: mine, confidence: A}
        """)
    try:
        with pytest.raises(ConfigError) as err:
            load_parameters(config.parameters_dir())
        assert err.value.file == str(f) and err.value.field == "falls_pathway_uptake"
        assert "interventions.falls_pathway_uptake" in err.value.message
        assert str(config.parameters_dir() / "interventions.yaml") in err.value.message
    finally:
        registry.unregister_parameters(f)
    f = _register(tmp_path, "walking_group.yaml", """\
        uptake: {value: 0.5, source: mine, confidence: A}
        """)
    try:
        with pytest.raises(ConfigError, match=r"plug-in 'extra' defines parameter 'walking_group.uptake'.*"
                                              r"walking_group/parameters/walking_group.yaml \(plug-in 'walking_group'\)"):
            load_parameters(config.parameters_dir())
    finally:
        registry.unregister_parameters(f)
    load_parameters(config.parameters_dir())  # fine again


@pytest.mark.parametrize("text, field, words", [
    ("x: {value: 0.5, dist: {type: beta, a: -1, b: 2}, source: s, confidence: A}", "x.dist.a", "greater than 0"),
    ("x: {value: 0.5, confidence: A}", "x.source", "Field required"),
    ("x: {value: 0.5, source: s, confidence: Q}", "x.confidence", "'V', 'M', 'D' or 'A'"),
    ("x: {value: 0.5, source: s, confidence: A, dist: {type: wobbly}}", "x.dist.type", "unknown type"),
    ("x: [1, 2]", "x", "valid dictionary"),
])
def test_a_bad_plugin_file_is_one_error_naming_the_file_and_field(config, tmp_path, text, field, words):
    f = _register(tmp_path, "extra_group.yaml", text + "\n")
    try:
        with pytest.raises(ConfigError) as err:
            load_parameters(config.parameters_dir())
        assert err.value.file == str(f) and err.value.field == field and words in err.value.message
    finally:
        registry.unregister_parameters(f)


def test_a_plugin_file_name_must_be_a_group_name(config, tmp_path):
    f = _register(tmp_path, "Extra-Group.yaml", "x: {value: 1, source: s, confidence: A}\n")
    try:
        with pytest.raises(ConfigError, match="lower-case identifier"):
            load_parameters(config.parameters_dir())
    finally:
        registry.unregister_parameters(f)
    with pytest.raises(NeighsimError, match="not found"):
        registry.register_parameters(tmp_path / "nothing.yaml", "extra")


def test_parameters_from_the_entry_point_group(config, tmp_path, monkeypatch):
    """`neighsim.parameters` entry points: a module (its parameters/ folder) or a path attribute."""
    pkg = tmp_path / "neighsim_params_demo"
    (pkg / "parameters").mkdir(parents=True)
    (pkg / "__init__.py").write_text('COSTS = "costs/demo_costs.yaml"\n')
    (pkg / "parameters" / "demo.yaml").write_text("rate: {value: 2, dist: {type: gamma, shape: 4}, source: s, "
                                                  "confidence: D}\n")
    (pkg / "costs").mkdir()
    (pkg / "costs" / "demo_costs.yaml").write_text("unit: {value: 10, source: s, confidence: A}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [EntryPoint("demo", "neighsim_params_demo", registry.PARAMETERS_GROUP),
           EntryPoint("demo_costs", "neighsim_params_demo:COSTS", registry.PARAMETERS_GROUP),
           EntryPoint("broken", "neighsim_no_such_module", registry.PARAMETERS_GROUP)]
    monkeypatch.setattr(registry, "_parameter_entry_points", lambda: eps)
    with pytest.warns(UserWarning, match="'broken'"):
        params = load_parameters(config.parameters_dir())
    assert params["demo.rate"] == 2 and params.spec("demo.rate").plugin == "demo"
    assert params["demo_costs.unit"] == 10 and params.spec("demo_costs.unit").plugin == "demo_costs"
    eps[1] = EntryPoint("demo_costs", "neighsim_params_demo:MISSING", registry.PARAMETERS_GROUP)
    (pkg / "__init__.py").write_text('COSTS = "costs/demo_costs.yaml"\nMISSING = "nowhere.yaml"\n')
    del sys.modules["neighsim_params_demo"]
    with pytest.raises(NeighsimError, match=r"'demo_costs'.*nowhere.yaml\) does not exist"):
        load_parameters(config.parameters_dir())


def test_the_fingerprint_changes_with_a_plugins_parameter_file(config, tmp_path):
    f = _register(tmp_path, "extra_group.yaml", "x: {value: 0.5, dist: {type: beta, a: 5, b: 5}, source: s, "
                                                "confidence: A}\n")
    try:
        before = parameters_digest(load_parameters(config.parameters_dir()))
        f.write_text("x: {value: 0.5, dist: {type: beta, a: 5, b: 6}, source: s, confidence: A}\n")
        after = parameters_digest(load_parameters(config.parameters_dir()))
        f.write_text("x: {value: 0.6, dist: {type: beta, a: 5, b: 6}, source: s, confidence: A}\n")
        again = parameters_digest(load_parameters(config.parameters_dir()))
        f.write_text("x: {value: 0.6, dist: {type: beta, a: 5, b: 6}, source: another, confidence: A}\n")
        assert parameters_digest(load_parameters(config.parameters_dir())) == again  # sources change no result
    finally:
        registry.unregister_parameters(f)
    assert len({before, after, again, parameters_digest(load_parameters(config.parameters_dir()))}) == 4


# --- scenarios from Python -------------------------------------------------------------------------------------
def test_api_scenarios_as_dicts_and_paths(walking_group, config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths not found here are looked up in the project
    sc = api.load_scenarios([{"name": "walk", "interventions": [{"type": "walking_group", "uptake": 0.3}]},
                             "configs/scenarios/health_checks.yaml"], config)
    assert list(sc) == ["walk", "health_checks"]
    assert sc["walk"].specs[0].describe()["effects"] == {"falls_rate_ratio": "walking_group.falls_rate_ratio",
                                                         "stop_annual": "walking_group.stop_annual"}
    assert api.scenario_path("configs/scenarios/tobacco.yaml") == project_root() / "configs/scenarios/tobacco.yaml"
    (tmp_path / "configs" / "scenarios").mkdir(parents=True)  # the working folder's own copy comes first
    (tmp_path / "configs" / "scenarios" / "tobacco.yaml").write_text("name: mine\n")
    assert api.scenario_path("configs/scenarios/tobacco.yaml") == Path("configs/scenarios/tobacco.yaml")
    with pytest.raises(ConfigError, match="scenario file not found"):
        api.load_scenarios("configs/scenarios/no_such.yaml", config)
    with pytest.raises(ConfigError) as err:
        api.load_scenarios({"name": "w", "interventions": [{"type": "walking_group", "uptake": 1.5}]}, config)
    assert err.value.file == "<scenario dict 1>" and err.value.field == "interventions[0].uptake.probability"
    with pytest.raises(ConfigError) as err:
        walk = {"name": "w", "interventions": [{"type": "walking_group"}]}
        api.load_scenarios([walk, walk], config)
    assert err.value.file == "<scenario dict 2>" and "used twice" in err.value.message
    with pytest.raises(ConfigError, match="unknown effects|not allowed"):
        api.load_scenarios({"name": "w", "interventions": [{"type": "walking_group", "effects": {"x": 1}}]}, config)
    with pytest.raises(ConfigError, match="a path"):
        api.load_scenarios([42], config)


def test_the_examples_scenario_file_is_valid(walking_group, config):
    sc = api.load_scenarios(EXAMPLE / "scenario.yaml", config)
    d = sc["walking_groups"].specs[0].delivery
    assert d.capacity == 3000 and d.costs == {"fixed_per_year": 40000.0} and d.targeting.deciles == (1, 2)


# --- the documentation ---------------------------------------------------------------------------------------------
def _doc_blocks() -> dict[str, str]:
    return dict(BLOCK.findall(DOC.read_text()))


def test_the_docs_show_the_example_files_verbatim():
    blocks = _doc_blocks()
    files = {str(p.relative_to(ROOT)) for p in EXAMPLE.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert set(blocks) == files  # every file of the example is shown, and nothing else is marked
    for path, text in blocks.items():
        assert text == (ROOT / path).read_text().rstrip("\n"), f"docs/interventions.md differs from {path}"


def test_the_docs_python_example_runs_as_written(walking_group, tmp_path, monkeypatch, capsys):
    code = _doc_blocks()["examples/plugin_walking_group/run_example.py"]
    monkeypatch.chdir(tmp_path)  # it writes out/walking_group here; falls_pathway.yaml is found in the project
    exec(compile(code, "run_example.py", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    assert "walking_group.falls_rate_ratio" in printed and "walking_groups" in printed
    out = tmp_path / "out" / "walking_group"
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["scenario"]) == {"baseline", "walking_groups", "falls_pathway"}
    part = api.select(summary, "walking_group_participants", scenario="walking_groups", period="2026-2028",
                      measure="value")
    assert part["mean"].iloc[0] > 10
    # every task of the scenario ran with its parameter draw: the plug-in's numbers move, a number fixed in
    # the scenario does not
    effects = {}
    for f in sorted((out / "tasks").glob("walking_groups__*.done.json")):
        done = json.loads(f.read_text())
        effects[done["param_draw"]] = done["interventions"]["walking_group"]
    assert sorted(effects) == [0, 1, 2, 3]
    assert len({e["effects"]["falls_rate_ratio"] for e in effects.values()}) == 4
    assert len({e["uptake"] for e in effects.values()}) == 4
    assert {e["effects"]["stop_annual"] for e in effects.values()} == {0.3}
    manifest = json.loads((out / "manifest.json").read_text())
    cfg = load_config(population={"local_authorities": ["Stoke-on-Trent"], "scale": 0.02}, time={"months": 24})
    assert manifest["inputs"]["parameters"] == parameters_digest(load_parameters(cfg.parameters_dir()))


def test_the_plugins_parameters_are_sensitivity_candidates(walking_group, config):
    from neighsim.runner.sensitivity import default_candidates, intervention_candidates

    params = load_parameters(config.parameters_dir())
    sc = api.load_scenarios({"name": "w", "interventions": [{"type": "walking_group", "effects": {"stop_annual": 0.3}}]},
                            config)["w"]
    want = PLUGIN_PARAMS - {"walking_group.stop_annual"}  # a number in the scenario is not a candidate
    assert want <= set(default_candidates(sc, params)) and want <= set(intervention_candidates(sc, params))
    assert "walking_group.stop_annual" not in default_candidates(sc, params)
