"""The one list of settings and the plan in sweep.yml."""

import json

import pytest

from helpers import config
from helpers.config import TrainConfig, load_plan, resolve
from helpers.models import for_budget


def write_plan(tmp_path, text):
    path = tmp_path / "sweep.yml"
    path.write_text(text)
    return path


def test_the_study_plan_loads_and_every_target_is_an_exact_count():
    plan = load_plan()
    ids = [c.run_id for c in plan]
    assert len(ids) == len(set(ids))
    for c in plan:
        assert for_budget(c.family, c.target_params).params == c.target_params, c.run_id
    # Q1: three seeds of the HW8 MobileNet and the HW3 CNN as listed.
    hw8 = [c for c in plan if c.family == "hw8_mobilenet" and not c.ablation]
    assert sorted(c.seed for c in hw8) == [0, 1, 2]
    assert any(c.family == "hw3_cnn" for c in plan)
    # Ablations are named, and a student is listed after its teacher.
    students = [c for c in plan if c.teacher]
    assert students and all(c.ablation for c in students)
    for c in students:
        assert all(ids.index(t) < ids.index(c.run_id) for t in c.teachers), c.run_id


def test_defaults_and_settings_merge_and_expand(tmp_path):
    path = write_plan(tmp_path, """
defaults: {epochs: 3, learning_rate: 0.01}
points:
  - {family: mobilenet, targets: [8099, 19767], seeds: [0, 1]}
  - {family: hw8_mobilenet, targets: [56135], settings: {epochs: 7, ablation: long}}
""")
    plan = load_plan(path)
    assert [c.run_id for c in plan] == [
        "mobilenet-8099-s0", "mobilenet-8099-s1", "mobilenet-19767-s0", "mobilenet-19767-s1",
        "hw8_mobilenet-56135-s0-long"]
    assert plan[0].epochs == 3 and plan[0].learning_rate == 0.01
    assert plan[-1].epochs == 7


@pytest.mark.parametrize("text, message", [
    ("points:\n  - {family: mobilenet, targets: [8099], settings: {epochs: 2.5}}",
     r"point 1: epochs must be a whole number"),
    ("points:\n  - {family: mobilenet, targets: [8099], settings: {patience: 6}}",
     r"point 1: unknown setting\(s\) \['patience'\]"),
    ("points:\n  - {family: resnet, targets: [8099]}", r"point 1: family must be one of"),
    ("points:\n  - {family: mobilenet, targets: 8099}", r"point 1: 'targets' and 'seeds'"),
    ("points:\n  - {family: mobilenet, targets: [8099], seeds: []}", r"point 1: 'targets' and 'seeds'"),
    ("points:\n  - {family: mobilenet, targets: [8099]}\n  - {family: mobilenet, targets: [8099]}",
     r"point 2: mobilenet-8099-s0 is listed twice"),
    ("points:\n  - {family: mobilenet, targets: [8099], settings: {teacher: hw3_cnn-1-s0}}",
     r"teacher 'hw3_cnn-1-s0' is not a point"),
    ("points: [", r"not valid YAML"),
    ("defaults: {}", r"'points' list"),
])
def test_bad_plans_are_refused_naming_the_entry(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_plan(write_plan(tmp_path, text))


def test_missing_plan_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no plan at"):
        load_plan(tmp_path / "nope.yml")


def test_resolve_takes_a_run_id_or_json():
    plan = [TrainConfig("mobilenet", 8099, seed=1)]
    assert resolve("mobilenet-8099-s1", plan) == plan[0]
    as_json = TrainConfig("plain_cnn", 8271, epochs=2, limit=64)
    assert resolve(as_json.to_json()) == as_json
    assert json.loads(as_json.to_json())["limit"] == 64
    with pytest.raises(ValueError, match="not a point of"):
        resolve("mobilenet-8099-s9", plan)
    with pytest.raises(ValueError, match="not valid JSON"):
        resolve("{oops")
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['width'\]"):
        resolve('{"family": "mobilenet", "target_params": 8099, "width": 2}')


@pytest.mark.parametrize("change, message", [
    ({"seed": -1}, "seed"), ({"learning_rate": 0}, "learning_rate"),
    ({"precision": "float16"}, "precision"), ({"augment": "yes"}, "augment"),
    ({"limit": 0}, "limit"), ({"ablation": "two words"}, "ablation"),
    ({"batch_size": True}, "batch_size"), ({"optimizer": "adam"}, "optimizer"),
    ({"label_smoothing": 1.0}, "label_smoothing"), ({"label_smoothing": -0.1}, "label_smoothing"),
    ({"label_smoothing": 0.1, "teacher": "hw3_cnn-4746471-s0"}, "label_smoothing and teacher"),
])
def test_bad_settings_are_refused_by_name(change, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{"family": "mobilenet", "target_params": 8099, **change})


def test_run_id_names_the_ablation():
    assert TrainConfig("hw8_mobilenet", 56135, ablation="long").run_id == \
        "hw8_mobilenet-56135-s0-long"


def test_sweep_file_follows_the_environment(tmp_path, monkeypatch):
    path = write_plan(tmp_path, "points:\n  - {family: mobilenet, targets: [8099]}")
    monkeypatch.setenv("FER_SWEEP_FILE", str(path))
    assert config.sweep_file() == path
    assert [c.run_id for c in load_plan()] == ["mobilenet-8099-s0"]


def test_a_run_id_reads_back_into_its_parts():
    from helpers.config import RunId, parse_run_id
    for config in (TrainConfig("hw8_mobilenet", 56135, seed=2, ablation="recipe_distilled"),
                   TrainConfig("plain_cnn", 644437)):
        assert parse_run_id(config.run_id) == RunId(config.family, config.target_params,
                                                    config.seed, config.ablation)
    for wrong in ("mobilenet-8099", "resnet-100-s0", "mobilenet-8099-sx"):
        with pytest.raises(ValueError, match=f"'{wrong}' is not a run id"):
            parse_run_id(wrong)
