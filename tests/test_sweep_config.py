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
    for point in sweep.load_points():
        c = point.config
        # What the notebook builds when papermill passes only the point's own overrides.
        overrides = {k: v for k, v in c.settings().items()
                     if k in sweep.recipe_settings() and v != sweep.recipe_settings()[k]}
        again = sweep.config_for(c.family, c.target_params, c.seed, tag=c.tag, **overrides)
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
