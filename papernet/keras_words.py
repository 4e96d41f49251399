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
        and layer.cls in ("Conv2D", "DepthwiseConv2D", "MaxPooling2D", "AveragePooling2D")
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
