"""Stage 4, check: what the paper's table declares, against what the architecture implies.

Every claim becomes one row of a reconciliation: per-layer output sizes (`-> 55×55×96`),
params (`params 34,944`) and ops (`ops 105M`), and totals (`total params 138M`), each with
the declared figure, the inferred one and a verdict. Rounded figures are compared within
their printed precision: `138M` matches anything from 137.5M to 138.5M. A `K`, `M` or `G`
may mean 1000 or 1024; a figure that only fits 1024 holds, and its row says so.

`FLOPs` follow the spec's convention (`defaults: flops: multiply-adds` or
`flops: 2 multiply-adds`); where the spec is silent they are taken as multiply-adds, as the
ResNet and GoogLeNet papers use the word, and the row says so.

For each row that does not hold, the check searches the small space of things papers leave
unstated or count differently — padding, stride, rounding, bias on or off, batch norm as 2C
or 4C, grouped or not, K = 1000 or 1024, FLOPs as one or two per multiply-add, a layer
dropped or counted twice — and offers the candidates that make the row consistent, fewest
changes first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from math import prod
from typing import Literal

from papernet import ir, shapes, solve
from papernet.diagnostics import Diagnostic, Severity
from papernet.infer import Inference, LayerInfo, dims, stored_activations
from papernet.ir import Graph, Node, Origin, Quantity
from papernet.span import Span

Verdict = Literal["holds", "fails", "unknown"]


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """One claim of the table, reconciled."""

    span: Span
    layer: str  # `conv1 (conv11-96/4)`, or `network` for a total
    quantity: str  # output, params, ops (or the word the table uses: FLOPs, mult-adds), total params, …
    declared: str  # as printed
    inferred: str  # what the architecture gives, in the claim's form, as papernet counts it
    verdict: Verdict
    note: str = ""  # `K = 1024`, `FLOPs taken as multiply-adds`, …
    counted: str = ""  # a params figure as the table counts it (`509,440 (497.5K)`), where it counts otherwise


@dataclass(frozen=True, slots=True)
class Inferred:
    """A value the spec left unstated and the table pinned down (see `papernet.solve`)."""

    span: Span
    layer: str
    value: str  # `padding same`, `pad 1`, `stride 2, pad 3`


@dataclass(frozen=True, slots=True)
class Reconciliation:
    rows: tuple[ClaimRow, ...]
    diagnostics: tuple[Diagnostic, ...]
    inferred: tuple[Inferred, ...] = ()
    reading: TableReading | None = None  # how the table counts and rounds; None without params or ops claims
    superseded: tuple[Diagnostic, ...] = ()  # the inference's shape errors that `diagnostics` restate with better help
    closing: tuple[Diagnostic, ...] = ()  # notes about the whole spec, shown after the positioned diagnostics

    @property
    def holds(self) -> bool:
        return all(row.verdict == "holds" for row in self.rows)

    def verdict(self) -> str:
        """`this table counts weights without biases, K = 1024: 3 of 12 params figures hold under
        it; 29 of 42 claims hold; 13 fail (lines 14, 18, …)`."""
        count = len(self.rows)
        if not count:
            return "no claims to check"
        held = sum(row.verdict == "holds" for row in self.rows)
        failed = sorted({row.span.line for row in self.rows if row.verdict == "fails"})
        unknown = sum(row.verdict == "unknown" for row in self.rows)
        text = f"the claim {'holds' if held else 'fails'}" if count == 1 else f"{held} of {count} claims hold"
        if failed and count > 1:
            text += f"; {count - held - unknown} fail"
        if failed:
            lines = ", ".join(map(str, failed[:12])) + (", …" if len(failed) > 12 else "")
            text += f" (line{'s' if len(failed) > 1 else ''} {lines})"
        if unknown:
            text += f"; {unknown} cannot be checked: their input is unknown"
        convention = self.reading.sentence() if self.reading is not None else ""
        return f"{convention}; {text}" if convention else text

    def __repr__(self) -> str:
        return f"<Reconciliation: {self.verdict()}>"

    def __str__(self) -> str:
        """The reconciliation as `papernet check` prints it."""
        from papernet.report import reconciliation_text

        return reconciliation_text("", self.rows[0].span.file if self.rows else "", self)

    def _repr_html_(self) -> str:
        from papernet.diagnostics import preformatted_html

        return preformatted_html(str(self), "papernet-reconciliation")


def check(graph: Graph, inference: Inference) -> list[Diagnostic]:
    """Diagnostics for every claim that the inferred network contradicts, then the notes about the whole spec."""
    reconciliation = reconcile(graph, inference)
    return [*reconciliation.diagnostics, *reconciliation.closing]


def reconcile(graph: Graph, inference: Inference) -> Reconciliation:
    """Every claim of `graph` against `inference`, with a diagnostic for each that fails."""
    explained = {d.span: d for d in inference.diagnostics if d.code == "P201"}
    extents = _extents(graph)
    spans = _span_index(graph)
    rows: list[ClaimRow] = []
    found: list[Diagnostic] = []
    claims: list[_Claim] = []
    for index, node in enumerate(graph.nodes):
        node_claims = node.claims
        if node_claims.shape is not None:
            row, problem = _shape_row(graph, inference, index, explained.get(node.span), spans)
            rows.append(row)
            found += problem
        for row, problem in _output_claims(graph, inference, index):
            rows.append(row)
            found += problem
        if node_claims.params is None and node_claims.ops is None:
            continue
        extent = range(node_claims.extent[0], node_claims.extent[1] + 1) if node_claims.extent else extents[node.span]
        subject = _subject(graph, [index])
        known = all(inference.layers[i].shape is not None for i in extent)
        counted = _Counted.of(graph, inference, extent)
        if node_claims.params is not None:
            claims.append(_Claim(node_claims.params, counted, "params", subject, known, False, tuple(extent)))
        if node_claims.ops is not None:
            claims.append(_Claim(node_claims.ops, counted, "ops", subject, known, False, tuple(extent)))
    all_known = bool(inference.layers) and all(layer.shape is not None for layer in inference.layers)
    everything = tuple(range(len(graph.nodes)))
    whole = (
        replace(_Counted.of(graph, inference, everything), variants=_residual_variants(graph, inference))
        if graph.totals
        else None
    )
    for total in graph.totals:
        assert whole is not None
        if total.kind != "memory":
            claims.append(_Claim(total.quantity, whole, total.kind, "network", all_known, True, everything))
    for total in graph.totals:
        if total.kind == "memory":
            row, problem = _total_memory_row(graph, inference, total.quantity, all_known)
            rows.append(row)
            found += problem
    shared = any(n.claims.params_share or n.claims.ops_share for n in graph.nodes)
    reading = _table_reading(claims, graph, _default_convention(inference)) if claims or shared else None
    if reading is not None:
        shares = _share_rows(graph, inference, reading)
        rows += [row for row, _ in shares]
        found += [d for _, problem in shares for d in problem]
        results = [_quantity_row(claim, reading, graph) for claim in claims]
        results = _other_padding_reading(graph, inference, claims, results, reading)
        wrong_sizes = [r for r in rows if r.verdict == "fails" and r.quantity == "output"]
        for row, problem in _totals_traced(claims, results, reading, graph, inference, wrong_sizes):
            rows.append(row)
            found += problem
    revised, superseded = _revised_shape_errors(graph, inference, spans)
    found += revised
    closing = tuple(_assumed_padding_note(graph, inference))
    rows.sort(key=lambda row: (row.span.file, row.span.line, row.span.column))
    return Reconciliation(tuple(rows), tuple(found), _inferred(graph), reading, superseded, closing)


def _inferred(graph: Graph) -> tuple[Inferred, ...]:
    return tuple(
        Inferred(node.span, ir.describe(node), value)
        for node in graph.nodes
        if (value := solve.inferred(node)) is not None
    )


# ---- output sizes -----------------------------------------------------------------


def _shape_row(
    graph: Graph, inference: Inference, index: int, not_integer: Diagnostic | None, spans: _SpanIndex
) -> tuple[ClaimRow, list[Diagnostic]]:
    node, info = graph.nodes[index], inference.layers[index]
    declared = node.claims.shape
    assert declared is not None
    span = node.claims.shape_span or node.span
    subject = _subject(graph, [index])
    declared_text = dims(declared)
    if info.shape is None:
        return ClaimRow(span, subject, "output", declared_text, "unknown", "unknown"), []
    if not_integer is not None:
        inferred = _unrounded(graph, inference, index) or dims(info.shape)
        note = f"not an integer; later rows continue from the declared {declared_text}"
        return ClaimRow(span, subject, "output", declared_text, inferred, "fails", note), []
    if len(declared) == 1 and len(info.shape) == 3:
        return _element_count_row(node, info.shape, span, subject)
    comparable = _comparable(info.shape, declared)
    if tuple(declared) == comparable:
        return ClaimRow(
            span, subject, "output", declared_text, dims(comparable), "holds", _inferred_note(graph, index)
        ), []
    message = f"{subject} is declared to give {declared_text}, but gives {dims(info.shape)}"
    note = f"later rows continue from the declared {declared_text}" if len(declared) == len(info.shape) else ""
    fixes = tuple(_shape_fixes(graph, inference, index, declared, spans))
    problem = Diagnostic("P301", message, span, fixes, notes=(note,) if note else ())
    return ClaimRow(span, subject, "output", declared_text, dims(comparable), "fails", note), [problem]


def _element_count_row(
    node: Node, shape: tuple[int, ...], span: Span, subject: str
) -> tuple[ClaimRow, list[Diagnostic]]:
    """A bare `-> 290400` on a layer with an H×W×C output: a count of its elements."""
    declared = node.claims.shape
    assert declared is not None
    count = prod(shape)
    arithmetic = f"{'·'.join(map(str, shape))} = {count:,}"
    if declared[0] == count:
        note = f"an element count: {arithmetic}"
        return ClaimRow(span, subject, "output", str(declared[0]), dims(shape), "holds", note), []
    message = f"{subject} is declared to give {declared[0]:,}, but its output {dims(shape)} holds {arithmetic} values"
    figure = Quantity(f"{declared[0]:,}", declared[0], "", 0, "neurons", span)
    problem = Diagnostic("P301", message, span, tuple(_count_help(figure, shape, False)))
    return ClaimRow(span, subject, "output", str(declared[0]), dims(shape), "fails"), [problem]


def _shape_fixes(
    graph: Graph, inference: Inference, index: int, declared: tuple[int, ...], spans: _SpanIndex
) -> list[str]:
    """The geometries of the row's conv or pool that give the declared size, and whether the
    row looks like a layer that the table dropped or counted twice."""
    position = solve.spatial_source(graph.nodes, index)
    if len(declared) < 2:
        return []
    if position is None:
        resized = _resize_fixes(graph, inference, index, (declared[0], declared[1]))
        return resized or _stride_missing(
            graph, inference, spans.first[graph.nodes[index].span], (declared[0], declared[1])
        )
    node = graph.nodes[position]
    assert isinstance(node, solve.Spatial)
    source = _flow_shape(graph, inference, node.inputs[0])
    if source is None or len(source) != 3:
        return []
    size, target = (source[0], source[1]), (declared[0], declared[1])
    fixes: list[solve.Geometry] = []
    found = solve.fitting(node, size, target, any_rounding=True, any_stride=True)
    kept_padding = sorted(found, key=lambda g: (g.strides != node.strides) + (g.padding != node.padding))
    for geometry in kept_padding:  # fewest changes first: a stride typo keeps the layer's padding
        if not any(solve.equivalent(node, geometry, earlier) for earlier in fixes):
            fixes.append(geometry)
            if len(fixes) == 3:  # as many as the help names
                break
    lines = []
    if fixes:
        lines.append(f"{dims(target)} comes from {'; or '.join(g.describe(node) for g in fixes[:3])}")
    lines += _kernel_fixes(node, size, target)
    if isinstance(graph.nodes[node.inputs[0]], ir.Input):
        lines += _input_fix(node, source, target)
    as_stated = solve.Geometry.of(node)
    once = solve.output_size(node, as_stated, size)
    if target == size and not fixes:
        lines.append(f"{dims(target)} is this layer's input: is the layer in the table twice, or its size a typo?")
    elif once is not None and solve.output_size(node, as_stated, once) == target:
        lines.append(f"{dims(target)} is what two of these layers give: has the spec dropped one?")
    return lines


def _input_fix(node: solve.Spatial, source: tuple[int, ...], target: tuple[int, int]) -> list[str]:
    """For the network's first layer: the input size that gives the declared size exactly, with
    the layer's padding as stated (or none where it was assumed): ZFNet's 224 → 110 is 225."""
    if isinstance(node, ir.Conv2DTranspose):
        return []
    padding = node.padding if node.origin("padding") is not Origin.ASSUMED else "valid"
    if padding == "same":
        return []
    pads = ((0, 0), (0, 0)) if padding == "valid" else padding
    dilation = solve.dilation_of(node)
    window = solve.window_of(node)
    kernel = [shapes.effective_kernel(window[axis], dilation[axis]) for axis in (0, 1)]
    size = tuple((target[axis] - 1) * node.strides[axis] + kernel[axis] - sum(pads[axis]) for axis in (0, 1))
    if min(size) < 1 or size == source[:2]:
        return []
    geometry = solve.Geometry(pads, node.strides, "exact")
    return [f"or input {dims((*size, *source[2:]))}: with {geometry.describe(node)} it gives {dims(target)} exactly"]


def _resize_fixes(graph: Graph, inference: Inference, index: int, target: tuple[int, int]) -> list[str]:
    """The crop or upsampling factor that gives a crop's or an upsampling's declared size."""
    node = graph.nodes[index]
    if not isinstance(node, ir.Crop2D | ir.UpSample2D) or not node.inputs:
        return []
    source = _flow_shape(graph, inference, node.inputs[0])
    if source is None or len(source) != 3 or min(source[:2]) < 1:  # a declared 0×0 the rows continue from
        return []
    size = (source[0], source[1])
    if isinstance(node, ir.UpSample2D):
        if any(target[axis] % size[axis] for axis in (0, 1)):
            return [f"no whole upsampling factor takes {dims(size)} to {dims(target)}"]
        factors = (target[0] // size[0], target[1] // size[1])
        written = str(factors[0]) if factors[0] == factors[1] else f"{factors[0]}x{factors[1]}"
        return [f"{dims(target)} is {dims(size)} upsampled by {dims(factors)}: `upsample {written}`"]
    removed = (size[0] - target[0], size[1] - target[1])
    if min(removed) < 0:
        return [f"a crop cannot grow {dims(size)} to {dims(target)}"]
    sides = [(r // 2, r - r // 2) for r in removed]
    if sides[0][0] == sides[0][1] == sides[1][0] == sides[1][1]:
        written = str(sides[0][0])
    elif sides[0][0] == sides[0][1] and sides[1][0] == sides[1][1]:
        written = f"{sides[0][0]}x{sides[1][0]}"
    else:
        written = f"{sides[0][0]}x{sides[0][1]}x{sides[1][0]}x{sides[1][1]}"
    arithmetic = f"{size[0]} − {target[0]} = {removed[0]}" + (
        "" if removed[0] == removed[1] else f", {size[1]} − {target[1]} = {removed[1]}"
    )
    return [f"{dims(target)} is {dims(size)} cropped by {arithmetic}: `crop {written}`"]


@dataclass(frozen=True)
class _SpanIndex:
    """Where each span's nodes are: a row repeated ×10,000 is 10,000 nodes at one span, and the
    fixes for it are found from its first (searching the nodes per diagnostic was quadratic)."""

    first: dict[Span | None, int]
    first_spatial: dict[Span | None, int]
    declared: dict[Span | None, tuple[int, ...]]  # the first declared shape at each span


def _span_index(graph: Graph) -> _SpanIndex:
    index = _SpanIndex({}, {}, {})
    for position, node in enumerate(graph.nodes):
        index.first.setdefault(node.span, position)
        if isinstance(node, solve.Spatial):
            index.first_spatial.setdefault(node.span, position)
        if node.claims.shape is not None:
            index.declared.setdefault(node.span, node.claims.shape)
    return index


def _stride_missing(graph: Graph, inference: Inference, first: int, target: tuple[int, int]) -> list[str]:
    """A block or stage (ResNet's `conv3_x`) whose declared size is its input's, downsampled; `first`
    is the first node of the row's span."""
    if not graph.nodes[first].inputs:
        return []
    source = _flow_shape(graph, inference, graph.nodes[first].inputs[0])
    if source is None or len(source) != 3:
        return []
    for stride in range(2, solve.MAX_STRIDE + 1):
        if (-(-source[0] // stride), -(-source[1] // stride)) == target:
            return [
                f"{dims(target)} is its input {dims(source[:2])} downsampled by {stride}: is a `/{stride}` missing?"
            ]
    return []


def _pool_padding_fits(geometry: solve.Geometry, window: int) -> bool:
    if isinstance(geometry.padding, str):
        return True
    return all(pad <= window // 2 for pair in geometry.padding for pad in pair)


def _kernel_fixes(node: solve.Spatial, size: tuple[int, int], target: tuple[int, int]) -> list[str]:
    """A window size that gives the declared size with the layer's stride and padding as they are."""
    window = solve.window_of(node)
    geometry = solve.Geometry.of(node)
    found = []
    sizes_papers_use = (2, 3) if isinstance(node, ir.Pool2D) else (1, 3, 5, 7, 9, 11)
    for k in sizes_papers_use:
        if (k, k) == window:
            continue
        other: solve.Spatial = (
            replace(node, pool_size=(k, k)) if isinstance(node, ir.Pool2D) else replace(node, kernel_size=(k, k))
        )
        if isinstance(node, ir.Pool2D) and not _pool_padding_fits(geometry, k):
            continue  # a pool padded past half its window is P208, no fix
        if solve.output_size(other, geometry, size) == target:
            found.append(k)
    if not found:
        return []
    sizes = " or ".join(f"{k}×{k}" for k in found[:2])
    word = "window" if isinstance(node, ir.Pool2D) else "kernel"
    return [
        f"a {sizes} {word} gives {dims(target)} with the {geometry.describe(node)} as it is: is the {word} size a typo?"
    ]


# ---- shape errors: the padding first where it was assumed ---------------------------


def _revised_shape_errors(
    graph: Graph, inference: Inference, index: _SpanIndex
) -> tuple[list[Diagnostic], tuple[Diagnostic, ...]]:
    """The inference's P201 (not an integer) and P203 (window larger than its input), with help
    that offers the padding first where it was assumed, a stride or kernel that gives the row's
    declared size, and an input size only for a layer whose input is the network's input."""
    revised: list[Diagnostic] = []
    superseded: list[Diagnostic] = []
    helps: dict[tuple[int, str, tuple[str, ...]], tuple[str, ...] | None] = {}  # a repeated row's: found once
    for diagnostic in inference.diagnostics:
        if diagnostic.code not in ("P201", "P203"):
            continue
        position = index.first_spatial.get(diagnostic.span)
        if position is None:
            continue
        key = (position, diagnostic.code, diagnostic.help)
        if key not in helps:
            helps[key] = _revised_help(graph, inference, position, diagnostic, index.declared.get(diagnostic.span))
        help_lines = helps[key]
        if help_lines is not None and help_lines != diagnostic.help:
            superseded.append(diagnostic)
            revised.append(replace(diagnostic, help=help_lines))
    return revised, tuple(superseded)


def _revised_help(
    graph: Graph, inference: Inference, position: int, diagnostic: Diagnostic, declared: tuple[int, ...] | None
) -> tuple[str, ...] | None:
    """The help for a P201/P203 at the spatial layer `position`; None where its input's size is unknown."""
    node = graph.nodes[position]
    assert isinstance(node, solve.Spatial)
    source = _flow_shape(graph, inference, node.inputs[0])
    if source is None or len(source) != 3:
        return None
    return _geometry_help(graph, node, (source[0], source[1]), diagnostic, declared)


def _geometry_help(
    graph: Graph,
    node: solve.Spatial,
    size: tuple[int, int],
    diagnostic: Diagnostic,
    declared: tuple[int, ...] | None,
) -> tuple[str, ...]:
    target = (declared[0], declared[1]) if declared is not None and len(declared) >= 2 else None
    lines: list[str] = []
    if node.origin("padding") is Origin.ASSUMED:
        lines += _padding_fix(node, size, target)
    from_input = isinstance(graph.nodes[node.inputs[0]], ir.Input)
    if from_input or diagnostic.code == "P203":
        lines += diagnostic.help
    if target is not None and diagnostic.code == "P201":
        strides = [
            s
            for s in range(1, solve.MAX_STRIDE + 1)
            if (s, s) != node.strides
            and solve.output_size(node, solve.Geometry(node.padding, (s, s), "exact"), size) == target
        ]
        if strides:
            lines.append(f"`stride {strides[0]}` gives the declared {dims(target)}: is the stride a typo?")
        lines += _kernel_fixes(node, size, target)
    if not from_input and diagnostic.code == "P201":
        lines += _inner_rounding_fixes(node, size, target, diagnostic)
    return tuple(dict.fromkeys(lines))


def _padding_fix(node: solve.Spatial, size: tuple[int, int], target: tuple[int, int] | None) -> list[str]:
    """`the padding was assumed (papernet's default, padding valid): padding same gives 56×56`."""
    current = solve.Geometry.of(node)
    window = solve.window_of(node)
    first = max(1, (max(window) - min(size) + 1) // 2)  # less padding leaves the window wider than its input
    options: list[ir.Padding] = ["same", "valid", *(((p, p), (p, p)) for p in range(first, max(window) // 2 + 1))]
    for padding in options:
        if padding == node.padding or (
            target is not None and not solve.can_give(node, padding, node.strides, size, target)
        ):
            continue
        out = solve.output_size(node, solve.Geometry(padding, node.strides, solve.rounding_of(node)), size)
        if out is not None and (target is None or out == target):
            geometry = solve.Geometry(padding, node.strides, solve.rounding_of(node))
            return [
                f"the padding was assumed (`{current.describe(node)}`, papernet's default): "
                f"`{geometry.describe(node)}` gives {dims(out)}"
            ]
    return []


def _inner_rounding_fixes(
    node: solve.Spatial, size: tuple[int, int], target: tuple[int, int] | None, diagnostic: Diagnostic
) -> list[str]:
    """For a layer inside the network, whose input the rows above fix: paddings and roundings, never an input size."""
    if target is None:
        return [line for line in diagnostic.help if not line.startswith("input ")]
    same_stride = [
        g for g in solve.fitting(node, size, target, any_rounding=True, any_stride=True) if g.strides == node.strides
    ]
    if not same_stride:
        return [f"no padding or rounding of {dims(size)} gives the declared {dims(target)}"]
    return [f"the declared {dims(target)} comes from {'; or '.join(g.describe(node) for g in same_stride[:2])}"]


def _assumed_padding_note(graph: Graph, inference: Inference) -> list[Diagnostic]:
    """One note: how many layers rest on an assumed padding that changes their size (same ≠
    valid there) with no declared size to pin it, and the `defaults:` line for the other reading."""
    resting: list[solve.Spatial] = []
    positions: list[int] = []
    declared = {n.span for n in graph.nodes if n.claims.shape is not None}
    for position, node in enumerate(graph.nodes):
        if not isinstance(node, solve.Spatial) or node.origin("padding") is not Origin.ASSUMED or node.span in declared:
            continue
        source = inference.layers[node.inputs[0]].shape
        if source is None or len(source) != 3:
            continue
        size = (source[0], source[1])
        same = solve.output_size(node, solve.Geometry("same", node.strides, "exact"), size)
        valid = solve.output_size(node, solve.Geometry("valid", node.strides, "floor"), size)
        if same != valid:
            resting.append(node)
            positions.append(position)
    if not resting:
        return []
    assumed = resting[0].padding
    value = assumed if isinstance(assumed, str) else solve.Geometry.of(resting[0]).describe(resting[0])
    other: Literal["same", "valid"] = "valid" if assumed == "same" else "same"
    if _other_reading_breaks(graph, inference, _repadded(graph, positions, other)):
        return []
    kinds = list(dict.fromkeys(_defaults_kind(n) for n in resting))
    lines = " and ".join(f"`{kind}: padding {other}`" for kind in kinds)
    count = len(resting)
    message = (
        f"{count} layer{'s rest' if count > 1 else ' rests'} on the assumed `padding {value}`, which changes "
        f"{'their' if count > 1 else 'its'} output size, and no declared size pins it"
    )
    reading = "unpadded layers (the AlexNet/LeNet reading)" if other == "valid" else "size-preserving layers"
    help_text = f"if the paper means {reading}, write under `defaults:` {lines}"
    return [Diagnostic("P312", message, resting[0].span, (help_text,), Severity.NOTE)]


def _repadded(graph: Graph, positions: Sequence[int], padding: Literal["same", "valid"]) -> Graph:
    """The graph with the convs and pools at `positions` padded `padding`: the other reading of
    an assumed padding, as the `defaults:` line that states it would give."""
    nodes = list(graph.nodes)
    for position in positions:
        node = nodes[position]
        assert isinstance(node, solve.Spatial)
        nodes[position] = replace(node, padding=padding)
    return replace(graph, nodes=tuple(nodes))


def _other_reading_breaks(graph: Graph, inference: Inference, other: Graph) -> bool:
    """Whether the other reading would break what holds now: a shape that no longer infers
    (SqueezeNet's fire module: an unpadded 3×3 beside a 1×1 cannot be concatenated) or a
    declared size that no longer holds. Then the assumption is pinned after all."""
    from papernet.infer import infer

    again = infer(other, inference.convention)
    for node, before, after in zip(graph.nodes, inference.layers, again.layers, strict=True):
        if before.shape is not None and after.shape is None:
            return True
        declared = node.claims.shape
        if declared is not None and before.shape == declared and after.shape != declared:
            return True
    return False


def _defaults_kind(node: solve.Spatial) -> str:
    if isinstance(node, ir.Pool2D):
        return f"{node.op}pool"
    return "conv"


def _unrounded(graph: Graph, inference: Inference, index: int) -> str | None:
    """`54.25×54.25×96`: the size the paper's formula gives, before any rounding."""
    position = solve.spatial_source(graph.nodes, index)
    info = inference.layers[index]
    if position is None or info.shape is None:
        return None
    node = graph.nodes[position]
    source = _flow_shape(graph, inference, node.inputs[0])
    if not isinstance(node, solve.Spatial) or source is None or len(source) != 3:
        return None
    sizes = solve.unrounded_size(node, (source[0], source[1]))
    if sizes is None:
        return None
    return "×".join([*(f"{float(v):g}" for v in sizes), *map(str, info.shape[2:])])


def _flow_shape(graph: Graph, inference: Inference, index: int) -> tuple[int, ...] | None:
    """The shape node `index` passes on: its declared shape where the table gives one."""
    declared = graph.nodes[index].claims.shape
    shape = inference.layers[index].shape
    if declared is not None and shape is not None and len(declared) == len(shape):
        return declared
    return shape


def _inferred_note(graph: Graph, index: int) -> str:
    position = solve.spatial_source(graph.nodes, index)
    if position is None:
        return ""
    node = graph.nodes[position]
    value = solve.inferred(node)
    if value is None:
        return ""
    assert isinstance(node, solve.Spatial)
    odd = not solve.padding_papers_use(node, solve.Geometry.of(node))
    return f"with {value}, inferred from the table" + (": no paper pads so; is the size misprinted?" if odd else "")


# ---- neurons, memory, shares -------------------------------------------------------


def _output_claims(graph: Graph, inference: Inference, index: int) -> list[tuple[ClaimRow, list[Diagnostic]]]:
    """`neurons N` and `memory N` on a row: what its output holds (H·W·C values)."""
    node, info = graph.nodes[index], inference.layers[index]
    if node.claims.neurons is None and node.claims.memory is None:
        return []  # most rows: and naming the row is the costly part
    out: list[tuple[ClaimRow, list[Diagnostic]]] = []
    subject = _subject(graph, [index])
    for quantity, what in ((node.claims.neurons, "neurons"), (node.claims.memory, "memory")):
        if quantity is None:
            continue
        if info.shape is None:
            out.append((ClaimRow(quantity.span, subject, what, quantity.text, "unknown", "unknown"), []))
            continue
        values = prod(info.shape)
        bytes_ = quantity.keyword == "memory bytes"
        actual = values * 4 if bytes_ else values
        inferred = f"{actual:,}"
        arithmetic = f"{'·'.join(map(str, info.shape))} = {values:,}"
        holds, note = _memory_fits(quantity, actual, bytes_)
        if holds:
            out.append((ClaimRow(quantity.span, subject, what, quantity.text, inferred, "holds", note), []))
            continue
        unit = "bytes at 4 a value" if bytes_ else "values" if what == "memory" else "neurons"
        message = f"{subject}'s output {dims(info.shape)} holds {arithmetic} {unit if not bytes_ else 'values'}"
        message += f" ({actual:,} {unit})" if bytes_ else ""
        message += f", not {quantity.text}"
        help_lines = _count_help(quantity, info.shape, bytes_)
        code = "P306" if what == "neurons" else "P307"
        problem = Diagnostic(code, message, quantity.span, tuple(help_lines))
        out.append((ClaimRow(quantity.span, subject, what, quantity.text, inferred, "fails"), [problem]))
    return out


def _memory_fits(quantity: Quantity, actual: int, bytes_: bool) -> tuple[bool, str]:
    per_value = "4 bytes a value" if bytes_ else ""
    if fits(quantity, actual):
        return True, per_value
    if bytes_ and quantity.unit and fits(quantity, actual, 1024):
        return True, f"4 bytes a value, {quantity.unit}B = {_power_text(quantity)} bytes"
    if loose := _significant_figures(quantity, actual, 1000):
        return True, _join(per_value, loose)
    return False, ""


def _count_help(quantity: Quantity, shape: tuple[int, ...], bytes_: bool) -> list[str]:
    """What output the printed count would need, and a misprint of the figure's digits."""
    printed = round(quantity.value / (4 if bytes_ else 1))
    lines = []
    if len(shape) == 3 and printed % shape[2] == 0:
        per_channel = printed // shape[2]
        side = round(per_channel**0.5)
        if side * side == per_channel:
            lines.append(f"{quantity.text} is what a {side}×{side}×{shape[2]} output holds")
        else:
            lines.append(f"{quantity.text} is {per_channel:,} values per channel, not a square: no H×H output gives it")
    lines += _transposed(quantity, prod(shape) * (4 if bytes_ else 1))
    return lines


def _transposed(quantity: Quantity, actual: int, scale: float = 1.0) -> list[str]:
    """`1.19%` for 1.91%: two adjacent digits of the printed figure swapped."""
    digits = re.sub(r"[^\d]", "", quantity.text)
    text = quantity.text
    for i in range(len(digits) - 1):
        if digits[i] == digits[i + 1]:
            continue
        swapped_digits = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        swapped = _with_digits(text, swapped_digits)
        value = float(re.sub(r"[^\d.]", "", swapped)) * (quantity.value / float(re.sub(r"[^\d.]", "", text)))
        candidate = replace(quantity, text=swapped, value=value)
        if fits(candidate, round(actual * scale)):
            return [f"{swapped} fits: are two digits of {text} swapped?"]
    return []


def _with_digits(text: str, digits: str) -> str:
    out, position = [], 0
    for char in text:
        if char.isdigit():
            out.append(digits[position])
            position += 1
        else:
            out.append(char)
    return "".join(out)


def _total_memory_row(
    graph: Graph, inference: Inference, quantity: Quantity, known: bool
) -> tuple[ClaimRow, list[Diagnostic]]:
    label = "total memory"
    if not known:
        return ClaimRow(quantity.span, "network", label, quantity.text, "unknown", "unknown"), []
    values = sum(stored_activations(graph, inference))
    bytes_ = quantity.keyword == "memory bytes"
    actual = values * 4 if bytes_ else values
    holds, note = _memory_fits(quantity, actual, bytes_)
    note = _join("the input and every layer's output, per image", note)
    if holds:
        return ClaimRow(quantity.span, "network", label, quantity.text, f"{actual:,}", "holds", note), []
    stored = f"{values:,} activation values per image ({_in_unit(values, quantity)})"
    message = f"the network stores {stored}" + (f", {actual:,} bytes at 4 a value" if bytes_ else "")
    message += f", not {quantity.text}"
    help_lines = [
        "counted as cs231n counts memory: the input and every layer's output; "
        "activations, dropout and batch norm work in place, flatten and reshape are views"
    ]
    column = [n.claims.memory for n in graph.nodes if n.claims.memory is not None]
    printed = [q.value * (1 if q.keyword == "memory bytes" else 4 if bytes_ else 1) for q in column]
    if len(column) >= 2 and all((q.keyword == "memory bytes") == bytes_ for q in column):
        summed = round(sum(printed))
        help_lines.append(
            f"the table's own memory column sums to {summed:,} ({_in_unit(summed, quantity)}"
            f"{'B' if bytes_ else ''}), without the input's {prod(inference.layers[0].shape or ()):,}"
        )
    if bytes_ and quantity.unit:
        binary = f"{_in_unit(actual, quantity, 1024)}B with {quantity.unit}B = {_power_text(quantity)} bytes"
        help_lines.append(f"that is {_in_unit(actual, quantity)}B, or {binary}")
    problem = Diagnostic("P308", message, quantity.span, tuple(help_lines))
    return ClaimRow(quantity.span, "network", label, quantity.text, f"{actual:,}", "fails", note), [problem]


def _share_rows(graph: Graph, inference: Inference, reading: TableReading) -> list[tuple[ClaimRow, list[Diagnostic]]]:
    """`ops 1.19%`, `params 0.02%`: the row's share of the network's total."""
    out: list[tuple[ClaimRow, list[Diagnostic]]] = []
    extents = _extents(graph)
    known = all(layer.shape is not None for layer in inference.layers)
    whole = _Counted.of(graph, inference, range(len(graph.nodes)))
    for index, node in enumerate(graph.nodes):
        for quantity, kind in ((node.claims.params_share, "params"), (node.claims.ops_share, "ops")):
            if quantity is None:
                continue
            subject = _subject(graph, [index])
            label = f"{'params' if kind == 'params' else quantity.keyword} share"
            if not known:
                out.append((ClaimRow(quantity.span, subject, label, quantity.text, "unknown", "unknown"), []))
                continue
            extent = (
                range(node.claims.extent[0], node.claims.extent[1] + 1) if node.claims.extent else extents[node.span]
            )
            counted = _Counted.of(graph, inference, extent)
            part, total = (
                (reading.convention.count(counted), reading.convention.count(whole))
                if kind == "params"
                else (counted.macs, whole.macs)
            )
            share = 100 * part / total if total else 0.0
            shown = f"{share:.{quantity.decimals + 1}f}%"
            step = 10.0**-quantity.decimals
            if abs(share - quantity.value) <= step / 2 + 1e-9:
                out.append((ClaimRow(quantity.span, subject, label, quantity.text, shown, "holds"), []))
                continue
            what = "parameters" if kind == "params" else "multiply-adds"
            message = f"{subject} has {shown} of the network's {what} ({part:,} of {total:,}), not {quantity.text}"
            swapped = _swapped_share(quantity, share)
            help_lines = [swapped] if swapped else []
            problem = Diagnostic("P309", message, quantity.span, tuple(help_lines))
            out.append((ClaimRow(quantity.span, subject, label, quantity.text, shown, "fails"), [problem]))
    return out


def _swapped_share(quantity: Quantity, share: float) -> str:
    digits = re.sub(r"\D", "", quantity.text)
    step = 10.0**-quantity.decimals
    for i in range(len(digits) - 1):
        if digits[i] == digits[i + 1]:
            continue
        swapped = _with_digits(quantity.text, digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :])
        if abs(float(swapped.rstrip("%")) - share) <= step / 2 + 1e-9:
            return f"{swapped} fits: are two digits of {quantity.text} swapped?"
    return ""


# ---- params and ops ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Counted:
    """A row's (or the network's) figures, and the parts that conventions count differently."""

    params: int
    macs: int
    biases: int  # parameters that are conv or FC biases
    missing_biases: int  # biases that layers without one would have
    bn_channels: int  # C summed over batch norms: counted as 4C (keras) or 2C (torch)
    bn_params: int  # what the inference counted for those batch norms
    bn_unlearnt: int  # C summed over each γ or β a batch norm does not learn (`scale off`: Inception v3)
    groupable: int  # weights of ungrouped convs with an even input depth (half of them go if grouped in 2)
    layers: tuple[tuple[str, int, int], ...]  # (the table's name, params, macs) per spec row
    variants: tuple[tuple[str, int, int], ...] = ()  # (a residual layout, params Δ, multiply-adds Δ), for totals

    @property
    def weights(self) -> int:
        return self.params - self.biases - self.bn_params

    @staticmethod
    def of(graph: Graph, inference: Inference, extent: Iterable[int]) -> _Counted:
        params = macs = biases = missing = bn = bn_params = unlearnt = groupable = 0
        rows: dict[Span, list[int]] = {}
        for i in extent:
            node, info = graph.nodes[i], inference.layers[i]
            params += info.params
            macs += info.macs
            rows.setdefault(node.span, [0, 0, i])
            rows[node.span][0] += info.params
            rows[node.span][1] += info.macs
            if isinstance(node, ir.Conv2D | ir.Dense | ir.DepthwiseConv2D):
                units = _units(node, info)
                biases += units if node.use_bias else 0
                missing += 0 if node.use_bias else units
            if isinstance(node, ir.BatchNorm) and info.shape is not None:
                bn += info.shape[-1]
                bn_params += info.params
                unlearnt += info.shape[-1] * ((not node.scale) + (not node.center))
            if isinstance(node, ir.Conv2D) and node.groups == 1 and info.shape is not None:
                groupable += info.params - (node.filters if node.use_bias else 0)
        layers = tuple((_subject(graph, [index]), p, m) for p, m, index in rows.values() if p or m)
        return _Counted(params, macs, biases, missing, bn, bn_params, unlearnt, groupable, layers)


def _residual_variants(graph: Graph, inference: Inference) -> tuple[tuple[str, int, int], ...]:
    """The residual layouts a paper's total may count instead of the spec's: the shortcut
    option (A, a zero-padded identity; B, a 1×1 projection where the shape changes) and where a
    bottleneck's stride sits (the first 1×1, as in the paper and Keras, or the 3×3, "v1.5")."""
    nodes, layers = graph.nodes, inference.layers
    found: list[tuple[str, int, int]] = []
    projections = [i for i, n in enumerate(nodes) if n.scope and n.name.endswith(("_0_conv", "_0_bn"))]
    if projections:
        params = sum(layers[i].params for i in projections)
        found.append(
            ("shortcut A (zero-padded identities, no projections)", -params, -sum(layers[i].macs for i in projections))
        )
    pads = [(i, n) for i, n in enumerate(nodes) if isinstance(n, ir.ShortcutPad)]
    if pads:
        params = macs = 0
        for i, node in pads:
            source, out = layers[node.inputs[0]].shape, layers[i].shape
            if source is None or out is None:
                return tuple(found)
            per_channel = 4 if inference.convention == "keras" else 2
            params += source[-1] * out[-1] + per_channel * out[-1]
            macs += out[0] * out[1] * source[-1] * out[-1]
        found.append(("shortcut B (1×1 projections where the shape changes)", params, macs))
    moved = 0
    for conv, info in zip(nodes, layers, strict=True):
        if isinstance(conv, ir.Conv2D) and conv.template == "bottleneck_block" and conv.name.endswith("_1_conv"):
            stride = conv.strides[0] * conv.strides[1]
            moved += info.macs * (stride - 1) if stride > 1 else 0
    if moved:
        found.append(("the stride on each bottleneck's 3×3 (v1.5)", 0, moved))
    first_convs = {n.name.removesuffix("_1_conv"): i for i, n in enumerate(nodes) if n.name.endswith("_1_conv")}
    saved = 0
    for middle in nodes:
        if isinstance(middle, ir.Conv2D) and middle.template == "bottleneck_block" and middle.name.endswith("_2_conv"):
            stride = middle.strides[0] * middle.strides[1]
            first = first_convs.get(middle.name.removesuffix("_2_conv"))
            if stride > 1 and first is not None:
                saved += layers[first].macs - layers[first].macs // stride
    if saved:
        found.append(("the stride on each bottleneck's first 1×1 (v1, as the paper)", 0, -saved))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Convention:
    """How a table counts parameters: biases or not, batch norm as 0, 2C or 4C, K = 1000 or 1024.
    `base` None: each figure as printed, 1000 or (with a note) 1024 — a table with one figure."""

    biases: bool = True
    batch_norm: int = 4
    base: int | None = 1000

    def count(self, counted: _Counted) -> int:
        batch_norm = self.batch_norm * counted.bn_channels - (counted.bn_unlearnt if self.batch_norm else 0)
        return counted.weights + (counted.biases if self.biases else 0) + batch_norm

    def describe(self, batch_norm: bool = False) -> str:
        """`weights without biases, K = 1024`, `weights and biases, batch norm as 4C, K = 1000`."""
        if not self.biases and (self.batch_norm == 0 or not batch_norm):
            words = "weights only" if batch_norm else "weights without biases"
        else:
            words = "weights and biases" if self.biases else "weights without biases"
            if batch_norm:
                words += ", batch norm not counted" if self.batch_norm == 0 else f", batch norm as {self.batch_norm}C"
        return words if self.base is None else f"{words}, K = {self.base}"


@dataclass(frozen=True, slots=True)
class TableReading:
    """How the table prints its figures, found from them (or stated in `defaults: params:`):
    one counting convention and one rounding for every row."""

    convention: Convention
    source: Literal["stated", "found", "default"]
    held: int = 0  # params figures that hold under the convention
    figures: int = 0  # params figures
    truncated: bool = False  # figures cut, not rounded (ResNet-50's 3.858×10⁹ printed 3.8)
    batch_norm: bool = False  # whether the table's rows have batch norms to count
    rounding_found: bool = False  # whether the table has figures enough to tell rounding from truncation

    def describe(self) -> str:
        return self.convention.describe(self.batch_norm)

    def sentence(self) -> str:
        """`this table counts weights without biases, K = 1024: 3 of 12 params figures hold under it`."""
        parts = []
        if self.source == "stated":
            parts.append(f"this table counts {self.describe()}, as its `defaults:` say")
        elif self.source == "found":
            held = f"{self.held} of {self.figures} params figures hold under it"
            parts.append(f"this table counts {self.describe()}: {held}")
        if self.truncated:
            parts.append("its figures are truncated, not rounded")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class _Claim:
    """A params or ops figure of the table, with what the architecture counts for it."""

    quantity: Quantity
    counted: _Counted
    kind: Literal["params", "ops"]
    subject: str
    known: bool
    total: bool
    extent: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Reading:
    """One way of counting: what it changes, and the figure it gives."""

    changes: tuple[str, ...]
    value: int
    base: int = 1000

    def describe(self, unit: str, usual: int = 1000) -> str:
        other = f"{unit} = {self.base}" if self.base != usual and unit else ""
        changes = [*self.changes] + ([other] if other else [])
        return " and ".join(changes)


def _default_convention(inference: Inference) -> Convention:
    return Convention(True, 4 if inference.convention == "keras" else 2, 1000)


def _value(claim: _Claim, reading: TableReading, graph: Graph) -> int:
    """The claim's figure as the table counts it."""
    if claim.kind == "params":
        return reading.convention.count(claim.counted)
    return claim.counted.macs * _flops_convention(claim.quantity, graph)[0]


def _table_reading(claims: list[_Claim], graph: Graph, default: Convention) -> TableReading:
    """The convention and rounding under which most of the table's figures hold, fewest
    departures from papernet's own count first; a stated `defaults: params:` line fixes what it says."""
    params = [c for c in claims if c.kind == "params" and c.known]
    batch_norm = any(c.counted.bn_channels for c in params)
    stated = graph.counting
    if stated is None and len(params) < 2:
        candidates = [replace(default, base=None)]
    else:
        given = stated or ir.Counting()
        other_bn = [default.batch_norm, 2 if default.batch_norm == 4 else 4, 0] if batch_norm else [default.batch_norm]
        units = any(c.quantity.unit for c in params)
        candidates = [
            Convention(biases, bn, base)
            for biases in ([given.biases] if given.biases is not None else [True, False])
            for bn in ([given.batch_norm] if given.batch_norm is not None else other_bn)
            for base in ([given.base] if given.base is not None else [1000, 1024] if units else [1000])
        ]
    known = [c for c in claims if c.known]

    def score(convention: Convention, truncated: bool) -> int:
        reading = TableReading(convention, "found", truncated=truncated)
        return sum(
            _fits_any(c.quantity, _value(c, reading, graph), convention.base if c.kind == "params" else 1000, truncated)
            for c in known
        )

    def departures(convention: Convention) -> int:
        return sum(
            (convention.biases != default.biases, convention.batch_norm != default.batch_norm, convention.base == 1024)
        )

    best, truncated = max(
        ((c, t) for t in (False, True) for c in candidates),
        key=lambda pair: (score(*pair), -departures(pair[0]), not pair[1]),
    )
    if score(best, True) == score(best, False) or len(known) < 2:
        truncated = False  # one figure cannot tell truncation from a wrong figure: a reading in its help
    held = sum(_fits_any(c.quantity, best.count(c.counted), best.base, truncated) for c in params)
    source: Literal["stated", "found", "default"] = (
        "stated"
        if stated is not None
        else "found"
        if replace(best, base=1000) != default or best.base == 1024
        else "default"
    )
    if best.base is None:
        source = "default"
    return TableReading(best, source, held, len(params), truncated, batch_norm, len(known) >= 2)


def _fits_any(quantity: Quantity, value: int, base: int | None, truncated: bool) -> bool:
    if base is None:
        return fits(quantity, value, truncated=truncated) or bool(
            quantity.unit and fits(quantity, value, 1024, truncated=truncated)
        )
    return fits(quantity, value, base, truncated=truncated)


def _quantity_row(claim: _Claim, reading: TableReading, graph: Graph) -> tuple[ClaimRow, list[Diagnostic]]:
    quantity, counted, kind, subject, total = claim.quantity, claim.counted, claim.kind, claim.subject, claim.total
    word = "params" if kind == "params" else quantity.keyword
    label = f"total {word}" if total else word
    if not claim.known:
        return ClaimRow(quantity.span, subject, label, quantity.text, "unknown", "unknown"), []
    factor, convention_note = _flops_convention(quantity, graph)
    papernets = counted.params if kind == "params" else counted.macs * factor
    actual = _value(claim, reading, graph)
    base = reading.convention.base if kind == "params" else 1000
    own = kind == "params" and reading.source != "default"
    as_counted = f"{actual:,} ({_in_unit(actual, quantity, base or 1000)})" if own else ""
    inferred = f"{papernets:,}"
    truncated = reading.truncated
    if fits(quantity, actual, base or 1000, truncated=truncated):
        note = _join(convention_note, _truncation_note(quantity, actual, base or 1000) if truncated else "")
        return ClaimRow(quantity.span, subject, label, quantity.text, inferred, "holds", note, as_counted), []
    if base is None and quantity.unit and fits(quantity, actual, 1024, truncated=truncated):
        note = _join(f"{quantity.unit} = 1024", convention_note)
        unit = f"{quantity.unit} = {_power_text(quantity)}"
        message = f"{quantity.text} fits {actual:,} {_unit_word(kind, quantity)} only with {unit}"
        diagnostic = Diagnostic(_code(kind, total), message, quantity.span, severity=Severity.NOTE)
        return ClaimRow(quantity.span, subject, label, quantity.text, inferred, "holds", note), [diagnostic]
    if loose := _significant_figures(quantity, actual, base or 1000):
        return ClaimRow(quantity.span, subject, label, quantity.text, inferred, "holds", loose, as_counted), []
    verb = "has" if kind == "params" else "costs"
    whom = subject if subject != "network" else "the network"
    if own:
        message = (
            f"{whom} {verb} {actual:,} parameters as this table counts them "
            f"({_in_unit(actual, quantity, base or 1000)}{_base_words(quantity, base)}), not {quantity.text}"
        )
        notes: tuple[str, ...] = (f"papernet's count ({_default_words(counted)}): {papernets:,}",)
    else:
        in_unit = f" ({_in_unit(actual, quantity)})" if quantity.unit else ""
        message = f"{whom} {verb} {actual:,} {_unit_word(kind, quantity)}{in_unit}, not {quantity.text}"
        notes = (convention_note,) if convention_note else ()
    readings = _readings(counted, kind, factor, quantity, reading)
    if total:
        readings += _layer_readings(counted, kind, factor, quantity, reading)
    readings.sort(key=lambda r: len(r.changes) + (r.base != (base or 1000)))
    departs = " — not how the rest of this table counts" if reading.source == "found" and kind == "params" else ""
    help_lines = [
        f"{quantity.text} fits {r.describe(quantity.unit, base or 1000)} ({r.value:,}){departs if r.changes else ''}"
        for r in readings[:3]
    ]
    if not help_lines:
        help_lines = [f"no counting convention papernet knows gives {quantity.text}: the table may be wrong"]
    diagnostic = Diagnostic(_code(kind, total), message, quantity.span, tuple(help_lines), notes=notes)
    return ClaimRow(quantity.span, subject, label, quantity.text, inferred, "fails", convention_note, as_counted), [
        diagnostic
    ]


def _base_words(quantity: Quantity, base: int | None) -> str:
    return f" at {quantity.unit} = {_power_text(quantity)}" if base == 1024 and quantity.unit else ""


def _default_words(counted: _Counted) -> str:
    return "weights and biases" + (", batch norm as 4C" if counted.bn_channels else "")


def _truncation_note(quantity: Quantity, value: int, base: int) -> str:
    if fits(quantity, value, base):
        return ""
    return f"truncated: {_in_unit(value, quantity, base)} printed {quantity.text}"


def _significant_figures(quantity: Quantity, value: int, base: int) -> str:
    """A figure whose trailing zeros are not significant (`60M`, "60 million"), read to its
    significant figures where that is within 5%: a prose total, not a table's exact figure."""
    digits = f"{quantity.value / base ** _power(quantity):.{quantity.decimals}f}"
    if quantity.decimals or not digits.endswith("0"):
        return ""
    zeros = len(digits) - len(digits.rstrip("0"))
    step = 10**zeros * base ** _power(quantity)
    printed = quantity.value / 1000 ** _power(quantity) * base ** _power(quantity)
    if abs(value - printed) <= step / 2 and abs(value - printed) <= 0.05 * printed:
        figures = len(digits) - zeros
        return (
            f"read to {figures} significant figure{'s' if figures > 1 else ''} (its trailing zeros are not significant)"
        )
    return ""


def _readings(counted: _Counted, kind: str, factor: int, quantity: Quantity, reading: TableReading) -> list[_Reading]:
    """The other ways of counting that give the printed figure, fewest changes first."""
    options: list[tuple[str, int]] = []
    convention = reading.convention
    base = convention.base if kind == "params" else 1000
    if kind == "params":
        value = convention.count(counted)
        if counted.biases and convention.biases:
            options.append(("biases not counted", -counted.biases))
        if counted.biases and not convention.biases:
            options.append(("biases counted", counted.biases))
        if counted.missing_biases and convention.biases:
            options.append(("biases counted", counted.missing_biases))
        if counted.bn_channels:
            for per_channel in (2, 4, 0):
                if per_channel != convention.batch_norm:
                    name = "batch norm not counted" if per_channel == 0 else f"batch norm counted as {per_channel}C"
                    options.append((name, (per_channel - convention.batch_norm) * counted.bn_channels))
        if counted.groupable:
            options.append(("convs grouped in 2 (AlexNet's two GPUs)", -counted.groupable // 2))
        options += [(name, delta) for name, delta, _ in counted.variants if delta]
    else:
        value = counted.macs * factor
        other = 2 if factor == 1 else 1
        name = "FLOPs = 2 × multiply-adds" if other == 2 else "FLOPs = multiply-adds"
        options.append((name, counted.macs * other - value))
        if counted.groupable:
            options.append(("convs grouped in 2 (AlexNet's two GPUs)", -_grouped_macs(counted) * factor))
        options += [(name, delta * factor) for name, _, delta in counted.variants if delta]
    bases = [1000, 1024] if base is None or kind == "params" else [1000]
    found = [
        _Reading((), value, other_base)
        for other_base in bases
        if other_base != (base or 1000) and quantity.unit and fits(quantity, value, other_base)
    ]
    cut = "truncated rather than rounded" + (" — the rest of this table rounds" if reading.rounding_found else "")
    if not reading.truncated and fits(quantity, value, base or 1000, truncated=True):
        found.append(_Reading((cut,), value, base or 1000))
    for size in range(1, len(options) + 1):
        for chosen in combinations(options, size):
            if len({name for name, _ in chosen}) < size or _exclusive(chosen):
                continue
            changed = value + sum(delta for _, delta in chosen)
            names = tuple(name for name, _ in chosen)
            fitting_bases = [
                b
                for b in bases
                if (b == (base or 1000) or quantity.unit) and fits(quantity, changed, b, truncated=reading.truncated)
            ]
            found += [_Reading(names, changed, b) for b in fitting_bases]
            if not fitting_bases and not reading.truncated and fits(quantity, changed, base or 1000, truncated=True):
                found.append(_Reading((*names, cut), changed, base or 1000))
    return found


def _exclusive(chosen: tuple[tuple[str, int], ...]) -> bool:
    """Two counts of the same batch norms cannot both apply."""
    return sum(name.startswith("batch norm") for name, _ in chosen) > 1


def _grouped_macs(counted: _Counted) -> int:
    """Multiply-adds saved by grouping: in proportion to the weights grouping saves."""
    return 0 if not counted.params else counted.macs * (counted.groupable // 2) // max(counted.weights, 1)


def _layer_readings(
    counted: _Counted, kind: str, factor: int, quantity: Quantity, reading: TableReading
) -> list[_Reading]:
    """A layer that the total leaves out or counts twice, offered only where exactly one
    layer's figure fits: in a deep network many would, and then none of them explains it."""
    total = reading.convention.count(counted) if kind == "params" else counted.macs * factor
    base = (reading.convention.base or 1000) if kind == "params" else 1000
    found: dict[tuple[str, int], _Reading] = {}
    for name, params, macs in counted.layers:
        amount = params if kind == "params" else macs * factor
        for verb, value in (("left out", total - amount), ("counted twice", total + amount)):
            if amount and fits(quantity, value, base):
                found.setdefault((verb, amount), _Reading((f"{name} {verb}",), value, base))
    return list(found.values()) if len(found) == 1 else []


def _other_padding_reading(
    graph: Graph,
    inference: Inference,
    claims: list[_Claim],
    results: list[tuple[ClaimRow, list[Diagnostic]]],
    reading: TableReading,
) -> list[tuple[ClaimRow, list[Diagnostic]]]:
    """A failing total that the other reading of the assumed padding explains (VGG-11 typed
    with no `defaults:` and convs assumed `padding valid`): that reading, as its first help."""
    failing = [
        i
        for i, (c, (row, problems)) in enumerate(zip(claims, results, strict=True))
        if c.total and problems and row.verdict == "fails"
    ]
    assumed = [
        i
        for i, n in enumerate(graph.nodes)
        if isinstance(n, solve.Spatial) and n.origin("padding") is Origin.ASSUMED and n.padding in ("same", "valid")
    ]
    if not failing or not assumed:
        return results
    first = graph.nodes[assumed[0]]
    assert isinstance(first, solve.Spatial)
    other: Literal["same", "valid"] = "valid" if first.padding == "same" else "same"
    changed = _repadded(graph, assumed, other)
    from papernet.infer import infer

    again = infer(changed, inference.convention)
    if any(layer.shape is None for layer in again.layers):
        return results
    whole = _Counted.of(changed, again, range(len(changed.nodes)))
    out = list(results)
    for i in failing:
        claim = claims[i]
        moved = replace(claim, counted=whole, known=True)
        value = _value(moved, reading, changed)
        base = (reading.convention.base or 1000) if claim.kind == "params" else 1000
        if not fits(claim.quantity, value, base, truncated=reading.truncated):
            continue
        row, problems = results[i]
        kinds = " and ".join(
            dict.fromkeys(
                f"`{_defaults_kind(n)}: padding {other}`"
                for n in (graph.nodes[j] for j in assumed)
                if isinstance(n, solve.Spatial)
            )
        )
        line = (
            f"{claim.quantity.text} fits `padding {other}` on the {len(assumed)} layers whose padding was assumed "
            f"({value:,}): write under `defaults:` {kinds}"
        )
        kept = tuple(h for h in problems[0].help if "the table may be wrong" not in h)
        out[i] = (row, [replace(problems[0], help=(line, *kept)), *problems[1:]])
    return out


def _totals_traced(
    claims: list[_Claim],
    results: list[tuple[ClaimRow, list[Diagnostic]]],
    reading: TableReading,
    graph: Graph,
    inference: Inference,
    wrong_sizes: Sequence[ClaimRow] = (),
) -> list[tuple[ClaimRow, list[Diagnostic]]]:
    """Each total against the sum of the table's own column, and a failing total traced to the
    failing rows inside it: the total it would have with their printed figures, or the rows
    whose declared size does not hold (the total counts the network those rows describe)."""
    out = list(results)
    for position, (claim, (row, problems)) in enumerate(zip(claims, results, strict=True)):
        if not claim.total or not claim.known:
            continue
        if row.verdict == "fails" and problems and wrong_sizes:
            names = ", ".join(f"{r.layer} (line {r.span.line})" for r in wrong_sizes[:4])
            line = (
                f"first fix the row{'s' if len(wrong_sizes) > 1 else ''} whose size does not hold: {names}; "
                "the total counts the network as those rows are written"
            )
            kept = tuple(h for h in problems[0].help if "the table may be wrong" not in h)
            problems = [replace(problems[0], help=(line, *kept)), *problems[1:]]
            out[position] = (row, problems)
        column = [
            (c, r)
            for c, (r, _) in zip(claims, results, strict=True)
            if not c.total
            and c.kind == claim.kind
            and c.known
            and c.quantity.keyword.lower() == claim.quantity.keyword.lower()
        ]
        if not column:
            continue
        base = (reading.convention.base or 1000) if claim.kind == "params" else 1000
        failing = [(c, r) for c, r in column if r.verdict == "fails"]
        if row.verdict == "fails" and failing and problems:
            actual = _value(claim, reading, graph)
            adjusted = round(actual + sum(_printed(c.quantity, base) - _value(c, reading, graph) for c, _ in failing))
            names = ", ".join(f"{r.layer} (line {r.span.line})" for _, r in failing[:4])
            names += ", …" if len(failing) > 4 else ""
            verdict = "fits" if fits(claim.quantity, adjusted, base) else "still does not fit"
            line = (
                f"{len(failing)} row{'s' if len(failing) > 1 else ''} inside it fail{'' if len(failing) > 1 else 's'}: "
                f"{names}; with their printed figures the total is {adjusted:,} "
                f"({_in_unit(adjusted, claim.quantity, base)}), which {verdict} {claim.quantity.text}"
            )
            first = problems[0]
            others = [h for h in first.help if "the table may be wrong" not in h]
            ordered = [line, *others] if verdict == "fits" else [*others, line]
            out[position] = (row, [replace(first, help=tuple(ordered)), *problems[1:]])
        covered = {i for c, _ in column for i in c.extent}
        layer_amounts = [info.params if claim.kind == "params" else info.macs for info in inference.layers]
        uncovered = [i for i in claim.extent if i not in covered and layer_amounts[i] > 0]
        if len(column) < 2 or uncovered:
            continue
        column_sum = sum(_printed(c.quantity, base) for c, _ in column)
        slack = sum(_half_step(c.quantity, base) for c, _ in column) + _half_step(claim.quantity, base)
        holds = abs(column_sum - _printed(claim.quantity, base)) <= slack
        word = "params" if claim.kind == "params" else claim.quantity.keyword
        label = f"total {word} = the column's sum"
        text = f"{column_sum:,.0f} ({_in_unit(round(column_sum), claim.quantity, base)})"
        note = "" if holds else "the table's total is not the sum of its own column"
        out.append(
            (ClaimRow(row.span, "network", label, claim.quantity.text, text, "holds" if holds else "fails", note), [])
        )
    return out


def _printed(quantity: Quantity, base: int) -> float:
    power = _power(quantity)
    return float(quantity.value / 1000**power * base**power)


def _half_step(quantity: Quantity, base: int) -> float:
    return float(10.0**-quantity.decimals * base ** _power(quantity) / 2)


def _power(quantity: Quantity) -> int:
    return "_KMGT".index(quantity.unit) if quantity.unit else 0


def _flops_convention(quantity: Quantity, graph: Graph) -> tuple[int, str]:
    """How many FLOPs a multiply-add is for this claim, and the row's note about it."""
    if quantity.keyword.lower() != "flops":
        return 1, ""
    if graph.flops_per_mac is None:
        return 1, "FLOPs taken as multiply-adds (the spec does not say; `defaults: flops: 2 multiply-adds` for 2)"
    if graph.flops_per_mac == 2:
        return 2, "FLOPs = 2 × multiply-adds (the spec's convention)"
    return 1, "FLOPs = multiply-adds (the spec's convention)"


# ---- helpers ----------------------------------------------------------------------


def _subject(graph: Graph, extent: list[int]) -> str:
    """How a row is named: its block, or the conv or pool it describes (not its ReLU)."""
    first = next((i for i in extent if not _implicit_flatten(graph.nodes[i])), extent[0])
    node = graph.nodes[first]
    if node.scope:
        return node.scope[0]
    position = solve.spatial_source(graph.nodes, first)
    return ir.describe(graph.nodes[position if position is not None else first])


def _units(node: ir.Conv2D | ir.Dense | ir.DepthwiseConv2D, info: LayerInfo) -> int:
    if isinstance(node, ir.Dense):
        return node.units
    if isinstance(node, ir.Conv2D):
        return node.filters
    return info.shape[-1] if info.shape is not None else 0


def _code(kind: str, total: bool) -> str:
    return {("params", False): "P302", ("ops", False): "P303", ("params", True): "P304", ("ops", True): "P305"}[
        (kind, total)
    ]


def _unit_word(kind: str, quantity: Quantity) -> str:
    if kind == "params":
        return "parameters"
    return "FLOPs" if quantity.keyword.lower() == "flops" else "multiply-adds"


def _power_text(quantity: Quantity) -> str:
    power = "_KMGT".index(quantity.unit)
    return "1024" if power == 1 else f"1024{'²³⁴'[power - 2]}"


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _implicit_flatten(node: Node) -> bool:
    return isinstance(node, ir.Flatten) and node.implicit


def _extents(graph: Graph) -> dict[Span, list[int]]:
    """For each spec layer (by its span), the nodes it lowered to (a conv and its BN and ReLU, an
    inception module's branches): a row's params and ops claims are about all of them."""
    extents: dict[Span, list[int]] = {}
    for index, node in enumerate(graph.nodes):
        extents.setdefault(node.span, []).append(index)
    return extents


def _comparable(inferred: tuple[int, ...], declared: tuple[int, ...]) -> tuple[int, ...]:
    """The inferred shape in the form the table declares it: a vector of N is `1×1×N` in tables
    like GoogLeNet's, and ResNet's Table 1 gives output sizes without channels (`56×56`).

    >>> _comparable((1000,), (1, 1, 1000)), _comparable((56, 56, 256), (56, 56)), _comparable((1000,), (1, 1))
    ((1, 1, 1000), (56, 56), (1, 1))
    """
    spatial = (1, 1, *inferred) if len(inferred) == 1 else inferred
    if len(declared) == 2 and len(spatial) == 3:
        return spatial[:2]
    return spatial if len(declared) == 3 else inferred


def fits(quantity: Quantity, actual: int, base: int = 1000, *, truncated: bool = False) -> bool:
    """Whether `actual` rounds (or, for a table that truncates, cuts) to the printed figure,
    with K/M/G as powers of `base`.

    >>> from papernet.span import Span
    >>> q = Quantity("138M", 138e6, "M", 0, "params", Span("a", 1, 1, 1, 2))
    >>> fits(q, 138_357_544), fits(q, 135_000_000), fits(q, 138_957_544), fits(q, 138_957_544, truncated=True)
    (True, False, False, True)
    """
    power = _power(quantity)
    scale = base**power
    printed = quantity.value / (1000**power) if power else quantity.value
    step = 10.0**-quantity.decimals
    if truncated:
        return bool(printed - 1e-9 <= actual / scale < printed + step - 1e-9)
    return bool(abs(actual / scale - printed) <= step / 2 + 1e-9)


def _in_unit(value: int, quantity: Quantity, base: int = 1000) -> str:
    """`value` in the claim's unit, one decimal finer than it was printed; a figure printed
    without a unit, as a whole number.

    >>> from papernet.span import Span
    >>> _in_unit(1_043_456, Quantity("1072K", 1072e3, "K", 0, "params", Span("a", 1, 1, 1, 2)))
    '1043.5K'
    >>> _in_unit(2416, Quantity("2,400", 2400, "", 0, "params", Span("a", 1, 1, 1, 2)))
    '2,416'
    """
    if not quantity.unit:
        return f"{value:,}"
    return f"{value / base ** _power(quantity):.{quantity.decimals + 1}f}{quantity.unit}"
