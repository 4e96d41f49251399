"""Diagrams: the network drawn by papernet itself, as SVG or as Graphviz DOT text.

The IR already knows the drawing's structure. Nodes are in topological order and name their
inputs, so a fork's branches end where they all meet again: the fork's immediate
post-dominator, the add or concat that joins them. Walking from the input, a chain of layers
is a `Series`, a fork is a `Parallel` of the series between it and its join, and runs of
layers in the same block (`node.scope`) are labelled `Group`s, which `depth` collapses into
one box with the block's totals. A graph that is not series–parallel (a long `@label` skip
across a residual block) is drawn as one column with its edges routed beside it.

>>> import papernet
>>> net = papernet.parse("input 8x8x4\\nadd(conv3-4 padding same | identity)\\n")
>>> tree = structure(net.graph)
>>> [type(item).__name__ for item in tree.items]
['Leaf', 'Parallel', 'Leaf']
>>> [len(branch.items) for branch in tree.items[1].branches]  # the conv, and the identity
[1, 0]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Literal, TypeAlias

from papernet import ir
from papernet.diagnostics import printable
from papernet.infer import PAST_BOUND, Inference, LayerInfo, beyond_bound, dims
from papernet.ir import Graph
from papernet.svg import COLOURS, Group, Item, Leaf, Parallel, Series, to_svg

Format: TypeAlias = Literal["svg", "dot"]
FORMATS: tuple[Format, ...] = ("svg", "dot")
MAX_NESTING = 200  # forks within forks; deeper than any paper's network, and safe for recursion


def draw(graph: Graph, inference: Inference, depth: int | None = None, format: Format = "svg") -> str:
    """The network as SVG (`format="svg"`) or Graphviz DOT text; with `depth`, blocks nested
    deeper than `depth` are one box each (1: ResNet's stages; 2: its blocks)."""
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be 1 or more, not {depth}")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    tree = structure(graph)
    fallback = tree is None
    if tree is None:
        tree = Series(tuple(Leaf((i,)) for i in range(len(graph.nodes))), connected=False)
    labelled = _labelled(_grouped(tree, graph, 0, depth), graph, inference)
    if format == "dot":
        return to_dot(graph.name, labelled, _edges(graph))
    return to_svg(graph.name, labelled, _edges(graph) if fallback else ())


# ---- structure: series, forks and joins ------------------------------------------------


class _NotSeriesParallel(Exception):
    pass


def structure(graph: Graph) -> Series | None:
    """The graph as nested series and parallels of one-node leaves, or None when it is not
    series–parallel (or names an input that is not before it)."""
    count = len(graph.nodes)
    if any(not 0 <= i < n for n, node in enumerate(graph.nodes) for i in node.inputs):
        return None
    successors = _successors(graph)
    joins = _joins(successors)
    placed = [False] * count
    try:
        tree = _series(0, count, successors, joins, placed, 0) if count else Series(())
    except _NotSeriesParallel:
        return None
    if not all(placed) or _implied_edges(tree) != set(_edges(graph)):
        return None
    return tree


def _successors(graph: Graph) -> list[list[int]]:
    successors: list[list[int]] = [[] for _ in graph.nodes]
    for n, node in enumerate(graph.nodes):
        for i in dict.fromkeys(node.inputs):
            successors[i].append(n)
    return successors


def _joins(successors: list[list[int]]) -> list[int]:
    """Each node's immediate post-dominator: where all its paths meet again (len = the exit).
    In topological order every successor has a larger index, so one backward pass does."""
    exit_ = len(successors)
    joins = [exit_] * exit_
    for node in reversed(range(exit_)):
        following = successors[node]
        if following:
            join = following[0]
            for other in following[1:]:
                join = _meet(join, other, joins)
            joins[node] = join
    return joins


def _meet(a: int, b: int, joins: list[int]) -> int:
    while a != b:
        if a < b:
            a = joins[a]
        else:
            b = joins[b]
    return a


def _series(
    start: int, stop: int, successors: list[list[int]], joins: list[int], placed: list[bool], nesting: int
) -> Series:
    if nesting > MAX_NESTING:
        raise _NotSeriesParallel
    items: list[Item] = []
    node = start
    while node != stop:
        if node == len(successors) or placed[node]:
            raise _NotSeriesParallel
        placed[node] = True
        items.append(Leaf((node,)))
        join = joins[node]
        if len(successors[node]) > 1:
            branches = (_series(s, join, successors, joins, placed, nesting + 1) for s in successors[node])
            items.append(Parallel(tuple(branches)))
        node = join
    return Series(tuple(items))


def _edges(graph: Graph) -> tuple[tuple[int, int], ...]:
    """(input, node) pairs, each once; an input that is not before its node is left undrawn."""
    return tuple(dict.fromkeys((i, n) for n, node in enumerate(graph.nodes) for i in node.inputs if 0 <= i < n))


def _implied_edges(tree: Series) -> set[tuple[int, int]]:
    """The edges the drawing shows: each item takes what the items before it give."""
    edges: set[tuple[int, int]] = set()

    def walk(series: Series, sources: frozenset[int]) -> frozenset[int]:
        for item in series.items:
            if isinstance(item, Leaf):
                edges.update((s, item.nodes[0]) for s in sources)
                sources = frozenset(item.nodes)
            elif isinstance(item, Parallel):
                sources = frozenset().union(*(walk(branch, sources) for branch in item.branches))
            else:
                sources = walk(item.body, sources)
        return sources

    walk(tree, frozenset())
    return edges


# ---- blocks: groups and collapsed boxes ------------------------------------------------


def _grouped(series: Series, graph: Graph, level: int, depth: int | None) -> Series:
    """Runs of items in the same block at `level` become groups (or, at `depth`, one leaf)."""
    items: list[Item] = []
    run: list[Item] = []
    run_key: tuple[str, ...] | None = None
    for item, key in ((item, _block_at(item, graph, level)) for item in series.items):
        if run and key != run_key:
            items.append(_block(run, run_key, graph, level, depth, series.connected))
            run = []
        if key is not None:
            run.append(item)
            run_key = key
        elif isinstance(item, Parallel):
            items.append(Parallel(tuple(_grouped(b, graph, level, depth) for b in item.branches)))
        else:
            items.append(item)
    if run:
        items.append(_block(run, run_key, graph, level, depth, series.connected))
    return Series(tuple(items), series.connected)


def _block(
    run: list[Item], path: tuple[str, ...] | None, graph: Graph, level: int, depth: int | None, connected: bool
) -> Item:
    assert path is not None
    if depth is not None and level + 1 >= depth:
        return Leaf(tuple(sorted(_nodes_of(run))), kind="block")
    return Group(path, _grouped(Series(tuple(run), connected), graph, level + 1, depth))


def _block_at(item: Item, graph: Graph, level: int) -> tuple[str, ...] | None:
    """The block path (to `level`) that every node of `item` belongs to, or None."""
    scopes = [graph.nodes[n].scope for n in _nodes_of([item])]
    first = scopes[0] if scopes else ()
    if len(first) <= level or any(scope[: level + 1] != first[: level + 1] for scope in scopes):
        return None
    return first[: level + 1]


def _nodes_of(items: Sequence[Item]) -> Iterator[int]:
    for item in items:
        if isinstance(item, Leaf):
            yield from item.nodes
        elif isinstance(item, Parallel):
            for branch in item.branches:
                yield from _nodes_of(branch.items)
        else:
            yield from _nodes_of(item.body.items)


# ---- words: what each box says ---------------------------------------------------------


def _labelled(series: Series, graph: Graph, inference: Inference) -> Series:
    return Series(tuple(_label_item(item, graph, inference) for item in series.items), series.connected)


def _label_item(item: Item, graph: Graph, inference: Inference) -> Item:
    if isinstance(item, Parallel):
        return Parallel(tuple(_labelled(b, graph, inference) for b in item.branches))
    if isinstance(item, Group):
        body = _labelled(item.body, graph, inference)
        return replace(item, body=body, tooltip=_block_tooltip(item.path, tuple(_nodes_of([item])), graph, inference))
    if item.kind == "block":
        return _block_leaf(item.nodes, graph, inference)
    return _layer_leaf(item.nodes[0], graph, inference)


def _layer_leaf(index: int, graph: Graph, inference: Inference) -> Leaf:
    node, info = graph.nodes[index], inference.layers[index]
    layer = ir.describe(node)
    shape = _shape(info)
    lines = [
        f"{node.name} · line {node.span.line}",
        f"{layer} → {shape}",
        *_figures(info.params, info.trainable, info.macs),
    ]
    lines.append(_field(info))
    if node.assumed():
        lines.append("assumed: " + ", ".join(node.assumed()))
    inferred = [key for key, origin in node.origins if origin is ir.Origin.INFERRED]
    if inferred:
        lines.append("inferred from the table: " + ", ".join(inferred))
    return Leaf((index,), layer, shape, "\n".join(lines), _colour_kind(node))


def _block_leaf(nodes: tuple[int, ...], graph: Graph, inference: Inference) -> Leaf:
    path = _common_path(nodes, graph)
    last = inference.layers[nodes[-1]]
    params = sum(inference.layers[n].params for n in nodes)
    detail = f"{_shape(last)} · {len(nodes)} layers · {_compact(params)} params"
    return Leaf(nodes, path[-1], detail, _block_tooltip(path, nodes, graph, inference), "block")


def _block_tooltip(path: tuple[str, ...], nodes: tuple[int, ...], graph: Graph, inference: Inference) -> str:
    layers = [inference.layers[n] for n in nodes]
    lines = sorted(graph.nodes[n].span.line for n in nodes)
    where = f"line {lines[0]}" if lines[0] == lines[-1] else f"lines {lines[0]}–{lines[-1]}"
    figures = _figures(sum(i.params for i in layers), sum(i.trainable for i in layers), sum(i.macs for i in layers))
    return "\n".join(
        ["/".join(path), f"{len(nodes)} layers · {where} → {_shape(layers[-1])}", *figures, _field(layers[-1])]
    )


def _common_path(nodes: tuple[int, ...], graph: Graph) -> tuple[str, ...]:
    path = graph.nodes[nodes[0]].scope
    for n in nodes[1:]:
        scope = graph.nodes[n].scope
        while scope[: len(path)] != path:
            path = path[:-1]
    return path or ("block",)


def _figures(params: int, trainable: int, macs: int) -> list[str]:
    kept = f"params {params:,}" + (f" (trainable {trainable:,})" if trainable != params else "")
    return [kept if params else "no parameters", f"MACs {macs:,}"]


def _field(info: LayerInfo) -> str:
    if info.receptive_field is None:
        return "receptive field unknown"
    rf, jump = info.receptive_field, info.jump or (1, 1)
    if any(beyond_bound(v) for v in (*rf, *jump)):
        return PAST_BOUND
    return f"receptive field {_pair(rf)} px, effective stride {_pair(jump)}"


def _compact(count: int) -> str:
    """A count short enough for a box; the tooltip has it in full.

    >>> _compact(220_032), _compact(7_098_368), _compact(512)
    ('220K', '7.1M', '512')
    """
    for unit, scale in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= scale:
            return f"{count / scale:.1f}{unit}" if count < 10 * scale else f"{count / scale:.0f}{unit}"
    return str(count)


def _pair(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def _shape(info: LayerInfo) -> str:
    return "?" if info.shape is None else dims(info.shape)


def _colour_kind(node: ir.Node) -> str:
    match node:
        case ir.Conv2D() | ir.DepthwiseConv2D():
            return "conv"
        case ir.Pool2D() | ir.GlobalPool2D():
            return "pool"
        case ir.Dense():
            return "fc"
        case ir.Add() | ir.Concat():
            return "merge"
        case ir.Input():
            return "input"
        case ir.Invalid():
            return "invalid"
        case _:
            return "other"


# ---- Graphviz ----------------------------------------------------------------------------


def to_dot(title: str, tree: Series, edges: tuple[tuple[int, int], ...]) -> str:
    """Graphviz text: a node per box, a cluster per group, the graph's edges between boxes."""
    box_of: dict[int, int] = {}
    body = _dot_series(tree, box_of, 1)
    links = dict.fromkeys((box_of[a], box_of[b]) for a, b in edges if box_of[a] != box_of[b])
    return "".join(
        [
            f"digraph {_dot_string(title)} {{\n",
            f'  graph [rankdir=TB, label={_dot_string(title)}, labelloc=t, fontname="Helvetica"];\n',
            '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];\n',
            *body,
            *(f"  n{a} -> n{b};\n" for a, b in links),
            "}\n",
        ]
    )


def _dot_series(series: Series, box_of: dict[int, int], indent: int) -> list[str]:
    pad, lines = "  " * indent, []
    for item in series.items:
        if isinstance(item, Parallel):
            for branch in item.branches:
                lines += _dot_series(branch, box_of, indent)
        elif isinstance(item, Group):
            first = min(_nodes_of([item]))
            lines.append(f"{pad}subgraph cluster_{first} {{\n{pad}  label={_dot_string(item.path[-1])};\n")
            lines += _dot_series(item.body, box_of, indent + 1)
            lines.append(f"{pad}}}\n")
        else:
            box_of.update((n, item.nodes[0]) for n in item.nodes)
            fill = COLOURS.get(item.kind, COLOURS["other"])[0]
            label = _dot_string(f"{item.label}\n{item.detail}")
            lines.append(
                f'{pad}n{item.nodes[0]} [label={label}, tooltip={_dot_string(item.tooltip)}, fillcolor="{fill}"];\n'
            )
    return lines


def _dot_string(text: str) -> str:
    r"""A DOT quoted string: backslashes and quotes escaped, line breaks as \n.

    >>> print(_dot_string('a "b"\\c\nd'))
    "a \"b\"\\c\nd"
    """
    lines = (printable(line).replace("\\", "\\\\").replace('"', '\\"') for line in text.split("\n"))
    return '"' + "\\n".join(lines) + '"'
