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



def paired_difference(hits_a: Sequence[np.ndarray], hits_b: Sequence[np.ndarray]) -> Difference:
    """A's accuracy minus B's on the same images, each given as one hit array per seed.

    The image part of the error is the spread of the per-image difference of the
    seed-averaged hits; the seed part is each side's spread over seeds divided
    by its number of seeds (zero with one seed); the two add in quadrature.
    """
    a = np.mean([np.asarray(h, dtype=float) for h in hits_a], axis=0)
    b = np.mean([np.asarray(h, dtype=float) for h in hits_b], axis=0)
    if a.shape != b.shape:
        raise ValueError(f"the two sides were scored on different images ({a.shape} vs {b.shape})")
    d = a - b
    image_var = d.var(ddof=1) / len(d)
    seed_var = sum(np.var([h.mean() for h in side], ddof=1) / len(side)
                   for side in (hits_a, hits_b) if len(side) > 1)
    return Difference(float(d.mean()), float(np.sqrt(image_var + seed_var)))


def gain_per_decade(params: Sequence[float], accuracy: Sequence[float]) -> float:
    """Least-squares slope of accuracy against log10(parameters): the gain per tenfold."""
    x = np.log10(np.asarray(params, dtype=float))
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan")
    return float(np.polyfit(x, np.asarray(accuracy, dtype=float), 1)[0])
