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
