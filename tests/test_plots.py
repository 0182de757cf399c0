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


def test_text_in_book_figures_stays_legible_on_a_phone():
    import matplotlib

    # A 5.2-inch figure shown 360 px wide: 10-pt text must stay at least 9 px high.
    scale = 360 / (plots.FIG_WIDTH * 72)
    sizes = [matplotlib.rcParams[k] for k in ("font.size", "legend.fontsize",
                                               "xtick.labelsize", "ytick.labelsize")]
    assert min(sizes) * scale >= 9, (sizes, scale)


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
    # Named first, in both languages; seeds of the control and of its base.
    assert list(frame.columns)[:3] == ["對照 Control", "參數 Params", "基準 Base"]
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
