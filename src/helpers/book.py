"""What the book's pages share: the loaded results, number formats and gluing.

The pages write their own sentences; this module only turns numbers into the
text the sentences glue in (four decimals for accuracy, thousands separators,
signed percentage points) and marks what has no result yet with a dash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from .config import TrainConfig, load_plan
from .records import Record, load_records

MISSING = "—"


@dataclass(frozen=True)
class Results:
    """The plan and the records the book was built from."""

    plan: list[TrainConfig]
    records: list[Record]


@cache
def results() -> Results:
    """Read ``sweep.yml`` and ``results/`` once per page."""
    return Results(load_plan(), load_records())


def _finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def acc(x: float | None) -> str:
    """An accuracy with four decimals, or a dash when there is none."""
    return f"{x:.4f}" if _finite(x) else MISSING


def acc_pm(mean: float | None, std: float | None) -> str:
    """Mean ± standard deviation over seeds (just the mean for one seed)."""
    if not _finite(mean):
        return MISSING
    return f"{mean:.4f} ± {std:.4f}" if _finite(std) else f"{mean:.4f}"


def points(x: float | None, signed: bool = True, decimals: int = 2) -> str:
    """An accuracy difference in percentage points (two decimals; a slope fitted to a
    handful of points deserves fewer)."""
    if not _finite(x):
        return MISSING
    return f"{100 * x:+.{decimals}f}" if signed else f"{100 * abs(x):.{decimals}f}"


def count(n: int | float | None) -> str:
    """A count with thousands separators."""
    return f"{int(n):,}" if _finite(n) else MISSING


def ratio(x: float | None) -> str:
    """A ratio such as 85× (no decimals from ten upwards, one below)."""
    if not _finite(x):
        return MISSING
    return f"{x:.0f}×" if x >= 10 else f"{x:.1f}×"


def glue_all(values: dict[str, object]) -> None:
    """Glue every value as text for ``{glue:text}`` (nothing shown where it is defined)."""
    from myst_nb import glue

    for key, value in values.items():
        glue(key, value, display=False)


def ref_acc(x: float) -> str:
    """A score of the reference report as it prints it (five decimals)."""
    return f"{x:.5f}"


def signed_gap(x: float | None, more_zh: str, less_zh: str, more_en: str,
               less_en: str) -> tuple[str, str]:
    """A difference as words: "高 1.23 個百分點" / "1.23 percentage points above", or a dash."""
    if not _finite(x):
        return MISSING, MISSING
    size = points(x, signed=False)
    return ((f"{more_zh} {size} 個百分點", f"{size} percentage points {more_en}") if x >= 0
            else (f"{less_zh} {size} 個百分點", f"{size} percentage points {less_en}"))
