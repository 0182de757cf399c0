"""Knowledge distillation: a trained teacher's soft labels as a second target.

Offline distillation (Hinton et al., 2015): the teacher scores every training
and validation image once, un-augmented, and the student learns from

    ALPHA * cross-entropy(labels) + (1 - ALPHA) * T² * KL(teacher_T || student_T)

where ``p_T`` is a softmax at temperature ``T``.  The soft labels are cached in
``results/teachers/<teacher run id>.npz`` (float16, a few hundred kB, committed),
so a student can be trained on a machine without the teacher's weights.  The
cache names the teacher's config hash and the data file's SHA-256; a change to
either recomputes it.
"""

from __future__ import annotations

import functools
import json
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .atomic import atomic_path
from .data import FER2013
from .results import weights_path

if TYPE_CHECKING:
    import keras

ALPHA = 0.5
TEMPERATURE = 4.0
TEACHERS_DIR = "teachers"
SOFT_SPLITS = ("train", "val")


def teacher_record(teacher: str, out_dir: Path) -> dict:
    """The teacher's finished run record; a clear error when it has none yet."""
    record_path = Path(out_dir) / f"{teacher}.json"
    if not record_path.exists():
        raise FileNotFoundError(
            f"teacher {teacher!r} has no result in {out_dir} (no {record_path.name}); train it "
            f"first: python -m helpers.sweep --only '{teacher}'")
    return json.loads(record_path.read_text(encoding="utf-8"))


def teacher_probabilities(record: dict, data: FER2013, out_dir: Path) -> dict[str, np.ndarray]:
    """The teacher's class probabilities for the training and validation images.

    ``record`` is the teacher's run record (``teacher_record``), which the student
    has already read for its teacher's config hash.  Read from the cache when it
    matches that record and the data; otherwise computed from the teacher's saved
    weights and cached atomically.
    """
    out_dir = Path(out_dir)
    teacher = record["run_id"]
    if record.get("data_sha256") != data.sha256:
        raise ValueError(f"teacher {teacher!r} was trained on another file than {data.source} "
                         "(SHA-256 differs); retrain it on this data")
    cache = out_dir / TEACHERS_DIR / f"{teacher}.npz"
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as stored:
                if (str(stored["config_hash"]) == record["config_hash"]
                        and str(stored["data_sha256"]) == data.sha256):
                    return {s: stored[s].astype(np.float32) for s in SOFT_SPLITS}
        except (OSError, EOFError, ValueError, KeyError, zlib.error, zipfile.BadZipFile):
            pass  # damaged (or a Git LFS pointer): rebuilt from the weights below, never trusted

    weights = weights_path(record, out_dir)
    if weights is None or not weights.exists():
        recorded = record.get("weights") or record.get("local_weights") or "not recorded"
        raise FileNotFoundError(
            f"teacher {teacher!r}: no usable cached soft labels in {cache} and its weights "
            f"({recorded}) are not on this machine; retrain the teacher here")
    from ._quiet import import_keras
    from .training import make_dataset

    keras = import_keras()
    model = keras.models.load_model(weights, compile=False)
    probs = {s: model.predict(make_dataset(data[s].images, data[s].labels, 512, training=False),
                              verbose=0).astype(np.float32) for s in SOFT_SPLITS}
    with atomic_path(cache, suffix=".npz") as tmp:  # unique: two students may cache at once
        np.savez_compressed(tmp, config_hash=record["config_hash"], data_sha256=data.sha256,
                            **{s: p.astype(np.float16) for s, p in probs.items()})
    return {s: p.astype(np.float16).astype(np.float32) for s, p in probs.items()}


def pack_targets(labels: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """One target array per image: the label, then the teacher's probabilities."""
    if len(labels) != len(soft):
        raise ValueError(f"{len(labels)} labels but {len(soft)} soft labels")
    return np.column_stack([labels.astype(np.float32), soft.astype(np.float32)])


@functools.cache
def _keras_objects() -> dict:
    """The loss and metric, defined (and registered for ``load_model``) on first use."""
    from ._quiet import import_keras

    keras = import_keras()
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="helpers")
    class DistillationLoss(keras.losses.Loss):
        """Loss on packed targets (see :func:`pack_targets`) and softmax outputs.

        The models end in a softmax, so logits / T are recovered as log(p) / T:
        a softmax of that equals the softmax of the logits at temperature T.
        """

        def __init__(self, alpha: float = ALPHA, temperature: float = TEMPERATURE,
                     name: str = "distillation", **kwargs):
            super().__init__(name=name, **kwargs)
            self.alpha, self.temperature = float(alpha), float(temperature)

        def call(self, y_true, y_pred):
            t = self.temperature
            y_pred = ops.cast(y_pred, "float32")
            labels = ops.cast(y_true[:, 0], "int32")
            hard = keras.losses.sparse_categorical_crossentropy(labels, y_pred)
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

    return {"helpers>DistillationLoss": DistillationLoss, "helpers>accuracy": accuracy}


def custom_objects() -> dict:
    """For ``keras.models.load_model(path, custom_objects=...)`` of a distilled model."""
    return dict(_keras_objects())


def distillation_loss(alpha: float = ALPHA,
                      temperature: float = TEMPERATURE) -> keras.losses.Loss:
    """The distillation loss (a Keras ``Loss``, saved with the model by name)."""
    return _keras_objects()["helpers>DistillationLoss"](alpha, temperature)


def accuracy_metric() -> Callable:
    """Accuracy on packed targets, named ``accuracy``."""
    return _keras_objects()["helpers>accuracy"]
