"""The recipe trials' validation table: what each trial changes, and validation scores only."""

from conftest import load_script
from helpers import records
from helpers.config import load_plan
from test_records import make_record

recipe_trials = load_script("recipe_trials")

PLAN = """defaults: {epochs: 3, rotation: 0, zoom: 0}
points:
  - {family: hw8_mobilenet, targets: [56135], settings: {ablation: trial_base}}
  - {family: hw8_mobilenet, targets: [56135],
     settings: {optimizer: sgd, learning_rate: 0.05, ablation: trial_sgd}}
"""


def test_each_trial_names_its_change_and_reads_validation_only(tmp_path):
    plan = tmp_path / "trials.yml"
    plan.write_text(PLAN)
    base, sgd = load_plan(plan)
    history = {"epoch": [0.0, 1.0, 2.0], "val_accuracy": [0.3, 0.5, 0.45],
               "accuracy": [0.25, 0.4, 0.55]}
    records.write_record(make_record(sgd, history=history, best_epoch=2, epochs_run=3), tmp_path)
    table = recipe_trials.trials_table(plan, tmp_path).set_index("trial")
    assert table.loc["trial_base", "changes"] == "(the curve recipe)"
    assert table.loc["trial_sgd", "changes"] == "learning_rate 0.05, optimizer sgd"
    assert table.loc["trial_sgd", "best val"] == 0.5
    assert table.loc["trial_sgd", "last val"] == 0.45
    assert abs(table.loc["trial_sgd", "gap"] - 0.10) < 1e-9
    assert not any("public" in c.lower() or "private" in c.lower() for c in table.columns)
