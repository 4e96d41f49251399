"""Adapting a paper's network to your data: a new input, an N-class head, a regression head.

Pure functions from graph to graph. The head is the network's last FC layer and
everything after it; `--classes N` replaces it with an N-way softmax FC, and
`--regression H×W×C` with a linear FC of H·W·C units reshaped to H×W×C, the usual way
to turn a classifier such as VGG-11 into a regressor.
"""

from __future__ import annotations

from dataclasses import replace
from math import prod

from papernet import diagnostics as diag
from papernet import ir
from papernet.diagnostics import Diagnostic
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


def with_regression(graph: Graph, shape: tuple[int, ...], span: Span) -> tuple[Graph, list[Diagnostic]]:
    head = _head_index(graph)
    if head is None:
        return graph, [_no_head(span)]
    old = graph.nodes[head]
    dense = ir.Dense(name=old.name, inputs=old.inputs, span=span, units=prod(shape), activation=ir.LINEAR)
    nodes: tuple[ir.Node, ...] = (*graph.nodes[:head], dense)
    if len(shape) > 1:
        nodes += (ir.Reshape(name=f"{old.name}_reshape", inputs=(head,), span=span, target_shape=shape),)
    return replace(graph, nodes=nodes), []


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
