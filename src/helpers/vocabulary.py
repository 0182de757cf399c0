"""The study's names in both languages, defined once for prose, tables and legends.

A page, a table or a figure that names a family, an ablation or a verdict takes
its words from here, so the same thing reads the same everywhere, and a new
family or ablation in ``sweep.yml`` gets its name in one place.
"""

from __future__ import annotations

from enum import StrEnum

# Each family by its short name: (Chinese, English).  The two listings are the knob-1
# points of the first and third curves.
FAMILIES: dict[str, tuple[str, str]] = {
    "hw3_cnn": ("HW3 CNN", "HW3 CNN"),
    "hw8_mobilenet": ("HW8 MobileNet", "HW8 MobileNet"),
    "mobilenet": ("MobileNet", "MobileNet"),
    "plain_cnn": ("一般 CNN", "plain CNN"),
    "hw3_scaled": ("縮小的 HW3 CNN", "shrunk HW3 CNN"),
    "separable_mobilenet": ("全可分離 MobileNet", "all-separable MobileNet"),
    "hw3_nodrop": ("縮小的 HW3 CNN，無 Dropout", "shrunk HW3 CNN without dropout"),
    "hw3_gap": ("縮小的 HW3 CNN，池化頭", "shrunk HW3 CNN with a pooling head"),
}
# What each curve is, for a figure's legend: the name and the one thing that sets it apart.
FAMILY_NOTES: dict[str, tuple[str, str]] = {
    "mobilenet": ("HW8 程式碼，以 α 縮放", "the HW8 listing, scaled by α"),
    "plain_cnn": ("HW8 拓樸，一般卷積", "HW8 topology, standard convolutions"),
    "hw3_scaled": ("HW3 程式碼，以 β 縮放", "the HW3 listing, scaled by β"),
    "separable_mobilenet": ("第一層之後每層都深度可分離", "every layer after the first separable"),
    "hw3_nodrop": ("拿掉 Dropout", "dropout removed"),
    "hw3_gap": ("全域平均池化取代全連接", "global average pooling for the dense layers"),
}
# The knob that scales each curve, as the legends and tables write it.
KNOBS: dict[str, str] = {"mobilenet": "α", "plain_cnn": "α", "separable_mobilenet": "α",
                         "hw3_scaled": "β", "hw3_nodrop": "β", "hw3_gap": "β"}

# Each ablation as the change it makes to its curve twin: (Chinese, English), the English a
# lower-case noun phrase that reads after "with".
ABLATIONS: dict[str, tuple[str, str]] = {
    "long": ("epoch 加倍", "twice the epochs"),
    "full_aug": ("加上旋轉與縮放", "rotations and zooms"),
    "distilled": ("以 HW3 CNN 蒸餾", "distillation from the HW3 CNN"),
    "recipe": ("調校過的訓練流程", "the tuned recipe"),
    "recipe_distilled": ("調校過的訓練流程，以集成模型蒸餾",
                         "the tuned recipe and distillation from an ensemble"),
}

# What a planned run is, where it is not an ablation (those go by their own names).
RUN_KINDS: dict[str, tuple[str, str]] = {
    "curve": ("曲線點", "curve point"),
    "control": ("對照實驗", "control"),
}
# Each training setting an ablation may change (``TrainConfig``'s fields), as a table names it.
SETTINGS: dict[str, tuple[str, str]] = {
    "epochs": ("epoch 數", "epochs"),
    "batch_size": ("批次大小", "batch size"),
    "learning_rate": ("最高學習率", "peak learning rate"),
    "weight_decay": ("權重衰減", "weight decay"),
    "warmup_epochs": ("暖身 epoch 數", "warm-up epochs"),
    "augment": ("資料擴增", "augmentation"),
    "shift": ("最大平移", "shift up to"),
    "rotation": ("最大旋轉", "rotation up to"),
    "zoom": ("最大縮放", "zoom up to"),
    "precision": ("運算精度", "precision"),
    "optimizer": ("最佳化器", "optimiser"),
    "label_smoothing": ("標籤平滑", "label smoothing"),
    "teacher": ("教師模型", "teacher"),
    "teacher_views": ("每張影像的固定擴增版本數", "fixed augmented views per image"),
}
OPTIMIZERS: dict[str, tuple[str, str]] = {
    "adamw": ("AdamW", "AdamW"),
    "sgd": ("SGD，Nesterov 動量", "SGD with Nesterov momentum"),
}
PRECISIONS: dict[str, tuple[str, str]] = {
    "float32": ("float32", "float32"),
    "mixed_bfloat16": ("混合 bfloat16", "mixed bfloat16"),
}

# Each file format of ``compression.FORMATS`` as a name: (Chinese, English).
FORMATS: dict[str, tuple[str, str]] = {
    "keras_float32": ("Keras float32", "Keras float32"),
    "litert_float32": ("LiteRT float32", "LiteRT float32"),
    "litert_float16": ("LiteRT float16", "LiteRT float16"),
    "litert_dynamic_int8": ("LiteRT 動態範圍 int8", "LiteRT dynamic-range int8"),
    "litert_int8": ("LiteRT 全整數 int8", "LiteRT full-integer int8"),
}


class Verdict(StrEnum):
    """How one model stands against another: a difference beyond two standard errors
    either way, a tie within them, or nothing measured yet."""

    AHEAD = "ahead"
    TIE = "tie"
    BEHIND = "behind"
    UNMEASURED = ""


VERDICTS: dict[Verdict, tuple[str, str]] = {
    Verdict.AHEAD: ("勝出", "ahead"), Verdict.TIE: ("分不出高下", "a tie"),
    Verdict.BEHIND: ("落後", "behind"), Verdict.UNMEASURED: ("—", "—"),
}


def _lookup(table: dict, name: str, where: str) -> tuple[str, str]:
    if name not in table:
        raise KeyError(f"{name!r} has no name in helpers.vocabulary.{where}; "
                       f"add its Chinese and English words there")
    return table[name]


def ablation(name: str) -> tuple[str, str]:
    """An ablation's (Chinese, English) name; an unknown one is refused by name."""
    return _lookup(ABLATIONS, name, "ABLATIONS")


def file_format(name: str) -> tuple[str, str]:
    """A file format's (Chinese, English) name; an unknown one is refused by name."""
    return _lookup(FORMATS, name, "FORMATS")


def setting(name: str) -> tuple[str, str]:
    """A training setting's (Chinese, English) name; an unknown one is refused by name."""
    return _lookup(SETTINGS, name, "SETTINGS")


def family(name: str) -> tuple[str, str]:
    """A curve's (Chinese, English) name; an unknown one is refused by name."""
    return _lookup(FAMILIES, name, "FAMILIES")


def both(words: tuple[str, str]) -> str:
    """A (Chinese, English) pair as one bilingual label: "一般 CNN · plain CNN", or the one
    name where both languages write it alike."""
    zh, en = words
    return zh if zh == en else f"{zh} · {en}"


# A legend line holds this many Latin letters, a Chinese character counting as two: what
# fits beside its marker in a phone-width figure.
LEGEND_LINE = 50


def legend(name: str) -> str:
    """A curve as a bilingual legend entry, "MobileNet（HW8 程式碼，以 α 縮放）" over
    "MobileNet: the HW8 listing, scaled by α", each language's note on a line of its own
    where the whole would not fit in a phone-width figure."""
    (zh, en), (note_zh, note_en) = family(name), _lookup(FAMILY_NOTES, name, "FAMILY_NOTES")
    chinese = f"{zh}（{note_zh}）"
    if sum(1 if c.isascii() else 2 for c in chinese) > LEGEND_LINE:
        chinese = f"{zh}\n（{note_zh}）"
    english = f"{en}: {note_en}"
    if len(english) > LEGEND_LINE:
        english = f"{en}:\n{note_en}"
    return f"{chinese}\n{english}"
