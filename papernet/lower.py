"""Stage 2, lower: syntax tree → IR graph, with every unstated value resolved and marked.

What happens here, in order:
1. `defaults:` lines are read into a table per layer kind;
2. items are expanded (`x3`, `[...] x2`), within a bound checked before expanding;
3. activation words are fused into the conv or FC before them (`FC-1000, soft-max` is
   one Dense with softmax), unless a batch norm sits between them;
4. each layer becomes IR nodes: attributes come from the layer (stated), else from
   `defaults` (default), else from the claims (inferred), else from papernet's
   built-in defaults (assumed); a conv with batch norm becomes conv → BN → activation;
5. a flatten is inserted where a conv or pool output feeds an FC, as papers leave it out.

Problems are reported as diagnostics; a layer that cannot be lowered becomes an
`Invalid` node so that later stages still see the rest of the network.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from papernet import diagnostics as diag
from papernet import ir
from papernet.blocks import instantiate
from papernet.diagnostics import Diagnostic
from papernet.ir import Activation, Claims, Node, Origin
from papernet.parse import MAX_DIGITS, RESERVED_PARAMETER_WORDS
from papernet.span import Span
from papernet.syntax import (
    MAX_NESTING,
    BlockDef,
    BlockUse,
    DefaultsLine,
    Group,
    Item,
    Layer,
    Merge,
    Option,
    Reference,
    Spec,
    too_deep,
)

MAX_DIMENSION = 1_000_000
"""Largest size, filter or unit count a spec may state."""
MAX_REPEAT = 10_000
MAX_LAYERS = 100_000
"""Largest number of layers a spec may expand to."""
MAX_WIDTH = 16.0
"""Largest width multiplier α (MobileNet's are at most 1.4)."""
MAX_INPUT_VALUES = 1_000_000_000
"""Largest input a spec may state, in values (H·W·C): 4 GB of float32 per example."""

BUILTIN_DEFAULTS_DOC = """\
conv     stride 1, padding valid (P = 0), exact division, bias on, activation relu
         (linear when batch norm follows; the output layer's is linear)
maxpool  2×2 window, stride = window, padding valid, exact division
avgpool  with no window: global average pooling (ResNet's "average pool")
fc       activation relu for hidden layers, linear for the last FC; bias on
dropout  rate 0.5
LRN      AlexNet's k = 2, n = 5, α = 1e-4, β = 0.75
leaky relu  slope 0.01"""

_DEFAULT_KINDS = {
    "conv": "conv",
    "convolution": "conv",
    "maxpool": "maxpool",
    "avgpool": "avgpool",
    "averagepool": "avgpool",
    "pool": "pool",
    "residual": "shortcuts",
    "resnet": "shortcuts",
    "fc": "fc",
    "dense": "fc",
    "dropout": "dropout",
    "flops": "flops",
    "batchnorm": "batchnorm",
    "batchnormalization": "batchnorm",
    "bn": "batchnorm",
    "params": "params",
    "parameters": "params",
}

_ALLOWED_OPTIONS = {
    "conv": {
        "kernel",
        "kernel_depth",
        "filters",
        "stride",
        "padding",
        "dilation",
        "groups",
        "activation",
        "batchnorm",
        "bias",
        "rounding",
        "reduce",
        "width",
    },
    "dwconv": {"kernel", "stride", "padding", "activation", "batchnorm", "bias", "rounding"},
    "sepconv": {"kernel", "filters", "stride", "padding", "dilation", "activation", "batchnorm", "bias", "rounding"},
    "deconv": {"kernel", "filters", "stride", "padding", "activation", "batchnorm", "bias"},
    "upsample": {"kernel", "interpolation"},
    "crop": {"cropping"},
    "se": {"se", "of", "activation"},
    "rescale": {"scale", "offset"},
    "residual": set(),
    "merge": set(),
    "reference": set(),
    "block": set(),
    "inception": {"inception", "name"},
    "shortcuts": {"shortcut", "stride_on", "preactivation", "stride_block"},
    "maxpool": {"kernel", "stride", "padding", "rounding"},
    "avgpool": {"kernel", "stride", "padding", "rounding"},
    "pool": {"kernel", "stride", "padding", "rounding"},
    "fc": {"units", "activation", "batchnorm", "bias"},
    "dropout": {"rate"},
    "drop_path": {"rate"},
    "flops": {"factor", "counts"},
    "params": {"weights_only", "bias", "batchnorm", "base"},
    "input": {"shape", "channels"},
    "reshape": {"shape"},
    "zeropad": {"padding"},
    "activation": {"activation"},
    "batchnorm": {"scale", "center", "epsilon", "momentum"},
}

_FUSABLE = {"conv", "dwconv", "fc", "sepconv", "deconv"}

_OPTION_WORDS = {
    "kernel": "a kernel size",
    "kernel_depth": "a kernel depth",
    "filters": "a filter count",
    "stride": "stride",
    "padding": "padding",
    "dilation": "dilation",
    "groups": "groups",
    "activation": "activation",
    "batchnorm": "batchnorm",
    "bias": "bias",
    "rounding": "floor/ceil rounding",
    "units": "units",
    "rate": "a rate",
    "size": "a size",
    "factor": "a factor",
    "counts": "what is counted",
    "weights_only": "weights only",
    "base": "K = 1000 or 1024",
    "reduce": "a reduce (1×1 conv first)",
    "width": "a width multiplier",
    "shortcut": "a shortcut option",
    "stride_on": "a stride placement",
    "stride_block": "a stride placement",
    "interpolation": "an interpolation",
    "cropping": "a crop size",
    "se": "a squeeze ratio or width",
    "of": "the channels a squeeze ratio applies to",
    "offset": "an offset",
    "preactivation": "pre-activation",
    "inception": "inception columns",
    "name": "a name",
    "shape": "a size",
    "channels": "a colour",
    "scale": "scale (γ)",
    "center": "center (β)",
    "epsilon": "epsilon",
    "momentum": "momentum",
}

_KIND_WORDS = {
    "conv": "a conv",
    "dwconv": "a depthwise conv",
    "sepconv": "a separable conv",
    "deconv": "a transposed conv",
    "upsample": "upsampling",
    "crop": "a crop",
    "se": "squeeze-and-excitation",
    "rescale": "rescaling",
    "normalize": "normalization",
    "residual": "a residual bracket",
    "inception": "an inception module",
    "shortcuts": "residual blocks",
    "maxpool": "a max pool",
    "avgpool": "an average pool",
    "pool": "a pool",
    "fc": "an FC layer",
    "dropout": "dropout",
    "drop_path": "drop path",
    "input": "input",
    "reshape": "reshape",
    "zeropad": "zero padding",
    "activation": "an activation",
    "batchnorm": "batch norm",
    "lrn": "LRN",
    "flatten": "flatten",
    "global_avgpool": "a global pool",
    "global_maxpool": "a global pool",
}


_NO_CLAIMS = Claims()  # compared with (and shared, being frozen) per layer: made once


@dataclass(frozen=True, slots=True)
class _Flat:
    """One expanded layer: the layer, the name a label gives it, and its claims."""

    layer: Layer
    label: str | None
    claims: Claims
    label_span: Span | None = None
    fused: Option | None = None  # an activation word fused into this conv/FC
    fused_linear: bool = False  # an explicit activation follows after a batch norm
    block: Group | None = None  # a residual bracket, one repetition of it
    graph: Merge | Reference | BlockUse | None = None  # a merge, a reference or a block use
    stride: int = 1  # the residual block's stride
    index: int = 1  # which repetition of the bracket this block is
    opens: int = 0  # how many claimed items (a group, a block use, `x3`) begin with this layer
    closes: tuple[Claims, ...] = ()  # the claims of the items that end with it, innermost first
    count: int = 1  # how many repetitions the bracket has
    stage_stride: int = 1  # the bracket's `/2`, whichever block carries it


@dataclass
class _Lowering:
    file: str
    defaults: dict[str, dict[str, Option]]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    reserved: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)
    rank: int | None = None
    channels: list[int | None] = field(default_factory=list)  # per node: output channels, to pick shortcuts
    ranks: list[int | None] = field(default_factory=list)  # per node: the rank of its output
    head: int = -1  # the node whose output the next layer takes
    labels: dict[str, int] = field(default_factory=dict)  # label → the node its layer ends in
    blocks: dict[str, BlockDef | None] = field(default_factory=dict)  # None: a definition already reported
    prefix: str = ""  # inside a block: the instance's name, which prefixes its layers' names
    scope: tuple[str, ...] = ()
    template: str = ""
    expanding: tuple[str, ...] = ()  # the blocks being expanded, outermost first
    unresolved: set[Span] = field(default_factory=set)  # references already reported as unknown
    depth: int = 0  # how deep the merges and block uses being lowered nest
    instances: dict[tuple[str, tuple[str, ...]], tuple[Item, ...] | None] = field(default_factory=dict)  # bodies
    sizes: dict[tuple[str, tuple[str, ...]], int] = field(default_factory=dict)  # layers a block use expands to
    crop_partner: int | None = None  # in a concat branch that crops: the partner branch's output

    def error(self, code: str, message: str, span: Span | None, *help: str) -> None:
        self.diagnostics.append(diag.error(code, message, span, *help))


def lower(spec: Spec, name: str) -> tuple[ir.Graph, list[Diagnostic]]:
    """The IR graph of a spec (which must have layers) and the problems found on the way."""
    state = _Lowering(spec.file, {})
    state.defaults = _read_defaults(spec.defaults, state)
    state.blocks = _read_blocks(spec.blocks, state)
    items = _with_head(spec, [item for chain in spec.chains for item in chain], state)
    nested = too_deep(items)
    if nested is not None:
        state.error("P104", f"brackets nest more than {MAX_NESTING} deep", nested.span)
        return ir.Graph(name, ()), state.diagnostics
    sizes = [_expanded_size(item, state) for item in items]
    if sum(sizes) > MAX_LAYERS:
        running = 0
        crossing = next(
            item for item, size in zip(items, sizes, strict=True) if (running := running + size) > MAX_LAYERS
        )
        state.error(
            "P104",
            f"the spec expands to {sum(sizes):,} layers; papernet's bound is {MAX_LAYERS:,}",
            crossing.repeat_span or crossing.span,
            "check the repetition counts",
        )
        return ir.Graph(name, ()), state.diagnostics
    try:
        _lower_items(items, state, top=True)
    except _TooLarge as too_large:
        state.error(
            "P104",
            f"the spec expands to more than {MAX_LAYERS:,} layers, papernet's bound",
            too_large.span,
            "check the repetition counts and the blocks they repeat",
        )
        return ir.Graph(name, ()), _unique(state.diagnostics)
    if not state.nodes:
        state.error(
            "P005",
            "the spec has no layers",
            Span(spec.file, 1, 1, 1, 2),
            "a spec starts with `input H×W×C` and lists layers, e.g. `conv3-64, maxpool, FC-10`",
        )
    graph = ir.Graph(name, tuple(state.nodes), spec.totals, spec.train, _flops_per_mac(state), _counting(state))
    return graph, _unique(state.diagnostics)


def _flops_per_mac(state: _Lowering) -> int | None:
    """`flops: multiply-adds` (ResNet's and GoogLeNet's usage) is 1, `flops: 2 multiply-adds`
    is 2; None where the spec does not say."""
    setting = state.defaults.get("flops")
    if not setting:
        return None
    factor = setting.get("factor")
    if factor is None:
        return 1
    if factor.value not in (1, 2):
        state.error("P108", "a FLOP is 1 or 2 per multiply-add", factor.span, "write `flops: 2 multiply-adds`")
        return None
    return int(factor.value)


def _with_head(spec: Spec, items: list[Item], state: _Lowering) -> list[Item]:
    """A spec's own `classes N` or `regression H×W×C` line: the head it names replaces the
    table's classifier (its last FC and the softmax after it), or follows the last layer where
    the table stops before one (VGG's Table 1 typed up to FC-4096). A spec that starts `from`
    another adapts that network instead (papernet.api)."""
    if spec.base is not None or (spec.classes is None and spec.regression is None):
        return items
    if spec.classes is not None and spec.regression is not None:
        state.error("P113", "choose one head: classes or regression, not both", spec.regression[1])
        return items
    items = _without_classifier(items)
    if spec.classes is not None:
        classes, span = spec.classes
        softmax = Option("activation", Activation("softmax"), span)
        head = [Layer("fc", (Option("units", classes, span), softmax), span)]
    else:
        assert spec.regression is not None
        shape, span = spec.regression
        units = 1
        for size in shape:
            units *= size
        head = [Layer("fc", (Option("units", units, span), Option("activation", ir.LINEAR, span)), span)]
        if len(shape) > 1:
            head.append(Layer("reshape", (Option("shape", shape, span),), span))
    return [*items, *(Item(layer, None, None, 1, None, Claims(), span) for layer in head)]


def _without_classifier(items: list[Item]) -> list[Item]:
    """The items before a trailing classifier: an FC with softmax, or an FC and a softmax."""
    end = len(items)
    if end and _is_layer(items[end - 1], "activation") and _activation_named(items[end - 1], "softmax"):
        end -= 1
        if end and _is_layer(items[end - 1], "fc"):
            return items[: end - 1]
        return items[: end + 1]
    if end and _is_layer(items[end - 1], "fc") and _activation_named(items[end - 1], "softmax"):
        return items[: end - 1]
    return items


def _is_layer(item: Item, kind: str) -> bool:
    return isinstance(item.element, Layer) and item.element.kind == kind and item.repeat == 1


def _activation_named(item: Item, name: str) -> bool:
    assert isinstance(item.element, Layer)
    return any(
        o.key == "activation" and isinstance(o.value, Activation) and o.value.name == name for o in item.element.options
    )


def _counting(state: _Lowering) -> ir.Counting | None:
    """`params: weights only, K = 1024`: how the table counts its params column; None unstated."""
    setting = state.defaults.get("params")
    if not setting:
        return None
    only = "weights_only" in setting
    bias, batchnorm, base = setting.get("bias"), setting.get("batchnorm"), setting.get("base")
    return ir.Counting(
        biases=False if only else None if bias is None else bool(bias.value),
        batch_norm=0 if only else None if batchnorm is None else 4,
        base=None if base is None else int(base.value),  # type: ignore[call-overload]
    )


class _TooLarge(Exception):
    def __init__(self, span: Span) -> None:
        self.span = span


def _lower_items(items: Sequence[Item], state: _Lowering, top: bool = False) -> None:
    """Expand, fuse and lower a chain of items, continuing from `state.head`."""
    flat = _fuse_activations(list(_expand(items, state)))
    state.reserved |= {state.prefix + f.label for f in flat if f.label is not None}
    _check_duplicate_labels(flat, state)
    last_fc = max((i for i, f in enumerate(flat) if f.layer.kind == "fc"), default=-1) if top else -1
    starts: list[int] = []  # where each claimed item that is still open began
    for index, entry in enumerate(flat):
        starts += [len(state.nodes)] * entry.opens
        start = len(state.nodes)
        _lower_layer(entry, index == last_fc, top and index == 0 and not state.nodes, state)
        if entry.claims != _NO_CLAIMS and entry.graph is None and entry.block is None:
            _bound_claims(start, state)
        if entry.label is not None and entry.layer.kind != "input":
            state.labels[state.prefix + entry.label] = state.head
        for claims in entry.closes:
            _claim_element(claims, starts.pop(), state)


def _bound_claims(start: int, state: _Lowering) -> None:
    """A layer's own claims are about the nodes it lowered to from `start` on: in `[conv3-8
    params 224] x2` each repetition's conv, not every node its line gave."""
    for index in range(start, len(state.nodes)):
        node = state.nodes[index]
        if node.claims != _NO_CLAIMS and node.claims.extent is None:
            state.nodes[index] = replace(node, claims=replace(node.claims, extent=(start, len(state.nodes) - 1)))


def _claim_element(claims: Claims, start: int, state: _Lowering) -> None:
    """Claims written after a group, block use, merge or repeated layer: its output shape is the
    last node's, its params and ops the total of the nodes from `start` on."""
    span = claims.shape_span or next(q.span for q in (claims.params, claims.ops) if q is not None)
    end = len(state.nodes) - 1
    if end < start:
        state.error(
            "P125",
            "a reference adds no layer of its own to claim anything about",
            span,
            "write the claim on the layer the reference names",
        )
        return
    node = state.nodes[end]
    if node.claims != _NO_CLAIMS:
        first = node.claims.shape_span or node.span
        state.error(
            "P125",
            f"this claim and the one on line {first.line} both describe the output of {node.name}",
            span,
            "keep one of them",
        )
        return
    state.nodes[end] = replace(node, claims=replace(claims, extent=(start, end)))


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Drop repeats: a bad layer inside `x100` is reported once, not a hundred times."""
    return list(dict.fromkeys(diagnostics))


# ---- defaults ---------------------------------------------------------------------


def _read_defaults(lines: Sequence[DefaultsLine], state: _Lowering) -> dict[str, dict[str, Option]]:
    table: dict[str, dict[str, Option]] = {}
    for line in lines:
        kind = _DEFAULT_KINDS.get(line.kind)
        if kind is None:
            known = ", ".join(sorted(set(_DEFAULT_KINDS.values())))
            state.error(
                "P107", f"`defaults` has no entry for '{line.kind}'", line.span, f"defaults can be given for: {known}"
            )
            continue
        for stated in line.options:
            option = _sized(stated, kind)
            if option.key not in _ALLOWED_OPTIONS[kind]:
                state.error("P105", _not_applicable(option.key, kind), option.span)
                continue
            if _validate(option, state):
                table.setdefault(kind, {})[option.key] = option
    return table


_SIZE_MEANS = {"conv": "filters", "fc": "units", "dropout": "rate", "flops": "factor"}


def _sized(option: Option, kind: str) -> Option:
    """A bare number in `defaults:` is the kind's main size: conv filters, FC units, dropout rate."""
    if option.key != "size":
        return option
    key = _SIZE_MEANS.get(kind, "size")
    value = float(option.value) if key == "rate" else option.value  # type: ignore[arg-type]
    return Option(key, value, option.span)


def _not_applicable(key: str, kind: str) -> str:
    return f"{_OPTION_WORDS.get(key, key)} does not apply to {_KIND_WORDS.get(kind, kind)}"


# ---- expansion --------------------------------------------------------------------


def _expanded_size(item: Item, state: _Lowering, expanding: tuple[str, ...] = ()) -> int:
    """How many layers an item expands to (a block use: its body's), computed without expanding."""
    repeat = max(1, min(item.repeat, MAX_REPEAT))
    element = item.element
    if isinstance(element, BlockUse):
        each = _block_size(element, state, expanding)
    elif isinstance(element, Layer | Reference):
        each = 1
    elif isinstance(element, Merge):
        each = 1 + sum(_expanded_size(i, state, expanding) for branch in element.branches for i in branch or ())
    else:
        each = sum(_expanded_size(inner, state, expanding) for part in element.parts for inner in part)
    return repeat * each


def _expand(items: Sequence[Item], state: _Lowering) -> Iterator[_Flat]:
    for item in items:
        repeat = item.repeat
        if not 1 <= repeat <= MAX_REPEAT:
            state.error(
                "P104",
                f"repetition count {repeat:,} is out of range",
                item.repeat_span,
                f"a layer or group repeats 1 to {MAX_REPEAT:,} times",
            )
            repeat = 1
        if item.stride != 1 and not (isinstance(item.element, Group) and len(item.element.parts) > 1):
            state.error(
                "P116", "a stage stride such as `/2` belongs to a residual bracket `[a; b] ×N /2`", item.stride_span
            )
        elif item.stride < 1:
            state.error("P102", f"stride must be at least 1; got {item.stride}", item.stride_span)
            item = replace(item, stride=1)
        expanded: list[_Flat] = []
        stage = item.label
        if stage is None and isinstance(item.element, Group) and len(item.element.parts) > 1:
            stage = _stage_name(state)  # every block of an unlabelled bracket is in one stage
        for round_ in range(repeat):
            expanded += _expand_element(item, repeat, round_, state, stage)
        if item.label is not None and not (expanded and expanded[0].block is not None):
            expanded = _apply_label(expanded, item.label, item.label_span)
        if expanded and item.claims != _NO_CLAIMS:
            if isinstance(item.element, Layer) and repeat == 1:
                expanded[-1] = replace(expanded[-1], claims=item.claims)
            else:  # a claim on a group, a block use, a merge or `x3` is about all of it
                expanded[0] = replace(expanded[0], opens=expanded[0].opens + 1)
                expanded[-1] = replace(expanded[-1], closes=(*expanded[-1].closes, item.claims))
        yield from expanded


def _expand_element(item: Item, repeat: int, round_: int, state: _Lowering, stage: str | None) -> list[_Flat]:
    element = item.element
    if isinstance(element, Layer):
        return [_Flat(element, None, _NO_CLAIMS)]
    if isinstance(element, Merge | Reference | BlockUse):
        kind = {Merge: "merge", Reference: "reference", BlockUse: "block"}[type(element)]
        return [_Flat(Layer(kind, (), element.span), None, _NO_CLAIMS, graph=element)]
    if len(element.parts) > 1:  # a residual bracket: each repetition is one block
        block = Layer("residual", (), element.span)
        stride = item.stride if round_ == _strided_round(repeat, state) else 1
        block_entry = _Flat(block, stage, Claims(), item.label_span, block=element, stride=stride, index=round_ + 1)
        return [replace(block_entry, count=repeat, stage_stride=item.stride)]
    inner = list(_expand(element.parts[0], state))
    if repeat > 1:
        inner = [replace(f, label=f"{f.label}_{round_ + 1}") if f.label else f for f in inner]
    return inner


def _strided_round(repeat: int, state: _Lowering) -> int:
    """Which block of a stage carries its stride: the first (ResNet, torchvision), or with
    `residual: stride on last` the last (Keras's ResNetV2)."""
    setting = state.defaults.get("shortcuts", {}).get("stride_block")
    return repeat - 1 if setting is not None and setting.value == "last" else 0


def _apply_label(expanded: list[_Flat], label: str, span: Span | None) -> list[_Flat]:
    if len(expanded) == 1:
        return [replace(expanded[0], label=expanded[0].label or label, label_span=expanded[0].label_span or span)]
    return [f if f.label else replace(f, label=f"{label}_{i + 1}", label_span=span) for i, f in enumerate(expanded)]


def _check_duplicate_labels(flat: Sequence[_Flat], state: _Lowering) -> None:
    seen: dict[str, Span] = {}
    for entry in flat:
        if entry.label is None or (entry.block is not None and entry.index > 1):  # a stage's later blocks
            continue
        if entry.label in seen:
            first = seen[entry.label]
            state.error(
                "P106",
                f"the label '{entry.label}' is used twice (first on line {first.line})",
                entry.label_span or entry.layer.span,
                "labels name layers in reports and in Keras, so each must be unique",
            )
        else:
            seen[entry.label] = entry.label_span or entry.layer.span


# ---- activation fusion --------------------------------------------------------------


def _fuse_activations(flat: list[_Flat]) -> list[_Flat]:
    out: list[_Flat] = []
    index = 0
    while index < len(flat):
        entry = flat[index]
        following = flat[index + 1] if index + 1 < len(flat) else None
        if entry.layer.kind in _FUSABLE and not _has(entry.layer, "activation"):
            if following is not None and _is_fusable_activation(following.layer):
                claims = _merged_claims(entry.claims, following.claims)
                out.append(
                    replace(
                        entry,
                        fused=following.layer.options[0],
                        claims=claims,
                        opens=entry.opens + following.opens,
                        closes=(*entry.closes, *following.closes),
                    )
                )
                index += 2
                continue
            after = flat[index + 2] if index + 2 < len(flat) else None
            if following is not None and (
                (following.layer.kind == "batchnorm" and after is not None and after.layer.kind == "activation")
                or following.layer.kind == "activation"
            ):
                entry = replace(entry, fused_linear=True)
        out.append(entry)
        index += 1
    return out


def _merged_claims(layer: Claims, activation: Claims) -> Claims:
    """`FC-1000 params 1000K, softmax -> 1×1×1000`: one layer, and every claim about it kept."""
    if activation.shape is not None:
        layer = replace(layer, shape=activation.shape, shape_span=activation.shape_span)
    return replace(
        layer,
        params=activation.params or layer.params,
        ops=activation.ops or layer.ops,
        neurons=activation.neurons or layer.neurons,
        memory=activation.memory or layer.memory,
        params_share=activation.params_share or layer.params_share,
        ops_share=activation.ops_share or layer.ops_share,
    )


def _is_fusable_activation(layer: Layer) -> bool:
    if layer.kind != "activation":
        return False
    activation = layer.options[0].value
    assert isinstance(activation, Activation)
    return activation.name != "leaky_relu"


def _has(layer: Layer, key: str) -> bool:
    return any(option.key == key for option in layer.options)


# ---- one layer → nodes ----------------------------------------------------------------


class _Attributes:
    """A layer's options, its defaults, and the origin of every value taken from them."""

    def __init__(self, layer: Layer, defaults: Mapping[str, Option]) -> None:
        self.stated = {option.key: option for option in layer.options}
        self.defaults = defaults
        self.origins: list[tuple[str, Origin]] = []

    def get(self, key: str, attribute: str, fallback: Any = None, *, assumed: bool = True) -> Any:
        if key in self.stated:
            return self.stated[key].value
        if key in self.defaults:
            self.origins.append((attribute, Origin.DEFAULT))
            return self.defaults[key].value
        if fallback is not None and assumed:
            self.origins.append((attribute, Origin.ASSUMED))
        return fallback

    def has(self, key: str) -> bool:
        return key in self.stated or key in self.defaults

    def mark(self, attribute: str, origin: Origin) -> None:
        self.origins.append((attribute, origin))


def _lower_layer(entry: _Flat, is_last_fc: bool, is_first: bool, state: _Lowering) -> None:
    layer = entry.layer
    options_valid = all([_validate(option, state, layer.kind) for option in layer.options])  # each reported
    valid = _stated_once(layer, state) and options_valid
    allowed = _ALLOWED_OPTIONS.get(layer.kind, set())
    adds_batchnorm = _adds_batchnorm(layer, state)
    for option in layer.options:
        if option.key in _BATCHNORM_SETTINGS and "batchnorm" in allowed and layer.kind != "batchnorm":
            if not adds_batchnorm:
                kind = _KIND_WORDS.get(layer.kind, layer.kind)
                state.error(
                    "P105",
                    f"{_OPTION_WORDS[option.key]} sets the batch norm {kind} adds, and this one adds none",
                    option.span,
                    f"write `BN` before it (`conv3-64 BN {_written(option)}`), or `BN {_written(option)}` "
                    "as a layer of its own after it",
                )
                valid = False
        elif option.key not in allowed:
            state.error("P105", _not_applicable(option.key, layer.kind), option.span)
            valid = False
    if layer.kind == "input":
        _lower_input(entry, is_first, valid, state)
        return
    if not state.nodes:
        state.error(
            "P101",
            "the network has no input: its first line must be `input H×W×C`",
            layer.span,
            "e.g. `input 224x224x3`, `input 224×224 RGB`, `input 28x28` or `input 784`",
        )
        _emit(state, node=ir.Invalid(name="input", inputs=(), span=layer.span, text="missing input"))
    if not valid:
        _emit_invalid(entry, state)
        return
    defaults = _defaults_for(layer.kind, state)
    attrs = _Attributes(layer, defaults)
    match layer.kind:
        case "conv":
            _lower_conv(entry, attrs, is_last_fc, state)
        case "dwconv":
            _lower_depthwise(entry, attrs, state)
        case "sepconv":
            _lower_separable(entry, attrs, is_last_fc, state)
        case "deconv":
            _lower_transposed(entry, attrs, state)
        case "upsample":
            _lower_upsample(entry, attrs, state)
        case "crop":
            _lower_crop(entry, attrs, state)
        case "se":
            _lower_squeeze_excite(entry, attrs, state)
        case "rescale":
            _lower_rescale(entry, attrs, state)
        case "normalize":
            _emit(state, node=ir.Normalization(**_common(entry, state, "normalize", attrs)))
        case "residual":
            _lower_residual(entry, state)
        case "merge":
            _lower_merge(entry, state)
        case "reference":
            _lower_reference(entry, state)
        case "block":
            _lower_block_use(entry, state)
        case "inception":
            _lower_inception(entry, attrs, state)
        case "maxpool" | "avgpool" | "pool":
            _lower_pool(entry, attrs, state)
        case "global_maxpool" | "global_avgpool":
            op: ir.PoolOp = "max" if layer.kind == "global_maxpool" else "avg"
            _emit(state, rank=1, node=ir.GlobalPool2D(op=op, **_common(entry, state, "pool")))
        case "fc":
            _lower_fc(entry, attrs, is_last_fc, state)
        case "activation":
            activation = attrs.get("activation", "activation")
            if activation.name == "leaky_relu" and activation.alpha is None:
                activation = Activation("leaky_relu", 0.01)
                attrs.mark("alpha", Origin.ASSUMED)
            node = ir.ActivationLayer(activation=activation, **_common(entry, state, _short(activation), attrs))
            _emit(state, node=node)
        case "batchnorm":
            _lower_batchnorm(entry, attrs, state)
        case "lrn":
            _emit(state, node=ir.LRN(**_common(entry, state, "lrn")))
        case "dropout":
            rate = attrs.get("rate", "rate", 0.5)
            _emit(state, node=ir.Dropout(rate=float(rate), **_common(entry, state, "dropout", attrs)))
        case "drop_path":
            _lower_drop_path(entry, attrs, state)
        case "flatten":
            _emit(state, rank=1, node=ir.Flatten(**_common(entry, state, "flatten")))
        case "reshape":
            shape = attrs.get("shape", "shape")
            _emit(state, rank=len(shape), node=ir.Reshape(target_shape=shape, **_common(entry, state, "reshape")))
        case "zeropad":
            _lower_zeropad(entry, attrs, state)
        case _:
            raise AssertionError(f"unhandled layer kind {layer.kind}")


def _lower_drop_path(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    """`drop path 0.2`: stochastic depth, whose rate no paper leaves to a default."""
    rate = attrs.get("rate", "rate")
    if rate is None:
        state.error(
            "P103",
            "`drop path` needs its rate, the probability that a sample's branch is dropped",
            entry.layer.span,
            "e.g. `drop path 0.2`, or in a block `drop path 0.2*b/16` (EfficientNet: 0.2, rising linearly by block)",
        )
        _emit_invalid(entry, state)
        return
    _emit(state, node=ir.DropPath(rate=float(rate), **_common(entry, state, "drop_path", attrs)))


def _adds_batchnorm(layer: Layer, state: _Lowering) -> bool:
    """Whether a conv or FC adds a batch norm of its own: `conv3-64 BN`, or `defaults: conv: batchnorm`."""
    stated = next((o for o in layer.options if o.key == "batchnorm"), None)
    if stated is not None:
        return bool(stated.value)
    default = _defaults_for(layer.kind, state).get("batchnorm")
    return default is not None and bool(default.value)


def _stated_once(layer: Layer, state: _Lowering) -> bool:
    """`conv 3×3/2, 64, /1`, `pool, /2, /3`: a setting stated twice with different values is an
    error, not the last one silently winning; the same value twice (`conv 3×3/2, stride 2`) only
    repeats it."""
    first: dict[str, Option] = {}
    once = True
    for option in layer.options:
        earlier = first.setdefault(option.key, option)
        if earlier is not option and earlier.value != option.value:
            word = _OPTION_WORDS.get(option.key, option.key.replace("_", " "))
            state.error(
                "P127",
                f"{word} is stated twice, as {_value_shown(earlier.value)} (column {earlier.span.column}) "
                f"and as {_value_shown(option.value)}",
                option.span,
                "keep the one the paper means",
            )
            once = False
    return once


def _value_shown(value: object) -> str:
    if isinstance(value, tuple) and value and all(v == value[0] for v in value):
        return _value_shown(value[0])
    if isinstance(value, tuple):
        return "×".join(_value_shown(v) for v in value)
    if isinstance(value, Activation):
        return value.describe()
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _written(option: Option) -> str:
    """A batch-norm setting as the notation writes it: `scale off`, `epsilon 1e-05`."""
    if isinstance(option.value, bool):
        return f"{option.key} {'on' if option.value else 'off'}"
    return f"{option.key} {option.value:g}"


def _short(activation: Activation) -> str:
    return activation.name.replace("leaky_relu", "leaky")


def _lower_input(entry: _Flat, is_first: bool, valid: bool, state: _Lowering) -> None:
    layer = entry.layer
    stated = {option.key: option for option in layer.options}
    if "shape" not in stated:
        if not state.nodes:
            state.error(
                "P101",
                "`input` needs a shape here, e.g. `input 32x32x3`",
                layer.span,
                "a bare INPUT refers to an input declared on an earlier line",
            )
            _emit(state, node=ir.Invalid(name="input", inputs=(), span=layer.span, text="missing input"))
        elif len(state.nodes) > 1:
            state.error("P109", "INPUT can only begin the network", layer.span)
        return
    if state.nodes:
        first = state.nodes[0].span
        state.error("P109", f"a network has one input; it was declared on line {first.line}", layer.span)
        return
    shape = _ints(stated["shape"].value)
    if "channels" in stated:
        channels = stated["channels"].value
        assert isinstance(channels, int)
        if len(shape) == 2:
            shape = (*shape, channels)
        elif len(shape) == 3 and shape[2] != channels:
            state.error(
                "P102",
                f"input {'×'.join(map(str, shape))} has {shape[2]} channels, but its colour says {channels}",
                stated["channels"].span,
            )
            valid = False
    elif len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) > 3:
        state.error("P102", f"an input has at most 3 dimensions (H×W×C); got {len(shape)}", stated["shape"].span)
        valid = False
    elif math.prod(shape) > MAX_INPUT_VALUES:
        state.error(
            "P102",
            f"an input of {'×'.join(map(str, shape))} is {math.prod(shape):,} values, "
            f"more than papernet's bound of {MAX_INPUT_VALUES:,}",
            stated["shape"].span,
        )
        valid = False
    if not valid:
        _emit(state, node=ir.Invalid(name="input", inputs=(), span=layer.span, text="input"))
        return
    _emit(state, node=ir.Input(name="input", inputs=(), span=layer.span, shape=shape))
    state.names.add("input")
    state.rank = len(shape)


def _defaults_for(kind: str, state: _Lowering) -> dict[str, Option]:
    if kind in (
        "sepconv",
        "deconv",
    ):  # a separable or transposed conv is a conv: `conv: batchnorm, bias off` governs it too
        return state.defaults.get("conv", {})
    if kind in ("dwconv", "inception"):  # a depthwise conv and the convs of a module are convs
        return state.defaults.get("conv", {})
    if kind == "pool":  # a bare POOL is a max pool, as in cs231n's notation
        return {**state.defaults.get("pool", {}), **state.defaults.get("maxpool", {})}
    if kind in ("maxpool", "avgpool"):
        return {**state.defaults.get("pool", {}), **state.defaults.get(kind, {})}
    return state.defaults.get(kind, {})


def _lower_conv(entry: _Flat, attrs: _Attributes, is_last: bool, state: _Lowering) -> None:
    layer = entry.layer
    kernel = attrs.get("kernel", "kernel_size")
    filters = attrs.get("filters", "filters")
    width = attrs.get("width", "width", assumed=False)
    if filters is not None and width is not None:  # MobileNet's α thins every conv: int(α·N), as Keras does
        filters = max(1, int(filters * width))
    filters = _kernel_and_filters(
        entry,
        attrs,
        state,
        kernel,
        filters,
        "conv",
        "write it on the layer (`conv3-64`, `conv 3x3, 64`) or once in `defaults:` (`conv: 3x3, filters 64`)",
    )
    if filters is None:
        return
    stride = attrs.get("stride", "strides", (1, 1))
    padding = _padding(attrs.get("padding", "padding", "same"))
    rounding = attrs.get("rounding", "rounding", "exact", assumed=False)
    dilation = attrs.get("dilation", "dilation", (1, 1), assumed=False)
    groups = attrs.get("groups", "groups", 1, assumed=False)
    use_bias = attrs.get("bias", "use_bias", True, assumed=False)
    if stride != (1, 1) and dilation != (1, 1):
        state.error(
            "P105",
            f"Keras cannot combine stride {stride[0]} with dilation {dilation[0]} in one conv",
            layer.span,
            "papers that do this stride with a separate layer",
        )
        _emit_invalid(entry, state)
        return
    kernel_depth = attrs.get("kernel_depth", "kernel_depth", assumed=False)
    batchnorm = bool(attrs.get("batchnorm", "batchnorm", False, assumed=False))
    activation = _activation(entry, attrs, is_last, state)
    common = _common(entry, state, "conv", attrs)
    if "reduce" in attrs.stated:  # GoogLeNet's "#3×3 reduce": a 1×1 conv with ReLU first
        reduce = ir.Conv2D(
            name=f"{common['name']}_reduce",
            inputs=common["inputs"],
            span=common["span"],
            filters=int(str(attrs.stated["reduce"].value)),
            kernel_size=(1, 1),
            strides=(1, 1),
            padding="valid",
            use_bias=use_bias,
            activation=ir.RELU,
        )
        common["inputs"] = (_emit(state, node=reduce, rank=3),)
    conv = ir.Conv2D(
        filters=filters,
        kernel_size=kernel,
        strides=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        use_bias=use_bias,
        activation=ir.LINEAR if batchnorm else activation,
        rounding=rounding,
        kernel_depth=kernel_depth,
        **common,
    )
    _emit_with_batchnorm(entry, conv, batchnorm, activation, state, rank=3)


def _lower_depthwise(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    kernel = attrs.get("kernel", "kernel_size")
    if kernel is None:
        state.error("P103", "this depthwise conv has no kernel size", entry.layer.span, "e.g. `conv dw 3×3/2`")
        _emit_invalid(entry, state)
        return
    batchnorm = bool(attrs.get("batchnorm", "batchnorm", False, assumed=False))
    activation = _activation(entry, attrs, False, state)
    node = ir.DepthwiseConv2D(
        kernel_size=kernel,
        strides=attrs.get("stride", "strides", (1, 1)),
        padding=_padding(attrs.get("padding", "padding", "same")),
        use_bias=attrs.get("bias", "use_bias", True, assumed=False),
        activation=ir.LINEAR if batchnorm else activation,
        rounding=attrs.get("rounding", "rounding", "exact", assumed=False),
        **_common(entry, state, "dwconv", attrs),
    )
    _emit_with_batchnorm(entry, node, batchnorm, activation, state, rank=3)


def _kernel_and_filters(
    entry: _Flat, attrs: _Attributes, state: _Lowering, kernel: Any, filters: Any, what: str, example: str
) -> int | None:
    """A conv's filter count: as written, else the channels of its declared 3-D output (inferred).
    Where it or the kernel size is missing, P103 and an invalid node, and None."""
    if filters is None and entry.claims.shape is not None and len(entry.claims.shape) == 3:
        filters = entry.claims.shape[2]
        attrs.mark("filters", Origin.INFERRED)
    missing = [word for word, value in (("kernel size", kernel), ("filter count", filters)) if value is None]
    if not missing:
        return int(filters)
    state.error("P103", f"this {what} has no {' and no '.join(missing)}", entry.layer.span, example)
    _emit_invalid(entry, state)
    return None


def _lower_separable(entry: _Flat, attrs: _Attributes, is_last: bool, state: _Lowering) -> None:
    """`separable conv 3×3, 728`: one Keras SeparableConv2D, with batch norm and activation as a conv's."""
    kernel = attrs.get("kernel", "kernel_size")
    filters = _kernel_and_filters(
        entry,
        attrs,
        state,
        kernel,
        attrs.get("filters", "filters"),
        "separable conv",
        "write both on the layer, e.g. `separable conv 3×3, 728`",
    )
    if filters is None:
        return
    stride = attrs.get("stride", "strides", (1, 1))
    dilation = attrs.get("dilation", "dilation", (1, 1), assumed=False)
    if stride != (1, 1) and dilation != (1, 1):
        state.error(
            "P105",
            f"Keras cannot combine stride {stride[0]} with dilation {dilation[0]} in one separable conv",
            entry.layer.span,
        )
        _emit_invalid(entry, state)
        return
    batchnorm = bool(attrs.get("batchnorm", "batchnorm", False, assumed=False))
    activation = _activation(entry, attrs, is_last, state)
    node = ir.SeparableConv2D(
        filters=filters,
        kernel_size=kernel,
        strides=stride,
        padding=_padding(attrs.get("padding", "padding", "same")),
        dilation=dilation,
        use_bias=attrs.get("bias", "use_bias", True, assumed=False),
        activation=ir.LINEAR if batchnorm else activation,
        rounding=attrs.get("rounding", "rounding", "exact", assumed=False),
        **_common(entry, state, "sepconv", attrs),
    )
    _emit_with_batchnorm(entry, node, batchnorm, activation, state, rank=3)


def _lower_transposed(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    """`up-conv 2×2, 512`, `deconv 4x4/2, 256`: a Keras Conv2DTranspose. Unstated, the stride is
    assumed 2 (an up-conv doubles the size, as U-Net's and FCN's do) and the padding `same`."""
    kernel = attrs.get("kernel", "kernel_size")
    filters = _kernel_and_filters(
        entry,
        attrs,
        state,
        kernel,
        attrs.get("filters", "filters"),
        "transposed conv",
        "write both on the layer, e.g. `up-conv 2×2, 512` or `deconv 4x4/2, 256`",
    )
    if filters is None:
        return
    stride = attrs.get("stride", "strides", (2, 2))
    padding = _transposed_padding(attrs.get("padding", "padding", "same"), kernel, stride)
    if padding is None:
        where = attrs.stated.get("padding") or attrs.defaults.get("padding")
        state.error(
            "P105",
            "Keras's Conv2DTranspose pads `same` (output W·S) or `valid` (W·S + F − S); this padding is neither",
            where.span if where is not None else entry.layer.span,
            "write `padding same` or `padding valid` (for a pad P that trims the output, a `crop P` after it)",
        )
        _emit_invalid(entry, state)
        return
    batchnorm = bool(attrs.get("batchnorm", "batchnorm", False, assumed=False))
    activation = _activation(entry, attrs, False, state)
    node = ir.Conv2DTranspose(
        filters=filters,
        kernel_size=kernel,
        strides=stride,
        padding=padding,
        use_bias=attrs.get("bias", "use_bias", True, assumed=False),
        activation=ir.LINEAR if batchnorm else activation,
        **_common(entry, state, "upconv", attrs),
    )
    _emit_with_batchnorm(entry, node, batchnorm, activation, state, rank=3)


def _transposed_padding(value: object, kernel: ir.Pair, stride: ir.Pair) -> Literal["same", "valid"] | None:
    """A transposed conv's padding as Keras has it: explicit P is `valid` at 0 and `same` where
    2P = F − S (PyTorch's `ConvTranspose2d(4, stride=2, padding=1)` doubles the size); else None.

    >>> _transposed_padding(1, (4, 4), (2, 2)), _transposed_padding(0, (2, 2), (2, 2))
    ('same', 'valid')
    >>> _transposed_padding(2, (3, 3), (1, 1)) is None
    True
    """
    if value in ("same", "valid"):
        return value
    assert isinstance(value, int), value
    if value == 0:
        return "valid"
    if all(2 * value == kernel[axis] - stride[axis] for axis in (0, 1)):
        return "same"
    return None


def _lower_squeeze_excite(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    """`se 0.25`: squeeze-and-excitation (Hu et al. 2018) as Keras's EfficientNet builds it:
    global average pool → reshape to 1×1×C → 1×1 conv to the squeeze width with the block's
    activation → 1×1 conv back to C with sigmoid → multiply the input by it. The squeeze width is
    max(1, int(N·ratio)), N the SE's input channels or, with `of N`, N (EfficientNet squeezes the
    block's input filters, `se 0.25 of 16`); `se 4` states it."""
    channels = state.channels[state.head] if state.nodes else None
    if channels is None or state.rank != 3:
        state.error(
            "P131",
            "squeeze-and-excitation needs a feature map whose channels the spec states"
            if state.rank == 3
            else "squeeze-and-excitation needs an H×W×C input",
            entry.layer.span,
            "put it after a conv, whose filters say how many channels it weighs",
        )
        _emit_invalid(entry, state)
        return
    width = _squeeze_width(attrs, channels, state)
    if width is None:
        _emit_invalid(entry, state)
        return
    activation = attrs.stated["activation"].value if "activation" in attrs.stated else None
    if activation is None and "activation" in state.defaults.get("conv", {}):
        activation = state.defaults["conv"]["activation"].value
        attrs.mark("activation", Origin.DEFAULT)
    if activation is None:
        activation = ir.RELU
        attrs.mark("activation", Origin.ASSUMED)
    common = _common(entry, state, "se", attrs)
    name, span, source = common["name"], common["span"], state.head
    # The activation is the reduce conv's: reports show its origin there, not on the multiply.
    reduce_origins = tuple(o for o in common["origins"] if o[0] == "activation")
    origins = tuple(o for o in common["origins"] if o[0] != "activation")

    def conv(suffix: str, filters: int, act: Activation, marked: tuple[tuple[str, Origin], ...] = ()) -> ir.Conv2D:
        return ir.Conv2D(
            name=f"{name}_{suffix}",
            inputs=(state.head,),
            span=span,
            filters=filters,
            kernel_size=(1, 1),
            strides=(1, 1),
            padding="same",
            activation=act,
            origins=marked,
        )

    _emit(state, rank=1, node=ir.GlobalPool2D(name=f"{name}_squeeze", inputs=(source,), span=span, op="avg"))
    shape = (1, 1, channels)
    _emit(state, rank=3, node=ir.Reshape(name=f"{name}_reshape", inputs=(state.head,), span=span, target_shape=shape))
    assert isinstance(activation, Activation)
    _emit(state, node=conv("reduce", width, activation, reduce_origins))
    weights = _emit(state, node=conv("expand", channels, ir.Activation("sigmoid")))
    excite = ir.Multiply(name=name, inputs=(source, weights), span=span, origins=origins, claims=entry.claims)
    _emit(state, rank=3, node=excite)


def _squeeze_width(attrs: _Attributes, channels: int, state: _Lowering) -> int | None:
    """`se 16` is the squeeze's width; `se 0.25` a ratio, of the SE's input channels or of N in `se 0.25 of N`."""
    stated = attrs.stated["se"]
    if isinstance(stated.value, int):
        if "of" in attrs.stated:
            state.error(
                "P105",
                f"`of` takes a squeeze ratio's channels, but `se {stated.value}` is a squeeze width",
                attrs.stated["of"].span,
                f"for a ratio write a fraction (`se 0.25 of {attrs.stated['of'].value}`); for the width drop `of`",
            )
            return None
        return stated.value
    ratio = stated.value
    assert isinstance(ratio, float)
    if not 0 < ratio <= 1:
        state.error(
            "P102",
            f"a squeeze ratio is a fraction in (0, 1]; got {ratio:g}",
            stated.span,
            "for a squeeze width write a whole number: `se 16`",
        )
        return None
    base = attrs.stated["of"].value if "of" in attrs.stated else channels
    assert isinstance(base, int)
    return max(1, int(base * ratio))


def _lower_rescale(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    numerator, denominator = attrs.get("scale", "scale")
    offset = attrs.get("offset", "offset", 0.0, assumed=False)
    node = ir.Rescaling(scale=numerator / denominator, offset=offset, **_common(entry, state, "rescale", attrs))
    _emit(state, node=node)


def _lower_crop(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    """`crop 4` (all sides), `crop 4x8` (H×W), `crop 1x2x3x4` (top×bottom×left×right), as zeropad
    reads them; a bare `crop` ends a concat's branch and crops it centrally to its partner."""
    values = attrs.get("cropping", "cropping")
    if values is None:
        if state.crop_partner is None:
            state.error(
                "P130",
                "a `crop` without a size crops a skip to its partner's size, inside a concat",
                entry.layer.span,
                "write it as U-Net's copy and crop, `concat(crop @conv4 | up-conv 2×2, 512)`, or give a size: `crop 4`",
            )
            _emit_invalid(entry, state)
            return
        _emit(state, rank=3, node=ir.Crop2D(match=state.crop_partner, **_common(entry, state, "crop", attrs)))
        return
    sides = _four_sides(values)
    if sides is None:
        state.error("P102", "a crop takes 1 (all sides), 2 (H×W) or 4 (top×bottom×left×right) sizes", entry.layer.span)
        _emit_invalid(entry, state)
        return
    _emit(state, rank=3, node=ir.Crop2D(cropping=sides, **_common(entry, state, "crop", attrs)))


def _four_sides(values: tuple[int, ...]) -> tuple[ir.Pair, ir.Pair] | None:
    """1, 2 or 4 sizes as ((top, bottom), (left, right)), the way zero padding and crops read them.

    >>> _four_sides((4,)), _four_sides((1, 2)), _four_sides((1, 2, 3, 4)), _four_sides((1, 2, 3))
    (((4, 4), (4, 4)), ((1, 1), (2, 2)), ((1, 2), (3, 4)), None)
    """
    if len(values) == 1:
        return ((values[0], values[0]), (values[0], values[0]))
    if len(values) == 2:
        return ((values[0], values[0]), (values[1], values[1]))
    if len(values) == 4:
        return ((values[0], values[1]), (values[2], values[3]))
    return None


def _lower_upsample(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    size = attrs.get("kernel", "size", (2, 2))
    interpolation = attrs.get("interpolation", "interpolation", "nearest", assumed=False)
    node = ir.UpSample2D(size=size, interpolation=interpolation, **_common(entry, state, "upsample", attrs))
    _emit(state, rank=3, node=node)


def _lower_residual(entry: _Flat, state: _Lowering) -> None:
    """One block of a ResNet bracket: convs with BN and ReLU (the last ReLU after the add), and
    the shortcut: identity, or where the shape changes a 1×1 projection (B), zero padding (A),
    or always a projection (C). `shortcut identity` is the identity even where the shape changes,
    which the add then reports (P209), as the classic mistake deserves."""
    assert entry.block is not None
    convs = _bracket_convs(entry.block, state)
    if convs is None:
        _emit_invalid(entry, state)
        return
    settings = _Attributes(Layer("shortcuts", (), entry.layer.span), state.defaults.get("shortcuts", {}))
    option = settings.get("shortcut", "shortcut", "B")
    stride_on = settings.get("stride_on", "stride_on", "first")
    preactivation = bool(settings.get("preactivation", "preactivation", False, assumed=False))
    strided = 0 if stride_on == "first" else next((j for j, c in enumerate(convs) if c[0] == stride_on), None)
    if strided is None:
        size = "×".join(map(str, stride_on))
        state.error(
            "P123",
            f"`stride on {size}`, but this bracket has no {size} conv",
            entry.block.span,
            "say `residual: stride on first`, or on a kernel size the bracket has",
        )
        _emit_invalid(entry, state)
        return
    parts = _bracket_part_settings(convs, state, preactivation)
    placed = None if parts is None else _placed_stride(entry, convs, strided, state)
    if parts is None or placed is None:
        _emit_invalid(entry, state)
        return
    entry, strided = placed
    dilation = parts[strided].get("dilation", (1, 1))
    if entry.stride != 1 and tuple(dilation) != (1, 1):
        state.error(
            "P105",
            f"Keras cannot combine stride {entry.stride} with dilation {dilation[0]} in one conv",
            convs[strided][2].span,
            "papers that do this stride with a separate layer",
        )
        _emit_invalid(entry, state)
        return
    stage = entry.label or _stage_name(state)
    scope = (*state.scope, stage, f"block{entry.index}")
    outer_template = state.template
    state.template = {2: "basic_block", 3: "bottleneck_block"}.get(len(convs), "residual_block")
    try:
        _emit_residual(entry, state, convs, settings, option, strided, stage, scope, preactivation, parts)
    finally:
        state.template = outer_template


def _emit_residual(
    entry: _Flat,
    state: _Lowering,
    convs: list[tuple[ir.Pair, int, Layer]],
    settings: _Attributes,
    option: str,
    strided: int,
    stage: str,
    scope: tuple[str, ...],
    preactivation: bool = False,
    parts: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Post-activation (ResNet v1): conv → BN → ReLU, the last ReLU after the add. Pre-activation
    (v2, He et al. 2016b): BN → ReLU first, then conv → BN → ReLU …, the last conv straight into
    the add, and a projection shortcut taken from the pre-activated input."""
    assert entry.block is not None
    prefix = f"{stage}_block{entry.index}"
    block_input = state.head
    activation = _bracket_activation(state)
    projection_input = block_input
    if preactivation:
        span = entry.block.span
        _emit(state, node=ir.BatchNorm(name=f"{prefix}_preact_bn", inputs=(state.head,), span=span, scope=scope))
        projection_input = _emit(
            state,
            node=ir.ActivationLayer(
                name=f"{prefix}_preact_relu", inputs=(state.head,), span=span, scope=scope, activation=activation
            ),
        )
    use_bias = _default_bias(state)
    stride = (entry.stride, entry.stride)
    for j, (kernel, filters, layer) in enumerate(convs):
        conv = ir.Conv2D(
            name=f"{prefix}_{j + 1}_conv",
            inputs=(state.head,),
            span=layer.span,
            scope=scope,
            filters=filters,
            kernel_size=kernel,
            strides=stride if j == strided else (1, 1),
            padding="same",
            use_bias=use_bias,
        )
        norm: Mapping[str, Any] = {}
        if parts:  # what the part states (`1×1, 64 bias off`) or `defaults: conv:` says
            fields = dict(parts[j])
            norm = fields.pop("bn", {})
            conv = replace(conv, **{**fields, "origins": (*conv.origins, *fields.get("origins", ()))})
        _emit(state, node=conv, rank=3)
        if preactivation and j == len(convs) - 1:
            break  # in v2 the last conv feeds the add directly
        bn = _emit(
            state,
            node=ir.BatchNorm(
                name=f"{prefix}_{j + 1}_bn",
                inputs=(state.head,),
                span=layer.span,
                scope=scope,
                origins=tuple((key, Origin.STATED) for key in norm),
                **norm,
            ),
        )
        if j < len(convs) - 1:
            _emit(
                state,
                node=ir.ActivationLayer(
                    name=f"{prefix}_{j + 1}_relu", inputs=(bn,), span=layer.span, scope=scope, activation=activation
                ),
            )
    main = state.head
    out_channels = convs[-1][1]
    changes = entry.stride != 1 or state.channels[block_input] != out_channels
    shortcut = block_input
    span = entry.block.span
    pooled = option == "pool" and entry.stride != 1 and state.channels[block_input] == out_channels
    if pooled:  # Keras's ResNetV2: a strided identity is a 1×1 max pool with the block's stride
        pool = ir.Pool2D(
            name=f"{prefix}_0_pool",
            inputs=(block_input,),
            span=span,
            scope=scope,
            op="max",
            pool_size=(1, 1),
            strides=stride,
            padding="valid",
            rounding="floor",
        )
        shortcut = _emit(state, node=pool)
    elif option == "C" or (option in ("B", "pool") and changes):
        projection = ir.Conv2D(
            name=f"{prefix}_0_conv",
            inputs=(projection_input,),
            span=span,
            scope=scope,
            filters=out_channels,
            kernel_size=(1, 1),
            strides=stride,
            padding="same",
            use_bias=use_bias,
        )
        shortcut = _emit(state, node=projection)
        if not preactivation:
            shortcut = _emit(
                state, node=ir.BatchNorm(name=f"{prefix}_0_bn", inputs=(state.head,), span=span, scope=scope)
            )
    elif option == "A" and changes:
        pad = ir.ShortcutPad(
            name=f"{prefix}_0_pad", inputs=(block_input,), span=span, scope=scope, strides=stride, channels=out_channels
        )
        shortcut = _emit(state, node=pad)
    # The shortcut's origin is the add's, which names it; a stride placed by default is not shown.
    marked = tuple((key, origin) for key, origin in settings.origins if key == "shortcut")
    add = ir.Add(
        name=f"{prefix}_add", inputs=(shortcut, main), span=span, scope=scope, shortcut=str(option), origins=marked
    )
    if preactivation:
        _emit(state, node=replace(add, claims=entry.claims), rank=3)
        return
    _emit(state, node=add)
    out = ir.ActivationLayer(
        name=f"{prefix}_out", inputs=(state.head,), span=span, scope=scope, activation=activation, claims=entry.claims
    )
    _emit(state, node=out, rank=3)


def _bracket_activation(state: _Lowering) -> Activation:
    """The non-linearity of a bracket's convs: ReLU, as ResNet's, or the one `defaults: conv:`
    names (`conv: swish`), which the bracket's convs follow as written convs do. `activation
    linear` there (import-keras writes it) leaves a bracket's ReLU: conv → BN → non-linearity is
    what a bracket is."""
    stated = state.defaults.get("conv", {}).get("activation")
    if stated is None or stated.value is None or stated.value == ir.LINEAR:
        return ir.RELU
    assert isinstance(stated.value, Activation)
    return stated.value


_BRACKET_PART_OPTIONS = {
    "bias": "use_bias",
    "padding": "padding",
    "rounding": "rounding",
    "dilation": "dilation",
    "groups": "groups",
}
"""Options a conv in a residual bracket takes, stated on the part or from `defaults: conv:`, as
a plain conv does, and the Conv2D field each sets; `kernel`, `filters` and `stride` are read elsewhere."""


def _bracket_part_settings(
    convs: list[tuple[ir.Pair, int, Layer]], state: _Lowering, preactivation: bool = False
) -> list[dict[str, Any]] | None:
    """Per part of a bracket, the Conv2D fields its options and `defaults: conv:` set
    (`1×1, 64 bias off`, `3×3, 64, pad 1, floor`), and their origins, and under "bn" what it
    states of the batch norm the bracket puts after it (`1×1, 64 BN scale off`); an option that
    cannot apply to a conv of a bracket (its BN and ReLU come with the bracket) is P105."""
    parts: list[dict[str, Any]] = []
    valid = True
    defaults = {key: option for key, option in state.defaults.get("conv", {}).items() if key in _BRACKET_PART_OPTIONS}
    for j, (_, _, layer) in enumerate(convs):
        followed_by_bn = not (preactivation and j == len(convs) - 1)  # v2's last conv feeds the add
        norm: dict[str, Any] = {}
        for option in layer.options:
            if option.key in ("kernel", "filters", "stride"):
                valid = _validate(option, state) and valid
            elif option.key in ("batchnorm", *_BATCHNORM_SETTINGS) and followed_by_bn:
                if option.key != "batchnorm":  # `BN` itself states what the bracket does anyway
                    norm[option.key] = option.value
                valid = _validate(option, state) and valid
            elif option.key in ("batchnorm", *_BATCHNORM_SETTINGS):
                state.error(
                    "P105",
                    f"{'`BN`' if option.key == 'batchnorm' else _OPTION_WORDS[option.key]} is on the last conv "
                    "of a pre-activation bracket, "
                    "which no batch norm follows (it feeds the add)",
                    option.span,
                    "the next block's pre-activation BN comes after the add; set it with `defaults: batchnorm:`",
                )
                valid = False
            elif option.key not in _BRACKET_PART_OPTIONS:
                state.error(
                    "P105",
                    f"{_OPTION_WORDS.get(option.key, option.key)} does not apply to a conv in a residual bracket",
                    option.span,
                    "each conv of a bracket has batch norm and ReLU (the last ReLU after the add); "
                    "write the block out with `add(… | identity)` to change them",
                )
                valid = False
            elif not _validate(option, state):
                valid = False
        attrs = _Attributes(layer, defaults)
        fields: dict[str, Any] = {}
        for key, attribute in _BRACKET_PART_OPTIONS.items():
            if attrs.has(key):
                value = attrs.get(key, attribute)
                fields[attribute] = _padding(value) if key == "padding" else value
        fields["origins"] = tuple(attrs.origins)
        fields["bn"] = norm
        parts.append(fields)
    return parts if valid else None


def _placed_stride(
    entry: _Flat, convs: list[tuple[ir.Pair, int, Layer]], strided: int, state: _Lowering
) -> tuple[_Flat, int] | None:
    """A stride written on a part (`[1×1, 64; 3×3/2, 64; 1×1, 256]`) puts the block's stride on
    that conv, in the block of the stage that strides; the bracket's `/2`, if any, must agree."""
    marked = [
        (j, option) for j, (_, _, layer) in enumerate(convs) for option in layer.options if option.key == "stride"
    ]
    if not marked:
        return entry, strided
    if len(marked) > 1:
        state.error("P123", "two convs of one residual block carry a stride", marked[1][1].span, "stride one of them")
        return None
    j, option = marked[0]
    value = _ints(option.value)
    if value[0] != value[1]:
        state.error("P123", "a residual block's stride is the same along both axes", option.span)
        return None
    if entry.stage_stride not in (1, value[0]):
        state.error(
            "P123",
            f"this conv strides by {value[0]}, but the bracket's stage stride is /{entry.stage_stride}",
            option.span,
            "write the stride once: on the conv, or after the bracket",
        )
        return None
    strides_here = entry.index - 1 == _strided_round(entry.count, state)
    return replace(entry, stride=value[0] if strides_here else 1), j


def _default_bias(state: _Lowering) -> bool:
    """Whether convs a construct makes itself (a residual block's, an inception module's) have a
    bias: as `defaults: conv:` says, else Keras's on."""
    conv_defaults = state.defaults.get("conv", {})
    return bool(conv_defaults["bias"].value) if "bias" in conv_defaults else True


def _bracket_convs(group: Group, state: _Lowering) -> list[tuple[ir.Pair, int, Layer]] | None:
    """The convs of a residual bracket, one per `;`-separated part: (kernel, filters, layer)."""
    convs = []
    for part in group.parts:
        layer = part[0].element if len(part) == 1 and part[0].repeat == 1 else None
        options = {o.key: o.value for o in layer.options} if isinstance(layer, Layer) else {}
        if not isinstance(layer, Layer) or layer.kind != "conv" or "kernel" not in options or "filters" not in options:
            span = part[0].span.to(part[-1].span) if part else group.span
            state.error(
                "P117",
                "each part of a residual bracket is one conv, such as `3×3, 64`",
                span,
                "a bracket reads like ResNet's Table 1: `[3×3, 64; 3×3, 64] ×2`",
            )
            return None
        convs.append((_ints(options["kernel"]), int(str(options["filters"])), layer))
    return convs  # type: ignore[return-value]


def _stage_name(state: _Lowering) -> str:
    return _auto_name("stage", state)


def _lower_inception(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    """A GoogLeNet module: 1×1 | 1×1 → 3×3 | 1×1 → 5×5 | 3×3/1 max pool → 1×1, concatenated.
    Every conv has ReLU; a column of 0 leaves its conv (or branch) out."""
    ones, reduce3, threes, reduce5, fives, proj = attrs.get("inception", "inception")
    label = attrs.get("name", "name", None, assumed=False)
    prefix = entry.label or (f"inception_{label}" if label else _auto_name("inception", state))
    prefix = re.sub(r"\W", "_", prefix, flags=re.ASCII)
    source = state.head
    scope = (*state.scope, prefix)
    span = entry.layer.span
    use_bias = _default_bias(state)

    def conv(name: str, filters: int, size: int, after: int) -> int:
        node = ir.Conv2D(
            name=f"{prefix}_{name}",
            inputs=(after,),
            span=span,
            scope=scope,
            template="inception",
            filters=filters,
            kernel_size=(size, size),
            strides=(1, 1),
            padding="same",
            use_bias=use_bias,
            activation=ir.RELU,
        )
        return _emit(state, node=node, rank=3)

    def chain(steps: list[tuple[str, int, int]]) -> int | None:
        at = source
        for name, filters, size in steps:
            if filters:
                at = conv(name, filters, size, at)
        return at if at != source else None

    branches = [
        chain([("1x1", ones, 1)]),
        chain([("3x3_reduce", reduce3, 1), ("3x3", threes, 3)]),
        chain([("5x5_reduce", reduce5, 1), ("5x5", fives, 5)]),
    ]
    if proj:
        pool = ir.Pool2D(
            name=f"{prefix}_pool",
            inputs=(source,),
            span=span,
            scope=scope,
            template="inception",
            op="max",
            pool_size=(3, 3),
            strides=(1, 1),
            padding="same",
        )
        branches.append(conv("pool_proj", proj, 1, _emit(state, node=pool)))
    outputs = tuple(b for b in branches if b is not None)
    if not outputs:
        state.error("P102", "an inception module needs at least one branch", span)
        _emit_invalid(entry, state)
        return
    concat = ir.Concat(
        name=f"{prefix}_output", inputs=outputs, span=span, scope=scope, template="inception", claims=entry.claims
    )
    _emit(state, node=concat, rank=3)


def _lower_merge(entry: _Flat, state: _Lowering) -> None:
    """`add(a | b)`, `concat(a | b | c)`: each branch starts from the same tensor."""
    merge = entry.graph
    assert isinstance(merge, Merge)
    outputs = _lower_branches(merge, state)
    common = _common(entry, state, merge.op)
    common["inputs"] = tuple(outputs)
    node = ir.Add(**common) if merge.op == "add" else ir.Concat(**common)
    _emit(state, node=node)


def _lower_branches(merge: Merge, state: _Lowering) -> list[int]:
    """Each branch from the same tensor, in order, except that a branch that ends in a bare `crop`
    (U-Net's copy and crop) comes after the others, so that it can crop to its partner's size;
    the merge's inputs keep the branches' order."""
    source, rank = state.head, state.rank
    state.depth += 1
    try:
        return _lower_each_branch(merge, source, rank, state)
    finally:
        state.depth -= 1


def _lower_each_branch(merge: Merge, source: int, rank: int | None, state: _Lowering) -> list[int]:
    cropping = [_crops_to_partner(branch) for branch in merge.branches]
    outputs: list[int] = [source] * len(merge.branches)
    for index in sorted(range(len(merge.branches)), key=lambda i: cropping[i]):
        branch = merge.branches[index]
        state.head, state.rank = source, rank
        outer, state.crop_partner = state.crop_partner, None
        if cropping[index]:
            partners = [outputs[i] for i in range(len(merge.branches)) if not cropping[i]]
            state.crop_partner = partners[0] if partners and merge.op == "concat" else None
        try:
            if branch is not None:
                _lower_items(branch, state)
        finally:
            state.crop_partner = outer
        outputs[index] = state.head
    return outputs


def _crops_to_partner(branch: Sequence[Item] | None) -> bool:
    if not branch:
        return False
    last = branch[-1].element
    return isinstance(last, Layer) and last.kind == "crop" and not last.options


def _closest_label(name: str, state: _Lowering) -> list[str]:
    """The label `name` may be a misspelling of; among many labels, only those of about its length
    are compared, so that the suggestion costs no more than a few hundred comparisons."""
    known = sorted({label.removeprefix(state.prefix) for label in state.labels})
    if len(known) > 500:
        known = [label for label in known if abs(len(label) - len(name)) <= 2][:500]
    return difflib.get_close_matches(name, known, n=1)


def _lower_reference(entry: _Flat, state: _Lowering) -> None:
    """`@stem`: continue from the output of the layer labelled `stem`."""
    reference = entry.graph
    assert isinstance(reference, Reference)
    for name in (state.prefix + reference.name, reference.name):
        if name in state.labels:
            state.head = state.labels[name]
            state.rank = state.ranks[state.head]
            return
    if reference.name in state.reserved or state.prefix + reference.name in state.reserved:
        state.error(
            "P121",
            f"@{reference.name} refers to a layer that comes later",
            reference.span,
            "a reference can only go back to a layer above it",
        )
    elif reference.span not in state.unresolved:  # `@x x10000` is one mistake, reported once
        state.unresolved.add(reference.span)
        close = _closest_label(reference.name, state)
        state.error(
            "P118",
            f"there is no layer labelled '{reference.name}'",
            reference.span,
            f"did you mean `@{close[0]}`?" if close else "label a layer with `name: layer`, e.g. `stem: conv3-64`",
        )
    _emit_invalid(entry, state)


def _read_blocks(definitions: Sequence[BlockDef], state: _Lowering) -> dict[str, BlockDef | None]:
    blocks: dict[str, BlockDef | None] = {}
    for definition in definitions:
        if definition.name in blocks:
            state.error("P106", f"the block '{definition.name}' is defined twice", definition.span)
        clashes = [p for p in definition.params if p.lower() in RESERVED_PARAMETER_WORDS]
        if clashes or len(set(definition.params)) != len(definition.params):
            what = f"'{clashes[0]}' is a word of the notation" if clashes else "a parameter is named twice"
            state.error(
                "P122",
                f"block {definition.name}: {what}",
                definition.span,
                "name parameters with words the notation does not use, e.g. `block basic(f, s):`",
            )
            blocks[definition.name] = None
            continue
        blocks[definition.name] = definition if definition.body is not None else None
    return blocks


def _lower_block_use(entry: _Flat, state: _Lowering) -> None:
    """`bottleneck(64, 2)`: the block's body, instantiated with the arguments and lowered in
    place, its layers named after the instance."""
    use = entry.graph
    assert isinstance(use, BlockUse)
    definition = state.blocks.get(use.name)
    if definition is None and use.name in state.blocks:
        pass  # its definition is already reported
    elif definition is None:
        close = difflib.get_close_matches(use.name, list(state.blocks), n=1)
        state.error(
            "P118",
            f"there is no block named '{use.name}'",
            use.span,
            f"did you mean `{close[0]}`?" if close else "define it first: `block name(p, q):` and its layers",
        )
    elif len(use.args) != len(definition.params):
        wanted = ", ".join(definition.params)
        state.error(
            "P119",
            f"block {use.name}({wanted}) takes {len(definition.params)} argument"
            f"{'s' if len(definition.params) != 1 else ''}; this use gives {len(use.args)}",
            use.span,
        )
    elif use.name in state.expanding:
        chain = " → ".join((*state.expanding[state.expanding.index(use.name) :], use.name))
        state.error(
            "P120", f"block {use.name} uses itself: {chain}", use.span, "a block can use other blocks, but not itself"
        )
    elif state.depth >= MAX_NESTING:
        state.error(
            "P104",
            f"blocks, brackets and merges nest more than {MAX_NESTING} deep here",
            use.span,
            f"the uses go {_chain_of_uses((*state.expanding, use.name))}; a block may use blocks "
            f"{MAX_NESTING} levels deep",
        )
    else:
        body = _block_body(definition, use, state)
        nested = None if body is None else too_deep(body, state.depth + 1)
        if nested is not None:
            state.error("P104", f"blocks, brackets and merges nest more than {MAX_NESTING} deep here", nested.span)
        elif body is not None:
            if len(state.nodes) + _block_size(use, state, state.expanding) > MAX_LAYERS:
                raise _TooLarge(use.span)
            instance = state.prefix + (entry.label or f"{use.name}{_count(use.name, state)}")
            outer = (state.prefix, state.scope, state.expanding, state.template, state.depth)
            state.prefix, state.scope = f"{instance}_", (*state.scope, instance)
            state.expanding, state.template = (*state.expanding, use.name), use.name
            state.depth += 1
            try:
                _lower_items(body, state)
            finally:
                state.prefix, state.scope, state.expanding, state.template, state.depth = outer
            return
    _emit_invalid(entry, state)


def _block_body(definition: BlockDef, use: BlockUse, state: _Lowering) -> tuple[Item, ...] | None:
    """The body of one use, instantiated from the block's template once per distinct arguments
    (None where they do not fit it: that too is said once, not once a use of `b(0.5)` ×10,000)."""
    key = (use.name, tuple(map(repr, use.args)))
    if key in state.instances:
        return state.instances[key]
    body, problems = instantiate(definition, use.args)
    for span, message in problems:
        state.error("P124", f"in block {use.name}, used on line {use.span.line}: {message}", span)
    state.instances[key] = None if problems else body
    return state.instances[key]


def _chain_of_uses(names: Sequence[str]) -> str:
    """`b0 → b1 → … → b31 → b32`: the first and last few blocks of a long chain of uses."""
    shown = list(names) if len(names) <= 6 else [*names[:2], "…", *names[-2:]]
    return " → ".join(shown)


def _block_size(use: BlockUse, state: _Lowering, expanding: tuple[str, ...]) -> int:
    """How many layers a use expands to, its own uses of blocks included (each distinct use
    sized once, so a chain of blocks that each use the next twice costs no more than its length);
    1 where the use is wrong (lowering reports it)."""
    definition = state.blocks.get(use.name)
    if (
        definition is None
        or len(use.args) != len(definition.params)
        or use.name in expanding
        or len(expanding) >= MAX_NESTING
    ):
        return 1
    key = (use.name, tuple(map(repr, use.args)))
    if key not in state.sizes:
        body = _block_body(definition, use, state)
        inner = (*expanding, use.name)
        size = 1 if body is None else sum(_expanded_size(item, state, inner) for item in body)
        state.sizes[key] = size
    return state.sizes[key]


def _count(name: str, state: _Lowering) -> int:
    key = f"block:{state.prefix}{name}"
    state.counters[key] = state.counters.get(key, 0) + 1
    return state.counters[key]


def _lower_pool(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    layer = entry.layer
    op: ir.PoolOp = "avg" if layer.kind == "avgpool" else "max"
    if op == "avg" and not attrs.has("kernel") and not attrs.has("stride"):
        attrs.mark("global", Origin.ASSUMED)
        _emit(state, rank=1, node=ir.GlobalPool2D(op="avg", **_common(entry, state, "pool", attrs)))
        return
    window = attrs.get("kernel", "pool_size", (2, 2))
    stride = attrs.get("stride", "strides", window)
    padding = _padding(attrs.get("padding", "padding", "same"))
    rounding = attrs.get("rounding", "rounding", "exact", assumed=False)
    node = ir.Pool2D(
        op=op,
        pool_size=window,
        strides=stride,
        padding=padding,
        rounding=rounding,
        **_common(entry, state, "pool", attrs),
    )
    _emit(state, rank=3, node=node)


def _lower_fc(entry: _Flat, attrs: _Attributes, is_last: bool, state: _Lowering) -> None:
    units = attrs.get("units", "units")
    if units is None and entry.claims.shape is not None:
        units = entry.claims.shape[-1]
        attrs.mark("units", Origin.INFERRED)
    if units is None:
        state.error(
            "P103",
            "this FC layer has no unit count",
            entry.layer.span,
            "write it on the layer (`FC-4096`) or once in `defaults:` (`fc: units 4096`)",
        )
        _emit_invalid(entry, state)
        return
    if state.rank is not None and state.rank > 1:
        _insert_flatten(entry, state)
    batchnorm = bool(attrs.get("batchnorm", "batchnorm", False, assumed=False))
    use_bias = attrs.get("bias", "use_bias", True, assumed=False)
    activation = _activation(entry, attrs, is_last, state)
    dense = ir.Dense(
        units=units,
        use_bias=use_bias,
        activation=ir.LINEAR if batchnorm else activation,
        **_common(entry, state, "fc", attrs),
    )
    _emit_with_batchnorm(entry, dense, batchnorm, activation, state, rank=1)


def _lower_zeropad(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    values = attrs.get("padding", "padding")
    if len(values) == 1:
        padding = ((values[0], values[0]), (values[0], values[0]))
    elif len(values) == 2:
        padding = ((values[0], values[0]), (values[1], values[1]))
    elif len(values) == 4:
        padding = ((values[0], values[1]), (values[2], values[3]))
    else:
        state.error(
            "P102", "zero padding takes 1 (all sides), 2 (H×W) or 4 (top×bottom×left×right) sizes", entry.layer.span
        )
        _emit_invalid(entry, state)
        return
    _emit(state, rank=3, node=ir.ZeroPad2D(padding=padding, **_common(entry, state, "zeropad")))


def _activation(entry: _Flat, attrs: _Attributes, is_last: bool, state: _Lowering) -> Activation:
    if "activation" in attrs.stated:
        activation = attrs.stated["activation"].value
    elif entry.fused is not None:
        activation = entry.fused.value
    elif entry.fused_linear:
        activation = ir.LINEAR
    elif is_last and entry.layer.kind == "fc":
        attrs.mark("activation", Origin.ASSUMED)
        activation = ir.LINEAR
    else:
        activation = attrs.get("activation", "activation", ir.RELU)
    assert isinstance(activation, Activation)
    return activation


def _padding(value: object) -> ir.Padding:
    if isinstance(value, int):
        return ((value, value), (value, value))
    if value == "same":
        return "same"
    assert value == "valid", value
    return "valid"


def _ints(value: object) -> tuple[int, ...]:
    assert isinstance(value, tuple), value
    return tuple(int(v) for v in value)


# ---- emitting nodes ----------------------------------------------------------------


def _auto_name(prefix: str, state: _Lowering) -> str:
    prefix = state.prefix + prefix
    while True:
        state.counters[prefix] = state.counters.get(prefix, 0) + 1
        name = f"{prefix}{state.counters[prefix]}"
        if name not in state.reserved and name not in state.names:
            return name


def _common(entry: _Flat, state: _Lowering, prefix: str, attrs: _Attributes | None = None) -> dict[str, Any]:
    label = state.prefix + entry.label if entry.label is not None else None
    name = label if label is not None and label not in state.names else _auto_name(prefix, state)
    return {
        "name": name,
        "inputs": (state.head,),
        "span": entry.layer.span,
        "origins": tuple(attrs.origins) if attrs else (),
        "claims": entry.claims,
    }


def _emit(state: _Lowering, *, node: Node, rank: int | None = -1) -> int:
    """Append a node and return its index; `rank` is its output's rank where the node changes it."""
    if len(state.nodes) >= MAX_LAYERS:
        raise _TooLarge(node.span)
    if isinstance(node, ir.BatchNorm) and "batchnorm" in state.defaults:
        node = _with_batchnorm_defaults(node, state.defaults["batchnorm"])
    inherited: dict[str, Any] = {}  # one copy of the node for both, not one each
    if state.scope and not node.scope:
        inherited["scope"] = state.scope
    if state.template and not node.template:
        inherited["template"] = state.template
    if inherited:
        node = replace(node, **inherited)
    state.channels.append(_output_channels(node, state.channels))
    state.nodes.append(node)
    state.names.add(node.name)
    if rank != -1:
        state.rank = rank
    state.ranks.append(state.rank)
    state.head = len(state.nodes) - 1
    return state.head


def _output_channels(node: Node, channels: list[int | None]) -> int | None:
    """The channels a node outputs, known from the spec alone (used to choose shortcuts)."""
    before = [channels[i] for i in node.inputs]
    match node:
        case ir.Input(shape=shape):
            return shape[-1]
        case ir.Conv2D(filters=filters) | ir.SeparableConv2D(filters=filters) | ir.Conv2DTranspose(filters=filters):
            return filters
        case ir.Dense(units=units):
            return units
        case ir.ShortcutPad(channels=count):
            return count
        case ir.Reshape(target_shape=shape):
            return shape[-1]
        case ir.Concat():
            return None if None in before else sum(c for c in before if c is not None)
        case ir.DepthwiseConv2D(depth_multiplier=multiplier):
            return None if before[0] is None else before[0] * multiplier
        case ir.Flatten() | ir.Invalid():
            return None
        case _:
            return before[0] if before else None


def _emit_with_batchnorm(
    entry: _Flat,
    node: ir.Conv2D | ir.DepthwiseConv2D | ir.SeparableConv2D | ir.Conv2DTranspose | ir.Dense,
    batchnorm: bool,
    activation: Activation,
    state: _Lowering,
    rank: int,
) -> None:
    if not batchnorm:
        _emit(state, node=node, rank=rank)
        return
    claims = node.claims
    # the activation comes after the batch norm, and with it where its value came from
    moved = tuple(o for o in node.origins if o[0] == "activation")
    kept = tuple(o for o in node.origins if o[0] != "activation")
    _emit(state, node=replace(node, claims=Claims(), origins=kept), rank=rank)
    # what the layer states of its batch norm (`conv3-64 BN scale off`); `defaults: batchnorm:` the rest
    settings: dict[str, Any] = {o.key: o.value for o in entry.layer.options if o.key in _BATCHNORM_SETTINGS}
    norm = ir.BatchNorm(
        name=f"{node.name}_bn",
        inputs=(state.head,),
        span=node.span,
        origins=tuple((key, Origin.STATED) for key in settings),
        **settings,
    )
    following: list[Node] = [norm]
    if activation != ir.LINEAR:
        following.append(
            ir.ActivationLayer(
                name=f"{node.name}_{_short(activation)}",
                inputs=(state.head + 1,),
                span=node.span,
                activation=activation,
                origins=moved,
            )
        )
    following[-1] = replace(following[-1], claims=claims)
    for extra in following:
        _emit(state, node=extra)


_BATCHNORM_SETTINGS = ("scale", "center", "epsilon", "momentum")


def _lower_batchnorm(entry: _Flat, attrs: _Attributes, state: _Lowering) -> None:
    """`BN scale off, epsilon 1.001e-5`: what the layer states, else `defaults: batchnorm:`,
    else Keras's (γ and β on, ε 1e-3, momentum 0.99)."""
    settings = {key: attrs.get(key, key, assumed=False) for key in _BATCHNORM_SETTINGS}
    attrs.origins += [(key, Origin.STATED) for key in _BATCHNORM_SETTINGS if key in attrs.stated]
    node = ir.BatchNorm(**_common(entry, state, "bn", attrs), **{k: v for k, v in settings.items() if v is not None})
    _emit(state, node=node)


def _with_batchnorm_defaults(node: ir.BatchNorm, defaults: Mapping[str, Option]) -> ir.BatchNorm:
    """A batch norm that a construct adds (`conv: batchnorm`, a bracket) takes the settings of
    `defaults: batchnorm:`; one the spec writes keeps what it states."""
    settled = {key for key, _ in node.origins}
    changes = {key: option.value for key, option in defaults.items() if key not in settled}
    if not changes:
        return node
    origins = (*node.origins, *((key, Origin.DEFAULT) for key in changes))
    return replace(node, origins=origins, **changes)  # type: ignore[arg-type]


def _insert_flatten(entry: _Flat, state: _Lowering) -> None:
    name = _auto_name("flatten", state)
    node = ir.Flatten(name=name, inputs=(state.head,), span=entry.layer.span, implicit=True)
    _emit(state, node=node, rank=1)


def _emit_invalid(entry: _Flat, state: _Lowering) -> None:
    node = ir.Invalid(text=entry.layer.kind, **_common(entry, state, "layer"))
    _emit(state, node=node, rank=None)


# ---- validating stated values ---------------------------------------------------------


def _validate(option: Option, state: _Lowering, kind: str = "") -> bool:
    """Check one option's value against the bounds; report and return False if it is out."""
    key, value, span = option.key, option.value, option.span
    word = _OPTION_WORDS.get(key, key)
    if key in ("kernel", "stride", "dilation", "shape"):
        values = _ints(value)
        return _check_sizes(word, values, span, state)
    if key in ("filters", "units", "groups", "channels"):
        return _check_sizes(word, (value,), span, state)  # type: ignore[arg-type]
    if key == "padding":
        if isinstance(value, tuple):
            return _check_sizes(word, value, span, state, minimum=0)
        if isinstance(value, int):
            return _check_sizes(word, (value,), span, state, minimum=0)
    if key == "rate":
        assert isinstance(value, float)
        return _check_rate(value, span, state, "drop path" if kind == "drop_path" else "dropout")
    if key == "width":
        assert isinstance(value, float)
        if not 0 < value <= MAX_WIDTH:
            state.error("P102", f"a width multiplier is above 0 and at most {MAX_WIDTH:g}; got {value:g}", span)
            return False
        return True
    if key == "activation" and isinstance(value, Activation) and value.alpha is not None:
        if not math.isfinite(value.alpha) or abs(value.alpha) > MAX_DIMENSION:
            state.error("P102", f"an activation's slope must be a finite number; got {value.alpha:g}", span)
            return False
        return True
    if key == "kernel_depth":
        return _check_sizes(word, (value,), span, state)  # type: ignore[arg-type]
    if key == "cropping":
        return _check_sizes(word, _ints(value), span, state, minimum=0)
    if key == "scale" and isinstance(value, tuple) and value[1] == 0:
        state.error("P102", "a rescaling divides by zero", span)
        return False
    if key == "se" and isinstance(value, int):  # `se 16`: a width; a ratio is checked where it is read
        return _check_sizes("a squeeze width", (value,), span, state)
    if key == "of":
        return _check_sizes(word, (value,), span, state)  # type: ignore[arg-type]
    if key in ("epsilon", "momentum"):
        assert isinstance(value, float)
        return _check_batchnorm_setting(key, value, span, state)
    return True


def _check_sizes(word: str, values: tuple[int, ...], span: Span, state: _Lowering, minimum: int = 1) -> bool:
    for value in values:
        if value < minimum:
            state.error("P102", f"{word} must be at least {minimum}; got {value}", span)
            return False
        if value > MAX_DIMENSION:
            shown = f"{value:,}" if value < 10**MAX_DIGITS else f"with {MAX_DIGITS + 1} or more digits"
            state.error("P102", f"{word} {shown} is larger than papernet's bound of {MAX_DIMENSION:,}", span)
            return False
    return True


def _check_batchnorm_setting(key: str, value: float, span: Span, state: _Lowering) -> bool:
    if key == "epsilon" and not 0 < value < 1:
        state.error("P102", f"a batch norm's epsilon is a small positive number; got {value:g}", span)
        return False
    if key == "momentum" and not 0 <= value < 1:
        state.error("P102", f"a batch norm's momentum is a fraction in [0, 1); got {value:g}", span)
        return False
    return True


def _check_rate(rate: float, span: Span, state: _Lowering, word: str = "dropout") -> bool:
    if 1 <= rate <= 100:
        state.error(
            "P102",
            f"a {word} rate is a fraction below 1; {rate:g} is not one",
            span,
            f"for {rate:g} percent write `{word} {rate:g}%` or `{word} {rate / 100:g}`",
        )
        return False
    if not 0 <= rate < 1:
        state.error("P102", f"a {word} rate is a fraction in [0, 1); got {rate:g}", span)
        return False
    return True
