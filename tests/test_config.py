"""Configuration and parameter files: bad input gives one clear error naming the file and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neighsim.cli import main
from neighsim.config import load_config
from neighsim.errors import ConfigError
from neighsim.parameters import load_parameters


def write(tmp_path: Path, text: str, name: str = "ics.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_default_config_is_valid():
    cfg = load_config()
    assert cfg.time.months == 60
    assert cfg.population.start_date.isoformat() == "2026-04-01"
    assert cfg.parameters_dir().is_dir()


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("population:\n  scale: 2\n", "population.scale", "less than or equal"),
        ("population:\n  scael: 0.5\n", "population.scael", "unknown key"),
        ("bogus: 1\n", "bogus", "unknown key"),
        ("time:\n  months: many\n", "time.months", "integer"),
        ("population:\n  local_authorities: [Atlantis]\n", "population.local_authorities", "Atlantis"),
        ("geography:\n  neighbourhood_min: 90000\n", "geography", "neighbourhood_min <"),
    ],
)
def test_bad_values_name_file_and_field(tmp_path, text, field, words):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert err.value.file == str(p)
    assert err.value.field == field
    assert words in str(err.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "population: [unclosed\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_cli_reports_one_line_without_traceback(tmp_path, capsys):
    p = write(tmp_path, "population:\n  scale: -1\n")
    assert main(["population", "--config", str(p)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert str(p) in err and "population.scale" in err


def test_every_parameter_has_value_source_and_confidence():
    params = load_parameters(load_config().parameters_dir())
    assert len(params) > 40
    for row in params.table():
        assert row["source"].strip(), row["parameter"]
        assert row["confidence"] in {"V", "M", "D", "A"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("x:\n  value: 1\n  confidence: V\n", "x.source"),
        ("x:\n  value: abc\n  source: s\n  confidence: V\n", "x.value"),
        ("x:\n  value: 1\n  source: s\n  confidence: Z\n", "x.confidence"),
        ("x:\n  value: 1\n  source: s\n  confidence: V\n  dist: {type: lognormal}\n", "x.dist.se"),
        ("x:\n  value: 1\n  source: s\n  confidence: V\n  colour: red\n", "x.colour"),
    ],
)
def test_bad_parameter_files(tmp_path, text, field):
    write(tmp_path, text, "group.yaml")
    with pytest.raises(ConfigError) as err:
        load_parameters(tmp_path)
    assert err.value.field == field
    assert "group.yaml" in err.value.file


def test_parameter_draws_are_reproducible_and_respect_distributions():
    import numpy as np

    params = load_parameters(load_config().parameters_dir())
    a = params.draw(np.random.default_rng(1)).values()
    b = params.draw(np.random.default_rng(1)).values()
    assert a == b
    c = params.draw(np.random.default_rng(2)).values()
    assert a != c
    spec = params.spec("conditions.deprivation_age_shift")  # uniform(10, 15)
    draws = [spec.draw(np.random.default_rng(i)).value for i in range(200)]
    assert 10 <= min(draws) and max(draws) <= 15


def test_list_values_cannot_take_single_number_distributions(tmp_path):
    write(tmp_path, "x:\n  value: [0.1, 0.2]\n  source: s\n  confidence: V\n  dist: {type: beta, a: 1, b: 2}\n",
          "group.yaml")
    with pytest.raises(ConfigError) as err:
        load_parameters(tmp_path)
    assert err.value.field == "x.dist"


@pytest.mark.parametrize("kind", ["ics", "scenario", "experiment", "parameters"])
def test_published_schemas_are_current(kind):
    """docs/schemas/*.json are what `neighsim schema` prints (regenerate with `make schemas`)."""
    import json

    from neighsim.paths import project_root
    from neighsim.schemas import json_schema

    committed = json.loads((project_root() / "docs" / "schemas" / f"{kind}.schema.json").read_text())
    assert committed == json.loads(json.dumps(json_schema(kind))), "run `make schemas`"


def test_schema_validates_a_bundled_scenario():
    """The published scenario schema accepts the bundled files (checked with the jsonschema library)."""
    import json

    import jsonschema

    from neighsim.config import read_yaml
    from neighsim.paths import configs_dir
    from neighsim.schemas import json_schema

    schema = json_schema("scenario")
    for f in sorted((configs_dir() / "scenarios").glob("*.yaml")):
        jsonschema.validate(json.loads(json.dumps(read_yaml(f), default=str)), schema)  # dates as an editor sees them
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "interventions": [{"type": "tobacco", "colour": "red"}]}, schema)


def test_a_psa_draw_changes_the_frailty_hazard_ratios_after_normalisation(small_population):
    """Each eFI category's hazard ratio is drawn on its own: a shared factor would be cancelled exactly by
    the per-cell normalisation (the engine's hazards would not move), separate draws are not."""
    import numpy as np

    from neighsim.model import NeighbourhoodModel

    def severe_hazards(params):
        m = NeighbourhoodModel(small_population, params)
        c = m.cohort
        rows = np.flatnonzero(c.alive & (c.frailty == 3))
        hr = np.asarray(m.params["mortality.frailty_hr"])
        return m.process("mortality").table[m.asd[rows]] * hr[c.frailty[rows]]

    p = small_population.params
    central = severe_hazards(p)
    shared = severe_hazards(p.update({"mortality.frailty_hr": list(1.1 * p["mortality.frailty_hr"])}))
    np.testing.assert_allclose(shared, central, rtol=1e-9)  # what a shared factor does: nothing
    drawn = p.draw(np.random.default_rng(7))
    assert drawn["mortality.frailty_hr"][0] == 1.0  # fit stays the reference
    ratios = drawn["mortality.frailty_hr"][1:] / p["mortality.frailty_hr"][1:]
    assert np.ptp(ratios) > 1e-3  # the categories moved by different factors
    only_hr = p.update({"mortality.frailty_hr": list(drawn["mortality.frailty_hr"])})  # nothing else drawn
    assert not np.allclose(severe_hazards(only_hr), central, rtol=1e-4)


def test_a_list_of_se_must_match_the_value(tmp_path):
    write(tmp_path, "x:\n  value: [1, 2]\n  source: s\n  confidence: V\n  dist: {type: lognormal, se: [0.1]}\n",
          "group.yaml")
    with pytest.raises(ConfigError) as err:
        load_parameters(tmp_path)
    assert err.value.field == "x.dist" and "same length" in str(err.value)


# why a parameter may stay fixed in a PSA: a policy setting, a starting-state input (the population is built
# once and shared by every draw), structure or definition, or an outturn/constant whose error is negligible
FIXED_REASON = re.compile(r"policy|starting-state|structur|definition|fixed|not drawn|not redrawn", re.IGNORECASE)


def unexplained_fixed(params) -> list[str]:
    """Parameters that a PSA leaves at their value without saying why: neither drawn (a distribution other
    than fixed) nor calibrated jointly (a column of the accepted draws) nor carrying a note with a reason."""
    joint = set(params.joint.columns) if params.joint is not None and len(params.joint) else set()
    return sorted(k for k, p in params.items()
                  if p.dist.get("type", "fixed") == "fixed" and k not in joint
                  and not (p.note.strip() and FIXED_REASON.search(p.note)))


def test_every_parameter_is_drawn_calibrated_jointly_or_fixed_for_a_stated_reason():
    params = load_parameters(load_config().parameters_dir())
    missing = unexplained_fixed(params)
    assert not missing, ("fixed in the PSA without a reason: give a distribution (docs/evidence_notes.md I) or a note "
                         f"saying why it stays fixed: {missing}")


def test_a_fixed_parameter_without_a_reason_is_caught():
    from dataclasses import replace

    import pandas as pd

    from neighsim.parameters import Parameter, ParameterSet

    bare = Parameter(name="x", value=1.0, source="s", confidence="A")
    assert unexplained_fixed(ParameterSet({"g.x": bare})) == ["g.x"]
    assert unexplained_fixed(ParameterSet({"g.x": replace(bare, note="just a comment")})) == ["g.x"]
    assert unexplained_fixed(ParameterSet({"g.x": replace(bare, note="a policy setting")})) == []
    assert unexplained_fixed(ParameterSet({"g.x": replace(bare, dist={"type": "lognormal", "se": 0.1})})) == []
    assert unexplained_fixed(ParameterSet({"g.x": bare}, pd.DataFrame({"g.x": [0.9, 1.1]}))) == []
    params = load_parameters(load_config().parameters_dir())
    name = next(k for k, p in params.items() if p.dist.get("type", "fixed") == "fixed")
    emptied = ParameterSet({**dict(params.items()), name: replace(params.spec(name), note="")}, params.joint)
    assert unexplained_fixed(emptied) == [name]
