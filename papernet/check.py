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

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

from papernet import ir, solve
from papernet.diagnostics import Diagnostic, Severity
from papernet.infer import Inference, LayerInfo, dims
from papernet.ir import Graph, Node, Quantity
from papernet.span import Span

Verdict = Literal["holds", "fails", "unknown"]


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """One claim of the table, reconciled."""

    span: Span
    layer: str  # `conv1 (conv11-96/4)`, or `network` for a total
    quantity: str  # output, params, ops (or the word the table uses: FLOPs, mult-adds), total params, …
    declared: str  # as printed
    inferred: str  # what the architecture gives, in the claim's form
    verdict: Verdict
    note: str = ""  # `K = 1024`, `FLOPs taken as multiply-adds`, …


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

    @property
    def holds(self) -> bool:
        return all(row.verdict == "holds" for row in self.rows)

    def verdict(self) -> str:
        """`29 of 42 claims hold; 13 fail (lines 14, 18, …)`."""
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
        return text


def check(graph: Graph, inference: Inference) -> list[Diagnostic]:
    """Diagnostics for every claim that the inferred network contradicts."""
    return list(reconcile(graph, inference).diagnostics)


def reconcile(graph: Graph, inference: Inference) -> Reconciliation:
    """Every claim of `graph` against `inference`, with a diagnostic for each that fails."""
    explained = {d.span: d for d in inference.diagnostics if d.code == "P201"}
    extents = _extents(graph)
    rows: list[ClaimRow] = []
    found: list[Diagnostic] = []
    for index, node in enumerate(graph.nodes):
        claims = node.claims
        if claims.shape is not None:
            row, problem = _shape_row(graph, inference, index, explained.get(node.span))
            rows.append(row)
            found += problem
        if claims.params is None and claims.ops is None:
            continue
        extent = range(claims.extent[0], claims.extent[1] + 1) if claims.extent else extents[node.span]
        subject = _subject(graph, [index])
        known = all(inference.layers[i].shape is not None for i in extent)
        counted = _Counted.of(graph, inference, extent)
        claimed: tuple[tuple[Quantity | None, Literal["params", "ops"]], ...] = (
            (claims.params, "params"),
            (claims.ops, "ops"),
        )
        for quantity, what in claimed:
            if quantity is not None:
                row, problem = _quantity_row(quantity, counted, what, subject, known, graph)
                rows.append(row)
                found += problem
    all_known = bool(inference.layers) and all(layer.shape is not None for layer in inference.layers)
    whole = _Counted.of(graph, inference, range(len(graph.nodes))) if graph.totals else None
    for total in graph.totals:
        assert whole is not None
        kind: Literal["params", "ops"] = total.kind
        row, problem = _quantity_row(total.quantity, whole, kind, "network", all_known, graph, total=True)
        rows.append(row)
        found += problem
    rows.sort(key=lambda row: (row.span.file, row.span.line, row.span.column))
    return Reconciliation(tuple(rows), tuple(found), _inferred(graph))


def _inferred(graph: Graph) -> tuple[Inferred, ...]:
    return tuple(
        Inferred(node.span, ir.describe(node), value)
        for node in graph.nodes
        if (value := solve.inferred(node)) is not None
    )


# ---- output sizes -----------------------------------------------------------------


def _shape_row(
    graph: Graph, inference: Inference, index: int, not_integer: Diagnostic | None
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
    comparable = _comparable(info.shape, declared)
    if tuple(declared) == comparable:
        return ClaimRow(
            span, subject, "output", declared_text, dims(comparable), "holds", _inferred_note(graph, index)
        ), []
    message = f"{ir.describe(node)} is declared to give {declared_text}, but gives {dims(info.shape)}"
    note = f"later rows continue from the declared {declared_text}" if len(declared) == len(info.shape) else ""
    fixes = tuple(_shape_fixes(graph, inference, index, declared))
    problem = Diagnostic("P301", message, span, fixes, notes=(note,) if note else ())
    return ClaimRow(span, subject, "output", declared_text, dims(comparable), "fails", note), [problem]


def _shape_fixes(graph: Graph, inference: Inference, index: int, declared: tuple[int, ...]) -> list[str]:
    """The geometries of the row's conv or pool that give the declared size, and whether the
    row looks like a layer that the table dropped or counted twice."""
    position = solve.spatial_source(graph.nodes, index)
    if position is None or len(declared) < 2:
        return []
    node = graph.nodes[position]
    assert isinstance(node, solve.Spatial)
    source = _flow_shape(graph, inference, node.inputs[0])
    if source is None or len(source) != 3:
        return []
    size, target = (source[0], source[1]), (declared[0], declared[1])
    fixes = solve.fitting(node, size, target, any_rounding=True, any_stride=True)
    lines = []
    if fixes:
        lines.append(f"{dims(target)} comes from {'; or '.join(g.describe(node) for g in fixes[:3])}")
    as_stated = solve.Geometry.of(node)
    once = solve.output_size(node, as_stated, size)
    if target == size:
        lines.append(f"{dims(target)} is this layer's input: is the layer in the table twice, or its size a typo?")
    elif once is not None and solve.output_size(node, as_stated, once) == target:
        lines.append(f"{dims(target)} is what two of these layers give: has the spec dropped one?")
    return lines


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
    value = solve.inferred(graph.nodes[position])
    return "" if value is None else f"with {value}, inferred from the table"


# ---- params and ops ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Counted:
    """A row's (or the network's) figures, and the parts that conventions count differently."""

    params: int
    macs: int
    biases: int  # parameters that are conv or FC biases
    missing_biases: int  # biases that layers without one would have
    bn_channels: int  # C summed over batch norms: counted as 4C (keras) or 2C (torch)
    groupable: int  # weights of ungrouped convs with an even input depth (half of them go if grouped in 2)
    layers: tuple[tuple[str, int, int], ...]  # (name, params, macs) per spec row, for dropped/duplicated layers

    @staticmethod
    def of(graph: Graph, inference: Inference, extent: Iterable[int]) -> _Counted:
        params = macs = biases = missing = bn = groupable = 0
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
            if isinstance(node, ir.Conv2D) and node.groups == 1 and info.shape is not None:
                groupable += info.params - (node.filters if node.use_bias else 0)
        layers = tuple((ir.describe(graph.nodes[index]), p, m) for p, m, index in rows.values() if p or m)
        return _Counted(params, macs, biases, missing, bn, groupable, layers)


@dataclass(frozen=True, slots=True)
class _Reading:
    """One way of counting: what it changes, and the figure it gives."""

    changes: tuple[str, ...]
    value: int
    base: int = 1000

    def describe(self, unit: str) -> str:
        changes = [*self.changes] + ([f"{unit} = 1024"] if self.base == 1024 and unit else [])
        return " and ".join(changes)


def _quantity_row(
    quantity: Quantity,
    counted: _Counted,
    kind: Literal["params", "ops"],
    subject: str,
    known: bool,
    graph: Graph,
    *,
    total: bool = False,
) -> tuple[ClaimRow, list[Diagnostic]]:
    word = "params" if kind == "params" else quantity.keyword
    label = f"total {word}" if total else word
    if not known:
        return ClaimRow(quantity.span, subject, label, quantity.text, "unknown", "unknown"), []
    factor, convention_note = _flops_convention(quantity, graph)
    actual = counted.params if kind == "params" else counted.macs * factor
    inferred = f"{actual:,}"
    if fits(quantity, actual):
        return ClaimRow(quantity.span, subject, label, quantity.text, inferred, "holds", convention_note), []
    if quantity.unit and fits(quantity, actual, base=1024):
        note = _join(f"{quantity.unit} = 1024", convention_note)
        unit = f"{quantity.unit} = {_power_text(quantity)}"
        message = f"{quantity.text} fits {actual:,} {_unit_word(kind, quantity)} only with {unit}"
        diagnostic = Diagnostic(_code(kind, total), message, quantity.span, severity=Severity.NOTE)
        return ClaimRow(quantity.span, subject, label, quantity.text, inferred, "holds", note), [diagnostic]
    verb = "has" if kind == "params" else "costs"
    message = (
        f"{subject if subject != 'network' else 'the network'} {verb} {actual:,} {_unit_word(kind, quantity)} "
        f"({_in_unit(actual, quantity)}), not {quantity.text}"
    )
    readings = _readings(counted, kind, factor, quantity, total)
    help_lines = [f"{quantity.text} fits {r.describe(quantity.unit)} ({r.value:,})" for r in readings[:3]]
    if not help_lines:
        help_lines = [f"no counting convention papernet knows gives {quantity.text}: the table may be wrong"]
    notes = (convention_note,) if convention_note else ()
    diagnostic = Diagnostic(_code(kind, total), message, quantity.span, tuple(help_lines), notes=notes)
    return ClaimRow(quantity.span, subject, label, quantity.text, inferred, "fails", convention_note), [diagnostic]


def _readings(counted: _Counted, kind: str, factor: int, quantity: Quantity, total: bool) -> list[_Reading]:
    """The other ways of counting that give the printed figure, fewest changes first."""
    options: list[tuple[str, int]] = []
    if kind == "params":
        value = counted.params
        if counted.biases:
            options.append(("biases not counted", -counted.biases))
        if counted.missing_biases:
            options.append(("biases counted", counted.missing_biases))
        if counted.bn_channels:
            options.append(("batch norm counted as 2C", -2 * counted.bn_channels))
        if counted.groupable and not total:
            options.append(("convs grouped in 2 (AlexNet's two GPUs)", -counted.groupable // 2))
    else:
        value = counted.macs * factor
        other = 2 if factor == 1 else 1
        name = "FLOPs = 2 × multiply-adds" if other == 2 else "FLOPs = multiply-adds"
        options.append((name, counted.macs * other - value))
    found = _fitting_readings((), value, quantity, only_1024=True)
    for size in range(1, len(options) + 1):
        for chosen in combinations(options, size):
            changed = value + sum(delta for _, delta in chosen)
            found += _fitting_readings(tuple(name for name, _ in chosen), changed, quantity)
    if total:
        found += _layer_readings(counted, kind, factor, quantity)
    return sorted(found, key=lambda r: len(r.changes) + (r.base == 1024))


def _fitting_readings(
    changes: tuple[str, ...], value: int, quantity: Quantity, only_1024: bool = False
) -> list[_Reading]:
    bases = [1024] if only_1024 else [1000, 1024]
    return [
        _Reading(changes, value, base)
        for base in bases
        if (base == 1000 or quantity.unit) and fits(quantity, value, base)
    ]


def _layer_readings(counted: _Counted, kind: str, factor: int, quantity: Quantity) -> list[_Reading]:
    """A layer that the total leaves out or counts twice, offered only where exactly one
    layer's figure fits: in a deep network many would, and then none of them explains it."""
    total = counted.params if kind == "params" else counted.macs * factor
    found: dict[tuple[str, int], _Reading] = {}
    for name, params, macs in counted.layers:
        amount = params if kind == "params" else macs * factor
        for verb, value in (("left out", total - amount), ("counted twice", total + amount)):
            if amount and fits(quantity, value):
                found.setdefault((verb, amount), _Reading((f"{name} {verb}",), value))
    return list(found.values()) if len(found) == 1 else []


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


def fits(quantity: Quantity, actual: int, base: int = 1000) -> bool:
    """Whether `actual` rounds to the printed figure, with K/M/G as powers of `base`.

    >>> from papernet.span import Span
    >>> q = Quantity("138M", 138e6, "M", 0, "params", Span("a", 1, 1, 1, 2))
    >>> fits(q, 138_357_544), fits(q, 135_000_000)
    (True, False)
    """
    power = "_KMGT".index(quantity.unit) if quantity.unit else 0
    scale = base**power
    printed = quantity.value / (1000**power) if power else quantity.value
    step = 10.0**-quantity.decimals
    return bool(abs(actual / scale - printed) <= step / 2 + 1e-9)


def _in_unit(value: int, quantity: Quantity) -> str:
    """`value` in the claim's unit, one decimal finer than it was printed.

    >>> from papernet.span import Span
    >>> _in_unit(1_043_456, Quantity("1072K", 1072e3, "K", 0, "params", Span("a", 1, 1, 1, 2)))
    '1043.5K'
    """
    power = "_KMGT".index(quantity.unit) if quantity.unit else 0
    return f"{value / 1000**power:.{quantity.decimals + 1}f}{quantity.unit}"
