"""A model's score on one split: one pass, and with test-time flip averaging (each face and
its mirror image), kept side by side with the per-image hits that paired comparisons need."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .data import CLASS_NAMES_EN, Split
from .pipeline import make_dataset
from .records import Score, encode_hits

if TYPE_CHECKING:
    import keras


def evaluate(model: keras.Model, split: Split, batch_size: int = 512) -> Score:
    """Accuracy, confusion matrix and per-image hits, one pass and flip-averaged; ``model``
    is anything with Keras' ``predict`` (a model, or ``distill.Ensemble``)."""
    def probabilities(images: np.ndarray) -> np.ndarray:
        ds = make_dataset(images, split.labels, batch_size, training=False)
        return model.predict(ds, verbose=0)

    probs = probabilities(split.images)
    pred = probs.argmax(axis=1)
    flip_pred = (probs + probabilities(np.flip(split.images, axis=2))).argmax(axis=1)
    classes = len(CLASS_NAMES_EN)
    cm = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(cm, (split.labels, pred), 1)
    hits, flip_hits = pred == split.labels, flip_pred == split.labels
    return Score(accuracy=float(hits.mean()), n=int(len(split)), confusion_matrix=cm.tolist(),
                 hits=encode_hits(hits), flip_accuracy=float(flip_hits.mean()),
                 flip_hits=encode_hits(flip_hits))
