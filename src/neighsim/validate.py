"""Baseline validation against published figures (configs/targets.yaml): validation.csv and a figure.

A probe attached to the model (through the same hooks interventions use) counts admissions, falls
admissions and hip fractures by single year of age and IMD decile, with person-time; prevalences are
read from the residents at the end of the first projection year and at the end of the horizon; life
expectancy comes from the simulated deaths through period life tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .analysis.inequality import sii_rii
from .analysis.life import life_expectancy_table
from .config import ICSConfig, read_yaml
from .errors import ConfigError
from .model import NeighbourhoodModel
from .outcomes import OUT
from .paths import configs_dir
from .population import build_population

AGES = 121


class ValidationProbe:
    """Counts by (year, single age, decile) through the model's hooks; changes nothing."""

    name = "validation_probe"

    def __init__(self, months: int):
        years = (months + 11) // 12
        shape = (years, AGES, 10)
        self.person_months = np.zeros(shape)
        self.admissions = np.zeros(shape)
        self.falls_adm = np.zeros(shape)
        self.hip = np.zeros(shape)
        self.snapshots: dict[int, dict[str, Any]] = {}

    def attach(self, model: NeighbourhoodModel) -> None:
        model.listen("admission", self._on_admission)
        model.listen("fracture", self._on_fracture)

    def _index(self, model, rows):
        c = model.cohort
        return np.minimum(c.age_months[rows] // 12, AGES - 1), c.imd_decile[rows] - 1

    def _on_admission(self, model, rows, cause=None) -> None:
        a, d = self._index(model, rows)
        np.add.at(self.admissions[model.t // 12], (a, d), 1)
        if cause == "falls":
            np.add.at(self.falls_adm[model.t // 12], (a, d), 1)

    def _on_fracture(self, model, rows) -> None:
        a, d = self._index(model, rows)
        np.add.at(self.hip[model.t // 12], (a, d), 1)

    def begin_step(self, model) -> None:
        c = model.cohort
        live = np.flatnonzero(c.alive)
        a, d = self._index(model, live)
        np.add.at(self.person_months[model.t // 12], (a, d), 1)

    def end_step(self, model) -> None:
        if model.t == 11 or model.t == model.months - 1:
            c = model.cohort
            live = np.flatnonzero(c.alive)
            self.snapshots[model.t] = {
                "age": c.age_months[live] // 12, "decile": c.imd_decile[live].copy(),
                "frailty": c.frailty[live].copy(), "smoking": c.smoking[live].copy(),
                "nltc": c.ltc_count(live), "htn_dx": c.htn_dx[live].copy(), "copd_dx": c.copd_dx[live].copy()}


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


def run_validation(cfg: ICSConfig, out: str | Path, targets_path: str | Path | None = None,
                   progress: bool = True) -> pd.DataFrame:
    from .runner.experiment import prepare_folder

    targets = load_targets(targets_path)
    outdir = prepare_folder(Path(out))
    pop = build_population(cfg)
    probe = ValidationProbe(cfg.time.months)
    model = NeighbourhoodModel(pop, interventions=[probe])
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=model.months, desc="baseline months", unit="month", file=sys.stderr)
    model.run(progress=bar.update if bar else None)
    if bar:
        bar.close()
    lt = model.lifetable_counts().assign(scenario="baseline", replicate=0, param_draw=-1)
    le = life_expectancy_table(lt, pop.geography, "all")
    ics = le[le["level"] == "ics"]
    last_year = len(probe.person_months) - 1
    rows = []
    for name, spec in targets.items():
        m = spec["measure"]
        sims: list[float] = []
        for year, snap_t in ((0, 11), (last_year, model.months - 1)):
            if m in ("admissions_rate", "falls_admissions_per_100k_65", "hip_fractures_per_100k_65"):
                pm = probe.person_months[year]
                if m == "admissions_rate":
                    lo, hi = spec.get("ages", [0, 120])
                    v = _rate(probe.admissions[year], pm, lo, hi, spec.get("quintile"), 1000.0)
                elif m == "falls_admissions_per_100k_65":
                    v = _rate(probe.falls_adm[year], pm, 65, 120, None, 1e5)
                else:
                    v = _rate(probe.hip[year], pm, 65, 120, None, 1e5)
            elif m in ("le", "le_sii"):
                out_name = OUT.life_expectancy if m == "le" else OUT.sii_life_expectancy
                sel = ics[(ics["outcome"] == out_name) & (ics["stratum"] == f"sex={spec['sex']}")]
                v = float(sel["value"].iloc[0]) if len(sel) else float("nan")
            else:
                v = _prev(probe.snapshots[snap_t], spec, m)
            sims.append(v)
        obs, tol = float(spec["observed"]), float(spec["tolerance"])
        sim = sims[0]
        ok = abs(sim / obs - 1) <= tol if spec["kind"] == "relative" else abs(sim - obs) <= tol
        rows.append({"target": name, "measure": m, "source": spec["source"], "observed": obs,
                     "simulated": round(sim, 4), "simulated_final_year": round(sims[1], 4),
                     "tolerance": tol, "kind": spec["kind"], "pass": bool(ok and np.isfinite(sim))})
    model.close()
    df = pd.DataFrame(rows)
    df.to_csv(outdir / "validation.csv", index=False)
    validation_figure(df, outdir / "validation.png")
    return df


def validation_figure(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratio = df["simulated"] / df["observed"]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(df) + 1.5))
    y = np.arange(len(df))
    colors = np.where(df["pass"], "#1b7837", "#c51b7d")
    ax.scatter(ratio, y, c=colors, zorder=3)
    for i, r in df.iterrows():
        tol = r["tolerance"] if r["kind"] == "relative" else r["tolerance"] / r["observed"]
        ax.plot([1 - tol, 1 + tol], [i, i], color="#bbbbbb", lw=6, zorder=1, solid_capstyle="butt")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(y, df["target"])
    ax.invert_yaxis()
    ax.set_xlabel("simulated / published (grey: tolerance)")
    ax.set_title(f"Baseline validation: {int(df['pass'].sum())} of {len(df)} targets within tolerance")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["ValidationProbe", "load_targets", "run_validation", "sii_rii"]
