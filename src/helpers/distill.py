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

import json
import os
from pathlib import Path

import numpy as np

from .data import FER2013

ALPHA = 0.5
TEMPERATURE = 4.0
TEACHERS_DIR = "teachers"
SOFT_SPLITS = ("train", "val")


def teacher_probabilities(teacher: str, data: FER2013, out_dir: Path) -> dict[str, np.ndarray]:
    """The teacher's class probabilities for the training and validation images.

    Read from the cache when it matches the teacher's record and the data;
    otherwise computed from the teacher's saved weights and cached atomically.
    """
    out_dir = Path(out_dir)
    record_path = out_dir / f"{teacher}.json"
    if not record_path.exists():
        raise FileNotFoundError(
            f"teacher {teacher!r} has no result in {out_dir} (no {record_path.name}); train it "
            f"first: python -m helpers.sweep --only '{teacher}'")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record.get("data_sha256") != data.sha256:
        raise ValueError(f"teacher {teacher!r} was trained on another file than {data.source} "
                         "(SHA-256 differs); retrain it on this data")
    cache = out_dir / TEACHERS_DIR / f"{teacher}.npz"
    if cache.exists():
        with np.load(cache) as stored:
            if (str(stored["config_hash"]) == record["config_hash"]
                    and str(stored["data_sha256"]) == data.sha256):
                return {s: stored[s].astype(np.float32) for s in SOFT_SPLITS}

    weights = record.get("weights") or record.get("local_weights")
    if not weights or not (out_dir / weights).exists():
        raise FileNotFoundError(
            f"teacher {teacher!r}: no cached soft labels in {cache} and its weights "
            f"({weights or 'not recorded'}) are not on this machine; retrain the teacher here")
    from ._quiet import import_keras
    from .training import make_dataset

    keras = import_keras()
    model = keras.models.load_model(out_dir / weights, compile=False)
    probs = {s: model.predict(make_dataset(data[s].images, data[s].labels, 512, training=False),
                              verbose=0).astype(np.float32) for s in SOFT_SPLITS}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.stem}.tmp.npz")
    np.savez_compressed(tmp, config_hash=record["config_hash"], data_sha256=data.sha256,
                        **{s: p.astype(np.float16) for s, p in probs.items()})
    os.replace(tmp, cache)
    return {s: p.astype(np.float16).astype(np.float32) for s, p in probs.items()}


def pack_targets(labels: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """One target array per image: the label, then the teacher's probabilities."""
    if len(labels) != len(soft):
        raise ValueError(f"{len(labels)} labels but {len(soft)} soft labels")
    return np.column_stack([labels.astype(np.float32), soft.astype(np.float32)])


def distillation_loss(alpha: float = ALPHA, temperature: float = TEMPERATURE):
    """Keras loss on packed targets (see :func:`pack_targets`) and softmax outputs.

    The models end in a softmax, so logits / T are recovered as log(p) / T: a
    softmax of that equals the softmax of the logits at temperature T.
    """
    import keras
    from keras import ops

    def distillation(y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        labels = ops.cast(y_true[:, 0], "int32")
        hard = keras.losses.sparse_categorical_crossentropy(labels, y_pred)
        log_student = ops.log_softmax(ops.log(ops.clip(y_pred, 1e-7, 1.0)) / temperature)
        log_teacher = ops.log_softmax(ops.log(ops.clip(y_true[:, 1:], 1e-7, 1.0)) / temperature)
        soft = ops.sum(ops.exp(log_teacher) * (log_teacher - log_student), axis=-1)
        return alpha * hard + (1 - alpha) * temperature ** 2 * soft

    return distillation


def accuracy(y_true, y_pred):
    """Accuracy on the labels of packed targets (named so the history keeps ``accuracy``)."""
    import keras
    return keras.metrics.sparse_categorical_accuracy(y_true[:, :1], y_pred)
