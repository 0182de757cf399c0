"""What the book's pages share: the loaded results, number formats, gluing and claim checks.

The pages write their own sentences in Markdown; this module turns numbers into
the text the sentences glue in, and :func:`expect` guards each qualitative claim
of the prose: when the results no longer support a sentence, the build stops and
names the page, the paragraph and the claim, so a person rewrites it.  The
formats themselves live in ``formats`` (the plots' tables use them too) and are
offered here so a page imports one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .config import TrainConfig, load_plan
from .formats import MISSING, acc, acc_pm, count, finite, points, ratio, ref_acc
from .records import Record, load_records, teacher_fingerprint

__all__ = ["MISSING", "ClaimError", "Results", "acc", "acc_pm", "count", "current", "expect",
           "glue_all", "glue_facts", "pending", "points", "ratio", "ref_acc", "results"]


class ClaimError(AssertionError):
    """A sentence of a page that the results contradict."""


def expect(holds: bool | None, claim: str) -> None:
    """Guard one claim of a page's prose, named as "page, paragraph: 'the words'".

    ``None`` means the results the claim rests on are not there yet: nothing is checked
    (the numbers show as dashes and the page says the results are missing)."""
    if holds is None:
        return
    if not holds:
        raise ClaimError(f"{claim}: the results contradict this sentence; rewrite it "
                         "for the results the book now has")


@dataclass(frozen=True)
class Results:
    """The plan and the records the book was built from."""

    plan: list[TrainConfig]
    records: list[Record]


def current(plan: list[TrainConfig], records: list[Record]) -> Results:
    """The plan and the records of its points as it now has them, as the sweep judges them: a
    record trained under a config the plan has since changed, of a point it no longer lists,
    or of a student whose teacher has been trained again since, is left out until the sweep
    retrains it, so no page mixes it into a mean."""
    wanted = {c.run_id: c for c in plan}
    kept = {r.run_id: r for r in records if wanted.get(r.run_id) == r.config}

    def taught_by_current(record: Record) -> bool:
        teachers = [kept.get(t) for t in record.config.teachers]
        return None not in teachers and teacher_fingerprint(teachers) == record.teacher_fingerprint

    return Results(plan, [r for r in kept.values()
                          if not r.config.teacher or taught_by_current(r)])


@cache
def results() -> Results:
    """Read ``sweep.yml`` and ``results/`` once per page."""
    return current(load_plan(), load_records())


def glue_all(values: dict[str, object]) -> None:
    """Glue every value as text for ``{glue:text}`` (nothing shown where it is defined)."""
    from myst_nb import glue

    for key, value in values.items():
        glue(key, value, display=False)


def glue_facts(facts: dict, **extra: object) -> None:
    """Glue a page's facts (``helpers.facts``), each number in the format its type gives it,
    and any ``extra`` values (figures, tables) as they are."""
    glue_all(facts.texts() | extra)


def pending(untrained: int, wanted: int) -> tuple[str, str]:
    """The one line a page shows while some of its models are not trained: how many, and
    that dashes mark them (empty when every model is there)."""
    if not untrained:
        return "", ""
    return (f"本頁 {wanted} 個模型中還有 {untrained} 個沒訓練完，表中以「—」標出，"
            "文中的數字也暫以「—」代替。",
            f"{untrained} of this page's {wanted} models are not trained yet: dashes stand for "
            "their numbers in the tables and the text.")
