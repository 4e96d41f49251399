"""The one mapping from IR nodes to Keras layers, shared by the live and source backends.

A node becomes one or more `LayerCall`s: a class name, its arguments as plain Python
values, and a layer name. Keras defaults are left out so generated code reads like
hand-written Keras. Keras has no explicit padding on convs and pools and no ceil
rounding, so those become a `ZeroPadding2D` before a `valid` layer, unless the padding
is exactly what `same` does. Pure: this module never imports TensorFlow or Keras.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import assert_never

from papernet import ir, shapes
from papernet.ir import Node

CUSTOM_LAYERS = frozenset({"LocalResponseNormalization", "ZeroPaddedShortcut"})
"""Layers papernet defines itself (in `papernet.backends.layers`), as Keras has none."""


@dataclass(frozen=True, slots=True)
class LayerCall:
    cls: str
    args: tuple[object, ...]
    kwargs: tuple[tuple[str, object], ...]
    name: str

    @property
    def custom(self) -> bool:
        return self.cls in CUSTOM_LAYERS


def layer_calls(node: Node, input_shape: tuple[int, ...]) -> list[LayerCall]:
    """The Keras layers for `node`, whose input has `input_shape` (without the batch axis).

    >>> from papernet.span import Span
    >>> conv = ir.Conv2D(name="conv1", inputs=(0,), span=Span("a", 1, 1, 1, 2), filters=64,
    ...                  kernel_size=(7, 7), strides=(2, 2), padding=((3, 3), (3, 3)), rounding="floor")
    >>> [(c.cls, c.args, c.kwargs) for c in layer_calls(conv, (224, 224, 3))]
    [('ZeroPadding2D', (), (('padding', 3),)), ('Conv2D', (64, 7), (('strides', 2),))]
    """
    match node:
        case ir.Conv2D():
            return _conv(node, input_shape)
        case ir.DepthwiseConv2D():
            return _depthwise(node, input_shape)
        case ir.Add():
            return [LayerCall("Add", (), (), node.name)]
        case ir.Concat():
            return [LayerCall("Concatenate", (), (), node.name)]
        case ir.ShortcutPad():
            shortcut = (("strides", _compact(node.strides)), ("channels", node.channels))
            return [LayerCall("ZeroPaddedShortcut", (), shortcut, node.name)]
        case ir.Pool2D():
            return _pool(node, input_shape)
        case ir.GlobalPool2D(op=op):
            cls = "GlobalAveragePooling2D" if op == "avg" else "GlobalMaxPooling2D"
            return [LayerCall(cls, (), (), node.name)]
        case ir.Dense():
            kwargs = _drop_defaults(
                (("activation", _activation(node.activation)), ("use_bias", node.use_bias)),
                activation=None,
                use_bias=True,
            )
            return [LayerCall("Dense", (node.units,), kwargs, node.name)]
        case ir.ActivationLayer(activation=activation):
            if activation.name == "leaky_relu":
                return [LayerCall("LeakyReLU", (), (("negative_slope", activation.alpha),), node.name)]
            return [LayerCall("Activation", (activation.name,), (), node.name)]
        case ir.BatchNorm():
            kwargs = _drop_defaults(
                (("epsilon", node.epsilon), ("momentum", node.momentum)), epsilon=1e-3, momentum=0.99
            )
            return [LayerCall("BatchNormalization", (), kwargs, node.name)]
        case ir.LRN():
            kwargs = _drop_defaults(
                (("size", node.size), ("k", node.k), ("alpha", node.alpha), ("beta", node.beta)),
                size=5,
                k=2.0,
                alpha=1e-4,
                beta=0.75,
            )
            return [LayerCall("LocalResponseNormalization", (), kwargs, node.name)]
        case ir.Dropout():
            return [LayerCall("Dropout", (node.rate,), (), node.name)]
        case ir.Flatten():
            return [LayerCall("Flatten", (), (), node.name)]
        case ir.Reshape():
            return [LayerCall("Reshape", (node.target_shape,), (), node.name)]
        case ir.ZeroPad2D():
            return [LayerCall("ZeroPadding2D", (), (("padding", _compact_padding(node.padding)),), node.name)]
        case ir.Input() | ir.Invalid():
            raise ValueError(f"{type(node).__name__} nodes have no Keras layer")
        case _:
            assert_never(node)


def _conv(node: ir.Conv2D, input_shape: tuple[int, ...]) -> list[LayerCall]:
    calls, padding = _padding_calls(node, node.kernel_size, node.strides, node.dilation, input_shape)
    kwargs = _drop_defaults(
        (
            ("strides", _compact(node.strides)),
            ("padding", padding),
            ("dilation_rate", _compact(node.dilation)),
            ("groups", node.groups),
            ("use_bias", node.use_bias),
            ("activation", _activation(node.activation)),
        ),
        strides=1,
        padding="valid",
        dilation_rate=1,
        groups=1,
        use_bias=True,
        activation=None,
    )
    return [*calls, LayerCall("Conv2D", (node.filters, _compact(node.kernel_size)), kwargs, node.name)]


def _depthwise(node: ir.DepthwiseConv2D, input_shape: tuple[int, ...]) -> list[LayerCall]:
    calls, padding = _padding_calls(node, node.kernel_size, node.strides, (1, 1), input_shape)
    kwargs = _drop_defaults(
        (
            ("strides", _compact(node.strides)),
            ("padding", padding),
            ("depth_multiplier", node.depth_multiplier),
            ("use_bias", node.use_bias),
            ("activation", _activation(node.activation)),
        ),
        strides=1,
        padding="valid",
        depth_multiplier=1,
        use_bias=True,
        activation=None,
    )
    return [*calls, LayerCall("DepthwiseConv2D", (_compact(node.kernel_size),), kwargs, node.name)]


def _pool(node: ir.Pool2D, input_shape: tuple[int, ...]) -> list[LayerCall]:
    calls, padding = _padding_calls(node, node.pool_size, node.strides, (1, 1), input_shape)
    cls = "MaxPooling2D" if node.op == "max" else "AveragePooling2D"
    strides = None if node.strides == node.pool_size else _compact(node.strides)
    kwargs = _drop_defaults((("strides", strides), ("padding", padding)), strides=None, padding="valid")
    return [*calls, LayerCall(cls, (_compact(node.pool_size),), kwargs, node.name)]


def _padding_calls(
    node: ir.Conv2D | ir.DepthwiseConv2D | ir.Pool2D,
    kernel: ir.Pair,
    strides: ir.Pair,
    dilation: ir.Pair,
    input_shape: tuple[int, ...],
) -> tuple[list[LayerCall], str]:
    """Explicit and ceil-mode padding as a ZeroPadding2D, or the Keras padding string."""
    if node.padding == "same":
        return [], "same"
    pads = ((0, 0), (0, 0)) if node.padding == "valid" else node.padding
    if node.rounding == "ceil":
        pads = tuple(  # type: ignore[assignment]
            (before, after + shapes.ceil_extra_padding(input_shape[axis], kernel[axis], strides[axis], before + after))
            for axis, (before, after) in enumerate(pads)
        )
    if all(shapes.is_same_equivalent(kernel[a], strides[a], *pads[a], dilation=dilation[a]) for a in (0, 1)):
        return [], "same"
    if pads == ((0, 0), (0, 0)):
        return [], "valid"
    return [LayerCall("ZeroPadding2D", (), (("padding", _compact_padding(pads)),), f"{node.name}_pad")], "valid"


def _compact(pair: ir.Pair) -> int | ir.Pair:
    return pair[0] if pair[0] == pair[1] else pair


def _compact_padding(padding: tuple[ir.Pair, ir.Pair]) -> object:
    (top, bottom), (left, right) = padding
    if top == bottom and left == right:
        return top if top == left else (top, left)
    return padding


def _activation(activation: ir.Activation) -> str | None:
    return None if activation.name == "linear" else activation.name


def _drop_defaults(pairs: tuple[tuple[str, object], ...], **defaults: object) -> tuple[tuple[str, object], ...]:
    return tuple((key, value) for key, value in pairs if value != defaults.get(key, object()))


def model_name(title: str) -> str:
    """A network's title as an ASCII Python identifier, for model and function names.

    >>> model_name("VGG-11 (regression)"), model_name("3D net")
    ('vgg_11_regression', 'net_3d_net')
    """
    name = re.sub(r"\W+", "_", title.lower(), flags=re.ASCII).strip("_")
    return f"net_{name}" if not name or name[0].isdigit() else name
