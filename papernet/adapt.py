"""Adapting a paper's network to your data: a new input, an N-class head, a regression head.

Pure functions from graph to graph. The head is the network's last FC layer and
everything after it; `--classes N` replaces it with an N-way softmax FC, and
`--regression H×W×C` with a linear FC of H·W·C units reshaped to H×W×C, the usual way
to turn a classifier such as VGG-11 into a regressor.

`--regression H×W×C --head conv` keeps the spatial information instead: the FC layers after
the last feature map become 1×1 convs of the same widths (activations, batch norms and
dropout kept; the flatten or global pool before them dropped), the last FC a linear 1×1 conv
to C channels, and a bilinear upsampling takes it to H×W ("change the Dense layer to a
Convolution2D layer to keep spatial information"). A note gives the parameter count against
the dense head's.
"""

from __future__ import annotations

from dataclasses import replace
from math import prod
from typing import Literal, TypeAlias

from papernet import diagnostics as diag
from papernet import ir
from papernet.diagnostics import Diagnostic, Severity
from papernet.ir import Graph
from papernet.span import Span


def without_claims(graph: Graph) -> Graph:
    """The graph with the paper's claims removed: they do not describe an adapted network."""
    nodes = tuple(replace(node, claims=ir.Claims()) for node in graph.nodes)
    return replace(graph, nodes=nodes, totals=())


def with_input(graph: Graph, shape: tuple[int, ...], span: Span) -> tuple[Graph, list[Diagnostic]]:
    first = graph.nodes[0] if graph.nodes else None
    if not isinstance(first, ir.Input):
        return graph, []
    if len(shape) == 2 and len(first.shape) == 3:
        height, width = shape
        return graph, [
            diag.error(
                "P111",
                f"a new input {_dims(shape)} gives no channel count",
                span,
                f"write {height}×{width}×1 for a gray image or {height}×{width}×3 for an RGB one",
            )
        ]
    if len(shape) != len(first.shape):
        return graph, [
            diag.error(
                "P111",
                f"the network's input is {_dims(first.shape)}; a new input must have as many dimensions, "
                f"not {_dims(shape)}",
                span,
            )
        ]
    return replace(graph, nodes=(replace(first, shape=shape, span=span), *graph.nodes[1:])), []


def with_classes(graph: Graph, classes: int, span: Span) -> tuple[Graph, list[Diagnostic]]:
    head = _head_index(graph)
    if head is None:
        return graph, [_no_head(span)]
    old = graph.nodes[head]
    dense = ir.Dense(name=old.name, inputs=old.inputs, span=span, units=classes, activation=ir.Activation("softmax"))
    return replace(graph, nodes=(*graph.nodes[:head], dense)), []


HeadKind: TypeAlias = Literal["dense", "conv"]


def with_regression(
    graph: Graph, shape: tuple[int, ...], span: Span, head_kind: HeadKind = "dense"
) -> tuple[Graph, list[Diagnostic]]:
    if head_kind == "conv":
        return with_conv_regression(graph, shape, span)
    head = _head_index(graph)
    if head is None:
        return graph, [_no_head(span)]
    old = graph.nodes[head]
    dense = ir.Dense(name=old.name, inputs=old.inputs, span=span, units=prod(shape), activation=ir.LINEAR)
    nodes: tuple[ir.Node, ...] = (*graph.nodes[:head], dense)
    if len(shape) > 1:
        nodes += (ir.Reshape(name=f"{old.name}_reshape", inputs=(head,), span=span, target_shape=shape),)
    return replace(graph, nodes=nodes), []


_HEAD_STACK = (ir.Dense, ir.ActivationLayer, ir.Dropout, ir.BatchNorm, ir.Flatten, ir.GlobalPool2D)
"""What the classifier after the last feature map is made of."""


def with_conv_regression(graph: Graph, shape: tuple[int, ...], span: Span) -> tuple[Graph, list[Diagnostic]]:
    """The regression head as convolutions: see the module's docstring."""
    from papernet.infer import infer

    head = _head_index(graph)
    if head is None:
        return graph, [_no_head(span)]
    if len(shape) != 3:
        message = f"a conv head gives an H×W×C output; regression {_dims(shape)} is not one"
        return graph, [diag.error("P132", message, span, "use the dense head for a vector target")]
    start = _stack_start(graph, head)
    if start is None:
        message = "a conv head replaces the FC layers after the network's last feature map, and this network has none"
        return graph, [diag.error("P132", message, span, "use the dense head (`head dense`)")]
    features = infer(graph).layers[start - 1].shape
    if features is None or len(features) != 3:
        return with_regression(graph, shape, span)  # the error upstream is reported; the build stops there
    factors = _upsampling(features, shape, span)
    if isinstance(factors, Diagnostic):
        return graph, [factors]
    nodes = list(graph.nodes[:start])
    for old in graph.nodes[start : head + 1]:
        if isinstance(old, ir.Flatten | ir.GlobalPool2D):
            continue
        at = (len(nodes) - 1,)
        if isinstance(old, ir.Dense):
            last = old is graph.nodes[head]
            nodes.append(
                ir.Conv2D(
                    name=old.name,
                    inputs=at,
                    span=span if last else old.span,
                    scope=old.scope,
                    filters=shape[2] if last else old.units,
                    kernel_size=(1, 1),
                    strides=(1, 1),
                    padding="same",
                    use_bias=old.use_bias,
                    activation=ir.LINEAR if last else old.activation,
                )
            )
        else:
            nodes.append(replace(old, inputs=at))
    if factors != (1, 1):
        upsample = ir.UpSample2D(
            name=f"{graph.nodes[head].name}_upsample",
            inputs=(len(nodes) - 1,),
            span=span,
            size=factors,
            interpolation="bilinear",
        )
        nodes.append(upsample)
    adapted = replace(graph, nodes=tuple(nodes))
    return adapted, [_head_difference(graph, adapted, shape, span)]


def _stack_start(graph: Graph, head: int) -> int | None:
    """The first node of the classifier that ends at `head`: a chain of FCs, activations, batch
    norms, dropout, and the flatten or global pool that starts it, each fed by the one before."""
    start = head
    while start > 1 and isinstance(graph.nodes[start - 1], _HEAD_STACK) and graph.nodes[start].inputs == (start - 1,):
        start -= 1
    flattens = [i for i in range(start, head) if isinstance(graph.nodes[i], ir.Flatten | ir.GlobalPool2D)]
    if not flattens or isinstance(graph.nodes[flattens[0] - 1], ir.Input):
        return None
    return flattens[0]


def _upsampling(features: tuple[int, ...], shape: tuple[int, ...], span: Span) -> tuple[int, int] | Diagnostic:
    """The whole factors that take the last feature map's H×W to the target's, or why there are none."""
    if all(shape[axis] % features[axis] == 0 for axis in (0, 1)):
        return shape[0] // features[0], shape[1] // features[1]
    message = (
        f"a conv head upsamples the last feature map, {_dims(features[:2])}, by a whole factor; "
        f"{_dims(shape[:2])} is not a multiple of it"
    )
    near = _dims(tuple(max(1, round(shape[axis] / features[axis])) * features[axis] for axis in (0, 1)))
    return diag.error("P133", message, span, f"a {near} target fits, or the dense head takes any size")


def _head_difference(dense_base: Graph, adapted: Graph, shape: tuple[int, ...], span: Span) -> Diagnostic:
    """A note: the conv head's parameter count against the dense head's."""
    from papernet.infer import infer

    dense, _ = with_regression(dense_base, shape, span)
    conv_total, dense_total = infer(adapted).total_params, infer(dense).total_params
    difference = dense_total - conv_total
    comparison = f"{difference:,} fewer" if difference >= 0 else f"{-difference:,} more"
    message = f"the conv head gives {conv_total:,} parameters, {comparison} than the dense head's {dense_total:,}"
    return Diagnostic("P134", message, span, severity=Severity.NOTE)


def _head_index(graph: Graph) -> int | None:
    return max((i for i, node in enumerate(graph.nodes) if isinstance(node, ir.Dense)), default=None)


def _no_head(span: Span) -> Diagnostic:
    return diag.error(
        "P112",
        "the network has no FC layer whose head could be replaced",
        span,
        "end the spec with e.g. `global avgpool, FC-10` to give it one",
    )


def _dims(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))
