"""The reference models against the report's listings, the families and their budgets."""

import pytest

from helpers import models

# The HW3 listing, line by line: (type, filters/units, kernel, strides, bias, activation/rate).
C, BN, MP, DO, FL, DE = "Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout", "Flatten", "Dense"


def hw3_listing(beta=1.0, dropout=True, dense_head=True):
    s = lambda n: max(1, int(n * beta))  # noqa: E731
    drop = [(DO, 0.5)] if dropout else []
    seq = []
    for group in ((32, 32), (64, 64), (128, 128, 128), (256, 256)):
        seq += [(C, s(f), (3, 3), (1, 1), True, "relu") for f in group]
        seq += [(BN,), (MP, (2, 2))] + drop
    if dense_head:
        seq += [(FL,)]
        for _ in range(2):
            seq += [(DE, s(1024), True, "relu"), (BN,)] + drop
    else:
        seq += [("GlobalAveragePooling2D",)]
    return seq + [(DE, 7, True, "linear"), ("Activation", "softmax")]


def hw8_listing(alpha=1.0, head=64, plain=False, pooling="AveragePooling2D", separable=False):
    s = lambda n: int(n * alpha)  # noqa: E731

    def conv(f, strides=(1, 1)):
        return [(C, s(f), (3, 3), strides, False, "linear"), (BN,), ("ReLU", 6.0)]

    def dw(f, strides=(1, 1)):
        if plain:
            return conv(f, strides)
        return [("DepthwiseConv2D", (3, 3), strides, False), (BN,), ("ReLU", 6.0),
                (C, s(f), (1, 1), (1, 1), False, "linear"), (BN,), ("ReLU", 6.0)]

    full = dw if separable else conv
    pool = [("MaxPooling2D", (2, 2), "same")]
    return (conv(8) + dw(8) + full(16) + dw(16) + pool
            + full(32) + dw(32) + dw(32, (2, 2)) + pool
            + full(64) + dw(64) + dw(64) + pool
            + [(pooling, (2, 2), "same"), (FL,),
               (DE, head, True, "linear"), (BN,), ("LeakyReLU", 0.2), (DO, 0.2),
               (DE, 7, True, "linear"), ("Activation", "softmax")])


def describe(model):
    """Each layer as the listing tuples above describe it (Rescaling and Input left out)."""
    seq = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("InputLayer", "Rescaling"):
            continue
        cfg = layer.get_config()
        if kind == "Conv2D":
            act = cfg["activation"] if isinstance(cfg["activation"], str) else "linear"
            seq.append((kind, cfg["filters"], tuple(cfg["kernel_size"]), tuple(cfg["strides"]),
                        cfg["use_bias"], act))
        elif kind == "DepthwiseConv2D":
            assert cfg["depth_multiplier"] == 1 and cfg["padding"] == "same"
            seq.append((kind, tuple(cfg["kernel_size"]), tuple(cfg["strides"]), cfg["use_bias"]))
        elif kind == "Dense":
            seq.append((kind, cfg["units"], cfg["use_bias"], cfg["activation"]))
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            assert tuple(cfg["strides"]) == tuple(cfg["pool_size"])
            seq.append((kind, tuple(cfg["pool_size"])) if cfg["padding"] == "valid"
                       else (kind, tuple(cfg["pool_size"]), cfg["padding"]))
        elif kind == "Dropout":
            seq.append((kind, cfg["rate"]))
        elif kind == "ReLU":
            seq.append((kind, float(cfg["max_value"])))
        elif kind == "LeakyReLU":
            seq.append((kind, pytest.approx(cfg["negative_slope"])))
        elif kind == "Activation":
            seq.append((kind, cfg["activation"]))
        else:
            seq.append((kind,))
    return seq


def test_hw3_cnn_is_the_listing_with_its_counts_and_macs():
    model = models.hw3_cnn()
    assert describe(model) == hw3_listing()
    counts = models.param_counts(model)
    assert (counts.total, counts.non_trainable) == (4_746_471, 5_056)
    assert models.count_macs(model) == 142_097_408
    # 48 -> 24 -> 12 -> 6 -> 3: Flatten sees 3x3x256.
    assert tuple(model.get_layer("flatten").output.shape) == (None, 3 * 3 * 256)


def test_hw8_mobilenet_is_the_listing_with_its_counts_and_macs():
    model = models.hw8_mobilenet()
    assert describe(model) == hw8_listing()
    counts = models.param_counts(model)
    assert (counts.total, counts.non_trainable) == (56_135, 1_232)
    assert models.count_macs(model) == 8_670_656
    assert tuple(model.get_layer("flatten").output.shape) == (None, 2 * 2 * 64)


def test_hw8_listing_variants_dense30_and_max_pooling():
    dense30 = models.hw8_mobilenet(head_units=models.HW8_LISTING_HEAD_UNITS)
    assert describe(dense30) == hw8_listing(head=30)
    counts = models.param_counts(dense30)
    assert (counts.total, counts.non_trainable) == (47_023, 1_164)
    assert models.count_macs(dense30) == 8_661_714
    pooled = models.hw8_mobilenet(pooling="max")
    assert describe(pooled) == hw8_listing(pooling="MaxPooling2D")
    assert models.param_counts(pooled).total == 56_135
    with pytest.raises(ValueError, match="pooling"):
        models.hw8_mobilenet(pooling="global")


@pytest.mark.parametrize("alpha, params", [(0.25, 8_099), (0.5, 19_767), (1.0, 56_135),
                                           (2.0, 180_999), (4.0, 639_239)])
def test_mobilenet_width_multiplier_gives_the_listing_counts(alpha, params):
    model = models.mobilenet(alpha)
    assert models.param_counts(model).total == params
    if alpha in (0.25, 2.0):
        assert describe(model) == hw8_listing(alpha)


@pytest.mark.parametrize("alpha", [0.5, 1.5])
def test_plain_cnn_replaces_each_separable_block_by_one_standard_conv(alpha):
    model = models.plain_cnn(alpha)
    assert describe(model) == hw8_listing(alpha, plain=True)
    # Same channels, head and pools as the MobileNet at this alpha: more parameters.
    assert models.param_counts(model).total > models.param_counts(models.mobilenet(alpha)).total


@pytest.mark.parametrize("beta", [0.1, 0.5])
def test_hw3_scaled_shrinks_every_filter_count_and_dense_width(beta):
    assert describe(models.hw3_scaled(beta)) == hw3_listing(beta)


def changed_layers(base, control):
    """The layers (name, type) one model has and the other lacks, either way."""
    def layers(model):
        return {(layer.name, type(layer).__name__) for layer in model.layers}
    return layers(base) ^ layers(control)


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_separable_mobilenet_makes_the_full_convolutions_after_the_stem_separable(alpha):
    model = models.separable_mobilenet(alpha)
    assert describe(model) == hw8_listing(alpha, separable=True)
    # Exactly the listing's blocks 2, 4 and 7 change; the 1-channel stem stays full.
    changed = changed_layers(models.mobilenet(alpha), model)
    assert {name for name, _ in changed if "_bn" not in name and "_relu" not in name} == {
        "conv_2", "conv_dw_2", "conv_pw_2", "conv_4", "conv_dw_4", "conv_pw_4",
        "conv_7", "conv_dw_7", "conv_pw_7"}
    assert model.get_layer("conv_0").get_config()["kernel_size"] == (3, 3)
    assert describe(model) != describe(models.mobilenet(alpha))


@pytest.mark.parametrize("beta", [0.09375, 0.25])
def test_hw3_nodrop_is_hw3_scaled_without_its_dropout_layers(beta):
    model, base = models.hw3_nodrop(beta), models.hw3_scaled(beta)
    assert describe(model) == hw3_listing(beta, dropout=False)
    assert {kind for _, kind in changed_layers(base, model)} == {"Dropout"}
    assert models.param_counts(model) == models.param_counts(base)


@pytest.mark.parametrize("beta", [0.1826171875, 0.5])
def test_hw3_gap_swaps_the_dense_head_for_global_average_pooling(beta):
    model, base = models.hw3_gap(beta), models.hw3_scaled(beta)
    assert describe(model) == hw3_listing(beta, dense_head=False)
    changed = {name for name, _ in changed_layers(base, model)}
    assert changed == {"flatten", "gap", "dense1", "dense1_bn", "dense1_drop",
                       "dense2", "dense2_bn", "dense2_drop"}
    # The convolutions are the base model's; only the head's parameters go.
    convs = [layer.name for layer in base.layers if type(layer).__name__ == "Conv2D"]
    assert all(model.get_layer(n).count_params() == base.get_layer(n).count_params()
               for n in convs)
    assert models.param_counts(model).total < models.param_counts(base).total


def test_knob_one_is_the_reference_model():
    assert describe(models.mobilenet(1.0)) == describe(models.hw8_mobilenet())
    assert describe(models.hw3_scaled(1.0)) == describe(models.hw3_cnn())


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "1", True])
def test_bad_knob_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="alpha"):
        models.mobilenet(bad)
    with pytest.raises(ValueError, match="beta"):
        models.hw3_scaled(bad)


TARGETS = {
    "mobilenet": [8_000, 20_000, 42_167, 150_000, 500_000, 1_500_000],
    "plain_cnn": [8_271, 31_000, 100_000, 180_000, 640_000, 1_500_000],
    "hw3_scaled": [8_000, 20_000, 56_000, 180_000, 1_500_000, 4_700_000],
    "separable_mobilenet": [8_161, 19_761, 55_851],
    "hw3_nodrop": [43_483, 55_553],
    "hw3_gap": [43_081, 55_294],
}


@pytest.mark.parametrize("family", list(TARGETS))
def test_for_budget_lands_within_two_percent_with_the_closest_model(family):
    for target in TARGETS[family]:
        budget = models.for_budget(family, target)
        built = models.param_counts(budget.build()).total
        assert built == budget.params
        assert abs(built / target - 1) <= 0.02, (family, target, built)
        # No model one knob step away is closer to the target.
        step = models.KNOB_STEP[family]
        for neighbour in (budget.knob - step, budget.knob + step):
            if neighbour > 0:
                other = models.param_counts(models.build(family, neighbour)).total
                assert abs(other - target) >= abs(built - target)


def test_for_budget_names_the_reachable_counts_of_an_unreachable_target():
    with pytest.raises(ValueError, match=r"plain_cnn.*42,167.*41,065, 43,667"):
        models.for_budget("plain_cnn", 42_167)
    with pytest.raises(ValueError, match="fixed reference model of 56,135"):
        models.for_budget("hw8_mobilenet", 50_000)
    with pytest.raises(ValueError, match="target_params"):
        models.for_budget("mobilenet", 0)
    with pytest.raises(ValueError, match="unknown family"):
        models.for_budget("resnet", 50_000)


def test_reference_budgets_are_exact():
    assert models.for_budget("hw3_cnn", 4_746_471).params == 4_746_471
    assert models.for_budget("hw8_mobilenet", 56_135).knob == 1.0


def test_stage_table_splits_each_listing_at_its_pools_and_sums_to_the_model():
    for family, stages, head_dense in (("hw3_cnn", 5, 3), ("hw8_mobilenet", 4, 2)):
        model = models.build(family)
        table = models.stage_table(model)
        assert len(table) == stages and table[-1]["stage"] == "head"
        assert table[-1]["dense"] == head_dense
        assert sum(s["params"] for s in table) == models.param_counts(model).total
        assert sum(s["macs"] for s in table) == models.count_macs(model)
    pooled = models.stage_table(models.build("hw3_gap", 0.108398))
    assert pooled[-1]["stage"] == "head" and pooled[-1]["dense"] == 1  # the pooling head
    hw8 = models.stage_table(models.build("hw8_mobilenet"))
    assert [(s["full_convs"], s["separable_blocks"]) for s in hw8[:3]] == [(2, 2), (1, 2), (1, 2)]


def test_capped_relus_are_named_relu6():
    types = {row["type"] for row in models.layer_table(models.build("hw8_mobilenet"))}
    assert "ReLU6" in types and "ReLU" not in types
