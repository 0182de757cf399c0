"""Model builders: the two reference models and two width-scaled families.

The reference report lists a HW3 CNN (4,746,471 parameters, 5,056 of them
non-trainable) and a HW8 MobileNet (56,135 / 1,232).  Its listings are not
reproduced verbatim, so the builders below are reconstructions that hit both
counts *exactly*; the tests pin them.

* ``hw3_cnn()`` -- a VGG-style stack of bias-free 3x3 convolutions, each
  followed by BatchNorm and ReLU, four 2x2 max-pools (48 -> 3), then three
  BatchNorm'd dense layers and the 7-way classifier.
* ``hw8_mobilenet()`` -- a 3x3 stem convolution and seven depthwise-separable
  blocks (``SeparableConv2D`` + BatchNorm + ReLU), global average pooling,
  ``Dense(64)`` + BatchNorm, and the classifier.  The report's listing says
  ``Dense(30)`` before the classifier, which gives 47,023 parameters; its
  reported 56,135 match ``Dense(64)``.  ``hw8_mobilenet(head_units=30)``
  builds the listing's variant for the report.

The two families share the HW8 topology and scale every channel count (and
the head) by one continuous ``width`` multiplier:

* ``mobilenet(width)`` keeps the depthwise-separable blocks;
* ``plain_cnn(width)`` replaces each separable block by a standard 3x3
  convolution with the same input/output channels, pooling and head.

So at equal parameter counts the only architectural difference Q4 studies is
the convolution type: a 3x3 separable layer costs ``9*Cin + Cin*Cout`` weights
against ``9*Cin*Cout`` for a standard one, so the separable network affords
wider layers at the same budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ._quiet import import_keras

keras = import_keras()
layers = keras.layers

NUM_CLASSES = 7
INPUT_SHAPE = (48, 48, 1)

# HW3 CNN: (filters, pool after this conv?) for the bias-free 3x3 convolutions.
HW3_CONVS: tuple[tuple[int, bool], ...] = (
    (96, True),
    (128, False), (128, True),
    (128, False), (512, True),
    (512, True),
)
HW3_DENSE: tuple[int, ...] = (256, 256, 512)

# HW8 MobileNet: stem filters, then (filters, pool after this block?) per
# separable block; the head's hidden Dense units.
HW8_STEM = 16
HW8_BLOCKS: tuple[tuple[int, bool], ...] = (
    (16, False), (16, True),
    (40, False), (64, True),
    (64, False), (80, True),
    (256, True),
)
HW8_HEAD_UNITS = 64
HW8_LISTING_HEAD_UNITS = 30
DROPOUT = 0.3

FAMILIES = ("mobilenet", "plain_cnn", "hw3_cnn", "hw8_mobilenet")
SCALABLE_FAMILIES = ("mobilenet", "plain_cnn")


def _conv_bn_relu(x, filters: int, name: str, separable: bool = False,
                  use_bias: bool = True):
    conv = layers.SeparableConv2D if separable else layers.Conv2D
    x = conv(filters, 3, padding="same", use_bias=use_bias, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def hw3_cnn(name: str = "hw3_cnn") -> keras.Model:
    """The reference HW3 CNN: 4,746,471 parameters, 5,056 non-trainable."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    for i, (filters, pool) in enumerate(HW3_CONVS, start=1):
        x = _conv_bn_relu(x, filters, f"conv{i}", use_bias=False)
        if pool:
            x = layers.MaxPooling2D(name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(HW3_DENSE, start=1):
        x = layers.Dense(units, name=f"dense{i}")(x)
        x = layers.BatchNormalization(name=f"dense{i}_bn")(x)
        x = layers.ReLU(name=f"dense{i}_relu")(x)
        x = layers.Dropout(DROPOUT, name=f"dense{i}_dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="emotion", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def _scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


def _hw8_topology(width: float, separable: bool, head_units: int,
                  name: str) -> keras.Model:
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = _conv_bn_relu(x, _scaled(HW8_STEM, width), "stem")
    for i, (filters, pool) in enumerate(HW8_BLOCKS, start=1):
        x = _conv_bn_relu(x, _scaled(filters, width), f"block{i}",
                          separable=separable)
        if pool:
            x = layers.MaxPooling2D(name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(_scaled(head_units, width), name="head")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.ReLU(name="head_relu")(x)
    x = layers.Dropout(DROPOUT, name="head_dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="emotion", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def hw8_mobilenet(head_units: int = HW8_HEAD_UNITS) -> keras.Model:
    """The reference HW8 MobileNet: 56,135 parameters, 1,232 non-trainable.

    ``head_units=30`` gives the variant its listing shows (47,023 params).
    """
    return _hw8_topology(1.0, True, head_units, f"hw8_mobilenet_dense{head_units}")


def mobilenet(width: float = 1.0) -> keras.Model:
    """HW8 topology with depthwise-separable blocks, channels x ``width``."""
    _check_width(width)
    return _hw8_topology(width, True, HW8_HEAD_UNITS, f"mobilenet_w{width:.4g}")


def plain_cnn(width: float = 1.0) -> keras.Model:
    """HW8 topology with standard 3x3 convolutions, channels x ``width``."""
    _check_width(width)
    return _hw8_topology(width, False, HW8_HEAD_UNITS, f"plain_cnn_w{width:.4g}")


def _check_width(width: float) -> None:
    if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
        raise ValueError(f"width must be a positive finite number, got {width!r}")


BUILDERS: dict[str, Callable[[float], keras.Model]] = {
    "mobilenet": mobilenet,
    "plain_cnn": plain_cnn,
}

# The widest model for_budget will build; wider ones train for days on a CPU.
MAX_WIDTH = 64.0
MIN_WIDTH = 0.05
BUDGET_TOLERANCE = 0.02


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


def _count_for_width(family: str, width: float) -> int:
    """Parameter count of a family member, from the topology (no Keras build).

    Mirrors ``_hw8_topology`` so that ``for_budget`` can search quickly; the
    tests check it against Keras' own count.
    """
    separable = family == "mobilenet"
    c_in = _scaled(HW8_STEM, width)
    total = 9 * c_in + c_in + 4 * c_in  # stem conv (with bias) + BatchNorm
    for filters, _ in HW8_BLOCKS:
        c_out = _scaled(filters, width)
        weights = 9 * c_in + c_in * c_out if separable else 9 * c_in * c_out
        total += weights + c_out + 4 * c_out
        c_in = c_out
    head = _scaled(HW8_HEAD_UNITS, width)
    total += c_in * head + head + 4 * head
    return total + head * NUM_CLASSES + NUM_CLASSES


@dataclass(frozen=True)
class BudgetModel:
    """The width ``for_budget`` chose for a target, and the count it gives."""

    family: str
    width: float
    target_params: int
    params: int

    @property
    def relative_error(self) -> float:
        """How far the count misses the target (within ``BUDGET_TOLERANCE``)."""
        return self.params / self.target_params - 1

    def build(self) -> keras.Model:
        """The Keras model at this width."""
        return build(self.family, self.width)


def build(family: str, width: float | None = None) -> keras.Model:
    """Build any family by name; the reference families ignore ``width``."""
    if family == "hw3_cnn":
        return hw3_cnn()
    if family == "hw8_mobilenet":
        return hw8_mobilenet()
    if family in BUILDERS:
        return BUILDERS[family](1.0 if width is None else width)
    raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")


def for_budget(family: str, target_params: int) -> BudgetModel:
    """Find the width whose model lands within +-2% of ``target_params``.

    Bisects the (monotone) parameter count over width, then checks the nearby
    widths for the closest count.  The reference families only meet their own
    exact counts.
    """
    if not isinstance(target_params, int) or target_params <= 0:
        raise ValueError(f"target_params must be a positive integer, got {target_params!r}")
    if family in ("hw3_cnn", "hw8_mobilenet"):
        params = param_counts(build(family)).total
        if abs(params / target_params - 1) > BUDGET_TOLERANCE:
            raise ValueError(
                f"family {family!r} is a fixed reference model with {params:,} parameters; "
                f"target_params={target_params:,} is not within ±2% of it")
        return BudgetModel(family, 1.0, target_params, params)
    if family not in BUILDERS:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")

    low, high = MIN_WIDTH, MAX_WIDTH
    smallest, largest = _count_for_width(family, low), _count_for_width(family, high)
    if not smallest * (1 - BUDGET_TOLERANCE) <= target_params <= largest * (1 + BUDGET_TOLERANCE):
        raise ValueError(
            f"target_params={target_params:,} is outside the reach of family {family!r}: "
            f"widths {low}..{high} give {smallest:,}..{largest:,} parameters")
    for _ in range(40):
        mid = (low + high) / 2
        if _count_for_width(family, mid) < target_params:
            low = mid
        else:
            high = mid
        if high - low < 1e-4:
            break
    # Channel counts are rounded, so the count is a step function of width:
    # look around the crossing for the closest step.
    candidates = {round(high * (1 + k / 1000), 4) for k in range(-50, 51)}
    width = min(sorted(candidates),
                key=lambda w: abs(_count_for_width(family, w) - target_params))
    params = _count_for_width(family, width)
    if abs(params / target_params - 1) > BUDGET_TOLERANCE:
        raise ValueError(
            f"no width of family {family!r} lands within ±2% of {target_params:,} "
            f"(closest: width {width} with {params:,} parameters)")
    return BudgetModel(family, width, target_params, params)


def _layer_macs(layer, input_shape, output_shape) -> int:
    """Multiply-adds per image of one layer, from its shapes."""
    config = layer.get_config()
    if isinstance(layer, layers.SeparableConv2D):
        kh, kw = config["kernel_size"]
        _, h, w, c_out = output_shape
        c_in = input_shape[-1]
        return h * w * c_in * kh * kw + h * w * c_in * c_out
    if isinstance(layer, layers.DepthwiseConv2D):
        kh, kw = config["kernel_size"]
        _, h, w, c = output_shape
        return h * w * c * kh * kw
    if isinstance(layer, layers.Conv2D):
        kh, kw = config["kernel_size"]
        _, h, w, c_out = output_shape
        return h * w * c_out * kh * kw * input_shape[-1]
    if isinstance(layer, layers.Dense):
        return int(input_shape[-1]) * int(output_shape[-1])
    return 0


def count_macs(model: keras.Model) -> int:
    """Multiply-adds per image of the convolution and dense layers."""
    return sum(row["macs"] for row in layer_table(model))


def layer_table(model: keras.Model) -> list[dict]:
    """One row per layer: name, type, output shape, params, MACs.

    The book shows it beside the Keras summary, which has no MACs.
    """
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        input_shape = tuple(layer.input.shape)
        output_shape = tuple(layer.output.shape)
        rows.append({
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": "×".join(str(d) for d in output_shape[1:]),
            "params": int(layer.count_params()),
            "macs": int(_layer_macs(layer, input_shape, output_shape)),
        })
    return rows
