"""Bilingual figures and tables for run notebooks and the book.

Chinese glyphs come from Noto Sans CJK, shipped by the pinned
``noto-cjk-sans-otc`` package and registered with matplotlib on import, so no
system font is needed and no glyph goes missing.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .data import CLASS_NAMES_EN, CLASS_NAMES_ZH, Split

FAMILY_LABELS = {
    "mobilenet": "MobileNet (depthwise-separable) 深度可分離",
    "plain_cnn": "Plain CNN (standard conv) 一般卷積",
    "hw3_cnn": "HW3 CNN",
    "hw8_mobilenet": "HW8 MobileNet",
}
FAMILY_COLORS = {"mobilenet": "#1f77b4", "plain_cnn": "#d62728",
                 "hw3_cnn": "#ff7f0e", "hw8_mobilenet": "#2ca02c"}


def use_cjk_font() -> str:
    """Register the packaged Noto Sans CJK font and make it the default."""
    import noto_cjk_sans_otc

    path = next(Path(noto_cjk_sans_otc.__file__).parent.glob("*.tt[cf]"))
    font_manager.fontManager.addfont(str(path))
    family = "Noto Sans CJK TC"
    matplotlib.rcParams["font.family"] = [family, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return family


use_cjk_font()
# A missing glyph is a bug in a bilingual figure, never a warning to ignore.
warnings.filterwarnings("error", message=r".*Glyph .* missing from.*")

CLASS_LABELS = [f"{zh}\n{en}" for zh, en in zip(CLASS_NAMES_ZH, CLASS_NAMES_EN)]


def learning_curves(record: dict) -> Figure:
    """Loss and accuracy per epoch, train against validation."""
    h = record["history"]
    epochs = np.arange(1, len(h.get("loss", [])) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, key, title in ((axes[0], "loss", "損失 Loss"), (axes[1], "accuracy", "準確率 Accuracy")):
        ax.plot(epochs, h.get(key, []), label="訓練 train")
        ax.plot(epochs, h.get(f"val_{key}", []), label="驗證 validation")
        ax.set_xlabel("週期 Epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[1].axvline(record["best_epoch"], color="grey", ls=":", label="最佳 best")
    axes[1].legend()
    fig.suptitle(record["run_id"])
    fig.tight_layout()
    return fig


def compare_curves(records: list[dict]) -> Figure:
    """Train and validation accuracy per epoch of several runs on one axis."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for i, record in enumerate(records):
        h, color = record["history"], f"C{i}"
        epochs = np.arange(1, len(h.get("accuracy", [])) + 1)
        ax.plot(epochs, h.get("accuracy", []), color=color, ls="--", alpha=0.7,
                label=f"{record['run_id']} 訓練 train")
        ax.plot(epochs, h.get("val_accuracy", []), color=color,
                label=f"{record['run_id']} 驗證 validation")
    ax.set_xlabel("週期 Epoch")
    ax.set_ylabel("準確率 Accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    return fig


def scores_table(record: dict) -> pd.DataFrame:
    """Accuracy on validation, Public (PublicTest) and Private (PrivateTest)."""
    rows = {"驗證 Validation": "val", "Public (PublicTest)": "public",
            "Private (PrivateTest)": "private"}
    return pd.DataFrame({
        "準確率 Accuracy": [record["scores"][k]["accuracy"] for k in rows.values()],
        "影像數 Images": [record["scores"][k]["n"] for k in rows.values()],
    }, index=list(rows)).style.format({"準確率 Accuracy": "{:.5f}"})


def confusion_matrices(record: dict, splits: Sequence[str] = ("public", "private")) -> Figure:
    """Row-normalised confusion matrices on the test splits."""
    import seaborn as sns

    fig, axes = plt.subplots(1, len(splits), figsize=(5.2 * len(splits), 4.6))
    for ax, split in zip(np.atleast_1d(axes), splits):
        cm = np.asarray(record["scores"][split]["confusion_matrix"], dtype=float)
        norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        sns.heatmap(norm, annot=True, fmt=".2f", cmap="Blues", vmin=0, vmax=1, cbar=False,
                    xticklabels=CLASS_LABELS, yticklabels=CLASS_LABELS, ax=ax,
                    annot_kws={"size": 8})
        ax.set_xlabel("預測 Predicted")
        ax.set_ylabel("真實 True")
        ax.set_title(f"{split.capitalize()} — 準確率 accuracy "
                     f"{record['scores'][split]['accuracy']:.4f}")
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def budget_scatter(table: pd.DataFrame, families: str | Sequence[str], x: str = "params",
                   ax: Axes | None = None, pareto: bool = False,
                   reference: dict | None = None) -> Axes:
    """Accuracy against parameters (or MACs), log x, mean ± std over seeds.

    ``table`` is ``report.points(...)``; Public and Private are both drawn.
    """
    from .report import pareto_front

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5), layout="constrained")
    for family in families:
        sub = table[table.family == family]
        if sub.empty:
            continue
        color = FAMILY_COLORS[family]
        ax.errorbar(sub[x], sub.private_mean, yerr=sub.private_std, fmt="o-", color=color,
                    capsize=3, label=f"{FAMILY_LABELS[family]} · Private")
        ax.errorbar(sub[x], sub.public_mean, yerr=sub.public_std, fmt="s--", color=color,
                    alpha=0.55, capsize=3, mfc="none", label=f"{FAMILY_LABELS[family]} · Public")
    if pareto and not table.empty:
        front = pareto_front(table[table.family.isin(families)], x)
        ax.plot(front[x], front.private_mean, color="black", lw=1, ls=":", marker="*",
                ms=11, mfc="gold", label="Pareto 前緣 frontier (Private)")
    for name, ref in (reference or {}).items():
        ax.scatter([ref["params"]], [ref["private"]], marker="X", s=70, color="grey", zorder=5)
        ax.annotate(f"參考 ref. {name}", (ref["params"], ref["private"]), fontsize=7,
                    xytext=(4, -10), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("參數量 Parameters" if x == "params" else "每張乘加數 MACs per image")
    ax.set_ylabel("準確率 Accuracy")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
              frameon=False)
    return ax


# The splits in the order data flows through them (a record stores them sorted by name).
SPLIT_LABELS = {"train": "訓練 train", "val": "驗證 validation",
                "public": "Public (PublicTest)", "private": "Private (PrivateTest)"}


def _split_order(name: str) -> int:
    return list(SPLIT_LABELS).index(name) if name in SPLIT_LABELS else len(SPLIT_LABELS)


def class_distribution(summary: dict) -> Figure:
    """Images per class in each split (from the recorded dataset summary)."""
    labels = [f"{zh} {en}" for zh, en in zip(summary["class_names_zh"],
                                             summary["class_names_en"])]
    splits = summary["splits"]
    frame = pd.DataFrame({SPLIT_LABELS.get(name, name): splits[name]["class_counts"]
                          for name in sorted(splits, key=_split_order)},
                         index=labels)
    ax = frame.plot.bar(figsize=(8, 3.6), rot=0, width=0.8)
    ax.set_ylabel("影像數 Images")
    ax.set_title("各類別影像數 Images per class")
    ax.legend(title="分割 Split")
    ax.tick_params(axis="x", labelsize=8)
    ax.figure.tight_layout()
    return ax.figure


def sample_faces(split: Split, per_class: int = 6, seed: int = 0) -> Figure:
    """A grid of training faces, one row per class."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(CLASS_NAMES_EN), per_class,
                             figsize=(per_class * 0.9, len(CLASS_NAMES_EN) * 0.95))
    for c, row in enumerate(axes):
        members = np.flatnonzero(split.labels == c)
        for ax, i in zip(row, rng.choice(members, size=per_class, replace=False)):
            ax.imshow(split.images[i, :, :, 0], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"{CLASS_NAMES_ZH[c]}\n{CLASS_NAMES_EN[c]}", rotation=0,
                          ha="right", va="center", fontsize=8)
    fig.tight_layout(pad=0.2)
    return fig


def pair_figure(left: dict, right: dict) -> Figure:
    """Two runs side by side: validation curves on top, Private confusion below."""
    import seaborn as sns

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.4), gridspec_kw={"height_ratios": [1, 1.5]})
    for col, record in enumerate((left, right)):
        h = record["history"]
        epochs = np.arange(1, len(h["loss"]) + 1)
        ax = axes[0, col]
        ax.plot(epochs, h["accuracy"], label="訓練 train")
        ax.plot(epochs, h["val_accuracy"], label="驗證 validation")
        ax.axvline(record["best_epoch"], color="grey", ls=":")
        ax.set_title(f"{FAMILY_LABELS[record['family']]}\n{record['run_id']} · "
                     f"{record['params']['total']:,} params", fontsize=9)
        ax.set_xlabel("週期 Epoch")
        ax.set_ylabel("準確率 Accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        cm = np.asarray(record["scores"]["private"]["confusion_matrix"], dtype=float)
        sns.heatmap(cm / np.maximum(cm.sum(axis=1, keepdims=True), 1), annot=True, fmt=".2f",
                    cmap="Blues", vmin=0, vmax=1, cbar=False, ax=axes[1, col],
                    xticklabels=CLASS_LABELS, yticklabels=CLASS_LABELS, annot_kws={"size": 7})
        axes[1, col].set_title(f"Private 混淆矩陣 confusion · "
                               f"{record['private_accuracy']:.4f}", fontsize=9)
        axes[1, col].set_xlabel("預測 Predicted")
        axes[1, col].set_ylabel("真實 True")
        axes[1, col].tick_params(labelsize=7)
    fig.tight_layout()
    return fig
