"""Knowledge distillation: a trained teacher's soft labels as a second target.

Offline distillation (Hinton et al., 2015): the teacher (one model, or an
ensemble whose probabilities are averaged) scores every training and validation
image once, and the student learns from

    ALPHA * cross-entropy(labels) + (1 - ALPHA) * T² * KL(teacher_T || student_T)

where ``p_T`` is a softmax at temperature ``T``.  The teacher scores either the
un-augmented images or K fixed augmented views of each training image; in the
second case the student trains on those same views, one drawn per image and
epoch, so teacher and student always see the same pixels ("consistent"
distillation, Beyer et al. 2022).  The views are rebuilt from a fixed seed, so
only the soft labels are stored: ``results/teachers/<members>[-views<K>].npz``
(float16, committed), keyed by the members' fingerprints, the data file's
SHA-256 and the views' settings, so a student trains on a machine without the
teacher's weights and a retrained member recomputes them.  The teacher's own scores
on the validation, Public and Private splits (an ensemble's are in no member's record)
are kept beside them in ``results/teachers/<members>.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._quiet import import_keras
from .atomic import atomic_path
from .data import FER2013
from .pipeline import apply_views, make_dataset, make_view_batches
from .records import (SCORED_SPLITS, Record, Score, read_record, record_path,
                      teacher_fingerprint, write_json_atomic)
from .scoring import evaluate

if TYPE_CHECKING:
    from collections.abc import Callable

    import keras

ALPHA = 0.5
TEMPERATURE = 4.0
SOFT_SPLITS = ("train", "val")
SIDE = 48  # the faces' side in pixels
VIEW_SEED = 2013  # one set of fixed views for every student, so their soft labels are shared


def teacher_records(teachers: tuple[str, ...], out_dir: Path) -> list[Record]:
    """The teacher's records (one, or an ensemble's members); a clear error naming any that
    has not been trained yet."""
    records = []
    for teacher in teachers:
        path = record_path(teacher, out_dir)
        if not path.exists():
            raise FileNotFoundError(f"teacher {teacher!r} has no result in {out_dir} (no "
                                    f"{path.name}); train it first: python -m helpers.sweep "
                                    f"--only '{teacher}'")
        records.append(read_record(path))
    return records


def view_transforms(n: int, views: int, shift: float, rotation: float, zoom: float,
                    seed: int = VIEW_SEED) -> np.ndarray:
    """``[n, views, 8]`` projective transforms (Keras' ``affine_transform`` layout, output
    pixel to input pixel) for fixed augmented views: a horizontal flip half of the time,
    shifts up to ``shift`` of the side, rotations up to ``rotation`` degrees and zooms up to
    ``zoom``, drawn once from ``seed`` with NumPy's stable generator, so every machine
    rebuilds the same views and only the teacher's answers need storing."""
    rng = np.random.default_rng(seed)
    size = (n, views)
    flip = np.where(rng.random(size) < 0.5, -1.0, 1.0)
    dx, dy = (rng.uniform(-shift, shift, size) * SIDE for _ in range(2))
    theta = np.deg2rad(rng.uniform(-rotation, rotation, size))
    scale = 1.0 / rng.uniform(1 - zoom, 1 + zoom, size)  # sample closer in: zoomed in
    centre = (SIDE - 1) / 2
    cos, sin = np.cos(theta) * scale, np.sin(theta) * scale
    # input = centre + flip * (R * scale) @ (output - shift - centre)
    a0, a1 = flip * cos, -flip * sin
    b0, b1 = sin, cos
    ox, oy = -dx - centre, -dy - centre
    a2 = centre + a0 * ox + a1 * oy
    b2 = centre + b0 * ox + b1 * oy
    zeros = np.zeros(size)
    return np.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=-1).astype(np.float32)


@functools.cache
def _view_code() -> str:
    """A short hash of the code that draws and applies the views (its syntax tree, so a
    comment or a docstring does not count): changing it makes the cached answers of the old
    views stale."""
    import ast
    import hashlib
    import inspect
    import textwrap

    trees = []
    for function in (view_transforms, make_view_batches, apply_views):
        tree = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
        if ast.get_docstring(tree) is not None:
            tree.body = tree.body[1:]
        trees.append(ast.dump(tree))
    return hashlib.sha256("".join(trees).encode()).hexdigest()[:16]


def _check_data(records: list[Record], data: FER2013) -> None:
    """Refuse a member trained on another data file than ``data``, by name."""
    for record in records:
        if record.data_sha256 != data.sha256:
            raise ValueError(f"teacher {record.run_id!r} was trained on another file than "
                             f"{data.source} (SHA-256 differs); retrain it on this data")


def cache_path(teachers: tuple[str, ...], views: int, out_dir: Path) -> Path:
    """``results/teachers/<members joined by __>[-views<K>].npz``."""
    name = "__".join(teachers) + (f"-views{views}" if views else "")
    return Path(out_dir) / "teachers" / f"{name}.npz"


def soft_labels(records: list[Record], data: FER2013, out_dir: Path, views: int = 0,
                shift: float = 0.0, rotation: float = 0.0, zoom: float = 0.0
                ) -> dict[str, np.ndarray]:
    """The teacher's class probabilities (an ensemble's averaged): ``val`` on the
    un-augmented validation images, ``train`` on the training images (``[n, 7]``) or on
    ``views`` fixed augmented views of each (``[n, views, 7]``).  From the cache when it
    matches the members, the data and the views, else computed from the members' weights."""
    out_dir = Path(out_dir)
    _check_data(records, data)
    teachers = tuple(r.run_id for r in records)
    cache = cache_path(teachers, views, out_dir)
    key = {"fingerprint": teacher_fingerprint(records), "data_sha256": data.sha256,
           "views": (f"{views} {shift:g} {rotation:g} {zoom:g} {VIEW_SEED} {_view_code()}"
                     if views else "0")}
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as stored:
                if all(str(stored[k]) == v for k, v in key.items()):
                    return {s: stored[s].astype(np.float32) for s in SOFT_SPLITS}
        except (OSError, EOFError, ValueError, KeyError, zlib.error, zipfile.BadZipFile):
            pass  # damaged: rebuilt from the weights below, never trusted
    teacher = load_teacher(records, out_dir, f"its soft labels are not cached in {cache}")

    def predict(images: np.ndarray, transforms: np.ndarray | None = None) -> np.ndarray:
        ds = (make_view_batches(images, transforms) if transforms is not None
              else make_dataset(images, np.zeros(len(images), np.int64), 512, training=False))
        return teacher.predict(ds, verbose=0)

    probs = {"val": predict(data.val.images).astype(np.float16)}
    if views:
        transforms = view_transforms(len(data.train), views, shift, rotation, zoom)
        probs["train"] = np.stack([predict(data.train.images, transforms[:, j])
                                   for j in range(views)], axis=1).astype(np.float16)
    else:
        probs["train"] = predict(data.train.images).astype(np.float16)
    with atomic_path(cache, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **key, **probs)
    return {s: p.astype(np.float32) for s, p in probs.items()}


def load_teacher(records: list[Record], out_dir: Path, why: str) -> keras.Model | Ensemble:
    """The teacher as one model: a single member, or the members' averaged probabilities;
    a clear error naming a member whose weights are not on this machine, and ``why`` they
    are needed."""
    keras = import_keras()
    members = []
    for record in records:
        weights = Path(out_dir) / record.weights if record.weights else None
        if weights is None or not weights.exists():
            raise FileNotFoundError(
                f"teacher {record.run_id!r}: {why}, and its weights "
                f"({record.weights or 'not recorded'}) are not on this machine; retrain it here")
        members.append(keras.models.load_model(weights, compile=False))
    return members[0] if len(members) == 1 else Ensemble(members)


@dataclasses.dataclass(frozen=True)
class Ensemble:
    """Members whose class probabilities are averaged, behind the one method that soft
    labels and scoring call."""

    members: list[keras.Model]

    def predict(self, ds: object, verbose: int = 0) -> np.ndarray:
        """The members' mean probabilities over a dataset."""
        return np.mean([m.predict(ds, verbose=verbose) for m in self.members], axis=0)


def scores_path(teachers: tuple[str, ...], out_dir: Path) -> Path:
    """``results/teachers/<members joined by __>.json``: the teacher's own scores."""
    return cache_path(teachers, 0, out_dir).with_suffix(".json")


def recorded_teacher_scores(records: list[Record], out_dir: Path) -> dict[str, Score]:
    """The teacher's own scores (validation, Public, Private) as recorded when a student
    first learned from it, or nothing when none are recorded or a member was retrained."""
    path = scores_path(tuple(r.run_id for r in records), out_dir)
    if not records or not path.exists():
        return {}
    stored = json.loads(path.read_text(encoding="utf-8"))
    if (stored.get("fingerprint") != teacher_fingerprint(records)
            or stored.get("data_sha256") != records[0].data_sha256):
        return {}
    return {split: Score(**score) for split, score in stored["scores"].items()}


def teacher_scores(records: list[Record], data: FER2013, out_dir: Path) -> dict[str, Score]:
    """The teacher's own scores on the scored splits (an ensemble's averaged probabilities,
    which no member's record holds), recorded once beside its soft labels."""
    _check_data(records, data)
    known = recorded_teacher_scores(records, out_dir)
    if known:
        return known
    teacher = load_teacher(records, out_dir, "its own scores are not recorded yet")
    scores = {split: evaluate(teacher, data[split]) for split in SCORED_SPLITS}
    write_json_atomic(scores_path(tuple(r.run_id for r in records), out_dir), {
        "fingerprint": teacher_fingerprint(records), "data_sha256": data.sha256,
        "scores": {split: dataclasses.asdict(score) for split, score in scores.items()}})
    return scores


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
