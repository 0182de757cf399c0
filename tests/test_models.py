import pytest

from helpers import models


def test_hw3_cnn_has_the_reference_counts():
    counts = models.param_counts(models.hw3_cnn())
    assert counts.total == 4_746_471
    assert counts.non_trainable == 5_056


def test_hw8_mobilenet_has_the_reference_counts():
    counts = models.param_counts(models.hw8_mobilenet())
    assert counts.total == 56_135
    assert counts.non_trainable == 1_232


def test_hw8_listing_variant_with_dense30_has_47023_params():
    assert models.param_counts(models.hw8_mobilenet(head_units=30)).total == 47_023


def test_families_share_the_hw8_topology():
    assert models.param_counts(models.mobilenet(1.0)).total == 56_135
    plain = [type(l).__name__ for l in models.plain_cnn(1.0).layers]
    separable = [type(l).__name__ for l in models.mobilenet(1.0).layers]
    assert [t.replace("SeparableConv2D", "Conv2D") for t in separable] == plain


@pytest.mark.parametrize("family", ["mobilenet", "plain_cnn"])
@pytest.mark.parametrize("target", [10_000, 42_167, 150_000, 1_000_000, 5_000_000])
def test_for_budget_lands_within_two_percent(family, target):
    chosen = models.for_budget(family, target)
    built = models.param_counts(chosen.build()).total
    assert built == chosen.params
    assert abs(built / target - 1) <= 0.02


def test_for_budget_rejects_targets_out_of_reach():
    with pytest.raises(ValueError, match="outside the reach of family 'mobilenet'"):
        models.for_budget("mobilenet", 10**10)
    with pytest.raises(ValueError, match="outside the reach"):
        models.for_budget("plain_cnn", 50)
    with pytest.raises(ValueError, match="fixed reference model"):
        models.for_budget("hw3_cnn", 100_000)
    with pytest.raises(ValueError, match="unknown family 'resnet'"):
        models.for_budget("resnet", 100_000)
    with pytest.raises(ValueError, match="positive integer"):
        models.for_budget("mobilenet", -5)


def test_macs_of_a_conv_and_a_separable_layer_by_hand():
    import keras
    from keras import layers

    inputs = keras.Input((12, 12, 8))
    x = layers.Conv2D(16, 3, padding="same", name="conv")(inputs)
    x = layers.SeparableConv2D(32, 3, padding="same", name="sep")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(7, name="fc")(x)
    table = {row["name"]: row for row in models.layer_table(keras.Model(inputs, x))}
    assert table["conv"]["macs"] == 12 * 12 * 16 * (3 * 3 * 8)          # 165,888
    assert table["sep"]["macs"] == 12 * 12 * 16 * 9 + 12 * 12 * 16 * 32  # 94,464
    assert table["fc"]["macs"] == 32 * 7
    assert table["sep"]["params"] == 9 * 16 + 16 * 32 + 32
    assert table["conv"]["output_shape"] == "12×12×16"


def test_separable_model_needs_far_fewer_macs_than_plain_at_same_width():
    assert models.count_macs(models.plain_cnn(1.0)) > 5 * models.count_macs(models.mobilenet(1.0))


def test_bfloat16_models_compute_in_bfloat16_but_classify_in_float32():
    import keras

    from helpers import training

    model = training.build_with_precision(lambda: models.build("plain_cnn", 0.5), "mixed_bfloat16")
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    computes = {layer.dtype_policy.compute_dtype for layer in model.layers[1:-1]}
    assert computes == {"bfloat16"}
    assert model.get_layer("emotion").dtype_policy.name == "float32"
    assert model.output.dtype == "float32"
    same = models.build("plain_cnn", 0.5)
    assert models.param_counts(model) == models.param_counts(same)

    def broken():
        raise RuntimeError("build failed")
    with pytest.raises(RuntimeError):
        training.build_with_precision(broken, "mixed_bfloat16")
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="precision must be one of"):
        training.build_with_precision(broken, "float16")
