"""Run records: round trip, schema version, refusal of broken files, no data set inside."""

import json

import numpy as np
import pytest

from helpers import records
from helpers.config import TrainConfig
from helpers.records import Record, Score, decode_hits, encode_hits


def make_score(n=10, seed=0):
    rng = np.random.default_rng(seed)
    hits = rng.random(n) < 0.6
    cm = np.zeros((7, 7), int)
    cm[0, 0], cm[0, 1] = hits.sum(), n - hits.sum()
    return Score(accuracy=float(hits.mean()), n=n, confusion_matrix=cm.tolist(),
                 hits=encode_hits(hits), flip_accuracy=float(hits.mean()),
                 flip_hits=encode_hits(hits))


def make_record(config=None, **changes):
    config = config or TrainConfig("mobilenet", 8099, epochs=2)
    values = dict(config=config, knob=0.25, params=8099, trainable_params=7800,
                  non_trainable_params=299, macs=1_000_000, epochs_run=2, best_epoch=2,
                  history={"epoch": [0.0, 1.0], "val_accuracy": [0.2, 0.3]},
                  train_seconds=12.5, images_per_second=900.0, device="CPU: test", threads=1,
                  versions={"tensorflow": "2.21.0"}, data_sha256="abc",
                  scores={s: make_score(seed=i) for i, s in enumerate(records.SCORED_SPLITS)},
                  weights="weights/mobilenet-8099-s0.keras")
    values.update(changes)
    return Record(**values)


def test_hits_round_trip():
    hits = np.array([True, False, True, True])
    assert encode_hits(hits) == "1011"
    assert decode_hits("1011").tolist() == hits.tolist()
    with pytest.raises(ValueError):
        decode_hits("1021")


def test_record_round_trip(tmp_path):
    record = make_record()
    path = records.write_record(record, tmp_path)
    assert path == tmp_path / "mobilenet-8099-s0.json"
    assert records.read_record(path) == record
    assert records.load_records(tmp_path) == [record]
    assert json.loads(path.read_text())["schema_version"] == records.SCHEMA_VERSION


def test_record_keeps_no_labels_or_predictions(tmp_path):
    stored = json.loads(records.write_record(make_record(), tmp_path).read_text())
    for score in stored["scores"].values():
        assert set(score) == {"accuracy", "n", "confusion_matrix", "hits", "flip_accuracy",
                              "flip_hits"}
        assert set(score["hits"]) <= {"0", "1"}


def test_unknown_schema_version_is_refused_by_name(tmp_path):
    path = records.write_record(make_record(), tmp_path)
    values = json.loads(path.read_text())
    values["schema_version"] = 99
    path.write_text(json.dumps(values))
    with pytest.raises(ValueError, match=r"mobilenet-8099-s0.json: schema_version 99"):
        records.read_record(path)


@pytest.mark.parametrize("damage, message", [
    (lambda v: v.pop("macs"), r"missing field\(s\) \['macs'\]"),
    (lambda v: v["scores"].pop("private"), "scores must cover"),
    (lambda v: v["config"].update(seed=3), "does not match its config"),
    (lambda v: v["config"].update(epochs="many"), "config: epochs must be"),
])
def test_broken_records_are_refused_naming_file_and_field(tmp_path, damage, message):
    path = records.write_record(make_record(), tmp_path)
    values = json.loads(path.read_text())
    damage(values)
    path.write_text(json.dumps(values))
    with pytest.raises(ValueError, match=message):
        records.read_record(path)


def test_torn_record_is_refused_with_what_to_do(tmp_path):
    path = records.write_record(make_record(), tmp_path)
    path.write_text(path.read_text()[:50])
    with pytest.raises(ValueError, match="not a run record.*delete it"):
        records.load_records(tmp_path)


def test_a_crash_while_writing_leaves_the_old_record(tmp_path, monkeypatch):
    record = make_record()
    path = records.write_record(record, tmp_path)
    before = path.read_text()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(records.json, "dumps", explode)
    with pytest.raises(RuntimeError):
        records.write_record(make_record(train_seconds=99.0), tmp_path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_large_models_keep_their_weights_out_of_git(tmp_path):
    assert records.weights_file("a", 1_000_000, tmp_path).parent.name == "weights"
    assert records.weights_file("a", 1_000_001, tmp_path).parent.name == "local_weights"
