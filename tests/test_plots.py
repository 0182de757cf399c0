from helpers import plots


def run(run_id, val):
    return {"run_id": run_id, "history": {"accuracy": [0.3, 0.4, 0.5], "val_accuracy": val}}


def test_compare_curves_draws_train_and_validation_per_run():
    fig = plots.compare_curves([run("a", [0.35, 0.45, 0.5]), run("b", [0.3, 0.5, 0.6])])
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == [
        "a 訓練 train", "a 驗證 validation", "b 訓練 train", "b 驗證 validation"]
    assert list(lines[3].get_ydata()) == [0.3, 0.5, 0.6]
    assert list(lines[3].get_xdata()) == [1, 2, 3]


def test_class_distribution_orders_splits_as_data_flows_not_by_name():
    counts = {name: {"class_counts": [i + 1] * 7, "n": 7 * (i + 1)}
              for i, name in enumerate(["private", "public", "train", "val"])}  # a record's order
    summary = {"class_names_en": list("ABCDEFG"), "class_names_zh": list("甲乙丙丁戊己庚"),
               "splits": counts}
    ax = plots.class_distribution(summary).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(plots.SPLIT_LABELS.values())
    first_bars = [ax.containers[k][0].get_height() for k in range(4)]
    assert first_bars == [3, 4, 2, 1]  # train, val, public, private
