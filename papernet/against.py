"""An implementation against the paper's spec (`papernet check SPEC --against MODEL`). Pure.

Both sides are papernet networks (a Keras model is read by `papernet.keras_import`), so they are
compared in one vocabulary. Each graph is decomposed into chains and forks
(`papernet.series_parallel`) and each chain into *units*: a conv, depthwise conv, FC, pool or
merge together with the batch norm and activation that follow it. The two are walked side by
side, branches of a merge paired as they fit best (an add of `shortcut | main` is the add of
`main | shortcut`). Layers that move no number the paper states — dropout, flatten, reshape,
zero padding — are not units; padding is compared through the shapes it gives.

The first unit that differs is reported at its spec line (P601) with both layers and both
shapes; where it sits in a residual block whose strided convs differ in number, the headline
says so. A difference only in the head — from the spec's last FC on — is an adaptation (a note,
P602), not an error: `papernet compile --classes 10` makes such a model. Then the per-stage
parameters and multiply-adds of both sides, side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import permutations

from papernet import diagnostics as diag
from papernet import ir
from papernet.diagnostics import Diagnostic, Severity
from papernet.infer import Inference, dims
from papernet.ir import Graph
from papernet.series_parallel import Element, Fork, NotSeriesParallel, decompose
from papernet.span import Span

MAX_PAIRED_BRANCHES = 6
"""Branches of one merge are paired by trying every order; beyond this many, in the order written."""


@dataclass(frozen=True)
class Side:
    """One network to compare: its graph, its inference, and a name for each node in messages."""

    graph: Graph
    inference: Inference
    where: dict[int, str]  # node → where it comes from (the Keras layers), for the model's side


@dataclass(frozen=True)
class Unit:
    nodes: tuple[int, ...]  # the main node first, then the batch norm and activation after it
    signature: tuple[object, ...]
    shape: tuple[int, ...] | None


@dataclass(frozen=True)
class Branching:
    node: int
    branches: tuple[tuple[Piece, ...], ...]
    after: tuple[int, ...]  # the batch norm and activation after the merge
    signature: tuple[object, ...]
    shape: tuple[int, ...] | None

    @property
    def nodes(self) -> tuple[int, ...]:
        inner = [n for branch in self.branches for piece in branch for n in piece.nodes]
        return (*inner, self.node, *self.after)


Piece = Unit | Branching


@dataclass(frozen=True)
class StageRow:
    name: str
    spec_params: int
    model_params: int
    spec_macs: int
    model_macs: int

    @property
    def differs(self) -> bool:
        return (self.spec_params, self.spec_macs) != (self.model_params, self.model_macs)


@dataclass(frozen=True)
class Comparison:
    """The first divergence (or the adapted head) as diagnostics, and the per-stage figures."""

    diagnostics: tuple[Diagnostic, ...]
    stages: tuple[StageRow, ...]
    spec_total: tuple[int, int]  # params, MACs
    model_total: tuple[int, int]

    @property
    def differs(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def adapted(self) -> bool:
        return any(d.code == "P602" for d in self.diagnostics)

    def table(self) -> str:
        """Per-stage parameters and multiply-adds, spec beside model; `≠` marks a stage that differs."""
        header = ("stage", "spec params", "model params", "spec MACs", "model MACs", "")
        rows = [
            (
                r.name,
                f"{r.spec_params:,}",
                f"{r.model_params:,}",
                f"{r.spec_macs:,}",
                f"{r.model_macs:,}",
                "≠" * r.differs,
            )
            for r in self.stages
        ]
        (sp, sm), (mp, mm) = self.spec_total, self.model_total
        rows.append(("total", f"{sp:,}", f"{mp:,}", f"{sm:,}", f"{mm:,}", "≠" * ((sp, sm) != (mp, mm))))
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

        def line(row: Sequence[str]) -> str:
            cells = [row[0].ljust(widths[0])] + [
                cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:-1], strict=True)
            ]
            return "  ".join([*cells, row[-1]]).rstrip()

        return "\n".join([line(header), *(line(row) for row in rows)]) + "\n"


# ---- units ------------------------------------------------------------------------------------

_SKIPPED = (ir.Dropout, ir.DropPath, ir.Flatten, ir.Reshape, ir.ZeroPad2D)


def pieces(elements: Sequence[Element], side: Side) -> list[Piece]:
    """A chain as units: each main layer with the batch norm and activations that follow it."""
    found: list[Piece] = []
    for element in elements:
        node = side.graph.nodes[element.node]
        if isinstance(element, Fork):
            branches = tuple(tuple(pieces(branch, side)) for branch in element.branches)
            op = ir.kind_of(node)
            found.append(Branching(element.node, branches, (), (op,), _shape(element.node, side)))
            continue
        if isinstance(node, _SKIPPED):
            continue
        if isinstance(node, ir.BatchNorm | ir.ActivationLayer) and found:
            found[-1] = _followed_by(found[-1], element.node, side)
            continue
        found.append(Unit((element.node,), _signature(node), _shape(element.node, side)))
    return found


def _followed_by(piece: Piece, index: int, side: Side) -> Piece:
    node = side.graph.nodes[index]
    word = "bn" if isinstance(node, ir.BatchNorm) else node.activation.describe()  # type: ignore[union-attr]
    shape = _shape(index, side)
    if isinstance(piece, Unit):
        return Unit((*piece.nodes, index), (*piece.signature, word), shape)
    return Branching(piece.node, piece.branches, (*piece.after, index), (*piece.signature, word), shape)


def _shape(index: int, side: Side) -> tuple[int, ...] | None:
    return side.inference.layers[index].shape


def _signature(node: ir.Node) -> tuple[object, ...]:
    """What must agree for two layers to be the same layer (shapes are compared beside it)."""
    kind = ir.kind_of(node)
    match node:
        case ir.Conv2D():
            own = () if node.activation == ir.LINEAR else (node.activation.describe(),)
            attributes = (node.filters, node.kernel_size, node.strides, node.dilation, node.groups, node.use_bias)
            return (kind, *attributes, *own)
        case ir.DepthwiseConv2D():
            own = () if node.activation == ir.LINEAR else (node.activation.describe(),)
            return (kind, node.kernel_size, node.strides, node.depth_multiplier, node.use_bias, *own)
        case ir.Dense():
            own = () if node.activation == ir.LINEAR else (node.activation.describe(),)
            return (kind, node.units, node.use_bias, *own)
        case ir.Pool2D():
            return (kind, node.pool_size, node.strides)
        case ir.ShortcutPad():
            return (kind, node.strides, node.channels)
        case ir.LRN():
            return (kind, node.size, node.k, node.alpha, node.beta)
        case ir.Input():
            return (kind, node.shape)
        case ir.ActivationLayer():
            return (kind, node.activation.describe())
        case _:
            return (kind,)


def _same(a: Piece, b: Piece) -> bool:
    return type(a) is type(b) and a.signature == b.signature and a.shape == b.shape


# ---- walking both sides ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Divergence:
    spec: Piece | None
    model: Piece | None
    spec_block: Branching | None  # the innermost merge both sides are in
    model_block: Branching | None
    position: int  # index in the top-level chain where it happened


def first_divergence(spec: Sequence[Piece], model: Sequence[Piece]) -> _Divergence | None:
    for position in range(max(len(spec), len(model))):
        found = _compare(
            spec[position] if position < len(spec) else None,
            model[position] if position < len(model) else None,
            None,
            None,
        )
        if found is not None:
            return _Divergence(found.spec, found.model, found.spec_block, found.model_block, position)
    return None


def _compare(
    a: Piece | None, b: Piece | None, block_a: Branching | None, block_b: Branching | None
) -> _Divergence | None:
    if a is None or b is None:
        return _Divergence(a, b, block_a, block_b, 0)
    if isinstance(a, Branching) and isinstance(b, Branching):
        if len(a.branches) != len(b.branches):
            return _Divergence(a, b, block_a, block_b, 0)
        pairs = sorted(zip(a.branches, _paired(a.branches, b.branches), strict=True), key=lambda p: -len(p[0]))
        for branch_a, branch_b in pairs:  # the main path (the longest branch) first, as papers draw it
            for position in range(max(len(branch_a), len(branch_b))):
                found = _compare(
                    branch_a[position] if position < len(branch_a) else None,
                    branch_b[position] if position < len(branch_b) else None,
                    a,
                    b,
                )
                if found is not None:
                    return found
        return None if _same(a, b) else _Divergence(a, b, block_a, block_b, 0)
    return None if _same(a, b) else _Divergence(a, b, block_a, block_b, 0)


def _paired(spec: Sequence[tuple[Piece, ...]], model: Sequence[tuple[Piece, ...]]) -> tuple[tuple[Piece, ...], ...]:
    """The model's branches in the order that fits the spec's best (most units alike, position by position)."""
    if len(model) > MAX_PAIRED_BRANCHES:
        return tuple(model)

    def fit(order: tuple[tuple[Piece, ...], ...]) -> int:
        score = 0
        for a, b in zip(spec, order, strict=True):
            score += 2 * sum(_same(x, y) for x, y in zip(a, b, strict=False))
            score += sum(x.signature[:1] == y.signature[:1] for x, y in zip(a, b, strict=False))
            score += len(a) == len(b)
        return score

    return max(permutations(model), key=fit)  # the first of the best: the written order on a tie


# ---- the comparison ---------------------------------------------------------------------------------


def compare(spec: Side, model: Side, model_name: str) -> Comparison:
    """Compare the spec with the model: the first divergence, and the stages side by side."""
    try:
        spec_chain = pieces(decompose([n.inputs for n in spec.graph.nodes]), spec)
        model_chain = pieces(decompose([n.inputs for n in model.graph.nodes]), model)
    except NotSeriesParallel as exc:
        problem = diag.error("P603", f"the networks cannot be compared as chains and branches: {exc}", None)
        return Comparison((problem,), (), _totals(spec), _totals(model))
    found = first_divergence(spec_chain, model_chain)
    diagnostics: list[Diagnostic] = []
    if found is not None:
        diagnostics.append(_report(found, spec, model, spec_chain, model_chain, model_name))
    stages = _stages(spec_chain, model_chain, spec, model)
    if found is None and _totals(spec) != _totals(model):
        diagnostics.append(_figures_differ(stages, spec, spec_chain, model_name))
    return Comparison(tuple(diagnostics), tuple(stages), _totals(spec), _totals(model))


def _figures_differ(stages: Sequence[StageRow], spec: Side, chain: Sequence[Piece], model_name: str) -> Diagnostic:
    """The same layers in the same order, yet other counts (a batch norm without its scale): the
    first stage whose figures differ."""
    row = next((r for r in stages if r.differs), None)
    name = row.name if row is not None else "the network"
    first = next((p for p in chain if _stage_of(p, spec) == name), None)
    span = _span(first, spec, chain) if first is not None else None
    detail = (
        f"{row.model_params:,} parameters and {row.model_macs:,} multiply-adds where the spec has "
        f"{row.spec_params:,} and {row.spec_macs:,}"
        if row is not None
        else "its totals differ"
    )
    return diag.error("P601", f"{model_name} has the spec's layers, but at {name}: {detail}", span)


def _totals(side: Side) -> tuple[int, int]:
    return side.inference.total_params, side.inference.total_macs


def _report(
    found: _Divergence,
    spec: Side,
    model: Side,
    spec_chain: Sequence[Piece],
    model_chain: Sequence[Piece],
    model_name: str,
) -> Diagnostic:
    span = _span(found.spec, spec, spec_chain)
    place = _place(found.spec, found.spec_block, spec)
    spec_text = _describe(found.spec, spec, "the spec")
    model_text = _describe(found.model, model, "the model")
    notes = (f"spec: {spec_text}", f"model: {model_text}{_origin(found.model, model)}")
    if _in_head(found, spec, spec_chain, model, model_chain):
        message = f"{model_name} adapts the spec's head at {place}: the layers before it are the spec's"
        return diag.Diagnostic("P602", message, span, (), Severity.NOTE, notes)
    strides = _stride_difference(found, spec, model)
    detail = strides or f"{spec_text} in the spec, {model_text} in the model"
    help_text = ("the model and the spec agree on every layer before this one",)
    if isinstance(found.model, Unit) and isinstance(model.graph.nodes[found.model.nodes[0]], ir.Input):
        shape = model.graph.nodes[found.model.nodes[0]]
        assert isinstance(shape, ir.Input)
        help_text = (
            f"to compare the spec adapted to the model's input, add `--input {'x'.join(map(str, shape.shape))}`",
        )
    return diag.Diagnostic(
        "P601", f"{model_name} departs from the spec at {place}: {detail}", span, help_text, notes=notes
    )


def _span(piece: Piece | None, side: Side, chain: Sequence[Piece]) -> Span | None:
    if piece is None:  # the model goes on after the spec ends: the spec's last layer
        piece = chain[-1] if chain else None
    if piece is None:
        return None
    main = piece.node if isinstance(piece, Branching) else piece.nodes[0]
    return side.graph.nodes[main].span


def _place(piece: Piece | None, block: Branching | None, side: Side) -> str:
    """Where in the spec: the block (`conv3_x block1`) or the layer's name."""
    if piece is None:
        return "the end of the spec"
    main = piece.node if isinstance(piece, Branching) else piece.nodes[0]
    node = side.graph.nodes[main]
    if node.scope:
        return " ".join(node.scope)
    if block is not None and side.graph.nodes[block.node].scope:
        return " ".join(side.graph.nodes[block.node].scope)
    return node.name


def _describe(piece: Piece | None, side: Side, whose: str) -> str:
    """`conv3-128/2 bn relu → 28×28×128`: the layer as the notation writes it, with what follows it."""
    if piece is None:
        return f"nothing ({whose} ends before it)"
    if isinstance(piece, Branching):
        nodes = [side.graph.nodes[i] for i in (piece.node, *piece.after)]
        words = [f"{ir.kind_of(nodes[0])} of {len(piece.branches)} branches"]
    else:
        nodes = [side.graph.nodes[i] for i in piece.nodes]
        words = [ir.describe(nodes[0])]
        activation = getattr(nodes[0], "activation", ir.LINEAR)
        if not isinstance(nodes[0], ir.ActivationLayer) and activation != ir.LINEAR:
            words.append(activation.describe())
    for node in nodes[1:]:
        words.append("bn" if isinstance(node, ir.BatchNorm) else node.activation.describe())  # type: ignore[union-attr]
    shape = "?" if piece.shape is None else dims(piece.shape)
    return " ".join(words) + f" → {shape}"


def _origin(piece: Piece | None, side: Side) -> str:
    if piece is None:
        return ""
    found = [side.where[n] for n in piece.nodes if n in side.where]
    return f" (Keras layers {', '.join(dict.fromkeys(found))})" if found else ""


def _strided(block: Branching | None, side: Side) -> dict[int, int]:
    """Stride → how many convs in the block use it."""
    counts: dict[int, int] = {}
    if block is None:
        return counts
    for index in block.nodes:
        node = side.graph.nodes[index]
        if isinstance(node, ir.Conv2D | ir.DepthwiseConv2D) and node.strides != (1, 1):
            counts[node.strides[0]] = counts.get(node.strides[0], 0) + 1
    return counts


def _stride_difference(found: _Divergence, spec: Side, model: Side) -> str | None:
    ours, theirs = _strided(found.spec_block, spec), _strided(found.model_block, model)
    for stride in sorted(set(ours) | set(theirs)):
        mine, other = ours.get(stride, 0), theirs.get(stride, 0)
        if mine != other:
            return f"{other} stride-{stride} conv{'s' if other != 1 else ''} where the spec has {mine}"
    return None


def _in_head(
    found: _Divergence, spec: Side, spec_chain: Sequence[Piece], model: Side, model_chain: Sequence[Piece]
) -> bool:
    """From the spec's last FC on, a different layer is a different head, as adaptation makes."""
    head = _head_start(spec_chain, spec)
    model_head = _head_start(model_chain, model)
    return head is not None and model_head is not None and found.position >= head and found.position >= model_head


def _head_start(chain: Sequence[Piece], side: Side) -> int | None:
    dense = [
        i
        for i, piece in enumerate(chain)
        if isinstance(piece, Unit) and isinstance(side.graph.nodes[piece.nodes[0]], ir.Dense)
    ]
    return dense[-1] if dense else None


# ---- stages side by side ---------------------------------------------------------------------------


def _stage_of(piece: Piece, side: Side) -> str:
    main = piece.node if isinstance(piece, Branching) else piece.nodes[0]
    node = side.graph.nodes[main]
    return node.scope[0] if node.scope else node.name


def _figures(piece: Piece, side: Side) -> tuple[int, int]:
    indices = piece.nodes
    layers = side.inference.layers
    return sum(layers[i].params for i in indices), sum(layers[i].macs for i in indices)


def _stages(spec_chain: Sequence[Piece], model_chain: Sequence[Piece], spec: Side, model: Side) -> list[StageRow]:
    """The spec's stages in order, each with the model's pieces aligned to it."""
    owner = [_stage_of(piece, spec) for piece in spec_chain]
    model_owner: list[int | None] = [None] * len(model_chain)
    keys_a = [piece.signature[:1] for piece in spec_chain]
    keys_b = [piece.signature[:1] for piece in model_chain]
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=keys_a, b=keys_b, autojunk=False).get_opcodes():
        for offset, j in enumerate(range(j1, j2)):
            if tag in ("equal", "replace"):
                model_owner[j] = min(i1 + offset, i2 - 1) if i2 > i1 else max(i1 - 1, 0)
            else:  # the model's own pieces go with the spec's piece before them
                model_owner[j] = max(i1 - 1, 0)
    rows: dict[str, list[int]] = {}
    for index, piece in enumerate(spec_chain):
        params, macs = _figures(piece, spec)
        row = rows.setdefault(owner[index], [0, 0, 0, 0])
        row[0] += params
        row[2] += macs
    for j, piece in enumerate(model_chain):
        params, macs = _figures(piece, model)
        target = owner[model_owner[j] or 0] if spec_chain else "model"
        row = rows.setdefault(target, [0, 0, 0, 0])
        row[1] += params
        row[3] += macs
    unaccounted = _unaccounted(spec, spec_chain), _unaccounted(model, model_chain)
    if any(figure for figures in unaccounted for figure in figures):
        row = rows.setdefault("other", [0, 0, 0, 0])
        row[0] += unaccounted[0][0]
        row[2] += unaccounted[0][1]
        row[1] += unaccounted[1][0]
        row[3] += unaccounted[1][1]
    return [StageRow(name, a, b, c, d) for name, (a, b, c, d) in rows.items() if (a, b, c, d) != (0, 0, 0, 0)]


def _unaccounted(side: Side, chain: Sequence[Piece]) -> tuple[int, int]:
    """Figures of layers that are not in any piece (none have parameters today; kept so totals add up)."""
    covered = {n for piece in chain for n in piece.nodes}
    layers = side.inference.layers
    rest = [i for i in range(len(side.graph.nodes)) if i not in covered]
    return sum(layers[i].params for i in rest), sum(layers[i].macs for i in rest)
