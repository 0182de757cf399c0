"""Numbers as the report prints them, shared by the plots' tables and the pages.

Four decimals for accuracy, thousands separators for counts, signed percentage
points for differences, and a dash for what has no result yet.
"""

from __future__ import annotations

import math

MISSING = "—"


def finite(x) -> bool:
    """False for None and NaN: what the formats show as a dash."""
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def acc(x: float | None) -> str:
    """An accuracy with four decimals, or a dash when there is none."""
    return f"{x:.4f}" if finite(x) else MISSING


def acc_pm(mean: float | None, std: float | None) -> str:
    """Mean ± standard deviation over seeds (just the mean for one seed)."""
    if not finite(mean):
        return MISSING
    if not finite(std):
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {std:.4f}"


def points(x: float | None, signed: bool = True, decimals: int = 2) -> str:
    """An accuracy difference in percentage points (two decimals; a slope fitted to a
    handful of points deserves fewer)."""
    if not finite(x):
        return MISSING
    return f"{100 * x:+.{decimals}f}" if signed else f"{100 * abs(x):.{decimals}f}"


def count(n: int | float | None) -> str:
    """A count with thousands separators."""
    return f"{int(n):,}" if finite(n) else MISSING


def ratio(x: float | None) -> str:
    """A ratio such as 85× (no decimals from ten upwards, one below)."""
    if not finite(x):
        return MISSING
    return f"{x:.0f}×" if x >= 10 else f"{x:.1f}×"


def ref_acc(x: float) -> str:
    """A score of the reference report as it prints it (five decimals)."""
    return f"{x:.5f}"
