"""Knowledge distillation: a trained teacher's soft labels as a second target.

Offline distillation (Hinton et al., 2015): the teacher scores every training
and validation image once, un-augmented, and the student learns from

    ALPHA * cross-entropy(labels) + (1 - ALPHA) * T² * KL(teacher_T || student_T)

where ``p_T`` is a softmax at temperature ``T``.  The soft labels are cached in
``results/teachers/<teacher run id>.npz`` (float16, committed), named by the
teacher record's fingerprint and the data file's SHA-256, so a student trains
on a machine without the teacher's weights and a retrained teacher recomputes them.
"""

from __future__ import annotations

import functools
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._quiet import import_keras
from .atomic import atomic_path
from .data import FER2013
from .pipeline import make_dataset
from .records import Record, fingerprint, read_record, record_path

if TYPE_CHECKING:
    from collections.abc import Callable

    import keras

ALPHA = 0.5
TEMPERATURE = 4.0
SOFT_SPLITS = ("train", "val")


def teacher_record(teacher: str, out_dir: Path) -> Record:
    """The teacher's record; a clear error when it has not been trained yet."""
    path = record_path(teacher, out_dir)
    if not path.exists():
        raise FileNotFoundError(f"teacher {teacher!r} has no result in {out_dir} (no {path.name});"
                                f" train it first: python -m helpers.sweep --only '{teacher}'")
    return read_record(path)


def teacher_probabilities(record: Record, data: FER2013, out_dir: Path) -> dict[str, np.ndarray]:
    """The teacher's class probabilities on the training and validation images,
    from the cache when it matches the record and the data, else from its weights."""
    out_dir = Path(out_dir)
    if record.data_sha256 != data.sha256:
        raise ValueError(f"teacher {record.run_id!r} was trained on another file than "
                         f"{data.source} (SHA-256 differs); retrain it on this data")
    cache = out_dir / "teachers" / f"{record.run_id}.npz"
    key = fingerprint(record)
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as stored:
                if str(stored["fingerprint"]) == key and str(stored["data_sha256"]) == data.sha256:
                    return {s: stored[s].astype(np.float32) for s in SOFT_SPLITS}
        except (OSError, EOFError, ValueError, KeyError, zlib.error, zipfile.BadZipFile):
            pass  # damaged: rebuilt from the weights below, never trusted
    weights = out_dir / record.weights if record.weights else None
    if weights is None or not weights.exists():
        raise FileNotFoundError(f"teacher {record.run_id!r}: no cached soft labels in {cache} "
                                f"and its weights ({record.weights or 'not recorded'}) are not "
                                "on this machine; retrain the teacher here")
    keras = import_keras()
    model = keras.models.load_model(weights, compile=False)
    probs = {s: model.predict(make_dataset(data[s].images, data[s].labels, 512, training=False),
                              verbose=0).astype(np.float16) for s in SOFT_SPLITS}
    with atomic_path(cache, suffix=".npz") as tmp:
        np.savez_compressed(tmp, fingerprint=key, data_sha256=data.sha256, **probs)
    return {s: p.astype(np.float32) for s, p in probs.items()}


def pack_targets(labels: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """One target row per image: the label, then the teacher's probabilities."""
    if len(labels) != len(soft):
        raise ValueError(f"{len(labels)} labels but {len(soft)} soft labels")
    return np.column_stack([labels.astype(np.float32), soft.astype(np.float32)])


@functools.cache
def _keras_objects() -> dict:
    """The loss and metric, defined (and registered for ``load_model``) on first use."""
    keras = import_keras()
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="helpers")
    class DistillationLoss(keras.losses.Loss):
        """Loss on packed targets (:func:`pack_targets`) and softmax outputs; the models end
        in a softmax, so logits / T are recovered as log(p) / T."""

        def __init__(self, alpha: float = ALPHA, temperature: float = TEMPERATURE,
                     name: str = "distillation", **kwargs):
            super().__init__(name=name, **kwargs)
            self.alpha, self.temperature = float(alpha), float(temperature)

        def call(self, y_true, y_pred):
            t = self.temperature
            y_pred = ops.cast(y_pred, "float32")
            hard = keras.losses.sparse_categorical_crossentropy(ops.cast(y_true[:, 0], "int32"),
                                                                y_pred)
            log_student = ops.log_softmax(ops.log(ops.clip(y_pred, 1e-7, 1.0)) / t)
            log_teacher = ops.log_softmax(ops.log(ops.clip(y_true[:, 1:], 1e-7, 1.0)) / t)
            soft = ops.sum(ops.exp(log_teacher) * (log_teacher - log_student), axis=-1)
            return self.alpha * hard + (1 - self.alpha) * t ** 2 * soft

        def get_config(self):
            return {**super().get_config(), "alpha": self.alpha, "temperature": self.temperature}

    @keras.saving.register_keras_serializable(package="helpers")
    def accuracy(y_true, y_pred):
        """Accuracy on the labels of packed targets (the history keeps ``accuracy``)."""
        return keras.metrics.sparse_categorical_accuracy(y_true[:, :1], y_pred)

    return {"loss": DistillationLoss, "accuracy": accuracy}


def distillation_loss(alpha: float = ALPHA, temperature: float = TEMPERATURE) -> keras.losses.Loss:
    """The distillation loss, a Keras ``Loss`` saved with the model by name."""
    return _keras_objects()["loss"](alpha, temperature)


def accuracy_metric() -> Callable:
    """Accuracy on packed targets, named ``accuracy``."""
    return _keras_objects()["accuracy"]
