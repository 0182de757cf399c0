import json
from pathlib import Path

import nbformat
import pytest

from helpers import report, sweep, training
from helpers.results import decode_classes, encode_classes, write_json_atomic
from helpers.training import TrainConfig


RECORD_FIELDS = {
    "family", "width", "params", "macs", "seed", "settings", "epochs_run", "best_epoch",
    "val_accuracy", "public_accuracy", "private_accuracy", "scores", "history",
    "train_seconds", "images_per_second", "device", "tensorflow", "keras", "git_commit",
    "data_sha256", "config_hash",
}


def quick_point(family="hw8_mobilenet", target=56135, seed=0, limit=256):
    return sweep.Point(TrainConfig(family=family, target_params=target, seed=seed, epochs=1,
                                   limit=limit, patience=1, tag="quick"))


@pytest.mark.slow  # trains, or starts a dask cluster
def test_quick_papermill_run_records_everything(real_data_path, real_data, tmp_path):
    result = sweep.run_point(quick_point(), str(tmp_path), str(real_data_path), threads=2)
    assert result["status"] == "done", result
    record = json.loads((tmp_path / "hw8_mobilenet-56135-s0-quick.json").read_text())
    assert RECORD_FIELDS <= set(record)
    assert record["params"] == {"total": 56135, "trainable": 54903, "non_trainable": 1232}
    assert record["train_images"] == 256 and record["epochs_run"] == 1
    assert record["scores"]["private"]["n"] == 3589
    assert sum(map(sum, record["scores"]["public"]["confusion_matrix"])) == 3589
    predictions = decode_classes(record["scores"]["private"]["predictions"])
    assert record["private_accuracy"] == pytest.approx(
        (predictions == real_data.private.labels).mean())
    assert (tmp_path / "weights" / "hw8_mobilenet-56135-s0-quick.keras").exists()
    notebook = nbformat.read(tmp_path / "notebooks" / "hw8_mobilenet-56135-s0-quick.ipynb", 4)
    text = json.dumps(notebook)
    assert "Total params" in text and "image/png" in text
    assert "injected-parameters" in text
    intro = notebook.cells[0].source  # the template's placeholders filled in from the record
    assert intro.startswith("# hw8_mobilenet-56135-s0-quick ·") and "56,135 parameters" in intro
    assert notebook.cells[1].cell_type == "code"  # today's template, not resumed: nothing to note
    predictions = decode_classes(record["scores"]["private"]["predictions"])
    assert (predictions == real_data.private.labels).mean() == record["private_accuracy"]

    flipped = decode_classes(record["scores"]["private"]["flip"]["predictions"])
    assert record["scores"]["private"]["flip"]["accuracy"] == pytest.approx(
        (flipped == real_data.private.labels).mean())

    # A record from before predictions and flip scores were kept gets them back from its weights.
    path = tmp_path / "hw8_mobilenet-56135-s0-quick.json"
    for name in report.SCORED_SPLITS:
        del record["scores"][name]["predictions"]
        del record["scores"][name]["flip"]
    write_json_atomic(path, record)
    assert training.backfill_scores(tmp_path, real_data) == {
        "updated": ["hw8_mobilenet-56135-s0-quick"], "skipped": []}
    again = json.loads(path.read_text())
    assert decode_classes(again["scores"]["private"]["predictions"]).tolist() == predictions.tolist()
    assert decode_classes(again["scores"]["private"]["flip"]["predictions"]).tolist() == \
        flipped.tolist()
    labels = report.dataset_summary(tmp_path)["labels"]["private"]
    assert decode_classes(labels).tolist() == real_data.private.labels.tolist()
    assert training.backfill_scores(tmp_path, real_data) == {"updated": [], "skipped": []}

    # Predictions kept but no flip scores: they are added, and the predictions must match.
    for name in report.SCORED_SPLITS:
        del again["scores"][name]["flip"]
    # Swap two predictions of images with the same label: the confusion matrix stays the same.
    truth, tampered = real_data.private.labels, predictions.copy()
    pairs = [(i, j) for i in range(200) for j in range(i + 1, 200)
             if truth[i] == truth[j] and tampered[i] != tampered[j]]
    i, j = pairs[0] if pairs else (0, 0)
    tampered[[i, j]] = tampered[[j, i]] if pairs else (tampered[[i, j]] + 1) % 7
    write_json_atomic(path, {**again, "scores": {
        **again["scores"], "private": {**again["scores"]["private"],
                                       "predictions": encode_classes(tampered)}}})
    with pytest.raises(RuntimeError, match="hw8_mobilenet-56135-s0-quick"):
        training.backfill_scores(tmp_path, real_data)
    assert "flip" not in json.loads(path.read_text())["scores"]["val"]  # left unchanged
    write_json_atomic(path, again)
    assert training.backfill_scores(tmp_path, real_data)["updated"] == [
        "hw8_mobilenet-56135-s0-quick"]
    assert json.loads(path.read_text())["scores"]["private"]["flip"]["predictions"] == \
        encode_classes(flipped)

    # Another data file, or a record without weights: refused or named, nothing written.
    del again["scores"]["val"]["predictions"]
    write_json_atomic(path, {**again, "data_sha256": "0" * 64})
    with pytest.raises(ValueError, match="trained on another file"):
        training.backfill_scores(tmp_path, real_data)
    write_json_atomic(path, {**again, "weights": None})
    assert training.backfill_scores(tmp_path, real_data)["skipped"] == [
        "hw8_mobilenet-56135-s0-quick"]


@pytest.mark.slow  # trains, or starts a dask cluster
def test_sweep_reports_an_impossible_point_and_finishes_the_others(real_data_path, tmp_path):
    good = quick_point(family="mobilenet", target=8000)
    impossible = quick_point(family="plain_cnn", target=10**12)
    summary = sweep.run_sweep([impossible, good], tmp_path, workers=1, threads=2,
                              data_path=str(real_data_path))
    by_id = {r["run_id"]: r for r in summary}
    failed = by_id[impossible.run_id]
    assert failed["status"] == "failed"
    assert "outside the reach" in failed["error"]
    assert Path(failed["notebook"]).exists()
    assert by_id[good.run_id]["status"] == "done"
    assert "failed" in sweep.format_summary(summary)

    done = tmp_path / f"{good.run_id}.json"
    stamp = done.stat().st_mtime_ns
    again = sweep.run_sweep([good], tmp_path, workers=1, threads=2, data_path=str(real_data_path))
    assert again == [{"run_id": good.run_id, "status": "skipped (done)"}]
    assert done.stat().st_mtime_ns == stamp


def test_changed_settings_make_a_point_current_again(tmp_path):
    point = quick_point()
    (tmp_path / f"{point.run_id}.json").write_text(json.dumps({"config_hash": point.config.hash}))
    assert sweep.is_done(point, tmp_path)
    changed = quick_point(limit=512)
    assert not sweep.is_done(changed, tmp_path)
    (tmp_path / f"{point.run_id}.json").write_text('{"config_hash": ')  # cut short by hand
    with pytest.warns(UserWarning, match=rf"{point.run_id}\.json: not a readable run record"):
        assert not sweep.is_done(point, tmp_path)
    # Before training it again, the sweep keeps the broken file out of the way, whole.
    record = tmp_path / f"{point.run_id}.json"
    kept = sweep.set_aside_unreadable(record)
    assert kept == tmp_path / f"{point.run_id}.json.unreadable" and not record.exists()
    assert kept.read_text() == '{"config_hash": '
    write_json_atomic(record, {"config_hash": "x"})
    assert sweep.set_aside_unreadable(record) is None and record.exists()  # readable: untouched


def test_sweep_file_expands_and_validates(tmp_path):
    spec = tmp_path / "sweep.yml"
    spec.write_text("defaults: {epochs: 5}\npoints:\n"
                    "  - {family: mobilenet, targets: [8000, 20000], seeds: [0, 1]}\n")
    points = sweep.load_points(spec)
    assert [p.run_id for p in points] == ["mobilenet-8000-s0", "mobilenet-8000-s1",
                                         "mobilenet-20000-s0", "mobilenet-20000-s1"]
    assert all(p.config.epochs == 5 for p in points)
    quick = sweep.load_points(spec, quick=True)
    assert all(p.config.limit == 256 and p.run_id.endswith("-quick") for p in quick)
    spec.write_text("points:\n  - {family: mobilenet, targets: [8000], seeds: [0], "
                    "settings: {epoch: 3}}\n")
    with pytest.raises(ValueError, match="point 1: unknown setting"):
        sweep.load_points(spec)
    spec.write_text("points:\n  - {family: mobilenet, targets: [8000], seeds: [0], "
                    "settings: {learning_rate: 3e-3, epochs: 2.5}}\n")
    with pytest.raises(ValueError, match="point 1: setting 'epochs': expected a whole number"):
        sweep.load_points(spec)
    spec.write_text("points:\n  - {family: mobilenet, targets: [8000], seeds: [0], "
                    "settings: {learning_rate: 3e-3}}\n")  # YAML reads 3e-3 as text
    assert sweep.load_points(spec)[0].config.learning_rate == 0.003


def test_project_sweep_file_has_the_required_points():
    ids = {p.run_id for p in sweep.load_points()}
    for required in ("hw8_mobilenet-56135-s0", "hw3_cnn-4746471-s0", "plain_cnn-42167-s2",
                     "mobilenet-42167-s2", "plain_cnn-56135-s1", "mobilenet-8000-s0",
                     "mobilenet-1500000-s0", "plain_cnn-1500000-s0"):
        assert required in ids


def test_dry_run_lists_points(capsys, tmp_path):
    assert sweep.main(["--dry-run", "--only", "hw3_cnn-*", "--out-dir", str(tmp_path)]) == 0
    assert "todo  hw3_cnn-4746471-s0" in capsys.readouterr().out


EVENTS: list = []  # what fake_run_point saw, in order (in-process dask workers)


def fake_run_point(point, out_dir, data_path=None, threads=None, after=None):
    import time

    EVENTS.append(("start", point.run_id, after and after["run_id"]))
    if point.config.tag == "teacher":
        time.sleep(1.0)
    EVENTS.append(("end", point.run_id, None))
    return {"run_id": point.run_id, "status": "done"}


@pytest.mark.slow  # trains, or starts a dask cluster
def test_a_student_waits_for_its_teacher_and_fails_with_it(monkeypatch, tmp_path):
    from dask.distributed import LocalCluster

    EVENTS.clear()
    events = EVENTS
    monkeypatch.setattr(sweep, "run_point", fake_run_point)
    small = dict(family="plain_cnn", target_params=20000, epochs=1)
    teacher = TrainConfig(**small, tag="teacher")
    points = [sweep.Point(teacher),
              sweep.Point(TrainConfig(**small, seed=1, tag="student", teacher=teacher.run_id))]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        summary = sweep.run_sweep(points, tmp_path, scheduler=cluster.scheduler_address)
    assert [r["status"] for r in summary] == ["done", "done"]
    order = [(kind, rid) for kind, rid, _ in events]
    assert order.index(("end", teacher.run_id)) < order.index(("start", points[1].run_id))
    assert ("start", points[1].run_id, teacher.run_id) in events

    # The real run_point refuses to train a student whose teacher failed.
    monkeypatch.undo()
    failed = sweep.run_point(points[1], str(tmp_path),
                             after={"run_id": teacher.run_id, "status": "failed", "error": "boom"})
    assert failed["status"] == "failed"
    assert failed["error"] == f"its teacher {teacher.run_id} did not finish: boom"


def test_a_teacher_must_be_listed_before_its_students(tmp_path):
    sweep_file = tmp_path / "sweep.yml"
    sweep_file.write_text("points:\n"
                          "  - {family: plain_cnn, targets: [20000], seeds: [1],\n"
                          "     settings: {teacher: plain_cnn-20000-s0}}\n"
                          "  - {family: plain_cnn, targets: [20000], seeds: [0]}\n")
    with pytest.raises(ValueError, match="plain_cnn-20000-s1 learns from plain_cnn-20000-s0, "
                                         "which is listed after it"):
        sweep.load_points(sweep_file)


@pytest.mark.slow  # trains, or starts a dask cluster
def test_a_student_is_current_only_with_the_teacher_it_learned_from(monkeypatch, tmp_path):
    from dask.distributed import LocalCluster

    small = dict(family="plain_cnn", target_params=20000, epochs=1)
    teacher = TrainConfig(**small, tag="teacher")
    student = TrainConfig(**small, seed=1, tag="student", teacher=teacher.run_id)
    write_json_atomic(tmp_path / f"{teacher.run_id}.json",
                      {"run_id": teacher.run_id, "config_hash": teacher.hash})
    write_json_atomic(tmp_path / f"{student.run_id}.json",
                      {"run_id": student.run_id, "config_hash": student.hash,
                       "teacher_config_hash": teacher.hash})
    assert sweep.is_done(sweep.Point(student), tmp_path)
    write_json_atomic(tmp_path / f"{teacher.run_id}.json",
                      {"run_id": teacher.run_id, "config_hash": "retrained"})
    assert not sweep.is_done(sweep.Point(student), tmp_path)

    # A teacher that the sweep trains again takes its (finished) students with it.
    write_json_atomic(tmp_path / f"{teacher.run_id}.json",
                      {"run_id": teacher.run_id, "config_hash": teacher.hash})
    stale_teacher = TrainConfig(**{**small, "epochs": 2}, tag="teacher")
    EVENTS.clear()
    monkeypatch.setattr(sweep, "run_point", fake_run_point)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        summary = sweep.run_sweep([sweep.Point(stale_teacher), sweep.Point(student)], tmp_path,
                                  scheduler=cluster.scheduler_address)
    assert sorted(r["run_id"] for r in summary if r["status"] == "done") == sorted(
        [teacher.run_id, student.run_id])


def test_bad_settings_name_the_sweep_file_and_point(tmp_path):
    sweep_file = tmp_path / "sweep.yml"
    sweep_file.write_text("points:\n  - {family: plain_cnn, targets: [20000], seeds: [0]}\n"
                          "  - {family: plain_cnn, targets: [20000], seeds: [1],\n"
                          "     settings: {precision: float16}}\n")
    with pytest.raises(ValueError, match=r"sweep.yml: point 2: precision must be one of"):
        sweep.load_points(sweep_file)
    sweep_file.write_text("points:\n  - {family: plain_cnn, targets: [20000], seeds: [0],\n"
                          "     settings: {teacher: plain_cnn-20000-s0}}\n")
    with pytest.raises(ValueError, match="plain_cnn-20000-s0 names itself as its teacher"):
        sweep.load_points(sweep_file)
