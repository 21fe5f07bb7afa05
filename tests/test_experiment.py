"""Experiments: files, resume after an interruption, parameter draws, convergence, flat memory."""

from __future__ import annotations

import gc
from pathlib import Path

import mesa
import pandas as pd
import pytest

from neighsim.config import load_config
from neighsim.errors import ConfigError
from neighsim.model import NeighbourhoodModel
from neighsim.runner import experiment as exp_mod
from neighsim.runner import tasks as tasks_mod
from neighsim.runner.experiment import read_summary, run_experiment
from neighsim.runner.experiment_file import load_experiment

CFG = {"population": {"local_authorities": ["Tamworth"], "scale": 0.05}}


def test_interrupted_run_resumes_to_the_same_summary(tmp_path, monkeypatch):
    cfg = load_config(**CFG)
    run_experiment(cfg, tmp_path / "full", replicates=3, chunk=1, progress=False)
    full = read_summary(tmp_path / "full")
    calls = {"n": 0}
    real = tasks_mod.run_task

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # Ctrl-C part-way through
        return real(*args, **kwargs)

    monkeypatch.setattr("neighsim.runner.backends.run_task", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, tmp_path / "part", replicates=3, chunk=1, progress=False)
    done = list((tmp_path / "part" / "tasks").glob("*.done.json"))
    assert len(done) == 2  # the finished tasks were kept
    monkeypatch.setattr("neighsim.runner.backends.run_task", real)
    resumed = run_experiment(cfg, tmp_path / "part", replicates=3, chunk=1, resume=True, progress=False)
    assert resumed["manifest"]["tasks_resumed"] == 2
    pd.testing.assert_frame_equal(full, read_summary(tmp_path / "part"))


def test_psa_draws_are_reproducible_and_vary(tmp_path):
    cfg = load_config(**CFG)
    for name, psa in (("a", True), ("b", True), ("c", False)):
        run_experiment(cfg, tmp_path / name, replicates=2, psa=psa, progress=False)
    a, b, c = (read_summary(tmp_path / name) for name in "abc")
    pd.testing.assert_frame_equal(a, b)
    assert not a["mean"].equals(c["mean"])
    p0 = tasks_mod.task_params(tasks_mod.get_population(cfg).params, cfg.seed, 0)
    p1 = tasks_mod.task_params(tasks_mod.get_population(cfg).params, cfg.seed, 1)
    assert p0.values() != p1.values()
    assert p0.values() == tasks_mod.task_params(tasks_mod.get_population(cfg).params, cfg.seed, 0).values()


def test_experiment_file_and_convergence(tmp_path):
    f = tmp_path / "e.yaml"
    f.write_text("name: t\nreplicates: 3\nlocal_authorities: [Tamworth]\nscale: 0.05\n")
    spec, cfg, scenarios = load_experiment(f)
    assert spec.replicates == 3 and scenarios == {} and cfg.population.scale == 0.05
    out = tmp_path / "o"
    run_experiment(cfg, out, replicates=spec.replicates, progress=False)
    conv = pd.read_csv(out / "convergence.csv")
    assert set(conv["n_replicates"]) == {2, 3}
    assert {"ci_mean_width", "pi_width"} <= set(conv.columns)
    for bad, field in (("replicates: 0", "replicates"), ("backend: spark", "backend"),
                       ("comparator: nope", "comparator"), ("scenarios: [missing.yaml]", "scenarios[0]")):
        f.write_text(f"name: t\nlocal_authorities: [Tamworth]\nscale: 0.05\n{bad}\n")
        with pytest.raises(ConfigError) as err:
            load_experiment(f)
        assert err.value.field == field and str(f) in str(err.value)


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def test_long_lived_worker_stays_flat(small_population):
    """Mesa 3.3 keeps every model alive through Agent._ids; close() releases it (docs/design.md section 5)."""
    def one():
        m = NeighbourhoodModel(small_population, agents="sample", sample_size=200, months=1).run()
        m.counts()
        m.close()

    for _ in range(20):
        one()
    gc.collect()
    before = _rss_mb()
    models_held = len(mesa.Agent._ids)  # other tests' models may still be held; ours must not add any
    for _ in range(150):
        one()
    gc.collect()
    assert _rss_mb() - before < 40
    assert len(mesa.Agent._ids) == models_held


def test_unknown_backend_is_a_clear_error(tmp_path):
    from neighsim.errors import NeighsimError

    with pytest.raises(NeighsimError, match="unknown backend"):
        run_experiment(load_config(**CFG), tmp_path / "x", backend="spark", progress=False)


assert exp_mod  # imported for monkeypatch paths
