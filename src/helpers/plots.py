"""Bilingual figures and tables for the run notebooks and the book.

Chinese glyphs come from Noto Sans CJK, shipped by the pinned
``noto-cjk-sans-otc`` package and registered with matplotlib on import, so no
system font is needed.  Figures are 4.2 inches wide at 96 dpi: shown at their
natural 400 CSS pixels on a desktop and shrunk to the 340 of a 390-pixel phone,
their 9.5-pt text stays at least 10 pixels high (tests/test_plots.py measures
it); notebooks draw them at twice the pixel density ("retina"), so they stay
sharp when scaled.
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

from . import vocabulary
from .analysis import CONTROL_BASE, CURVE_OF
from .config import TrainConfig, parse_run_id
from .data import CLASS_NAMES_EN, CLASS_NAMES_ZH
from .formats import MISSING, acc, acc_pm, count, points
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
                                "ytick.labelsize": 10, "figure.dpi": 96})
    return family


def use_retina_figures() -> None:
    """Inside IPython (a page or a run notebook), draw figures as PNGs of twice the pixel
    density, tagged with their natural size so that the page shows them at it."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


use_cjk_font()
use_retina_figures()
# A missing glyph is a bug in a bilingual figure, never a warning to ignore.
warnings.filterwarnings("error", message=r".*Glyph .* missing from.*")

FIG_WIDTH = 4.2
# The width a figure gets on a 390-pixel phone, inside the page's margins.
PHONE_WIDTH_PX = 340
CLASS_LABELS = [f"{zh} {en}" for zh, en in zip(CLASS_NAMES_ZH, CLASS_NAMES_EN)]
SPLIT_LABELS = {"val": "驗證 Validation", "public": "Public (PublicTest)",
                "private": "Private (PrivateTest)"}


# A cell that reads as a number: digits with separators, signs, ± spreads, units or a dash.
NUMERIC_CELL = re.compile(r"[\d\s.,:+\-−±%×/()ms—]*\d[\d\s.,:+\-−±%×/()ms—]*|—")


# The cell of the model a column's differences are taken against.
BASELINE = "基準 baseline"


def _model_name(family: str) -> str:
    """A family as a table names it, in both languages where they differ."""
    return vocabulary.both(vocabulary.family(family))


def table(frame: pd.DataFrame, formats: dict | None = None, index: bool = False) -> Styler:
    """The book's one table style: values formatted, numeric columns (and their headers)
    right-aligned in tabular figures, numbers never wrapped, the row index hidden."""
    formats = formats or {}
    shown = frame.copy()
    for column, fmt in formats.items():
        shown[column] = shown[column].map(fmt)
    def is_numeric(column: pd.Series) -> bool:
        """Every filled cell reads as a number (an empty cell or the baseline's own is none)."""
        cells = column.astype(str).astype(object).str.strip()
        filled = cells[~cells.isin(["", BASELINE])]
        return bool(len(filled)) and filled.map(lambda v: bool(NUMERIC_CELL.fullmatch(v))).all()

    numeric = [i for i, c in enumerate(frame.columns) if is_numeric(shown[c])]
    styler = frame.style.format(formats)
    if not index:
        styler = styler.hide(axis="index")
    styler = styler.set_table_styles(
        [{"selector": f"td.col{i}, th.col{i}", "props": "text-align: right; "
          "font-variant-numeric: tabular-nums;"} for i in numeric]
        # Numbers never break; a long bilingual header may, so it does not widen the table.
        + [{"selector": f"td.col{i}", "props": "white-space: nowrap;"} for i in numeric]
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
                annot_kws={"size": 11.5})
    ax.set_xlabel("預測 Predicted")
    ax.set_ylabel("真實類別 True class")
    ax.tick_params(axis="x", rotation=45)
    ax.set_title(f"{SPLIT_LABELS[split]}\n每列為真實類別的百分比 Row percentages")
    return ax.figure


def confusion_matrices(record: Record) -> list[Figure]:
    """Public and Private confusion matrices, one figure each."""
    return [confusion_matrix(record, split) for split in ("public", "private")]


# Each curve's colour and marker; its legend words come from ``vocabulary``.
FAMILY_STYLE = {
    "mobilenet": ("#1f6fb4", "o"), "plain_cnn": ("#c7362b", "s"), "hw3_scaled": ("#e08a0b", "^"),
    "separable_mobilenet": ("#6a3d9a", "D"), "hw3_nodrop": ("#2e8b57", "v"),
    "hw3_gap": ("#7f5539", "P"),
}
REFERENCE_LABELS = {"hw3_cnn": "參考 HW3 ref.", "hw8_mobilenet": "參考 HW8 ref.",
                    "small_cnn": "參考小 CNN\nref. small CNN"}
# One accuracy range for every curve, so the pages compare at a glance.
ACCURACY_RANGE = (0.2, 0.75)


def _short_count(x: float, _=None) -> str:
    """8k, 56k, 1.5M: a count as a tick label."""
    for size, unit in ((1e6, "M"), (1e3, "k")):
        if x >= size:
            return f"{x / size:.3g}{unit}"
    return f"{x:.3g}"


def readable_log_ticks(axis, subs: tuple[float, ...] = (1.0, 2.0, 5.0)) -> None:
    """Log-axis ticks at 1, 2 and 5 of each decade (or ``subs``, fewer for a narrow axis),
    labelled 8k, 50k, 1M, without the crowded minor labels matplotlib puts on a narrow
    range."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(_short_count))
    axis.set_minor_formatter(ticker.NullFormatter())


def budget_figure(points: pd.DataFrame, curves: list[str], reference: dict | None = None,
                  x: str = "params") -> Figure:
    """Private accuracy against parameters (log scale), one line per family, mean ± std
    over seeds as error bars, the reference report's points as grey crosses."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 5.6), layout="constrained")
    labels = []
    for curve in curves:
        sub = points[points.curve == curve].sort_values(x)
        if sub.empty:
            continue
        color, marker = FAMILY_STYLE[curve]
        ax.errorbar(sub[x], sub.private, yerr=sub.private_std.fillna(0), color=color,
                    marker=marker, ms=7, capsize=3, lw=1.6, label=vocabulary.legend(curve))
        labels += _knob_labels(sub, x, color, below=curve == "hw3_scaled")
    ax.set_xscale("log")
    for key, ref in (reference or {}).items():
        ax.scatter([ref.params], [ref.private], marker="X", s=90, color="#555555", zorder=1.9,
                   label="參考報告 Reference report" if key == next(iter(reference)) else None)
    readable_log_ticks(ax.xaxis)
    ax.set_ylim(*ACCURACY_RANGE)
    ax.set_xlabel("參數量 Parameters" if x == "params" else "每張影像乘加數 Multiply-adds per image")
    ax.set_ylabel("Private 準確率 accuracy")
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncol=1, frameon=False)
    place_labels(ax, _reference_labels(reference or {}) + labels)
    return fig


# Where a label may sit, in points from its point: (dx, dy, ha, va), tried in turn.
ABOVE, BELOW = (0, 6, "center", "bottom"), (0, -7, "center", "top")
RIGHT, LEFT = (7, -1, "left", "center"), (-7, -1, "right", "center")
CORNERS = [(5, 5, "left", "bottom"), (5, -5, "left", "top"), (-5, 5, "right", "bottom"),
           (-5, -5, "right", "top")]


def _drawn_points(ax: Axes) -> tuple[np.ndarray, np.ndarray]:
    """What a label must keep clear of, in display coordinates: every marker and scattered
    point as (x, y, radius), and samples every 2 pixels along every line and error bar."""
    from matplotlib.collections import LineCollection, PathCollection

    def along(xy: np.ndarray) -> list[np.ndarray]:
        return [np.linspace(a, b, max(2, int(np.hypot(*(b - a)) / 2)))
                for a, b in zip(xy[:-1], xy[1:])]

    px = ax.figure.dpi / 72  # display pixels per point
    markers, lines = [np.empty((0, 3))], [np.empty((0, 2))]
    for line in ax.get_lines():
        xy = line.get_transform().transform(np.column_stack(line.get_data()).astype(float))
        xy = xy[np.isfinite(xy).all(axis=1)]
        if line.get_marker() not in (None, "None", "", " "):
            markers.append(np.column_stack([xy, np.full(len(xy), line.get_markersize() * px / 2)]))
        if line.get_linestyle() not in ("None", "", " ") and len(xy) > 1:
            lines += along(xy)
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            xy = coll.get_offset_transform().transform(coll.get_offsets())
            size = np.resize(np.sqrt(coll.get_sizes() if len(coll.get_sizes()) else [36.0]),
                             len(xy))
            markers.append(np.column_stack([xy, size * px / 2]))
        elif isinstance(coll, LineCollection):
            for seg in coll.get_segments():
                lines += along(coll.get_transform().transform(seg))
    return np.vstack(markers), np.vstack(lines)


def place_labels(ax: Axes, labels: list[tuple[str, tuple[float, float], dict, list]]) -> None:
    """Write each label (text, its point, text properties, the offsets to try) at the first
    offset, or the same offset two or three times as far with a leader line, where it stays
    inside the axes, covers no marker, line or earlier label, and sits nearer its own point
    than any other marker; where none is clear, at the one that does least harm.  Call it
    last, once the figure's layout is final: it measures what is drawn."""
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    markers, lines = _drawn_points(ax)
    frame, taken = ax.get_window_extent(renderer), []

    def harm(box, own: np.ndarray, leader: bool) -> int:
        def gaps(points: np.ndarray) -> np.ndarray:
            """Distance from the box to each point (0 inside it)."""
            dx = np.maximum.reduce([box.x0 - points[:, 0], points[:, 0] - box.x1,
                                    np.zeros(len(points))])
            dy = np.maximum.reduce([box.y0 - points[:, 1], points[:, 1] - box.y1,
                                    np.zeros(len(points))])
            return np.hypot(dx, dy)

        outside = not (frame.x0 <= box.x0 and box.x1 <= frame.x1
                       and frame.y0 <= box.y0 and box.y1 <= frame.y1)
        to_markers = gaps(markers) - markers[:, 2]
        # Its own marker and error-bar caps stand on its point's vertical.
        others = np.abs(markers[:, 0] - own[0]) > 1
        nearer_other = others.any() and (to_markers[others].min()
                                         < gaps(own[None]).min() - 1)
        # Covering a label is worst, then a marker; then sitting nearer another point than
        # its own; a line through it costs least, yet more than a leader line.
        return (10_000 * outside + 1_000 * sum(box.overlaps(t) for t in taken)
                + 50 * int((to_markers < np.where(others, 2, 0)).sum())
                + 80 * (nearer_other and not leader)
                + 10 * int((gaps(lines) < 0.5).sum()))

    for text, point, props, near in labels:
        own = ax.transData.transform(point)
        tried = []
        for ring, (dx, dy, ha, va) in [(ring, o) for ring in (1, 2, 3) for o in near]:
            # Beyond the nearest ring a thin leader line ties the label to its point.
            leader = {"arrowprops": {"arrowstyle": "-", "lw": 0.7, "color": props.get(
                "color", "#333333"), "shrinkA": 1, "shrinkB": 4}} if ring > 1 else {}
            label = ax.annotate(text, point, xytext=(ring * dx, ring * dy),
                                textcoords="offset points", ha=ha, va=va, in_layout=False,
                                **leader, **props)
            cost = harm(_text_box(label, renderer), own, ring > 1) + 15 * (ring - 1)
            tried.append((cost, len(tried), label))
            if cost == 0:
                break
        best = min(tried, key=lambda t: t[:2])[2]
        for *_, label in tried:
            if label is not best:
                label.remove()
        taken.append(_text_box(best, renderer))


def _text_box(label, renderer):
    """Where a label's words are, without its leader line."""
    from matplotlib.text import Text

    label.update_positions(renderer)
    return Text.get_window_extent(label, renderer)


def _knob_labels(sub: pd.DataFrame, x: str, color: str, below: bool) -> list:
    """Each point's α or β, for ``place_labels``: above the line, or below it."""
    first = [BELOW, ABOVE] if below else [ABOVE, BELOW]
    return [(f"{row.knob:.3g}", (getattr(row, x), row.private),
             {"fontsize": 9.5, "color": color}, first + [RIGHT, LEFT] + CORNERS)
            for row in sub.itertuples()]


def _reference_labels(reference: dict) -> list:
    """The reference report's crosses, for ``place_labels``: beside the cross, left first."""
    return [(REFERENCE_LABELS[key], (ref.params, ref.private),
             {"fontsize": 9.5, "color": "#333333"}, [LEFT, RIGHT, *CORNERS, BELOW, ABOVE])
            for key, ref in reference.items()]


# Curves whose points carry their knob in the whole-range figure: label below the line?
LABELLED_KNOBS = {"mobilenet": False, "hw3_scaled": True}


def whole_range_figure(points: pd.DataFrame, reference: dict,
                       axes_of: tuple[str, ...] = ("params", "macs")) -> Figure:
    """Every family's Private accuracy over its whole range, against parameters (top) and
    multiply-adds per image (bottom), each point labelled with its α or β, the reference
    report's models as grey crosses on the parameter panel."""
    curves = [c for c in FAMILY_STYLE if (points.curve == c).any()]
    fig, axes = plt.subplots(len(axes_of), 1, squeeze=False, sharey=True, layout="constrained",
                             figsize=(FIG_WIDTH, 0.45 * len(curves) + 4.3 * len(axes_of)))
    axes = axes[:, 0]
    labels = {}
    for ax, x in zip(axes, axes_of):
        labels[ax] = []
        for curve in curves:
            sub = points[points.curve == curve].sort_values(x)
            color, marker = FAMILY_STYLE[curve]
            ax.errorbar(sub[x], sub.private, yerr=sub.private_std.fillna(0), color=color,
                        marker=marker, ms=6, capsize=2, lw=1.4,
                        label=vocabulary.legend(curve) if x == "params" else None)
            if curve in LABELLED_KNOBS:  # the plain CNN's odd α would crowd MobileNet's
                labels[ax] += _knob_labels(sub, x, color, below=LABELLED_KNOBS[curve])
        ax.set_xscale("log")
        readable_log_ticks(ax.xaxis)
        ax.set_ylim(*ACCURACY_RANGE)
        ax.set_ylabel("Private 準確率 accuracy")
        ax.grid(alpha=0.3, which="both")
    for key, ref in reference.items():
        axes[0].scatter([ref.params], [ref.private], marker="X", s=80, color="#555555",
                        zorder=1.9, label="參考報告 Reference report"
                        if key == next(iter(reference)) else None)
    labels[axes[0]] = _reference_labels(reference) + labels[axes[0]]
    axes[0].set_xlabel("參數量 Parameters（點旁數字為 α 或 β · labels: α or β）")
    if len(axes) > 1:
        axes[1].set_xlabel("每張影像乘加數 Multiply-adds per image")
    fig.legend(loc="outside lower center", ncol=1, frameon=False, fontsize=9.5)
    for ax, ax_labels in labels.items():
        place_labels(ax, ax_labels)
    return fig


def fit_figure(records: list[Record], run_ids: list[str]) -> Figure:
    """Training (augmented) and validation accuracy per epoch of a few runs, one panel each:
    how far each model fits its training data beyond what it gets right on held-out faces."""
    by_id = {r.run_id: r for r in records}
    shown = [by_id[i] for i in run_ids if i in by_id]
    if not shown:
        return empty_figure()
    fig, axes = plt.subplots(len(shown), 1, figsize=(FIG_WIDTH, 2.3 * len(shown) + 0.9),
                             sharex=True, sharey=True, layout="constrained", squeeze=False)
    # Down to the lowest tenth any curve reaches, so no early epoch falls off the panel.
    lowest = min(0.2, *(np.floor(10 * min(r.history[k])) / 10 for r in shown
                        for k in ("accuracy", "val_accuracy")))
    for ax, record in zip(axes[:, 0], shown):
        h = record.history
        epochs = np.arange(1, len(h["accuracy"]) + 1)
        curve = CURVE_OF[record.family]
        color = FAMILY_STYLE[curve][0]
        ax.plot(epochs, h["accuracy"], color=color, ls="--", lw=1.4,
                label="訓練（資料擴增後）Training (augmented)")
        ax.plot(epochs, h["val_accuracy"], color=color, lw=1.8, label="驗證 Validation")
        loss = ax.twinx()
        loss.plot(epochs, h["val_loss"], color="#777777", ls=":", lw=1.4)
        loss.set_ylabel("驗證損失\nVal. loss", color="#555555", fontsize=9.5)
        loss.tick_params(axis="y", colors="#555555")
        ax.plot([], [], color="#777777", ls=":", label="驗證損失（右軸）Validation loss (right axis)")
        ax.set_title(f"{vocabulary.both(vocabulary.family(record.family))}，"
                     f"{count(record.params)} 參數 params", fontsize=10, loc="left")
        ax.set_ylim(lowest, 1.0)
        ax.grid(alpha=0.3)
        ax.set_ylabel("準確率 Accuracy")
    axes[-1, 0].set_xlabel("Epoch")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=1, frameon=False)
    return fig


def per_class_figure(tables: dict[str, pd.DataFrame]) -> Figure:
    """Recall of each class for each model (``analysis.per_class``), side by side, each
    class labelled with its number of training images."""
    first = next(iter(tables.values()))
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.55 * len(first) * len(tables) / 2 + 1.6),
                           layout="constrained")
    y = np.arange(len(first))
    height = 0.8 / len(tables)
    colors = ("#e08a0b", "#1f6fb4", "#c7362b")
    for i, (name, table) in enumerate(tables.items()):
        bars = ax.barh(y + (i - (len(tables) - 1) / 2) * height, table.recall.fillna(0),
                       height=height, color=colors[i % len(colors)], label=name)
        for bar, recall in zip(bars, table.recall):
            if np.isfinite(recall):
                ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                        f"{recall:.0%}", va="center", fontsize=9.5)
    ax.set_yticks(y, [f"{zh} {en}\n{n:,} 張 images" for zh, en, n in
                      zip(first.class_zh, first.class_en, first.train_images)])
    ax.set_xlim(0, 1.08)
    ax.invert_yaxis()
    ax.set_xlabel("Private 召回率：每類答對的比例\nPrivate recall: share of each class right")
    fig.legend(loc="outside lower center", ncol=len(tables), frameon=False)
    return fig


def listing_scores(q1: pd.DataFrame) -> Styler:
    """Q1's two listings (``analysis.reference_models``): our Private and Public beside the
    reference report's (the parameter counts are in the answer and the stage table)."""
    frame = pd.DataFrame({
        "模型 Model": [_model_name(f) for f in q1.index],
        "Private": [acc_pm(m, sd) for m, sd in zip(q1.private, q1.private_std)],
        "參考 Ref. Private": [f"{x:.5f}" for x in q1.ref_private],
        "Public": [acc_pm(m, sd) for m, sd in zip(q1.public, q1.public_std)],
        "參考 Ref. Public": [f"{x:.5f}" for x in q1.ref_public],
    })
    return table(frame)


def int8_table(by_model: pd.DataFrame) -> Styler:
    """Each curve model's Private change from Keras to full-integer int8
    (``analysis.int8_by_model``), ± two paired standard errors, and its reset channels."""
    frame = pd.DataFrame({
        "模型 Model": by_model.family.map(_model_name),
        "參數 Params": by_model.params.map(count),
        "int8 變化 Change (pp)": [f"{points(c)} ± {points(2 * e, signed=False)}"
                                for c, e in zip(by_model.change, by_model.se)],
        "種子 Seeds": by_model.seeds,
        "重設通道（平均）Reset channels (mean)": by_model.calmed.round().astype(int),
    })
    return table(frame)


def variants_table(variants: pd.DataFrame) -> Styler:
    """Q1's variants (``analysis.variants``): one pass, flip averaging and each ablation."""
    names = {"one_pass": ("單次預測", "one pass"), "flip": ("翻轉平均", "flip averaging"),
             **vocabulary.ABLATIONS}
    frame = pd.DataFrame({
        "模型 Model": variants.family.map(_model_name),
        "變體 Variant": variants.variant.map(lambda v: vocabulary.both(names[v])),
        "Private": variants.private.map(acc),
        "變化（同種子）Change, same seeds (pp)": [
            BASELINE if v == "one_pass" else _lead(c, se) if np.isfinite(se) else points(c)
            for v, c, se in zip(variants.variant, variants.change, variants.change_se)],
        "驗證 Val": variants.val.map(acc), "種子 Seeds": variants.runs, "Epochs": variants.epochs,
    })
    return table(frame)


def stage_comparison(stages: dict[str, list[dict]]) -> Styler:
    """Listings side by side, stage by stage (``models.stage_table`` of each): the map each
    stage ends with, its parameters and its multiply-adds, one column group per model."""
    names = list(stages)
    labels = list(dict.fromkeys(s["stage"] for model in stages.values() for s in model))
    labels.sort(key=lambda label: (label == "head", label))
    columns = pd.MultiIndex.from_tuples([(name, metric) for name in names for metric in
                                         ("輸出 Output", "參數 Params", "乘加 MACs")])
    rows = []
    for label in labels:
        row = []
        for name in names:
            stage = next((s for s in stages[name] if s["stage"] == label), None)
            # A model with fewer stages has none there: said so, not dashed as if missing.
            row += ([stage["output"], count(stage["params"]), count(stage["macs"])] if stage
                    else ["無 none", "", ""])
        rows.append(row)
    index = pd.Index([label.replace("head", "頭 head") for label in labels], name="段 Stage")
    frame = pd.DataFrame(rows, index=index, columns=columns)
    return frame.style.set_table_styles(
        [{"selector": "td, th", "props": "padding: 0.3em 0.45em; white-space: nowrap;"},
         {"selector": "td", "props": "text-align: right; font-variant-numeric: tabular-nums;"},
         {"selector": "th.col_heading", "props": "text-align: right;"},
         {"selector": "th.col_heading.level0", "props": "text-align: center;"}])


def stage_share_figure(stages: dict[str, list[dict]]) -> Figure:
    """Where each model's parameters go: one bar per model, split by stage in per cent."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.7 * len(stages) + 1.7), layout="constrained")
    most = max(len(s) for s in stages.values())
    blues = plt.get_cmap("Blues")(np.linspace(0.35, 0.85, most - 1))
    for row, (name, model_stages) in enumerate(stages.items()):
        total = sum(s["params"] for s in model_stages)
        left = 0.0
        for i, stage in enumerate(model_stages):
            share = stage["params"] / total
            head = stage["stage"] == "head"
            ax.barh(row, share, left=left, color="#bbbbbb" if head else blues[i],
                    edgecolor="white")
            if share >= 0.07:
                ax.text(left + share / 2, row, f"{'頭 head' if head else stage['stage']}\n"
                        f"{share:.0%}", ha="center", va="center", fontsize=9.5,
                        color="black" if head or i < 2 else "white")
            left += share
    ax.set_yticks(range(len(stages)), list(stages))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("參數的比例（藍：各段卷積，灰：全連接的頭）"
                  "\nShare of parameters (blue: convolutions, grey: head)")
    return fig


def parameter_split_figure(splits: pd.DataFrame) -> Figure:
    """Each family's parameters at one budget, split into convolutions and the head after
    them (Flatten and dense layers, or the classifier alone after a pooling head)."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.62 * len(splits) + 1.5), layout="constrained")
    names = [_two_lines(vocabulary.family(f)) for f in splits.family]
    ax.barh(names, splits.conv_params, color="#1f6fb4", label="卷積層 Convolutions")
    ax.barh(names, splits.dense_params, left=splits.conv_params, color="#bbbbbb",
            label="卷積之後的全連接層 Dense layers after the convolutions")
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_short_count))
    ax.set_xlabel("參數量 Parameters")
    fig.legend(loc="outside lower center", ncol=1, frameon=False)
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


def _lead(value: float, se: float) -> str:
    """A difference in percentage points with two standard errors: "−0.23 ± 1.13"."""
    return MISSING if not np.isfinite(value) else f"{points(value)} ± {points(2 * se, signed=False)}"


def equal_budget_table(budgets: pd.DataFrame) -> Styler:
    """Q4's small budgets (``analysis.equal_budget``): each family's nearest model, with its
    lead over the plain CNN ± two standard errors."""
    shown = budgets.dropna(subset=["params"])
    frame = pd.DataFrame({
        "預算 Budget": shown.budget.map(count),
        "模型 Model": shown.curve.map(_model_name),
        "與一般 CNN 之差 vs plain CNN (pp)": [_lead(v, se) if c != "plain_cnn" else BASELINE
                          for c, v, se in zip(shown.curve, shown.lead_over_plain, shown.lead_se)],
        "Private": [acc_pm(m, sd) for m, sd in zip(shown.private, shown.private_std)],
        "參數 Params": shown.params.map(count),
        "種子 Seeds": shown.seeds.astype(int),
    })
    return table(frame)


def control_table(effects: pd.DataFrame, untrained: pd.DataFrame) -> Styler:
    """Q4's controls by size: each control and its size, then what a reader came for, the
    change control − base and the control's Private, then the base it is set against (both
    languages), the seeds of control and base, and its multiply-adds; the untrained ones as
    dashes."""
    rows = [{"對照 Control": _model_name(e.control), "參數 Params": e.params,
             "變化 Change (pp)": _lead(e.change, e.change_se),
             "Private": acc_pm(e.private, e.private_std), "基準 Base": _model_name(e.base),
             "種子 Seeds": f"{e.seeds} / {e.base_seeds}", "乘加 MACs": count(e.macs)}
            for e in effects.itertuples()]
    rows += [{"對照 Control": _model_name(w.curve), "參數 Params": w.params,
              "變化 Change (pp)": MISSING, "Private": MISSING,
              "基準 Base": _model_name(CONTROL_BASE[w.curve]), "種子 Seeds": MISSING,
              "乘加 MACs": count(w.macs)}
             for w in untrained.itertuples()]
    frame = pd.DataFrame(rows).sort_values(["參數 Params", "對照 Control"], kind="stable")
    return table(frame.assign(**{"參數 Params": frame["參數 Params"].map(count)})
                 ).set_table_styles([{"selector": "td.col0", "props": "min-width: 9em;"}],
                                    overwrite=False)


def _run_name(run_id: str) -> str:
    """A run as a reader names it: the model in both languages, its size and seed."""
    run = parse_run_id(run_id)
    return f"{_model_name(run.family)} {count(run.target_params)}（種子 seed {run.seed}）"


def _setting_value(setting: str, value: object) -> str:
    """One setting's value as a table shows it: degrees, per cents, named optimisers and
    precisions, and teachers as the models they are."""
    if value in ("", None):
        return "無 none"
    if str(value) in ("True", "False"):
        return "是 yes" if str(value) == "True" else "否 no"
    if setting == "rotation":
        return f"{float(value):g}°"
    if setting in ("shift", "zoom"):
        return f"{float(value):.0%}"
    if setting == "optimizer":
        return vocabulary.both(vocabulary.OPTIMIZERS[str(value)])
    if setting == "precision":
        return vocabulary.both(vocabulary.PRECISIONS[str(value)])
    if setting == "teacher":
        return " + ".join(_run_name(t) for t in str(value).split("+"))
    return str(value)


def ablation_settings_table(changes: pd.DataFrame) -> Styler:
    """What each ablation changes (``analysis.ablation_changes``): the model, the ablation,
    the setting, its value in the base (the curve point, or the ablation built on: the page
    says which) and in the ablation, and the seeds."""
    frame = pd.DataFrame({
        "模型 Model": [f"{_model_name(f)} {count(p)}" for f, p in zip(changes.family,
                                                                   changes.params)],
        "消融實驗 Ablation": changes.ablation.map(
            lambda a: vocabulary.both(vocabulary.ablation(a))),
        "設定 Setting": changes.setting.map(lambda k: vocabulary.both(vocabulary.setting(k))),
        "基準 Base": [_setting_value(k, v) for k, v in zip(changes.setting, changes.base_value)],
        "改為 Changed to": [_setting_value(k, v) for k, v in zip(changes.setting,
                                                             changes.ablation_value)],
        "種子 Seeds": changes.seeds,
    })
    return table(frame)


def untrained_table(status: pd.DataFrame) -> Styler:
    """The planned runs with no record yet (``analysis.plan_status``): one row per model,
    in the plan's order, with what kind of run it is (a curve point, a control, or which
    ablation) and the seeds still to train."""
    def kind(family: str, ablation: str) -> str:
        if ablation:
            return vocabulary.both(vocabulary.ablation(ablation))
        return vocabulary.both(vocabulary.RUN_KINDS["control" if family in CONTROL_BASE
                                                    else "curve"])

    grouped = status.groupby(["family", "params", "ablation"], sort=False, as_index=False).agg(
        seeds=("seed", lambda s: ", ".join(map(str, sorted(s)))))
    frame = pd.DataFrame({
        "模型 Model": grouped.family.map(_model_name),
        "參數 Params": grouped.params.map(count),
        "類型 Kind": [kind(f, a) for f, a in zip(grouped.family, grouped.ablation)],
        "種子 Seeds": grouped.seeds,
    })
    return table(frame)


def files_table(sizes: pd.DataFrame) -> Styler:
    """Every model's file in every format (``analysis.compression_table``): the model and
    its format first, then Private, bytes and latency, family by family and smallest first
    (formats by their technical names, alike in both languages)."""
    order = {f: i for i, f in enumerate(vocabulary.FAMILIES)}
    runs = sizes.run_id.map(parse_run_id)
    shown = (sizes.assign(order=sizes.family.map(order), seed=runs.map(lambda r: r.seed),
                          fmt_order=sizes.format.map(list(vocabulary.FORMATS).index))
             .sort_values(["order", "params", "ablation", "seed", "fmt_order"]))
    frame = pd.DataFrame({
        "模型 Model": [_model_name(f) + (f"（{vocabulary.both(vocabulary.ablation(a))}）"
                                         if a else "")
                       for f, a in zip(shown.family, shown.ablation)],
        "參數 Params": shown.params.map(count), "種子 Seed": shown.seed,
        "格式 Format": shown.format.map(lambda f: vocabulary.file_format(f)[1]),
        "Private": shown.private.map(acc), "位元組 Bytes": shown.bytes.map(count),
        "gzip 後 Gzipped": shown.gzip_bytes.map(count),
        "延遲 ms（中位數 / p90）Latency ms (median / p90)": [
            f"{m:.3f} / {p:.3f}" for m, p in zip(shown.latency_ms, shown.latency_p90_ms)],
    })
    return table(frame)


FORMAT_MARKERS = {"keras_float32": "o", "litert_float32": "s", "litert_float16": "D",
                  "litert_dynamic_int8": "v", "litert_int8": "^"}


def bytes_figure(table: pd.DataFrame, reference: float | None = None) -> Figure:
    """Private accuracy against file size: colour is the family, marker the format;
    ablations (trained off the curves' recipe) are hollow."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 7.4), layout="constrained")
    _formats_scatter(ax, table, "bytes", "private")
    if reference is not None:
        ax.axhline(reference, color="#555555", ls="--", lw=1,
                   label="參考報告 HW8 Private reference HW8")
    ax.set_xscale("log")
    readable_log_ticks(ax.xaxis)
    ax.set_xlabel("檔案大小（位元組）File size (bytes)")
    ax.set_ylim(*ACCURACY_RANGE)
    ax.set_ylabel("Private 準確率 accuracy")
    ax.grid(alpha=0.3, which="both")
    fig.legend(loc="outside lower center", ncol=1, frameon=False, fontsize=9.5)
    return fig


def speedup_figure(table: pd.DataFrame) -> Figure:
    """How much faster each format runs one image than the same model's LiteRT float32 file,
    against the model's parameters: a ratio within one model and one measuring run, so a
    machine busy at different times does not move it the way it moves absolute times."""
    base = table[table.format == "litert_float32"].set_index("run_id").latency_ms
    shown = table[table.format != "litert_float32"].assign(
        speedup=lambda t: t.run_id.map(base) / t.latency_ms)
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 7.4), layout="constrained")
    _formats_scatter(ax, shown, "params", "speedup",
                     formats=[f for f in FORMAT_MARKERS if f != "litert_float32"])
    ax.axhline(1, color="#555555", ls="--", lw=1, label="與 LiteRT float32 一樣快 as fast")
    ax.set_xscale("log")
    ax.set_yscale("log")
    readable_log_ticks(ax.xaxis, subs=(1.0, 3.0))  # the two-line y label narrows the axes
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("參數量 Parameters")
    ax.set_ylabel("比 LiteRT float32 快幾倍\nSpeed-up over LiteRT float32")
    ax.grid(alpha=0.3, which="both")
    fig.legend(loc="outside lower center", ncol=1, frameon=False, fontsize=9.5)
    return fig


def _two_lines(words: tuple[str, str]) -> str:
    """A short legend entry: the Chinese name over the English, or the one shared name."""
    return vocabulary.both(words).replace(" · ", "\n")


def _formats_scatter(ax: Axes, table: pd.DataFrame, x: str, y: str,
                     formats: list[str] | None = None) -> None:
    """Every model's files: colour the family, marker the format, hollow an ablation."""
    formats = formats or list(FORMAT_MARKERS)
    for curve, (color, _) in FAMILY_STYLE.items():
        sub = table[table.curve == curve]
        if len(sub):
            ax.scatter([], [], color=color, marker="o", label=_two_lines(vocabulary.family(curve)))
        for fmt in formats:
            part = sub[sub.format == fmt]
            on_curve = part.ablation == ""
            marker = FORMAT_MARKERS[fmt]
            ax.scatter(part[x][on_curve], part[y][on_curve], color=color, marker=marker, s=42,
                       alpha=0.85)
            ax.scatter(part[x][~on_curve], part[y][~on_curve], facecolors="none",
                       edgecolors=color, marker=marker, s=42, linewidths=1.3)
    for fmt in formats:
        ax.scatter([], [], color="#777777", marker=FORMAT_MARKERS[fmt],
                   label=_two_lines(vocabulary.file_format(fmt)))
    if (table.ablation != "").any():
        ax.scatter([], [], facecolors="none", edgecolors="#777777", marker="o",
                   label="空心：消融實驗 hollow: ablation")
