"""The notation's words for single Keras layers, for `papernet import-keras` (`papernet.keras_import`):
a layer as papernet reads it (`KerasLayer`), its activation's word, a conv's or pool's padding
as the notation writes it, a batch norm's settings. Pure: it never imports Keras.

A value the notation cannot state is an `ImportFailure` naming the layer, never an approximation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from papernet import shapes

Pads: TypeAlias = tuple[tuple[int, int], tuple[int, int]]
"""Zero padding ((top, bottom), (left, right))."""


class ImportFailure(Exception):
    """The model holds something papernet's notation cannot express (or cannot be read as a graph)."""


@dataclass(frozen=True)
class KerasLayer:
    """One layer of the model: what papernet needs to know of it."""

    index: int
    name: str
    cls: str
    config: Mapping[str, Any]
    inputs: tuple[int, ...]  # indices of the layers whose outputs it takes
    input_shape: tuple[int, ...]  # its (first) input's shape, without the batch axis
    shape: tuple[int, ...]  # its output's shape, without the batch axis
    params: int

    @property
    def described(self) -> str:
        return f"{self.name} ({self.cls})"


ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu6",
    "elu": "elu",
    "selu": "selu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "gelu": "gelu",
    "silu": "silu",
    "swish": "silu",
    "softplus": "softplus",
    "softmax": "softmax",
    "linear": "linear",
}
DEFAULT_BN = {"epsilon": 1e-3, "momentum": 0.99}


def activation_word(layer: KerasLayer) -> str | None:
    """The notation's word for an activation layer (`relu`, `leaky relu 0.2`), or None if `layer` is not one."""
    config = layer.config
    match layer.cls:
        case "Activation":
            return activation_named(config.get("activation"), layer)
        case "ReLU":
            maximum = config.get("max_value")
            if config.get("negative_slope") or config.get("threshold"):
                raise ImportFailure(f"layer {layer.described} has a slope or threshold, which the notation cannot say")
            if maximum is None:
                return "relu"
            if float(maximum) == 6:
                return "relu6"
            raise ImportFailure(f"layer {layer.described} clips at {maximum}; the notation has relu and relu6")
        case "LeakyReLU":
            return f"leaky relu {float(config.get('negative_slope', config.get('alpha', 0.3))):g}"
        case "Softmax":
            if config.get("axis", -1) not in (-1, [-1]):
                raise ImportFailure(f"layer {layer.described} takes the softmax over axis {config.get('axis')}")
            return "softmax"
        case "ELU":
            if float(config.get("alpha", 1.0)) != 1.0:
                raise ImportFailure(f"layer {layer.described} has alpha {config['alpha']}; the notation's elu has 1")
            return "elu"
    return None


def activation_named(value: object, layer: KerasLayer) -> str:
    if isinstance(value, str) and value in ACTIVATIONS:
        return ACTIVATIONS[value]
    shown = value if isinstance(value, str) else type(value).__name__
    raise ImportFailure(f"layer {layer.described} uses the activation '{shown}', which the notation has no word for")


def pair(value: object) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    assert isinstance(value, list | tuple) and len(value) == 2, value
    return int(value[0]), int(value[1])


def square(pair: tuple[int, int], what: str, layer: KerasLayer) -> int:
    if pair[0] != pair[1]:
        raise ImportFailure(f"layer {layer.described} has {what} {pair[0]}×{pair[1]}; the notation states one {what}")
    return pair[0]


def pads_of(value: object) -> Pads:
    if isinstance(value, int):
        return (value, value), (value, value)
    assert isinstance(value, list | tuple) and len(value) == 2, value
    top, left = (pair(v) for v in value)
    return top, left


@dataclass(frozen=True)
class Geometry:
    """A conv's or pool's padding as the notation writes it."""

    words: tuple[str, ...]  # e.g. ("pad", "3"), ("same",), ("valid", "floor")

    @staticmethod
    def of(layer: KerasLayer, pads: Pads | None, kernel: tuple[int, int]) -> Geometry:
        strides = pair(layer.config.get("strides") or kernel)
        dilation = pair(layer.config.get("dilation_rate", 1))
        size = layer.input_shape if pads is None else unpadded(layer.input_shape, pads)
        if layer.config.get("padding") == "same":
            if pads is not None:
                raise AssertionError("a ZeroPadding2D is only folded into a valid layer")
            return Geometry(("same",))
        exact = True
        for axis in (0, 1):
            before, after = pads[axis] if pads is not None else (0, 0)
            span = size[axis] + before + after - shapes.effective_kernel(kernel[axis], dilation[axis])
            exact = exact and span % strides[axis] == 0
        words: tuple[str, ...] = ("valid",) if pads is None else ("pad", str(pads[0][0]))
        return Geometry(words if exact else (*words, "floor"))


def unpadded(shape: tuple[int, ...], pads: Pads) -> tuple[int, ...]:
    return (shape[0] - sum(pads[0]), shape[1] - sum(pads[1]), *shape[2:])


def symmetric(pads: Pads) -> bool:
    (top, bottom), (left, right) = pads
    return top == bottom == left == right


def is_same_here(layer: KerasLayer, kernel: tuple[int, int]) -> bool:
    """Whether the layer pads exactly as `same` would on its input (a `valid` 1×1 conv does)."""
    if layer.config.get("padding") == "same":
        return True
    strides = pair(layer.config.get("strides") or kernel)
    dilation = pair(layer.config.get("dilation_rate", 1))
    return all(shapes.same_padding(layer.input_shape[a], kernel[a], strides[a], dilation[a]) == (0, 0) for a in (0, 1))


def foldable_padding(layer: KerasLayer, pads: Pads) -> bool:
    """A symmetric ZeroPadding2D before a `valid` conv or pool is that layer's `pad p`."""
    return (
        symmetric(pads)
        and layer.cls in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D")
        and layer.config.get("padding") == "valid"
    )


def zeropad_word(pads: Pads) -> str:
    (top, bottom), (left, right) = pads
    if symmetric(pads):
        return f"zeropad {top}"
    if top == bottom and left == right:
        return f"zeropad {top}x{left}"
    return f"zeropad {top}x{bottom}x{left}x{right}"


def unsupported(layer: KerasLayer) -> str:
    return f"layer {layer.name} is a {layer.cls}, which papernet's notation has no word for"


def own_activation(layer: KerasLayer) -> str:
    """A conv's own activation, as the notation names it (linear for one it has no word for)."""
    value = layer.config.get("activation", "linear")
    return ACTIVATIONS.get(value, "linear") if isinstance(value, str) else "linear"


def batchnorm_notes(config: Mapping[str, Any]) -> list[str]:
    """What a batch norm sets that the notation cannot state, and that changes no shape or count."""
    return [
        f"batch norm {key} {float(config[key]):g} (the spec's BN uses {value:g}; shapes and counts are the same)"
        for key, value in DEFAULT_BN.items()
        if float(config.get(key, value)) != value
    ]


# ---- layers of 2016–2020 tables -------------------------------------------------------------

BatchNormSettings: TypeAlias = tuple[bool, bool]
"""A batch norm's (scale, center): whether it learns γ and β."""

PLAIN_BN: BatchNormSettings = (True, True)


def batchnorm_settings(layer: KerasLayer) -> BatchNormSettings:
    return bool(layer.config.get("scale", True)), bool(layer.config.get("center", True))


def batchnorm_word(settings: BatchNormSettings, default: BatchNormSettings) -> str:
    """`BN`, with the settings that differ from `defaults: batchnorm:` (`BN scale off`, `BN scale on`)."""
    words = ["BN"]
    for name, value, usual in zip(("scale", "center"), settings, default, strict=True):
        if value != usual:
            words.append(f"{name} {'on' if value else 'off'}")
    return " ".join(words)


def batchnorm_defaults_line(settings: BatchNormSettings) -> str | None:
    """The `defaults:` line for the batch norms' settings, None for Keras's own (γ and β learnt)."""
    off = [name for name, value in zip(("scale", "center"), settings, strict=True) if not value]
    return f"  batchnorm: {', '.join(f'{name} off' for name in off)}" if off else None


def number(value: float) -> str:
    """A float as the shortest text that reads back to the same float (`-1`, `0.5`, `1.001e-05`)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def rescale_word(layer: KerasLayer) -> str:
    """Keras's `Rescaling`: `rescale 1/255`, `rescale 1/127.5 offset -1`, or the scale as a number."""
    scale, offset = layer.config.get("scale", 1.0), layer.config.get("offset", 0.0)
    if not isinstance(scale, int | float) or not isinstance(offset, int | float):
        raise ImportFailure(f"layer {layer.described} rescales each channel differently; `rescale` takes one number")
    scale, offset = float(scale), float(offset)
    words = [f"rescale {number(scale)}"]
    if scale != 0:
        denominator = number(1 / scale)
        if 1 / float(denominator) == scale and float(denominator) != 1:
            words = [f"rescale 1/{denominator}"]
    if offset:
        words.append(f"offset {number(offset)}")
    return " ".join(words)


def normalize_word(layer: KerasLayer) -> str:
    """Keras's `Normalization` over the channels, adapted to the data (its mean and variance are weights)."""
    config = layer.config
    axis = config.get("axis", -1)
    axes = tuple(axis) if isinstance(axis, list | tuple) else (axis,)
    if axes not in ((-1,), (len(layer.input_shape),)):
        raise ImportFailure(f"layer {layer.described} normalises axis {axis}; `normalize` normalises channels")
    if config.get("mean") is not None or config.get("variance") is not None:
        raise ImportFailure(
            f"layer {layer.described} has a fixed mean and variance; papernet's `normalize` is adapted to the data"
        )
    if config.get("invert"):
        raise ImportFailure(f"layer {layer.described} inverts the normalisation, which the notation cannot say")
    return "normalize"


def upsample_word(layer: KerasLayer) -> str:
    """Keras's `UpSampling2D`: `upsample 2`, `upsample 2×3 bilinear`."""
    height, width = pair(layer.config.get("size", 2))
    interpolation = layer.config.get("interpolation", "nearest")
    if interpolation not in ("nearest", "bilinear", "bicubic"):
        raise ImportFailure(
            f"layer {layer.described} interpolates '{interpolation}'; the notation has nearest, bilinear and bicubic"
        )
    size = f"{height}" if height == width else f"{height}×{width}"
    return f"upsample {size}" + ("" if interpolation == "nearest" else f" {interpolation}")


def crop_word(cropping: Pads) -> str:
    """Keras's `Cropping2D` with its sizes, as `zeropad` writes them: `crop 4`, `crop 4x8`, `crop 1x2x3x4`."""
    return "crop" + zeropad_word(cropping).removeprefix("zeropad")


def is_drop_path(layer: KerasLayer) -> bool:
    """A `Dropout` that drops a whole sample's feature map (`noise_shape` (None, 1, 1, 1)): the
    stochastic depth of EfficientNet's blocks, `drop path r`. Any other noise shape is an `ImportFailure`."""
    noise = layer.config.get("noise_shape")
    if noise is None:
        return False
    rest = tuple(noise)[1:]
    if len(rest) == len(layer.input_shape) and all(d == 1 for d in rest):
        return True
    raise ImportFailure(
        f"layer {layer.described} drops with noise shape {tuple(noise)}; the notation's dropout drops each value"
    )


def transposed_words(layer: KerasLayer) -> list[str]:
    """Keras's `Conv2DTranspose`: `up-conv 2×2, 512` (stride 2, papernet's assumption for an
    up-conv), `up-conv 3×3/1, 64` otherwise."""
    config = layer.config
    if config.get("output_padding") is not None:
        raise ImportFailure(f"layer {layer.described} has an output padding, which the notation cannot say")
    if pair(config.get("dilation_rate", 1)) != (1, 1):
        raise ImportFailure(f"layer {layer.described} is a dilated transposed conv; the notation cannot say so")
    kernel = pair(config["kernel_size"])
    stride = square(pair(config.get("strides", 1)), "strides", layer)
    return [f"up-conv {kernel[0]}×{kernel[1]}" + ("" if stride == 2 else f"/{stride}") + f", {config['filters']}"]


def separable_words(layer: KerasLayer) -> list[str]:
    """Keras's `SeparableConv2D`: `sep conv 3×3, 728` (Xception), `sep conv 3×3/2, 64`, `dilation 2`."""
    config = layer.config
    if config.get("depth_multiplier", 1) != 1:
        raise ImportFailure(
            f"layer {layer.described} has depth multiplier {config['depth_multiplier']}; the notation's separable "
            "conv has 1"
        )
    kernel = pair(config["kernel_size"])
    stride = square(pair(config.get("strides", 1)), "strides", layer)
    words = [f"sep conv {kernel[0]}×{kernel[1]}" + (f"/{stride}" if stride != 1 else "") + f", {config['filters']}"]
    dilation = square(pair(config.get("dilation_rate", 1)), "dilation", layer)
    if dilation != 1:
        words.append(f"dilation {dilation}")
    return words
