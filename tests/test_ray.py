"""Backends give bitwise-identical results: serial, forked worker processes, local Ray, and a real Ray
head on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from neighsim.config import load_config
from neighsim.errors import NeighsimError
from neighsim.runner.experiment import read_summary, run_experiment

CFG = {"population": {"local_authorities": ["Tamworth"], "scale": 0.05}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def serial_summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    run_experiment(load_config(**CFG), out, replicates=2, progress=False)
    return read_summary(out)


def test_chunked_serial_equals_whole(serial_summary, tmp_path):
    run_experiment(load_config(**CFG), tmp_path / "chunked", replicates=2, chunk=1, progress=False)
    pd.testing.assert_frame_equal(serial_summary, read_summary(tmp_path / "chunked"))


def test_worker_processes_equal_serial(serial_summary, tmp_path):
    """Forked workers write their own tasks, each a whole run reduced where it ran (its tidy rows kept);
    chunked tasks leave the reduction to the summary. Same numbers, whatever the number of workers."""
    for workers in (2, 3):
        out = tmp_path / f"p{workers}"
        run_experiment(load_config(**CFG), out, replicates=2, backend="processes", workers=workers, progress=False)
        pd.testing.assert_frame_equal(serial_summary, read_summary(out))
        assert len(list((out / "tasks").glob("*.tidy.parquet"))) == 2
    run_experiment(load_config(**CFG), tmp_path / "pc", replicates=2, backend="processes", workers=2, chunk=1,
                   progress=False)
    assert not list((tmp_path / "pc" / "tasks").glob("*.tidy.parquet"))
    pd.testing.assert_frame_equal(serial_summary, read_summary(tmp_path / "pc"))


def test_a_worker_that_dies_is_a_clear_error_and_the_run_resumes(serial_summary, tmp_path, monkeypatch):
    import neighsim.runner.backends as backends

    real = backends.run_task

    def dies_on_replicate_1(cfg, task, *a, **k):
        if task.replicate == 1:
            os._exit(9)  # as the kernel's out-of-memory killer would
        return real(cfg, task, *a, **k)

    monkeypatch.setattr(backends, "run_task", dies_on_replicate_1)  # the forked workers inherit it
    with pytest.raises(NeighsimError, match="worker process died.*--resume"):
        run_experiment(load_config(**CFG), tmp_path / "x", replicates=2, backend="processes", workers=2,
                       progress=False)
    monkeypatch.setattr(backends, "run_task", real)
    run_experiment(load_config(**CFG), tmp_path / "x", replicates=2, backend="processes", workers=2, resume=True,
                   progress=False)
    pd.testing.assert_frame_equal(serial_summary, read_summary(tmp_path / "x"))


@pytest.mark.slow
def test_ray_cluster_on_loopback_equals_serial(serial_summary, tmp_path, monkeypatch):
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        ray_bin = Path(shutil.which("ray") or "ray")
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    subprocess.run([str(ray_bin), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                    "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"],
                   check=True, env=env, capture_output=True, timeout=180)
    try:
        run_experiment(load_config(**CFG), tmp_path / "ray", replicates=2, backend="ray",
                       address=f"127.0.0.1:{port}", progress=False)
        pd.testing.assert_frame_equal(serial_summary, read_summary(tmp_path / "ray"))
        # one worker count more: local Ray with a single worker
        run_experiment(load_config(**CFG), tmp_path / "ray1", replicates=2, backend="ray", workers=1,
                       progress=False)
        pd.testing.assert_frame_equal(serial_summary, read_summary(tmp_path / "ray1"))
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], env=env, capture_output=True, timeout=120)
