"""One recipe for every model: the input pipeline, the optimiser, resumable training, scoring.

* Input: ``tf.data`` over the in-memory uint8 images, reshuffled each epoch and
  augmented per batch (horizontal flip, then by default shifts up to 10% of the
  side, rotations up to 10 degrees, zoom up to 10%); validation and test images
  never are.
* Optimiser: AdamW (or SGD with Nesterov momentum) with a linear warm-up to the
  peak learning rate, then cosine decay to zero at the last epoch; no early
  stopping (the schedule ends the run); optional label smoothing.
* Model selection on the validation split only: the weights of the epoch with
  the best validation accuracy are the ones scored.
* Resumable: Keras ``BackupAndRestore`` after every epoch, so a killed run
  restarts from its last finished epoch, and ``CSVLogger`` keeps the history.
* Scoring (``scoring.evaluate``): each split once in a single pass and once with
  test-time flip averaging (each face and its mirror image), kept side by side.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import distill, models
from .pipeline import make_dataset, make_view_dataset
from .scoring import evaluate
from ._quiet import import_keras, import_tensorflow
from .atomic import atomic_path
from .config import TrainConfig
from .data import FER2013, Split, load_fer2013
from .records import (SCORED_SPLITS, Record, results_dir, teacher_fingerprint,
                      weights_file, write_json_atomic, write_record)

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

NUM_CLASSES = models.NUM_CLASSES


def set_threads(threads: int | None) -> None:
    """Limit TensorFlow's thread pools (one sweep worker per core, say); before any op runs."""
    if threads:
        tf = import_tensorflow()
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))


def build_model(config: TrainConfig) -> tuple[keras.Model, models.Budget]:
    """The config's model under its precision policy (the global policy is restored)."""
    keras = import_keras()
    budget = models.for_budget(config.family, config.target_params)
    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        return budget.build(), budget
    finally:
        keras.mixed_precision.set_global_policy(before)


def compile_model(model: keras.Model, config: TrainConfig, steps_per_epoch: int,
                  loss: str | keras.losses.Loss = "sparse_categorical_crossentropy",
                  metrics: tuple = ("accuracy",)) -> keras.Model:
    """AdamW or SGD with Nesterov momentum, a linear warm-up from a tenth of the peak rate,
    then cosine decay to 0."""
    keras = import_keras()
    warmup = min(config.warmup_epochs, config.epochs - 1) * steps_per_epoch
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 10 if warmup else config.learning_rate,
        decay_steps=max(config.epochs * steps_per_epoch - warmup, 1),
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup)
    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True,
                                         weight_decay=config.weight_decay)
    else:
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


def smoothed_crossentropy(smoothing: float) -> keras.losses.Loss:
    """Cross-entropy against integer labels smoothed by ``smoothing`` (Keras smooths only
    one-hot labels, and the pipeline keeps integers so the accuracy metric stays sparse)."""
    keras = import_keras()
    ops = keras.ops

    class SmoothedSparseCrossentropy(keras.losses.Loss):
        def call(self, y_true, y_pred):
            one_hot = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), NUM_CLASSES)
            return keras.losses.categorical_crossentropy(
                one_hot, ops.cast(y_pred, "float32"), label_smoothing=smoothing)

    return SmoothedSparseCrossentropy(name="smoothed_crossentropy")


def read_history(csv_path: Path) -> dict[str, list[float]]:
    """The ``CSVLogger`` history across restarts: a torn last row is skipped and an
    epoch logged twice (killed between the log and the backup) keeps its last row."""
    import csv
    if not csv_path.exists():
        return {}
    by_epoch: dict[int, dict[str, float]] = {}
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                values = {k: float(v) for k, v in row.items() if k}
            except (TypeError, ValueError):
                continue
            if "epoch" in values:
                by_epoch[int(values["epoch"])] = values
    history: dict[str, list[float]] = {}
    for epoch in sorted(by_epoch):
        for key, value in by_epoch[epoch].items():
            history.setdefault(key, []).append(value)
    return history


def _callbacks(work: Path, best_so_far: float) -> list:
    """Best weights (atomically), the history, the epoch timer, then the backup: in that
    order a kill between two of them at worst re-runs an epoch."""
    keras = import_keras()
    timing = work / "timing.json"

    class BestWeights(keras.callbacks.Callback):
        """``ModelCheckpoint(save_best_only=True)`` that survives a restart and a torn write."""

        best = best_so_far

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_accuracy")
            if value is not None and value > self.best:
                self.best = value
                with atomic_path(work / "best.weights.h5", suffix=".weights.h5") as tmp:
                    self.model.save_weights(str(tmp))

    class EpochTimer(keras.callbacks.Callback):
        """One line an epoch in the notebook, and the seconds summed across restarts."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            seconds = time.perf_counter() - self.start
            write_json_atomic(timing, {"train_seconds": train_seconds(timing) + seconds})
            print(f"epoch {epoch + 1:3d}  {seconds:6.1f}s  loss {logs.get('loss', 0):.4f}  "
                  f"acc {logs.get('accuracy', 0):.4f}  val_acc {logs.get('val_accuracy', 0):.4f}",
                  flush=True)

    return [BestWeights(), keras.callbacks.CSVLogger(str(work / "history.csv"), append=True),
            EpochTimer(), keras.callbacks.BackupAndRestore(str(work / "backup"),
                                                           delete_checkpoint=False)]


def train_seconds(timing: Path) -> float:
    """Seconds of training logged so far in a run's checkpoint folder."""
    return float(json.loads(timing.read_text())["train_seconds"]) if timing.exists() else 0.0


def device_name() -> str:
    """The GPU's name, else the CPU's model and core count."""
    tf = import_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', 'unknown')}"
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {name} ({os.cpu_count()} cores)"


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _prepare_checkpoint(work: Path, stamp: str) -> None:
    """Keep a checkpoint folder only if it belongs to this very run (same stamp)."""
    path = work / "run.json"
    if path.exists() and path.read_text(encoding="utf-8") != stamp:
        shutil.rmtree(work)
    if not path.exists():
        work.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(stamp, encoding="utf-8")


def train(config: TrainConfig, data: FER2013 | None = None, out_dir: Path | None = None,
          threads: int | None = None) -> tuple[Record, keras.Model]:
    """Train one point (resuming a killed run) and write its record and model.

    The record lands at ``<out_dir>/<run_id>.json`` only when everything else has
    been written, so a crash leaves either no record or a whole one.
    """
    keras = import_keras()
    set_threads(threads)
    out_dir = Path(out_dir or results_dir())
    data = data or load_fer2013()
    work = out_dir / "checkpoints" / config.run_id
    teachers = distill.teacher_records(config.teachers, out_dir)
    teachers_print = teacher_fingerprint(teachers)
    stamp = json.dumps({"config": config.to_dict(), "data_sha256": data.sha256,
                        "teacher": teachers_print}, sort_keys=True)
    _prepare_checkpoint(work, stamp)

    train_split = data.train
    if config.limit:
        train_split = Split(train_split.images[:config.limit], train_split.labels[:config.limit])
    steps = int(np.ceil(len(train_split) / config.batch_size))
    train_targets, val_targets = train_split.labels, data.val.labels
    loss, metrics = "sparse_categorical_crossentropy", ("accuracy",)
    if config.label_smoothing:
        loss = smoothed_crossentropy(config.label_smoothing)
    train_ds = None
    if teachers:
        soft = distill.soft_labels(teachers, data, out_dir, config.teacher_views,
                                   config.shift, config.rotation, config.zoom)
        distill.teacher_scores(teachers, data, out_dir)  # the teacher's own, for the report
        n = len(train_split)
        if config.teacher_views:
            transforms = distill.view_transforms(len(data.train), config.teacher_views,
                                                 config.shift, config.rotation, config.zoom)
            train_ds = make_view_dataset(train_split.images, train_split.labels,
                                         soft["train"][:n], transforms[:n], config.batch_size,
                                         seed=config.seed)
        else:
            train_targets = distill.pack_targets(train_split.labels, soft["train"][:n])
        val_targets = distill.pack_targets(data.val.labels, soft["val"])
        loss, metrics = distill.distillation_loss(), (distill.accuracy_metric(),)

    keras.utils.set_random_seed(config.seed)
    model, budget = build_model(config)
    compile_model(model, config, steps, loss=loss, metrics=metrics)

    history_csv = work / "history.csv"
    past = read_history(history_csv)
    val_so_far = past.get("val_accuracy", [])
    if train_ds is None:  # not a distilled student on fixed views
        train_ds = make_dataset(
            train_split.images, train_targets, config.batch_size, training=True,
            augment=config.augment, seed=config.seed, shift=config.shift,
            rotation=config.rotation, zoom=config.zoom)
    val_ds = make_dataset(data.val.images, val_targets, 512, training=False)
    if len(val_so_far) < config.epochs:
        model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, verbose=0, shuffle=False,
                  callbacks=_callbacks(work, max(val_so_far, default=-1.0)))
    history = read_history(history_csv)
    model.load_weights(str(work / "best.weights.h5"))
    counts = models.param_counts(model)
    weights = weights_file(config.run_id, counts.total, out_dir)
    with atomic_path(weights, suffix=".keras") as tmp:
        model.save(tmp)
    tf = import_tensorflow()
    seconds = train_seconds(work / "timing.json")
    record = Record(
        config=config, knob=budget.knob, params=counts.total,
        trainable_params=counts.trainable, non_trainable_params=counts.non_trainable,
        macs=models.count_macs(model), epochs_run=len(history.get("epoch", [])),
        best_epoch=int(np.argmax(history["val_accuracy"])) + 1, history=history,
        train_seconds=seconds,
        images_per_second=len(history["epoch"]) * len(train_split) / max(seconds, 1e-9),
        device=device_name(),
        threads=int(threads or tf.config.threading.get_intra_op_parallelism_threads()
                    or os.cpu_count() or 1),
        versions={"tensorflow": tf.__version__, "keras": keras.__version__,
                  "git_commit": _git_commit()},
        data_sha256=data.sha256,
        scores={name: evaluate(model, data[name]) for name in SCORED_SPLITS},
        weights=str(weights.relative_to(out_dir)),
        teacher_fingerprint=teachers_print)
    write_record(record, out_dir)
    shutil.rmtree(work, ignore_errors=True)
    return record, model
