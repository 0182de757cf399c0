"""Bilingual figures and tables for the run notebooks and the book.

Chinese glyphs come from Noto Sans CJK, shipped by the pinned
``noto-cjk-sans-otc`` package and registered with matplotlib on import, so no
system font is needed.  Figures are sized for one panel per row at the book's
text width (6.2 inches at 110 dpi, the article's width at 1280 px), with text of
at least 10 pt.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from pandas.io.formats.style import Styler

from .config import TrainConfig
from .data import CLASS_NAMES_EN, CLASS_NAMES_ZH
from .formats import MISSING, acc, acc_pm, count
from .models import layer_table
from .records import Record

if TYPE_CHECKING:
    import keras


def use_cjk_font() -> str:
    """Register the packaged Noto Sans CJK font and make it the default."""
    import noto_cjk_sans_otc

    path = next(Path(noto_cjk_sans_otc.__file__).parent.glob("*.tt[cf]"))
    font_manager.fontManager.addfont(str(path))
    family = "Noto Sans CJK TC"
    matplotlib.rcParams.update({"font.family": [family, "DejaVu Sans"],
                                "axes.unicode_minus": False, "font.size": 10.5,
                                "legend.fontsize": 10, "xtick.labelsize": 10,
                                "ytick.labelsize": 10, "figure.dpi": 110})
    return family


use_cjk_font()
# A missing glyph is a bug in a bilingual figure, never a warning to ignore.
warnings.filterwarnings("error", message=r".*Glyph .* missing from.*")

FIG_WIDTH = 6.2
CLASS_LABELS = [f"{zh} {en}" for zh, en in zip(CLASS_NAMES_ZH, CLASS_NAMES_EN)]
SPLIT_LABELS = {"val": "驗證 Validation", "public": "Public (PublicTest)",
                "private": "Private (PrivateTest)"}


# A cell that reads as a number: digits with separators, signs, ± spreads, units or a dash.
NUMERIC_CELL = re.compile(r"[\d\s.,:+\-−±%×/()ms—]*\d[\d\s.,:+\-−±%×/()ms—]*|—")


def table(frame: pd.DataFrame, formats: dict | None = None, index: bool = False) -> Styler:
    """The book's one table style: values formatted, numeric columns (and their headers)
    right-aligned in tabular figures and never wrapped, the row index hidden."""
    formats = formats or {}
    shown = frame.copy()
    for column, fmt in formats.items():
        shown[column] = shown[column].map(fmt)
    numeric = [i for i, c in enumerate(frame.columns)
               if len(shown) and shown[c].map(lambda v: bool(NUMERIC_CELL.fullmatch(str(v)))).all()]
    styler = frame.style.format(formats)
    if not index:
        styler = styler.hide(axis="index")
    styler = styler.set_table_styles(
        [{"selector": f"td.col{i}, th.col{i}", "props": "text-align: right; white-space: nowrap; "
          "font-variant-numeric: tabular-nums;"} for i in numeric]
        + [{"selector": "td, th", "props": "padding: 0.3em 0.75em;"}], overwrite=False)
    return styler


def settings_table(config: TrainConfig) -> Styler:
    """The settings a run trained with, one row each."""
    values = {k: v for k, v in config.to_dict().items() if v is not None and v != ""}
    frame = pd.DataFrame({"設定 Setting": list(values),
                          "值 Value": [str(v) for v in values.values()]})
    return table(frame)


def layer_summary(model: keras.Model) -> Styler:
    """The model layer by layer: type, output shape, parameters and multiply-adds."""
    frame = pd.DataFrame(layer_table(model))
    frame.columns = ["層 Layer", "類型 Type", "輸出 Output", "參數 Params", "乘加 MACs"]
    return table(frame, {"參數 Params": count, "乘加 MACs": count})


def learning_curves(record: Record) -> Figure:
    """Loss and accuracy per epoch, training (augmented) against validation."""
    h = record.history
    epochs = np.arange(1, len(h.get("loss", [])) + 1)
    fig, axes = plt.subplots(2, 1, figsize=(FIG_WIDTH, 6), sharex=True, layout="constrained")
    for ax, key, title in ((axes[0], "loss", "損失 Loss"), (axes[1], "accuracy", "準確率 Accuracy")):
        ax.plot(epochs, h.get(key, []), label="訓練（資料擴增後）Training (augmented)")
        ax.plot(epochs, h.get(f"val_{key}", []), label="驗證 Validation")
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
    axes[1].axvline(record.best_epoch, color="grey", ls=":", label="保留的 epoch · Epoch kept")
    axes[1].set_xlabel("Epoch")
    axes[1].legend()
    return fig


def scores_table(record: Record) -> Styler:
    """Accuracy on each split, one pass and with flip averaging."""
    frame = pd.DataFrame({
        "準確率 Accuracy": [record.accuracy(s) for s in SPLIT_LABELS],
        "翻轉平均 Flip-averaged": [record.accuracy(s, flip=True) for s in SPLIT_LABELS],
        "影像數 Images": [record.scores[s].n for s in SPLIT_LABELS],
    }, index=list(SPLIT_LABELS.values()))
    return table(frame, {"準確率 Accuracy": acc, "翻轉平均 Flip-averaged": acc,
                         "影像數 Images": count}, index=True)


def confusion_matrix(record: Record, split: str = "private", ax: Axes | None = None) -> Figure:
    """Row-normalised confusion matrix in percent: each row is one true class."""
    import seaborn as sns

    cm = np.asarray(record.scores[split].confusion_matrix, dtype=float)
    percent = 100 * cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(FIG_WIDTH, 5.6), layout="constrained")
    sns.heatmap(percent, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar=False,
                xticklabels=CLASS_LABELS, yticklabels=CLASS_LABELS, ax=ax,
                annot_kws={"size": 10})
    ax.set_xlabel("預測 Predicted")
    ax.set_ylabel("真實類別 True class")
    ax.tick_params(axis="x", rotation=45)
    ax.set_title(f"{SPLIT_LABELS[split]}：每列為真實類別的百分比 Row percentages")
    return ax.figure


def confusion_matrices(record: Record) -> list[Figure]:
    """Public and Private confusion matrices, one figure each."""
    return [confusion_matrix(record, split) for split in ("public", "private")]


FAMILY_STYLE = {
    "mobilenet": ("#1f6fb4", "o", "MobileNet（深度可分離）depthwise-separable"),
    "plain_cnn": ("#c7362b", "s", "一般 CNN（HW8 架構）plain CNN, HW8 topology"),
    "hw3_scaled": ("#e08a0b", "^", "HW3 CNN 與縮小版 HW3 CNN and shrunk"),
}
REFERENCE_LABELS = {"hw3_cnn": "參考 HW3 ref.", "hw8_mobilenet": "參考 HW8 ref.",
                    "small_cnn": "參考小 CNN ref. small CNN"}
# One accuracy range for every curve, so the pages compare at a glance.
ACCURACY_RANGE = (0.2, 0.75)


def _short_count(x: float, _=None) -> str:
    """8k, 56k, 1.5M: a count as a tick label."""
    for size, unit in ((1e6, "M"), (1e3, "k")):
        if x >= size:
            return f"{x / size:.3g}{unit}"
    return f"{x:.3g}"


def readable_log_ticks(axis) -> None:
    """Log-axis ticks at 1, 2 and 5 of each decade, labelled 8k, 50k, 1M, without the
    crowded minor labels matplotlib puts on a narrow range."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(_short_count))
    axis.set_minor_formatter(ticker.NullFormatter())


def budget_figure(points: pd.DataFrame, curves: list[str], reference: dict | None = None,
                  x: str = "params") -> Figure:
    """Private accuracy against parameters (log scale), one line per family, mean ± std
    over seeds as error bars, the reference report's points as grey crosses."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 5.6), layout="constrained")
    for curve in curves:
        sub = points[points.curve == curve].sort_values(x)
        if sub.empty:
            continue
        color, marker, label = FAMILY_STYLE[curve]
        ax.errorbar(sub[x], sub.private, yerr=sub.private_std.fillna(0), color=color,
                    marker=marker, ms=7, capsize=3, lw=1.6, label=label)
    ax.set_xscale("log")
    for key, ref in (reference or {}).items():
        ax.scatter([ref.params], [ref.private], marker="X", s=90, color="#555555", zorder=5,
                   label="參考報告 Reference report" if key == next(iter(reference)) else None)
    low, high = np.log10(ax.get_xlim())
    for key, ref in (reference or {}).items():
        right_half = np.log10(ref.params) > (low + high) / 2
        # Curves rise to the right: a label above-left of a right-hand marker and below-right
        # of a left-hand one stays clear of the line the marker sits on.
        ax.annotate(REFERENCE_LABELS[key], (ref.params, ref.private), fontsize=10,
                    xytext=(-8, 6) if right_half else (10, -13), textcoords="offset points",
                    ha="right" if right_half else "left", va="bottom" if right_half else "top",
                    color="#333333")
    readable_log_ticks(ax.xaxis)
    ax.set_ylim(*ACCURACY_RANGE)
    ax.set_xlabel("參數量 Parameters" if x == "params" else "每張影像乘加數 Multiply-adds per image")
    ax.set_ylabel("Private 準確率 accuracy")
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncol=1, frameon=False)
    return fig


def per_class_figure(table: pd.DataFrame) -> Figure:
    """Recall of each class, labelled with its number of training images."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 3.8), layout="constrained")
    labels = [f"{zh} {en}" for zh, en in zip(table.class_zh, table.class_en)]
    bars = ax.barh(labels, table.recall.fillna(0), color="#1f6fb4")
    for bar, count, recall in zip(bars, table.train_images, table.recall):
        text = f"{recall:.0%} · {count:,} 張 images" if np.isfinite(recall) else f"{count:,} 張"
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2, text,
                va="center", fontsize=10)
    ax.set_xlim(0, 1.15)
    ax.invert_yaxis()
    ax.set_xlabel("Private 召回率 Recall（每類答對的比例 share of each class predicted correctly）")
    return fig


def parameter_split_figure(splits: pd.DataFrame) -> Figure:
    """Each family's parameters at one budget, split into convolutions and the dense head."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 2.8), layout="constrained")
    names = [FAMILY_STYLE[f][2] for f in splits.family]
    ax.barh(names, splits.conv_params, color="#1f6fb4", label="卷積層 Convolutions")
    ax.barh(names, splits.dense_params, left=splits.conv_params, color="#bbbbbb",
            label="Flatten 之後的全連接層 Dense layers after Flatten")
    ax.invert_yaxis()
    ax.set_xlabel("參數量 Parameters")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=1, frameon=False)
    return fig


def empty_figure(height: float = 2.0) -> Figure:
    """A placeholder for a figure whose runs have not finished."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, height), layout="constrained")
    ax.axis("off")
    ax.text(0.5, 0.5, "尚未訓練完成 · Not trained yet", ha="center", va="center", fontsize=12,
            color="#666666")
    return fig


NOT_TRAINED = f"{MISSING} 尚未訓練 not trained yet"


def points_table(points: pd.DataFrame, curve: str, knob: str,
                 untrained: pd.DataFrame | None = None) -> Styler:
    """A curve's points, Private first: mean ± std over seeds, the model's size and knob;
    the ``untrained`` models (``analysis.untrained_models``) take their place as dashes."""
    sub = points[points.curve == curve]
    waiting = (untrained[untrained.curve == curve] if untrained is not None
               else pd.DataFrame(columns=["params", "knob"]))
    if sub.empty and waiting.empty:
        return table(pd.DataFrame({"Private": [NOT_TRAINED]}))
    rows = [{"Private": acc_pm(p.private, p.private_std), "params": p.params, knob: f"{p.knob:.4g}",
             "種子 Seeds": int(p.seeds), "Public": acc_pm(p.public, p.public_std)}
            for p in sub.itertuples()]
    rows += [{"Private": NOT_TRAINED, "params": w.params, knob: f"{w.knob:.4g}",
              "種子 Seeds": 0, "Public": MISSING} for w in waiting.itertuples()]
    frame = pd.DataFrame(rows).sort_values("params", kind="stable")
    frame.insert(1, "參數 Params", [count(n) for n in frame.pop("params")])
    return table(frame)


FORMAT_MARKERS = {"keras_float32": ("o", "Keras float32"), "litert_float32": ("s", "LiteRT float32"),
                  "litert_float16": ("D", "LiteRT float16"),
                  "litert_dynamic_int8": ("v", "LiteRT 動態 int8 dynamic-range int8"),
                  "litert_int8": ("^", "LiteRT 全整數 int8 full-integer int8")}


def bytes_figure(table: pd.DataFrame, y: str = "private", reference: float | None = None) -> Figure:
    """Private accuracy (or latency) against file size: colour is the family, marker the
    format; ablations (trained off the curves' recipe) are hollow."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 5.8), layout="constrained")
    for curve, (color, _, label) in FAMILY_STYLE.items():
        sub = table[table.curve == curve]
        if len(sub):
            ax.scatter([], [], color=color, marker="o", label=label)
        for fmt, (marker, _) in FORMAT_MARKERS.items():
            part = sub[sub.format == fmt]
            on_curve = part.ablation == ""
            ax.scatter(part.bytes[on_curve], part[y][on_curve], color=color, marker=marker, s=42,
                       alpha=0.85)
            ax.scatter(part.bytes[~on_curve], part[y][~on_curve], facecolors="none",
                       edgecolors=color, marker=marker, s=42, linewidths=1.3)
    for fmt, (marker, label) in FORMAT_MARKERS.items():
        ax.scatter([], [], color="#777777", marker=marker, label=label)
    if (table.ablation != "").any():
        ax.scatter([], [], facecolors="none", edgecolors="#777777", marker="o",
                   label="空心：消融實驗 hollow: ablation")
    if reference is not None:
        ax.axhline(reference, color="#555555", ls="--", lw=1,
                   label="參考報告 HW8 Private reference HW8")
    ax.set_xscale("log")
    readable_log_ticks(ax.xaxis)
    ax.set_xlabel("檔案大小（位元組）File size (bytes)")
    if y == "private":
        ax.set_ylim(*ACCURACY_RANGE)
        ax.set_ylabel("Private 準確率 accuracy")
    else:
        ax.set_yscale("log")
        from matplotlib import ticker
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_ylabel("單張影像延遲（毫秒，中位數）Latency per image (ms, median)")
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=9.5)
    return fig
