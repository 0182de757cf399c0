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
    with pytest.raises(ValueError, match="setting 'augment'.*expected a boolean"):
        sweep.config_for("mobilenet", 8000, sweep_file=sweep_file, augment="maybe")
    with pytest.raises(ValueError, match="setting 'epochs': expected a whole number, got 'abc'"):
        sweep.config_for("mobilenet", 8000, sweep_file=sweep_file, epochs="abc")
    with pytest.raises(ValueError, match="setting 'epochs': expected a whole number, got 2.5"):
        sweep.config_for("mobilenet", 8000, sweep_file=sweep_file, epochs=2.5)
    with pytest.raises(ValueError, match="setting 'seed': expected a whole number, got 'one'"):
        sweep.config_for("mobilenet", 8000, "one", sweep_file=sweep_file)


def test_committed_results_keep_their_config_hash():
    """A new setting with a default must not turn every finished result stale."""
    from helpers.results import load_records, results_dir

    records = [r for r in load_records(results_dir()) if "config_hash" in r]
    assert records, "no committed results to check"
    for record in records:
        config = TrainConfig(tag=record["tag"], **record["settings"])
        assert config.hash == record["config_hash"], record["run_id"]


def test_precision_is_checked_and_read_from_the_sweep(tmp_path):
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="float16")
    sweep_file = tmp_path / "sweep.yml"
    sweep_file.write_text("defaults: {epochs: 3}\npoints:\n"
                          "  - {family: hw3_cnn, targets: [4746471], seeds: [0],\n"
                          "     settings: {precision: mixed_bfloat16}}\n")
    config = sweep.config_for("hw3_cnn", 4746471, 0, sweep_file=sweep_file)
    assert config.precision == "mixed_bfloat16" and config.settings()["precision"] == "mixed_bfloat16"
    assert "precision" not in sweep.config_for("plain_cnn", 20000, 0, sweep_file=sweep_file).settings()
    with pytest.raises(ValueError, match="precision"):
        sweep.config_for("plain_cnn", 20000, 0, sweep_file=sweep_file, precision="half")


def test_own_settings_lists_only_what_departs_from_the_defaults(tmp_path):
    sweep_file = tmp_path / "sweep.yml"
    sweep_file.write_text("defaults: {epochs: 3, patience: 2}\npoints:\n"
                          "  - {family: plain_cnn, targets: [20000], seeds: [0, 1]}\n"
                          "  - {family: plain_cnn, targets: [20000], seeds: [0],\n"
                          "     settings: {epochs: 6, tag: long}}\n"
                          "  - {family: hw3_cnn, targets: [4746471], seeds: [0],\n"
                          "     settings: {precision: mixed_bfloat16, patience: 2}}\n")
    assert sweep.own_settings(sweep_file) == {
        "plain_cnn-20000-s0-long": {"epochs": 6},
        "hw3_cnn-4746471-s0": {"precision": "mixed_bfloat16"},
    }


def test_a_run_that_early_stopping_never_cut_is_a_result_of_a_longer_patience():
    now = TrainConfig(family="mobilenet", target_params=8000, epochs=30, patience=30)
    then = dataclasses.replace(now, patience=6)
    record = {"config_hash": then.hash, "epochs_run": 30, "settings": then.settings()}
    assert now.is_result(record) and then.is_result(record)
    assert not now.is_result({**record, "epochs_run": 18})  # patience 6 cut it short
    longer = dataclasses.replace(now, patience=40)  # it could have stopped where 40 would not
    assert not then.is_result({"config_hash": longer.hash, "epochs_run": 30,
                               "settings": longer.settings()})
    other = dataclasses.replace(then, learning_rate=1e-3)
    assert not now.is_result({"config_hash": other.hash, "epochs_run": 30,
                              "settings": other.settings()})


def test_a_checkpoint_of_a_shorter_patience_resumes_but_not_other_settings():
    from helpers.training import checkpoint_resumes

    now = TrainConfig(family="hw3_cnn", target_params=4746471, patience=30)
    assert checkpoint_resumes(dataclasses.replace(now, patience=6).hash, now)
    assert not checkpoint_resumes(dataclasses.replace(now, epochs=60).hash, now)
    assert not checkpoint_resumes(dataclasses.replace(now, patience=31).hash, now)
    shortest = dataclasses.replace(now, patience=1)
    assert checkpoint_resumes(shortest.hash, shortest)
    assert not now.is_result({"config_hash": now.hash.upper(), "settings": {}})
    stamp = f"{now.hash} teacher abc"
    assert checkpoint_resumes(stamp, now, "abc") and not checkpoint_resumes(stamp, now, "def")


def test_every_committed_point_of_the_sweep_is_current_or_listed_to_train():
    """The recipe change to patience 30 kept the runs it could not have changed."""
    from helpers.results import results_dir

    points = sweep.load_points()
    done = {p.run_id for p in points if sweep.is_done(p, results_dir())}
    assert {"hw8_mobilenet-56135-s0", "plain_cnn-42167-s0", "mobilenet-42167-s2",
            "mobilenet-42167-s2-stop6"} <= done


@pytest.mark.parametrize("setting, value, expected", [
    ("family", "mobilnet", "family must be one of"),
    ("epochs", 0, "epochs must be a whole number of at least 1, got 0"),
    ("batch_size", 0, "batch_size must be a whole number of at least 1"),
    ("patience", 0, "patience must be a whole number of at least 1"),
    ("limit", 0, "limit must be empty .* or at least 1, got 0"),
    ("learning_rate", 0.0, "learning_rate must be a number above 0"),
    ("target_params", -5, "target_params must be a whole number"),
    ("epochs", 2.5, "epochs must be a whole number"),
])
def test_a_setting_out_of_range_is_refused_by_name(setting, value, expected):
    with pytest.raises(ValueError, match=expected):
        TrainConfig(**{setting: value})


def test_the_command_line_refuses_what_would_run_nothing_or_hang(capsys, tmp_path):
    with pytest.raises(SystemExit):
        sweep.main(["--dry-run", "--only", "mobilenet-8000-s9", "--out-dir", str(tmp_path)])
    assert "--only mobilenet-8000-s9: matches no point" in capsys.readouterr().err
    for option in ("--workers", "--threads"):
        with pytest.raises(SystemExit):
            sweep.main(["--dry-run", option, "0", "--out-dir", str(tmp_path)])
        assert "expected a whole number of at least 1, got '0'" in capsys.readouterr().err


def test_a_sweep_without_the_data_says_where_to_get_it_before_starting(capsys, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setattr(sweep, "run_sweep", lambda *a, **k: pytest.fail("must not start"))
    code = sweep.main(["--only", "mobilenet-8000-s0", "--out-dir", str(tmp_path),
                       "--data-path", str(tmp_path / "none.csv")])
    assert code == 2
    error = capsys.readouterr().err
    assert "FER2013 not found" in error and "Kaggle" in error and "none.csv" in error


def test_a_failed_notebook_is_reported_by_its_error_and_first_line():
    from papermill.exceptions import PapermillExecutionError

    exc = PapermillExecutionError(cell_index=3, exec_count=3, source="", ename="FileNotFoundError",
                                  evalue="FER2013 not found.\nDownload it.\nThe book does not need it.",
                                  traceback=[])
    assert sweep._error_line(exc) == "FileNotFoundError: FER2013 not found."
    assert sweep._error_line(KeyboardInterrupt()) == "KeyboardInterrupt"
