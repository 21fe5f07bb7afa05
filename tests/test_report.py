"""The report from a real output folder: self-contained HTML, Markdown, XLSX and figures.

A small real run (Tamworth, 5% of residents, 2 replicates) plus `neighsim validate` gives a baseline-only
folder. To exercise the scenario sections before intervention modules exist, a second folder adds two
*made-up* scenarios (admission counts scaled down per replicate, with cost, QALY and inequality rows)
and is summarised by the project's own `summarise_replicates`; its numbers test the plumbing only.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from neighsim.cli import main
from neighsim.config import load_config
from neighsim.errors import NeighsimError
from neighsim.parameters import load_parameters
from neighsim.report import SHEETS, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL_RUN = ["--la", "Tamworth", "--scale", "0.05"]


@pytest.fixture(scope="module")
def baseline_dir(validated_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the shared validated run (its reports are written into it)."""
    out = tmp_path_factory.mktemp("report") / "baseline"
    shutil.copytree(validated_run, out)
    return out


@pytest.fixture(scope="module")
def baseline_report(baseline_dir: Path) -> dict[str, Path]:
    return write_report(baseline_dir)


@pytest.fixture(scope="module")
def scenario_dir(validated_run: Path, made_up_scenarios, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made_up_scenarios(validated_run, tmp_path_factory.mktemp("report") / "scenarios")


@pytest.fixture(scope="module")
def scenario_report(scenario_dir: Path) -> dict[str, Path]:
    return write_report(scenario_dir)


SCENARIO_FILES = sorted((Path(__file__).resolve().parents[1] / "configs" / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module")
def real_scenario_report(baseline_dir: Path) -> dict[str, Path]:
    """A real run with the project's own scenario files (two of them), when they exist."""
    files = [f for f in SCENARIO_FILES if f.stem in ("warm_homes", "tobacco")] or SCENARIO_FILES[:2]
    if not files:
        pytest.skip("no scenario files in configs/scenarios yet")
    out = baseline_dir.parent / "real_scenarios"
    assert main(["run", *map(str, files), *SMALL_RUN, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    return write_report(out)


def _summary_row(folder: Path, **match: str) -> pd.Series:
    s = pd.read_csv(folder / "summary.csv")
    for k, v in match.items():
        s = s[s[k] == v]
    assert len(s) == 1, match
    return s.iloc[0]


# ------------------------------------------------------------------------------------------- files
ALL_REPORTS = ["baseline_report", "scenario_report", "real_scenario_report"]


@pytest.mark.parametrize("which", ALL_REPORTS)
def test_files_written(which: str, request: pytest.FixtureRequest) -> None:
    paths = request.getfixturevalue(which)
    for key in ("html", "markdown", "xlsx", "figures"):
        assert paths[key].exists(), key
    figs = [p for k, p in paths.items() if k.startswith("figure:")]
    assert figs and all(p.read_bytes().startswith(PNG_MAGIC) for p in figs)


def test_baseline_figures_and_scenario_figures(baseline_report: dict, scenario_report: dict) -> None:
    base = {k.split(":", 1)[1] for k in baseline_report if k.startswith("figure:")}
    assert {"annual_admissions", "admissions_by_cause", "rate_by_imd", "neighbourhood_rates", "life_expectancy",
            "validation"} <= base
    assert not base & {"avoided_by_neighbourhood", "avoided_by_imd", "deprivation_gap", "cost_effectiveness"}
    scen = {k.split(":", 1)[1] for k in scenario_report if k.startswith("figure:")}
    assert {"avoided_by_neighbourhood", "avoided_by_imd", "deprivation_gap", "cost_effectiveness",
            "target_scenarios"} <= scen


# -------------------------------------------------------------------------------------------- HTML
@pytest.mark.parametrize("which", ALL_REPORTS)
def test_html_is_self_contained(which: str, request: pytest.FixtureRequest) -> None:
    html = request.getfixturevalue(which)["html"].read_text(encoding="utf-8")
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html, flags=re.I)
    assert not [r for r in refs if re.match(r"\s*(https?:)?//", r, flags=re.I)]
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", html, flags=re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    imgs = re.findall(r"<img\b[^>]*>", html)
    assert len(imgs) >= 5
    for tag in imgs:
        src = re.search(r'src="([^"]+)"', tag).group(1)
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_MAGIC)


def test_baseline_html_says_it_has_no_scenarios(baseline_report: dict) -> None:
    html = baseline_report["html"].read_text(encoding="utf-8")
    assert "baseline only" in html
    assert "How to read the intervals" in html and "95% interval" in html


def test_headline_numbers_are_read_from_summary(baseline_dir: Path, scenario_dir: Path,
                                                baseline_report: dict, scenario_report: dict) -> None:
    from neighsim.report.labels import fmt_interval

    b = _summary_row(baseline_dir, scenario="baseline", outcome="emergency_admissions", period="2026-2031",
                     level="ics", stratum="all", measure="value")
    assert fmt_interval(b["mean"], b["lower"], b["upper"]) in baseline_report["html"].read_text(encoding="utf-8")
    d = _summary_row(scenario_dir, scenario="warm_homes", outcome="emergency_admissions", period="2026-2031",
                     level="ics", stratum="all", measure="difference")
    avoided = fmt_interval(-d["mean"], -d["upper"], -d["lower"])
    assert avoided in scenario_report["html"].read_text(encoding="utf-8")
    head = pd.read_excel(scenario_report["xlsx"], sheet_name="headline", header=2)
    row = head[(head["scenario"] == "warm_homes") & (head["indicator"] == "Emergency admissions avoided")]
    assert row["mean"].iloc[0] == pytest.approx(-d["mean"])
    assert row["lower"].iloc[0] == pytest.approx(-d["upper"])


# ---------------------------------------------------------------------------------------- Markdown
@pytest.mark.parametrize("which", ALL_REPORTS)
def test_markdown_references_existing_figures(which: str, request: pytest.FixtureRequest) -> None:
    paths = request.getfixturevalue(which)
    md = paths["markdown"].read_text(encoding="utf-8")
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(refs) == len([k for k in paths if k.startswith("figure:")])
    for ref in refs:
        assert ref.startswith("figures/") and ref.endswith(".png")
        assert (paths["markdown"].parent / ref).exists(), ref
    assert "http://" not in md and "https://" not in md


# -------------------------------------------------------------------------------------------- XLSX
def _is_numeric_text(v: object) -> bool:
    if not isinstance(v, str):
        return False
    try:
        float(v.replace(",", ""))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("which", ALL_REPORTS)
def test_xlsx_sheets_hold_numbers(which: str, request: pytest.FixtureRequest) -> None:
    paths = request.getfixturevalue(which)
    wb = load_workbook(paths["xlsx"])
    assert set(SHEETS) <= set(wb.sheetnames)
    for ws in wb:
        values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
        assert not [v for v in values if _is_numeric_text(v)], f"numbers stored as text in {ws.title}"
        numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if ws.title in ("costs", "validation") and not numeric:
            assert any(str(v).startswith("No ") for v in values)  # a folder without them says so
            continue
        assert numeric, f"sheet {ws.title} has no numeric cells"
        assert all(ws.column_dimensions[c].width >= 8 for c in ws.column_dimensions)


def test_assumptions_sheet_lists_the_parameters_the_run_used(baseline_dir: Path, baseline_report: dict) -> None:
    """Every parameter the run read or that the population synthesis uses, and no intervention's the run
    did not have (a baseline-only run reads none of theirs)."""
    table = load_parameters(load_config().parameters_dir()).table()
    sheet = pd.read_excel(baseline_report["xlsx"], sheet_name="assumptions", header=2)
    read = set(json.loads((baseline_dir / "manifest.json").read_text())["parameters_used"])
    want = {p["parameter"] for p in table if p["parameter"] in read or not p["parameter"].startswith("interventions.")}
    assert sorted(sheet["parameter"]) == sorted(want)
    assert not any(p.startswith("interventions.warm_homes") for p in sheet["parameter"])
    assert {"mortality.q70_male", "economics.cost_admission_other"} <= read | want
    marks = dict(zip(sheet["parameter"], sheet["assumption"], strict=True))
    for p in table:
        if p["parameter"] in want:
            assert marks[p["parameter"]] == ("yes" if p["confidence"] in ("M", "A") else "no")
    html = baseline_report["html"].read_text(encoding="utf-8")
    assert all(p in html for p in want)
    assert f"This run used {len(want)} of the {len(table)} parameters" in html


def test_real_scenarios_report_impacts(real_scenario_report: dict) -> None:
    out = real_scenario_report["html"].parent
    html = real_scenario_report["html"].read_text(encoding="utf-8")
    assert "Emergency admissions avoided" in html and "Scenarios compared" in html
    assert "figure:avoided_by_neighbourhood" in real_scenario_report
    head = pd.read_excel(real_scenario_report["xlsx"], sheet_name="headline", header=2)
    s = pd.read_csv(out / "summary.csv")
    for sc in set(head["scenario"]) - {"baseline"}:
        row = head[(head["scenario"] == sc) & (head["indicator"] == "Emergency admissions avoided")].iloc[0]
        d = s[(s["scenario"] == sc) & (s["outcome"] == "emergency_admissions") & (s["period"] == "2026-2031")
              & (s["level"] == "ics") & (s["stratum"] == "all") & (s["measure"] == "difference")].iloc[0]
        assert row["mean"] == pytest.approx(-d["mean"])


def test_scenario_costs_sheet(scenario_report: dict) -> None:
    costs = pd.read_excel(scenario_report["xlsx"], sheet_name="costs", header=2)
    assert {"cost_intervention", "net_cost", "roi", "qalys"} <= set(costs["outcome"])
    assert pd.api.types.is_numeric_dtype(costs["mean"])


def test_missing_summary_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(NeighsimError, match="summary.csv"):
        write_report(tmp_path)


# ---------------------------------------------------------------------------------- headless browser
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "/usr/bin/chromium"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_report_renders_in_headless_chromium(baseline_dir: Path, baseline_report: dict, tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed (apt-get install chromium); the HTML checks above still ran")
    url = baseline_report["html"].resolve().as_uri()
    common = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--enable-logging=stderr", "--v=0"]
    shot = tmp_path / "shot.png"
    run = subprocess.run([*common, f"--user-data-dir={tmp_path / 'profile1'}", f"--screenshot={shot}",
                          "--window-size=1280,4000", url], capture_output=True, text=True, timeout=120)
    assert shot.exists(), run.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 50_000
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[:2] == (4000, 1280)
    assert float(img[..., :3].std()) > 0.05  # not a blank page
    shutil.copy(shot, baseline_dir / "report_screenshot.png")

    dom = subprocess.run([*common, f"--user-data-dir={tmp_path / 'profile2'}", "--virtual-time-budget=5000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    bad = [ln for ln in dom.stderr.splitlines() + run.stderr.splitlines()
           if "Uncaught" in ln or "ERROR:CONSOLE" in ln or ":CONSOLE(" in ln and "ERROR" in ln]
    assert not bad, bad
    html = baseline_report["html"].read_text(encoding="utf-8")
    assert dom.stdout.count("<img") == html.count("<img")
    assert "Neighbourhood simulation report" in dom.stdout
