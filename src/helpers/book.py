"""What the book's pages share: the loaded results, number formats and gluing.

The pages write their own sentences; this module only turns numbers into the
text the sentences glue in. The formats themselves live in ``formats`` (the
plots' tables use them too) and are offered here so a page imports one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .config import TrainConfig, load_plan
from .formats import MISSING, acc, acc_pm, count, finite, points, ratio, ref_acc
from .records import Record, load_records

__all__ = ["MISSING", "Results", "acc", "acc_pm", "count", "glue_all", "points", "ratio",
           "ref_acc", "results", "signed_gap"]


@dataclass(frozen=True)
class Results:
    """The plan and the records the book was built from."""

    plan: list[TrainConfig]
    records: list[Record]


@cache
def results() -> Results:
    """Read ``sweep.yml`` and ``results/`` once per page."""
    return Results(load_plan(), load_records())


def glue_all(values: dict[str, object]) -> None:
    """Glue every value as text for ``{glue:text}`` (nothing shown where it is defined)."""
    from myst_nb import glue

    for key, value in values.items():
        glue(key, value, display=False)


def signed_gap(x: float | None, more_zh: str, less_zh: str, more_en: str,
               less_en: str) -> tuple[str, str]:
    """A difference as words: "高 1.23 個百分點" / "1.23 percentage points above", or a dash."""
    if not finite(x):
        return MISSING, MISSING
    size = points(x, signed=False)
    return ((f"{more_zh} {size} 個百分點", f"{size} percentage points {more_en}") if x >= 0
            else (f"{less_zh} {size} 個百分點", f"{size} percentage points {less_en}"))
