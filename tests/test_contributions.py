"""What each part of a package contributes: the arithmetic (waterfall, Shapley, interaction), the
subsets the runner adds, a small real run end to end, resume and bad input."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neighsim.analysis.cells import describe
from neighsim.analysis.contributions import OUTCOMES, PREFIX, decompose, shapley_weight
from neighsim.cli import main
from neighsim.interventions.schema import NAME_PATTERN
from neighsim.runner.packages import needed_subsets, subset_name

SMALL = ["--la", "Tamworth", "--scale", "0.05"]
WARM = ("  - type: warm_homes\n    start: 2026-10-01\n    ramp_months: 6\n"
        "    eligibility: ltc_count >= 1 or frailty >= moderate or age >= 65 or age < 5\n"
        "    capacity: 1500\n    allocation: highest_risk\n")
FALLS = ("  - type: falls_pathway\n    start: 2026-10-01\n    ramp_months: 6\n"
         "    eligibility: frailty >= moderate or fell_last_12m\n    capacity: 6000\n    allocation: highest_risk\n")


def _game(values: dict[frozenset[str], np.ndarray]):
    return lambda s: values[frozenset(s)] if s else np.zeros_like(next(iter(values.values())))


# ------------------------------------------------------------------------------------------ arithmetic
def test_additive_game_gives_single_effects_and_no_interaction():
    names = ("a", "b", "c", "d")
    alone = {"a": np.array([[1.0, -2.0]]), "b": np.array([[3.0, 0.5]]), "c": np.array([[-4.0, 7.0]]),
             "d": np.array([[0.25, 1.0]])}
    values = {frozenset(s): sum(alone[n] for n in s) for r in range(1, 5) for s in combinations(names, r)}
    out = decompose(_game(values), names, ("c", "a", "d", "b"))
    for n in names:
        np.testing.assert_allclose(out[f"shapley:{n}"], alone[n], atol=1e-12)
        np.testing.assert_allclose(out[f"sequential:{n}"], alone[n], atol=1e-12)
    np.testing.assert_allclose(out["interaction"], 0.0, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_contributions_add_up_to_the_total_in_every_replicate_and_cell(k):
    rng = np.random.default_rng(k)
    names = tuple(f"i{j}" for j in range(k))
    values = {frozenset(s): rng.integers(-50, 50, size=(7, 5)).astype(float)
              for r in range(1, k + 1) for s in combinations(names, r)}
    order = tuple(reversed(names))
    out = decompose(_game(values), names, order)
    total = values[frozenset(names)]
    np.testing.assert_array_equal(out["total"], total)
    np.testing.assert_array_equal(sum(out[f"sequential:{n}"] for n in names), total)  # counts: exact
    np.testing.assert_allclose(sum(out[f"shapley:{n}"] for n in names), total, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(out["interaction"], total - sum(values[frozenset([n])] for n in names))
    np.testing.assert_array_equal(out[f"sequential:{order[0]}"], values[frozenset([order[0]])])
    assert sum(shapley_weight(s, k) * len(list(combinations(range(k - 1), s))) for s in range(k)) == \
        pytest.approx(1.0)


def test_two_interventions_share_the_interaction_equally():
    values = {frozenset("a"): np.array([10.0]), frozenset("b"): np.array([4.0]), frozenset("ab"): np.array([11.0])}
    out = decompose(_game(values), ("a", "b"), ("a", "b"))
    assert out["interaction"][0] == -3.0
    assert out["shapley:a"][0] == pytest.approx(10.0 - 1.5) and out["shapley:b"][0] == pytest.approx(4.0 - 1.5)
    assert out["sequential:a"][0] == 10.0 and out["sequential:b"][0] == 1.0


def test_subsets_run_and_their_names():
    names = ("health_checks", "tobacco", "warm_homes", "falls_pathway")
    assert len(needed_subsets(names, names, True)) == 2 ** 4 - 2
    seq = needed_subsets(names, ("tobacco", "warm_homes", "falls_pathway", "health_checks"), False)
    assert set(seq) == {("tobacco",), ("tobacco", "warm_homes"), ("tobacco", "warm_homes", "falls_pathway"),
                        ("health_checks",), ("warm_homes",), ("falls_pathway",)}
    sub = subset_name("combined", names, ("health_checks", "tobacco"))
    assert sub == "combined~health_checks+tobacco"
    assert not re.match(NAME_PATTERN, sub)  # a user's scenario can never be called this
    long = subset_name("p" * 64, tuple("x" * 39 + str(i) for i in range(6)), tuple("x" * 39 + str(i) for i in range(5)))
    assert len(long) < 100 and long.endswith("~1+2+3+4+5")


# --------------------------------------------------------------------------------------------- bad input
def _write(d: Path, name: str, body: str) -> Path:
    p = d / name
    p.write_text(body)
    return p


def _one_line_error(capsys, argv: list[str], *words: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    for w in words:
        assert w in err, (w, err)


def test_contributions_on_one_intervention_is_refused(tmp_path, capsys):
    f = _write(tmp_path, "s.yaml", "name: s\ncontributions: true\ninterventions:\n" + FALLS)
    _one_line_error(capsys, ["run", str(f), *SMALL, "--out", str(tmp_path / "o")], str(f), "'contributions'",
                    "2 or more")


def test_more_than_six_interventions_is_refused(tmp_path, capsys):
    body = "".join(f"  - type: tobacco\n    name: t{i}\n" for i in range(7))
    f = _write(tmp_path, "s.yaml", "name: s\ncontributions: true\ninterventions:\n" + body)
    _one_line_error(capsys, ["run", str(f), *SMALL, "--out", str(tmp_path / "o")], str(f), "'contributions'",
                    "at most 6")
    g = _write(tmp_path, "g.yaml", "name: g\ninterventions:\n" + body)
    _one_line_error(capsys, ["run", str(g), *SMALL, "--contributions", "--out", str(tmp_path / "o")], str(g),
                    "--contributions", "at most 6")


def test_an_order_naming_an_unknown_intervention_is_refused(tmp_path, capsys):
    f = _write(tmp_path, "s.yaml", "name: s\ncontributions: {order: [falls_pathway, teleport]}\ninterventions:\n"
               + WARM + FALLS)
    _one_line_error(capsys, ["run", str(f), *SMALL, "--out", str(tmp_path / "o")], str(f), "'contributions.order'",
                    "teleport")
    f = _write(tmp_path, "t.yaml", "name: t\ncontributions: {order: [falls_pathway]}\ninterventions:\n" + WARM + FALLS)
    _one_line_error(capsys, ["run", str(f), *SMALL, "--out", str(tmp_path / "o")], str(f), "contributions.order")
    f = _write(tmp_path, "u.yaml", "name: u\ncontributions: {shapely: true}\ninterventions:\n" + WARM + FALLS)
    _one_line_error(capsys, ["run", str(f), *SMALL, "--out", str(tmp_path / "o")], str(f), "contributions.shapely")


# ------------------------------------------------------------------------------------------- end to end
def _rows(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "replicates.parquet")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("contrib")
    pkg = _write(d, "pkg.yaml", "name: pkg\ndescription: two\ninterventions:\n" + WARM + FALLS)
    single = _write(d, "falls.yaml", "name: falls_pathway\ninterventions:\n" + FALLS)
    out = {"dir": d, "pkg": pkg, "single": single}
    for key, argv in (("a", [str(pkg), "--contributions"]), ("b", [str(single)]),
                      ("c", [str(single), str(pkg), "--contributions"])):
        out[key] = d / key
        assert main(["run", *argv, *SMALL, "--replicates", "3", "--out", str(out[key]), "--quiet"]) == 0
    return out


@pytest.mark.slow
def test_end_to_end_contribution_rows(runs):
    s = pd.read_csv(runs["a"] / "summary.csv")
    assert set(s["scenario"]) == {"baseline", "pkg"}  # the subsets' own rows stay out of summary.csv
    c = s[s["outcome"].str.startswith(PREFIX)]
    assert {PREFIX + o for o in OUTCOMES} == set(c["outcome"])
    assert set(c["measure"]) == {"total", "interaction", "sequential:warm_homes", "sequential:falls_pathway",
                                 "shapley:warm_homes", "shapley:falls_pathway"}
    assert set(c["stratum"]) == {"all"} and {"ics", "place", "locality", "neighbourhood"} <= set(c["level"])
    assert len(set(c["period"])) == 6 and (c["n"] == 3).all()
    wide = c.pivot_table(index=["outcome", "period", "level", "area"], columns="measure", values="mean")
    np.testing.assert_allclose(wide["sequential:warm_homes"] + wide["sequential:falls_pathway"], wide["total"],
                               atol=1e-6)
    np.testing.assert_allclose(wide["shapley:warm_homes"] + wide["shapley:falls_pathway"], wide["total"], atol=1e-6)
    head = s[(s["scenario"] == "pkg") & (s["outcome"] == "emergency_admissions") & (s["measure"] == "difference")]
    tot = c[(c["outcome"] == PREFIX + "emergency_admissions") & (c["measure"] == "total")]
    both = head.merge(tot, on=["period", "level", "area", "stratum"])
    np.testing.assert_allclose(both["mean_x"], both["mean_y"], atol=1e-9)  # total = the package's difference


@pytest.mark.slow
def test_every_replicate_adds_up_and_the_summary_is_its_mean(runs):
    rep = _rows(runs["a"])
    rep = rep[(rep["stratum"] == "all") & rep["outcome"].isin(OUTCOMES)]
    key = ["outcome", "period", "level", "area"]
    mats = {sc: g.pivot_table(index="replicate", columns=key, values="value", aggfunc="sum")
            for sc, g in rep.groupby("scenario")}
    cols = mats["pkg"].columns
    mats = {sc: m.reindex(columns=cols).fillna(0.0).to_numpy() for sc, m in mats.items()}
    by = {frozenset(): "baseline", frozenset({"warm_homes"}): "pkg~warm_homes",
          frozenset({"falls_pathway"}): "pkg~falls_pathway", frozenset({"warm_homes", "falls_pathway"}): "pkg"}
    out = decompose(lambda s: mats[by[frozenset(s)]] - mats["baseline"], ("warm_homes", "falls_pathway"),
                    ("warm_homes", "falls_pathway"))
    for kind in ("sequential", "shapley"):
        np.testing.assert_allclose(out[f"{kind}:warm_homes"] + out[f"{kind}:falls_pathway"], out["total"],
                                   rtol=1e-12, atol=1e-9)
    s = pd.read_csv(runs["a"] / "summary.csv")
    s = s[s["outcome"].str.startswith(PREFIX)].set_index(["outcome", "period", "level", "area", "measure"])
    for measure, x in out.items():
        mean = describe(x)[0]
        idx = [(PREFIX + o, p, lv, a, measure) for o, p, lv, a in cols]
        np.testing.assert_allclose(s.loc[idx, "mean"].to_numpy(), mean, rtol=1e-9, atol=1e-9)


@pytest.mark.slow
def test_subset_equals_the_single_run_exactly(runs):
    a, b = _rows(runs["a"]), _rows(runs["b"])
    key = ["replicate", "param_draw", "period", "level", "area", "stratum", "outcome"]
    sub = a[a["scenario"] == "pkg~falls_pathway"].set_index(key)["value"]
    one = b[b["scenario"] == "falls_pathway"].set_index(key)["value"]
    common = sub.index.intersection(one.index)
    assert len(common) == len(sub) > 0  # the subset keeps stratum "all" (the rows contributions read)
    assert (sub.loc[common] == one.loc[common]).all()
    for r in range(3):  # the tasks themselves: every count, month by month, bitwise
        ta, tb = (pd.read_parquet(next((runs[k] / "tasks").glob(f"{sc}__r{r:04d}__*.counts.parquet")))
                  for k, sc in (("a", "pkg~falls_pathway"), ("b", "falls_pathway")))
        pd.testing.assert_frame_equal(ta.drop(columns="scenario"), tb.drop(columns="scenario"), check_exact=True)
    base_a = a[a["scenario"] == "baseline"].set_index(key)["value"]
    base_b = b[b["scenario"] == "baseline"].set_index(key)["value"]
    assert base_a.equals(base_b.loc[base_a.index])


@pytest.mark.slow
def test_a_single_scenario_run_beside_is_reused_with_the_same_contributions(runs):
    import json

    m = json.loads((runs["c"] / "manifest.json").read_text())
    assert m["contributions"]["pkg"]["subsets"] == {"warm_homes": "pkg~warm_homes", "falls_pathway": "falls_pathway"}
    assert list(m["subsets"]) == ["pkg~warm_homes"] and "pkg~warm_homes" not in m["scenarios"]
    assert not any("pkg~falls_pathway" in k for k in m["task_keys"])
    sa, sc = (pd.read_csv(runs[k] / "summary.csv") for k in ("a", "c"))
    ca, cc = (s[s["outcome"].str.startswith(PREFIX)].reset_index(drop=True) for s in (sa, sc))
    pd.testing.assert_frame_equal(ca, cc)


@pytest.mark.slow
def test_resume_refuses_when_contributions_are_toggled(runs, capsys):
    a, pkg = runs["a"], runs["pkg"]
    _one_line_error(capsys, ["run", str(pkg), *SMALL, "--replicates", "3", "--out", str(a), "--resume", "--quiet"],
                    str(a), "different inputs", "contributes")
    assert main(["run", str(runs["single"]), *SMALL, "--replicates", "3", "--out", str(runs["b"]), "--resume",
                 "--quiet"]) == 0  # unchanged inputs still resume
    _one_line_error(capsys, ["run", str(runs["single"]), str(pkg), *SMALL, "--replicates", "3", "--out",
                             str(runs["b"]), "--resume", "--contributions", "--quiet"], "different inputs", "contributes")


@pytest.mark.slow
def test_report_shows_the_waterfall_table_and_sheet(runs):
    from openpyxl import load_workbook

    from neighsim.report import write_report

    paths = write_report(runs["a"])
    assert "figure:contributions_pkg" in paths and paths["figure:contributions_pkg"].stat().st_size > 10_000
    html = paths["html"].read_text(encoding="utf-8")
    assert "What each part of a package contributes" in html and "Shapley value" in html
    assert "pkg~" not in html  # subset scenarios stay out of the report's tables
    ws = load_workbook(paths["xlsx"])["contributions"]
    values = [c.value for row in ws.iter_rows(min_row=4) for c in row]
    assert any(isinstance(v, float) for v in values) and "shapley" in values and "sequential" in values
