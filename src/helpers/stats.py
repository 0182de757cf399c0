"""The statistics the report quotes: standard errors, paired differences, slopes, the front.

Accuracy on a test split of n images has a binomial standard error
sqrt(p(1-p)/n); two models scored on the same images differ by less noise
than two independent errors suggest, so differences use the per-image hits
(a paired error).  Several seeds add their own spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


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

    @property
    def beyond_noise(self) -> bool:
        """Whether the difference is more than two standard errors from zero."""
        return abs(self.value) > 2 * self.se


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


def interpolate_log(params: Sequence[float], accuracy: Sequence[float], at: float) -> float:
    """Accuracy read off a curve at ``at`` parameters, linear in log10(parameters);
    NaN outside the measured range."""
    x = np.log10(np.asarray(params, dtype=float))
    order = np.argsort(x)
    target = np.log10(at)
    if len(x) == 0 or not x[order][0] <= target <= x[order][-1]:
        return float("nan")
    return float(np.interp(target, x[order], np.asarray(accuracy, dtype=float)[order]))


def pareto_front(table: pd.DataFrame, cost: str = "params", score: str = "private") -> pd.DataFrame:
    """The rows no other row beats with a lower or equal cost and a higher score."""
    ordered = table.sort_values([cost, score], ascending=[True, False])
    best, keep = -np.inf, []
    for index, row in ordered.iterrows():
        if row[score] > best:
            keep.append(index)
            best = row[score]
    return ordered.loc[keep]
