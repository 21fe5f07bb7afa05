"""Faults and resumes: every one ends with the summary of an uninterrupted run, or with a refusal.

Runs use the real command on a small population (Tamworth at 5%), one scenario against the baseline,
one neighbourhood per task so that interruptions fall between tasks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from neighsim.cli import main
from neighsim.paths import configs_dir
from neighsim.runner.experiment import read_summary
from neighsim.runner.lock import FolderLock

SCENARIO = str(configs_dir() / "scenarios" / "tobacco.yaml")
BASE = [SCENARIO, "--la", "Tamworth", "--scale", "0.05", "--chunk", "1", "--quiet"]
REPLICATES = ["--replicates", "3"]


def run(out: Path, *extra: str) -> int:
    return main(["run", *BASE, *REPLICATES, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("reference") / "out"
    assert run(out) == 0
    return read_summary(out)


def same(out: Path, reference: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(read_summary(out), reference)


def tasks(out: Path, kind: str = "counts") -> list[Path]:
    return sorted((out / "tasks").glob(f"*.{kind}.parquet"))


def test_kill_9_of_the_main_process_then_resume(tmp_path, reference):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "neighsim.cli", "run", *BASE, *REPLICATES, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "tasks").glob("*.done.json")):
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = list((out / "tasks").glob("*.done.json"))
    assert 1 <= len(done) < 12
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    assert run(out, "--resume") == 0
    assert json.loads((out / "manifest.json").read_text())["tasks_resumed"] >= len(done)
    same(out, reference)


def test_damaged_task_files_are_recomputed(tmp_path, reference, capsys):
    out = tmp_path / "out"
    assert run(out) == 0
    counts = tasks(out)
    lifetable = tasks(out, "lifetable")
    with counts[0].open("r+b") as fh:  # truncated
        fh.truncate(counts[0].stat().st_size // 2)
    data = bytearray(counts[1].read_bytes())  # one bit flipped, size and footer intact
    data[len(data) // 3] ^= 0x10
    counts[1].write_bytes(bytes(data))
    lifetable[2].unlink()  # missing
    markers = sorted((out / "tasks").glob("*.done.json"))
    markers[3].write_text("")  # empty marker
    capsys.readouterr()
    assert run(out, "--resume") == 0
    err = capsys.readouterr().err
    for p in (counts[0], counts[1], lifetable[2]):
        assert p.name in err, err
    assert markers[3].name.replace(".done.json", "") in err
    assert err.count("running it again") == 4
    same(out, reference)


def test_task_from_other_inputs_is_not_used(tmp_path, reference, capsys):
    other = tmp_path / "other"
    assert main(["run", *BASE, *REPLICATES, "--seed", "5", "--out", str(other)]) == 0
    out = tmp_path / "out"
    assert run(out) == 0
    victim = tasks(out)[0]
    victim.write_bytes((other / "tasks" / victim.name).read_bytes())  # same key, other seed
    marker = victim.name.replace(".counts.parquet", ".done.json")
    (out / "tasks" / marker).write_text((other / "tasks" / marker).read_text())
    capsys.readouterr()
    assert run(out, "--resume") == 0
    assert "made from other inputs" in capsys.readouterr().err
    same(out, reference)


@pytest.mark.parametrize(("change", "words"), [
    (["--seed", "7"], "the seed (20260401 then, 7 now)"),
    (["--neighbourhoods", "WILNECOTE"], "the neighbourhoods"),
    (["--scale", "0.06"], "the configuration"),
    (["--chunk", "2"], "neighbourhoods per task"),
])
def test_resume_with_other_inputs_is_refused(tmp_path, capsys, change, words, tamworth_ids):
    change = [str(tamworth_ids["Tamworth: Wilnecote & Belgrave"]) if a == "WILNECOTE" else a for a in change]
    out = tmp_path / "out"
    assert main(["run", *BASE, "--out", str(out)]) == 0
    before = (out / "summary.csv").read_bytes()
    capsys.readouterr()
    argv = ["run", *BASE, "--out", str(out), "--resume", *change]
    if "--scale" in change:
        argv.remove("0.05")
        argv.remove("--scale")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "different inputs" in err and words in err and "--force-new" in err, err
    assert (out / "summary.csv").read_bytes() == before  # nothing was touched


def test_resume_after_editing_the_scenario_is_refused(tmp_path, capsys):
    scen = tmp_path / "tobacco.yaml"
    scen.write_text(Path(SCENARIO).read_text())
    argv = ["run", str(scen), *BASE[1:], "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    scen.write_text(Path(SCENARIO).read_text() + "    effects: {inpatient_accept: 0.5}\n")
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 2
    assert "scenario 'tobacco'" in capsys.readouterr().err


def test_force_new_moves_old_results_aside(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", *BASE, "--out", str(out)]) == 0
    assert main(["run", *BASE, "--out", str(out)]) == 2  # refuses to overwrite
    assert "already holds results" in capsys.readouterr().err
    assert main(["run", *BASE, "--seed", "9", "--out", str(out), "--force-new"]) == 0
    aside = list(tmp_path.glob("out.replaced-*"))
    assert len(aside) == 1 and (aside[0] / "summary.csv").is_file()
    assert json.loads((out / "manifest.json").read_text())["seed"] == 9
    # --resume --force-new (what `make demo` does): continue when the inputs match, else start afresh
    assert main(["run", *BASE, "--seed", "9", "--out", str(out), "--resume", "--force-new"]) == 0
    assert json.loads((out / "manifest.json").read_text())["tasks_resumed"] == 4
    assert len(list(tmp_path.glob("out.replaced-*"))) == 1
    assert main(["run", *BASE, "--out", str(out), "--resume", "--force-new"]) == 0
    assert len(list(tmp_path.glob("out.replaced-*"))) == 2


def test_more_or_fewer_replicates_give_the_fresh_summary(tmp_path, reference):
    out = tmp_path / "out"
    assert main(["run", *BASE, "--replicates", "2", "--out", str(out)]) == 0
    assert run(out, "--resume") == 0  # 2 -> 3 replicates: the first two are reused
    assert json.loads((out / "manifest.json").read_text())["tasks_resumed"] == 8
    same(out, reference)
    assert main(["run", *BASE, "--replicates", "1", "--out", str(out), "--resume"]) == 0
    fresh = tmp_path / "fresh"
    assert main(["run", *BASE, "--replicates", "1", "--out", str(fresh)]) == 0
    pd.testing.assert_frame_equal(read_summary(out), read_summary(fresh))  # only listed tasks are read


def test_a_second_run_on_a_busy_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from neighsim.runner.lock import FolderLock; held = FolderLock(Path(sys.argv[1])).acquire(); "
                               "print('locked', flush=True); time.sleep(120)", str(out)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(["run", *BASE, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "being written by another neighsim run" in err and f"pid {holder.pid}" in err
    finally:
        holder.kill()
        holder.wait()
    assert main(["run", *BASE, "--out", str(out)]) == 0  # the dead holder's lock is stale: taken over
    assert "ended without finishing" in capsys.readouterr().err


def test_lock_is_released_and_reusable(tmp_path):
    with FolderLock(tmp_path):
        with pytest.raises(Exception, match="another neighsim run"):
            FolderLock(tmp_path).acquire()
    with FolderLock(tmp_path) as lock:
        assert lock.stale is None


def _children(pid: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


@pytest.mark.slow
def test_ray_worker_killed_and_resume_on_another_backend(tmp_path, reference):
    """kill -9 of a Ray worker mid-task: retried, same summary; then the folder resumes serially."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "neighsim.cli", "run", *BASE, *REPLICATES, "--backend", "ray", "--workers", "2",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    killed = None
    deadline = time.time() + 240
    while killed is None and time.time() < deadline and proc.poll() is None:
        for pid in _children(proc.pid):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("ray::_ray_task"):
                os.kill(pid, signal.SIGKILL)
                killed = pid
                break
        time.sleep(0.05)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-2000:]
    assert killed is not None, "no Ray worker was seen running a task"
    same(out, reference)
    assert run(out, "--resume") == 0  # a Ray folder resumes on the serial backend: same tasks
    assert json.loads((out / "manifest.json").read_text())["tasks_resumed"] == 12
    same(out, reference)


def _listening(pids: set[int]) -> list[tuple[int, str]]:
    """(pid, local address) of every TCP socket in LISTEN state owned by these processes."""
    inodes: dict[str, str] = {}
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A":  # LISTEN
                inodes[f[9]] = _address(f[1].split(":")[0], v6)
    out = []
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    out.append((pid, inodes[target[8:-1]]))
        except OSError:
            continue
    return out


def _address(hexaddr: str, v6: bool) -> str:
    import ipaddress

    raw = bytes.fromhex(hexaddr)
    if not v6:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return str(ipaddress.IPv6Address(words))


def _loopback(addr: str) -> bool:
    import ipaddress

    ip = ipaddress.ip_address(addr)
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)


@pytest.mark.slow
def test_local_ray_listens_on_loopback_only():
    from neighsim.config import load_config
    from neighsim.runner.backends import run_ray
    from neighsim.runner.experiment import make_tasks
    from neighsim.runner.tasks import get_population

    cfg = load_config(population={"local_authorities": ["Tamworth"], "scale": 0.05})
    nbs = get_population(cfg).geography.neighbourhood_ids()
    results = run_ray(cfg, make_tasks(["baseline"], 2, nbs, False, 1), {}, workers=2)
    next(results)  # Ray is up and a worker has run a task
    try:
        procs = _children(os.getpid()) | {os.getpid()}
        names = {Path(f"/proc/{p}/comm").read_text().strip() for p in procs if Path(f"/proc/{p}/comm").exists()}
        assert {"gcs_server", "raylet"} <= names, names
        sockets = _listening(procs)
        assert len(sockets) >= 3, sockets  # GCS, raylet, workers: the check saw them
        beyond = [(p, a) for p, a in sockets if not _loopback(a)]
        assert not beyond, f"listening beyond loopback: {beyond}"
    finally:
        results.close()
