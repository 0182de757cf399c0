"""The reference report's two models, built as its listings read, and three families.

* ``hw3_cnn()`` is the report's HW3 CNN (4,746,471 parameters, 5,056 of them
  non-trainable): four groups of 3x3 ReLU convolutions, each group closed by
  BatchNorm, a 2x2 max-pool and Dropout(0.5), then two Dense(1024) layers.
* ``hw8_mobilenet()`` is its HW8 MobileNet (56,135 / 1,232): the listing's
  ``_conv_block`` and ``_depthwise_conv_block`` in the listing's order.  The
  listing shows ``Dense(30)`` in the head (47,023 parameters) but reports
  56,135, which is ``Dense(64)``; ``head_units=30`` builds the listing's line.

The study scales each with one knob, the way the listing already scales:

* ``mobilenet(alpha)``: the HW8 model with the listing's own width multiplier
  (``int(filters * alpha)`` on every convolution, head unchanged);
* ``plain_cnn(alpha)``: the same topology with one standard 3x3 convolution
  in place of each depthwise-separable block, so at equal ``alpha`` the only
  difference is the convolution type;
* ``hw3_scaled(beta)``: the HW3 CNN with every filter count and both Dense
  widths multiplied by ``beta``, the plain CNN a student shrinks from HW3.

Three controls for Q4, each one change away from a family above:

* ``separable_mobilenet(alpha)``: ``mobilenet`` with its three full 3x3
  convolutions after the stem (8->16, 16->32, 32->64) made depthwise-separable
  too; only the 1-channel stem stays a full convolution;
* ``hw3_nodrop(beta)``: ``hw3_scaled`` without its Dropout(0.5) layers;
* ``hw3_gap(beta)``: ``hw3_scaled`` with global average pooling and the
  logits in place of Flatten and the two Dense layers, so a budget goes to
  the convolutions.

Pixels are scaled to 0-1 by a ``Rescaling`` layer, which has no parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from ._quiet import import_keras
from .families import CONTROL_FAMILIES, FAMILIES, REFERENCE_FAMILIES, SCALED_FAMILIES

keras = import_keras()
layers = keras.layers

NUM_CLASSES = 7
INPUT_SHAPE = (48, 48, 1)

HW3_GROUPS: tuple[tuple[int, ...], ...] = ((32, 32), (64, 64), (128, 128, 128), (256, 256))
HW3_DENSE = (1024, 1024)
HW3_DROPOUT = 0.5
HW8_HEAD_UNITS = 64
HW8_LISTING_HEAD_UNITS = 30
HW8_POOLING = "avg"


def _scale(filters: int, alpha: float) -> int:
    return max(1, int(filters * alpha))


def hw3_cnn(beta: float = 1.0, name: str = "hw3_cnn", dropout: bool = True,
            dense_head: bool = True) -> keras.Model:
    """The HW3 listing; ``beta`` scales every filter count and Dense width.  The controls
    leave out every Dropout (``dropout=False``) or put global average pooling in place of
    Flatten and the Dense layers (``dense_head=False``)."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    for group, filters in enumerate(HW3_GROUPS, start=1):
        for i, f in enumerate(filters, start=1):
            x = layers.Conv2D(_scale(f, beta), 3, padding="same", activation="relu",
                              name=f"conv{group}_{i}")(x)
        x = layers.BatchNormalization(name=f"conv{group}_bn")(x)
        x = layers.MaxPooling2D((2, 2), name=f"pool{group}")(x)
        if dropout:
            x = layers.Dropout(HW3_DROPOUT, name=f"drop{group}")(x)
    if not dense_head:
        x = layers.GlobalAveragePooling2D(name="gap")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
        for i, units in enumerate(HW3_DENSE, start=1):
            x = layers.Dense(_scale(units, beta), activation="relu", name=f"dense{i}")(x)
            x = layers.BatchNormalization(name=f"dense{i}_bn")(x)
            if dropout:
                x = layers.Dropout(HW3_DROPOUT, name=f"dense{i}_drop")(x)
    x = layers.Dense(NUM_CLASSES, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name)


def hw3_scaled(beta: float) -> keras.Model:
    """The HW3 CNN shrunk (or grown) by ``beta``; ``beta = 1`` is ``hw3_cnn()``."""
    _check_knob("beta", beta)
    return hw3_cnn(beta, name=f"hw3_scaled_{beta:.4g}")


def hw3_nodrop(beta: float) -> keras.Model:
    """Control: ``hw3_scaled(beta)`` without any Dropout layer."""
    _check_knob("beta", beta)
    return hw3_cnn(beta, name=f"hw3_nodrop_{beta:.4g}", dropout=False)


def hw3_gap(beta: float) -> keras.Model:
    """Control: ``hw3_scaled(beta)`` with a global-average-pooling head, so its parameters
    sit in the convolutions instead of Flatten -> Dense(1024 beta) -> Dense(1024 beta)."""
    _check_knob("beta", beta)
    return hw3_cnn(beta, name=f"hw3_gap_{beta:.4g}", dense_head=False)


def _conv_block(x, filters: int, alpha: float, strides=(1, 1), name: str = "conv"):
    """The listing's ``_conv_block``: 3x3 convolution without bias, BN, relu6."""
    x = layers.Conv2D(_scale(filters, alpha), (3, 3), padding="same", use_bias=False,
                      strides=strides, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def _depthwise_conv_block(x, filters: int, alpha: float, strides=(1, 1), block_id: int = 1):
    """The listing's ``_depthwise_conv_block``: 3x3 depthwise, BN, relu6, then a
    1x1 pointwise convolution, BN, relu6 (depth multiplier 1)."""
    x = layers.DepthwiseConv2D((3, 3), padding="same", depth_multiplier=1, strides=strides,
                               use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(_scale(filters, alpha), (1, 1), padding="same", use_bias=False,
                      strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def _plain_block(x, filters: int, alpha: float, strides=(1, 1), block_id: int = 1):
    """``plain_cnn``'s stand-in for a depthwise-separable block: one standard 3x3
    convolution with the same output channels and strides."""
    return _conv_block(x, filters, alpha, strides, name=f"conv_plain_{block_id}")


def _full_block(x, filters: int, alpha: float, strides=(1, 1), block_id: int = 0):
    """The listing's full ``_conv_block`` at a block's place, named as the listing numbers it."""
    return _conv_block(x, filters, alpha, strides, name=f"conv_{block_id}")


def _hw8_topology(block, alpha: float, head_units: int, pooling: str, name: str,
                  full=_full_block):
    """The HW8 listing with ``block`` for each depthwise-separable block and ``full`` for
    each full convolution after the stem."""
    if pooling not in ("avg", "max"):
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = _conv_block(x, 8, alpha, name="conv_0")
    x = block(x, 8, alpha, block_id=1)
    x = full(x, 16, alpha, block_id=2)
    x = block(x, 16, alpha, block_id=3)
    x = layers.MaxPool2D(pool_size=(2, 2), padding="same", name="pool_1")(x)
    x = full(x, 32, alpha, block_id=4)
    x = block(x, 32, alpha, block_id=5)
    x = block(x, 32, alpha, strides=(2, 2), block_id=6)
    x = layers.MaxPool2D(pool_size=(2, 2), padding="same", name="pool_2")(x)
    x = full(x, 64, alpha, block_id=7)
    x = block(x, 64, alpha, block_id=8)
    x = block(x, 64, alpha, block_id=9)
    x = layers.MaxPool2D(pool_size=(2, 2), padding="same", name="pool_3")(x)
    # The listing's block 11 is commented out.
    if pooling == "avg":
        x = layers.AveragePooling2D(pool_size=(2, 2), padding="same", name="pool_head")(x)
    else:
        x = layers.MaxPool2D(pool_size=(2, 2), padding="same", name="pool_head")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(head_units, name="head")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.LeakyReLU(0.2, name="head_relu")(x)
    x = layers.Dropout(0.2, name="head_drop")(x)
    x = layers.Dense(NUM_CLASSES, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name)


def hw8_mobilenet(alpha: float = 1.0, head_units: int = HW8_HEAD_UNITS,
                  pooling: str = HW8_POOLING) -> keras.Model:
    """The HW8 listing.  ``pooling`` is the listing's own switch before ``Flatten``;
    both choices give 56,135 parameters and the report does not say which it used.
    We build ``"avg"``: a 2x2 average of the last 3x3 map keeps every position's
    activation in the head's input, where a max would drop three of four."""
    return _hw8_topology(_depthwise_conv_block, alpha, head_units, pooling,
                         name=f"hw8_mobilenet_dense{head_units}")


def mobilenet(alpha: float) -> keras.Model:
    """The HW8 MobileNet at width multiplier ``alpha``; ``alpha = 1`` is ``hw8_mobilenet()``."""
    _check_knob("alpha", alpha)
    return _hw8_topology(_depthwise_conv_block, alpha, HW8_HEAD_UNITS, HW8_POOLING,
                         name=f"mobilenet_{alpha:.4g}")


def plain_cnn(alpha: float) -> keras.Model:
    """The HW8 topology with standard 3x3 convolutions in place of its
    depthwise-separable blocks, at width multiplier ``alpha``."""
    _check_knob("alpha", alpha)
    return _hw8_topology(_plain_block, alpha, HW8_HEAD_UNITS, HW8_POOLING,
                         name=f"plain_cnn_{alpha:.4g}")


def separable_mobilenet(alpha: float) -> keras.Model:
    """Control: ``mobilenet(alpha)`` with every convolution after the stem
    depthwise-separable (the listing's blocks 2, 4 and 7 too)."""
    _check_knob("alpha", alpha)
    return _hw8_topology(_depthwise_conv_block, alpha, HW8_HEAD_UNITS, HW8_POOLING,
                         name=f"separable_mobilenet_{alpha:.4g}", full=_depthwise_conv_block)


def _check_knob(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def build(family: str, knob: float = 1.0) -> keras.Model:
    """Any family by name; the two reference models take no knob."""
    if family == "hw3_cnn":
        return hw3_cnn()
    if family == "hw8_mobilenet":
        return hw8_mobilenet()
    builders = {"mobilenet": mobilenet, "plain_cnn": plain_cnn, "hw3_scaled": hw3_scaled,
                "separable_mobilenet": separable_mobilenet, "hw3_nodrop": hw3_nodrop,
                "hw3_gap": hw3_gap}
    if family not in builders:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    return builders[family](knob)


@dataclass(frozen=True)
class ParamCounts:
    """Keras' three counts; the reference report gives total and non-trainable."""

    total: int
    trainable: int
    non_trainable: int


def param_counts(model: keras.Model) -> ParamCounts:
    """Total / trainable / non-trainable parameter counts, as Keras reports them."""
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(math.prod(w.shape)) for w in model.non_trainable_weights)
    return ParamCounts(trainable + frozen, trainable, frozen)


# Every filter count and width is an integer times KNOB_STEP (8, 16, 32 and 64
# are multiples of 1/64 of 64; 32...1024 of 1/1024 of 1024), so int(f * knob)
# changes only at multiples of it: those knobs are all the distinct models.
KNOB_STEP = {"mobilenet": 1 / 64, "plain_cnn": 1 / 64, "hw3_scaled": 1 / 1024,
             "separable_mobilenet": 1 / 64, "hw3_nodrop": 1 / 1024, "hw3_gap": 1 / 1024}
MAX_KNOB = {"mobilenet": 8.0, "plain_cnn": 8.0, "hw3_scaled": 2.0,
            "separable_mobilenet": 16.0, "hw3_nodrop": 2.0, "hw3_gap": 4.0}
BUDGET_TOLERANCE = 0.02


@lru_cache(maxsize=None)
def _count_at_step(family: str, step: int) -> int:
    return param_counts(build(family, step * KNOB_STEP[family])).total


@dataclass(frozen=True)
class Budget:
    """The knob ``for_budget`` chose for a target, and the count it gives."""

    family: str
    knob: float
    target_params: int
    params: int

    def build(self) -> keras.Model:
        """The Keras model at this knob."""
        return build(self.family, self.knob)


def _bracket(family: str, target_params: int) -> tuple[int, int]:
    """The two knob steps around a target: the count is a non-decreasing step function
    of the knob, so a bisection over the steps finds where it crosses the target."""
    low, high = 1, round(MAX_KNOB[family] / KNOB_STEP[family])
    while high - low > 1:
        mid = (low + high) // 2
        if _count_at_step(family, mid) < target_params:
            low = mid
        else:
            high = mid
    return low, high


def nearest(family: str, target_params: int) -> Budget:
    """The family's model whose parameter count is closest to ``target_params``."""
    if family not in KNOB_STEP:
        raise ValueError(f"{family!r} has no knob; expected one of "
                         f"{SCALED_FAMILIES + CONTROL_FAMILIES}")
    step = min(_bracket(family, target_params),
               key=lambda s: abs(_count_at_step(family, s) - target_params))
    return Budget(family, step * KNOB_STEP[family], target_params, _count_at_step(family, step))


def for_budget(family: str, target_params: int) -> Budget:
    """The knob whose model's parameter count is closest to ``target_params``,
    within +-2%; a target no knob reaches is refused with the counts around it."""
    if isinstance(target_params, bool) or not isinstance(target_params, int) \
            or target_params <= 0:
        raise ValueError(f"target_params must be a positive whole number, got {target_params!r}")
    if family in REFERENCE_FAMILIES:
        params = param_counts(build(family)).total
        if abs(params / target_params - 1) > BUDGET_TOLERANCE:
            raise ValueError(f"{family} is a fixed reference model of {params:,} parameters; "
                             f"target_params={target_params:,} is not within ±2% of it")
        return Budget(family, 1.0, target_params, params)
    if family not in KNOB_STEP:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    budget = nearest(family, target_params)
    if abs(budget.params / target_params - 1) > BUDGET_TOLERANCE:
        low, high = _bracket(family, target_params)
        near = sorted({_count_at_step(family, s) for s in (low, high)})
        raise ValueError(
            f"no {family} model lands within ±2% of {target_params:,} parameters; "
            f"the reachable counts nearest to it are {', '.join(f'{n:,}' for n in near)} "
            f"(knob {low * KNOB_STEP[family]:.6g} to {high * KNOB_STEP[family]:.6g})")
    return budget


def _layer_macs(layer, input_shape, output_shape) -> int:
    """Multiply-adds per image of one layer, from its shapes."""
    if isinstance(layer, layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        _, h, w, c = output_shape
        return h * w * c * kh * kw
    if isinstance(layer, layers.Conv2D):
        kh, kw = layer.kernel_size
        _, h, w, c_out = output_shape
        return h * w * c_out * kh * kw * input_shape[-1]
    if isinstance(layer, layers.Dense):
        return int(input_shape[-1]) * int(output_shape[-1])
    return 0


def _layer_type(layer) -> str:
    """A layer's class name, with a capped ReLU named as the listing writes it (ReLU6)."""
    if isinstance(layer, layers.ReLU) and layer.max_value is not None:
        return f"ReLU{float(layer.max_value):g}"
    return type(layer).__name__


def layer_table(model: keras.Model) -> list[dict]:
    """One row per layer: name, type, output shape, parameters and multiply-adds."""
    rows = []
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        input_shape, output_shape = tuple(layer.input.shape), tuple(layer.output.shape)
        rows.append({
            "name": layer.name,
            "type": _layer_type(layer),
            "output_shape": "×".join(str(d) for d in output_shape[1:]),
            "params": int(layer.count_params()),
            "macs": int(_layer_macs(layer, input_shape, output_shape)),
        })
    return rows


POOLS = ("MaxPooling2D", "AveragePooling2D")
# Where a model's head begins: the listings' Flatten, or a pooling head's global average.
HEAD_STARTS = ("Flatten", "GlobalAveragePooling2D")


def head_start(rows: list[dict]) -> int:
    """The index in ``layer_table`` rows of the first layer of the model's head."""
    return next((i for i, row in enumerate(rows) if row["type"] in HEAD_STARTS), len(rows))


def stage_table(model: keras.Model) -> list[dict]:
    """The model in stages, as a reader compares two listings: each run of convolutions up
    to and including its pooling layer is a stage, and everything from ``Flatten`` (or a
    global average pool) on is the head.  Per stage: its convolutions, the channels and map size it ends with, its
    parameters and multiply-adds."""
    stages: list[list[dict]] = []
    current: list[dict] = []
    rows = layer_table(model)
    head_at = head_start(rows)
    for row in rows[:head_at]:
        current.append(row)
        if row["type"] in POOLS and any(r["type"].endswith("Conv2D") for r in current):
            stages.append(current)
            current = []
    if current:
        stages[-1].extend(current)  # a trailing pool before the head joins the last stage
    stages.append(rows[head_at:])
    table = []
    for i, stage in enumerate(stages, start=1):
        shaped = [r for r in stage if "×" in r["output_shape"]]
        separable = sum(r["type"] == "DepthwiseConv2D" for r in stage)
        last = (shaped or stage)[-1]["output_shape"]
        table.append({
            "stage": "head" if i == len(stages) else str(i),
            # A separable block is a depthwise and a 1x1 pointwise layer: the rest are full.
            "full_convs": sum(r["type"] == "Conv2D" for r in stage) - separable,
            "separable_blocks": separable,
            "dense": sum(r["type"] == "Dense" for r in stage),
            "output": last, "params": sum(r["params"] for r in stage),
            "macs": sum(r["macs"] for r in stage)})
    return table


def count_macs(model: keras.Model) -> int:
    """Multiply-adds per image of the convolution and dense layers."""
    return sum(row["macs"] for row in layer_table(model))
