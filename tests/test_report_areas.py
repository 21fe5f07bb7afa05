"""Answers for one area: `neighsim report DIR --area NAME`, the API's area selectors, the results.xlsx
headline and costs by area, the ICS report's section per place, and a comparator that is a scenario.

One small real run of the whole ICS (2% of residents, 2 replicates, tobacco and warm homes) serves every
test; the numbers the reports show are checked against the summary's own rows for that area.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from neighsim import api
from neighsim.cli import main
from neighsim.config import load_config
from neighsim.errors import NeighsimError
from neighsim.report import load_run, write_report
from neighsim.report.labels import fmt_interval

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [str(ROOT / "configs" / "scenarios" / f"{s}.yaml") for s in ("tobacco", "warm_homes")]
RUN = ["--scale", "0.02", "--replicates", "2", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("areas") / "run"
    assert main(["run", *SCENARIOS, *RUN, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def stoke(run_dir: Path) -> dict[str, Path]:
    assert main(["report", str(run_dir), "--area", "stoke-on-TRENT", "--area", "Tamworth"]) == 0
    return {"place": run_dir / "areas" / "stoke-on-trent", "locality": run_dir / "areas" / "tamworth"}


def _row(summary, **match):
    s = summary
    for k, v in match.items():
        s = s[s[k] == v]
    assert len(s) == 1, match
    return s.iloc[0]


def test_api_selects_any_area_in_any_case(run_dir: Path) -> None:
    s = api.summary(run_dir) if hasattr(api, "summary") else load_run(run_dir).summary
    rows = api.select(s, "emergency_admissions", area="stoke-on-trent", scenario="baseline", measure="value")
    assert len(rows) == 1 and rows["level"].iloc[0] == "place" and rows["area"].iloc[0] == "Stoke-on-Trent"
    head = api.headline(s, area="tamworth")
    assert set(head["level"]) == {"locality"} and set(head["area"]) == {"Tamworth"}
    want = _row(s, scenario="tobacco", outcome="emergency_admissions", measure="difference", level="locality",
                area="Tamworth", stratum="all", period="2026-2031")
    got = head.set_index("scenario").loc["tobacco", "admissions_change"]
    assert got == pytest.approx(want["mean"])
    with pytest.raises(NeighsimError, match="no area called 'Atlantis'.*Tamworth"):
        api.select(s, "emergency_admissions", area="Atlantis")
    with pytest.raises(NeighsimError, match="matches .* neighbourhood areas"):
        api.select(s, "emergency_admissions", area="Tamworth:")  # two neighbourhoods start so
    with pytest.raises(NeighsimError, match="name one with area="):
        api.headline(s, level="place")


def test_area_report_shows_that_areas_numbers(run_dir: Path, stoke: dict[str, Path]) -> None:
    html = (stoke["place"] / "report.html").read_text(encoding="utf-8")
    assert "Stoke-on-Trent (place)" in html
    d = load_run(run_dir)
    for sc in ("tobacco", "warm_homes"):
        r = _row(d.summary, scenario=sc, outcome="emergency_admissions", measure="difference", level="place",
                 area="Stoke-on-Trent", stratum="all", period=d.whole)
        avoided = fmt_interval(-r["mean"], -r["upper"], -r["lower"])
        assert avoided.replace("−", "-") in html.replace("−", "-"), (sc, avoided)
    ics = _row(d.summary, scenario="baseline", outcome="emergency_admissions", measure="value", level="ics",
               stratum="all", period=d.whole)
    place = _row(d.summary, scenario="baseline", outcome="emergency_admissions", measure="value", level="place",
                 area="Stoke-on-Trent", stratum="all", period=d.whole)
    assert fmt_interval(place["mean"], place["lower"], place["upper"]) in html
    assert fmt_interval(ics["mean"], ics["lower"], ics["upper"]) not in html  # not the whole system's
    # only Stoke-on-Trent's neighbourhoods in its table
    assert "Tamworth:" not in html and "Stoke-on-Trent North:" in html
    assert (stoke["locality"] / "report.html").is_file() and (stoke["locality"] / "results.xlsx").is_file()


def test_workbook_headline_and_costs_have_level_and_area(run_dir: Path, stoke: dict[str, Path]) -> None:
    wb = load_workbook(run_dir / "areas" / "stoke-on-trent" / "results.xlsx", read_only=True)
    for sheet in ("headline", "costs"):
        rows = list(wb[sheet].iter_rows(values_only=True))
        header = next(r for r in rows if r and r[0] == "level")
        assert header[:2] == ("level", "area")
        areas = {(r[0], r[1]) for r in rows[rows.index(header) + 1:] if r and r[0]}
        assert ("place", "Stoke-on-Trent") in areas
        assert {lv for lv, _ in areas} == {"place", "locality", "neighbourhood"}
        assert not any(a.startswith("Tamworth") for _, a in areas)


def test_ics_report_has_a_section_per_place(run_dir: Path) -> None:
    write_report(run_dir)
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    for place in ("Staffordshire", "Stoke-on-Trent"):
        assert f"### {place}: five-year effects" in md


def test_comparator_scenario_is_named_and_baseline_is_not_an_intervention(tmp_path: Path) -> None:
    cfg = load_config().with_overrides(population={"scale": 0.02, "local_authorities": ["Tamworth"]})
    out = tmp_path / "cmp"
    api.run(out, SCENARIOS, replicates=2, config=cfg, comparator="tobacco")
    write_report(out)
    md = (out / "report.md").read_text(encoding="utf-8")
    head = next(ln for ln in md.splitlines() if ln.startswith("| Five-year effect"))
    assert "Warm homes" in head and "Baseline" not in head and "Tobacco" not in head
    assert "Tobacco (comparator) projection" in md
    assert not re.search(r"^### Baseline projection", md, re.M)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_area_report_renders_in_headless_chromium(stoke: dict[str, Path], tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    url = (stoke["place"] / "report.html").resolve().as_uri()
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=5000", "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    bad = [ln for ln in dom.stderr.splitlines() if "Uncaught" in ln or ":CONSOLE(" in ln and "ERROR" in ln]
    assert not bad, bad
    assert "Stoke-on-Trent (place)" in dom.stdout


def test_load_results_of_a_single_replicate_folder(tmp_path: Path) -> None:
    """One replicate has no convergence to show (an empty convergence.csv): load_results still reads the rest."""
    cfg = load_config().with_overrides(population={"scale": 0.02, "local_authorities": ["Tamworth"]})
    api.run(tmp_path / "one", None, replicates=1, config=cfg)
    res = api.load_results(tmp_path / "one")
    assert res["convergence"].empty and len(res["summary"]) > 0 and res["manifest"]["replicates"] == 1
