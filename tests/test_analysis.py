"""The book's tables from records: curves, the reference models, equal budgets, where parameters go."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from helpers import analysis, models
from helpers.config import TrainConfig
from helpers.records import Score, encode_hits
from test_records import make_record


def record_with(family, params, seed, private_hits, ablation="", flip_hits=None):
    hits = np.asarray(private_hits, bool)
    flip = hits if flip_hits is None else np.asarray(flip_hits, bool)
    score = Score(accuracy=float(hits.mean()), n=len(hits),
                  confusion_matrix=[[int(hits.sum()), int((~hits).sum())] + [0] * 5]
                  + [[0] * 7] * 6,
                  hits=encode_hits(hits), flip_accuracy=float(flip.mean()),
                  flip_hits=encode_hits(flip))
    config = TrainConfig(family, params, seed=seed, ablation=ablation)
    return replace(make_record(config), params=params,
                   scores={"val": score, "public": score, "private": score})


N = 400
rng = np.random.default_rng(0)


def hits(p):
    return rng.random(N) < p


@pytest.fixture(scope="module")
def records():
    return [
        record_with("hw8_mobilenet", 56135, 0, hits(0.62), flip_hits=hits(0.64)),
        record_with("hw8_mobilenet", 56135, 1, hits(0.60)),
        record_with("hw8_mobilenet", 56135, 0, hits(0.66), ablation="long"),
        record_with("mobilenet", 8099, 0, hits(0.50)),
        record_with("plain_cnn", 54876, 0, hits(0.55)),
        record_with("plain_cnn", 8271, 0, hits(0.45)),
        record_with("hw3_scaled", 55553, 0, hits(0.50)),
        record_with("hw3_scaled", 43483, 0, hits(0.40)),
    ]


def test_curve_points_average_seeds_and_leave_ablations_out(records):
    points = analysis.curve_points(records)
    hw8 = points[(points.curve == "mobilenet") & (points.params == 56135)].iloc[0]
    assert hw8.family == "hw8_mobilenet" and hw8.seeds == 2
    assert hw8.private == pytest.approx(np.mean([records[0].accuracy("private"),
                                                 records[1].accuracy("private")]))
    assert len(points) == 6  # the ablation is not a point


def test_reference_models_table_stands_beside_the_report(records):
    table = analysis.reference_models(records)
    hw8, hw3 = table.loc["hw8_mobilenet"], table.loc["hw3_cnn"]
    assert (hw8.params, hw8.non_trainable, hw8.macs) == (56135, 1232, 8670656)
    assert hw8.seeds == 2 and hw8.ref_private == 0.61855
    assert hw3.seeds == 0 and np.isnan(hw3.private)  # not trained yet: a gap, not an error


def test_variants_list_flip_averaging_and_ablations(records):
    table = analysis.variants(records).set_index("variant")
    assert set(table.index) == {"one_pass", "flip", "long"}
    assert table.loc["long", "runs"] == 1
    assert table.loc["flip", "private"] == pytest.approx(
        np.mean([records[0].accuracy("private", flip=True), records[1].accuracy("private", True)]))
    assert table.loc["long", "val"] == pytest.approx(records[2].accuracy("val"))
    # Each change is from one pass: flip averaging's on the same runs, the ablation's paired
    # with the curve run of its own seed (seed 0), not with the mean over both seeds.
    assert table.loc["flip", "change"] == pytest.approx(
        table.loc["flip", "private"] - table.loc["one_pass", "private"])
    assert table.loc["long", "change"] == pytest.approx(
        records[2].accuracy("private") - records[0].accuracy("private"))
    assert table.loc["long", "change"] != pytest.approx(
        table.loc["long", "private"] - table.loc["one_pass", "private"])
    assert table.loc["long", "change_se"] > 0 and np.isnan(table.loc["one_pass", "change"])


def test_an_ablation_is_paired_with_the_curve_run_of_its_own_seed(records):
    pairs = analysis.ablation_pairs(records).set_index("run_id")
    long = pairs.loc["hw8_mobilenet-56135-s0-long"]
    assert long.base_run_id == "hw8_mobilenet-56135-s0"  # seed 0, not the mean with seed 1
    assert long.base_val == pytest.approx(records[0].accuracy("val"))
    assert long.val == pytest.approx(records[2].accuracy("val"))
    lone = record_with("mobilenet", 8099, 3, hits(0.5), ablation="long")
    assert analysis.ablation_pairs([lone]).empty  # no curve run of seed 3 to compare with
    # Distillation under the tuned recipe is paired with the tuned recipe alone.
    recipe = record_with("hw8_mobilenet", 56135, 0, hits(0.64), ablation="recipe")
    distilled = record_with("hw8_mobilenet", 56135, 0, hits(0.67), ablation="recipe_distilled")
    pairs = analysis.ablation_pairs([*records, recipe, distilled]).set_index("run_id")
    assert pairs.loc[distilled.run_id].base_run_id == recipe.run_id
    assert pairs.loc[recipe.run_id].base_run_id == "hw8_mobilenet-56135-s0"
    assert distilled.run_id not in analysis.ablation_pairs([*records, distilled]).run_id.values


def test_an_ablation_on_several_seeds_is_read_once_against_its_twins():
    curve = [record_with("hw8_mobilenet", 56135, s, hits(0.55)) for s in range(3)]
    longer = [record_with("hw8_mobilenet", 56135, s, hits(0.70), ablation="long")
              for s in range(3)]
    untwinned = record_with("hw8_mobilenet", 56135, 5, hits(0.10), ablation="long")
    lone = record_with("mobilenet", 8099, 0, hits(0.5), ablation="long")
    effects = analysis.ablation_effects(curve + longer + [untwinned, lone])
    assert len(effects) == 1  # one row for the three seeds; the untwinned runs stay out
    row = effects.iloc[0]
    assert (row.family, row.params, row.ablation, row.seeds) == ("hw8_mobilenet", 56135, "long", 3)
    privates = [r.accuracy("private") for r in longer]
    assert row.private == pytest.approx(np.mean(privates))
    assert row.private_std == pytest.approx(np.std(privates, ddof=1))
    assert row.change == pytest.approx(np.mean(privates) - np.mean(
        [r.accuracy("private") for r in curve]))
    assert 0 < row.change_se < row.change / 2 and row.verdict == "ahead"
    same = analysis.ablation_effects(curve + [replace(c, config=replace(c.config, ablation="long"))
                                              for c in curve])
    assert same.iloc[0].change == 0 and same.iloc[0].verdict == "tie"


def test_equal_budget_pairs_each_family_with_the_plain_cnn(records):
    table = analysis.equal_budget(records, [56135, 42167])
    at = table.set_index(["budget", "curve"])
    mob = at.loc[(56135, "mobilenet")]
    assert mob.params == 56135 and mob.seeds == 2
    plain = records[4]
    assert at.loc[(56135, "plain_cnn")].params == 54876
    expected = np.mean([records[0].accuracy("private"), records[1].accuracy("private")]) \
        - plain.accuracy("private")
    assert mob.lead_over_plain == pytest.approx(expected)
    assert mob.lead_se > 0
    assert mob.verdict == analysis.lead_verdict(mob.lead_over_plain, mob.lead_se)
    # No MobileNet near 42,167; the shrunk HW3 at 43,483 is within 5%.
    assert np.isnan(at.loc[(42167, "mobilenet")].params)
    assert at.loc[(42167, "hw3_scaled")].params == 43483
    assert np.isnan(at.loc[(42167, "hw3_scaled")].lead_over_plain)  # no plain CNN at 42K here


def test_lead_verdict_needs_two_standard_errors():
    assert analysis.lead_verdict(0.03, 0.01) == "ahead"
    assert analysis.lead_verdict(-0.03, 0.01) == "behind"
    assert analysis.lead_verdict(0.019, 0.01) == "tie"
    assert analysis.lead_verdict(-0.02, 0.01) == "tie"
    assert analysis.lead_verdict(float("nan"), 0.01) == ""


def test_curve_summary_reports_gain_and_a_peak(records):
    points = analysis.curve_points(records)
    summary = analysis.curve_summary(points, "mobilenet")
    assert summary["points"] == 2 and summary["smallest"] == 8099
    assert summary["gain_per_decade"] > 0
    assert summary["shape"] == "rising"  # the 56K HW8 model is both the largest and the best
    shrunk = analysis.curve_summary(points, "hw3_scaled")
    assert shrunk["best_params"] == 55553 and shrunk["largest"] == 55553
    worse = points.copy()
    worse.loc[(worse.curve == "mobilenet") & (worse.params == 56135), "private"] = 0.40
    assert analysis.curve_summary(worse, "mobilenet")["shape"] == "past_peak"
    small = worse.loc[(worse.curve == "mobilenet") & (worse.params == 8099), "private"].iloc[0]
    worse.loc[(worse.curve == "mobilenet") & (worse.params == 56135), "private"] = small - 0.005
    assert analysis.curve_summary(worse, "mobilenet")["shape"] == "flat"
    assert analysis.curve_summary(points, "nothing") == {"points": 0}


def test_curve_summary_tells_a_bending_rise_from_a_straight_one():
    params = [8_000, 20_000, 56_000, 180_000, 640_000]
    straight = pd.DataFrame({"curve": "mobilenet", "params": params, "seeds": 1,
                             "private": 0.3 + 0.1 * np.log10(params), "private_std": np.nan})
    summary = analysis.curve_summary(straight, "mobilenet")
    assert summary["middle_params"] == 56_000 and not summary["slowing"]
    assert summary["gain_below_middle"] == pytest.approx(0.1)
    assert summary["gain_above_middle"] == pytest.approx(0.1)
    bending = straight.assign(private=[0.49, 0.57, 0.61, 0.625, 0.635])
    summary = analysis.curve_summary(bending, "mobilenet")
    assert summary["shape"] == "rising" and summary["slowing"]
    assert summary["gain_above_middle"] < summary["gain_below_middle"] / 2
    three = analysis.curve_summary(bending.iloc[:3], "mobilenet")
    assert three["middle_params"] is None and not three["slowing"]


def test_curve_summary_names_its_largest_fall_between_sizes(records):
    points = analysis.curve_points(records)
    assert analysis.curve_summary(points, "mobilenet")["dip"] is None  # 8K < 56K
    dipped = points.copy()
    middle = dipped[(dipped.curve == "mobilenet") & (dipped.params == 8099)].index[0]
    dipped.loc[middle, "private"] = 0.70  # above the 56K point: a fall after it
    summary = analysis.curve_summary(dipped, "mobilenet")
    assert (summary["dip_from_params"], summary["dip_params"]) == (8099, 56135)
    assert summary["dip"] == pytest.approx(0.70 - summary["largest_private"])
    assert summary["dip_seeds"] == (1, 2) and summary["shape"] == "past_peak"
    dipped.loc[middle, "private"] = summary["largest_private"] + 0.001  # within test noise
    assert analysis.curve_summary(dipped, "mobilenet")["dip"] is None


def test_untrained_models_are_those_with_no_seed_done(records):
    plan = [TrainConfig("mobilenet", 8099, seed=1), TrainConfig("mobilenet", 19767),
            TrainConfig("hw8_mobilenet", 56135, seed=2), TrainConfig("plain_cnn", 19026),
            TrainConfig("mobilenet", 19767, ablation="long")]
    waiting = analysis.untrained_models(plan, records, "mobilenet")
    assert waiting[["family", "params", "knob"]].values.tolist() == [["mobilenet", 19767, 0.5]]
    assert waiting.macs.tolist() == [models.count_macs(models.build("mobilenet", 0.5))]
    assert analysis.untrained_models([], records, "mobilenet").empty


def test_untrained_models_match_the_planned_target_not_the_built_count():
    near = replace(record_with("mobilenet", 8099, 0, hits(0.5)),
                   config=TrainConfig("mobilenet", 8100))
    plan = [TrainConfig("mobilenet", 8100), TrainConfig("mobilenet", 19767)]
    waiting = analysis.untrained_models(plan, [near], "mobilenet")
    assert waiting.params.tolist() == [19767]


def test_curve_recipe_is_shared_by_every_curve_point():
    plan = [TrainConfig("mobilenet", 8099, epochs=50, ablation="long"),
            TrainConfig("mobilenet", 19767, epochs=30),
            TrainConfig("hw3_cnn", 4746471, epochs=30, precision="mixed_bfloat16")]
    assert analysis.curve_recipe(plan).epochs == 30
    with pytest.raises(ValueError, match="hw3_cnn-4746471-s0 has epochs = 40"):
        analysis.curve_recipe(plan[:2] + [TrainConfig("hw3_cnn", 4746471, epochs=40)])
    with pytest.raises(ValueError, match="no curve points"):
        analysis.curve_recipe(plan[:1])


def test_ablation_changes_compare_with_the_base():
    plan = [TrainConfig("hw8_mobilenet", 56135, epochs=50),
            TrainConfig("hw3_cnn", 4746471, precision="mixed_bfloat16", epochs=50),
            TrainConfig("hw3_cnn", 4746471, precision="mixed_bfloat16", epochs=100,
                        ablation="long"),
            *(TrainConfig("hw8_mobilenet", 56135, seed=s, epochs=e, ablation=a)
              for s in (1, 2) for e, a in ((50, ""), (100, "long"))),
            TrainConfig("hw8_mobilenet", 56135, epochs=200, optimizer="sgd", ablation="recipe"),
            TrainConfig("hw8_mobilenet", 56135, epochs=200, optimizer="sgd",
                        teacher="mobilenet-639239-s0", ablation="recipe_distilled")]
    changes = analysis.ablation_changes(plan)
    assert changes[["family", "ablation", "base", "seeds", "setting", "base_value",
                    "ablation_value"]].values.tolist() == [
        ["hw3_cnn", "long", "", "0", "epochs", "50", "100"],
        ["hw8_mobilenet", "long", "", "1, 2", "epochs", "50", "100"],  # one row for both seeds
        ["hw8_mobilenet", "recipe", "", "0", "epochs", "50", "200"],
        ["hw8_mobilenet", "recipe", "", "0", "optimizer", "adamw", "sgd"],
        # Distillation under the recipe changes only the teacher from the recipe alone.
        ["hw8_mobilenet", "recipe_distilled", "recipe", "0", "teacher", "", "mobilenet-639239-s0"]]
    with pytest.raises(ValueError, match="hw3_cnn-4746471-s1-long"):
        analysis.ablation_changes([TrainConfig("hw3_cnn", 4746471, seed=1, ablation="long",
                                               epochs=100)])


def test_plan_status_needs_the_exact_config(records):
    plan = [TrainConfig("mobilenet", 8099), TrainConfig("mobilenet", 8099, seed=1),
            TrainConfig("plain_cnn", 8271, epochs=7)]
    status = analysis.plan_status(plan, records).set_index("run_id").done
    assert status.to_dict() == {"mobilenet-8099-s0": True, "mobilenet-8099-s1": False,
                                "plain_cnn-8271-s0": False}


def test_parameter_split_counts_every_parameter_once():
    for family, params in (("hw3_scaled", 43483), ("plain_cnn", 41065), ("mobilenet", 8099)):
        split = analysis.parameter_split(family, params)
        assert split["conv_params"] + split["dense_params"] == params
        model = models.for_budget(family, params).build()
        widest = max(layer.output.shape[-1] for layer in model.layers
                     if type(layer).__name__ == "Conv2D")
        assert split["widest_channels"] == widest
    # The shrunk HW3 CNN spends most of its budget after Flatten, the HW8 topology does not.
    assert analysis.parameter_split("hw3_scaled", 43483)["dense_share"] > 0.5
    assert analysis.parameter_split("plain_cnn", 41065)["dense_share"] < 0.5


def test_parameter_splits_take_each_familys_nearest_model():
    table = analysis.parameter_splits(42167).set_index("family")
    assert table.params.to_dict() == {"mobilenet": 42608, "plain_cnn": 41065,
                                      "hw3_scaled": 43483}
    assert set(analysis.parameter_splits(56135).family) == {"mobilenet", "plain_cnn",
                                                            "hw3_scaled"}


def test_per_class_keeps_the_training_counts(records):
    table = analysis.per_class(records, "hw8_mobilenet")
    assert table.train_images.tolist()[1] == 436  # Disgust
    assert table.recall.iloc[0] == pytest.approx(
        np.mean([r.scores["private"].per_class_accuracy[0] for r in records[:2]]))


def measured_model(record, private_by_format, size=1000):
    """A compression record of ``record`` whose formats score the given Private accuracies."""
    formats = {}
    for i, (fmt, p) in enumerate(private_by_format.items()):
        correct = hits(p)
        formats[fmt] = {"bytes": size // (i + 1), "gzip_bytes": size // (i + 2),
                        "public": float(correct.mean()), "private": float(correct.mean()),
                        "private_hits": encode_hits(correct), "latency_ms_median": 1.0,
                        "latency_ms_p90": 2.0}
    return {"run_id": record.run_id, "family": record.family, "params": record.params,
            "formats": formats}


def test_files_are_judged_on_the_seed_mean_and_ablations_stay_apart(records):
    lucky, unlucky, long = records[0], records[1], records[2]  # hw8 seeds 0 and 1, and long
    measured = [measured_model(lucky, {"keras_float32": 0.72, "litert_int8": 0.68}),
                measured_model(unlucky, {"keras_float32": 0.62, "litert_int8": 0.44}),
                measured_model(long, {"keras_float32": 0.66, "litert_int8": 0.20})]
    table = analysis.compression_table(measured, records)
    assert set(table[table.run_id == long.run_id].ablation) == {"long"}
    means = analysis.format_means(table)
    assert set(means[means.ablation == ""].seeds) == {2}
    assert set(means[means.ablation == "long"].seeds) == {1}  # a model of its own, not a seed
    means = means[means.ablation == ""]
    int8 = means[means.format == "litert_int8"].iloc[0]
    assert int8.private == pytest.approx(table[(table.format == "litert_int8")
                                               & (table.ablation == "")].private.mean())
    # Seed 0's int8 file alone beats 0.6; the mean over seeds does not.
    assert analysis.smallest_beating(table[table.ablation == ""], 0.6).run_id == lucky.run_id
    assert analysis.smallest_beating(means, 0.6).format == "keras_float32"
    assert analysis.smallest_beating(means, 0.70) is None

    drops = analysis.int8_drops(measured, records)
    assert drops.set_index("run_id").loc[long.run_id, "ablation"] == "long"
    by_model = analysis.int8_by_model(drops)
    assert len(by_model) == 1 and by_model.seeds.iloc[0] == 2
    curve = drops[drops.ablation == ""]
    assert by_model.change.iloc[0] == pytest.approx(curve.change.mean())
    assert 0 < by_model.se.iloc[0] < curve.se.max()  # two seeds narrow the error


def test_int8_contrast_reads_the_difference_against_its_error():
    import pandas as pd
    rows = lambda curve, changes, se: [{"curve": curve, "change": c, "se": se} for c in changes]
    by_model = pd.DataFrame(rows("mobilenet", [-0.02, -0.04], 0.002)
                            + rows("plain_cnn", [-0.001, 0.001], 0.002))
    contrast = analysis.int8_contrast(by_model)
    assert contrast["separable"] == pytest.approx(-0.03) and contrast["standard"] == pytest.approx(0)
    assert contrast["se"] == pytest.approx(np.sqrt(2 * 0.002 ** 2 / 4 * 2))
    assert contrast["verdict"] == "behind"
    close = by_model.assign(change=[-0.001, 0.0, 0.0, 0.001])
    assert analysis.int8_contrast(close)["verdict"] == "tie"
    assert analysis.int8_contrast(by_model[by_model.curve == "mobilenet"])["verdict"] == ""


def test_points_table_puts_untrained_models_in_order_as_dashes(records):
    from helpers import plots

    points = analysis.curve_points(records)
    waiting = analysis.untrained_models([TrainConfig("mobilenet", 19767)], records, "mobilenet")
    frame = plots.points_table(points, "mobilenet", "α", waiting).data
    assert frame["參數 Params"].tolist() == ["8,099", "19,767", "56,135"]
    assert frame.Private.tolist()[1] == plots.NOT_TRAINED and frame["種子 Seeds"].tolist()[1] == 0
    assert frame.α.tolist()[1] == "0.5"
    assert plots.points_table(points, "mobilenet", "α").data.shape[0] == 2


def test_scores_table_prints_accuracies_with_four_decimals(records):
    from helpers import plots

    record = records[0]
    shown = plots.scores_table(record).to_html()
    for flip in (False, True):
        assert f">{record.accuracy('private', flip=flip):.4f}<" in shown
    assert f">{record.scores['private'].n:,}<" in shown


def test_runs_carry_hours_and_threads_for_the_cost_paragraph(records):
    table = analysis.runs(records)
    assert table.threads.tolist() == [r.threads for r in records]
    assert table.hours.sum() == pytest.approx(sum(r.train_seconds for r in records) / 3600)


def test_bytes_figure_draws_ablations_hollow():
    from helpers import plots

    table = pd.DataFrame({"curve": ["mobilenet", "mobilenet"], "ablation": ["", "long"],
                          "format": ["litert_int8", "litert_int8"], "bytes": [9e4, 9.2e4],
                          "private": [0.60, 0.62]})
    fig = plots.bytes_figure(table, reference=0.61855)
    drawn = {tuple(c.get_offsets()[0]): c for c in fig.axes[0].collections if len(c.get_offsets())}

    def filled(c):
        return bool(c.get_facecolor().size) and c.get_facecolor()[0][3] > 0
    assert filled(drawn[(9e4, 0.60)]) and not filled(drawn[(9.2e4, 0.62)])
    labels = fig.legends[0].get_texts()
    assert "空心：消融實驗 hollow: ablation" in [t.get_text() for t in labels]
    solid = plots.bytes_figure(table.iloc[:1])
    assert "空心：消融實驗 hollow: ablation" not in [t.get_text() for t in solid.legends[0].get_texts()]


def test_best_against_best_sets_the_two_bests_side_by_side(records):
    points = analysis.curve_points(records)
    vs = analysis.best_against_best(points, records, "plain_cnn", "hw3_scaled")
    assert (vs["small"].params, vs["large"].params) == (54876, 55553)
    assert vs["gap"] == pytest.approx(vs["small"].private - vs["large"].private)
    assert vs["gap_se"] > 0 and vs["times_params"] == pytest.approx(55553 / 54876)
    assert vs["longer"] is None  # no longer run of the HW3 family here
    hw8 = analysis.best_against_best(points, records, "plain_cnn", "mobilenet")
    assert hw8["longer"].ablation == "long" and hw8["longer"].family == "hw8_mobilenet"
    assert analysis.best_against_best(points.iloc[:0], records, "plain_cnn", "hw3_scaled") is None


def test_one_ablation_effect_is_empty_until_it_has_run(records):
    assert analysis.ablation_effect(records, "hw8_mobilenet", "long").seeds == 1
    assert analysis.ablation_effect(records, "hw3_cnn", "long").get("change") is None


def test_control_effects_pair_each_control_with_the_model_it_changes():
    base = [record_with("hw3_scaled", 43483, s, hits(0.40)) for s in (0, 1)]
    control = [record_with("hw3_nodrop", 43483, s, hits(0.55)) for s in (0, 1)]
    lonely = record_with("hw3_gap", 43081, 0, hits(0.50))
    table = analysis.control_effects(base + control + [lonely]).set_index("control")
    nodrop = table.loc["hw3_nodrop"]
    assert nodrop.base == "hw3_scaled" and nodrop.seeds == nodrop.base_seeds == 2
    assert nodrop.change == pytest.approx(nodrop.private - nodrop.base_private)
    assert nodrop.verdict == "ahead" and nodrop.change > 2 * nodrop.change_se
    # hw3_gap at 43,081 is within 5% of the base's 43,483, so it has a base too.
    assert table.loc["hw3_gap"].base_params == 43483
    alone = analysis.control_effects([lonely]).iloc[0]
    assert np.isnan(alone.change) and alone.verdict == ""


def test_gap_at_equal_reads_the_other_curve_between_its_points():
    points = pd.DataFrame({
        "curve": ["a", "b", "b"], "params": [100, 10, 1000], "macs": [1, 1, 1],
        "seeds": [1, 1, 1], "private": [0.6, 0.4, 0.6], "private_se": [0.01, 0.02, 0.04]})
    gap = analysis.gap_at_equal(points, "a", "b").iloc[0]
    assert gap.against == pytest.approx(0.5) and gap.gap == pytest.approx(0.1)
    # b is read half-way (in log parameters) between its points, its error too.
    assert gap.noise == pytest.approx(2 * np.hypot(0.01, 0.03))
    outside = points.assign(params=[5000, 10, 1000])
    assert analysis.gap_at_equal(outside, "a", "b").empty  # no reading outside b's range


def test_a_one_seed_point_counts_the_spread_its_family_shows_over_seeds():
    three = [record_with("mobilenet", 8099, s, hits(p)) for s, p in enumerate((0.50, 0.54, 0.58))]
    once = record_with("mobilenet", 19767, 0, hits(0.60))
    other = record_with("plain_cnn", 8271, 0, hits(0.52))
    pools = analysis.seed_pools(three + [once, other])
    spread = np.var([r.accuracy("private") for r in three], ddof=1)
    # plain_cnn has no seeds to pool: it takes the whole study's spread, here mobilenet's.
    assert pools == {"mobilenet": pytest.approx(spread), "plain_cnn": pytest.approx(spread)}
    points = analysis.curve_points(three + [once, other]).set_index("params")
    p = points.loc[19767].private
    assert points.loc[19767].private_se == pytest.approx(np.sqrt(p * (1 - p) / 3589 + spread))
    # Seeds scored on the same images do not shrink the test set's error.
    p3 = points.loc[8099].private
    assert points.loc[8099].private_se == pytest.approx(np.sqrt(p3 * (1 - p3) / 3589 + spread / 3))
    # No model trained twice: the binomial variance of the family's accuracy stands in.
    p_other = other.accuracy("private")
    assert analysis.seed_pools([once, other])["plain_cnn"] == pytest.approx(
        p_other * (1 - p_other) / 3589)


def test_fit_gaps_read_the_largest_model_of_each_curve():
    rising = {"accuracy": [0.5, 0.7, 0.9], "val_accuracy": [0.5, 0.6, 0.59],
              "loss": [1.2, 0.8, 0.3], "val_loss": [1.2, 1.0, 1.1]}
    big = replace(record_with("mobilenet", 639239, 0, hits(0.66)), history=rising)
    small = replace(record_with("mobilenet", 8099, 0, hits(0.5)), history=rising)
    row = analysis.fit_gaps([small, big]).set_index("curve").loc["mobilenet"]
    assert row.params == 639239 and row.gap_end == pytest.approx(0.31)
    assert row.val_fall == pytest.approx(0.01) and row.lowest_loss_epoch == 2
    assert row.loss_rise == pytest.approx(0.1)
    assert analysis.fit_gaps([]).empty


def test_most_confused_names_the_class_a_true_class_is_taken_for(records):
    cm = np.zeros((7, 7), int)
    cm[2] = [1, 0, 5, 0, 9, 0, 2]  # Fear: 9 taken for Sad
    right = encode_hits(np.ones(int(cm.sum()), bool))
    score = Score(accuracy=0.5, n=int(cm.sum()), confusion_matrix=cm.tolist(), hits=right,
                  flip_accuracy=0.5, flip_hits=right)
    record = replace(records[0], scores={**records[0].scores, "private": score})
    assert analysis.most_confused([record], "hw8_mobilenet", "Fear") == ("Sad", pytest.approx(9 / 17))
    assert analysis.most_confused([], "hw8_mobilenet", "Fear")[0] is None


def test_parameter_split_counts_separable_weights_and_a_pooling_head():
    listing = analysis.parameter_split("mobilenet", 56135)
    assert (listing["full_convs"], listing["separable_blocks"]) == (4, 6)
    assert 0.3 < listing["separable_share"] < 0.4
    assert analysis.parameter_split("separable_mobilenet", 55851)["separable_share"] > 0.99
    assert analysis.parameter_split("plain_cnn", 54876)["separable_share"] == 0
    pooled = analysis.parameter_split("hw3_gap", 55294)
    # The pooling head drops the two dense layers and their dropout; the four groups keep theirs.
    assert pooled["dense_share"] < 0.05 and pooled["dropout_layers"] == 4
    assert analysis.parameter_split("hw3_scaled", 55553)["dropout_layers"] == 6


def test_speedup_figure_plots_each_format_against_its_own_models_float32_file():
    from helpers import plots

    table = pd.DataFrame({
        "run_id": ["a", "a", "b", "b"], "curve": ["mobilenet"] * 4, "ablation": [""] * 4,
        "params": [8099, 8099, 639239, 639239],
        "format": ["litert_float32", "litert_int8"] * 2, "latency_ms": [0.10, 0.125, 4.0, 1.0]})
    fig = plots.speedup_figure(table)
    points = sorted(tuple(p) for c in fig.axes[0].collections for p in c.get_offsets())
    # b's int8 is 4x faster than b's float32; a's is slower (0.8x); float32 itself is not drawn.
    assert points == [(8099, pytest.approx(0.8)), (639239, pytest.approx(4.0))]
    assert fig.axes[0].get_yscale() == "log"
