"""One training recipe for every family, resumable, with a full record.

Recipe (the same for all models, so the comparison is fair):

* input: ``tf.data`` from in-memory uint8 arrays, shuffled each epoch, batched,
  augmented per batch on the fly: horizontal flip, shifts of up to 10% of the
  side, rotations of up to ±10°, zoom of up to ±10% (Keras preprocessing
  layers); validation and test data are never augmented;
* optimiser: AdamW (weight decay 1e-4) with a linear warm-up of two epochs to
  the peak learning rate, then cosine decay to zero at ``epochs``;
* early stopping on the *validation* split only (``patience`` epochs without a
  better val accuracy); the best-val-accuracy weights are kept and evaluated.
  The patience (30) is as long as the schedule: with a cosine decay the
  validation accuracy is noisy while the learning rate is high and climbs in the
  low-rate tail, and a patience of 6 cut runs at mid-schedule (a recipe check
  measures it); a run recorded with a shorter patience that ran all its epochs
  trained exactly as with this one, so it stays current;
* Keras ``BackupAndRestore`` saves state after every epoch, so a killed run
  restarts from its last finished epoch; ``CSVLogger(append=True)`` keeps the
  whole history across restarts;
* arithmetic: float32, except for points whose ``precision`` setting is
  ``mixed_bfloat16`` (the HW3 CNN and the largest budgets, where it is much
  faster on this CPU): bfloat16 arithmetic with float32 weights and a float32
  classifier; a tagged recipe check measures what it changes;
* knowledge distillation, only for points with a ``teacher`` (tagged recipe
  checks): see ``helpers.distill``;
* scoring: one pass over each split, as the reference report did; every record
  also keeps a test-time flip-averaged score (each face and its mirror image) so
  the Reproduce page can measure it, but no chapter's curve or headline table
  uses it.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import distill, models, report
from ._quiet import import_keras
from .atomic import atomic_path
from .data import CLASS_NAMES_EN, FER2013, load_fer2013
from .results import (LATER_SETTINGS, config_hash, encode_classes, results_dir, run_id,
                      weights_path, write_json_atomic, write_text_atomic)

if TYPE_CHECKING:  # annotations only: keras and TensorFlow load lazily
    from collections.abc import Callable, Sequence

    import keras
    import tensorflow as tf

    from .data import Split

# The module docstring's recipe in Traditional Chinese, for the book (keep both in step).
RECIPE_ZH = """\
一套配方用於所有家族（比較才公平）：

* 輸入：從記憶體中的 uint8 陣列建立 ``tf.data``，每個週期重新洗牌、分批，並在每批上即時做資料增強：
  水平翻轉、最多邊長 10% 的平移、最多 ±10° 的旋轉、最多 ±10% 的縮放（Keras 前處理層）；
  驗證與測試資料從不增強；
* 最佳化器：AdamW（權重衰減 1e-4），先以兩個週期線性暖身到最高學習率，再以餘弦衰減在 ``epochs`` 時降到零；
* 早停只看**驗證集**（``patience`` 個週期沒有更好的驗證準確率就停），保留驗證準確率最佳的權重並拿去評分。
  耐心值（30）與排程一樣長：餘弦衰減下，學習率高時驗證準確率起伏大，到低學習率的尾段才爬升，
  耐心值 6 會在排程中途就停下訓練（一個配方檢查量測了這點）；以較短耐心值記錄、但跑完所有週期的訓練，
  與用這個耐心值訓練完全相同，因此仍算是目前的結果；
* Keras ``BackupAndRestore`` 在每個週期後存檔，被中斷的訓練會從最後完成的週期接續；
  ``CSVLogger(append=True)`` 保留跨越重啟的完整歷程；
* 數值精度：float32；只有 ``precision`` 設為 ``mixed_bfloat16`` 的點（HW3 CNN 與最大的幾個預算，
  在這台 CPU 上快得多）以 bfloat16 運算、float32 保存權重，分類層仍為 float32；
  一個帶 tag 的配方檢查量測它帶來的差異；
* 知識蒸餾：只用於設定了 ``teacher`` 的點（帶 tag 的配方檢查），見 ``helpers.distill``；
* 評分：每個資料切分單次推論，與參考報告相同；每筆記錄另存測試時翻轉平均（每張臉與其鏡像）的分數，
  供「重現」頁量測，但各章的曲線與主要表格都不使用它。
"""

MAX_WEIGHTS_PARAMS = 1_000_000
PRECISIONS = ("float32", "mixed_bfloat16")


def check_precision(precision: str) -> None:
    """Only the two precisions the recipe knows; a typo must not train a third."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
WEIGHT_DECAY = 1e-4
WARMUP_EPOCHS = 2


@dataclass
class TrainConfig:
    """One sweep point: the model and budget, the seed and the recipe it trains with.

    Everything but ``tag`` is hashed into the record, so a changed setting makes
    the old result stale instead of silently mixing recipes.
    """

    family: str = "hw8_mobilenet"
    target_params: int = 56_135
    seed: int = 0
    # The same as sweep.yml's defaults (a test keeps them equal).
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 3e-3
    augment: bool = True
    patience: int = 30
    limit: int | None = None
    tag: str = ""
    # "mixed_bfloat16" computes in bfloat16 with float32 weights: 1.7-2x faster
    # on this CPU (AVX512-BF16) for the HW3 CNN and the largest MobileNets,
    # slower for the small models (scripts/benchmark.py --precision).
    precision: str = "float32"
    # The run id of a trained model whose soft labels this one also learns
    # from (knowledge distillation, see helpers.distill); "" for none.
    teacher: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        """Refuse settings that would train nothing or train for hours by mistake."""
        if self.family not in models.FAMILIES:
            raise ValueError(f"family must be one of {models.FAMILIES}, got {self.family!r}")
        for name, least in (("target_params", 1), ("seed", 0), ("epochs", 1),
                            ("batch_size", 1), ("patience", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be a whole number of at least {least}, "
                                 f"got {value!r}")
        if self.limit is not None and (isinstance(self.limit, bool)
                                       or not isinstance(self.limit, int) or self.limit < 1):
            raise ValueError(f"limit must be empty (all training images) or at least 1, "
                             f"got {self.limit!r}")
        if isinstance(self.learning_rate, bool) or not (
                isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a number above 0, got {self.learning_rate!r}")
        check_precision(self.precision)

    @property
    def run_id(self) -> str:
        """The point's name in ``results/`` and ``sweep.yml`` (see ``results.run_id``)."""
        return run_id(self.family, self.target_params, self.seed, self.tag)

    def settings(self) -> dict:
        """What defines the run (hashed to decide whether a result is current)."""
        d = asdict(self)
        d.pop("tag")
        for name, default in LATER_SETTINGS.items():
            if d[name] == default:
                d.pop(name)
        return d

    @property
    def hash(self) -> str:
        """Hash of :meth:`settings`: a record with another hash is not this run's result."""
        return config_hash(self.settings())

    def same_run_hashes(self) -> set[str]:
        """Hashes of the configs that train exactly like this one until they stop:
        the same settings with a patience of at most this one's.  Early stopping
        changes nothing before it fires, so such a run that has not stopped (a
        checkpoint) or that ran all its epochs (a record) is this config's run."""
        return {self.hash} | {replace(self, patience=p).hash for p in range(1, self.patience)}

    def is_result(self, record: dict) -> bool:
        """Whether a run record is this config's result (see ``same_run_hashes``)."""
        if record.get("config_hash") == self.hash:
            return True
        epochs = record.get("settings", {}).get("epochs")
        ran_all = isinstance(epochs, int) and record.get("epochs_run") == epochs
        return ran_all and record.get("config_hash") in self.same_run_hashes()


def _tf():
    import_keras()
    import tensorflow as tf
    return tf


def checkpoint_resumes(stamp: str, config: TrainConfig, teacher_hash: str = "") -> bool:
    """Whether a checkpoint stamped ``stamp`` is an unfinished run of ``config``:
    the same settings, or a shorter patience that has not fired yet (a finished
    run leaves no checkpoint), and the same teacher run."""
    suffix = f" teacher {teacher_hash}" if teacher_hash else ""
    return stamp in {h + suffix for h in config.same_run_hashes()}


def set_threads(threads: int | None) -> None:
    """Limit TensorFlow's thread pools (one sweep worker per core, say)."""
    if threads:
        tf = _tf()
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))


def augmenter(seed: int) -> keras.Sequential:
    """The augmentation applied to training batches (flip, shift, rotate, zoom): FER2013 is
    small enough that every model here overfits without it."""
    import keras
    from keras import layers
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 1),
        layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed + 2),
        layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 3),
    ], name="augment")


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, *,
                 training: bool, augment: bool = True, seed: int = 0) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of float32 batches (pixels still 0–255)."""
    tf = _tf()
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if training:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training and augment:
        aug = augmenter(seed)
        prepare = lambda x, y: (aug(tf.cast(x, tf.float32), training=True), y)  # noqa: E731
    else:
        prepare = lambda x, y: (tf.cast(x, tf.float32), y)  # noqa: E731
    # Order matters only for evaluation, where predictions meet labels.
    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    return ds.prefetch(tf.data.AUTOTUNE)


def build_with_precision(build: Callable[[], keras.Model],
                         precision: str = "float32") -> keras.Model:
    """Call ``build()`` under a Keras dtype policy, then restore the global one.

    A layer keeps the policy it was built with, so only the model computes in
    ``precision``; the input pipeline stays float32 and the models' classifier
    is float32 by construction (a softmax in bfloat16 loses the small probabilities).
    """
    import keras
    check_precision(precision)
    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(precision)
    try:
        return build()
    finally:
        keras.mixed_precision.set_global_policy(before)


def compile_model(model: keras.Model, steps_per_epoch: int, epochs: int, learning_rate: float,
                  loss: str | keras.losses.Loss = "sparse_categorical_crossentropy",
                  metrics: Sequence = ("accuracy",)) -> keras.Model:
    """Compile with the recipe's optimiser: AdamW, a linear warm-up from a tenth of
    ``learning_rate``, then cosine decay to 0.

    The high peak rate converges in few epochs (CPU hours are the budget); the
    warm-up lets it start safely, and the cosine tail is where validation accuracy climbs.
    """
    import keras
    warmup = min(WARMUP_EPOCHS, max(epochs - 1, 0)) * steps_per_epoch
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate / 10 if warmup else learning_rate,
        decay_steps=max(epochs * steps_per_epoch - warmup, 1),
        warmup_target=learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=WEIGHT_DECAY),
        loss=loss,
        metrics=list(metrics),
    )
    return model


def read_history(csv_path: Path) -> dict[str, list[float]]:
    """The CSVLogger history, all epochs across restarts.

    A row cut short by a kill is skipped, and an epoch logged twice (killed
    after logging but before the backup) keeps its last row.
    """
    if not csv_path.exists():
        return {}
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_epoch: dict[int, dict[str, float]] = {}
    for row in rows:
        try:
            values = {key: float(value) for key, value in row.items() if key}
        except (TypeError, ValueError):
            continue
        if "epoch" in values:
            by_epoch[int(values["epoch"])] = values
    history: dict[str, list[float]] = {}
    for epoch in sorted(by_epoch):
        for key, value in by_epoch[epoch].items():
            history.setdefault(key, []).append(value)
    return history


def best_weights_saver(path: Path, best_so_far: float) -> keras.callbacks.Callback:
    """Save the weights whenever val accuracy improves, atomically.

    Like ``ModelCheckpoint(save_best_only=True)``, but written to a temporary
    file and renamed, so a kill mid-write never corrupts the best weights.
    """
    import keras

    class BestWeights(keras.callbacks.Callback):
        """Keeps ``best`` across a restart, so a resumed run saves only real improvements."""

        best = best_so_far

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_accuracy")
            if value is not None and value > self.best:
                self.best = value
                with atomic_path(path, suffix=".weights.h5") as tmp:
                    self.model.save_weights(str(tmp))

    return BestWeights()


def epochs_since_best(val_accuracy: list[float]) -> int:
    """Epochs logged after the best val accuracy (early stopping's wait)."""
    return len(val_accuracy) - 1 - int(np.argmax(val_accuracy)) if val_accuracy else 0


def resumable_early_stopping(patience: int,
                             history: dict[str, list[float]]) -> keras.callbacks.EarlyStopping:
    """``EarlyStopping`` on val accuracy that remembers the epochs before a restart."""
    import keras

    val = history.get("val_accuracy", [])
    best = max(val) if val else None
    wait = epochs_since_best(val)

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        """Restores best and wait after Keras resets them, so patience counts across restarts."""

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            if best is not None:
                self.best, self.wait = best, wait

    return ResumableEarlyStopping(monitor="val_accuracy", mode="max", patience=patience)


def evaluate(model: keras.Model, split: Split, batch_size: int = 512) -> dict:
    """Accuracy, per-class accuracy, confusion matrix and every prediction on one split.

    The predictions (in the split's file order) let two models be compared image
    by image on the same test set: a paired error, tighter than two independent ones.
    ``flip`` scores the same model with test-time flip averaging (each face and its
    mirror image, probabilities averaged), kept beside the one-pass score so the
    report can measure what it adds without changing the headline numbers.
    """
    def probabilities(images: np.ndarray) -> np.ndarray:
        return model.predict(make_dataset(images, split.labels, batch_size, training=False),
                             verbose=0)

    probs = probabilities(split.images)
    pred = probs.argmax(axis=1)
    flip_pred = (probs + probabilities(np.flip(split.images, axis=2))).argmax(axis=1)
    n = len(CLASS_NAMES_EN)
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (split.labels, pred), 1)
    per_class = cm.diagonal() / np.maximum(cm.sum(axis=1), 1)
    return {
        "accuracy": float((pred == split.labels).mean()),
        "n": int(len(split)),
        "per_class_accuracy": [float(a) for a in per_class],
        "confusion_matrix": cm.tolist(),
        "predictions": encode_classes(pred),
        "flip": {"accuracy": float((flip_pred == split.labels).mean()),
                 "predictions": encode_classes(flip_pred)},
    }


def backfill_scores(out_dir: Path, data: FER2013) -> dict[str, list[str]]:
    """Add what ``evaluate`` records now to records made before it did.

    Each record without per-image predictions or flip-averaged scores is re-scored
    from its saved weights; the data must be the file the record was trained on
    (SHA-256), and the new confusion matrices must equal the recorded ones, or
    nothing is written to that record and the error names it; so is a record
    whose recorded per-image predictions the weights do not reproduce.  Returns the run ids
    ``updated`` and those ``skipped`` (no weights here: models over
    ``MAX_WEIGHTS_PARAMS`` keep theirs only in ``local_weights/`` on the machine
    that trained them).
    """
    keras = import_keras()
    out_dir = Path(out_dir)
    todo, skipped, other_data = [], [], []
    for path in sorted(out_dir.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        scores = record.get("scores")
        if not scores or all({"predictions", "flip"} <= set(scores[s])
                              for s in report.SCORED_SPLITS):
            continue
        if record.get("data_sha256") != data.sha256:
            other_data.append(record["run_id"])
        elif weights_path(record, out_dir) is None:
            skipped.append(record["run_id"])
        else:
            todo.append((path, record))
    if other_data:
        raise ValueError(f"{other_data} in {out_dir} were trained on another file than "
                         f"{data.source} (SHA-256 differs); nothing was changed")
    report.record_dataset_summary(data, out_dir)
    updated, mismatched = [], []
    for path, record in todo:
        scores = record["scores"]
        model = keras.models.load_model(weights_path(record, out_dir), compile=False)
        fresh = {name: evaluate(model, data[name]) for name in report.SCORED_SPLITS}
        if any(fresh[s]["confusion_matrix"] != scores[s]["confusion_matrix"]
               or scores[s].get("predictions", fresh[s]["predictions"]) != fresh[s]["predictions"]
               for s in report.SCORED_SPLITS):
            mismatched.append(record["run_id"])
            continue
        for name in report.SCORED_SPLITS:
            scores[name]["predictions"] = fresh[name]["predictions"]
            scores[name]["flip"] = fresh[name]["flip"]
        write_json_atomic(path, record)
        updated.append(record["run_id"])
    if mismatched:
        raise RuntimeError(f"re-scoring did not reproduce the recorded confusion matrices or "
                           f"predictions of "
                           f"{mismatched} in {out_dir}; those records were left unchanged")
    return {"updated": updated, "skipped": skipped}


def _device_name() -> str:
    tf = _tf()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        try:
            return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        except Exception:  # noqa: BLE001 — a name is nice to have
            return "GPU"
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
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


def epoch_logger(timing_path: Path) -> keras.callbacks.Callback:
    """A one-line-per-epoch Keras callback that also accumulates training time.

    The running total lives in ``timing_path`` so that it survives restarts.
    """
    import keras

    class EpochLogger(keras.callbacks.Callback):
        """Prints one line per epoch and adds its seconds to the running total."""

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            seconds = time.perf_counter() - self._start
            total = _read_seconds(timing_path) + seconds
            write_json_atomic(timing_path, {"train_seconds": total})
            print(f"epoch {epoch + 1:3d}  {seconds:6.1f}s  "
                  f"loss {logs.get('loss', float('nan')):.4f}  "
                  f"acc {logs.get('accuracy', float('nan')):.4f}  "
                  f"val_loss {logs.get('val_loss', float('nan')):.4f}  "
                  f"val_acc {logs.get('val_accuracy', float('nan')):.4f}", flush=True)

    return EpochLogger()


def _read_seconds(path: Path) -> float:
    if path.exists():
        return float(json.loads(path.read_text()).get("train_seconds", 0.0))
    return 0.0


def train(config: TrainConfig, data: FER2013 | None = None, out_dir: Path | None = None,
          data_path: str | None = None,
          threads: int | None = None) -> tuple[dict, keras.Model]:
    """Train one sweep point (resuming if interrupted) and write its record.

    Returns ``(record, model)``; the record is also at ``<out_dir>/<run_id>.json``.
    """
    import keras

    set_threads(threads)
    out_dir = Path(out_dir or results_dir())
    work = out_dir / "checkpoints" / config.run_id
    # A student is defined by its teacher's run too: a retrained teacher restarts it.
    teacher = distill.teacher_record(config.teacher, out_dir) if config.teacher else {}
    teacher_hash = teacher.get("config_hash", "")
    run_key = config.hash + (f" teacher {teacher_hash}" if teacher_hash else "")
    stamp = work / "config_hash"
    if stamp.exists() and not checkpoint_resumes(stamp.read_text().strip(), config, teacher_hash):
        shutil.rmtree(work)  # a half-finished run with other settings: start afresh
    if not stamp.exists() or stamp.read_text().strip() != run_key:
        write_text_atomic(stamp, run_key)  # a torn stamp would throw the checkpoint away
    data = data or load_fer2013(data_path)
    if not (out_dir / report.DATASET_SUMMARY).exists():
        report.record_dataset_summary(data, out_dir)

    train_split = data.train
    if config.limit:
        train_split = type(train_split)(train_split.images[: config.limit],
                                        train_split.labels[: config.limit])
    steps = int(np.ceil(len(train_split) / config.batch_size))

    train_targets, val_targets = train_split.labels, data.val.labels
    loss, metrics = "sparse_categorical_crossentropy", ("accuracy",)
    if config.teacher:
        soft = distill.teacher_probabilities(teacher, data, out_dir)
        train_targets = distill.pack_targets(train_split.labels, soft["train"][:len(train_split)])
        val_targets = distill.pack_targets(data.val.labels, soft["val"])
        loss, metrics = distill.distillation_loss(), (distill.accuracy_metric(),)

    # Seeded just before the model is built: loading a teacher draws random numbers too.
    keras.utils.set_random_seed(config.seed)
    chosen = models.for_budget(config.family, int(config.target_params))
    model = compile_model(build_with_precision(chosen.build, config.precision), steps,
                          config.epochs, config.learning_rate, loss=loss, metrics=metrics)

    history_csv = work / "history.csv"
    best_path = work / "best.weights.h5"
    past = read_history(history_csv)
    val_so_far = past.get("val_accuracy", [])
    stopped_already = bool(val_so_far) and (
        len(val_so_far) >= config.epochs or epochs_since_best(val_so_far) >= config.patience)
    # Order matters for a kill between callbacks: best weights, then the log,
    # then the backup, so a resumed epoch is at worst re-run and re-logged.
    callbacks = [
        best_weights_saver(best_path, max(val_so_far) if val_so_far else -1.0),
        keras.callbacks.CSVLogger(str(history_csv), append=True),
        resumable_early_stopping(config.patience, past),
        epoch_logger(work / "timing.json"),
        keras.callbacks.BackupAndRestore(str(work / "backup"), delete_checkpoint=False),
    ]
    train_ds = make_dataset(train_split.images, train_targets, config.batch_size,
                            training=True, augment=config.augment, seed=config.seed)
    val_ds = make_dataset(data.val.images, val_targets, 512, training=False)

    epochs_before = len(past.get("epoch", []))
    start = time.perf_counter()
    if not stopped_already:
        model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                  callbacks=callbacks, verbose=0, shuffle=False)  # the pipeline shuffles
    seconds = time.perf_counter() - start

    history = read_history(history_csv)
    epochs_run = len(history.get("epoch", []))
    images_per_second = (epochs_run - epochs_before) * len(train_split) / max(seconds, 1e-9)
    if best_path.exists():
        model.load_weights(str(best_path))
    val_acc = history.get("val_accuracy", [0.0])
    best_epoch = int(history["epoch"][int(np.argmax(val_acc))]) + 1 if "epoch" in history else 0

    timing = {"train_seconds": _read_seconds(work / "timing.json"),
              "images_per_second": images_per_second}
    counts = models.param_counts(model)
    record = {
        "run_id": config.run_id,
        "tag": config.tag,
        "config_hash": config.hash,
        "family": config.family,
        "width": chosen.width,
        "target_params": int(config.target_params),
        "params": {"total": counts.total, "trainable": counts.trainable,
                   "non_trainable": counts.non_trainable},
        "macs": models.count_macs(model),
        "seed": config.seed,
        "precision": config.precision,
        **({"teacher_config_hash": teacher_hash} if teacher_hash else {}),
        "settings": config.settings(),
        "recipe": {"optimizer": "AdamW", "weight_decay": WEIGHT_DECAY,
                   "schedule": f"linear warm-up {WARMUP_EPOCHS} epochs, cosine decay",
                   "augmentation": "flip, shift ±10%, rotate ±10°, zoom ±10%" if config.augment
                   else "none",
                   "early_stopping": f"val_accuracy, patience {config.patience}",
                   **({"distillation": f"teacher {config.teacher}, alpha {distill.ALPHA}, "
                                       f"temperature {distill.TEMPERATURE}"}
                      if config.teacher else {})},
        "train_images": len(train_split),
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "resumed": epochs_before > 0,
        "history": history,
        **timing,
        "device": _device_name(),
        "tensorflow": _tf().__version__,
        "keras": keras.__version__,
        "git_commit": _git_commit(),
        "data_sha256": data.sha256,
        "scores": {name: evaluate(model, data[name]) for name in report.SCORED_SPLITS},
    }
    record["val_accuracy"] = record["scores"]["val"]["accuracy"]
    record["public_accuracy"] = record["scores"]["public"]["accuracy"]
    record["private_accuracy"] = record["scores"]["private"]["accuracy"]

    # Small weights are committed with the record; large ones stay on this
    # machine (git-ignored), still there for a teacher or a re-score.
    kept = "weights" if counts.total <= MAX_WEIGHTS_PARAMS else "local_weights"
    weights = out_dir / kept / f"{config.run_id}.keras"
    with atomic_path(weights, suffix=".keras") as tmp:
        model.save(tmp)
    record[kept] = str(weights.relative_to(out_dir))
    write_json_atomic(out_dir / f"{config.run_id}.json", record)
    shutil.rmtree(work, ignore_errors=True)
    return record, model
