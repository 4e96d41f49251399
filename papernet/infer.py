"""Stage 3, infer: per node, output shape, parameters, MACs, activations, receptive field.

`infer(graph, convention)` is a pure function. Shape arithmetic lives in
`papernet.shapes`; this module applies it node by node. A node whose shape cannot be
computed gets `shape=None` and a diagnostic, and every node after it that depends on
it is unknown too, without further diagnostics, so one run reports every independent
error.

Conventions: `keras` counts a batch norm as 4C parameters of which 2C (the moving mean
and variance) are not trainable; `torch` counts 2C, as PyTorch's `parameters()` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from math import prod
from typing import Literal, assert_never

from papernet import diagnostics as diag
from papernet import ir, shapes
from papernet.diagnostics import Diagnostic
from papernet.ir import Graph, Node

Convention = Literal["keras", "torch"]
Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LayerInfo:
    shape: Shape | None
    params: int = 0
    trainable: int = 0
    macs: int = 0
    receptive_field: tuple[int, int] | None = None
    jump: tuple[int, int] | None = None

    @property
    def activations(self) -> int:
        return prod(self.shape) if self.shape is not None else 0

    @property
    def non_trainable(self) -> int:
        return self.params - self.trainable


@dataclass(frozen=True, slots=True)
class Inference:
    layers: tuple[LayerInfo, ...]
    diagnostics: tuple[Diagnostic, ...]
    convention: Convention

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def total_trainable(self) -> int:
        return sum(layer.trainable for layer in self.layers)

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def total_activations(self) -> int:
        return sum(layer.activations for layer in self.layers)


def infer(graph: Graph, convention: Convention = "keras") -> Inference:
    """Annotate every node of `graph`.

    >>> from papernet.span import Span
    >>> at = Span("a.pn", 1, 1, 1, 2)
    >>> graph = Graph("tiny", (
    ...     ir.Input(name="input", inputs=(), span=at, shape=(227, 227, 3)),
    ...     ir.Conv2D(name="conv1", inputs=(0,), span=at, filters=96, kernel_size=(11, 11),
    ...               strides=(4, 4), padding="valid"),
    ... ))
    >>> conv1 = infer(graph).layers[1]
    >>> conv1.shape, conv1.params, conv1.macs, conv1.receptive_field
    ((55, 55, 96), 34944, 105415200, (11, 11))
    """
    layers: list[LayerInfo] = []
    flow: list[LayerInfo] = []  # what later nodes see: the declared shape where it disagrees
    diagnostics: list[Diagnostic] = []
    for node in graph.nodes:
        info, found = infer_node(node, flow, graph.nodes, convention)
        layers.append(info)
        flow.append(continue_from_declared(node, info))
        diagnostics += found
    return Inference(tuple(layers), tuple(diagnostics), convention)


def infer_node(
    node: Node, flow: list[LayerInfo], nodes: tuple[Node, ...] | list[Node], convention: Convention = "keras"
) -> tuple[LayerInfo, list[Diagnostic]]:
    """One node, given what the nodes before it pass on (`flow`, indexed like `nodes`)."""
    if isinstance(node, ir.Add | ir.Concat):
        return _merge(node, [flow[i] for i in node.inputs], [nodes[i] for i in node.inputs])
    if isinstance(node, ir.Multiply):
        return _multiply(node, [flow[i] for i in node.inputs], [nodes[i] for i in node.inputs])
    if isinstance(node, ir.Crop2D) and node.match is not None:
        return _crop_to_partner(node, flow[node.inputs[0]], flow[node.match], nodes[node.match])
    return _infer_node(node, [flow[i] for i in node.inputs], convention)


def continue_from_declared(node: Node, info: LayerInfo) -> LayerInfo:
    """After a layer whose declared shape differs from the inferred one, later layers start
    from the declared shape, so that one early mismatch does not turn every later row red."""
    declared = node.claims.shape
    if declared is None or info.shape is None or declared == info.shape:
        return info
    if len(declared) == 2 and len(info.shape) == 3:  # ResNet's Table 1 gives H×W without channels
        return replace(info, shape=(*declared, info.shape[2]))
    if len(declared) != len(info.shape):
        return info
    return replace(info, shape=declared)


def _infer_node(node: Node, inputs: list[LayerInfo], convention: Convention) -> tuple[LayerInfo, list[Diagnostic]]:
    if isinstance(node, ir.Input):
        return LayerInfo(node.shape, receptive_field=(1, 1), jump=(1, 1)), []
    if isinstance(node, ir.Invalid) or not inputs or inputs[0].shape is None:
        return LayerInfo(None), []
    source = inputs[0]
    shape = source.shape
    assert shape is not None
    match node:
        case ir.Conv2D():
            return _conv(node, source, shape)
        case ir.DepthwiseConv2D():
            return _depthwise(node, source, shape)
        case ir.SeparableConv2D():
            return _separable(node, source, shape)
        case ir.Conv2DTranspose():
            return _transposed(node, source, shape)
        case ir.UpSample2D():
            return _upsample(node, source, shape)
        case ir.Crop2D(cropping=cropping):
            if len(shape) != 3:
                return LayerInfo(None), [_needs_image(node, shape)]
            assert cropping is not None, "a crop to a partner is inferred by _crop_to_partner"
            (top, bottom), (left, right) = cropping
            out = (shape[0] - top - bottom, shape[1] - left - right, shape[2])
            if out[0] < 1 or out[1] < 1:
                message = f"{ir.describe(node)} on {dims(shape)} leaves {out[0]}×{out[1]}: nothing is left"
                return LayerInfo(None), [diag.error("P220", message, node.span)]
            return LayerInfo(out, receptive_field=source.receptive_field, jump=source.jump), []
        case ir.ShortcutPad():
            if len(shape) != 3 or shape[2] > node.channels:
                return LayerInfo(None), [_needs_image(node, shape)]
            (sh, sw), channels = node.strides, node.channels
            out = (shapes.same_output_size(shape[0], sh), shapes.same_output_size(shape[1], sw), channels)
            return LayerInfo(out, receptive_field=source.receptive_field, jump=_times(source.jump, node.strides)), []
        case ir.Add() | ir.Concat() | ir.Multiply():
            raise AssertionError("merges are inferred by _merge and _multiply")
        case ir.Pool2D():
            return _pool(node, source, shape)
        case ir.GlobalPool2D():
            if len(shape) != 3:
                return LayerInfo(None), [_needs_image(node, shape)]
            return _whole_extent(source, shape, (shape[2],)), []
        case ir.Dense():
            if len(shape) != 1:
                return LayerInfo(None), [_needs_vector(node, shape)]
            params = shape[0] * node.units + (node.units if node.use_bias else 0)
            return LayerInfo(
                (node.units,), params, params, shape[0] * node.units, source.receptive_field, source.jump
            ), []
        case ir.BatchNorm():
            params, trainable = batchnorm_params(shape[-1], node.scale, node.center, convention)
            return LayerInfo(shape, params, trainable, 0, source.receptive_field, source.jump), []
        case ir.Flatten():
            if len(shape) == 3:
                return _whole_extent(source, shape, (prod(shape),)), []
            return LayerInfo((prod(shape),), receptive_field=source.receptive_field, jump=source.jump), []
        case ir.Reshape():
            if prod(node.target_shape) != prod(shape):
                return LayerInfo(None), [_reshape_mismatch(node, shape)]
            return LayerInfo(node.target_shape, receptive_field=source.receptive_field, jump=source.jump), []
        case ir.ZeroPad2D():
            if len(shape) != 3:
                return LayerInfo(None), [_needs_image(node, shape)]
            (top, bottom), (left, right) = node.padding
            padded = (shape[0] + top + bottom, shape[1] + left + right, shape[2])
            return LayerInfo(padded, receptive_field=source.receptive_field, jump=source.jump), []
        case ir.LRN():
            if len(shape) != 3:
                return LayerInfo(None), [_needs_image(node, shape)]
            return LayerInfo(shape, receptive_field=source.receptive_field, jump=source.jump), []
        case ir.Normalization():
            params = 2 * shape[-1] + 1 if convention == "keras" else 0  # mean, variance, count: not trained
            return LayerInfo(shape, params, 0, 0, source.receptive_field, source.jump), []
        case ir.ActivationLayer() | ir.Dropout() | ir.DropPath() | ir.Rescaling():
            return LayerInfo(shape, receptive_field=source.receptive_field, jump=source.jump), []
        case ir.Input() | ir.Invalid():
            raise AssertionError("handled above")
        case _:
            assert_never(node)


def batchnorm_params(channels: int, scale: bool, center: bool, convention: Convention) -> tuple[int, int]:
    """(parameters, trainable) of a batch norm over `channels`: γ and β where on, and under
    Keras's convention the moving mean and variance, which are not trainable.

    >>> batchnorm_params(64, True, True, "keras"), batchnorm_params(64, False, True, "keras")
    ((256, 128), (192, 64))
    >>> batchnorm_params(64, False, False, "keras"), batchnorm_params(64, False, True, "torch")
    ((128, 0), (64, 64))
    """
    trainable = channels * (int(scale) + int(center))
    return (trainable + 2 * channels if convention == "keras" else trainable), trainable


def _conv(node: ir.Conv2D, source: LayerInfo, shape: Shape) -> tuple[LayerInfo, list[Diagnostic]]:
    if len(shape) != 3:
        return LayerInfo(None), [_needs_image(node, shape)]
    channels = shape[2]
    problems = []
    if channels % node.groups or node.filters % node.groups:
        problems.append(
            diag.error(
                "P206",
                f"{ir.describe(node)} in {node.groups} groups needs input channels and filters divisible by "
                f"{node.groups}; got {channels} channels and {node.filters} filters",
                node.span,
            )
        )
    if node.kernel_depth is not None and node.kernel_depth * node.groups != channels:
        problems.append(
            diag.error(
                "P207",
                f"{ir.describe(node)} has kernels of depth {node.kernel_depth}, but its input has {channels} "
                f"channels" + (f" in {node.groups} groups" if node.groups > 1 else ""),
                node.span,
                f"a kernel's depth is the input's channels per group: {channels // node.groups}",
            )
        )
    spatial, found = _spatial(node, node.kernel_size, node.strides, node.padding, node.dilation, node.rounding, shape)
    problems += found
    if spatial is None or any(p.code in ("P206", "P207") for p in problems):
        return LayerInfo(None), problems
    per_position = node.kernel_size[0] * node.kernel_size[1] * (channels // node.groups)
    out = (*spatial, node.filters)
    params = per_position * node.filters + (node.filters if node.use_bias else 0)
    macs = spatial[0] * spatial[1] * node.filters * per_position
    rf, jump = _advance(source, node.kernel_size, node.strides, node.dilation)
    return LayerInfo(out, params, params, macs, rf, jump), problems


def _depthwise(node: ir.DepthwiseConv2D, source: LayerInfo, shape: Shape) -> tuple[LayerInfo, list[Diagnostic]]:
    if len(shape) != 3:
        return LayerInfo(None), [_needs_image(node, shape)]
    spatial, problems = _spatial(node, node.kernel_size, node.strides, node.padding, (1, 1), node.rounding, shape)
    if spatial is None:
        return LayerInfo(None), problems
    channels = shape[2] * node.depth_multiplier
    per_channel = node.kernel_size[0] * node.kernel_size[1]
    params = per_channel * channels + (channels if node.use_bias else 0)
    macs = spatial[0] * spatial[1] * channels * per_channel
    rf, jump = _advance(source, node.kernel_size, node.strides, (1, 1))
    return LayerInfo((*spatial, channels), params, params, macs, rf, jump), problems


def _separable(node: ir.SeparableConv2D, source: LayerInfo, shape: Shape) -> tuple[LayerInfo, list[Diagnostic]]:
    """Keras's SeparableConv2D: depthwise k·k·C·m, pointwise C·m·K, and K biases."""
    if len(shape) != 3:
        return LayerInfo(None), [_needs_image(node, shape)]
    spatial, problems = _spatial(
        node, node.kernel_size, node.strides, node.padding, node.dilation, node.rounding, shape
    )
    if spatial is None:
        return LayerInfo(None), problems
    params = shapes.separable_params(shape[2], node.filters, node.kernel_size, node.depth_multiplier, node.use_bias)
    middle = shape[2] * node.depth_multiplier
    per_pixel = middle * node.kernel_size[0] * node.kernel_size[1] + middle * node.filters
    rf, jump = _advance(source, node.kernel_size, node.strides, node.dilation)
    return LayerInfo((*spatial, node.filters), params, params, spatial[0] * spatial[1] * per_pixel, rf, jump), problems


def _transposed(node: ir.Conv2DTranspose, source: LayerInfo, shape: Shape) -> tuple[LayerInfo, list[Diagnostic]]:
    """Keras's Conv2DTranspose: F·F·C·K weights and K biases; each input pixel is spread over an
    F×F patch of every output channel, so C·K·F·F multiply-adds per input pixel."""
    if len(shape) != 3:
        return LayerInfo(None), [_needs_image(node, shape)]
    (kh, kw), (sh, sw) = node.kernel_size, node.strides
    out = (
        shapes.transposed_output_size(shape[0], kh, sh, node.padding),
        shapes.transposed_output_size(shape[1], kw, sw, node.padding),
        node.filters,
    )
    weights = kh * kw * shape[2] * node.filters
    params = weights + (node.filters if node.use_bias else 0)
    rf, jump = _upsampled(source, node.kernel_size, node.strides)
    return LayerInfo(out, params, params, shape[0] * shape[1] * weights, rf, jump), []


def _crop_to_partner(
    node: ir.Crop2D, source: LayerInfo, partner: LayerInfo, partner_node: Node
) -> tuple[LayerInfo, list[Diagnostic]]:
    """U-Net's copy and crop: the skip cropped centrally to its partner's height and width."""
    if source.shape is None or partner.shape is None:
        return LayerInfo(None), []
    if len(source.shape) != 3 or len(partner.shape) != 3:
        return LayerInfo(None), [_needs_image(node, source.shape if len(source.shape) != 3 else partner.shape)]
    if source.shape[0] < partner.shape[0] or source.shape[1] < partner.shape[1]:
        message = (
            f"crop: the skip is {dims(source.shape[:2])}, smaller than its partner's {dims(partner.shape[:2])} "
            f"from {partner_node.name} (line {partner_node.span.line}); a crop can only shrink it"
        )
        return LayerInfo(None), [diag.error("P220", message, node.span, "crop the other branch, or pad this one")]
    out = (partner.shape[0], partner.shape[1], source.shape[2])
    return LayerInfo(out, receptive_field=source.receptive_field, jump=source.jump), []


def _upsample(node: ir.UpSample2D, source: LayerInfo, shape: Shape) -> tuple[LayerInfo, list[Diagnostic]]:
    if len(shape) != 3:
        return LayerInfo(None), [_needs_image(node, shape)]
    (sh, sw) = node.size
    reach = (1, 1) if node.interpolation == "nearest" else (sh + 1, sw + 1)  # interpolation sees a neighbour
    rf, jump = _upsampled(source, reach, node.size)
    return LayerInfo((shape[0] * sh, shape[1] * sw, shape[2]), receptive_field=rf, jump=jump), []


def _upsampled(
    source: LayerInfo, kernel: ir.Pair, strides: ir.Pair
) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    if source.receptive_field is None or source.jump is None:
        return None, None
    axes = [
        shapes.upsampled_receptive_field(source.receptive_field[a], kernel[a], strides[a], source.jump[a])
        for a in (0, 1)
    ]
    jump = tuple(FIELD_BOUND if beyond_bound(source.jump[a]) else axes[a][1] for a in (0, 1))  # held stays held
    return _bounded((axes[0][0], axes[1][0])), (jump[0], jump[1])


def _merge(
    node: ir.Add | ir.Concat, inputs: list[LayerInfo], sources: list[Node]
) -> tuple[LayerInfo, list[Diagnostic]]:
    """An add needs identical shapes, a concat identical sizes but for the channels."""
    if any(info.shape is None for info in inputs):
        return LayerInfo(None), []
    shapes_in = [info.shape for info in inputs if info.shape is not None]
    first = shapes_in[0]
    if isinstance(node, ir.Add):
        mismatch = next((i for i, s in enumerate(shapes_in) if s != first), None)
        out = first
    else:
        mismatch = next((i for i, s in enumerate(shapes_in) if len(s) != len(first) or s[:-1] != first[:-1]), None)
        out = (*first[:-1], sum(s[-1] for s in shapes_in))
    if mismatch is not None:
        return LayerInfo(None), [_merge_mismatch(node, shapes_in, sources, mismatch)]
    rf = _widest([info.receptive_field for info in inputs])
    jump = _widest([info.jump for info in inputs])
    return LayerInfo(out, receptive_field=rf, jump=jump), []


def _multiply(node: ir.Multiply, inputs: list[LayerInfo], sources: list[Node]) -> tuple[LayerInfo, list[Diagnostic]]:
    """An element-wise product; a size of 1 is broadcast (SE's 1×1×C weights over H×W×C)."""
    if any(info.shape is None for info in inputs):
        return LayerInfo(None), []
    shapes_in = [info.shape for info in inputs if info.shape is not None]
    out = shapes.broadcast(shapes_in)
    if out is None:
        listed = " and ".join(
            f"{dims(s)} from {source.name} (line {source.span.line})"
            for s, source in zip(shapes_in, sources, strict=True)
        )
        message = f"multiply of {listed}: each size must match or be 1"
        return LayerInfo(None), [diag.error("P221", message, node.span)]
    rf = _widest([info.receptive_field for info in inputs])
    # The output's grid is that of the inputs not broadcast: SE's 1×1 weights, whose step is the
    # whole map, do not make the map's pixels that far apart (taken widest, it grew ×H a block).
    unbroadcast = [info.jump for info in inputs if info.shape == out]
    jump = _widest(unbroadcast or [info.jump for info in inputs])
    return LayerInfo(out, receptive_field=rf, jump=jump), []


def _widest(values: list[tuple[int, int] | None]) -> tuple[int, int] | None:
    """Receptive field (or stride) of a merge: the largest over its incoming paths."""
    known = [v for v in values if v is not None]
    return (max(v[0] for v in known), max(v[1] for v in known)) if known else None


def _times(jump: tuple[int, int] | None, strides: ir.Pair) -> tuple[int, int] | None:
    return None if jump is None else _bounded((jump[0] * strides[0], jump[1] * strides[1]))


FIELD_BOUND = 2**53
"""Receptive fields and effective strides are counted up to this many pixels and held there:
`[maxpool 3×3/2] ×30000` would make numbers of 9,000 digits. Reports show a held one as past
the bound (`beyond_bound`), never as a count."""


def _bounded(pair: tuple[int, int]) -> tuple[int, int]:
    return (min(pair[0], FIELD_BOUND), min(pair[1], FIELD_BOUND))


PAST_BOUND = f"receptive field or effective stride past {FIELD_BOUND:,} px"
"""How every report says a layer's receptive field or effective stride was held."""


def beyond_bound(value: int | None) -> bool:
    """Whether a receptive field or effective stride was held at `FIELD_BOUND`."""
    return value is not None and value >= FIELD_BOUND


def _pool(node: ir.Pool2D, source: LayerInfo, shape: Shape) -> tuple[LayerInfo, list[Diagnostic]]:
    if len(shape) != 3:
        return LayerInfo(None), [_needs_image(node, shape)]
    if isinstance(node.padding, tuple) and any(
        side > node.pool_size[axis] // 2 for axis, pads in enumerate(node.padding) for side in pads
    ):
        message = f"{ir.describe(node)} is padded by more than half its window"
        help_text = "Caffe and PyTorch reject such padding: a window could then see only padding"
        return LayerInfo(None), [diag.error("P208", message, node.span, help_text)]
    spatial, problems = _spatial(node, node.pool_size, node.strides, node.padding, (1, 1), node.rounding, shape)
    if spatial is None:
        return LayerInfo(None), problems
    rf, jump = _advance(source, node.pool_size, node.strides, (1, 1))
    return LayerInfo((*spatial, shape[2]), receptive_field=rf, jump=jump), problems


def _spatial(
    node: ir.Conv2D | ir.DepthwiseConv2D | ir.SeparableConv2D | ir.Pool2D,
    kernel: ir.Pair,
    strides: ir.Pair,
    padding: ir.Padding,
    dilation: ir.Pair,
    rounding: ir.Rounding,
    shape: Shape,
) -> tuple[tuple[int, int] | None, list[Diagnostic]]:
    """Output height and width, or None with the diagnostics that explain why not."""
    if padding == "same":
        return (shapes.same_output_size(shape[0], strides[0]), shapes.same_output_size(shape[1], strides[1])), []
    pads = ((0, 0), (0, 0)) if padding == "valid" else padding
    sizes: list[int] = []
    problems: list[Diagnostic] = []
    for axis in (0, 1):
        size, k, s, d = shape[axis], kernel[axis], strides[axis], dilation[axis]
        pad_total = pads[axis][0] + pads[axis][1]
        k_eff = shapes.effective_kernel(k, d)
        if size + pad_total < k_eff:
            problems.append(_kernel_too_large(node, shape, axis, k_eff, pads[axis]))
            return None, problems
        exact = shapes.exact_output_size(size, k, s, pad_total, d)
        if exact.denominator != 1 and rounding == "exact":
            problem = _not_an_integer(node, shape, axis, exact, pads[axis], k_eff)
            if problem not in problems:  # a square layer on a square input fails once, not per axis
                problems.append(problem)
        sizes.append(shapes.padded_output_size(size, k, s, pad_total, d, rounding))
    return (sizes[0], sizes[1]), problems


def _advance(
    source: LayerInfo, kernel: ir.Pair, strides: ir.Pair, dilation: ir.Pair
) -> tuple[tuple[int, int], tuple[int, int]]:
    rf = source.receptive_field or (1, 1)
    jump = source.jump or (1, 1)
    new_rf = (
        shapes.receptive_field(rf[0], kernel[0], jump[0], dilation[0]),
        shapes.receptive_field(rf[1], kernel[1], jump[1], dilation[1]),
    )
    return _bounded(new_rf), _bounded((jump[0] * strides[0], jump[1] * strides[1]))


def _whole_extent(source: LayerInfo, shape: Shape, out: Shape) -> LayerInfo:
    """A layer that sees all of its H×W input (flatten, global pooling)."""
    rf, jump = _advance(source, (shape[0], shape[1]), (shape[0], shape[1]), (1, 1))
    return LayerInfo(out, receptive_field=rf, jump=jump)


# ---- diagnostics ------------------------------------------------------------------


def dims(shape: Sequence[int]) -> str:
    """`(224, 224, 3)` → `224×224×3`.

    >>> dims((224, 224, 3))
    '224×224×3'
    """
    return "×".join(map(str, shape))


def arithmetic(size: int, pads: tuple[int, int], k_eff: int, stride: int) -> str:
    """The paper's formula with the numbers in, e.g. `(224 + 2·0 − 11)/4 + 1`.

    >>> arithmetic(224, (0, 0), 11, 4), arithmetic(224, (2, 3), 7, 2)
    ('(224 + 2·0 − 11)/4 + 1', '(224 + 2 + 3 − 7)/2 + 1')
    """
    before, after = pads
    pad = f"2·{before}" if before == after else f"{before} + {after}"
    return f"({size} + {pad} − {k_eff})/{stride} + 1"


def _fraction_text(value: Fraction) -> str:
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return text if Fraction(text) == value else f"{float(value):.4f}…"


def _axis_word(shape: Shape, axis: int) -> str:
    return "" if shape[0] == shape[1] else (" (height)" if axis == 0 else " (width)")


def _not_an_integer(
    node: ir.Conv2D | ir.DepthwiseConv2D | ir.SeparableConv2D | ir.Pool2D,
    shape: Shape,
    axis: int,
    exact: Fraction,
    pads: tuple[int, int],
    k_eff: int,
) -> Diagnostic:
    stride = node.strides[axis]
    size = shape[axis]
    formula = arithmetic(size, pads, k_eff, stride)
    message = (
        f"{ir.describe(node)} on {dims(shape)} gives {formula} = {_fraction_text(exact)}"
        f"{_axis_word(shape, axis)}, not an integer"
    )
    target = node.claims.shape[axis] if node.claims.shape is not None and len(node.claims.shape) == 3 else None
    max_pad = node.pool_size[axis] // 2 if isinstance(node, ir.Pool2D) else None  # more is P208
    help_lines = shapes.integer_fixes(size, stride, pads, k_eff, target, square=shape[0] == shape[1], max_pad=max_pad)
    return diag.error("P201", message, node.span, *help_lines)


def _kernel_too_large(
    node: ir.Conv2D | ir.DepthwiseConv2D | ir.SeparableConv2D | ir.Pool2D,
    shape: Shape,
    axis: int,
    k_eff: int,
    pads: tuple[int, int],
) -> Diagnostic:
    stride = node.strides[axis]
    formula = arithmetic(shape[axis], pads, k_eff, stride)
    value = _fraction_text(shapes.exact_output_size(shape[axis], k_eff, stride, sum(pads)))
    message = (
        f"{ir.describe(node)} on {dims(shape)} gives {formula} = {value}{_axis_word(shape, axis)}: "
        f"its {k_eff}-pixel window is larger than its padded input"
    )
    return diag.error(
        "P203", message, node.span, "remove a downsampling layer before it, use a larger input, or use `padding same`"
    )


def _merge_mismatch(node: ir.Add | ir.Concat, shapes_in: list[Shape], sources: list[Node], index: int) -> Diagnostic:
    def where(i: int) -> str:
        return f"{dims(shapes_in[i])} from {sources[i].name} (line {sources[i].span.line})"

    if isinstance(node, ir.Add):
        message = f"add of {where(0)} and {where(index)}: an add needs identical shapes"
        help_text = (
            "project the shortcut with a 1×1 conv where the channels or the size change (`residual: shortcut B`)"
        )
        return diag.error("P209", message, node.span, help_text)
    message = f"concat of {where(0)} and {where(index)}: a concat needs the same height and width"
    return diag.error("P210", message, node.span, "give every branch the same stride and `padding same`")


def _needs_image(node: Node, shape: Shape) -> Diagnostic:
    return diag.error(
        "P205",
        f"{ir.describe(node)} needs an H×W×C input, but gets a vector of {dims(shape)}",
        node.span,
        "add `reshape H×W×C` before it",
    )


def _needs_vector(node: Node, shape: Shape) -> Diagnostic:
    return diag.error(
        "P205",
        f"{ir.describe(node)} needs a vector input, but gets {dims(shape)}",
        node.span,
        "add `flatten` before it",
    )


def _reshape_mismatch(node: ir.Reshape, shape: Shape) -> Diagnostic:
    message = (
        f"reshape {dims(node.target_shape)} holds {prod(node.target_shape):,} values, but its input "
        f"{dims(shape)} holds {prod(shape):,}"
    )
    return diag.error("P204", message, node.span, "the product of the sizes must stay the same")


_IN_PLACE = (ir.ActivationLayer, ir.Dropout, ir.DropPath, ir.BatchNorm, ir.Flatten, ir.Reshape, ir.Invalid)


def stored_activations(graph: Graph, inference: Inference) -> list[int]:
    """Per node, the activation values a forward pass stores for one image, as cs231n counts
    its "memory": the input and every layer's output; activations, dropout and batch norm
    (run in place or fused into the layer before them), flatten and reshape (views of their
    input) store nothing of their own.

    >>> from papernet.span import Span
    >>> at = Span("a.pn", 1, 1, 1, 2)
    >>> graph = Graph("tiny", (
    ...     ir.Input(name="input", inputs=(), span=at, shape=(4, 4, 3)),
    ...     ir.Conv2D(name="c", inputs=(0,), span=at, filters=8, kernel_size=(3, 3), strides=(1, 1), padding="same"),
    ...     ir.ActivationLayer(name="r", inputs=(1,), span=at, activation=ir.RELU),
    ... ))
    >>> stored_activations(graph, infer(graph))
    [48, 128, 0]
    """
    return [
        0 if isinstance(node, _IN_PLACE) or info.shape is None else prod(info.shape)
        for node, info in zip(graph.nodes, inference.layers, strict=True)
    ]
