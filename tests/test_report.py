import json
import math

import numpy as np
import pandas as pd
import pytest

from helpers import report, training
from helpers._quiet import import_keras
from helpers.data import Split
from helpers.results import decode_classes, encode_classes, write_json_atomic


def se_of(p: float, n: int) -> float:
    """The binomial standard error, written out here so the tests do not trust report's."""
    return math.sqrt(p * (1 - p) / n)


def fake_record(family, target, seed, private, public=None, params=None):
    return {
        "run_id": f"{family}-{target}-s{seed}", "tag": "", "family": family,
        "target_params": target, "seed": seed, "width": 1.0,
        "params": {"total": params or target, "trainable": target, "non_trainable": 0},
        "macs": target * 100, "settings": {"limit": None, "epochs": 30, "patience": 6}, "val_accuracy": private,
        "public_accuracy": public if public is not None else private,
        "private_accuracy": private, "epochs_run": 3, "best_epoch": 2,
        "train_seconds": 10.0, "images_per_second": 100.0, "device": "CPU: test",
        "scores": {"val": {"n": 2871, "accuracy": private},
                   "private": {"n": 3589, "accuracy": private}},
    }


@pytest.fixture
def results(tmp_path):
    records = [
        fake_record("mobilenet", 42167, 0, 0.60), fake_record("mobilenet", 42167, 1, 0.62),
        fake_record("plain_cnn", 42167, 0, 0.50), fake_record("plain_cnn", 42167, 1, 0.54),
        fake_record("hw8_mobilenet", 56135, 0, 0.63), fake_record("plain_cnn", 56135, 0, 0.55),
        fake_record("mobilenet", 8000, 0, 0.45),
    ]
    for r in records:
        write_json_atomic(tmp_path / f"{r['run_id']}.json", r)
    quick = fake_record("mobilenet", 8000, 0, 0.2)
    quick["run_id"], quick["tag"] = "mobilenet-8000-s0-quick", "quick"
    quick["settings"] = {"limit": 256, "epochs": 1}
    write_json_atomic(tmp_path / "mobilenet-8000-s0-quick.json", quick)
    return tmp_path


def test_runs_skip_quick_runs_and_put_hw8_on_the_mobilenet_curve(results):
    runs = report.runs(results)
    assert len(runs) == 7
    assert set(runs.family) == {"mobilenet", "plain_cnn"}
    assert runs.loc[runs.model == "hw8_mobilenet", "family"].item() == "mobilenet"


def test_points_average_seeds(results):
    table = report.points(report.runs(results), "mobilenet").set_index("target")
    assert table.loc[42167, "seeds"] == 2
    assert table.loc[42167, "private_mean"] == pytest.approx(0.61)
    assert table.loc[42167, "private_std"] == pytest.approx(np.std([0.60, 0.62], ddof=1))
    assert table.loc[8000, "private_std"] == 0.0


def test_equal_budget_pairs_gap_and_uncertainty(results):
    pairs = report.equal_budget_pairs(report.runs(results), labels={}).set_index("target")
    assert list(pairs.index) == [42167, 56135]
    assert pairs.loc[56135, ["mobilenet_run", "plain_run"]].tolist() == [
        "hw8_mobilenet-56135-s0", "plain_cnn-56135-s0"]  # the HW8 model is MobileNet's run
    assert pairs.loc[42167, "gap"] == pytest.approx(0.61 - 0.52)
    se = pairs.loc[56135, "gap_se"]
    expected = math.sqrt(se_of(0.63, 3589) ** 2 + se_of(0.55, 3589) ** 2)
    assert se == pytest.approx(expected)
    binomial_only = math.sqrt(se_of(0.61, 3589) ** 2
                              + se_of(0.52, 3589) ** 2)
    assert pairs.loc[42167, "gap_se"] > binomial_only  # the seed spread adds to it


def add_variant(directory, base_id, tag, private, val, epochs=60, seed=None):
    record = {**report.runs(directory).set_index("run_id").loc[base_id, "record"]}
    record["seed"] = record["seed"] if seed is None else seed
    record.update(run_id=f"{base_id}-{tag}", tag=tag, private_accuracy=private, val_accuracy=val,
                  settings={**record["settings"], "epochs": epochs, "patience": 10},
                  train_seconds=7200.0)
    write_json_atomic(directory / f"{record['run_id']}.json", record)


def test_recipe_variants_pair_each_tagged_run_with_its_twin(results):
    add_variant(results, "hw8_mobilenet-56135-s0", "long", private=0.66, val=0.65)
    add_variant(results, "plain_cnn-56135-s0", "seed9", private=0.5, val=0.5, seed=9)  # no twin
    assert len(report.runs(results)) == 7  # variants stay off the curves
    table = report.recipe_variants(report.runs(results, include_tagged=True), labels={})
    assert table.variant_run.tolist() == ["hw8_mobilenet-56135-s0-long"]  # quick run left out too
    row = table.iloc[0]
    assert row.base_run == "hw8_mobilenet-56135-s0"
    assert row.val_gain == pytest.approx(0.65 - 0.63)
    assert row.private_gain == pytest.approx(0.66 - 0.63)
    assert row.variant_max_epochs == 60 and row.variant_hours == pytest.approx(2.0)
    verdict = report.recipe_verdict(table)
    assert "+2.00 points" in verdict["en"] and "+3.00 points" in verdict["en"]
    independent = math.hypot(se_of(0.65, 2871), se_of(0.63, 2871))
    assert row.val_gain_se == pytest.approx(independent) and not row.paired
    assert f"(standard error {independent * 100:.2f}; one seed each" in verdict["en"]
    assert "trained 3 epochs (against 3)" in verdict["en"]
    assert row.changed == "epochs 30 → 60, patience 6 → 10"
    assert "epochs 30 → 60, patience 6 → 10" in verdict["en"]
    assert "+2.00 個百分點" in verdict["zh"]
    assert report.recipe_verdict(table.iloc[:0])["en"].startswith("No recipe variant")
    waiting = report.variants_without_twin(report.runs(results, include_tagged=True))
    assert waiting == ["plain_cnn-56135-s0-seed9"]
    alone = report.recipe_verdict(table.iloc[:0], waiting)
    assert alone["en"] == ("plain_cnn-56135-s0-seed9 has been trained, but the untagged run to "
                           "compare with has no result yet.")
    assert "plain_cnn-56135-s0-seed9" in alone["zh"]
    both = report.recipe_verdict(table, waiting)["en"]
    assert "+2.00 points" in both and both.endswith("has no result yet.")


def test_summary_table_lists_every_point_and_the_hours(results, capsys):
    assert report.main(["--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "| mobilenet | 42,167 | 42,167 | 4,216,700 | 2 | 0.6100 ± 0.0141 | 0.6100 ± 0.0141 |" in out
    assert "| mobilenet | 8,000 | 8,000 | 800,000 | 1 | 0.4500 | 0.4500 |" in out
    assert "7 runs; 0.02 CPU hours, 0.00 GPU hours" in out
    assert report.main(["--results", str(results / "nothing-here")]) == 1


def test_binomial_standard_error():
    assert report.binomial_se(0.5, 100) == pytest.approx(0.05)
    assert report.binomial_se(0.65, 3589) == pytest.approx(math.sqrt(0.65 * 0.35 / 3589))


def test_pareto_front_keeps_only_undominated_points():
    table = pd.DataFrame({"params": [10, 20, 30, 40], "private_mean": [0.5, 0.45, 0.6, 0.58]})
    assert report.pareto_front(table, "params").params.tolist() == [10, 30]


def test_evaluation_batches_keep_their_order():
    images = np.arange(300, dtype=np.uint8).reshape(300, 1, 1, 1).repeat(48, 1).repeat(48, 2)
    labels = np.arange(300) % 7
    seen = np.concatenate([y.numpy() for _, y in
                           training.make_dataset(images, labels, 64, training=False)])
    assert np.array_equal(seen, labels)


def test_q4_verdict_follows_the_data():
    def pairs(rows):
        return pd.DataFrame(rows, columns=["target", "gap", "gap_se"])

    assert report.q4_verdict(pairs([]))["winner_en"] == "no pair yet"
    assert report.q4_verdict(pairs([(42167, 0.05, 0.01)]))["winner_en"] == "MobileNet wins"
    assert report.q4_verdict(pairs([(42167, -0.05, 0.01)]))["winner_en"] == "the plain CNN wins"
    tie = report.q4_verdict(pairs([(42167, 0.015, 0.01)]))
    assert tie["winner_en"].startswith("neither")
    trend = report.q4_verdict(pairs([(42167, 0.06, 0.01), (1500000, 0.01, 0.01)]))
    assert "shrinks from 6.00 to 1.00" in trend["trend_en"]
    assert "縮小" in trend["trend_zh"]
    # Q4 answers at the reference small CNN's budget when both families have it.
    headline = report.q4_verdict(pairs([(20000, -0.05, 0.01), (42167, 0.05, 0.01)]))
    assert headline["winner_en"] == "MobileNet wins"
    assert report.q4_headline(pairs([(20000, -0.05, 0.01), (42167, 0.05, 0.01)])).target == 42167
    assert report.q4_headline(pairs([(150000, 0.0, 0.01), (20000, -0.05, 0.01)])).target == 20000


def test_q4_trend_names_a_sign_change_and_a_steady_gap():
    def pairs(rows):
        return pd.DataFrame(rows, columns=["target", "gap", "gap_se"])

    flip = report.q4_verdict(pairs([(42167, 0.03, 0.01), (1500000, -0.03, 0.01)]))
    assert "changes sign, from +3.00 to -3.00" in flip["trend_en"] and "變號" in flip["trend_zh"]
    steady = report.q4_verdict(pairs([(42167, 0.03, 0.01), (150000, 0.03, 0.01)]))
    assert "stays at 3.00" in steady["trend_en"] and "維持" in steady["trend_zh"]
    # A sign change inside the noise is no sign change, and all-noise is no trend.
    fades = report.q4_verdict(pairs([(42167, 0.05, 0.01), (150000, -0.01, 0.01)]))
    assert "moves from +5.00 to -1.00 percentage points, a change of sign within two standard " \
        "errors, so no change of leader" in fades["trend_en"]
    assert "不算換了領先者" in fades["trend_zh"]
    noise = report.q4_verdict(pairs([(42167, 0.01, 0.01), (56135, -0.015, 0.01)]))
    assert "within two standard errors of zero at all 2 shared budgets" in noise["trend_en"]
    assert "量不出差距" in noise["trend_zh"]
    # Today's shape: the plain CNN ahead at both ends, beyond the noise only at the largest.
    lead = report.q4_verdict(pairs([(20000, -0.009, 0.008), (42167, -0.004, 0.006),
                                    (150000, -0.0195, 0.0074)]))
    assert lead["trend_en"] == ("from 20,000 to 150,000 parameters the plain CNN's lead stays about "
                                "the same (0.90 and 1.95 percentage points; the change is within two "
                                "standard errors). The gap is beyond two standard errors only at "
                                "150,000 parameters (the plain CNN ahead).")
    assert "一般 CNN 的領先大致不變（0.90 與 1.95 個百分點" in lead["trend_zh"]
    assert "150,000（一般 CNN 領先）" in lead["trend_zh"]
    grows = report.q4_verdict(pairs([(20000, -0.009, 0.004), (150000, -0.03, 0.004)]))
    assert "the plain CNN's lead grows from 0.90 to 3.00 percentage points" in grows["trend_en"]
    assert "一般 CNN 的領先由 0.90 擴大為 3.00" in grows["trend_zh"]
    both = report.q4_verdict(pairs([(20000, 0.08, 0.01), (150000, 0.03, 0.01)]))
    assert "MobileNet's lead shrinks" in both["trend_en"]
    assert "beyond two standard errors at every shared budget" in both["trend_en"]


def test_q4_error_note_says_when_the_seed_spread_is_missing(results):
    pairs = report.equal_budget_pairs(report.runs(results), labels={})  # 42,167: 2 seeds each
    assert report.q4_error_note(pairs)["en"].startswith("combining the seed spread")
    single = pairs[pairs.target == 56135]  # one seed each
    assert "each family has a single seed" in report.q4_error_note(single)["en"]
    assert "兩個家族都只訓練了一個種子" in report.q4_error_note(single)["zh"]
    mixed = single.assign(mobilenet_seeds=3)
    assert "the error is still understated" in report.q4_error_note(mixed)["en"]
    assert report.q4_error_note(pairs.iloc[:0]) == {"zh": "", "en": ""}


def test_curve_summary_counts_hw8_on_mobilenet_and_leaves_variants_off(results, monkeypatch):
    planned = pd.DataFrame([
        ("hw8_mobilenet-56135-s2", "hw8_mobilenet", 56135, 2, "", False),
        ("hw8_mobilenet-56135-s0-long", "hw8_mobilenet", 56135, 0, "long", False),
        ("plain_cnn-20000-s0", "plain_cnn", 20000, 0, "", False),
        ("mobilenet-8000-s0", "mobilenet", 8000, 0, "", True),
    ], columns=["run_id", "family", "target", "seed", "tag", "done"])
    monkeypatch.setattr(report, "planned_points", lambda: planned)
    assert report.missing_points() == ["hw8_mobilenet-56135-s2", "hw8_mobilenet-56135-s0-long",
                                       "plain_cnn-20000-s0"]
    assert report.missing_points(["mobilenet"]) == ["hw8_mobilenet-56135-s2"]
    summary = report.curve_summary(["mobilenet"], report.runs(results))
    assert summary == {"n_points": 3, "n_runs": 4, "best_private": "0.63000",
                       "best_params": "56,135", "missing_zh": "尚缺 1 個規劃中的點",
                       "missing_en": "1 planned point is still missing",
                       "precision_zh": "", "precision_en": ""}
    df = report.runs(results)
    df.loc[df.model == "hw8_mobilenet", "precision"] = "mixed_bfloat16"
    note = report.curve_summary(["mobilenet"], df)["precision_en"]
    assert note.startswith("The points of 56,135 parameters were trained with bfloat16")
    assert report.curve_summary(["plain_cnn"], df)["precision_en"] == ""
    df.loc[df.model == "mobilenet", "precision"] = "mixed_bfloat16"
    both = report.curve_summary(["mobilenet"], df)
    assert both["precision_en"].startswith("The points of 8,000, 42,167 and 56,135 parameters")
    assert both["precision_zh"].startswith("參數量為 8,000、42,167、56,135 的點")
    assert "the others in float32" not in both["precision_en"]  # there are none


def test_q3_draws_the_hw3_cnn_apart_from_its_counts(results):
    df = report.runs(results)  # the fixture has no HW3 CNN run
    assert report.hw3_aside(df)["hw3_aside_en"].endswith("it has none yet")
    hw3 = df[df.model == "plain_cnn"].iloc[[0]].assign(model="hw3_cnn", family="hw3_cnn")
    with_hw3 = pd.concat([df, hw3])
    assert "not counted here" in report.hw3_aside(with_hw3)["hw3_aside_en"]


def test_small_cnn_versus_compares_our_plain_cnn_at_its_budget():
    ref = report.REFERENCE["small_cnn"]
    table = pd.DataFrame([("plain_cnn", ref["params"], 3, 0.57063), ("plain_cnn", 20000, 1, 0.9),
                          ("mobilenet", ref["params"], 3, 0.9)],
                         columns=["family", "target", "seeds", "private_mean"])
    text = report.small_cnn_versus(table)
    gap = (0.57063 - ref["private"]) * 100
    assert text["small_cnn_en"].startswith(
        f"Our plain CNN at 42,167 parameters scores 0.57063 Private (mean of 3 seeds), "
        f"{gap:.2f} points above the reference report's {ref['private']:.5f}.")
    assert text["small_cnn_zh"].startswith("本研究的 42,167 參數一般 CNN Private 準確率為 0.57063")
    missing = report.small_cnn_versus(table.iloc[1:])
    assert missing == {"small_cnn_zh": "本研究的 42,167 參數一般 CNN 尚未有訓練結果。",
                       "small_cnn_en": "Our plain CNN at 42,167 parameters has no result yet."}


def test_evaluation_records_every_prediction_in_file_order():
    rng = np.random.default_rng(0)
    split = Split(rng.integers(0, 256, (40, 48, 48, 1), dtype=np.uint8), rng.integers(0, 7, 40))
    keras = import_keras()
    # A seeded linear model on centred pixels: its predictions vary image to image.
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Rescaling(1 / 255, -0.5),
                              keras.layers.Flatten(),
                              keras.layers.Dense(7, kernel_initializer=keras.initializers.
                                                 GlorotUniform(seed=0))])
    scores = training.evaluate(model, split, batch_size=16)
    predictions = decode_classes(scores["predictions"])
    assert predictions.size == 40 and len(set(predictions.tolist())) >= 4
    # Image by image, in file order: one-image datasets cannot be reordered.
    for i in range(0, 40, 3):
        alone = training.make_dataset(split.images[i:i + 1], split.labels[i:i + 1], 1,
                                      training=False)
        assert model.predict(alone, verbose=0).argmax() == predictions[i]
    assert scores["accuracy"] == pytest.approx((predictions == split.labels).mean())
    cm = np.zeros((7, 7), dtype=int)
    np.add.at(cm, (split.labels, predictions), 1)
    assert cm.tolist() == scores["confusion_matrix"]
    # Flip averaging: each face and its mirror image, probabilities added.
    mirrored = split.images[:, :, ::-1]
    averaged = (model.predict(split.images.astype("float32"), verbose=0)
                + model.predict(mirrored.astype("float32"), verbose=0)).argmax(axis=1)
    flipped = decode_classes(scores["flip"]["predictions"])
    assert flipped.tolist() == averaged.tolist() and (flipped != predictions).any()
    assert scores["flip"]["accuracy"] == pytest.approx((flipped == split.labels).mean())


def with_predictions(directory, labels, right_by_run):
    """Give fixture runs predictions: right on the images in ``right_by_run[run]``."""
    for run_id, right in right_by_run.items():
        path = directory / f"{run_id}.json"
        record = json.loads(path.read_text())
        predictions = np.where(right, labels, (labels + 1) % 7)
        record["scores"]["private"] = {"predictions": encode_classes(predictions)}
        record["private_accuracy"] = float(right.mean())
        write_json_atomic(path, record)


def test_equal_budget_gap_error_is_paired_when_predictions_are_recorded(results):
    n = 1000
    labels = np.arange(n) % 7
    easy = np.arange(n) < 600  # images every model gets right
    runs_42k = ["mobilenet-42167-s0", "mobilenet-42167-s1", "plain_cnn-42167-s0",
                "plain_cnn-42167-s1"]
    extra = {"mobilenet-42167-s0": 50, "mobilenet-42167-s1": 50,
             "plain_cnn-42167-s0": 0, "plain_cnn-42167-s1": 0}
    with_predictions(results, labels, {r: easy | ((np.arange(n) >= 600) & (np.arange(n) < 600 + extra[r]))
                                       for r in runs_42k})
    wanted = {"private": encode_classes(labels)}
    pairs = report.equal_budget_pairs(report.runs(results), labels=wanted).set_index("target")
    assert bool(pairs.loc[42167, "paired"]) and not bool(pairs.loc[56135, "paired"])
    assert pairs.loc[42167, "gap"] == pytest.approx(0.05)
    # 50 of 1,000 images differ, all in MobileNet's favour: sd of the per-image gap / sqrt(n).
    per_image = np.r_[np.ones(50), np.zeros(950)]
    expected = per_image.std(ddof=1) / math.sqrt(n)
    assert pairs.loc[42167, "gap_se"] == pytest.approx(expected)  # seeds agree: no spread
    independent = math.sqrt(se_of(0.65, n) ** 2 + se_of(0.60, n) ** 2)
    assert pairs.loc[42167, "gap_se"] < independent
    note = report.q4_error_note(pairs.reset_index())
    assert "paired" in note["en"] and "逐張配對" in note["zh"]
    with pytest.raises(ValueError, match="1000 private predictions, expected 999"):
        report.equal_budget_pairs(report.runs(results),
                                  labels={"private": encode_classes(labels[:999])})


def test_versus_reference_says_above_or_below_with_the_points():
    below = report.versus_reference("HW8 MobileNet", 0.57802, 2, 0.61855)
    assert below["en"] == ("Our HW8 MobileNet scores 0.57802 Private (mean of 2 seeds), 4.05 points "
                           "below the reference report's 0.61855.")
    assert "低 4.05 個百分點" in below["zh"]
    above = report.versus_reference("HW3 CNN", 0.70, 1, 0.65310)
    assert "4.69 points above" in above["en"] and "0.70000 Private (1 seed)," in above["en"]
    assert "（1 個種子）" in above["zh"]
    assert report.versus_reference("HW3 CNN", None, 0, 0.65310)["en"] == "Our HW3 CNN has no result yet."


def test_points_table_shows_no_spread_for_a_single_seed(results):
    html = report.points_display(report.points(report.runs(results), "mobilenet")).to_html()
    rows = html.split("<tr>")[2:]  # after the header row
    one_seed = next(r for r in rows if ">8,000<" in r)
    two_seeds = next(r for r in rows if ">42,167<" in r)
    assert one_seed.count("—") == 2  # Public and Private std
    assert two_seeds.count("—") == 0


def test_a_precision_variant_names_the_float32_it_departs_from(results):
    add_variant(results, "plain_cnn-56135-s0", "bf16", private=0.62, val=0.61, epochs=3)
    path = results / "plain_cnn-56135-s0-bf16.json"
    record = json.loads(path.read_text())
    record["settings"]["precision"] = "mixed_bfloat16"
    record["settings"]["teacher"] = "hw3_cnn-4746471-s0"
    write_json_atomic(path, record)
    table = report.recipe_variants(report.runs(results, include_tagged=True), labels={})
    row = table.set_index("variant_run").loc["plain_cnn-56135-s0-bf16"]
    assert "precision float32 → mixed_bfloat16" in row.changed
    assert "teacher none → hw3_cnn-4746471-s0" in row.changed
    assert report.runs(results, include_tagged=True).set_index("run_id").loc[
        "plain_cnn-56135-s0-bf16", "precision"] == "mixed_bfloat16"


def test_precision_note_names_only_the_models_trained_in_bfloat16(results):
    df = report.runs(results)
    names = {"hw3_cnn": "HW3 CNN", "hw8_mobilenet": "HW8 MobileNet"}
    assert report.precision_note(df, names) == {"zh": "", "en": ""}
    df.loc[df.model == "hw8_mobilenet", "precision"] = "mixed_bfloat16"
    note = report.precision_note(df, names)
    assert note["en"].startswith("The HW8 MobileNet was trained with bfloat16")
    assert "HW3" not in note["en"] and note["zh"].startswith("HW8 MobileNet 以 bfloat16")
    df["precision"] = "mixed_bfloat16"  # no HW3 run in the fixture: it is not named
    assert report.precision_note(df, {**names, "hw3_cnn": "HW3 CNN"})["en"].startswith(
        "The HW8 MobileNet was")


def test_the_test_split_size_comes_from_the_records(results):
    df = report.runs(results)
    assert report.test_images(df) == 3589
    assert report.test_images(df.iloc[0:0]) is None
    df.loc[df.index[0], "private_n"] = 100
    with pytest.raises(ValueError, match="different sizes"):
        report.test_images(df)


def test_q4_names_the_runs_early_stopping_cut_short_and_their_longer_twin(results):
    every = report.early_stop_note(report.runs(results), 42167)["en"]  # fake runs: 3 of 30 epochs
    assert all(f"{f}-42167-s{s} early-stopped at epoch 3 of 30" in every
               for f in ("mobilenet", "plain_cnn") for s in (0, 1))
    for path in results.glob("*.json"):
        record = json.loads(path.read_text())
        record["epochs_run"] = record["settings"]["epochs"]
        write_json_atomic(path, record)
    assert report.early_stop_note(report.runs(results), 42167) == {"zh": "", "en": ""}
    stopped = json.loads((results / "mobilenet-42167-s1.json").read_text())
    stopped["epochs_run"] = 18
    write_json_atomic(results / "mobilenet-42167-s1.json", stopped)
    note = report.early_stop_note(report.runs(results, include_tagged=True), 42167, labels={})
    assert "mobilenet-42167-s1 early-stopped at epoch 18 of 30 (Private 0.6200)" in note["en"]
    assert "retrained" not in note["en"] and "mobilenet-42167-s0" not in note["en"]
    twin = {**stopped, "run_id": "mobilenet-42167-s1-nostop", "tag": "nostop", "epochs_run": 30,
            "private_accuracy": 0.65, "settings": {**stopped["settings"], "patience": 30}}
    write_json_atomic(results / "mobilenet-42167-s1-nostop.json", twin)
    note = report.early_stop_note(report.runs(results, include_tagged=True), 42167, labels={})
    assert "retrained it with patience 6 → 30 for 30 epochs: Private 0.6500" in note["en"]
    assert "第 18 個週期" in note["zh"] and "0.6500" in note["zh"]
    assert report.early_stop_note(report.runs(results, include_tagged=True), 56135,
                                  labels={})["en"] == ""


def test_run_times_list_every_run_with_its_hours_largest_model_first(results):
    table = report.run_times(report.runs(results))
    assert len(table) == 7 and table["執行 Run"].iloc[0] == "hw8_mobilenet-56135-s0"
    row = table.set_index("執行 Run").loc["mobilenet-8000-s0"]
    assert (row["小時 Hours"], row["每週期秒數 s/epoch"], row["週期 Epochs"]) == ("0.00", "3", 3)


def test_a_patience_that_fired_in_neither_run_is_not_called_a_change(results):
    add_variant(results, "plain_cnn-56135-s0", "long", private=0.56, val=0.56, epochs=30)
    changed = lambda: report.recipe_variants(  # noqa: E731
        report.runs(results, include_tagged=True), labels={}).iloc[0].changed
    assert changed() == "patience 6 → 10"  # the fake twin stopped at epoch 3 of 30
    for run_id in ("plain_cnn-56135-s0", "plain_cnn-56135-s0-long"):
        record = json.loads((results / f"{run_id}.json").read_text())
        write_json_atomic(results / f"{run_id}.json", {**record, "epochs_run": 30})
    assert changed() == ""
    verdict = report.recipe_verdict(report.recipe_variants(
        report.runs(results, include_tagged=True), labels={}))
    assert "with the same settings (early stopping fired in neither run): trained" in verdict["en"]
    assert "設定相同" in verdict["zh"]


def test_relabelled_runs_are_named_with_their_old_id(results):
    assert report.relabel_note(report.runs(results)) == {"zh": "", "en": ""}
    record = json.loads((results / "mobilenet-8000-s0.json").read_text())
    record["relabelled_from"] = {"run_id": "mobilenet-8000-s0-x", "reason": "x became the default"}
    write_json_atomic(results / "mobilenet-8000-s0.json", record)
    note = report.relabel_note(report.runs(results))
    assert "mobilenet-8000-s0 was trained as mobilenet-8000-s0-x (x became the default)" in note["en"]
    assert "mobilenet-8000-s0-x" in note["zh"]


def test_a_broken_record_is_named_with_what_to_do(results):
    path = results / "mobilenet-8000-s0.json"
    record = json.loads(path.read_text())
    del record["macs"]
    write_json_atomic(path, record)
    with pytest.raises(ValueError, match=r"mobilenet-8000-s0\.json: not a complete run record "
                                         r"\(missing or malformed 'macs'\)"):
        report.runs(results)
    path.write_text('{"run_id": "mobilenet-8000-s0", "params": ')  # cut short by hand
    with pytest.raises(ValueError, match=r"mobilenet-8000-s0\.json: not a run record .*delete it"):
        report.runs(results)


def test_q4_compares_the_families_at_equal_multiply_adds_too():
    table = pd.DataFrame({
        "family": ["plain_cnn", "plain_cnn", "mobilenet", "mobilenet", "mobilenet"],
        "target": [20000, 150000, 8000, 42167, 500000],
        "macs": [1_000_000, 100_000_000, 500_000, 10_000_000, 900_000_000],
        "private_mean": [0.50, 0.60, 0.45, 0.556, 0.70]})
    gaps = report.equal_macs_gaps(table)
    # Only the MobileNet point inside the plain curve's MACs range; half-way in log MACs.
    assert gaps.target.tolist() == [42167]
    assert gaps.plain_private.iloc[0] == pytest.approx(0.55)
    note = report.equal_macs_note(table)
    assert "+0.60 percentage points at 10.0M MACs; all within one percentage point" in note["en"]
    assert "10.0M" in note["zh"] and "+0.60" in note["zh"]
    behind = report.equal_macs_note(table.assign(private_mean=[0.50, 0.60, 0.45, 0.52, 0.7]))
    assert behind["en"].endswith("the plain CNN is ahead even at equal arithmetic.")
    assert report.equal_macs_note(table[table.family == "mobilenet"]) == {"zh": "", "en": ""}


def with_flip_scores(directory, run_id, labels, right, flip_right):
    """Give a fixture run one-pass and flip-averaged scores, right where the masks say."""
    path = directory / f"{run_id}.json"
    record = json.loads(path.read_text())
    for split, truth in labels.items():
        wrong = (truth + 1) % 7
        record["scores"][split] = {
            "n": truth.size, "accuracy": float(right[split].mean()),
            "predictions": encode_classes(np.where(right[split], truth, wrong)),
            "flip": {"accuracy": float(flip_right[split].mean()),
                     "predictions": encode_classes(np.where(flip_right[split], truth, wrong))}}
    write_json_atomic(path, record)


def flip_fixture(results, runs_and_rates, size=400, seed=1):
    """Flip scores for fixture runs: one-pass right with p_one, flips only ever fix an image."""
    rng = np.random.default_rng(seed)
    labels = {s: rng.integers(0, 7, size) for s in ("val", "public", "private")}
    masks = {}
    for run_id, p_one, p_fix in runs_and_rates:
        one = {s: rng.random(size) < p_one for s in labels}
        flip = {s: one[s] | (rng.random(size) < p_fix) for s in labels}
        with_flip_scores(results, run_id, labels, one, flip)
        masks[run_id] = (one, flip)
    return {s: encode_classes(t) for s, t in labels.items()}, masks


def test_flip_averaging_gains_are_paired_and_the_note_follows_them(results):
    encoded, masks = flip_fixture(results, [("hw8_mobilenet-56135-s0", 0.45, 0.10),
                                            ("mobilenet-42167-s0", 0.50, 0.04),
                                            ("plain_cnn-42167-s0", 0.50, 0.12)])
    runs = report.runs(results)
    table = report.flip_averaging(runs, labels=encoded).set_index("run_id")
    assert sorted(table.index) == sorted(masks)  # runs without flip scores are left out
    one, flip = masks["plain_cnn-42167-s0"]
    row = table.loc["plain_cnn-42167-s0"]
    assert row.private_gain == pytest.approx(flip["private"].mean() - one["private"].mean())
    diff = flip["val"].astype(float) - one["val"].astype(float)
    assert row.val_gain_se == pytest.approx(diff.std(ddof=1) / math.sqrt(400))

    # The mean's error: paired test-image sampling of the run-averaged gain, plus the run spread.
    per_image = np.mean([masks[r][1]["val"].astype(float) - masks[r][0]["val"] for r in masks], axis=0)
    gains = np.array([masks[r][1]["val"].mean() - masks[r][0]["val"].mean() for r in masks])
    expected_se = math.sqrt(per_image.var(ddof=1) / 400 + gains.var(ddof=1) / 3)
    mean, se = report.flip_gain(runs, "val", labels=encoded)
    assert mean == pytest.approx(gains.mean()) and se == pytest.approx(expected_se)
    note = report.flip_note(runs, labels=encoded)
    assert (f"by {gains.mean() * 100:+.2f} points on average (standard error "
            f"{expected_se * 100:.2f}, test-image sampling") in note["en"]
    assert "positive in 3 of 3): it clearly helps" in note["en"]
    assert "3 次中 3 次為正）" in note["zh"] and "明顯有幫助" in note["zh"]

    text = report.flip_versus_reference(table.reset_index(), {"hw8_mobilenet": "HW8 MobileNet",
                                                             "hw3_cnn": "HW3 CNN"})
    ours = table.loc["hw8_mobilenet-56135-s0"].private_flip
    below = (report.REFERENCE["hw8_mobilenet"]["private"] - ours) * 100
    assert below > 0
    assert text["en"] == (f"With test-time flip averaging (see the Reproduce page), the HW8 MobileNet "
                          f"scores {ours:.5f} Private (1 seed, {below:.2f} points below the "
                          "reference).")  # no HW3 run recorded flip scores: not named
    assert "HW3" not in text["zh"] and f"低 {below:.2f} 個百分點" in text["zh"]


def test_flip_note_for_one_run_no_run_and_no_difference(results):
    assert "No run" in report.flip_note(report.runs(results))["en"]
    encoded, _ = flip_fixture(results, [("mobilenet-42167-s0", 0.5, 0.0)])  # flipping changes nothing
    note = report.flip_note(report.runs(results), labels=encoded)
    assert note["en"].startswith("On the one run on the budget curves that recorded it "
                                 "(mobilenet-42167-s0), test-time flip averaging changes validation "
                                 "accuracy by +0.00 points (paired standard error 0.00): on "
                                 "validation it is indistinguishable from no change.")
    assert "唯一" in note["zh"] and "無法區分" in note["zh"] and "平均變化" not in note["zh"]


def test_flip_versus_reference_joins_two_models(results):
    encoded, _ = flip_fixture(results, [("hw8_mobilenet-56135-s0", 0.5, 0.1)])
    record = fake_record("hw3_cnn", 4746471, 0, 0.70)
    write_json_atomic(results / f"{record['run_id']}.json", record)
    labels = {s: decode_classes(t) for s, t in encoded.items()}
    right = {s: np.arange(400) < 280 for s in labels}  # 0.70 both ways
    with_flip_scores(results, record["run_id"], labels, right, right)
    table = report.flip_averaging(report.runs(results), labels=encoded)
    text = report.flip_versus_reference(table, {"hw3_cnn": "HW3 CNN",
                                                "hw8_mobilenet": "HW8 MobileNet"})
    above = (0.70 - report.REFERENCE["hw3_cnn"]["private"]) * 100
    assert text["en"].startswith(f"With test-time flip averaging (see the Reproduce page), the HW3 "
                                 f"CNN scores 0.70000 Private (1 seed, {above:.2f} points above the "
                                 "reference) and the HW8 MobileNet 0.")
    assert text["zh"].count("為 0.") == 2 and "，HW8 MobileNet 為" in text["zh"]


def test_curve_summary_says_when_nothing_is_missing(results, monkeypatch):
    planned = pd.DataFrame([("mobilenet-8000-s0", "mobilenet", 8000, 0, "", True)],
                           columns=["run_id", "family", "target", "seed", "tag", "done"])
    monkeypatch.setattr(report, "planned_points", lambda: planned)
    summary = report.curve_summary(["mobilenet"], report.runs(results))
    assert summary["missing_en"] == "every planned point has a result"
    assert summary["missing_zh"] == "所有規劃中的點都已有結果"


def test_recorded_patience_note_counts_the_runs_of_another_patience(results):
    from helpers.training import TrainConfig

    df = report.runs(results)  # every fixture run: patience 6, 3 of 30 epochs
    for record in df.record:
        record["config_hash"] = TrainConfig(**record["settings"]).hash
    assert report.recorded_patience_note(df, 6) == {"zh": "", "en": ""}
    early = report.recorded_patience_note(df, 30)
    assert early["en"].startswith("7 of the 7 runs on the budget curves were recorded with patience 6")
    assert early["en"].endswith("7 of them stopped early or had a longer patience, unlike today's recipe.")
    for record in df.record:
        record["epochs_run"] = 30
    df.loc[0, "record"]["settings"]["patience"] = 30
    ran_all = report.recorded_patience_note(df, 30)
    assert ran_all["en"].startswith("6 of the 7 runs") and "fired in none of them" in ran_all["en"]
    assert ran_all["zh"].startswith("預算曲線上的 7 次執行中，有 6 次記錄的 patience 是 6")
    longer = df.loc[1, "record"]
    longer["settings"]["patience"] = 40  # ran all its epochs, but not today's (shorter) patience
    longer["config_hash"] = TrainConfig(**longer["settings"]).hash
    assert report.recorded_patience_note(df, 30)["en"].endswith(
        "1 of them stopped early or had a longer patience, unlike today's recipe.")


def test_relabel_note_speaks_chinese_when_the_reason_was_given_in_it(results):
    df = report.runs(results)
    df.at[0, "record"] = {**df.at[0, "record"],
                          "relabelled_from": {"run_id": "old", "reason": "why", "reason_zh": "原因"}}
    note = report.relabel_note(df)
    assert "原本以 old 訓練（原因）" in note["zh"] and "was trained as old (why)" in note["en"]
    del df.at[0, "record"]["relabelled_from"]["reason_zh"]
    assert "原本以 old 訓練（why）" in report.relabel_note(df)["zh"]


def test_longer_training_note_gives_the_variant_mean_with_and_without_flip(tmp_path):
    for seed, (one_pass, flipped) in enumerate([(0.59, 0.62), (0.60, 0.63)]):
        r = fake_record("hw8_mobilenet", 56135, seed, one_pass)
        r["run_id"], r["tag"] = f"{r['run_id']}-long", "long"
        r["settings"]["epochs"], r["epochs_run"] = 60, 60 - seed
        r["scores"] = {s: {"n": 10, "accuracy": one_pass, "flip": {"accuracy": flipped}}
                       for s in report.SCORED_SPLITS}
        write_json_atomic(tmp_path / f"{r['run_id']}.json", r)
    write_json_atomic(tmp_path / "hw8_mobilenet-56135-s0.json", fake_record("hw8_mobilenet", 56135, 0, 0.5))
    df = report.runs(tmp_path, include_tagged=True)
    names = {"hw3_cnn": "HW3 CNN", "hw8_mobilenet": "HW8 MobileNet"}
    note = report.longer_training_note(df, names, labels={})
    ref = report.REFERENCE["hw8_mobilenet"]["private"]
    below, above = (ref - 0.595) * 100, (0.625 - ref) * 100
    assert note["en"] == ("Trained for 59–60 epochs (the `long` recipe check, mean of 2 seeds), the HW8 "
                          f"MobileNet scores 0.59500 Private ({below:.2f} points below the reference); "
                          f"0.62500 with flip averaging ({above:.2f} points above the reference).")
    assert note["zh"].startswith("HW8 MobileNet 訓練 59–60 個週期（配方檢查 `long`，2 個種子的平均）")
    assert report.longer_training_note(df, names, labels={}, tag="other") == {"zh": "", "en": ""}
    no_flip = df.copy()
    no_flip["record"] = [{**r, "scores": {}} for r in no_flip.record]  # records from before flip
    assert "flip" not in report.longer_training_note(no_flip, names, labels={})["en"]
    assert report.longer_training_note(df[df.tag == ""], names, labels={}) == {"zh": "", "en": ""}
