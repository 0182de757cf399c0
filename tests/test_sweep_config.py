"""The sweep's points and a notebook rerun by hand must agree on settings."""

import dataclasses

import pytest

from helpers import sweep
from helpers.training import TrainConfig


def test_train_config_defaults_are_the_sweep_recipe():
    fields = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    recipe = sweep.recipe_settings()
    assert recipe, "sweep.yml has no defaults"
    assert {k: fields[k] for k in recipe} == recipe


def test_a_hand_rerun_gets_the_sweeps_config_hash():
    points = sweep.load_points()
    assert any(p.config.tag for p in points), "sweep.yml has no tagged point to check"
    for point in points:
        c = point.config
        # What the notebook builds when papermill passes only the point's identity.
        again = sweep.config_for(c.family, c.target_params, c.seed, tag=c.tag)
        assert again == c, point.run_id
        assert again.hash == c.hash


def test_config_for_fills_only_what_is_not_given(tmp_path):
    sweep_file = tmp_path / "sweep.yml"
    sweep_file.write_text("defaults: {epochs: 7, learning_rate: 0.01, patience: 2}\npoints: []\n")
    config = sweep.config_for("mobilenet", "8000", "1", sweep_file=sweep_file,
                              epochs=None, patience="3", tag="x")
    assert (config.epochs, config.patience, config.learning_rate) == (7, 3, 0.01)
    assert (config.target_params, config.seed, config.tag) == (8000, 1, "x")
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['epoch'\]"):
        sweep.config_for("mobilenet", 8000, sweep_file=sweep_file, epoch=3)


def test_config_for_starts_from_the_listed_point_and_parses_command_line_strings(tmp_path):
    sweep_file = tmp_path / "sweep.yml"
    sweep_file.write_text("defaults: {epochs: 7, patience: 2}\npoints:\n"
                          "  - {family: mobilenet, targets: [8000], seeds: [0],\n"
                          "     settings: {epochs: 20, tag: long}}\n")
    long = sweep.config_for("mobilenet", 8000, 0, sweep_file=sweep_file, tag="long")
    assert (long.epochs, long.patience, long.run_id) == (20, 2, "mobilenet-8000-s0-long")
    assert sweep.config_for("mobilenet", 8000, 0, sweep_file=sweep_file).epochs == 7
    typed = sweep.config_for("mobilenet", 8000, sweep_file=sweep_file, limit="256",
                             augment="False")
    assert typed.limit == 256 and typed.augment is False
    with pytest.raises(ValueError, match="expected a boolean"):
        sweep.config_for("mobilenet", 8000, sweep_file=sweep_file, augment="maybe")
