"""The statistics the report quotes: standard errors, paired differences and slopes.

Accuracy on a test split of n images has a binomial standard error
sqrt(p(1-p)/n); two models scored on the same images differ by less noise
than two independent errors suggest, so differences use the per-image hits
(a paired error).  Several seeds add their own spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def binomial_se(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` images."""
    return float(np.sqrt(accuracy * (1 - accuracy) / n))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (NaN for a single value)."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float("nan")


@dataclass(frozen=True)
class Difference:
    """Accuracy of A minus accuracy of B on the same images, with its standard error."""

    value: float
    se: float



def paired_difference(hits_a: Sequence[np.ndarray], hits_b: Sequence[np.ndarray],
                      one_seed_var: tuple[float, float] = (0.0, 0.0)) -> Difference:
    """A's accuracy minus B's on the same images, each given as one hit array per seed.

    The image part of the error is the spread of the per-image difference of the
    seed-averaged hits; the seed part is each side's variance over seeds divided by its
    number of seeds; the two add in quadrature.  A side trained on one seed cannot show
    its own spread, yet has one: it takes the variance ``one_seed_var`` gives for it (a
    pooled estimate from the seeds of models like it, ``pooled_seed_variance``).
    """
    a = np.mean([np.asarray(h, dtype=float) for h in hits_a], axis=0)
    b = np.mean([np.asarray(h, dtype=float) for h in hits_b], axis=0)
    if a.shape != b.shape:
        raise ValueError(f"the two sides were scored on different images ({a.shape} vs {b.shape})")
    d = a - b
    image_var = d.var(ddof=1) / len(d)
    seed_var = sum((np.var([np.mean(h) for h in side], ddof=1) if len(side) > 1 else assumed)
                   / len(side) for side, assumed in zip((hits_a, hits_b), one_seed_var))
    return Difference(float(d.mean()), float(np.sqrt(image_var + seed_var)))


def pooled_seed_variance(groups: Sequence[Sequence[float]]) -> float:
    """The variance over seeds pooled across models (each group one model's scores over its
    seeds), weighting each by its degrees of freedom; NaN when no model has two seeds."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g) > 1]
    dof = sum(len(g) - 1 for g in groups)
    return float(sum(g.var(ddof=1) * (len(g) - 1) for g in groups) / dof) if dof else float("nan")


def gain_per_decade(params: Sequence[float], accuracy: Sequence[float]) -> float:
    """Least-squares slope of accuracy against log10(parameters): the gain per tenfold."""
    x = np.log10(np.asarray(params, dtype=float))
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan")
    return float(np.polyfit(x, np.asarray(accuracy, dtype=float), 1)[0])
