"""The book's tables and figures: numbers right-aligned and unwrapped, every family named
from the vocabulary, text legible on a phone."""

import re

import numpy as np
import pandas as pd

from helpers import plots
from helpers.formats import acc, count


def test_numeric_columns_are_right_aligned_and_their_numbers_unwrapped():
    frame = pd.DataFrame({"Private": ["0.4921 ± 0.0068", "—"], "模型 Model": ["MobileNet", "HW3"],
                          "參數 Params": [8099, 56135], "acc": [0.61, 0.62]})
    html = plots.table(frame, {"參數 Params": count, "acc": acc}).to_html()
    for cell in ("td", "th"):
        right = set(re.findall(cell + r"\.col(\d)[^{]*\{\s*text-align: right;", html))
        assert right == {"0", "2", "3"}, (cell, right)
    # Numbers never break; headers may, so a long one does not widen the table.
    assert set(re.findall(r"td\.col(\d) \{\s*white-space: nowrap", html)) == {"0", "2", "3"}
    assert not re.findall(r"th\.col\d \{[^}]*nowrap", html)
    assert "8,099" in html and "0.6100" in html
    assert 'class="row_heading' not in html  # the index is hidden


def test_book_figures_draw_every_family_with_its_vocabulary_name():
    import matplotlib.pyplot as plt

    from helpers import analysis, plots, vocabulary
    points = pd.DataFrame({
        "curve": ["mobilenet", "mobilenet", "hw3_scaled", "hw3_scaled", "hw3_nodrop"],
        "params": [8099, 56135, 43483, 55553, 43483], "macs": [7e5, 8.7e6, 1.3e6, 1.5e6, 1.3e6],
        "knob": [0.25, 1.0, 0.09, 0.11, 0.0938], "seeds": [3, 3, 1, 1, 1],
        "private": [0.49, 0.61, 0.45, 0.47, 0.5],
        "private_std": [0.01, 0.01, np.nan, np.nan, np.nan]})
    fig = plots.whole_range_figure(points, analysis.REFERENCE)
    labels = fig.legends[0].get_texts()
    assert {t.get_text() for t in labels} >= {vocabulary.legend("mobilenet"),
                                              vocabulary.legend("hw3_nodrop")}
    assert len(fig.axes) == 2 and fig.axes[1].get_xscale() == "log"
    # MobileNet's and the HW3 CNN's points carry their knob; the controls' would crowd them.
    knobs = [t.get_text() for t in fig.axes[0].texts]
    assert {"0.25", "1", "0.09", "0.11"} <= set(knobs) and "0.0938" not in knobs
    assert len(plots.whole_range_figure(points, analysis.REFERENCE, ("params",)).axes) == 1
    plt.close("all")


def _crowded_points() -> pd.DataFrame:
    """Two curves whose points crowd around the reference's small CNN, as Q3's do."""
    return pd.DataFrame({
        "curve": ["plain_cnn"] * 3 + ["hw3_scaled"] * 3,
        "params": [8271, 41065, 54876, 19761, 43483, 55553],
        "macs": [7e5, 6e6, 8e6, 6e5, 1.3e6, 1.5e6], "knob": [0.188, 0.516, 0.609, 0.06, 0.0938, 0.108],
        "seeds": [3, 1, 3, 1, 2, 3], "private": [0.50, 0.605, 0.61, 0.33, 0.41, 0.40],
        "private_std": [0.005, np.nan, 0.01, np.nan, 0.01, 0.026]})


def _shown_text_px(fig) -> float:
    """The height in CSS pixels of the figure's smallest text, once the page shrinks the
    figure (drawn at 96 dpi and cropped as the notebooks crop it) to a phone's width."""
    import io

    from matplotlib.text import Text
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    width = Image.open(buffer).size[0]
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    return min(sizes) * 96 / 72 * min(1.0, plots.PHONE_WIDTH_PX / width)


def test_text_in_book_figures_stays_legible_on_a_phone():
    import matplotlib.pyplot as plt

    from helpers import analysis

    points = _crowded_points()
    per_class = pd.DataFrame({"class_zh": ["生氣", "厭惡"], "class_en": ["Angry", "Disgust"],
                              "train_images": [3995, 436], "recall": [0.56, 0.33]})
    stages = [{"stage": "1", "params": 320}, {"stage": "2", "params": 4000},
              {"stage": "head", "params": 9000}]
    figures = {
        "whole range": plots.whole_range_figure(points, analysis.REFERENCE),
        "budget": plots.budget_figure(points, ["plain_cnn", "hw3_scaled"], analysis.REFERENCE),
        "per class": plots.per_class_figure({"HW3 CNN": per_class, "HW8 MobileNet": per_class}),
        "stage share": plots.stage_share_figure({"HW3 CNN": stages, "HW8 MobileNet": stages})}
    shown = {name: round(_shown_text_px(fig), 1) for name, fig in figures.items()}
    plt.close("all")
    assert min(shown.values()) >= 10, shown


def test_point_labels_keep_clear_of_each_other_and_of_every_marker():
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from helpers import analysis

    fig = plots.budget_figure(_crowded_points(), ["plain_cnn", "hw3_scaled"], analysis.REFERENCE)
    ax = fig.axes[0]
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    # Where the words are (a far label's leader line may cross others).
    boxes = {t.get_text(): Text.get_window_extent(t, renderer) for t in ax.texts}
    assert {"0.0938", "0.108", "0.516", "0.609"} <= set(boxes)
    assert any("ref. small CNN" in text for text in boxes)
    overlapping = [(a, b) for i, (a, box) in enumerate(boxes.items())
                   for b, other in list(boxes.items())[i + 1:] if box.overlaps(other)]
    assert not overlapping
    markers = np.vstack([line.get_transform().transform(
                             np.column_stack(line.get_data()).astype(float))
                         for line in ax.get_lines() if line.get_marker() not in ("None", "")]
                        + [c.get_offset_transform().transform(c.get_offsets())
                           for c in ax.collections if hasattr(c, "get_sizes") and
                           len(c.get_offsets())])
    covered = [text for text, box in boxes.items()
               if any(box.contains(x, y) for x, y in markers)]
    assert not covered
    plt.close("all")


def test_control_table_gives_every_control_its_multiply_adds_trained_or_not():
    effects = pd.DataFrame([{"control": "hw3_nodrop", "base": "hw3_scaled", "params": 43483,
                             "macs": 1305888, "seeds": 3, "base_seeds": 1, "private": 0.45,
                             "private_std": 0.01, "change": 0.05, "change_se": 0.01}])
    untrained = pd.DataFrame([{"curve": "hw3_gap", "family": "hw3_gap", "params": 43081,
                               "knob": 0.1, "macs": 2345678}])
    frame = plots.control_table(effects, untrained).data
    # By size, trained or not: the 43,081-parameter control first.
    assert frame["參數 Params"].tolist() == ["43,081", "43,483"]
    assert frame["乘加 MACs"].tolist() == ["2,345,678", "1,305,888"]
    assert (frame["基準 Base"] == "縮小的 HW3 CNN · shrunk HW3 CNN").all()
    assert frame["變化 Change (pp)"].tolist() == [plots.MISSING, "+5.00 ± 2.00"]
    # Named first, in both languages, then the change a reader came for; seeds of the
    # control and of its base.
    assert list(frame.columns)[:4] == ["對照 Control", "參數 Params", "變化 Change (pp)",
                                       "Private"]
    assert frame["對照 Control"].tolist() == [
        "縮小的 HW3 CNN，池化頭 · shrunk HW3 CNN with a pooling head",
        "縮小的 HW3 CNN，無 Dropout · shrunk HW3 CNN without dropout"]
    assert frame["種子 Seeds"].tolist() == [plots.MISSING, "3 / 1"]


def test_setting_values_read_as_their_units_and_teachers_as_models():
    changes = pd.DataFrame([
        {"family": "hw8_mobilenet", "params": 56135, "ablation": "full_aug", "base": "",
         "seeds": "0", "setting": "rotation", "base_value": "0", "ablation_value": "10"},
        {"family": "hw8_mobilenet", "params": 56135, "ablation": "recipe_distilled",
         "base": "recipe", "seeds": "0", "setting": "teacher", "base_value": "",
         "ablation_value": "mobilenet-639239-s0+plain_cnn-644437-s0"}])
    frame = plots.ablation_settings_table(changes).data
    assert frame["基準 Base"].tolist() == ["0°", "無 none"]
    assert frame["改為 Changed to"].tolist() == [
        "10°", "MobileNet 639,239（種子 seed 0） + 一般 CNN · plain CNN 644,437（種子 seed 0）"]
    assert frame["設定 Setting"].tolist() == ["最大旋轉 · rotation up to", "教師模型 · teacher"]


def test_untrained_runs_read_one_row_per_model_with_their_kind_and_seeds():
    status = pd.DataFrame([
        {"run_id": f"hw8_mobilenet-56135-s{s}-recipe", "family": "hw8_mobilenet",
         "params": 56135, "seed": s, "ablation": "recipe", "done": False} for s in (0, 2)] + [
        {"run_id": "hw3_gap-43081-s1", "family": "hw3_gap", "params": 43081, "seed": 1,
         "ablation": "", "done": False},
        {"run_id": "hw3_scaled-43483-s2", "family": "hw3_scaled", "params": 43483, "seed": 2,
         "ablation": "", "done": False}])
    frame = plots.untrained_table(status).data
    assert frame["種子 Seeds"].tolist() == ["0, 2", "1", "2"]
    assert frame["類型 Kind"].tolist() == ["調校過的訓練流程 · the tuned recipe",
                                         "對照實驗 · control", "曲線點 · curve point"]
    assert frame["參數 Params"].tolist() == ["56,135", "43,081", "43,483"]
