"""The recipe on small slices of the real data: it learns, resumes after a kill, records."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import pipeline, records, scoring, training
from helpers.config import TrainConfig


@pytest.mark.slow
def test_three_epochs_lower_the_training_loss(real_data):
    import keras

    keras.utils.set_random_seed(0)
    images, labels = real_data.train.images[:512], real_data.train.labels[:512]
    config = TrainConfig("hw8_mobilenet", 56135, epochs=3)
    model, _ = training.build_model(config)
    training.compile_model(model, config, steps_per_epoch=16)
    fit = model.fit(pipeline.make_dataset(images, labels, 32, training=True, augment=False), shuffle=False,
                    epochs=3, verbose=0)
    assert fit.history["loss"][-1] < fit.history["loss"][0]


def test_augmentation_changes_training_batches_only(real_data):
    images, labels = real_data.val.images[:64], real_data.val.labels[:64]
    plain = next(iter(pipeline.make_dataset(images, labels, 64, training=False)))[0].numpy()
    augmented = next(iter(pipeline.make_dataset(images, labels, 64, training=True,
                                                seed=1)))[0].numpy()
    assert plain.shape == augmented.shape == (64, 48, 48, 1)
    assert np.array_equal(plain, images.astype(np.float32))
    assert not np.array_equal(plain, augmented)


@pytest.mark.slow
def test_train_writes_a_whole_record_and_its_model(small_data, tmp_path):
    import keras

    config = TrainConfig("mobilenet", 8099, epochs=2, limit=256)
    record, model = training.train(config, data=small_data, out_dir=tmp_path)
    assert records.read_record(tmp_path / "mobilenet-8099-s0.json") == record
    assert record.params == 8099 and record.knob == 0.25 and record.epochs_run == 2
    assert record.history["epoch"] == [0.0, 1.0]
    assert record.best_epoch == int(np.argmax(record.history["val_accuracy"])) + 1
    for split in records.SCORED_SPLITS:
        score = record.scores[split]
        hits = records.decode_hits(score.hits)
        assert len(hits) == score.n == len(small_data[split])
        assert score.accuracy == pytest.approx(hits.mean())
        assert np.trace(score.confusion_matrix) == hits.sum()
        assert score.flip_accuracy == pytest.approx(records.decode_hits(score.flip_hits).mean())
    # The saved model reproduces the recorded predictions.
    saved = keras.models.load_model(tmp_path / record.weights, compile=False)
    again = scoring.evaluate(saved, small_data.private)
    assert again.hits == record.scores["private"].hits
    assert not (tmp_path / "checkpoints" / config.run_id).exists()


@pytest.mark.slow
def test_a_checkpoint_of_other_settings_is_discarded(small_data, tmp_path):
    config = TrainConfig("mobilenet", 8099, epochs=1, limit=128)
    work = tmp_path / "checkpoints" / config.run_id
    work.mkdir(parents=True)
    (work / "run.json").write_text('{"config": "another run"}')
    (work / "history.csv").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n"
                                      "0,0.9,0.1,0.9,0.1\n")
    record, _ = training.train(config, data=small_data, out_dir=tmp_path)
    assert record.history["val_accuracy"] != [0.9]


KILL_SCRIPT = """
import sys
from helpers import training
from helpers.config import TrainConfig
config = TrainConfig("hw8_mobilenet", 56135, epochs=3, batch_size=64, limit=3000)
training.train(config, out_dir=sys.argv[1], threads=2)
"""


@pytest.mark.slow
def test_sigkill_mid_epoch_resumes_and_never_leaves_half_written_results(real_data_path,
                                                                      tmp_path):
    out = tmp_path / "results"
    env = {**os.environ, "FER2013_PATH": str(real_data_path)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = out / "checkpoints" / "hw8_mobilenet-56135-s0" / "history.csv"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if history.exists() and len(history.read_text().splitlines()) >= 2:
            time.sleep(1.0)  # inside epoch 2
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "hw8_mobilenet-56135-s0.json").exists(), "a killed run left a record"
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    epochs_done = len(history.read_text().splitlines()) - 1
    assert 1 <= epochs_done < 3

    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(out)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    record = json.loads((out / "hw8_mobilenet-56135-s0.json").read_text())
    assert record["epochs_run"] == 3
    assert record["history"]["epoch"] == [0.0, 1.0, 2.0]
    assert not (out / "checkpoints" / "hw8_mobilenet-56135-s0").exists()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]


def test_history_skips_cut_rows_and_keeps_the_last_of_a_repeated_epoch(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,accuracy,val_accuracy\n0,0.1,0.2\n1,0.3,0.4\n1,0.35,0.45\n2,0.5,\n")
    history = training.read_history(path)
    assert history["epoch"] == [0.0, 1.0]
    assert history["val_accuracy"] == [0.2, 0.45]


def test_schedule_warms_up_then_decays_to_zero():
    config = TrainConfig("mobilenet", 8099, epochs=10, warmup_epochs=2, learning_rate=1e-2)
    model, _ = training.build_model(config)
    training.compile_model(model, config, steps_per_epoch=10)
    lr = model.optimizer.learning_rate
    schedule = model.optimizer._learning_rate
    rates = [float(schedule(step)) for step in (0, 10, 20, 60, 100)]
    assert rates[0] == pytest.approx(1e-3)
    assert rates[2] == pytest.approx(1e-2)
    assert rates[1] < rates[2] and rates[3] < rates[2]
    assert rates[4] == pytest.approx(0.0, abs=1e-9)
    assert float(lr) >= 0


def test_sgd_takes_nesterov_momentum_and_the_same_schedule():
    config = TrainConfig("mobilenet", 8099, epochs=10, optimizer="sgd", learning_rate=0.05)
    model, _ = training.build_model(config)
    training.compile_model(model, config, steps_per_epoch=10)
    optimizer = model.optimizer
    assert type(optimizer).__name__ == "SGD" and optimizer.nesterov
    assert optimizer.momentum == pytest.approx(0.9)
    assert float(optimizer._learning_rate(20)) == pytest.approx(0.05)


def test_label_smoothing_moves_that_share_of_the_label_onto_every_class():
    import numpy as np
    loss = training.smoothed_crossentropy(0.1)
    labels = np.array([2, 0])
    certain = np.eye(7, dtype="float32")[labels]
    uniform = np.full((2, 7), 1 / 7, dtype="float32")
    # A smoothed target is 0.1/7 on every class plus 0.9 on the label: the loss of a uniform
    # guess is log 7 whatever the smoothing; a one-hot guess is penalised for the spread mass.
    assert float(loss(labels, uniform)) == pytest.approx(np.log(7), rel=1e-4)
    plain = training.smoothed_crossentropy(0.0)
    assert float(loss(labels, certain * 0.99 + 0.01 / 7)) > float(plain(labels, certain * 0.99
                                                                          + 0.01 / 7))


def test_precision_policy_is_restored_after_a_bfloat16_model():
    import keras

    model, _ = training.build_model(TrainConfig("mobilenet", 8099, precision="mixed_bfloat16"))
    assert model.layers[2].compute_dtype == "bfloat16"
    assert model.output.dtype == "float32"  # the softmax stays float32
    assert keras.mixed_precision.global_policy().name == "float32"


def test_augmentation_strength_leaves_out_the_layers_set_to_zero():
    full = [type(layer).__name__ for layer in pipeline.augmenter(0).layers]
    assert full == ["RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom"]
    light = pipeline.augmenter(0, shift=0.1, rotation=0, zoom=0)
    assert [type(layer).__name__ for layer in light.layers] == ["RandomFlip",
                                                                 "RandomTranslation"]
    with pytest.raises(ValueError, match="rotation must be a number of at least 0"):
        TrainConfig("mobilenet", 8099, rotation=-5)
