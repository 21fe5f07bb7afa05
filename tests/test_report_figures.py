"""Figures readable at the report's width, in a reader's words.

Unit tests of the label table and the wrapping, then the figures of a small real run (Tamworth, 5% of
residents, 2 replicates, validated) with two *made-up* scenarios added by conftest.made_up_scenarios (admissions
scaled down, cost, QALY and inequality rows: test data for the plumbing only). Every figure is caught as it
is saved, so the tests read the words, sizes and lines the figure functions set.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.axes
import matplotlib.figure
import matplotlib.lines
import matplotlib.patches
import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from neighsim.outcomes import registry
from neighsim.report import figures as F
from neighsim.report.data import load_run
from neighsim.report.labels import (
    PER_1000_TO_FIGURE,
    label_table,
    outcome_label,
    rate_label,
    short_area,
    target_label,
    wrap,
)

SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")  # 'admissions_53_66_q1', 'emergency_admissions'
LONG_NAME = "Stoke-on-Trent Central North: Hanley Park and Shelton & Birches Head and Central Forest Park"


# ------------------------------------------------------------------------------------------ labels
def test_every_declared_outcome_has_a_reader_name() -> None:
    table = label_table()
    assert set(registry()) <= set(table)
    for name, words in table.items():
        assert not SNAKE.search(words), (name, words)
        assert not re.search(r"\b(htn|cvd)\b", words), (name, words)  # condition codes spelt out
    assert outcome_label("onset_htn") == "New cases: hypertension"
    assert rate_label("emergency_admissions_per_1000") == "Emergency admissions per 100,000 person-years"
    assert PER_1000_TO_FIGURE == 100


@pytest.mark.parametrize("width", [8, 14, 20, 32, 42])
def test_wrap_never_cuts_a_word(width: int) -> None:
    for text in (LONG_NAME, "Newcastle-under-Lyme: Kidsgrove & Ravenscliffe & Audley", "Supercalifragilistic x"):
        lines = wrap(text, width).split("\n")
        assert " ".join(lines) == text  # every word whole, in order, nothing dropped
        assert all(len(line) <= width or " " not in line for line in lines)


def test_short_area_keeps_the_whole_name() -> None:
    s = short_area(LONG_NAME, 20)
    assert "…" not in s
    assert s.replace("\n", " ") == LONG_NAME.split(": ", 1)[1]


@pytest.mark.parametrize(("target", "measure", "words"), [
    ("admissions_53_66_q1", "admissions_rate", "Emergency admission rate, ages 53–66, IMD quintile 1"),
    ("admissions_67plus_q5", "admissions_rate", "Emergency admission rate, aged 67+, IMD quintile 5"),
    ("smoking_decile10", "smoking", "Smoking, IMD decile 10"),
    ("le_female_newcastle_under_lyme", "le", "Life expectancy, females, Newcastle-under-Lyme"),
    ("growth_85plus_one_year", "population_growth", "Population growth, aged 85+, over one year"),
])
def test_validation_targets_in_words(target: str, measure: str, words: str) -> None:
    assert target_label(target, measure) == words


def test_every_bundled_target_has_words() -> None:
    from neighsim.validate import load_targets

    for name, spec in load_targets().items():
        words = target_label(name, spec["measure"])
        assert "_" not in words and words[:1].isupper(), (name, words)


def test_neighbourhoods_split_into_panels_of_at_most_26() -> None:
    places = {"Alpha": 30, "Beta": 12, "Gamma": 9}
    t = pd.DataFrame({"area": [f"{p}: Neighbourhood {i}" for p, n in places.items() for i in range(n)]})
    t["v"] = np.random.default_rng(0).random(len(t))
    panels = F._panels_of_rows(t, "v")
    assert all(len(p) <= F.MAX_ROWS for p in panels)
    assert sorted(pd.concat(panels)["area"]) == sorted(t["area"])
    assert all(p["v"].is_monotonic_increasing for p in panels)
    assert F._panels_of_rows(t.head(26), "v")[0].equals(t.head(26).sort_values("v"))


# ------------------------------------------------------------------------------------- a real run
@pytest.fixture(scope="module")
def run_dir(validated_run: Path, made_up_scenarios, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made_up_scenarios(validated_run, tmp_path_factory.mktemp("figures") / "scenarios")


def _names(ax: matplotlib.axes.Axes) -> list[str]:
    """The area names an axes shows on its y axis, each on one line."""
    names = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels() if t.get_visible()]
    return [n for n in names if ": " in n]


class Caught:
    """What a figure showed when it was saved: its size, every visible text, every line."""

    def __init__(self, fig: matplotlib.figure.Figure, path: Path) -> None:
        self.name = path.stem
        self.width_in = fig.get_figwidth()
        self.texts: list[tuple[str, float]] = []
        for t in fig.findobj(matplotlib.text.Text):
            s = t.get_text()
            if s.strip() and t.get_visible() and (t.axes is None or t.axes.get_visible()):
                self.texts.append((s, t.get_fontsize()))
        self.lines = [ln for a in fig.axes for ln in a.lines if not ln.get_label().startswith("_")]  # not legends'
        self.axes = [a for a in fig.axes if a.get_visible()]

    @property
    def words(self) -> str:
        return "\n".join(s.replace("\n", " ") for s, _ in self.texts)


@pytest.fixture(scope="module")
def caught(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Caught]:
    """Every figure of the report, caught as it is saved (after layout, so tick labels are set)."""
    got: dict[str, Caught] = {}
    original = matplotlib.figure.Figure.savefig

    def catch(self: matplotlib.figure.Figure, fname: str | Path, *a: object, **k: object) -> None:
        original(self, fname, *a, **k)
        got[Path(fname).stem] = Caught(self, Path(fname))

    mp = pytest.MonkeyPatch()
    mp.setattr(matplotlib.figure.Figure, "savefig", catch)
    try:
        figs = F.make_figures(load_run(run_dir), tmp_path_factory.mktemp("figs"))
    finally:
        mp.undo()
    assert {f.path.stem for f in figs} <= set(got)
    return got


MINE = ("annual_admissions", "admissions_by_cause", "rate_by_imd", "neighbourhood_rates", "life_expectancy",
        "target_baseline", "avoided_by_neighbourhood", "avoided_by_imd", "deprivation_gap", "cost_effectiveness",
        "target_scenarios", "validation")


def test_the_report_has_its_figures(caught: dict[str, Caught]) -> None:
    for name in ("annual_admissions", "rate_by_imd", "neighbourhood_rates", "avoided_by_neighbourhood",
                 "deprivation_gap", "cost_effectiveness", "validation"):
        assert name in caught, sorted(caught)


def test_no_code_names_in_any_figure(caught: dict[str, Caught]) -> None:
    for name, c in caught.items():
        found = [s for s, _ in c.texts if SNAKE.search(s)]
        assert not found, (name, found)


def test_type_reads_at_report_width(caught: dict[str, Caught]) -> None:
    """At the report's width (about 1,100 px) every word is at least 10 pt, and no figure is a strip."""
    for name in MINE:
        if name not in caught:
            continue
        c = caught[name]
        small = [(s[:30], size) for s, size in c.texts if size < F.min_font(c.width_in) - 0.05]
        assert not small, (name, c.width_in, small)
        assert c.width_in <= 12.0, name


def test_figure_images_are_sane_shapes(tmp_path: Path, run_dir: Path) -> None:
    d = load_run(run_dir)
    import matplotlib.pyplot as plt

    with plt.rc_context(F.STYLE):
        for f in (F.neighbourhood_rates, F.avoided_by_neighbourhood, F.validation, F.deprivation_gap):
            fig = f(d, tmp_path)
            assert fig is not None
            w, h = Image.open(fig.path).size
            assert w <= 12.5 * F.DPI, (fig.key, w)
            assert 0.3 < h / w < 4, (fig.key, w, h)


def test_rates_are_per_100000(caught: dict[str, Caught]) -> None:
    for name in ("rate_by_imd", "neighbourhood_rates", "deprivation_gap", "avoided_by_imd", "target_scenarios",
                 "target_baseline"):
        if name in caught:
            assert "100,000 person-years" in caught[name].words, name
            assert "per 1,000" not in caught[name].words, name


def test_neighbourhood_names_are_whole(caught: dict[str, Caught], run_dir: Path) -> None:
    areas = set(load_run(run_dir).rows(level="neighbourhood")["area"])
    for name in ("neighbourhood_rates", "avoided_by_neighbourhood"):
        ticks = {x for a in caught[name].axes for x in _names(a)}
        assert ticks and ticks <= areas, (name, ticks - areas)
    assert "…" not in caught["target_baseline"].words if "target_baseline" in caught else True


def test_many_neighbourhoods_split_into_panels(run_dir: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """60 neighbourhoods in three places: panels of at most 26 rows, every name shown whole."""
    import matplotlib.pyplot as plt

    d = load_run(run_dir)
    rng = np.random.default_rng(1)
    places = {"Stoke-on-Trent Central North": 30, "Newcastle-under-Lyme": 18, "Tamworth": 12}
    t = pd.DataFrame({"area": [f"{p}: Hanley Park and Shelton & Birches Head {i}" for p, n in places.items()
                               for i in range(n)]})
    t["level"] = "neighbourhood"
    t["person_years"] = rng.uniform(1000, 5000, len(t))
    t["share_core20"] = rng.random(len(t))
    for c, v in (("mean", 90.0), ("lower", 80.0), ("upper", 100.0)):
        t[f"baseline_rate_{c}"] = v + rng.normal(0, 5, len(t))
    for sc in d.scenarios:
        for c, v in (("mean", 5.0), ("lower", -2.0), ("upper", 12.0)):
            t[f"{sc}_avoided_{c}"] = v + rng.normal(0, 1, len(t))
    monkeypatch.setattr(F, "by_area", lambda _d, _levels: t)
    shown = {}
    original = matplotlib.figure.Figure.savefig

    def catch(self: matplotlib.figure.Figure, fname: str | Path, *a: object, **k: object) -> None:
        original(self, fname, *a, **k)
        shown[Path(fname).stem] = [_names(a) for a in self.axes if a.get_visible()]

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", catch)
    with plt.rc_context(F.STYLE):
        assert F.neighbourhood_rates(d, tmp_path) is not None
        assert F.avoided_by_neighbourhood(d, tmp_path) is not None
    for name in ("neighbourhood_rates", "avoided_by_neighbourhood"):
        panels = [p for p in shown[name] if any(p)]
        assert len(panels) >= 3, name
        assert all(len(p) <= F.MAX_ROWS for p in panels), name
        assert sorted(x for p in panels for x in p) == sorted(t["area"]), name


def test_deprivation_gap_draws_the_comparator_once(caught: dict[str, Caught]) -> None:
    """Left panel: the comparator's two rates, not the same bars again for each scenario."""
    left = caught["deprivation_gap"].axes[0]
    bars = [p for p in left.patches if isinstance(p, matplotlib.patches.Rectangle) and p.get_height() > 0]
    assert len(bars) == 2


def test_cost_effectiveness_plane_has_threshold_lines(caught: dict[str, Caught]) -> None:
    lines = {ln.get_label(): ln for ln in caught["cost_effectiveness"].lines}
    for lam, words in ((20_000, "£20k per QALY"), (30_000, "£30k per QALY")):
        assert words in lines, sorted(lines)
        x, y = (np.asarray(v, float) for v in lines[words].get_data())
        assert np.allclose(y, lam * x)
        assert x.min() < 0 < x.max()  # drawn across the plane, through the origin
    legend = caught["cost_effectiveness"].axes[0].get_legend()
    assert legend is not None and {t.get_text() for t in legend.get_texts()} >= {"£20k per QALY", "£30k per QALY"}


def test_validation_shows_targets_in_words(caught: dict[str, Caught], run_dir: Path) -> None:
    v = pd.read_csv(run_dir / "validation.csv")
    ticks = [t.get_text() for t in caught["validation"].axes[0].get_yticklabels()]
    assert ticks == [target_label(t, m) for t, m in zip(v["target"], v["measure"], strict=True)]
    assert not any("_" in t for t in ticks)
