"""The business-case section of the report: CE plane, CEAC, tornado, budget impact and their sheets.

Two tiny real runs (Tamworth, 2% of residents): a PSA of 3 draws and a run of 2 replicates without
parameter draws, plus a copy of the PSA folder with a constructed tornado.csv (its numbers test the
plumbing only). The CEAC sheet is checked against `analysis.economics.ceac` on economics_replicates.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from neighsim.analysis.economics import ceac
from neighsim.cli import main
from neighsim.report import write_report
from neighsim.report.business_case import _icer_cell, tornado
from neighsim.report.data import load_run
from neighsim.report.labels import fmt_money, fmt_money_interval

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [str(ROOT / "configs" / "scenarios" / f"{n}.yaml") for n in ("warm_homes", "falls_pathway")]
TINY = ["--la", "Tamworth", "--scale", "0.02"]
NOT_PSA = "did not draw its parameters (no PSA)"


@pytest.fixture(scope="module")
def psa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("econ") / "psa"
    assert main(["run", *SCENARIOS, *TINY, "--psa", "3", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def psa_report(psa_dir: Path) -> dict[str, Path]:
    return write_report(psa_dir)


@pytest.fixture(scope="module")
def mc_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("econ") / "replicates"
    assert main(["run", *SCENARIOS, *TINY, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    return write_report(out)


PARAMS = ["economics.cost_admission_other", "interventions.warm_homes_cost_per_home",
          "economics.social_care_fall_admission", "frailty.ltc_progression_rr", "admissions.acute_morbidity_exponent",
          "mortality.quit_benefit_halflife_years"]


@pytest.fixture(scope="module")
def tornado_report(psa_dir: Path) -> dict[str, Path]:
    """The PSA folder with a constructed tornado.csv for warm_homes (as `neighsim sensitivity` writes it)."""
    out = psa_dir.parent / "with_tornado"
    shutil.copytree(psa_dir, out, ignore=shutil.ignore_patterns("figures", "report*", "results.xlsx"))
    rows = []
    for i, p in enumerate(PARAMS):
        for outcome, central in (("nmb_20000", -1000.0), ("net_cost", 5000.0)):
            swing = 1000.0 * (len(PARAMS) - i)
            rows.append({"parameter": p, "label": f"{p.split('.')[1].replace('_', ' ')}; long tail of words",
                         "low_value": 0.5, "high_value": 1.5, "outcome": outcome, "central": central,
                         "at_low": central - swing / 2, "at_high": central + swing / 2, "swing": swing,
                         "scale": 0.02, "population": "central"})
    folder = out / "sensitivity" / "warm_homes"
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / "tornado.csv", index=False)
    return write_report(out)


def _figs(paths: dict[str, Path]) -> set[str]:
    return {k.split(":", 1)[1] for k in paths if k.startswith("figure:")}


def test_business_case_section_and_figures(psa_report: dict[str, Path]) -> None:
    html = psa_report["html"].read_text(encoding="utf-8")
    assert "4. Business case" in html
    for words in ("Business case: Warm homes", "Business case: Falls pathway", "Budget impact by financial year",
                  "NICE reference case", "NHS only", "With unrelated costs", "Wider", "What is and is not valued",
                  "Informal care", "probabilistic sensitivity analysis of 3 draws", "Net monetary benefit at £30,000"):
        assert words in html, words
    assert {"ce_plane:warm_homes", "ce_plane:falls_pathway", "ceac"} <= _figs(psa_report)
    assert "psa_convergence" not in _figs(psa_report)  # 3 draws are too few to show convergence
    assert "cost_effectiveness" not in _figs(psa_report)  # the per-draw planes replace the summary plane
    md = psa_report["markdown"].read_text(encoding="utf-8")
    assert "figures/ce_plane_warm_homes.png" in md and "figures/ceac.png" in md
    wb = load_workbook(psa_report["xlsx"])
    assert {"business case", "budget impact", "ceac"} <= set(wb.sheetnames)
    assert "tornado" not in wb.sheetnames


def test_business_case_numbers_are_summary_rows(psa_report: dict[str, Path]) -> None:
    out = psa_report["html"].parent
    s = pd.read_csv(out / "summary.csv")
    d = load_run(out)
    sheet = pd.read_excel(psa_report["xlsx"], sheet_name="business case", header=2)
    for outcome in ("net_cost", "nmb_20000", "qalys_gained", "cost_programme"):
        r = s[(s["scenario"] == "warm_homes") & (s["outcome"] == outcome) & (s["period"] == d.whole)
              & (s["level"] == "ics") & (s["stratum"] == "all") & (s["measure"] == "value")].iloc[0]
        row = sheet[(sheet["scenario"] == "Warm homes") & (sheet["table"] == "value for money")
                    & (sheet["outcome"] == outcome)].iloc[0]
        assert row["mean"] == pytest.approx(r["mean"]) and row["upper 95%"] == pytest.approx(r["upper"])
        if outcome != "qalys_gained":
            assert fmt_money_interval(r["mean"], r["lower"], r["upper"]) in psa_report["html"].read_text("utf-8")
    budget = pd.read_excel(psa_report["xlsx"], sheet_name="budget impact", header=2)
    wh = budget[budget["scenario"] == "Warm homes"]
    assert list(wh["financial year"])[: len(d.years)] == d.years
    net = wh["Net cash, discounted (£, mean)"].iloc[: len(d.years)].to_numpy()
    cum = wh["Cumulative net cash, discounted (£, mean)"].iloc[: len(d.years)].to_numpy()
    np.testing.assert_allclose(cum, np.cumsum(net), rtol=1e-9, atol=1e-6)


def test_ceac_sheet_matches_ceac_on_replicates(psa_report: dict[str, Path]) -> None:
    out = psa_report["html"].parent
    d = load_run(out)
    e = pd.read_parquet(out / "economics_replicates.parquet")
    e = e[(e["level"] == "ics") & (e["stratum"] == "all") & (e["period"] == d.whole)]
    sheet = pd.read_excel(psa_report["xlsx"], sheet_name="ceac", header=2)
    lam = sheet["threshold (£ per QALY)"].to_numpy(dtype=float)
    assert lam[0] == 0 and lam[-1] == 100_000 and 20_000 in lam and 30_000 in lam
    for sc, col in (("warm_homes", "Warm homes"), ("falls_pathway", "Falls pathway")):
        w = e[e["scenario"] == sc].pivot_table(index=["replicate", "param_draw"], columns="outcome", values="value")
        assert len(w) == 3
        expected = ceac(w["net_cost"].to_numpy(), w["qalys_gained"].to_numpy(), lam)
        np.testing.assert_allclose(sheet[col].to_numpy(dtype=float), expected)


def test_not_psa_warning_only_without_psa(psa_report: dict[str, Path], mc_report: dict[str, Path]) -> None:
    mc = mc_report["html"].read_text(encoding="utf-8")
    psa = psa_report["html"].read_text(encoding="utf-8")
    assert NOT_PSA in mc and "--psa N" in mc and "Monte Carlo noise" in mc
    assert NOT_PSA not in psa and "Monte Carlo noise" not in psa
    assert NOT_PSA in mc_report["markdown"].read_text(encoding="utf-8")
    note = load_workbook(mc_report["xlsx"])["ceac"]["A1"].value
    assert NOT_PSA in note
    assert {"ce_plane:warm_homes", "ceac"} <= _figs(mc_report)


def test_tornado_absent_then_present(psa_report: dict[str, Path], tornado_report: dict[str, Path]) -> None:
    assert "No one-way sensitivity analysis in this folder" in psa_report["html"].read_text(encoding="utf-8")
    assert not any(k.startswith("tornado:") for k in _figs(psa_report))
    html = tornado_report["html"].read_text(encoding="utf-8")
    assert "tornado:warm_homes" in _figs(tornado_report) and "tornado:falls_pathway" not in _figs(tornado_report)
    assert "Assumptions that matter most" in html
    d = load_run(tornado_report["html"].parent)
    t = tornado(d, "warm_homes")
    assert t is not None and list(t["parameter"]) == PARAMS and set(t["confidence"]) <= set("VMDA")
    for p in PARAMS[:5]:
        assert p in html
    sheet = pd.read_excel(tornado_report["xlsx"], sheet_name="tornado", header=2)
    assert len(sheet) == 2 * len(PARAMS) and {"source", "confidence"} <= set(sheet.columns)


def test_money_and_icer_words() -> None:
    assert fmt_money(1_234_567) == "£1.23m" and fmt_money(-340_000) == "−£340k" and fmt_money(950) == "£950"
    assert fmt_money(math.nan) == "–"
    assert fmt_money_interval(1_000_000, 50_000, 1_300_000) == "£1m (£0.05m to £1.3m)"
    assert _icer_cell(-10.0, 2.0, 0, 0, 1, 3).startswith("Dominant")
    assert _icer_cell(10.0, -2.0, 0, 0, -3, -1).startswith("Dominated")
    assert _icer_cell(30_000.0, 2.0, 5_000.0, 90_000.0, 1.0, 3.0) == "£15,000 (£5,000 to £90,000)"
    assert "unbounded" in _icer_cell(30_000.0, 2.0, 5_000.0, 90_000.0, -1.0, 3.0)


def test_business_case_renders_in_headless_chromium(psa_report: dict[str, Path], tmp_path: Path) -> None:
    exe = next((p for n in ("chromium", "chromium-browser") if (p := shutil.which(n))), None)
    if exe is None:
        pytest.skip("chromium not installed; the HTML checks above still ran")
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=5000", "--dump-dom", psa_report["html"].resolve().as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "4. Business case" in dom.stdout and "Business case: Warm homes" in dom.stdout
    assert 'alt="Cost-effectiveness acceptability curve"' in dom.stdout


def test_psa_convergence_measure_known_answers():
    """The bounds' Monte Carlo standard error: for normal draws, the textbook error of a 2.5th percentile,
    sqrt(p(1-p)/n) / phi(1.96), over the width 3.92 (sd 1): 0.0153 at n = 2,000. It falls as 1/sqrt(n),
    so four times the draws halve it; a constant has no error."""
    from neighsim.report.economics_figures import bound_mcse, draws_to_settle

    x = np.random.default_rng(3).standard_normal(2000)
    assert 0.012 < bound_mcse(x) < 0.025  # the larger of two noisy estimates of 0.0153
    assert bound_mcse(np.full(50, 7.0)) == 0.0
    assert np.isnan(bound_mcse(np.arange(3.0)))
    assert draws_to_settle(0.2, 100) == 400  # (0.2 / 0.1)^2 x 100
    assert draws_to_settle(0.05, 100) == 30  # already settled: fewer would do (rounded up to tens)
