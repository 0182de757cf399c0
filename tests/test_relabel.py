import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.results import write_json_atomic
from helpers.training import TrainConfig

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "relabel_run.py"


def relabel(out_dir, *args):
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--out-dir", str(out_dir)],
                          capture_output=True, text=True)


def test_a_relabelled_run_keeps_its_settings_and_hash_and_says_where_it_came_from(tmp_path):
    config = TrainConfig(family="mobilenet", target_params=8000, seed=2, patience=30, tag="nostop")
    old = config.run_id
    (tmp_path / "weights").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "weights" / f"{old}.keras").write_bytes(b"weights")
    notebook = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": f"# {old} · run"}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "notebooks" / f"{old}.ipynb").write_text(json.dumps(notebook))
    write_json_atomic(tmp_path / f"{old}.json", {
        "run_id": old, "tag": "nostop", "family": "mobilenet", "target_params": 8000, "seed": 2,
        "settings": config.settings(), "config_hash": config.hash,
        "params": {"total": 7974}, "macs": 1051094, "epochs_run": 30,
        "weights": f"weights/{old}.keras"})

    assert relabel(tmp_path, old, "mobilenet-8000-s2", "--reason", "now the default",
                   "--reason-zh", "現在是預設值").returncode == 0
    record = json.loads((tmp_path / "mobilenet-8000-s2.json").read_text())
    assert (record["run_id"], record["tag"], record["config_hash"]) == (
        "mobilenet-8000-s2", "", config.hash)
    assert TrainConfig(tag=record["tag"], **record["settings"]).hash == record["config_hash"]
    assert record["relabelled_from"] == {"run_id": old, "reason": "now the default",
                                         "reason_zh": "現在是預設值"}
    assert (tmp_path / record["weights"]).read_bytes() == b"weights"
    cells = nbformat.read(tmp_path / "notebooks" / "mobilenet-8000-s2.ipynb", 4).cells  # validates
    assert cells[0].source.startswith("# mobilenet-8000-s2 ·") and "7,974 parameters" in cells[0].source
    assert cells[1].id == "run-notes"  # nbformat 4.5 wants an id per cell
    assert f"Trained as `{old}`" in cells[1].source and "：現在是預設值。" in cells[1].source
    assert not list(tmp_path.glob(f"{old}*")) and not (tmp_path / "weights" / f"{old}.keras").exists()

    (tmp_path / f"{old}.json").write_text("{}")
    refused = relabel(tmp_path, old, "mobilenet-8000-s2", "--reason", "again")
    assert refused.returncode != 0 and "exists" in refused.stderr
    write_json_atomic(tmp_path / "x.json", {**record, "run_id": "x", "weights": "weights/x.keras"})
    (tmp_path / "weights" / "x.keras").write_bytes(b"x")
    for wrong_id in ("plain_cnn-8000-s2-y", "mobilenet-8000-s20"):
        wrong = relabel(tmp_path, "x", wrong_id, "--reason", "r")
        assert wrong.returncode != 0 and "must keep mobilenet-8000-s2" in wrong.stderr
    (tmp_path / "weights" / "mobilenet-8000-s2-z.keras").write_bytes(b"other")
    clash = relabel(tmp_path, "x", "mobilenet-8000-s2-z", "--reason", "r")
    assert clash.returncode != 0 and "mobilenet-8000-s2-z.keras exists" in clash.stderr
    assert (tmp_path / "x.json").exists()  # nothing moved
    (tmp_path / "teachers").mkdir()
    (tmp_path / "teachers" / "x.npz").write_bytes(b"soft labels")
    teacher = relabel(tmp_path, "x", "mobilenet-8000-s2-t", "--reason", "r")
    assert teacher.returncode != 0 and "x is a teacher" in teacher.stderr


def test_a_relabel_that_crashes_part_way_leaves_the_old_run_whole(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("relabel_run", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    config = TrainConfig(family="mobilenet", target_params=8000, seed=2, tag="a")
    old = config.run_id
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / f"{old}.keras").write_bytes(b"weights")
    write_json_atomic(tmp_path / f"{old}.json", {
        "run_id": old, "tag": "a", "family": "mobilenet", "target_params": 8000, "seed": 2,
        "settings": config.settings(), "config_hash": config.hash,
        "weights": f"weights/{old}.keras"})

    def crash(path, payload):
        raise OSError("disk full")

    monkeypatch.setattr(script, "write_json_atomic", crash)  # the new record cannot be written
    with pytest.raises(OSError, match="disk full"):
        script.relabel(old, "mobilenet-8000-s2-b", "r", tmp_path)
    assert json.loads((tmp_path / f"{old}.json").read_text())["run_id"] == old
    assert (tmp_path / "weights" / f"{old}.keras").read_bytes() == b"weights"
