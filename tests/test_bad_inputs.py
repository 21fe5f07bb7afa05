"""A catalogue of mistakes a user can make, each through the real command: exit code 2 and one line that
names the file or flag, the field, and what was expected; never a traceback."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from neighsim.cli import main
from neighsim.paths import configs_dir

SMALL = ["--la", "Tamworth", "--scale", "0.05"]
BOMB = ('name: bomb\ninterventions:\n- type: falls_pathway\n  eligibility: &a [&b ["age > 1", "age > 2"], *b, *b, '
        '*b, *b, *b, *b, *b, *b]\nx1: &c [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nx2: &d [*c, *c, *c, *c, *c, *c, *c, '
        '*c, *c, *c]\nx3: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nx4: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n')


@dataclass
class Case:
    """argv ('{d}' is the case's folder; files are written there first) and what the message must name."""

    id: str
    argv: list[str]
    names: list[str]  # the file or flag, the field (each must appear in the message)
    files: dict[str, str | bytes] = field(default_factory=dict)


def scenario(body: str, name: str = "s.yaml") -> dict[str, str]:
    return {name: "name: s\ninterventions:\n- type: falls_pathway\n  " + body + "\n"}


def run_scenario(case_id: str, body: str, *names: str, extra: tuple[str, ...] = ()) -> Case:
    return Case(case_id, ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/out", *extra], ["{d}/s.yaml", *names],
                scenario(body))


def experiment(case_id: str, body: str, *names: str) -> Case:
    return Case(case_id, ["experiment", "{d}/e.yaml", "--out", "{d}/out"], ["{d}/e.yaml", *names],
                {"e.yaml": "name: e\nlocal_authorities: [Tamworth]\nscale: 0.05\n" + body + "\n"})


def config(case_id: str, text: str | bytes, *names: str, with_params: bool = True) -> Case:
    files: dict[str, str | bytes] = {"ics.yaml": text}
    if with_params:
        files["@params"] = ""
    return Case(case_id, ["population", "--config", "{d}/ics.yaml"], ["{d}/ics.yaml", *names], files)


def parameters(case_id: str, text: str, *names: str) -> Case:
    return Case(case_id, ["population", "--config", "{d}/ics.yaml"], ["{d}/parameters/zz_extra.yaml", *names],
                {"ics.yaml": "seed: 1\n", "@params": "", "parameters/zz_extra.yaml": text})


CASES = [
    # --- flags ---------------------------------------------------------------------------------------------
    Case("seed-negative", ["run", *SMALL, "--seed", "-5", "--out", "{d}/o"], ["--seed", "-5"]),
    Case("seed-text", ["run", *SMALL, "--seed", "abc", "--out", "{d}/o"], ["--seed", "whole number"]),
    Case("scale-zero", ["run", "--la", "Tamworth", "--scale", "0", "--out", "{d}/o"], ["--scale", "0.001"]),
    Case("scale-two", ["population", "--scale", "2"], ["--scale", "1"]),
    Case("scale-nan", ["population", "--scale", "nan"], ["--scale", "finite"]),
    Case("scale-tiny", ["population", "--scale", "1e-9"], ["--scale", "0.001"]),
    Case("la-unknown", ["population", "--la", "Atlantis"], ["--la", "Atlantis"]),
    Case("replicates-zero", ["run", *SMALL, "--replicates", "0", "--out", "{d}/o"], ["--replicates", "1"]),
    Case("replicates-huge", ["run", *SMALL, "--replicates", "1000000000", "--out", "{d}/o"], ["--replicates", "100,000"]),
    Case("replicates-text", ["run", *SMALL, "--replicates", "many", "--out", "{d}/o"], ["--replicates", "many"]),
    Case("workers-zero", ["run", *SMALL, "--workers", "0", "--out", "{d}/o"], ["--workers"]),
    Case("chunk-zero", ["run", *SMALL, "--chunk", "0", "--out", "{d}/o"], ["--chunk"]),
    Case("neighbourhood-unknown", ["run", *SMALL, "--neighbourhoods", "999", "--out", "{d}/o"],
         ["--neighbourhoods", "999"]),
    Case("neighbourhood-negative", ["run", *SMALL, "--neighbourhoods", "-1", "--out", "{d}/o"], ["--neighbourhoods"]),
    Case("backend-unknown", ["run", *SMALL, "--backend", "spark", "--out", "{d}/o"], ["--backend", "spark"]),
    Case("out-is-a-file", ["run", *SMALL, "--out", "{d}/afile"], ["--out", "afile", "file"], {"afile": "x"}),
    Case("out-under-a-file", ["run", *SMALL, "--out", "{d}/afile/sub"], ["--out", "cannot write"], {"afile": "x"}),
    Case("address-unreachable", ["run", *SMALL, "--backend", "ray", "--address", "127.0.0.1:9", "--out", "{d}/o"],
         ["--address", "127.0.0.1:9"]),
    Case("address-malformed", ["run", *SMALL, "--backend", "ray", "--address", "nohost", "--out", "{d}/o"],
         ["--address", "HOST:PORT"]),
    Case("validate-out-is-a-file", ["validate", *SMALL, "--out", "{d}/afile"], ["--out", "afile"], {"afile": "x"}),
    Case("validate-targets-missing", ["validate", *SMALL, "--targets", "{d}/t.yaml", "--out", "{d}/v"],
         ["{d}/t.yaml", "not found"]),
    Case("per-agent-months", ["bench", *SMALL, "--per-agent-months", "0"], ["--per-agent-months"]),
    Case("schema-kind", ["schema", "everything"], ["kind", "everything"]),
    Case("report-no-folder", ["report", "{d}/nothing"], ["{d}/nothing"]),
    Case("report-no-summary", ["report", "{d}/empty"], ["{d}/empty", "summary.csv"], {"empty/keep": ""}),
    Case("report-binary-summary", ["report", "{d}/r"], ["{d}/r/summary.csv", "not a neighsim summary"],
         {"r/summary.csv": b"\x00\xff\xfe garbage \x81\x00"}),
    Case("report-wrong-columns", ["report", "{d}/r"], ["{d}/r/summary.csv", "missing column"],
         {"r/summary.csv": "a,b\n1,2\n"}),
    Case("experiment-missing", ["experiment", "{d}/nope.yaml"], ["{d}/nope.yaml", "not found"]),
    # --- the configuration file --------------------------------------------------------------------------
    config("config-not-utf8", b"name: Stoke \xe9\xe9\n", "UTF-8"),
    config("config-bad-yaml", "population: [unclosed\n", "not valid YAML"),
    config("config-impossible-date", "time:\n  start: 2026-02-30\n", "time.start"),
    config("config-not-first-of-month", "time:\n  start: 2026-04-15\n", "time.start", "first day"),
    config("config-unknown-key", "populaton:\n  scale: 0.1\n", "populaton", "unknown key"),
    config("config-months", "time:\n  months: 0\n", "time.months"),
    config("config-seed", "seed: -3\n", "seed"),
    config("config-la", "population:\n  local_authorities: [Atlantis]\n", "population.local_authorities", "Atlantis"),
    config("config-list", "- a\n- b\n", "mapping"),
    config("config-no-parameters", "seed: 7\n", "parameters", "not found", with_params=False),
    config("config-alias-bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
           "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e]\n", "aliases"),
    config("config-recursive-alias", "a: &a [1, *a]\n", "recursive alias"),
    config("config-nb-file-missing", "geography:\n  neighbourhood_file: nope.csv\n",
           "geography.neighbourhood_file", "not found"),
    Case("config-is-a-folder", ["population", "--config", "{d}/dir"], ["{d}/dir", "not a file"], {"dir/keep": ""}),
    Case("config-missing", ["population", "--config", "{d}/nope.yaml"], ["{d}/nope.yaml", "not found"]),
    # --- parameter files ---------------------------------------------------------------------------------
    parameters("param-text-value", "x:\n  value: abc\n  source: s\n  confidence: V\n", "x.value"),
    parameters("param-no-source", "x:\n  value: 1\n  confidence: V\n", "x.source"),
    parameters("param-lognormal-no-se", "x:\n  value: 1\n  source: s\n  confidence: V\n  dist: {type: lognormal}\n",
               "x.dist.se"),
    parameters("param-beta-list", "x:\n  value: [0.1, 0.2]\n  source: s\n  confidence: V\n  dist: {type: beta, a: 1, b: 2}\n",
               "x.dist"),
    parameters("param-triangular-outside", "x:\n  value: 5\n  source: s\n  confidence: V\n"
               "  dist: {type: triangular, low: 0, high: 1}\n", "x.dist", "low <= value <= high"),
    parameters("param-confidence", "x:\n  value: 1\n  source: s\n  confidence: Z\n", "x.confidence"),
    parameters("param-infinite", "x:\n  value: .inf\n  source: s\n  confidence: V\n", "x.value", "finite"),
    # --- scenario files ----------------------------------------------------------------------------------
    Case("scenario-unknown-type", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"],
         ["{d}/s.yaml", "interventions[0].type", "unknown type"],
         {"s.yaml": "name: s\ninterventions:\n- type: teleport\n"}),
    Case("scenario-missing-type", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"],
         ["{d}/s.yaml", "interventions[0].type"], {"s.yaml": "name: s\ninterventions:\n- uptake: 0.5\n"}),
    run_scenario("uptake-negative", "uptake: -0.1", "interventions[0].uptake.probability", "negative"),
    run_scenario("uptake-above-one", "uptake: 1.5", "interventions[0].uptake.probability", "at most 1"),
    run_scenario("uptake-unknown-parameter", "uptake: interventions.nonsense", "interventions[0].uptake.probability",
                 "parameter"),
    run_scenario("uptake-or-zero", "uptake: {probability: 0.5, deprivation_or: 0}",
                 "interventions[0].uptake.deprivation_or", "greater than 0"),
    run_scenario("capacity-negative", "capacity: -5", "interventions[0].capacity", "negative"),
    run_scenario("capacity-text", "capacity: lots", "interventions[0].capacity", "number"),
    run_scenario("cost-negative", "cost: {per_participant: -1}", "interventions[0].cost.per_participant", "negative"),
    run_scenario("effect-zero", "effects: {exercise_rate_ratio: 0}", "interventions[0].effects.exercise_rate_ratio",
                 "greater than 0"),
    run_scenario("effect-huge", "effects: {exercise_rate_ratio: 1e300}", "interventions[0].effects.exercise_rate_ratio",
                 "at most 100"),
    run_scenario("effect-months-fraction", "effects: {effect_months: 2.5}", "interventions[0].effects.effect_months",
                 "whole"),
    run_scenario("effect-unknown", "effects: {magic: 1}", "interventions[0].effects.magic", "unknown key"),
    run_scenario("targeting-unknown-neighbourhood", "targeting: {neighbourhoods: [Narnia]}",
                 "interventions[0].targeting.neighbourhoods", "Narnia"),
    run_scenario("targeting-unknown-locality", "targeting: {localities: [Atlantis]}",
                 "interventions[0].targeting.localities", "Atlantis"),
    run_scenario("targeting-word", "targeting: core30", "interventions[0].targeting", "core20"),
    run_scenario("targeting-deciles", "targeting: {imd_deciles: [0, 11]}", "interventions[0].targeting.imd_deciles"),
    run_scenario("targeting-outside-run", "targeting: {localities: [Stafford]}", "interventions[0].targeting",
                 "none is in this run"),
    run_scenario("start-after-horizon", "start: 2031-04-01", "interventions[0].start", "after the projection ends"),
    run_scenario("end-before-start", "start: 2027-04-01\n  end: 2027-01-01", "interventions[0].end", "not after the start"),
    run_scenario("window-before-projection", "start: 2020-01-01\n  end: 2021-01-01", "interventions[0].end",
                 "before the projection starts"),
    run_scenario("start-impossible-date", "start: 2027-02-30", "interventions[0].start", "date"),
    run_scenario("ramp-negative", "ramp_months: -2", "interventions[0].ramp_months"),
    run_scenario("ramp-huge", "ramp_months: 99999", "interventions[0].ramp_months", "1200"),
    run_scenario("allocation-unknown", "allocation: sickest", "interventions[0].allocation", "highest_risk"),
    run_scenario("rule-incomplete", "eligibility: age >=", "interventions[0].eligibility", "ends too early"),
    run_scenario("rule-unknown-name", "eligibility: shoe_size > 9", "interventions[0].eligibility", "unknown name"),
    run_scenario("rule-injection", "eligibility: __import__('os')", "interventions[0].eligibility", "unexpected"),
    run_scenario("rule-too-long", "eligibility: " + " or ".join(["age > 1"] * 200), "interventions[0].eligibility",
                 "1000 characters"),
    run_scenario("rule-nested-lists", "eligibility: [[age > 1, age > 2]]", "interventions[0].eligibility", "rule as text"),
    run_scenario("option-sentinel-clash", "options: {reoffer_months: 99999}", "interventions[0].options.reoffer_months",
                 "1200"),
    run_scenario("option-wrong-type", "options: {reoffer_months: soon}", "interventions[0].options.reoffer_months"),
    Case("option-cycle-zero", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"],
         ["{d}/s.yaml", "interventions[0].options.cycle_months", "greater than or equal to 1"],
         {"s.yaml": "name: s\ninterventions:\n- type: health_checks\n  options: {cycle_months: 0}\n"}),
    run_scenario("unknown-key", "colour: blue", "interventions[0].colour", "unknown key"),
    Case("duplicate-names", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"], ["{d}/s.yaml", "interventions[1].name"],
         {"s.yaml": "name: s\ninterventions:\n- type: tobacco\n- type: tobacco\n"}),
    Case("scenario-called-baseline", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"], ["{d}/s.yaml", "name", "baseline"],
         {"s.yaml": "name: baseline\ninterventions:\n- type: tobacco\n"}),
    Case("scenario-empty", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"], ["{d}/s.yaml", "empty"], {"s.yaml": ""}),
    Case("scenario-not-utf8", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"], ["{d}/s.yaml", "UTF-8"],
         {"s.yaml": b"name: s\ndescription: caf\xe9\ninterventions: [{type: tobacco}]\n"}),
    Case("scenario-alias-bomb", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"], ["{d}/s.yaml", "aliases"],
         {"s.yaml": BOMB}),
    Case("scenario-list", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"], ["{d}/s.yaml", "mapping"],
         {"s.yaml": "- type: tobacco\n"}),
    Case("scenario-no-interventions", ["run", "{d}/s.yaml", *SMALL, "--out", "{d}/o"], ["{d}/s.yaml", "interventions"],
         {"s.yaml": "name: s\ninterventions: []\n"}),
    # --- capacity and budget per area, same places as another scenario (tests/test_fair_comparisons.py) ----
    run_scenario("capacity-and-budget", "capacity: 100\n  budget: 5000", "interventions[0].budget",
                 "either capacity or budget"),
    run_scenario("capacity-per-unknown-level", "capacity: {per: town, places: {Tamworth: 10}}",
                 "interventions[0].capacity.per", "'place', 'locality' or 'neighbourhood'"),
    run_scenario("capacity-unknown-place", "capacity: {per: place, places: {Narnia: 10}}",
                 "interventions[0].capacity.places", "unknown place 'Narnia'"),
    run_scenario("capacity-unknown-locality-id", "capacity: {per: locality, places: {99: 10}}",
                 "interventions[0].capacity.places", "unknown locality id 99"),
    run_scenario("capacity-area-negative", "capacity: {per: locality, places: {Tamworth: -1}}",
                 "interventions[0].capacity.places.Tamworth", "negative"),
    run_scenario("budget-wrong-key", "budget: {per: place, places: {Staffordshire: 10}}",
                 "interventions[0].budget.pounds", "unknown key"),
    run_scenario("budget-without-unit-cost", "budget: 10000\n  cost: {per_participant: 0}", "interventions[0].budget",
                 "per_participant cost is 0"),
    run_scenario("same-as-not-in-run", "capacity: {same_as: elsewhere}", "interventions[0].capacity.same_as",
                 "'elsewhere' is not in this run"),
    Case("same-as-unlimited", ["run", "{d}/x.yaml", "{d}/s.yaml", *SMALL, "--out", "{d}/o"],
         ["{d}/s.yaml", "interventions[0].capacity.same_as", "unlimited"],
         {"x.yaml": "name: x\ninterventions:\n- type: falls_pathway\n",
          **scenario("capacity: {same_as: x}")}),
    Case("same-as-no-such-intervention", ["run", "{d}/x.yaml", "{d}/s.yaml", *SMALL, "--out", "{d}/o"],
         ["{d}/s.yaml", "interventions[0].capacity.same_as", "no intervention named 'falls_pathway'"],
         {"x.yaml": "name: x\ninterventions:\n- type: tobacco\n  capacity: 100\n",
          **scenario("capacity: {same_as: x.yaml}")}),
    # --- experiment files --------------------------------------------------------------------------------
    experiment("experiment-name-escape", "name: ../../evil", "name"),
    experiment("experiment-replicates", "replicates: 0", "replicates"),
    experiment("experiment-backend", "backend: spark", "backend"),
    experiment("experiment-comparator", "comparator: nope", "comparator"),
    experiment("experiment-missing-scenario", "scenarios: [missing.yaml]", "scenarios[0]"),
    experiment("experiment-scale", "scale: 5", "scale"),
    experiment("experiment-seed", "seed: -1", "seed"),
    experiment("experiment-unknown-key", "replicate: 3", "replicate", "unknown key"),
    Case("experiment-la", ["experiment", "{d}/e.yaml"], ["{d}/e.yaml", "local_authorities", "Atlantis"],
         {"e.yaml": "name: e\nlocal_authorities: [Atlantis]\n"}),
]


def _materialise(case: Case, d: Path) -> list[str]:
    for rel, content in case.files.items():
        if rel == "@params":
            shutil.copytree(configs_dir() / "parameters", d / "parameters", dirs_exist_ok=True)
            continue
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    return [a.replace("{d}", str(d)) for a in case.argv]


def test_catalogue_is_large():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line(case, tmp_path, capsys):
    argv = _materialise(case, tmp_path)
    with pytest.raises(SystemExit) as exc_info:  # argparse exits; the rest return 2
        raise SystemExit(main(argv))
    err = capsys.readouterr().err
    assert exc_info.value.code == 2, err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    for name in case.names:
        assert name.replace("{d}", str(tmp_path)) in err, (name, err)


def test_cross_authority_neighbourhood_file_is_refused(tmp_path, capsys):
    import pandas as pd

    from neighsim.population import sources

    lk = sources.read("lookup")
    nb = lk.assign(neighbourhood=lk["lad19_name"])
    nb.loc[nb["lad19_name"] == "Tamworth", "neighbourhood"] = "Lichfield"  # Tamworth residents under Lichfield
    nb[["lsoa11_code", "neighbourhood"]].to_csv(tmp_path / "nb.csv", index=False)
    shutil.copytree(configs_dir() / "parameters", tmp_path / "parameters")
    (tmp_path / "ics.yaml").write_text("geography:\n  neighbourhood_file: nb.csv\n")
    assert main(["population", "--config", str(tmp_path / "ics.yaml"), "--scale", "0.01"]) == 2
    err = capsys.readouterr().err
    assert "nb.csv" in err and "'neighbourhood'" in err and "Lichfield" in err and "Tamworth" in err
    assert pd.read_csv(tmp_path / "nb.csv").shape[0] == len(lk)


@pytest.mark.parametrize(("body", "words"), [
    ("ramp_months: 200", "coverage reaches only"),
    ("start: 2025-01-01", "before the projection"),
    ("capacity: 0", "does nothing"),
])
def test_legal_but_idle_values_warn(tmp_path, capsys, body, words):
    (tmp_path / "s.yaml").write_text(scenario(body)["s.yaml"])
    assert main(["run", str(tmp_path / "s.yaml"), *SMALL, "--out", str(tmp_path / "o"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and words in err and str(tmp_path / "s.yaml") in err


def test_targeting_partly_outside_the_run_warns(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(scenario("targeting: {localities: [Tamworth, Stafford]}")["s.yaml"])
    assert main(["run", str(tmp_path / "s.yaml"), *SMALL, "--out", str(tmp_path / "o"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "not in this run" in err


def test_report_markdown_escapes_html(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text("name: xss\ndescription: <script>alert(1)</script>\n"
                                     "interventions:\n- type: tobacco\n")
    out = tmp_path / "o"
    assert main(["run", str(tmp_path / "s.yaml"), *SMALL, "--out", str(out), "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md
