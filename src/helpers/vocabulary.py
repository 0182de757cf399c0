"""The study's names in both languages, defined once for prose, tables and legends.

A page, a table or a figure that names an ablation takes its words from here,
so the same variant reads the same everywhere, and a new ablation in
``sweep.yml`` gets its name in one place.
"""

from __future__ import annotations

# Each ablation as the change it makes to its curve twin: (Chinese, English), the English a
# lower-case noun phrase that reads after "with".
ABLATIONS: dict[str, tuple[str, str]] = {
    "long": ("epoch 加倍", "twice the epochs"),
    "full_aug": ("加上旋轉與縮放", "rotations and zooms"),
    "distilled": ("以 HW3 CNN 蒸餾", "distillation from the HW3 CNN"),
    "recipe": ("長訓練流程", "the long recipe"),
    "recipe_distilled": ("長訓練流程，以集成模型蒸餾",
                         "the long recipe and distillation from an ensemble"),
}


def ablation(name: str) -> tuple[str, str]:
    """An ablation's (Chinese, English) name; an unknown one is refused by name."""
    if name not in ABLATIONS:
        raise KeyError(f"ablation {name!r} has no name in helpers.vocabulary.ABLATIONS; "
                       f"add its Chinese and English words there")
    return ABLATIONS[name]
