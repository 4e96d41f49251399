"""Stage 2½, solve: fill in what the paper left unstated, where its table pins it down.

Papers rarely print padding, and often not the stride either: "often padding and/or stride
will not be explicitly stated in the text, but can be inferred". When a conv or pool's
padding (or stride) was assumed, not written, and the row's declared output size disagrees
with what the assumption gives, this stage searches the small space of geometries papers
use and takes the first that gives the declared size:

1. explicit symmetric padding P with exact division, `(W + 2P − F)/S + 1` an integer;
2. TensorFlow's `same` (output ⌈W/S⌉, whatever the kernel);
3. explicit padding with `floor` or `ceil` rounding, only where the spec states that rounding.

A stated value is never changed, and rounding is a convention the spec must state: AlexNet's
224×224 input cannot give 55×55 exactly with an 11×11/4 conv, so nothing is inferred and
the check reports the fixes (input 227, or pad 2 with `floor`) instead. A value found here
is marked `Origin.INFERRED`, and every report says "inferred from the table".

The search itself (`geometries`, `fitting`) also serves the check stage, which offers the
candidates that fit a mismatched row as fixes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from papernet import ir, shapes
from papernet.diagnostics import Diagnostic, Severity
from papernet.infer import LayerInfo, continue_from_declared, dims, infer_node
from papernet.ir import Graph, Node, Origin

Spatial = ir.Conv2D | ir.DepthwiseConv2D | ir.SeparableConv2D | ir.Conv2DTranspose | ir.Pool2D
"""A layer whose window moves over its input: what padding and stride decide the size of."""
Dilated = ir.Conv2D | ir.SeparableConv2D
_PASS_THROUGH = (ir.BatchNorm, ir.ActivationLayer, ir.Dropout, ir.DropPath, ir.LRN)
MAX_STRIDE = 4
MAX_PADS_TRIED = 16
"""Of the paddings that can give a declared size, those tried: the nearest (F − 1)/2, where papers'
paddings are (a pool of stride 999,999 reaches 1×1 with half a million)."""


@dataclass(frozen=True, slots=True)
class Geometry:
    """How a window moves over its input: the attributes a table leaves unstated."""

    padding: ir.Padding
    strides: ir.Pair
    rounding: ir.Rounding

    @staticmethod
    def of(node: Spatial) -> Geometry:
        return Geometry(node.padding, node.strides, rounding_of(node))

    def describe(self, node: Spatial) -> str:
        """`pad 1`, `padding same`, `pad 0 with ceil`, `stride 2, pad 3 with floor`."""
        parts = [] if self.strides == node.strides else [f"stride {_pair_text(self.strides)}"]
        if isinstance(self.padding, str):
            parts.append(f"padding {self.padding}")
        else:
            parts.append(_padding_text(self.padding))
        text = ", ".join(parts)
        return (
            text
            if self.rounding in ("exact", rounding_of(node)) or self.padding == "same"
            else f"{text} with {self.rounding}"
        )


def solve(graph: Graph) -> tuple[Graph, list[Diagnostic]]:
    """The graph with unstated padding and strides inferred from declared output sizes, and an
    assumed padding on a window that covers its whole input read as none (`avgpool 7x7/1` on a
    7×7 map is ResNet's global pool, not a `same` blur)."""
    rows = [i for i, node in enumerate(graph.nodes) if node.claims.shape is not None and _open_row(graph.nodes, i)]
    windows = [i for i, node in enumerate(graph.nodes) if _may_cover_its_input(node)]
    if not rows and not windows:
        return graph, []
    nodes = list(graph.nodes)
    flow: list[LayerInfo] = []
    notes: list[Diagnostic] = []
    changed = False
    for index, node in enumerate(nodes[: max(rows[-1:] + windows[-1:]) + 1]):
        if _may_cover_its_input(node) and _covers_its_input(node, flow):
            assert isinstance(node, Spatial)
            node = nodes[index] = replace(node, padding="valid")
            changed = True
        info, found = infer_node(node, flow, nodes)
        if node.claims.shape is not None:
            solved = _solve_row(nodes, index, spatial_source(nodes, index), flow, info, found)
            if solved is not None:
                position, geometry, also = solved
                old = nodes[position]
                assert isinstance(old, Spatial)
                nodes[position] = _with_geometry(old, geometry)
                changed = True
                if geometry != Geometry.of(old) or also:  # a confirmed assumption with no rival needs no note
                    notes.append(_inferred_note(old, geometry, also, node.claims.shape))
                info, found = _replay(nodes, position, index, flow)
        flow.append(continue_from_declared(node, info))
    if not notes and not changed:
        return graph, []
    return replace(graph, nodes=tuple(nodes)), notes


def _may_cover_its_input(node: Node) -> bool:
    return (
        isinstance(node, Spatial)
        and not isinstance(node, ir.Conv2DTranspose)
        and node.origin("padding") is Origin.ASSUMED
        and max(window_of(node)) > 1
    )


def _covers_its_input(node: Node, flow: list[LayerInfo]) -> bool:
    assert isinstance(node, Spatial)
    source = flow[node.inputs[0]].shape if node.inputs else None
    window = window_of(node)
    return source is not None and len(source) == 3 and window[0] >= source[0] and window[1] >= source[1]


def inferred(node: Node) -> str | None:
    """What this stage inferred for `node` (`padding same`, `stride 2, pad 3`), or None."""
    if not isinstance(node, Spatial) or all(origin is not Origin.INFERRED for _, origin in node.origins):
        return None
    return Geometry.of(node).describe(node)


def geometries(
    node: Spatial,
    *,
    any_rounding: bool = False,
    any_stride: bool = False,
    toward: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> Iterator[Geometry]:
    """Candidate geometries for `node`, best first (see the module docstring).

    Only what the spec left unstated varies (everything, with `any_stride` and `any_rounding`,
    when listing fixes); `floor` and `ceil` only where the spec states that rounding. With
    `toward` (input H×W, declared H×W), only the explicit paddings that can give it, however
    rounded: a handful, not one per pixel of a 65,536-wide window.
    """
    window = window_of(node)
    strides = [node.strides]
    if node.origin("strides") is Origin.ASSUMED or any_stride:
        strides += [(s, s) for s in range(1, MAX_STRIDE + 1) if (s, s) != node.strides]
    most = max(window) // 2 if isinstance(node, ir.Pool2D) else max(window) - 1  # a pool padded past half is P208
    conventional = node.origin("padding") is Origin.ASSUMED or any_stride
    fixed: list[ir.Padding] | None = None  # None: the conventional paddings 0…most
    if not conventional:
        fixed = [node.padding]
    elif isinstance(node, ir.Conv2DTranspose):
        fixed = ["valid"]  # Keras's Conv2DTranspose pads `same` or `valid`, and never rounds
    rounding = rounding_of(node)
    roundings: list[ir.Rounding] = [rounding] if rounding != "exact" else []
    if any_rounding and not isinstance(node, ir.Conv2DTranspose):
        roundings += [r for r in ("floor", "ceil") if r not in roundings]
    for stride in strides:
        if fixed is not None:
            near = fixed if toward is None else [p for p in fixed if can_give(node, p, stride, *toward)]
        else:
            within = None if toward is None else _pads_that_can_give(node, stride, *toward)
            near = [((p, p), (p, p)) for p in _pads_by_convention(most, window, within)]
        yield from (Geometry(padding, stride, "exact") for padding in near if padding != "same")
        if conventional or "same" in near:
            yield Geometry("same", stride, rounding)
        for rounding in roundings:
            yield from (Geometry(padding, stride, rounding) for padding in near if padding != "same")


def _pads_that_can_give(
    node: Spatial, stride: ir.Pair, size: tuple[int, int], target: tuple[int, int]
) -> tuple[int, int]:
    """The least and most padding P (on every side) that `can_give` `target` from `size`:
    (T − 2)·S < W + 2P − F_eff < T·S solved for P, in constant time however wide the window."""
    dilation, window = dilation_of(node), window_of(node)
    least, most = 0, None
    for axis in (0, 1):
        reach = shapes.effective_kernel(window[axis], dilation[axis]) - size[axis]
        low, high = (target[axis] - 2) * stride[axis] + reach, target[axis] * stride[axis] + reach
        least = max(least, low // 2 + 1)  # 2P > low
        most = -(-high // 2) - 1 if most is None else min(most, -(-high // 2) - 1)  # 2P < high
    assert most is not None
    return least, most


def can_give(
    node: Spatial, padding: ir.Padding, stride: ir.Pair, size: tuple[int, int], target: tuple[int, int]
) -> bool:
    """Whether an explicit padding can take `size` to `target` at `stride` with some rounding:
    (T − 2)·S < W + 2P − F_eff < T·S on each axis (ceil at the low end, floor at the high)."""
    if isinstance(padding, str) or isinstance(node, ir.Conv2DTranspose):
        return True
    dilation = dilation_of(node)
    window = window_of(node)
    for axis in (0, 1):
        span = size[axis] + sum(padding[axis]) - shapes.effective_kernel(window[axis], dilation[axis])
        if not (target[axis] - 2) * stride[axis] < span < target[axis] * stride[axis]:
            return False
    return True


def fitting(
    node: Spatial,
    size: tuple[int, int],
    target: tuple[int, int],
    *,
    any_rounding: bool = False,
    any_stride: bool = False,
) -> list[Geometry]:
    """Every candidate geometry that takes an H×W input to the declared H×W, best first; among
    rounded ones, those that discard (or invent) the fewest pixels first."""
    # a pure function of these: a wrong claim on a line repeated ×10,000 asks the same 10,000 times
    asked = (type(node), window_of(node), dilation_of(node), node.strides, node.padding, node.origins,
             rounding_of(node), size, target, any_rounding, any_stride)  # fmt: skip
    if asked not in _FITTING:
        if len(_FITTING) >= 4096:
            _FITTING.clear()
        _FITTING[asked] = tuple(_fitting(node, size, target, any_rounding, any_stride))
    return list(_FITTING[asked])


_FITTING: dict[tuple[object, ...], tuple[Geometry, ...]] = {}


def _fitting(
    node: Spatial, size: tuple[int, int], target: tuple[int, int], any_rounding: bool, any_stride: bool
) -> list[Geometry]:
    found: dict[Geometry, None] = {}
    for geometry in geometries(node, any_rounding=any_rounding, any_stride=any_stride, toward=(size, target)):
        if geometry not in found and output_size(node, geometry, size) == target:
            found[geometry] = None
    order = {geometry: rank for rank, geometry in enumerate(found)}
    return sorted(
        found,
        key=lambda g: (
            g.strides != node.strides,
            g.rounding != "exact" and g.padding != "same",
            _rounding_loss(node, g, size),
            order[g],
        ),
    )


def _rounding_loss(node: Spatial, geometry: Geometry, size: tuple[int, int]) -> Fraction:
    """How far rounding moves the output from (W + 2P − F)/S + 1: 0 for exact division."""
    if geometry.padding == "same" or geometry.rounding == "exact" or isinstance(node, ir.Conv2DTranspose):
        return Fraction(0)
    moved = replace(node, padding=geometry.padding, strides=geometry.strides)
    exact = unrounded_size(moved, size)
    result = output_size(node, geometry, size)
    assert exact is not None and result is not None
    return sum((abs(exact[axis] - result[axis]) for axis in (0, 1)), Fraction(0))


def unrounded_size(node: Spatial, size: tuple[int, int]) -> tuple[Fraction, Fraction] | None:
    """(H + 2P − F)/S + 1 for each axis before rounding, for explicit or no padding (None for a
    transposed conv, which never rounds)."""
    if node.padding == "same" or isinstance(node, ir.Conv2DTranspose):
        return None
    pads = ((0, 0), (0, 0)) if node.padding == "valid" else node.padding
    dilation = dilation_of(node)
    window = window_of(node)
    exact = [
        shapes.exact_output_size(size[axis], window[axis], node.strides[axis], sum(pads[axis]), dilation[axis])
        for axis in (0, 1)
    ]
    return exact[0], exact[1]


def output_size(node: Spatial, geometry: Geometry, size: tuple[int, int]) -> tuple[int, int] | None:
    """H×W out of `node` with `geometry`, or None where the division is not exact but must be.

    >>> from papernet.span import Span
    >>> at = Span("a.pn", 1, 1, 1, 2)
    >>> pool = ir.Pool2D(name="p", inputs=(0,), span=at, op="max", pool_size=(3, 3), strides=(2, 2), padding="valid")
    >>> output_size(pool, Geometry("same", (2, 2), "exact"), (112, 112))
    (56, 56)
    >>> output_size(pool, Geometry(((1, 1), (1, 1)), (2, 2), "exact"), (112, 112)) is None
    True
    >>> output_size(pool, Geometry(((1, 1), (1, 1)), (2, 2), "floor"), (112, 112))
    (56, 56)
    """
    if isinstance(node, ir.Conv2DTranspose):
        return _transposed_size(node, geometry, size)
    if geometry.padding == "same":
        return (
            shapes.same_output_size(size[0], geometry.strides[0]),
            shapes.same_output_size(size[1], geometry.strides[1]),
        )
    pads = ((0, 0), (0, 0)) if geometry.padding == "valid" else geometry.padding
    dilation = dilation_of(node)
    out = []
    for axis in (0, 1):
        k_eff = shapes.effective_kernel(window_of(node)[axis], dilation[axis])
        total = pads[axis][0] + pads[axis][1]
        if size[axis] + total < k_eff:
            return None
        exact = shapes.exact_output_size(size[axis], k_eff, geometry.strides[axis], total)
        if geometry.rounding == "exact" and exact.denominator != 1:
            return None
        rounding = "floor" if geometry.rounding == "exact" else geometry.rounding
        out.append(shapes.padded_output_size(size[axis], k_eff, geometry.strides[axis], total, rounding=rounding))
    return out[0], out[1]


def _transposed_size(node: ir.Conv2DTranspose, geometry: Geometry, size: tuple[int, int]) -> tuple[int, int] | None:
    """W·S (`same`) or W·S + max(F − S, 0) (`valid`); None for any other padding, which Keras's
    Conv2DTranspose does not have."""
    if geometry.padding not in ("same", "valid"):
        return None
    padding = "same" if geometry.padding == "same" else "valid"
    height, width = (
        shapes.transposed_output_size(size[axis], node.kernel_size[axis], geometry.strides[axis], padding)
        for axis in (0, 1)
    )
    return height, width


def rounding_of(node: Spatial) -> ir.Rounding:
    """How the layer rounds (W + 2P − F)/S + 1; a transposed conv multiplies and never rounds."""
    return "exact" if isinstance(node, ir.Conv2DTranspose) else node.rounding


# ---- one row ----------------------------------------------------------------------


def _solve_row(
    nodes: list[Node],
    index: int,
    spatial: int | None,
    flow: list[LayerInfo],
    info: LayerInfo,
    found: list[Diagnostic],
) -> tuple[int, Geometry, list[Geometry]] | None:
    """Where the row at `index` (a conv or pool, with its BN and activation) disagrees with its
    declared size and its geometry was assumed: the position of its conv or pool, the first
    geometry that fits, and the other candidates that would fit under other conventions."""
    declared = nodes[index].claims.shape
    if spatial is None or declared is None or len(declared) < 2:
        return None
    node = nodes[spatial]
    assert isinstance(node, Spatial)
    if not _unstated(node):
        return None
    source = flow[node.inputs[0]].shape
    if source is None or len(source) != 3:
        return None
    target = (declared[0], declared[1])
    size = (source[0], source[1])
    disagrees = info.shape is None or info.shape[:2] != target or any(d.is_error for d in found)
    if not disagrees:
        return _confirmed(node, spatial, size, target)
    candidates = fitting(node, size, target)
    if not candidates:
        return None
    chosen = candidates[0]
    also = [g for g in fitting(node, size, target, any_rounding=True) if not equivalent(node, g, chosen)]
    return spatial, chosen, also


def _confirmed(
    node: Spatial, position: int, size: tuple[int, int], target: tuple[int, int]
) -> tuple[int, Geometry, list[Geometry]] | None:
    """An assumed padding that the row's declared size agrees with, where no padding would
    not: the table pins it, so it is inferred, no longer assumed."""
    if node.origin("padding") is not Origin.ASSUMED:
        return None
    unpadded = Geometry("valid", node.strides, rounding_of(node))
    if output_size(node, unpadded, size) == target:
        return None
    current = Geometry.of(node)
    also = [g for g in fitting(node, size, target, any_rounding=True) if not equivalent(node, g, current)]
    return position, current, also


def equivalent(node: Spatial, one: Geometry, other: Geometry) -> bool:
    """Whether two geometries pad the same way: `pad 1` and `pad 1 with floor`, or `same`
    and `pad 1` for a 3×3 window at stride 1."""
    if one.strides != other.strides:
        return False
    if one.padding == other.padding:
        return True
    explicit = one.padding if one.padding not in ("same", "valid") else other.padding
    if "same" not in (one.padding, other.padding) or explicit in ("same", "valid"):
        return False
    window = window_of(node)
    return all(shapes.is_same_equivalent(window[axis], one.strides[axis], *explicit[axis]) for axis in (0, 1))


def _replay(nodes: list[Node], start: int, end: int, flow: list[LayerInfo]) -> tuple[LayerInfo, list[Diagnostic]]:
    """Infer nodes start…end again after the conv or pool at `start` changed; `flow` holds the
    nodes before `end`, and the nodes between pass their shape on. `flow` is lent, not copied (a
    copy per solved row was quadratic: 30,000 rows, 10 s), and left as it was."""
    kept = flow[start:]  # at most the row's _ROW_PARTS nodes, as first inferred
    del flow[start:]
    try:
        info, found = infer_node(nodes[start], flow, nodes)
        for position in range(start + 1, end + 1):
            flow.append(info)
            info, found = infer_node(nodes[position], flow, nodes)
    finally:
        del flow[start:]
        flow.extend(kept)
    return info, found


_ROW_PARTS = 4
"""The most nodes a conv's line adds after it (batch norm, activation, dropout…)."""


def spatial_source(nodes: Sequence[Node], index: int) -> int | None:
    """The conv or pool whose output the row at `index` describes: the node itself, or the one
    its batch norm and activation (written on the same line) follow."""
    position = index
    for _ in range(_ROW_PARTS):  # `[dropout] x10000` on one line is 10,000 rows, not one
        if not (isinstance(nodes[position], _PASS_THROUGH) and nodes[position].inputs):
            break
        previous = nodes[position].inputs[0]
        if nodes[previous].span != nodes[index].span:
            return None
        position = previous
    return position if isinstance(nodes[position], Spatial) else None


def _open_row(nodes: Sequence[Node], index: int) -> bool:
    """Whether the row at `index` describes a conv or pool whose geometry the spec left open."""
    position = spatial_source(nodes, index)
    if position is None:
        return False
    node = nodes[position]
    return isinstance(node, Spatial) and _unstated(node)


def _unstated(node: Spatial) -> bool:
    return node.origin("padding") is Origin.ASSUMED or node.origin("strides") is Origin.ASSUMED


def _with_geometry(node: Spatial, geometry: Geometry) -> Spatial:
    marked = dict(node.origins)
    for attribute, changed in (
        ("padding", geometry.padding != node.padding or geometry == Geometry.of(node)),
        ("strides", geometry.strides != node.strides),
        ("rounding", geometry.rounding != rounding_of(node) and geometry.rounding != "exact"),
    ):
        if changed:
            marked[attribute] = Origin.INFERRED
    if isinstance(node, ir.Conv2DTranspose):
        assert geometry.padding in ("same", "valid")
        padding: Literal["same", "valid"] = "same" if geometry.padding == "same" else "valid"
        return replace(node, padding=padding, strides=geometry.strides, origins=tuple(marked.items()))
    return replace(
        node,
        padding=geometry.padding,
        strides=geometry.strides,
        rounding=node.rounding if geometry.rounding == "exact" else geometry.rounding,
        origins=tuple(marked.items()),
    )


def _inferred_note(
    node: Spatial, geometry: Geometry, also: list[Geometry], declared: tuple[int, ...] | None
) -> Diagnostic:
    assert declared is not None
    message = f"{ir.describe(node)}: {geometry.describe(node)}, inferred from the table's {dims(declared)}"
    notes = (f"also fits: {'; '.join(g.describe(node) for g in also[:3])}",) if also else ()
    if not padding_papers_use(node, geometry):
        window = window_of(node)
        usual = sorted({0, (max(window) - 1) // 2})
        message += (
            f", but no paper pads a {window[0]}×{window[1]} window by that "
            f"(pad {' or '.join(map(str, usual))}, or `same`): the printed size is more likely the error"
        )
        return Diagnostic("P313", message, node.span, severity=Severity.WARNING, notes=notes)
    return Diagnostic("P311", message, node.span, severity=Severity.NOTE, notes=notes)


def padding_papers_use(node: Spatial, geometry: Geometry) -> bool:
    """Padding 0, `same`, or the (F − 1)/2 (or F/2) that keeps the size: what tables mean.

    >>> from papernet.span import Span
    >>> conv = ir.Conv2D(name="c", inputs=(0,), span=Span("a", 1, 1, 1, 2), filters=8, kernel_size=(3, 3),
    ...                  strides=(1, 1), padding="valid")
    >>> [padding_papers_use(conv, Geometry(((p, p), (p, p)), (1, 1), "exact")) for p in (0, 1, 2)]
    [True, True, False]
    """
    if isinstance(geometry.padding, str):
        return True
    window = window_of(node)
    return all(
        side in (0, (window[axis] - 1) // 2, window[axis] // 2)
        for axis, pads in enumerate(geometry.padding)
        for side in pads
    )


# ---- text -------------------------------------------------------------------------


def window_of(node: Spatial) -> ir.Pair:
    """The layer's window: a pool's size, a conv's kernel."""
    return node.pool_size if isinstance(node, ir.Pool2D) else node.kernel_size


def dilation_of(node: Spatial) -> ir.Pair:
    """The layer's dilation: (1, 1) for the kinds that have none."""
    return node.dilation if isinstance(node, Dilated) else (1, 1)


def _pads_by_convention(most: int, window: ir.Pair, within: tuple[int, int] | None = None) -> list[int]:
    """Paddings 0…most (and `within` the least and most given), the conventional (F − 1)/2 first,
    then by distance from it.

    >>> _pads_by_convention(6, (7, 7)), _pads_by_convention(1, (3, 3)), _pads_by_convention(6, (7, 7), (4, 9))
    ([3, 2, 4, 1, 5, 0, 6], [1, 0], [4, 5, 6])

    Within a range, only the `MAX_PADS_TRIED` nearest the convention (a window of 999,999 pooled
    down to 1×1 is reached by half a million paddings):

    >>> pads = _pads_by_convention(999_998, (999_999, 1), (0, 499_999))
    >>> len(pads), pads[:3]
    (16, [499999, 499998, 499997])
    """
    half = (max(window) - 1) // 2
    if within is None:
        return sorted(range(most + 1), key=lambda p: (abs(p - half), p))
    least, most = max(0, within[0]), min(most, within[1])
    nearest = min(max(half, least), most)  # the MAX_PADS_TRIED nearest to `half` lie this close to it
    tried = range(max(least, nearest - MAX_PADS_TRIED), min(most, nearest + MAX_PADS_TRIED) + 1)
    return sorted(tried, key=lambda p: (abs(p - half), p))[:MAX_PADS_TRIED]


def _pair_text(pair: ir.Pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def _padding_text(padding: tuple[ir.Pair, ir.Pair]) -> str:
    (top, bottom), (left, right) = padding
    if top == bottom == left == right:
        return f"pad {top}"
    return f"pad {top}+{bottom}, {left}+{right}"
