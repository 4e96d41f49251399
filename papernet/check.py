"""Stage 4, check: what the paper's table declares, against what the architecture implies.

Per-layer claims (`-> 55×55×96`, `params 34,944`, `ops 105M`) and totals
(`total params 138M`) are compared with the inferred values. Rounded figures are
compared within their printed precision: `138M` matches anything from 137.5M to 138.5M.
A `K`, `M` or `G` may mean 1000 or 1024; a figure that only fits 1024 passes, and the
diagnostic list says so in a note.
"""

from __future__ import annotations

from papernet import diagnostics as diag
from papernet import ir
from papernet.diagnostics import Diagnostic, Severity
from papernet.infer import Inference, dims
from papernet.ir import Graph, Quantity
from papernet.span import Span


def check(graph: Graph, inference: Inference) -> list[Diagnostic]:
    """Diagnostics for every claim that the inferred network contradicts."""
    explained = {d.span for d in inference.diagnostics if d.code == "P201"}
    found: list[Diagnostic] = []
    extents = _extents(graph)
    for node, info in zip(graph.nodes, inference.layers, strict=True):
        claims = node.claims
        if claims.params is not None or claims.ops is not None:
            extent = extents[node.span]
            first = next(i for i in extent if not _implicit_flatten(graph.nodes[i]))
            subject = node.scope[0] if node.scope else ir.describe(graph.nodes[first])
            known = all(inference.layers[i].shape is not None for i in extent)
            if claims.params is not None and known:
                params = sum(inference.layers[i].params for i in extent)
                found += _compare(claims.params, params, "P302", f"{subject} has")
            if claims.ops is not None and known:
                macs = sum(inference.layers[i].macs for i in extent)
                found += _compare(claims.ops, macs, "P303", f"{subject} costs", "multiply-adds")
        shape_known = claims.shape is not None and info.shape is not None and node.span not in explained
        if shape_known and tuple(claims.shape) != _comparable(info.shape, claims.shape):  # type: ignore[arg-type]
            message = f"{ir.describe(node)} is declared to give {dims(claims.shape)}, but gives {dims(info.shape)}"  # type: ignore[arg-type]
            found.append(diag.error("P301", message, claims.shape_span or node.span))
    if inference.layers and all(layer.shape is not None for layer in inference.layers):
        for total in graph.totals:
            if total.kind == "params":
                found += _compare(total.quantity, inference.total_params, "P304", "the network has")
            else:
                found += _compare(total.quantity, inference.total_macs, "P305", "the network costs", "multiply-adds")
    return found


def _implicit_flatten(node: ir.Node) -> bool:
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


def _compare(quantity: Quantity, actual: int, code: str, subject: str, unit: str = "parameters") -> list[Diagnostic]:
    if fits(quantity, actual):
        return []
    if quantity.unit and fits(quantity, actual, base=1024):
        power = "_KMGT".index(quantity.unit)
        base = "1024" if power == 1 else f"1024{'²³⁴'[power - 2]}"
        note = f"{quantity.text} fits {actual:,} {unit} only with {quantity.unit} = {base}"
        return [Diagnostic(code, note, quantity.span, severity=Severity.NOTE)]
    message = f"{subject} {actual:,} {unit} ({_in_unit(actual, quantity)}), not {quantity.text}"
    return [diag.error(code, message, quantity.span)]


def _in_unit(value: int, quantity: Quantity) -> str:
    """`value` in the claim's unit, one decimal finer than it was printed.

    >>> from papernet.span import Span
    >>> _in_unit(1_043_456, Quantity("1072K", 1072e3, "K", 0, "params", Span("a", 1, 1, 1, 2)))
    '1043.5K'
    """
    power = "_KMGT".index(quantity.unit) if quantity.unit else 0
    return f"{value / 1000**power:.{quantity.decimals + 1}f}{quantity.unit}"
