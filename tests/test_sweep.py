"""The sweep: papermill runs of the training notebook, what is current, failures reported."""

import json

import nbformat
import pytest

from helpers import records, sweep
from helpers.config import TrainConfig
from test_records import make_record


def quick(family="mobilenet", target=8099, **settings):
    return TrainConfig(family, target, epochs=1, limit=256, **settings)


@pytest.mark.slow
def test_a_papermill_run_leaves_record_weights_and_a_clean_notebook(real_data, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("FER2013_PATH", str(real_data.source))
    result = sweep.run_point(quick(), str(tmp_path), threads=2)
    assert result["status"] == "done", result
    record = records.read_record(tmp_path / "mobilenet-8099-s0.json")
    assert record.params == 8099 and record.scores["private"].n == 3589
    assert sum(map(sum, record.scores["public"].confusion_matrix)) == 3589
    assert (tmp_path / record.weights).exists()
    path = tmp_path / "notebooks" / "mobilenet-8099-s0.ipynb"
    notebook = nbformat.read(path, 4)
    nbformat.validate(notebook)
    text = json.dumps(notebook)
    assert "image/png" in text and "injected-parameters" in text
    assert notebook.cells[0].source.startswith("# mobilenet-8099-s0：")  # its sidebar title
    hidden = [c for c in notebook.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert {"parameters", "injected-parameters"} <= {t for c in hidden for t in c.metadata.tags}
    # The reader sees the settings, no warnings and no paths of the machine.
    assert str(tmp_path) not in text and "/work/" not in text and "site-packages" not in text
    assert "Warning" not in text and not [c for c in notebook.cells
                                          if any(o.get("name") == "stderr"
                                                 for o in c.get("outputs", []))]
    assert not list((tmp_path / "notebooks").glob(".*partial*"))


@pytest.mark.slow
def test_presenting_a_notebook_twice_changes_nothing_more(tmp_path):
    cells = [nbformat.v4.new_markdown_cell("# 訓練紀錄 · Training run\n\nOne point."),
             nbformat.v4.new_code_cell("config = 'x'", metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell("print(1)")]
    path = tmp_path / "run.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"papermill": {
        "input_path": "/work/x.md", "output_path": "/tmp/y.ipynb"}}), path)
    sweep.present(path, "plain_cnn-8271-s0")
    once = path.read_text(encoding="utf-8")
    sweep.present(path, "plain_cnn-8271-s0")
    assert path.read_text(encoding="utf-8") == once
    notebook = nbformat.read(path, 4)
    assert notebook.cells[0].source == "# plain_cnn-8271-s0：訓練紀錄 · Training run\n\nOne point."
    assert notebook.cells[1].metadata.tags == ["parameters", "remove-cell"]
    assert "tags" not in notebook.cells[2].metadata
    assert "/work/" not in once and "/tmp/" not in once


def test_a_failing_point_is_reported_and_the_others_finish(real_data, tmp_path, monkeypatch):
    monkeypatch.setenv("FER2013_PATH", str(real_data.source))
    orphan = quick("hw8_mobilenet", 56135, teacher="hw3_cnn-4746471-s0", ablation="distilled")
    good = quick()
    results = sweep.run_sweep([orphan, good], tmp_path, workers=1, threads=2)
    by_id = {r["run_id"]: r for r in results}
    failed = by_id[orphan.run_id]
    assert failed["status"] == "failed" and "has no result" in failed["error"]
    assert (tmp_path / "failed" / f"{orphan.run_id}.ipynb").exists()
    assert by_id[good.run_id]["status"] == "done"
    assert sweep.pending([good, orphan], tmp_path) == [orphan]


def test_a_student_fails_unrun_when_its_teacher_failed(tmp_path):
    student = quick("hw8_mobilenet", 56135, teacher="t", ablation="distilled")
    result = sweep.run_point(student, str(tmp_path), None, {"run_id": "t", "status": "done"},
                             {"run_id": "u", "status": "failed"})
    assert result["status"] == "failed" and "teacher u did not finish" in result["error"]
    assert not (tmp_path / "notebooks").exists()


def test_a_record_is_current_only_with_the_same_config(tmp_path):
    config = TrainConfig("mobilenet", 8099, epochs=2)
    records.write_record(make_record(config), tmp_path)
    assert sweep.pending([config], tmp_path) == []
    longer = TrainConfig("mobilenet", 8099, epochs=3)
    assert sweep.pending([longer], tmp_path) == [longer]


def test_an_unreadable_record_is_moved_aside_and_its_point_trained_again(tmp_path, capsys):
    config = TrainConfig("mobilenet", 8099, epochs=2)
    path = records.write_record(make_record(config), tmp_path)
    path.write_text('{"schema_version": ')
    assert sweep.pending([config], tmp_path) == [config]
    kept = tmp_path / "mobilenet-8099-s0.json.unreadable"
    assert kept.read_text() == '{"schema_version": ' and not path.exists()
    assert "moved to mobilenet-8099-s0.json.unreadable" in capsys.readouterr().err


def test_a_student_is_trained_again_after_its_teacher(tmp_path):
    teacher = TrainConfig("mobilenet", 8099, epochs=2)
    student = TrainConfig("mobilenet", 19767, epochs=2, teacher=teacher.run_id,
                          ablation="distilled")
    taught = make_record(teacher)
    records.write_record(taught, tmp_path)
    records.write_record(make_record(student, knob=0.5, params=19767,
                                     teacher_fingerprint=records.fingerprint(taught)), tmp_path)
    assert sweep.pending([teacher, student], tmp_path) == []
    # The teacher trained again: another record, another fingerprint; file times play no part.
    records.write_record(make_record(teacher, train_seconds=99.0), tmp_path)
    assert sweep.pending([teacher, student], tmp_path) == [student]
    # A teacher that is itself pending retrains its student after it.
    (tmp_path / f"{teacher.run_id}.json").unlink()
    assert sweep.pending([teacher, student], tmp_path) == [teacher, student]


def test_a_dry_run_leaves_an_unreadable_record_in_place(tmp_path, capsys):
    config = TrainConfig("mobilenet", 8099, epochs=2)
    path = tmp_path / f"{config.run_id}.json"
    path.write_text('{"schema_version": ')
    assert sweep.pending([config], tmp_path, move_aside=False) == [config]
    assert path.read_text() == '{"schema_version": '
    assert not path.with_name(path.name + ".unreadable").exists()
    assert config.run_id in capsys.readouterr().err


def test_dry_run_lists_done_and_todo(tmp_path, capsys):
    plan = tmp_path / "sweep.yml"
    plan.write_text("defaults: {epochs: 2}\npoints:\n"
                    "  - {family: mobilenet, targets: [8099, 19767]}\n")
    records.write_record(make_record(TrainConfig("mobilenet", 8099, epochs=2)), tmp_path)
    code = sweep.main(["--plan", str(plan), "--out", str(tmp_path), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "done  mobilenet-8099-s0" in out and "todo  mobilenet-19767-s0" in out
    assert "1 done, 1 to train" in out


def test_only_that_matches_nothing_and_bad_workers_are_refused(tmp_path, capsys):
    assert sweep.main(["--out", str(tmp_path), "--only", "resnet-*", "--dry-run"]) == 2
    assert "matches no point" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sweep.main(["--workers", "0", "--dry-run"])
    assert "--workers must be at least 1" in capsys.readouterr().err


def test_missing_data_is_reported_before_any_worker_starts(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FER2013_PATH", str(tmp_path / "nowhere.csv"))
    plan = tmp_path / "sweep.yml"
    plan.write_text("points:\n  - {family: mobilenet, targets: [8099]}\n")
    assert sweep.main(["--plan", str(plan), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "nowhere.csv" in err and "kaggle" in err.lower()
