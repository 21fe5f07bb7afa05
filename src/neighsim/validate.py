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

from dataclasses import dataclass
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
        self.start_ages = np.zeros(0, dtype=np.int64)
        self.year_end_ages: dict[int, np.ndarray] = {}  # projection year -> ages of the living at its end

    @classmethod
    def pooled(cls, probes: list[ValidationProbe]) -> ValidationProbe:
        """Counts summed and snapshots joined over replicates."""
        out = probes[0]
        for other in probes[1:]:
            out.person_months += other.person_months
            out.hip += other.hip
            out.deaths += other.deaths
            for c in CAUSES:
                out.by_cause[c] += other.by_cause[c]
            out.start_ages = np.concatenate([out.start_ages, other.start_ages])
            for y, ages in other.year_end_ages.items():
                out.year_end_ages[y] = np.concatenate([out.year_end_ages[y], ages])
            for t, snap in other.snapshots.items():
                out.snapshots[t] = {k: np.concatenate([out.snapshots[t][k], v]) for k, v in snap.items()}
        return out

    @property
    def admissions(self) -> np.ndarray:
        return sum(self.by_cause.values())

    @property
    def falls_adm(self) -> np.ndarray:
        return self.by_cause["falls"]

    def attach(self, model: NeighbourhoodModel) -> None:
        # ages as built, before the first month's ageing (begin_step at t=0 has already aged everyone)
        c = model.cohort
        self.start_ages = np.minimum(c.age_months[c.alive] // 12, AGES - 1).astype(np.int64)
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
        if (model.t + 1) % 12 == 0:
            live = np.flatnonzero(model.cohort.alive)
            self.year_end_ages[model.t // 12] = (model.cohort.age_months[live] // 12).astype(np.int64)
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
    if m == "population_growth":
        # years: 1 -> over the year judged; otherwise over the whole horizon (the same in both columns)
        lo, hi = spec.get("ages", [0, 120])
        if spec.get("years") == 1:
            start = probe.start_ages if year == 0 else probe.year_end_ages[year - 1]
            end = probe.year_end_ages[year]
        else:
            start, end = probe.start_ages, probe.year_end_ages[max(probe.year_end_ages)]
        return float(((end >= lo) & (end <= hi)).sum() / max(((start >= lo) & (start <= hi)).sum(), 1) - 1)
    if m in ("le", "le_sii"):
        out_name = OUT.life_expectancy if m == "le" else OUT.sii_life_expectancy
        level, area = area_of(spec)
        sel = le[(le["outcome"] == out_name) & (le["stratum"] == f"sex={spec['sex']}") & (le["level"] == level)]
        if area is not None:
            sel = sel[sel["area"] == area]
        return float(sel["value"].iloc[0]) if len(sel) else float("nan")
    return _prev(probe.snapshots[snap_t], spec, m)


def area_of(spec: dict[str, Any]) -> tuple[str, str | None]:
    """The area a life-expectancy target is about: the ICS, a place or a local authority."""
    if "la" in spec:
        return "la", str(spec["la"])
    if "place" in spec:
        return "place", str(spec["place"])
    return "ics", None


def not_applicable(spec: dict[str, Any], las: list[str] | None, months: int, horizon: int) -> str | None:
    """Why a target cannot be judged on a run of these local authorities and months (None if it can):
    a local authority the run does not hold; growth of the nine LAs on a run of some of them; growth over
    the whole horizon on a shorter run."""
    level, area = area_of(spec)
    if level == "la" and las and area not in las:
        return f"it is about {area}, which the run does not hold"
    if spec["measure"] == "population_growth":
        if las and len(las) < 9:
            return "it is the growth of all nine local authorities"
        if spec.get("years") != 1 and months < horizon:
            return f"it is the growth over the whole {horizon}-month horizon and the run simulates {months} months"
    return None


def _within(spec: dict[str, Any], sim: float) -> bool:
    obs, tol = float(spec["observed"]), float(spec["tolerance"])
    ok = abs(sim / obs - 1) <= tol if spec["kind"] == "relative" else abs(sim - obs) <= tol
    return bool(ok and np.isfinite(sim))


@dataclass
class Baseline:
    """What validation and calibration read from baseline runs: the probe's counts and the life-table
    counts, pooled over replicates (each replicate its own random numbers)."""

    probe: ValidationProbe
    lifetable: pd.DataFrame
    months: int
    population: Any

    def life_tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Life expectancy rows (ICS, places, LAs) from the pooled deaths and person-time of the first
        and of the last year."""
        out = []
        for lo, hi in ((0, 12), (self.months - 12, self.months)):
            part = self.lifetable[(self.lifetable["month"] >= lo) & (self.lifetable["month"] < hi)]
            out.append(life_expectancy_table(part, self.population.geography, "year"))
        return out[0], out[1]


def run_baseline(cfg: ICSConfig, progress: bool = True, params=None, replicates: int = 1,
                 population=None, months: int | None = None) -> Baseline:
    """The baseline with the validation probe attached, pooled over replicates (also used by calibration)."""
    pop = population if population is not None else build_population(cfg)
    months = int(months if months is not None else cfg.time.months)
    probes, tables = [], []
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=months * replicates, desc="baseline months", unit="month", file=sys.stderr)
    for r in range(replicates):
        probe = ValidationProbe(months)
        model = NeighbourhoodModel(pop, params, interventions=[probe], replicate=r, months=months)
        model.run(progress=bar.update if bar else None)
        tables.append(model.lifetable_counts())
        probes.append(probe)
        model.close()
    if bar:
        bar.close()
    lt = pd.concat(tables, ignore_index=True).assign(scenario="baseline", replicate=0, param_draw=-1)
    return Baseline(ValidationProbe.pooled(probes), lt, months, pop)


def judge(targets: dict[str, dict[str, Any]], run: Baseline) -> pd.DataFrame:
    """Every target in the first and the last projection year."""
    le_first, le_final = run.life_tables()
    probe, geography = run.probe, run.population.geography
    last_year = len(probe.person_months) - 1
    rows = []
    for name, spec in targets.items():
        if not_applicable(spec, geography.las, run.months, run.months):
            continue  # e.g. a local authority this run does not hold
        sim = simulate_target(spec, probe, le_first, 0, 11)
        fin = simulate_target(spec, probe, le_final, last_year, run.months - 1)
        rows.append({"target": name, "measure": spec["measure"], "source": spec["source"],
                     "observed": float(spec["observed"]), "simulated": round(sim, 4),
                     "simulated_final_year": round(fin, 4), "tolerance": float(spec["tolerance"]),
                     "kind": spec["kind"], "pass": _within(spec, sim), "pass_final_year": _within(spec, fin)})
    return pd.DataFrame(rows)


def drift_table(probe: ValidationProbe, months: int) -> pd.DataFrame:
    """Age-specific rates per head (per 1,000 person-years, or prevalence) in the first and last year,
    by the recorder's age bands: what a steady baseline keeps within DRIFT_TOLERANCE.

    The last year's rate is standardised, single year of age by single year of age, to the first year's
    ages within the band: a band whose residents get younger or older (the 1960s birth cohorts reaching
    65) would otherwise look like a change of rate. Each change has a 95% interval from the counts
    (Poisson for events, binomial for prevalence). `steady` is False only where the whole interval lies
    beyond +/-5% (chance alone cannot explain the change); `within_5pct` is the point estimate's verdict
    where there are DRIFT_MIN_EVENTS."""
    last = len(probe.person_months) - 1
    edges = list(AGE_BANDS) + [AGES]
    rows = []

    def add(measure: str, band: str, unit: str, counts: tuple[np.ndarray, np.ndarray],
            denoms: tuple[np.ndarray, np.ndarray], scale: float, binomial: bool) -> None:
        (x0, x1), (n0, n1) = counts, denoms  # by single year of age
        a = x0.sum() / n0.sum() * scale if n0.sum() > 0 else float("nan")
        seen = n1 > 0
        w = n0 * seen
        b = (w[seen] * x1[seen] / n1[seen]).sum() / w.sum() * scale if w.sum() > 0 else float("nan")
        change = (b / a - 1) if a > 0 else float("nan")
        c0, d0 = x0.sum(), n0.sum()
        # variance of log(b / a): the first year's crude rate, plus the standardised last-year rate's own
        # (sum over ages of weight^2 x the age's variance: Poisson counts, or binomial proportions)
        var = float("nan")
        if c0 > 0 and np.isfinite(b) and b > 0:
            r1 = x1[seen] / n1[seen]
            per_age = r1 * (1 - r1) / n1[seen] if binomial else x1[seen] / n1[seen] ** 2
            var_b = float((w[seen] ** 2 * per_age).sum() / w.sum() ** 2) * scale ** 2
            var = (1 / c0 - (1 / d0 if binomial else 0.0)) + var_b / b ** 2
        half = 1.96 * np.sqrt(max(var, 0.0)) if np.isfinite(var) else float("nan")
        lo, hi = (np.exp(np.log1p(change) - half) - 1, np.exp(np.log1p(change) + half) - 1) \
            if np.isfinite(change) and change > -1 else (float("nan"), float("nan"))
        judged = bool(np.isfinite(change) and c0 >= DRIFT_MIN_EVENTS)
        rows.append({"measure": measure, "age_band": band, "unit": unit, "first_year": a, "final_year": b,
                     "change": change, "change_low": lo, "change_high": hi, "events_first_year": int(c0),
                     "within_5pct": bool(abs(change) <= DRIFT_TOLERANCE) if judged else None,
                     "steady": bool(lo <= DRIFT_TOLERANCE and hi >= -DRIFT_TOLERANCE) if np.isfinite(lo) else None})

    events = {**{f"admissions_{c}": probe.by_cause[c] for c in CAUSES}, "hip_fractures": probe.hip,
              "deaths": probe.deaths}
    snaps = [probe.snapshots[11], probe.snapshots[months - 1]]
    for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        band = AGE_BAND_NAMES[k]
        py = tuple(probe.person_months[y][lo:hi].sum(axis=1) / 12.0 for y in (0, last))
        for measure, arr in events.items():
            add(measure, band, "per 1,000 person-years", (arr[0][lo:hi].sum(axis=1), arr[last][lo:hi].sum(axis=1)),
                py, 1000.0, False)
        masks = [(s["age"] >= lo) & (s["age"] < hi) for s in snaps]
        ages = [np.minimum(s["age"][m], AGES - 1) - lo for s, m in zip(snaps, masks, strict=True)]
        size = hi - lo
        n = tuple(np.bincount(a, minlength=size).astype(float) for a in ages)
        flags = {f"prevalent_{cond}": [s[cond][m] for s, m in zip(snaps, masks, strict=True)] for cond in CONDITIONS}
        flags["multimorbid"] = [s["nltc"][m] >= 2 for s, m in zip(snaps, masks, strict=True)]
        for j, lab in enumerate(FRAILTY_LABELS[1:], start=1):
            if lo >= 50:
                flags[f"frailty_{lab}"] = [s["frailty"][m] == j for s, m in zip(snaps, masks, strict=True)]
        for measure, pair in flags.items():
            x = tuple(np.bincount(a, weights=f.astype(float), minlength=size) for a, f in zip(ages, pair, strict=True))
            add(measure, band, "prevalence", x, n, 1.0, True)
    return pd.DataFrame(rows)


def areas_table(targets: dict[str, dict[str, Any]], run: Baseline) -> pd.DataFrame:
    """Life expectancy and its slope index of inequality by area (ICS, places, LAs) and sex, in both
    years, with the published figure where the targets have one."""
    first, final = run.life_tables()
    keys = ["level", "area", "outcome", "stratum"]
    both = first.merge(final[keys + ["value"]], on=keys, suffixes=("_first", "_final"))
    both = both[both["stratum"].isin(["sex=male", "sex=female"])].copy()
    published = {}
    for spec in targets.values():
        if spec["measure"] in ("le", "le_sii"):
            level, area = area_of(spec)
            out = OUT.life_expectancy if spec["measure"] == "le" else OUT.sii_life_expectancy
            published[(level, area, out, f"sex={spec['sex']}")] = (spec["observed"], spec["source"])
    rows = []
    for r in both.itertuples():
        area = None if r.level == "ics" else r.area
        obs, src = published.get((r.level, area, r.outcome, r.stratum), (float("nan"), ""))
        rows.append({"level": r.level, "area": r.area, "sex": r.stratum.split("=")[1], "measure": r.outcome,
                     "first_year": round(r.value_first, 2), "final_year": round(r.value_final, 2),
                     "published": obs, "source": src})
    return pd.DataFrame(rows)


def run_validation(cfg: ICSConfig, out: str | Path, targets_path: str | Path | None = None,
                   progress: bool = True, replicates: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    from .runner.experiment import prepare_folder

    targets = load_targets(targets_path)
    outdir = prepare_folder(Path(out))
    run = run_baseline(cfg, progress, replicates=replicates)
    df = judge(targets, run)
    drift = drift_table(run.probe, run.months)
    areas_table(targets, run).to_csv(outdir / "areas.csv", index=False)
    df.to_csv(outdir / "validation.csv", index=False)
    drift.to_csv(outdir / "drift.csv", index=False)
    validation_figure(df, outdir / "validation.png")
    return df, drift


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
