import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import models, training
from helpers.data import Split



@pytest.mark.slow  # trains, or starts a dask cluster
def test_one_epoch_on_512_real_images_lowers_the_loss(real_data):
    import keras

    keras.utils.set_random_seed(0)
    images, labels = real_data.train.images[:512], real_data.train.labels[:512]
    model = training.compile_model(models.hw8_mobilenet(), steps_per_epoch=16, epochs=1,
                                   learning_rate=3e-3)
    ds = training.make_dataset(images, labels, 32, training=False)
    before = model.evaluate(ds, verbose=0)[0]
    model.fit(training.make_dataset(images, labels, 32, training=True, augment=False),
              epochs=1, verbose=0)
    after = model.evaluate(ds, verbose=0)[0]
    assert after < before


@pytest.mark.slow  # trains, or starts a dask cluster
def test_augmentation_changes_training_batches_only(real_data):
    images, labels = real_data.val.images[:64], real_data.val.labels[:64]
    plain = next(iter(training.make_dataset(images, labels, 64, training=False)))[0].numpy()
    augmented = next(iter(training.make_dataset(images, labels, 64, training=True,
                                                seed=1)))[0].numpy()
    assert plain.shape == augmented.shape == (64, 48, 48, 1)
    assert np.array_equal(plain, images.astype(np.float32))
    assert not np.array_equal(np.sort(plain.ravel()), np.sort(augmented.ravel()))


KILL_SCRIPT = """
import sys
from helpers import training
config = training.TrainConfig(family="hw8_mobilenet", target_params=56135, seed=0,
                              epochs=3, batch_size=64, limit=int(sys.argv[2]), patience=10)
training.train(config, out_dir=sys.argv[1], threads=2)
"""


@pytest.mark.slow  # trains, or starts a dask cluster
def test_sigkill_mid_epoch_resumes_and_never_leaves_half_written_results(real_data_path,
                                                                      tmp_path):
    out = tmp_path / "results"
    env = {**os.environ, "FER2013_PATH": str(real_data_path)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(out), "3000"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = out / "checkpoints" / "hw8_mobilenet-56135-s0" / "history.csv"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if history.exists() and len(history.read_text().splitlines()) >= 2:
            time.sleep(1.0)  # well inside epoch 2
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "hw8_mobilenet-56135-s0.json").exists(), "a killed run left a result"
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]  # every temporary renamed away
    epochs_done = len(history.read_text().splitlines()) - 1
    assert 1 <= epochs_done < 3

    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(out), "3000"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    record = json.loads((out / "hw8_mobilenet-56135-s0.json").read_text())
    assert record["resumed"] is True
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


@pytest.mark.slow  # trains, or starts a dask cluster
def test_large_weights_stay_local_and_small_ones_are_kept_for_commit(real_data, tmp_path,
                                                                      monkeypatch):
    config = training.TrainConfig(family="plain_cnn", target_params=20000, epochs=1, limit=128,
                                  patience=1, tag="t")
    small, _ = training.train(config, data=real_data, out_dir=tmp_path / "small")
    assert (tmp_path / "small" / small["weights"]).is_file() and "local_weights" not in small
    monkeypatch.setattr(training, "MAX_WEIGHTS_PARAMS", 1000)
    large, _ = training.train(config, data=real_data, out_dir=tmp_path / "large")
    assert "weights" not in large
    assert large["local_weights"] == "local_weights/plain_cnn-20000-s0-t.keras"
    assert (tmp_path / "large" / large["local_weights"]).is_file()
