"""The diagram's geometry and its SVG: a recursive series–parallel layout, in whole pixels.

Every item is a rectangle entered at its top centre and left at its bottom centre. A series
stacks its items on one centre line, joined by lines; a parallel sets its branches side by
side under a fork bar and above a join bar; a group is a labelled frame round its series.
Sizes are measured bottom-up (`_measure`), then placed top-down (`_place`). Text widths come
from a monospace font (0.6 em a character), so the layout needs no font metrics and every
coordinate is an integer: the same tree gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from papernet.diagnostics import printable

# ---- the tree the layout draws (built by papernet.diagram) --------------------------------


@dataclass(frozen=True, slots=True)
class Leaf:
    """One box: a layer, or a collapsed block (`kind == "block"`)."""

    nodes: tuple[int, ...]
    label: str = ""
    detail: str = ""
    tooltip: str = ""
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Series:
    items: tuple[Item, ...]
    connected: bool = True  # False in the fallback column, where only the graph's edges are drawn


@dataclass(frozen=True, slots=True)
class Parallel:
    branches: tuple[Series, ...]  # an empty series is the identity: the fork's own output


@dataclass(frozen=True, slots=True)
class Group:
    path: tuple[str, ...]
    body: Series
    tooltip: str = ""


Item: TypeAlias = Leaf | Parallel | Group


def xml_text(text: str) -> str:
    """User text made safe for XML and HTML: invisible characters shown escaped, markup escaped.

    >>> xml_text('a<b & "c"\\x00')
    'a&lt;b &amp; &quot;c&quot;\\\\x00'
    """
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def xml_lines(text: str) -> str:
    """`xml_text` for a multi-line tooltip: each line made safe, the line breaks kept."""
    return "\n".join(xml_text(line) for line in text.split("\n"))


# ---- geometry ------------------------------------------------------------------------------

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
LABEL_SIZE, DETAIL_SIZE, GROUP_SIZE, TITLE_SIZE = 12, 11, 11, 14
BOX_HEIGHT, BOX_MIN_WIDTH, BOX_PADDING = 36, 120, 10
GAP = 14  # between the items of a series
BRANCH_GAP = 16  # between the branches of a parallel
FORK = 12  # the height of a fork's (or a join's) bar
EMPTY_WIDTH = 12  # an identity branch: a line
GROUP_PADDING, GROUP_HEADER = 10, 20
MARGIN, TITLE_HEIGHT = 16, 24
LANE = 8  # the fallback column's edge lanes, to the right of everything

COLOURS = {  # kind: (fill, stroke)
    "conv": ("#dbeafe", "#3b82f6"),
    "pool": ("#dcfce7", "#16a34a"),
    "fc": ("#ffedd5", "#ea580c"),
    "merge": ("#fef9c3", "#ca8a04"),
    "input": ("#ffffff", "#334155"),
    "invalid": ("#fee2e2", "#dc2626"),
    "block": ("#ede9fe", "#7c3aed"),
    "other": ("#f1f5f9", "#94a3b8"),
}
EDGE_COLOUR, GROUP_FILL, GROUP_STROKE, TEXT_COLOUR, DETAIL_COLOUR = (
    "#64748b",
    "#f8fafc",
    "#94a3b8",
    "#0f172a",
    "#475569",
)


@dataclass(slots=True)
class _Sized:
    """An item's extent around the line it is entered and left on: `left` and `right` of it."""

    item: Item | Series
    left: int
    right: int
    height: int
    parts: list[_Sized] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)  # a parallel's branch lines, from its own


@dataclass(slots=True)
class _Canvas:
    frames: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    boxes: list[str] = field(default_factory=list)
    where: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)  # node → its box x, y, w, h
    row: dict[int, int] = field(default_factory=dict)  # node → its box's place, top to bottom


def to_svg(title: str, tree: Series, edges: tuple[tuple[int, int], ...] = ()) -> str:
    """The drawing; `edges`, for the fallback column, are the graph's edges to draw explicitly."""
    sized = _measure(tree)
    canvas = _Canvas()
    line = MARGIN + sized.left
    _place(sized, line, MARGIN + TITLE_HEIGHT, canvas)
    lanes = _route(edges, canvas, line + sized.right) if edges else 0
    width = max(line + sized.right + lanes * LANE, MARGIN + _text_width(title, TITLE_SIZE)) + MARGIN
    height = MARGIN + TITLE_HEIGHT + sized.height + MARGIN
    name = xml_text(title)
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="papernet-diagram" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="{LABEL_SIZE}" role="img" '
            f'aria-label="{name}">\n',
            f"<title>{name}</title>\n",
            f'<text x="{MARGIN}" y="{MARGIN + TITLE_SIZE}" font-size="{TITLE_SIZE}" font-weight="bold" '
            f'fill="{TEXT_COLOUR}">{name}</text>\n',
            '<g class="groups">\n',
            *canvas.frames,
            "</g>\n",
            f'<g class="edges" fill="none" stroke="{EDGE_COLOUR}" stroke-width="1.5">\n',
            *canvas.lines,
            "</g>\n",
            '<g class="nodes">\n',
            *canvas.boxes,
            "</g>\n</svg>\n",
        ]
    )


def _text_width(text: str, size: int) -> int:
    return (len(text) * 6 * size + 9) // 10


# ---- measuring ---------------------------------------------------------------------------


def _measure(item: Item | Series) -> _Sized:
    if isinstance(item, Series):
        return _measure_series(item)
    if isinstance(item, Parallel):
        return _measure_parallel(item)
    if isinstance(item, Group):
        body = _measure(item.body)
        label = _text_width(item.path[-1], GROUP_SIZE)
        left = max(body.left + GROUP_PADDING, label + GROUP_PADDING + 8)  # the label stays left of the line
        return _Sized(item, left, body.right + GROUP_PADDING, GROUP_HEADER + body.height + GROUP_PADDING, [body])
    text = max(_text_width(item.label, LABEL_SIZE), _text_width(item.detail, DETAIL_SIZE))
    half = (max(BOX_MIN_WIDTH, text + 2 * BOX_PADDING) + 1) // 2
    return _Sized(item, half, half, BOX_HEIGHT)


def _measure_series(series: Series) -> _Sized:
    """A series' boxes share one width, the widest one's: a column reads better than a ragged one."""
    if not series.items:
        return _Sized(series, EMPTY_WIDTH // 2, EMPTY_WIDTH // 2, 0)
    parts = [_measure(item) for item in series.items]
    boxes = [p for p in parts if isinstance(p.item, Leaf)]
    half = max((p.left for p in boxes), default=0)
    for box in boxes:
        box.left = box.right = half
    height = sum(p.height for p in parts) + GAP * (len(parts) - 1)
    return _Sized(series, max(p.left for p in parts), max(p.right for p in parts), height, parts)


def _measure_parallel(parallel: Parallel) -> _Sized:
    """Branches side by side. The parallel is entered on its main path's line when one branch is
    taller than every other (a residual block's: the shortcut runs beside it), else mid-way."""
    parts = [_measure(branch) for branch in parallel.branches]
    lines, x = [], 0
    for part in parts:
        lines.append(x + part.left)
        x += part.left + part.right + BRANCH_GAP
    width = x - BRANCH_GAP
    heights = sorted((p.height for p in parts), reverse=True)
    tallest = next(i for i, p in enumerate(parts) if p.height == heights[0])
    entry = lines[tallest] if len(heights) < 2 or heights[0] > heights[1] else width // 2
    height = 2 * FORK + heights[0]
    return _Sized(parallel, entry, width - entry, height, parts, [line - entry for line in lines])


# ---- placing -----------------------------------------------------------------------------


def _place(sized: _Sized, line: int, top: int, canvas: _Canvas) -> None:
    item = sized.item
    if isinstance(item, Series):
        _place_series(sized, item.connected, line, top, canvas)
    elif isinstance(item, Parallel):
        _place_parallel(sized, line, top, canvas)
    elif isinstance(item, Group):
        _place_group(sized, item, line, top, canvas)
    else:
        _place_box(item, line - sized.left, top, sized.left + sized.right, canvas)


def _place_series(sized: _Sized, connected: bool, line: int, top: int, canvas: _Canvas) -> None:
    y = top
    for index, part in enumerate(sized.parts):
        if index and connected:
            canvas.lines.append(_path(f"M{line} {y - GAP}V{y}"))
        _place(part, line, y, canvas)
        y += part.height + GAP


def _place_parallel(sized: _Sized, line: int, top: int, canvas: _Canvas) -> None:
    bottom = top + sized.height
    for part, offset in zip(sized.parts, sized.anchors, strict=True):
        branch, end = line + offset, top + FORK + part.height
        canvas.lines.append(_path(f"M{line} {top}V{top + FORK // 2}H{branch}V{top + FORK}"))
        canvas.lines.append(_path(f"M{branch} {end}V{bottom - FORK // 2}H{line}V{bottom}"))
        _place(part, branch, top + FORK, canvas)


def _place_group(sized: _Sized, group: Group, line: int, top: int, canvas: _Canvas) -> None:
    (body,) = sized.parts
    left, width = line - sized.left, sized.left + sized.right
    dash = ' stroke-dasharray="4 3"' if len(group.path) > 1 else ""
    canvas.frames.append(
        f'<g class="group"><title>{xml_lines(group.tooltip)}</title>'
        f'<rect x="{left}" y="{top}" width="{width}" height="{sized.height}" rx="8" '
        f'fill="{GROUP_FILL}" fill-opacity="0.6" stroke="{GROUP_STROKE}"{dash}/>'
        f'<text x="{left + GROUP_PADDING}" y="{top + 14}" font-size="{GROUP_SIZE}" font-weight="bold" '
        f'fill="{DETAIL_COLOUR}">{xml_text(group.path[-1])}</text></g>\n'
    )
    inner = top + GROUP_HEADER
    if isinstance(body.item, Series) and body.item.connected:
        canvas.lines.append(_path(f"M{line} {top}V{inner}"))
        canvas.lines.append(_path(f"M{line} {inner + body.height}V{top + sized.height}"))
    _place(body, line, inner, canvas)


def _place_box(leaf: Leaf, left: int, top: int, width: int, canvas: _Canvas) -> None:
    fill, stroke = COLOURS.get(leaf.kind, COLOURS["other"])
    centre = left + width // 2
    for node in leaf.nodes:
        canvas.where[node] = (left, top, width, BOX_HEIGHT)
        canvas.row[node] = len(canvas.boxes)
    canvas.boxes.append(
        f'<g class="node" data-kind="{xml_text(leaf.kind)}"><title>{xml_lines(leaf.tooltip)}</title>'
        f'<rect x="{left}" y="{top}" width="{width}" height="{BOX_HEIGHT}" rx="4" fill="{fill}" stroke="{stroke}"/>'
        f'<text x="{centre}" y="{top + 15}" text-anchor="middle" fill="{TEXT_COLOUR}">{xml_text(leaf.label)}</text>'
        f'<text x="{centre}" y="{top + 29}" text-anchor="middle" font-size="{DETAIL_SIZE}" '
        f'fill="{DETAIL_COLOUR}">{xml_text(leaf.detail)}</text></g>\n'
    )


def _path(d: str) -> str:
    return f'<path d="{d}"/>\n'


# ---- the fallback column's edges ---------------------------------------------------------


def _route(edges: tuple[tuple[int, int], ...], canvas: _Canvas, right: int) -> int:
    """Edges between neighbouring boxes go straight down; the rest run in lanes to the right.
    Returns how many lanes it took."""
    rows = {(canvas.row[a], canvas.row[b]): (a, b) for a, b in reversed(edges) if canvas.row[a] != canvas.row[b]}
    lane_ends: list[int] = []
    for (start, end), (a, b) in sorted(rows.items()):
        (ax, ay, aw, ah), (bx, by, bw, _) = canvas.where[a], canvas.where[b]
        if end == start + 1:
            canvas.lines.append(_path(f"M{ax + aw // 2} {ay + ah}V{by}"))
            continue
        lane = next((i for i, last in enumerate(lane_ends) if last < start), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(end)
        lane_ends[lane] = end
        x = right + (lane + 1) * LANE
        canvas.lines.append(_path(f"M{ax + aw} {ay + ah // 2}H{x}V{by + BOX_HEIGHT // 2}H{bx + bw}"))
    return len(lane_ends)
