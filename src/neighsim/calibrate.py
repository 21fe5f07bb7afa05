"""Calibration: fit chosen parameters to a targets file with Optuna (the optimiser Starsim's
calibration uses), then write a parameter folder any command takes with `--parameters DIR`.

Each trial runs the baseline with the trial's values (on the configured population, which a
`--scale` or `--la` makes smaller and faster) and scores the targets of the first projection year:
the mean of ((simulated - published) / tolerance)^2, tolerance in the target's own units, so a trial
with every target inside its tolerance scores below 1. The study lives in a SQLite file in the output
folder: a second run with `--resume` adds trials to the same study (after checking that its inputs
are the same). Trials inside the tolerance of every target are the accepted joint draws: the PSA
samples the calibrated parameters jointly from them, so every draw reproduces the targets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import ICSConfig
from .errors import NeighsimError
from .parameters import ACCEPTED_DRAWS, CALIBRATION_RECORD, Parameter, ParameterSet, load_parameters
from .population import build_population
from .validate import load_targets, not_applicable, run_baseline, simulate_target

STUDY_FILE = "study.db"
RECORD_FILE = CALIBRATION_RECORD


@dataclass(frozen=True)
class Knob:
    """A parameter to fit and the range the optimiser searches (log scale for ratios)."""

    name: str
    low: float
    high: float
    log: bool


def knob(param: Parameter, given: str | None = None) -> Knob:
    """The search range: given as LOW:HIGH, or the parameter's own uncertainty (central 95%)."""
    if isinstance(param.value, tuple):
        raise NeighsimError(f"--parameters {param.name}: a list of values ({len(param.value)}); calibrate one "
                            "number at a time")
    if given is not None:
        try:
            low, high = (float(x) for x in given.split(":"))
        except ValueError:
            raise NeighsimError(f"--parameters {param.name}={given}: expected a range LOW:HIGH, e.g. "
                                f"{param.name}=0.5:2") from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise NeighsimError(f"--parameters {param.name}={given}: expected finite LOW < HIGH")
        return Knob(param.name, low, high, low > 0 and high / low > 4)
    d, v = param.dist, float(param.value)
    kind = d.get("type", "fixed")
    if kind in ("uniform", "triangular"):
        return Knob(param.name, float(d["low"]), float(d["high"]), False)
    if kind == "lognormal":
        return Knob(param.name, v * math.exp(-1.96 * d["se"]), v * math.exp(1.96 * d["se"]), True)
    if kind == "normal":
        return Knob(param.name, v - 1.96 * d["sd"], v + 1.96 * d["sd"], False)
    if kind in ("beta", "gamma"):
        from scipy import stats

        dist = stats.beta(d["a"], d["b"]) if kind == "beta" else stats.gamma(d["shape"], scale=v / d["shape"])
        return Knob(param.name, float(dist.ppf(0.025)), float(dist.ppf(0.975)), False)
    raise NeighsimError(f"--parameters {param.name}: it has no uncertainty range in {param.file}; give one as "
                        f"{param.name}=LOW:HIGH")


def score(targets: dict[str, dict[str, Any]], simulated: dict[str, float]) -> tuple[float, dict[str, bool]]:
    """Mean squared error in tolerance units, and which targets are within tolerance."""
    errs, within = [], {}
    for name, spec in targets.items():
        obs, tol = float(spec["observed"]), float(spec["tolerance"])
        unit = tol * abs(obs) if spec["kind"] == "relative" else tol
        sim = simulated[name]
        z = (sim - obs) / unit if math.isfinite(sim) else 10.0
        errs.append(z * z)
        within[name] = abs(z) <= 1.0
    return float(np.mean(errs)), within


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _commit() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class Calibration:
    """One study: the base parameters, the knobs, the targets, and how each trial is simulated."""

    def __init__(self, cfg: ICSConfig, targets_path: str | Path | None, knobs: list[Knob],
                 target_names: list[str] | None = None, months: int = 12, replicates: int = 1,
                 rebuild: bool = False):
        self.cfg = cfg
        self.base = load_parameters(cfg.parameters_dir())
        all_targets = load_targets(targets_path)
        if target_names:
            unknown = sorted(set(target_names) - set(all_targets))
            if unknown:
                raise NeighsimError(f"--target: {unknown} not in the targets file (it has {sorted(all_targets)})")
            all_targets = {k: all_targets[k] for k in target_names}
        las = cfg.population.local_authorities
        why = {k: not_applicable(v, las, months, cfg.time.months) for k, v in all_targets.items()}
        if target_names and any(why.values()):
            bad = "; ".join(f"{k}: {w}" for k, w in why.items() if w)
            raise NeighsimError(f"--target cannot be fitted on this run ({bad})")
        self.targets = {k: v for k, v in all_targets.items() if not why[k]}
        if not self.targets:
            raise NeighsimError("no targets to fit (the targets file is empty, or its targets are for areas this "
                                "run does not hold)")
        self.targets_path = targets_path
        self.knobs = knobs
        self.months, self.replicates, self.rebuild = months, replicates, rebuild
        self.population = None if rebuild else build_population(cfg, self.base)

    def inputs(self) -> dict[str, Any]:
        """What makes two studies the same (a resumed study must match)."""
        return {"knobs": [asdict(k) for k in self.knobs], "targets": _digest(self.targets),
                "parameters": _digest({k: v.value for k, v in self.base.items()}), "seed": self.cfg.seed,
                "scale": self.cfg.population.scale, "las": self.cfg.population.local_authorities,
                "months": self.months, "replicates": self.replicates, "rebuild": self.rebuild}

    def params_for(self, values: dict[str, float]) -> ParameterSet:
        return self.base.update(values)

    def simulate(self, values: dict[str, float]) -> dict[str, float]:
        """Each target's simulated value in the first projection year with these parameter values."""
        params = self.params_for(values)
        pop = build_population(self.cfg, params) if self.rebuild else self.population
        run = run_baseline(self.cfg, progress=False, params=params, replicates=self.replicates,
                           population=pop, months=self.months)
        le_first, _ = run.life_tables()
        return {name: simulate_target(spec, run.probe, le_first, 0, 11) for name, spec in self.targets.items()}


def run_study(cal: Calibration, out: Path, trials: int, resume: bool, progress: bool = True) -> dict[str, Any]:
    """Run (or continue) the study to `trials` trials in all, then write the calibrated folder."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = out / STUDY_FILE
    if db.exists() and not resume:
        raise NeighsimError(f"{out}: holds a calibration study; add --resume to continue it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{db}"
    sampler = optuna.samplers.TPESampler(seed=cal.cfg.seed % 2**32, n_startup_trials=min(10, max(trials // 3, 1)))
    study = optuna.create_study(study_name="neighsim", storage=storage, sampler=sampler, direction="minimize",
                                load_if_exists=True)
    inputs = cal.inputs()
    if "inputs" in study.user_attrs and study.user_attrs["inputs"] != inputs:
        old = study.user_attrs["inputs"]
        diff = sorted(k for k in inputs if old.get(k) != inputs[k])
        raise NeighsimError(f"{out}: its study was made with other inputs ({', '.join(diff)} differ); choose "
                            "another --out to start a new study")
    study.set_user_attr("inputs", inputs)
    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    # a trial interrupted by a kill is left RUNNING in the database: it is never counted
    todo = max(trials - done, 0)
    if done == 0 and todo:  # the first trial is the starting point: the fit can only improve on it
        study.enqueue_trial({k.name: min(max(float(cal.base[k.name]), k.low), k.high) for k in cal.knobs},
                            skip_if_exists=True)

    def objective(trial: optuna.Trial) -> float:
        values = {k.name: trial.suggest_float(k.name, k.low, k.high, log=k.log) for k in cal.knobs}
        sims = cal.simulate(values)
        value, within = score(cal.targets, sims)
        trial.set_user_attr("simulated", sims)
        trial.set_user_attr("within_all", all(within.values()))
        return value

    t0 = time.perf_counter()
    if todo:
        bar = None
        if progress:
            import sys

            from tqdm import tqdm

            bar = tqdm(total=todo, desc="calibration trials", unit="trial", file=sys.stderr)
        study.optimize(objective, n_trials=todo, callbacks=[lambda s, t: bar.update()] if bar else [],
                       gc_after_trial=True)
        if bar:
            bar.close()
    elapsed = time.perf_counter() - t0
    return write_results(cal, study, out, elapsed)


def write_results(cal: Calibration, study, out: Path, elapsed: float) -> dict[str, Any]:
    """trials.csv, and calibrated/: the parameter folder with the best values, its record and the
    accepted joint draws."""
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise NeighsimError(f"{out}: the study has no finished trial")
    names = [k.name for k in cal.knobs]
    rows = [{"trial": t.number, "score": t.value, "within_all": t.user_attrs.get("within_all", False),
             **t.params, **{f"sim:{k}": v for k, v in t.user_attrs.get("simulated", {}).items()}} for t in done]
    trials = pd.DataFrame(rows).sort_values("trial")
    trials.to_csv(out / "trials.csv", index=False)
    # the fit that ships: the lowest score among the trials inside every tolerance if there are any
    # (a lower mean score that leaves a target outside is not preferred), else the lowest score
    inside = [t for t in done if t.user_attrs.get("within_all")]
    best = min(inside or done, key=lambda t: t.value)
    folder = out / "calibrated"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(cal.cfg.parameters_dir(), folder)
    for f in folder.glob(ACCEPTED_DRAWS):
        f.unlink()
    today = dt.date.today().isoformat()
    for name in names:
        write_value(folder, cal.base.spec(name), best.params[name],
                    f"fitted by neighsim calibrate on {today} ({RECORD_FILE})")
    accepted = trials[trials["within_all"]][names]
    if len(accepted):
        accepted.to_csv(folder / ACCEPTED_DRAWS, index=False)
    _, within = score(cal.targets, best.user_attrs["simulated"])
    fit = [{"target": k, "observed": float(v["observed"]), "simulated": round(best.user_attrs["simulated"][k], 4),
            "tolerance": float(v["tolerance"]), "kind": v["kind"], "within": within[k], "source": v["source"]}
           for k, v in cal.targets.items()]
    record = {
        "date": today, "commit": _commit(), "seed": cal.cfg.seed, "trials": len(done),
        "accepted_draws": int(len(accepted)), "seconds_this_run": round(elapsed, 1),
        "targets_file": str(cal.targets_path or "configs/targets.yaml"), "targets": fit,
        "parameters": {k.name: {"start": float(cal.base[k.name]), "fitted": float(best.params[k.name]),
                                "range": [k.low, k.high], "log_scale": k.log} for k in cal.knobs},
        "best_trial": best.number, "best_score": float(best.value),
        "lowest_score_of_any_trial": float(min(t.value for t in done)),
        "population": {"scale": cal.cfg.population.scale, "local_authorities": cal.cfg.population.local_authorities,
                       "months": cal.months, "replicates": cal.replicates, "rebuilt_per_trial": cal.rebuild},
        "inputs_digest": _digest(cal.inputs()),
    }
    import yaml

    (folder / RECORD_FILE).write_text("# Written by `neighsim calibrate`: what was fitted, to what, and how well.\n"
                                      + yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
    return record


def write_value(folder: Path, param: Parameter, value: float, note: str) -> None:
    """Replace a parameter's value in its YAML file (comments and layout kept), marking it calibrated."""
    path = folder / param.file
    key = param.name.split(".", 1)[1]
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith(f"{key}:")), None)
    if start is None:
        raise NeighsimError(f"{path}: cannot find parameter {key} to write its fitted value")
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith((" ", "#"))),
               len(lines))
    block = [ln for ln in lines[start + 1:end] if not ln.strip().startswith(("value:", "calibrated:", "note:"))]
    trailing = []
    while block and not block[-1].strip():
        trailing.insert(0, block.pop())
    new = [f"  value: {value:.6g}", *block, "  calibrated: true", f"  note: {json.dumps(note)}", *trailing]
    path.write_text("\n".join(lines[:start + 1] + new + lines[end:]) + "\n", encoding="utf-8")
