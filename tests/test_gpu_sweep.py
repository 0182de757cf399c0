"""The prepared GPU script: its layout, its CPU fallback, its deadline and its archive."""

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_sweep.py"
gpu_sweep = load_script("gpu_sweep")


def test_layout_shares_one_gpu_among_workers_and_falls_back_on_the_cpu():
    assert gpu_sweep.layout(1, 16) == (8, 2)
    assert gpu_sweep.layout(1, 4) == (4, 1)
    assert gpu_sweep.layout(0, 2) == (2, 1)
    assert gpu_sweep.layout(0, 16) == (2, 8)


def plan(tmp_path, epochs):
    path = tmp_path / "sweep.yml"
    path.write_text(f"defaults: {{epochs: {epochs}, limit: 256}}\n"
                    "points:\n  - {family: mobilenet, targets: [8099]}\n")
    return path


def run(tmp_path, *args, env_extra=None):
    import os
    env = {**os.environ, "FER_RESULTS_DIR": str(tmp_path / "results"), **(env_extra or {})}
    env.pop("OUT", None)
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=env, timeout=900)


@pytest.mark.slow
def test_on_this_cpu_it_trains_the_plan_and_archives_the_results(real_data_path, tmp_path):
    archive = tmp_path / "out" / "results.tar.gz"
    proc = run(tmp_path, "--plan", str(plan(tmp_path, 1)), "--minutes", "10",
               "--archive", str(archive), env_extra={"FER2013_PATH": str(real_data_path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no GPU: the CPU layout" in proc.stdout
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"results/mobilenet-8099-s0.json", "results/notebooks/mobilenet-8099-s0.ipynb",
            "results/weights/mobilenet-8099-s0.keras"} <= names


@pytest.mark.slow
def test_the_deadline_stops_the_sweep_and_still_leaves_an_archive(real_data_path, tmp_path):
    archive = tmp_path / "results.tar.gz"
    proc = run(tmp_path, "--plan", str(plan(tmp_path, 50)), "--minutes", "0.3",
               "--archive", str(archive), env_extra={"FER2013_PATH": str(real_data_path)})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "deadline of 0.3 min reached" in proc.stdout
    assert "0 finished record(s)" in proc.stdout
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    # No record; the stopped run's checkpoint folder travels, for a CPU sweep to resume.
    assert all(name.startswith("results/checkpoints") for name in names), names


def test_bad_minutes_are_refused(tmp_path):
    proc = run(tmp_path, "--minutes", "0")
    assert proc.returncode == 2 and "--minutes must be above 0" in proc.stderr


def test_the_archive_carries_finished_results_and_unfinished_checkpoints(tmp_path):
    results = tmp_path / "results"
    (results / "weights").mkdir(parents=True)
    (results / "mobilenet-8099-s0.json").write_text("{}")
    (results / "weights" / "mobilenet-8099-s0.keras").write_bytes(b"k")
    (results / "weights" / "orphan.keras").write_bytes(b"k")  # no record: left out
    backup = results / "checkpoints" / "hw8_mobilenet-56135-s0-long" / "backup"
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(b"w")
    archive = tmp_path / "out" / "results.tar.gz"
    assert gpu_sweep.archive_results(results, archive) == 1
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"results/mobilenet-8099-s0.json", "results/weights/mobilenet-8099-s0.keras",
            "results/checkpoints/hw8_mobilenet-56135-s0-long/backup/latest.weights.h5"} <= names
    assert "results/weights/orphan.keras" not in names
