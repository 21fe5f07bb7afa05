"""One configuration surface: `neighsim experiment FILE` takes run's flags over the file's keys, areas by id
or name in any case, every error names its flag or file and field, --quiet everywhere, and the console
says which area was run and whether its totals are a sample's (docs/experiments.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from neighsim.cli import build_parser, main
from neighsim.config import (
    LOCAL_AUTHORITIES,
    UnknownArea,
    describe_area,
    describe_sample,
    load_config,
    neighbourhood_table,
    resolve_neighbourhoods,
)

TINY = ["--la", "Tamworth", "--scale", "0.02", "--years", "1", "--quiet"]
AMINGTON, WILNECOTE = "Tamworth: Amington & Spital", "Tamworth: Wilnecote & Belgrave"


@pytest.fixture(scope="module")
def table():
    return neighbourhood_table(load_config())


@pytest.fixture(scope="module")
def ids(table) -> dict[str, int]:
    return dict(zip(table["name"], table["id"], strict=True))


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _one_error(argv: list[str], capsys) -> str:
    """The command fails with exit code 2 and one line on stderr (argparse's errors exit)."""
    with pytest.raises(SystemExit) as exc_info:
        raise SystemExit(main(argv))
    err = capsys.readouterr().err
    assert exc_info.value.code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


# --- areas: the geography alone, by id or name -------------------------------------------------------------

def test_neighbourhood_table_is_the_populations_layout(table):
    from neighsim.population import build_population

    geo = build_population(load_config(population={"scale": 0.001})).geography
    cols = ["id", "name", "locality", "place"]
    assert table[cols].reset_index(drop=True).equals(geo.neighbourhoods[cols].reset_index(drop=True))
    la = geo.lsoas.groupby("neighbourhood")["lad19_name"].first()
    assert table.set_index("id")["local_authority"].to_dict() == la.to_dict()
    assert set(table["local_authority"]) == set(LOCAL_AUTHORITIES)


def test_neighbourhoods_by_id_or_name_any_case(ids):
    cfg = load_config(population={"local_authorities": ["Tamworth"]})
    a, w = ids[AMINGTON], ids[WILNECOTE]
    assert resolve_neighbourhoods(cfg, [a]) == [a]
    assert resolve_neighbourhoods(cfg, [str(w), AMINGTON.upper()]) == [w, a]
    assert resolve_neighbourhoods(cfg, ["wilnecote  &  BELGRAVE", w]) == [w]  # without the locality; once
    with pytest.raises(UnknownArea) as err:
        resolve_neighbourhoods(cfg, ["Narnia", ids["Stafford: Coton & Haywood & Hixon"], 999])
    msg = str(err.value)
    assert "unknown neighbourhood 'Narnia'" in msg and "unknown ids [999]" in msg and "is in Stafford, not in this run's local authority (Tamworth)" in msg
    assert AMINGTON in msg and WILNECOTE in msg and "Stafford: Coton" in msg


def test_unknown_local_authority_names_the_flag_and_the_choices(capsys):
    err = _one_error(["population", "--la", "Atlantis"], capsys)
    assert "--la" in err and "'Atlantis'" in err and "ics.yaml" not in err
    assert all(la in err for la in LOCAL_AUTHORITIES)


def test_local_authority_any_case(capsys):
    assert main(["population", "--la", "tAMWORTH", "--la", "stoke on trent", "--scale", "0.002", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert {"Tamworth", "Stoke-on-Trent"} == {la["name"] for la in s["local_authorities"]}


# --- the console names the area and the sample ---------------------------------------------------------------

def test_area_and_sample_descriptions(ids):
    whole = load_config()
    assert describe_area(whole, None, 26) == "the whole ICS (Staffordshire and Stoke-on-Trent), 26 neighbourhoods"
    assert describe_area(whole, None) == f"the whole ICS (Staffordshire and Stoke-on-Trent), {len(ids)} neighbourhoods"
    two = load_config(population={"local_authorities": ["Tamworth", "Lichfield"], "scale": 0.05})
    assert describe_area(two, None) == "Lichfield and Tamworth (local authorities), 4 neighbourhoods"
    assert describe_area(two, [ids[WILNECOTE]]) == f"1 neighbourhood: {WILNECOTE}"
    assert describe_sample(whole) == ""
    assert describe_sample(two) == "5% sample: totals are for the sample, not all residents"
    up = load_config(population={"scale": 0.005, "scale_up": True})
    assert describe_sample(up) == "0.5% sample of residents; counts scaled up to all residents"


def test_run_console_names_the_local_authority_and_the_sample(tmp_path, capsys):
    assert main(["run", *TINY, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "Tamworth (local authority), 2 neighbourhoods" in out
    assert "2% sample: totals are for the sample, not all residents" in out
    assert "whole area" not in out


def test_run_console_names_the_neighbourhood_and_scaling_up(tmp_path, capsys, ids):
    assert main(["run", *TINY, "--scale-up", "--neighbourhoods", "WILNECOTE & belgrave", "--out",
                 str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert f"1 neighbourhood: {WILNECOTE}" in out
    assert "2% sample of residents; counts scaled up to all residents" in out
    assert _manifest(tmp_path / "a")["neighbourhoods"] == [ids[WILNECOTE]]


# --- experiment files: run's flags over the file's keys ----------------------------------------------------

def _experiment(d: Path, body: str) -> str:
    f = d / "e.yaml"
    f.write_text("name: e\n" + body)
    return str(f)


def test_experiment_flags_override_the_file_and_the_manifest_records_them(tmp_path, capsys, ids):
    f = _experiment(tmp_path, "local_authorities: [Lichfield]\nscale: 0.05\nreplicates: 3\nseed: 9\nyears: 2\n"
                              "neighbourhoods: ['Lichfield: Armitage with Handsacre & Alrewas & Fradley']\n")
    out = tmp_path / "o"
    assert main(["experiment", f, "--la", "tamworth", "--neighbourhoods", "amington & spital", "--scale", "0.02",
                 "--replicates", "2", "--seed", "5", "--years", "1", "--out", str(out), "--quiet"]) == 0
    m = _manifest(out)
    assert m["config"]["population"]["local_authorities"] == ["Tamworth"]
    assert m["config"]["population"]["scale"] == 0.02 and m["config"]["time"]["months"] == 12
    assert (m["seed"], m["replicates"], m["psa"], m["neighbourhoods"]) == (5, 2, False, [ids[AMINGTON]])
    assert f"1 neighbourhood: {AMINGTON}; 2% sample" in capsys.readouterr().out


def test_experiment_psa_flag_and_names_in_the_file(tmp_path, capsys, ids):
    f = _experiment(tmp_path, "local_authorities: [TAMWORTH]\nscale: 0.02\nyears: 1\nreplicates: 5\n"
                              "neighbourhoods: ['tamworth: wilnecote & belgrave']\n")
    out = tmp_path / "o"
    assert main(["experiment", f, "--psa", "2", "--out", str(out), "--quiet"]) == 0
    m = _manifest(out)
    assert (m["replicates"], m["psa"], m["neighbourhoods"]) == (2, True, [ids[WILNECOTE]])
    assert m["config"]["population"]["local_authorities"] == ["Tamworth"]
    assert f"1 neighbourhood: {WILNECOTE}" in capsys.readouterr().out


def test_experiment_help_lists_runs_flags(capsys):
    with pytest.raises(SystemExit):
        main(["experiment", "--help"])
    text = capsys.readouterr().out
    for flag in ("--la", "--neighbourhoods", "--scale", "--scale-up", "--replicates", "--psa", "--seed", "--years",
                 "--config", "--parameters", "--quiet"):
        assert flag in text, flag


FILE = "local_authorities: [Tamworth]\nscale: 0.02\nyears: 1\n"
ERRORS = [
    # (argv after the subcommand, the experiment file after its name or None for `run`, what the line must name)
    (["--neighbourhoods", "Narnia"], None, ["--neighbourhoods", "'Narnia'", AMINGTON, WILNECOTE]),
    (["--neighbourhoods", "3"], None, ["--neighbourhoods", "not in this run's local authority (Tamworth)"]),
    (["--neighbourhoods", "{d}/s.yaml"], None, ["--neighbourhoods", "put scenario files before the flags"]),
    (["--la", "Atlantis"], FILE, ["--la", "'Atlantis'", "Stoke-on-Trent"]),
    (["--scale", "0"], FILE, ["--scale", "0.001"]),
    (["--replicates", "0"], FILE, ["--replicates", "1"]),
    (["--psa", "0"], FILE, ["--psa"]),
    (["--seed", "-1"], FILE, ["--seed"]),
    (["--years", "21"], FILE, ["--years", "20"]),
    (["--psa", "2", "--replicates", "2"], FILE, ["--replicates or --psa"]),
    (["--neighbourhoods", "narnia"], FILE, ["--neighbourhoods", "'narnia'", WILNECOTE]),
    (["--parameters", "{d}/nowhere"], FILE, ["--parameters", "no such folder"]),
    ([], FILE + "neighbourhoods: [Narnia]\n", ["{d}/e.yaml", "'neighbourhoods'", "'Narnia'", AMINGTON]),
    ([], "local_authorities: [Atlantis]\n", ["{d}/e.yaml", "'local_authorities'", "'Atlantis'", "Stafford"]),
    ([], FILE + "years: 0\n", ["{d}/e.yaml", "'years'"]),
    ([], FILE + "scale_up: maybe\n", ["{d}/e.yaml", "'scale_up'"]),
    (["--la", "Lichfield"], FILE + "neighbourhoods: [amington & spital]\n",
     ["{d}/e.yaml", "'neighbourhoods'", "is in Tamworth", "--la replaced the file's local_authorities"]),
]


@pytest.mark.parametrize(("argv", "body", "names"), ERRORS,
                         ids=[f"{'run' if b is None else 'experiment'}-{i}" for i, (_, b, _) in enumerate(ERRORS)])
def test_every_error_names_its_flag_or_file_and_field(tmp_path, capsys, argv, body, names):
    argv = [a.replace("{d}", str(tmp_path)) for a in argv]
    cmd = ["run", "--la", "Tamworth", "--scale", "0.02"] if body is None else ["experiment", _experiment(tmp_path, body)]
    err = _one_error([*cmd, *argv, "--out", str(tmp_path / "o"), "--quiet"], capsys)
    for name in names:
        assert name.replace("{d}", str(tmp_path)) in err, (name, err)
    assert not (tmp_path / "o" / "manifest.json").exists()


# --- --quiet everywhere ------------------------------------------------------------------------------------

def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_subcommand_takes_quiet():
    subs = _subcommands()
    assert {"population", "run", "experiment", "report", "calibrate", "validate", "plan", "bench", "schema",
            "sensitivity"} <= set(subs)
    for name, p in subs.items():
        assert "--quiet" in p._option_string_actions, name


def test_quiet_report_and_schema_print_nothing(tmp_path, capsys):
    assert main(["schema", "experiment", "--out", str(tmp_path / "e.json"), "--quiet"]) == 0
    assert capsys.readouterr().out == "" and (tmp_path / "e.json").is_file()
    assert main(["schema", "experiment", "--out", str(tmp_path / "e.json")]) == 0
    assert "written to" in capsys.readouterr().out
    assert main(["run", *TINY, "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "r"), "--quiet"]) == 0
    assert capsys.readouterr().out == "" and (tmp_path / "r" / "report.html").is_file()


# --- the documentation -------------------------------------------------------------------------------------

def test_every_experiment_key_is_described_and_documented(table):
    from neighsim.paths import project_root
    from neighsim.runner.experiment_file import ExperimentSpec
    from neighsim.schemas import json_schema

    doc = (project_root() / "docs" / "experiments.md").read_text()
    props = json_schema("experiment")["properties"]
    assert set(props) == set(ExperimentSpec.model_fields)
    for key, prop in props.items():
        assert prop.get("description"), key
        assert f"| `{key}` |" in doc, key
    for r in table.itertuples():  # the default geography's neighbourhoods, as the doc lists them
        assert f"| {r.id} | {r.name} | {r.local_authority} |" in doc, r.name
    for name in ("README.md", "docs/inputs.md"):
        assert "experiments.md" in (project_root() / name).read_text(), name
