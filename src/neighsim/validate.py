"""Baseline validation against published figures (configs/targets.yaml), in the first projection year
and in the last: validation.csv, drift.csv and a figure.

A probe attached to the model (through the same hooks interventions use) counts admissions by cause,
hip fractures and deaths by single year of age and IMD decile, with person-time; prevalences are read
from the residents at the end of the first projection year and at the end of the horizon; life
expectancy comes from the simulated deaths of each of those years through period life tables.
Every target is judged in both years (`pass` and `pass_final_year`), and drift.csv gives each
age-specific rate per head in both years: a baseline must hold steady.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .agents.cohort import CONDITIONS, FRAILTY_LABELS
from .analysis.inequality import sii_rii
from .analysis.life import life_expectancy_table
from .config import ICSConfig, read_yaml
from .errors import ConfigError
from .model import NeighbourhoodModel
from .outcomes import OUT
from .paths import configs_dir
from .population import build_population
from .recorder import AGE_BAND_NAMES, AGE_BANDS

AGES = 121
CAUSES = ("respiratory", "cardiovascular", "other", "falls")
DRIFT_TOLERANCE = 0.05  # age-specific rates per head may move by at most 5% over the projection
DRIFT_MIN_EVENTS = 400  # below this many events (or cases) in a year, chance alone moves a rate by 5%


class ValidationProbe:
    """Counts by (year, single age, decile) through the model's hooks; changes nothing."""

    name = "validation_probe"

    def __init__(self, months: int):
        years = (months + 11) // 12
        shape = (years, AGES, 10)
        self.person_months = np.zeros(shape)
        self.by_cause = {c: np.zeros(shape) for c in CAUSES}
        self.hip = np.zeros(shape)
        self.deaths = np.zeros(shape)
        self.snapshots: dict[int, dict[str, Any]] = {}

    @property
    def admissions(self) -> np.ndarray:
        return sum(self.by_cause.values())

    @property
    def falls_adm(self) -> np.ndarray:
        return self.by_cause["falls"]

    def attach(self, model: NeighbourhoodModel) -> None:
        model.listen("admission", self._on_admission)
        model.listen("fracture", self._on_fracture)
        model.listen("death", self._on_death)

    def _index(self, model, rows):
        c = model.cohort
        return np.minimum(c.age_months[rows] // 12, AGES - 1), c.imd_decile[rows] - 1

    def _add(self, arr: np.ndarray, model, rows) -> None:
        a, d = self._index(model, rows)
        np.add.at(arr[model.t // 12], (a, d), 1)

    def _on_admission(self, model, rows, cause=None) -> None:
        self._add(self.by_cause[cause], model, rows)

    def _on_fracture(self, model, rows) -> None:
        self._add(self.hip, model, rows)

    def _on_death(self, model, rows) -> None:
        self._add(self.deaths, model, rows)

    def begin_step(self, model) -> None:
        c = model.cohort
        live = np.flatnonzero(c.alive)
        a, d = self._index(model, live)
        np.add.at(self.person_months[model.t // 12], (a, d), 1)

    def end_step(self, model) -> None:
        if model.t == 11 or model.t == model.months - 1:
            c = model.cohort
            live = np.flatnonzero(c.alive)
            snap = {"age": c.age_months[live] // 12, "decile": c.imd_decile[live].copy(),
                    "frailty": c.frailty[live].copy(), "smoking": c.smoking[live].copy(),
                    "nltc": c.ltc_count(live), "htn_dx": c.htn_dx[live].copy(), "copd_dx": c.copd_dx[live].copy()}
            snap.update({cond: c[cond][live].copy() for cond in CONDITIONS})
            self.snapshots[model.t] = snap


def _rate(num: np.ndarray, pm: np.ndarray, lo: int, hi: int, quintile: int | None, scale: float) -> float:
    a = slice(lo, hi + 1)
    d = slice(None) if quintile is None else slice(2 * quintile - 2, 2 * quintile)
    py = pm[a, d].sum() / 12.0
    return float(num[a, d].sum() / py * scale) if py > 0 else float("nan")


def _prev(s: dict[str, Any], spec: dict[str, Any], measure: str) -> float:
    lo, hi = spec.get("ages", [0, 120])
    m = (s["age"] >= lo) & (s["age"] <= hi)
    if "decile" in spec:
        m &= s["decile"] == spec["decile"]
    adults = s["age"] >= 18
    if measure == "frailty_any":
        return float((s["frailty"][m] > 0).mean())
    if measure == OUT.frailty_severe:
        return float((s["frailty"][m] == 3).mean())
    if measure == "smoking":
        return float((s["smoking"][m & adults] == 1).mean())
    if measure == "multimorbidity":
        return float((s["nltc"][m] >= 2).mean())
    if measure == "multimorbidity_ratio_q1_q5":
        q = (s["decile"] + 1) // 2
        return float((s["nltc"][adults & (q == 1)] >= 2).mean() / (s["nltc"][adults & (q == 5)] >= 2).mean())
    if measure == "diagnosed_htn_adults":
        return float(s["htn_dx"][adults].mean())
    if measure == "diagnosed_copd_all":
        return float(s["copd_dx"].mean())
    raise KeyError(measure)


def load_targets(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    p = Path(path) if path else configs_dir() / "targets.yaml"
    raw = read_yaml(p) or {}
    targets = raw.get("targets") if isinstance(raw, dict) else None
    if not isinstance(targets, dict):
        raise ConfigError(str(p), "targets", "expected a mapping of target names")
    for name, spec in targets.items():
        for key in ("observed", "measure", "tolerance", "kind", "source"):
            if key not in spec:
                raise ConfigError(str(p), f"targets.{name}.{key}", "missing")
        if spec["kind"] not in ("relative", "absolute"):
            raise ConfigError(str(p), f"targets.{name}.kind", "expected relative or absolute")
    return targets


def simulate_target(spec: dict[str, Any], probe: ValidationProbe, le: pd.DataFrame, year: int, snap_t: int) -> float:
    """A target's simulated value in projection year `year` (0 first; snapshot at month snap_t)."""
    m = spec["measure"]
    pm = probe.person_months[year]
    if m == "admissions_rate":
        lo, hi = spec.get("ages", [0, 120])
        return _rate(probe.admissions[year], pm, lo, hi, spec.get("quintile"), 1000.0)
    if m == "falls_admissions_per_100k_65":
        return _rate(probe.falls_adm[year], pm, 65, 120, None, 1e5)
    if m == "hip_fractures_per_100k_65":
        return _rate(probe.hip[year], pm, 65, 120, None, 1e5)
    if m in ("le", "le_sii"):
        out_name = OUT.life_expectancy if m == "le" else OUT.sii_life_expectancy
        sel = le[(le["outcome"] == out_name) & (le["stratum"] == f"sex={spec['sex']}")]
        return float(sel["value"].iloc[0]) if len(sel) else float("nan")
    return _prev(probe.snapshots[snap_t], spec, m)


def _within(spec: dict[str, Any], sim: float) -> bool:
    obs, tol = float(spec["observed"]), float(spec["tolerance"])
    ok = abs(sim / obs - 1) <= tol if spec["kind"] == "relative" else abs(sim - obs) <= tol
    return bool(ok and np.isfinite(sim))


def run_baseline(cfg: ICSConfig, progress: bool = True, params=None) -> tuple[NeighbourhoodModel, ValidationProbe, Any]:
    """The baseline with the validation probe attached (also used by calibration)."""
    pop = build_population(cfg)
    probe = ValidationProbe(cfg.time.months)
    model = NeighbourhoodModel(pop, params, interventions=[probe])
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=model.months, desc="baseline months", unit="month", file=sys.stderr)
    model.run(progress=bar.update if bar else None)
    if bar:
        bar.close()
    return model, probe, pop


def year_life_tables(model: NeighbourhoodModel, geography) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ICS life expectancy rows from the deaths and person-time of the first and of the last year."""
    lt = model.lifetable_counts().assign(scenario="baseline", replicate=0, param_draw=-1)
    out = []
    for lo, hi in ((0, 12), (model.months - 12, model.months)):
        part = lt[(lt["month"] >= lo) & (lt["month"] < hi)]
        le = life_expectancy_table(part, geography, "year")
        out.append(le[le["level"] == "ics"])
    return out[0], out[1]


def judge(targets: dict[str, dict[str, Any]], model: NeighbourhoodModel, probe: ValidationProbe,
          geography) -> pd.DataFrame:
    """Every target in the first and the last projection year."""
    le_first, le_final = year_life_tables(model, geography)
    last_year = len(probe.person_months) - 1
    rows = []
    for name, spec in targets.items():
        sim = simulate_target(spec, probe, le_first, 0, 11)
        fin = simulate_target(spec, probe, le_final, last_year, model.months - 1)
        rows.append({"target": name, "measure": spec["measure"], "source": spec["source"],
                     "observed": float(spec["observed"]), "simulated": round(sim, 4),
                     "simulated_final_year": round(fin, 4), "tolerance": float(spec["tolerance"]),
                     "kind": spec["kind"], "pass": _within(spec, sim), "pass_final_year": _within(spec, fin)})
    return pd.DataFrame(rows)


def drift_table(probe: ValidationProbe, months: int) -> pd.DataFrame:
    """Age-specific rates per head (per 1,000 person-years, or prevalence) in the first and last year,
    by the recorder's age bands: what a steady baseline keeps within DRIFT_TOLERANCE."""
    last = len(probe.person_months) - 1
    edges = list(AGE_BANDS) + [AGES]
    rows = []

    def add(measure: str, band: str, a: float, b: float, unit: str, events: float) -> None:
        change = (b / a - 1) if a > 0 else float("nan")
        judged = bool(np.isfinite(change) and events >= DRIFT_MIN_EVENTS)
        rows.append({"measure": measure, "age_band": band, "unit": unit, "first_year": a, "final_year": b,
                     "change": change, "events_first_year": int(events),
                     "within_5pct": bool(abs(change) <= DRIFT_TOLERANCE) if judged else None})

    events = {**{f"admissions_{c}": probe.by_cause[c] for c in CAUSES}, "hip_fractures": probe.hip,
              "deaths": probe.deaths}
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        band = AGE_BAND_NAMES[k]
        py = [probe.person_months[y][lo:hi].sum() / 12.0 for y in (0, last)]
        for measure, arr in events.items():
            a, b = (arr[y][lo:hi].sum() / py[i] * 1000.0 if py[i] > 0 else float("nan")
                    for i, y in enumerate((0, last)))
            add(measure, band, a, b, "per 1,000 person-years", arr[0][lo:hi].sum())
        snaps = [probe.snapshots[11], probe.snapshots[months - 1]]
        masks = [(s["age"] >= lo) & (s["age"] < hi) for s in snaps]
        flags = {f"prevalent_{cond}": [s[cond][m] for s, m in zip(snaps, masks, strict=True)] for cond in CONDITIONS}
        flags["multimorbid"] = [s["nltc"][m] >= 2 for s, m in zip(snaps, masks, strict=True)]
        for j, lab in enumerate(FRAILTY_LABELS[1:], start=1):
            if lo >= 50:
                flags[f"frailty_{lab}"] = [s["frailty"][m] == j for s, m in zip(snaps, masks, strict=True)]
        for measure, (a, b) in flags.items():
            add(measure, band, float(a.mean()), float(b.mean()), "prevalence", a.sum())
    return pd.DataFrame(rows)


def run_validation(cfg: ICSConfig, out: str | Path, targets_path: str | Path | None = None,
                   progress: bool = True) -> pd.DataFrame:
    from .runner.experiment import prepare_folder

    targets = load_targets(targets_path)
    outdir = prepare_folder(Path(out))
    model, probe, pop = run_baseline(cfg, progress)
    df = judge(targets, model, probe, pop.geography)
    drift = drift_table(probe, model.months)
    model.close()
    df.to_csv(outdir / "validation.csv", index=False)
    drift.to_csv(outdir / "drift.csv", index=False)
    validation_figure(df, outdir / "validation.png")
    return df


def validation_figure(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 0.34 * len(df) + 1.8))
    y = np.arange(len(df))
    for i, r in df.iterrows():
        tol = r["tolerance"] if r["kind"] == "relative" else r["tolerance"] / r["observed"]
        ax.plot([1 - tol, 1 + tol], [i, i], color="#dddddd", lw=7, zorder=1, solid_capstyle="butt")
    first = df["simulated"] / df["observed"]
    final = df["simulated_final_year"] / df["observed"]
    for i in range(len(df)):  # a line from the first year to the last: the drift
        ax.plot([first.iloc[i], final.iloc[i]], [i, i], color="#888888", lw=0.9, zorder=2)
    ax.scatter(first, y, c=np.where(df["pass"], "#1b7837", "#c51b7d"), zorder=3, label="2026/27 (first year)")
    ax.scatter(final, y, marker="D", s=22, facecolors="none",
               edgecolors=np.where(df["pass_final_year"], "#1b7837", "#c51b7d"), zorder=3,
               label="final year")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(y, df["target"])
    ax.invert_yaxis()
    ax.set_xlabel("simulated / published (grey: tolerance; green within, pink outside)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Baseline validation: {int(df['pass'].sum())} of {len(df)} within tolerance in the first year, "
                 f"{int(df['pass_final_year'].sum())} in the last", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["ValidationProbe", "drift_table", "judge", "load_targets", "run_baseline", "run_validation", "sii_rii"]
