"""Reports: the annotated network as a table (rich), JSON, Markdown, CSV or HTML.

One `Report` holds the rows; each format is a small function of it. `str(report)` is
the table, and in a notebook the report renders as HTML. rich is imported only when a
table is drawn, so `papernet summary --format json` stays light.
"""

from __future__ import annotations

import html
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from papernet import ir
from papernet.diagnostics import printable
from papernet.infer import PAST_BOUND, Inference, beyond_bound, dims, stored_activations
from papernet.ir import Graph, Node, Origin

if TYPE_CHECKING:
    from rich.table import Table

    from papernet.check import Reconciliation


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    kind: str
    layer: str  # the layer in the paper's notation: conv3-64, maxpool 2×2/2, FC-4096
    line: int
    output_shape: tuple[int, ...] | None
    params: int
    trainable_params: int
    macs: int
    activations: int
    receptive_field: int | None
    effective_stride: int | None
    assumed: tuple[str, ...]
    notes: tuple[str, ...]
    block: tuple[str, ...] = ()  # the blocks it belongs to, outermost first: ("conv2_x", "block1")


@dataclass(frozen=True, slots=True)
class Report:
    network: str
    input: tuple[int, ...] | None
    convention: str
    rows: tuple[Row, ...]
    total_params: int
    total_trainable: int
    total_macs: int
    total_activations: int
    diagram: Callable[[], str] | None = field(default=None, repr=False, compare=False)  # the SVG, drawn when asked

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "input": list(self.input) if self.input else None,
            "convention": self.convention,
            "layers": [_row_dict(row) for row in self.rows],
            "total": {
                "params": self.total_params,
                "trainable_params": self.total_trainable,
                "macs": self.total_macs,
                "activations": self.total_activations,
            },
        }

    def to_json(self) -> str:
        """`json.dumps(self.to_dict(), indent=2, ensure_ascii=False)`, byte for byte, written a row
        at a time: the json module's indenting encoder is pure Python, and the dict of a
        100,000-layer report alone is a few hundred MB."""
        from json.encoder import encode_basestring  # here: a cold `papernet check` needs no JSON

        def field(key: str, text: str) -> str:
            return f"{encode_basestring(key)}: {text}"

        rows = [_json(_row_dict(row), 2, encode_basestring) for row in self.rows]
        head = self.to_dict() | {"layers": []}
        fields = [
            field(key, _json(value, 1, encode_basestring) if key != "layers" or not rows else "")
            for key, value in head.items()
        ]
        if rows:
            index = list(head).index("layers")
            fields[index] += "[\n    " + ",\n    ".join(rows) + "\n  ]"
        return "{\n  " + ",\n  ".join(fields) + "\n}\n"

    def to_markdown(self) -> str:
        header = ["#", "name", "layer", "line", "output", "params", "MACs", "RF", "assumed"]
        lines = [
            f"## {_md(self.network)}",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---:" if h in ("#", "line", "params", "MACs", "RF") else "---" for h in header) + "|",
        ]
        for index, row in enumerate(self.rows):
            cells = [
                str(index),
                _md(_display_name(row)),
                _md(row.layer),
                str(row.line),
                _shape(row.output_shape),
                f"{row.params:,}",
                f"{row.macs:,}",
                _int(row.receptive_field),
                _md(", ".join(row.assumed + row.notes)),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", *(f"- {line}" for line in self.footer())]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        import csv

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "name",
                "kind",
                "layer",
                "line",
                "output_shape",
                "params",
                "trainable_params",
                "macs",
                "activations",
                "receptive_field",
                "effective_stride",
                "assumed",
                "notes",
                "block",
            ]
        )
        for row in self.rows:
            writer.writerow(
                [
                    row.name,
                    row.kind,
                    row.layer,
                    row.line,
                    _shape(row.output_shape, "x"),
                    row.params,
                    row.trainable_params,
                    row.macs,
                    row.activations,
                    _int(row.receptive_field),
                    _int(row.effective_stride),
                    "; ".join(row.assumed),
                    "; ".join(row.notes),
                    "/".join(row.block),
                ]
            )
        return out.getvalue()

    def to_html(self, document: bool = True) -> str:
        """The report as a styled HTML table with the diagram: a whole page, or (`document=False`,
        as a notebook shows it) one self-contained `<div>`."""
        fragment = _html_report(self)
        if not document:
            return fragment
        title = _h(self.network)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n</head>\n<body>\n{fragment}</body>\n</html>\n"
        )

    def footer(self) -> list[str]:
        macs = self.total_macs
        lines = [
            f"params: {self.total_params:,} (trainable {self.total_trainable:,}, "
            f"non-trainable {self.total_params - self.total_trainable:,}; {self.convention} convention)",
            f"multiply-adds (MACs): {macs:,} ≈ {_si(macs)}; FLOPs = 2·MACs = {_si(2 * macs)}",
            f"activations: {self.total_activations:,} values per example",
        ]
        if any(row.assumed for row in self.rows):
            lines.append("assumed: values the spec does not state, taken from papernet's built-in defaults")
        return lines

    def to_table(self) -> Table:
        """The report as a rich `Table`, for rich users (`rich.print(report)`); `to_text` needs no rich."""
        from rich.markup import escape
        from rich.table import Table

        table = Table(
            title=escape(printable(self.network)),
            title_justify="left",
            caption="\n".join(self.footer()),
            caption_justify="left",
        )
        for column in _COLUMNS:
            table.add_column(column.header, justify="right" if column.right else "left")
        for index, row in enumerate(self.rows):
            table.add_row(*(escape(cell) for cell in _cells(index, row)))
        return table

    def to_text(self, width: int | None = None) -> str:
        """The table as plain text. With a `width` (a terminal's columns), columns are dropped or
        abbreviated until it fits; a figure (shape, params, MACs) is never cut."""
        cells = [_cells(index, row) for index, row in enumerate(self.rows)]
        layout = fit_columns(cells, width)
        footer = self.footer()
        if layout.left_out:
            footer.append(
                f"left out to fit {width} columns: {', '.join(layout.left_out)} "
                "(COLUMNS=200 or --format markdown shows every column)"
            )
        if width is not None:
            footer = [part for line in footer for part in _wrapped(line, width)]
        return "\n".join([printable(self.network), *_aligned(layout, cells), "", *footer]) + "\n"

    def __str__(self) -> str:
        return self.to_text()

    def __rich__(self) -> Table:
        return self.to_table()

    def _repr_html_(self) -> str:
        return self.to_html(document=False)


# ---- the table as text, fitted to a width ------------------------------------------


class Column(NamedTuple):  # NamedTuple, not dataclass: a tenth of the import time
    """A column of the text table. Only text columns (a minimum > 0) are ever abbreviated:
    cutting `1,849,688,064` to `1,849,6…` would show a wrong figure."""

    header: str
    right: bool  # right-aligned: a number
    minimum: int = 0  # a text column is abbreviated (`conv2_blo…`) no narrower than this


_NOTES = "assumed / notes"
_COLUMNS = (
    Column("#", right=True),
    Column("name", right=False, minimum=8),
    Column("layer", right=False, minimum=8),
    Column("line", right=True),
    Column("output", right=False),
    Column("params", right=True),
    Column("MACs", right=True),
    Column("RF", right=True),
    Column(_NOTES, right=False, minimum=15),
)
_GAP = "  "
# How the table narrows, one step at a time until it fits: the columns left out so far, and the
# text columns that may be abbreviated. The least needed go first; the shape, params and MACs
# always stay, whole.
_STEPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    ((), (_NOTES,)),
    ((_NOTES,), ()),
    ((_NOTES, "line"), ("name", "layer")),
    ((_NOTES, "line", "RF"), ("name", "layer")),
    ((_NOTES, "line", "RF", "#"), ("name", "layer")),
    ((_NOTES, "line", "RF", "#", "layer"), ("name",)),
    ((_NOTES, "line", "RF", "#", "layer", "name"), ()),
)


class Layout(NamedTuple):
    """The columns shown (indices into `_COLUMNS`), each with its width, and those left out."""

    shown: tuple[tuple[int, int], ...]
    left_out: tuple[str, ...]


def _cells(index: int, row: Row) -> tuple[str, ...]:
    return (
        str(index),
        printable(_display_name(row)),
        printable(row.layer),
        str(row.line),
        _shape(row.output_shape),
        f"{row.params:,}",
        f"{row.macs:,}",
        _int(row.receptive_field),
        printable(", ".join(row.assumed + row.notes)),
    )


def fit_columns(cells: list[tuple[str, ...]], width: int | None) -> Layout:
    """The first layout of `_STEPS` that fits `width` (None: no limit). Figures keep their full
    width, so a width too small even for shape, params and MACs gives lines longer than `width`.

    >>> cells = [("0", "conv2_x_block1_1_conv", "conv1-64", "18", "56×56×64", "4,160", "12,845,056", "11", "")]
    >>> def fit(width):
    ...     layout = fit_columns(cells, width)
    ...     return [(_COLUMNS[i].header, w) for i, w in layout.shown], layout.left_out
    >>> fit(100)[1], fit(80)[1], fit(70)[1]
    ((), ('assumed / notes',), ('assumed / notes', 'line'))
    >>> fit(60)  # the name abbreviated to 13 columns
    ([('#', 1), ('name', 13), ('layer', 8), ('output', 8), ('params', 6), ('MACs', 10), ('RF', 2)], \
('assumed / notes', 'line'))
    >>> fit(20)  # too narrow even for the figures: they stay whole
    ([('output', 8), ('params', 6), ('MACs', 10)], ('assumed / notes', 'line', 'RF', '#', 'layer', 'name'))
    """
    natural = [max([_display_width(c.header)] + [_display_width(r[i]) for r in cells]) for i, c in enumerate(_COLUMNS)]
    for left_out, abbreviated in _STEPS:
        shown = [i for i, c in enumerate(_COLUMNS) if c.header not in left_out]
        floor = {i: _COLUMNS[i].minimum if _COLUMNS[i].header in abbreviated else natural[i] for i in shown}
        floors = [min(natural[i], floor[i]) for i in shown]
        widths = _widths_within([natural[i] for i in shown], floors, width)
        if widths is not None:
            return Layout(tuple(zip(shown, widths, strict=True)), left_out)
    return Layout(tuple((i, natural[i]) for i in shown), left_out)


def _widths_within(widths: list[int], floors: list[int], width: int | None) -> list[int] | None:
    """The widths, the widest abbreviable column narrowed first, until the line fits in `width`;
    None if even the floors do not fit."""
    if width is None:
        return widths
    excess = sum(widths) + len(_GAP) * (len(widths) - 1) - width
    if excess > sum(w - f for w, f in zip(widths, floors, strict=True)):
        return None
    widths = list(widths)
    while excess > 0:
        shrinkable = [k for k in range(len(widths)) if widths[k] > floors[k]]
        widths[max(shrinkable, key=lambda k: widths[k])] -= 1
        excess -= 1
    return widths


def _aligned(layout: Layout, cells: list[tuple[str, ...]]) -> list[str]:
    def line(row: tuple[str, ...]) -> str:
        parts = []
        for index, width in layout.shown:
            text = _abbreviated(row[index], width)
            pad = " " * (width - _display_width(text))
            parts.append(pad + text if _COLUMNS[index].right else text + pad)
        return _GAP.join(parts).rstrip()

    header = line(tuple(c.header for c in _COLUMNS))
    rule = _GAP.join("─" * width for _, width in layout.shown)
    return [header, rule, *(line(row) for row in cells), rule]


def _wrapped(line: str, width: int) -> list[str]:
    """A footer line wrapped at spaces, continuation lines indented; a figure is never split."""
    import textwrap

    return textwrap.wrap(line, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)


def _display_width(text: str) -> int:
    """Terminal columns: wide (East Asian) characters take two."""
    if text.isascii() or max(text) < _FIRST_WIDE:  # `56×56×64`: no wide character, one column each
        return len(text)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


_FIRST_WIDE = "\u1100"  # no character before U+1100 (Hangul Jamo) is wide (W) or full-width (F)


def _abbreviated(text: str, width: int) -> str:
    """
    >>> _abbreviated("conv2_block1_out", 10), _abbreviated("relu", 10)
    ('conv2_blo…', 'relu')
    """
    if _display_width(text) <= width:
        return text
    used = 0
    for end, char in enumerate(text):  # one pass: a 9,000-character label is not measured 9,000 times
        used += _display_width(char)
        if used > width - 1:
            return text[:end] + "…"
    return text + "…"


def build_report(graph: Graph, inference: Inference, depth: int | None = None) -> Report:
    """The report; with `depth`, blocks nested deeper than `depth` show as one row each, with
    their totals (depth 1: ResNet's stages; depth 2: its blocks)."""
    stored = stored_activations(graph, inference)
    rows = tuple(
        _row(node, info, _paths_note(node, inference), values)
        for node, info, values in zip(graph.nodes, inference.layers, stored, strict=True)
    )
    if depth is not None:
        rows = collapse(rows, depth)
    first = graph.nodes[0] if graph.nodes else None
    input_shape = first.shape if isinstance(first, ir.Input) else None
    return Report(
        graph.name,
        input_shape,
        inference.convention,
        rows,
        inference.total_params,
        inference.total_trainable,
        inference.total_macs,
        sum(stored),
        diagram=lambda: _draw(graph, inference, depth),
    )


def _draw(graph: Graph, inference: Inference, depth: int | None) -> str:
    from papernet.diagram import draw

    return draw(graph, inference, depth)


def collapse(rows: tuple[Row, ...], depth: int) -> tuple[Row, ...]:
    """Rows of blocks deeper than `depth` merged into one row per block, like torchinfo's depth.

    >>> rows = tuple(Row(f"c{i}", "conv", "conv3-8", 1, (8, 8, 8), 10, 10, 5, 512, 3, 1, (), (), ("s1", f"b{i // 2}"))
    ...              for i in range(4))
    >>> [(r.name, r.params, r.layer) for r in collapse(rows, 1)]
    [('s1', 40, '4 layers')]
    >>> [(r.name, r.block) for r in collapse(rows, 2)]
    [('b0', ('s1',)), ('b1', ('s1',))]
    """
    out: list[Row] = []
    group: list[Row] = []

    def flush() -> None:
        if group:
            key = group[0].block[:depth]
            last = group[-1]
            out.append(
                Row(
                    key[-1],
                    "block",
                    f"{len(group)} layers",
                    group[0].line,
                    last.output_shape,
                    sum(r.params for r in group),
                    sum(r.trainable_params for r in group),
                    sum(r.macs for r in group),
                    sum(r.activations for r in group),
                    last.receptive_field,
                    last.effective_stride,
                    (),
                    (),
                    key[:-1],
                )
            )
            group.clear()

    for row in rows:
        if len(row.block) >= depth > 0 and (not group or group[0].block[:depth] == row.block[:depth]):
            group.append(row)
            continue
        flush()
        if len(row.block) >= depth > 0:
            group.append(row)
        else:
            out.append(row)
    flush()
    return tuple(out)


def _paths_note(node: Node, inference: Inference) -> tuple[str, ...]:
    """Where a merge's paths see different windows of the input, say which one is reported."""
    fields = {max(f) for f in (inference.layers[i].receptive_field for i in node.inputs) if f is not None}
    if len(node.inputs) < 2 or len(fields) < 2:
        return ()
    return (f"paths see {min(fields)} to {max(fields)} px; receptive field is the largest",)


def _row(node: Node, info: Any, notes: tuple[str, ...], activations: int) -> Row:
    rf = max(info.receptive_field) if info.receptive_field else None
    jump = max(info.jump) if info.jump else None
    if beyond_bound(rf) or beyond_bound(jump):
        notes = (*notes, f"{PAST_BOUND}: not counted further")
        rf, jump = (None if beyond_bound(rf) else rf), (None if beyond_bound(jump) else jump)
    return Row(
        node.name,
        ir.kind_of(node),
        ir.describe(node),
        node.span.line,
        info.shape,
        info.params,
        info.trainable,
        info.macs,
        activations,
        rf,
        jump,
        _assumptions(node),
        _notes(node) + notes,
        node.scope,
    )


def _assumptions(node: Node) -> tuple[str, ...]:
    out = []
    for attribute, origin in node.origins:
        if origin is Origin.ASSUMED:
            out.append(_describe_value(node, attribute))
        elif origin is Origin.INFERRED:
            out.append(_describe_value(node, attribute) + " (inferred from the table)")
    return tuple(out)


def _describe_value(node: Node, attribute: str) -> str:
    if attribute == "global":
        return "global pooling"
    value = getattr(node, attribute, None)
    word = {
        "strides": "stride",
        "pool_size": "window",
        "kernel_size": "kernel",
        "alpha": "slope",
        "use_bias": "bias",
    }.get(attribute, attribute)
    if attribute == "alpha" and isinstance(node, ir.ActivationLayer):
        value = node.activation.alpha
    return f"{word} {_value_text(value)}"


def _value_text(value: object) -> str:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"
    if isinstance(value, tuple):
        (top, bottom), (left, right) = value  # explicit padding
        return str(top) if len({top, bottom, left, right}) == 1 else f"{top},{bottom},{left},{right}"
    if isinstance(value, ir.Activation):
        return value.describe()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _notes(node: Node) -> tuple[str, ...]:
    if isinstance(node, ir.Flatten) and node.implicit:
        return ("implicit flatten before the FC",)
    return ()


def _display_name(row: Row) -> str:
    """A block row shows its path (`conv2_x/block1`); a layer's name already says where it is."""
    return "/".join((*row.block, row.name)) if row.kind == "block" else row.name


def _row_dict(row: Row) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "layer": row.layer,
        "line": row.line,
        "output_shape": list(row.output_shape) if row.output_shape is not None else None,
        "params": row.params,
        "trainable_params": row.trainable_params,
        "macs": row.macs,
        "activations": row.activations,
        "receptive_field": row.receptive_field,
        "effective_stride": row.effective_stride,
        "assumed": list(row.assumed),
        "notes": list(row.notes),
        "block": "/".join(row.block),
    }


def _json(value: Any, level: int, quote: Callable[[str], str]) -> str:
    """`value` as `json.dumps(value, indent=2, ensure_ascii=False)` writes it at nesting `level`."""
    if isinstance(value, str):
        return quote(value)
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, list | tuple | dict):
        if not value:
            return "{}" if isinstance(value, dict) else "[]"
        inner = "\n" + "  " * (level + 1)
        if isinstance(value, dict):
            items = [f"{quote(key)}: {_json(item, level + 1, quote)}" for key, item in value.items()]
            return "{" + inner + ("," + inner).join(items) + "\n" + "  " * level + "}"
        return (
            "["
            + inner
            + ("," + inner).join([_json(item, level + 1, quote) for item in value])
            + "\n"
            + "  " * level
            + "]"
        )
    import json

    return json.dumps(value)  # a float, as json writes one


def _shape(shape: tuple[int, ...] | None, sep: str = "×") -> str:
    return "?" if shape is None else sep.join(map(str, shape)) if sep != "×" else dims(shape)


def _int(value: int | None) -> str:
    return "" if value is None else str(value)


def _si(value: int) -> str:
    """
    >>> _si(15_470_264_320), _si(999)
    ('15.47 G', '999')
    """
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return str(value)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


# ---- HTML -------------------------------------------------------------------------------

_HTML_COLUMNS = (  # header, right-aligned
    ("#", True),
    ("name", False),
    ("layer", False),
    ("line", True),
    ("output", False),
    ("params", True),
    ("MACs", True),
    ("RF", True),
    ("assumed", False),
    ("notes", False),
)

_CSS = """
.papernet-report{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#0f172a;
  max-width:100%;box-sizing:border-box}
.papernet-report *{box-sizing:border-box}
.papernet-report h3{margin:0 0 2px;font-size:16px}
.papernet-report .pn-meta{margin:0 0 8px;color:#475569}
.papernet-report .pn-scroll{max-width:100%;overflow:auto;border:1px solid #cbd5e1;border-radius:6px}
.papernet-report details.pn-diagram{margin:0 0 10px}
.papernet-report details.pn-diagram summary{cursor:pointer;color:#334155;font-weight:600;margin-bottom:4px}
.papernet-report details.pn-diagram .pn-scroll{max-height:70vh;background:#fff}
.papernet-report details.pn-diagram svg{display:block}
.papernet-report table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
.papernet-report th,.papernet-report td{padding:3px 8px;border-bottom:1px solid #e2e8f0;text-align:left;
  vertical-align:top;white-space:nowrap}
.papernet-report thead th{position:sticky;top:0;background:#f1f5f9;border-bottom:2px solid #94a3b8;font-weight:600}
.papernet-report .num{text-align:right}
.papernet-report td.pn-text{white-space:normal;min-width:10em;color:#475569}
.papernet-report tbody tr.pn-row:hover{background:#f8fafc}
.papernet-report tr.pn-block td{background:#eef2ff;font-weight:600}
.papernet-report tr.pn-block label{cursor:pointer}
.papernet-report tr.pn-block input{appearance:none;width:0;height:0;margin:0;position:absolute}
.papernet-report tr.pn-block label::before{content:"\\25BE\\00A0"}
.papernet-report tr.pn-block:has(input:not(:checked)) label::before{content:"\\25B8\\00A0"}
.papernet-report tr.pn-block .pn-count{font-weight:400;color:#475569}
.papernet-report tfoot td,.papernet-report tfoot th{border-top:2px solid #94a3b8;border-bottom:0;font-weight:700;
  background:#f8fafc}
.papernet-report ul.pn-notes{margin:8px 0 0;padding-left:20px;color:#475569}
"""


def _html_report(report: Report) -> str:
    """One `<div>`: title, diagram, the table (block rows fold, without script) and the notes."""
    parts = [f'<div class="papernet-report">\n<style>{_CSS}{_fold_css(report.rows)}</style>\n']
    parts.append(f'<h3>{_h(report.network)}</h3>\n<p class="pn-meta">{_h(_html_meta(report))}</p>\n')
    if report.diagram is not None:
        parts.append(
            '<details class="pn-diagram" open><summary>diagram</summary><div class="pn-scroll">\n'
            f"{report.diagram()}</div></details>\n"
        )
    header = "".join(f'<th{_num(right)} scope="col">{name}</th>' for name, right in _HTML_COLUMNS)
    parts.append(f'<div class="pn-scroll pn-table">\n<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n')
    parts += _html_rows(report.rows)
    parts.append(f"</tbody>\n{_html_total(report)}</table>\n</div>\n")
    parts.append('<ul class="pn-notes">' + "".join(f"<li>{_h(line)}</li>" for line in report.footer()) + "</ul>\n")
    parts.append("</div>\n")
    return "".join(parts)


def _html_meta(report: Report) -> str:
    shape = f"input {_shape(report.input)} · " if report.input else ""
    count = len(report.rows)
    return f"{shape}{count} row{'s' if count != 1 else ''} · {report.convention} convention"


def _html_rows(rows: tuple[Row, ...]) -> list[str]:
    """A row per layer; before the first layer of each block, a block row with the block's totals,
    whose box folds the block's layers away (`_fold_css`)."""
    out: list[str] = []
    open_blocks: list[tuple[tuple[str, ...], int]] = []  # (path, block number), outermost first
    starts = _block_starts(rows)
    for index, row in enumerate(rows):
        path = row.block if row.kind != "block" else ()
        while open_blocks and path[: len(open_blocks[-1][0])] != open_blocks[-1][0]:
            open_blocks.pop()
        for level in range(len(open_blocks), len(path)):
            number = starts[(index, level)]
            members = _block_members(rows, index, path[: level + 1])
            out.append(_html_block_row(path[: level + 1], number, members, [n for _, n in open_blocks]))
            open_blocks.append((path[: level + 1], number))
        classes = " ".join(["pn-row", *(f"pn-in-{n}" for _, n in open_blocks)])
        out.append(f'<tr class="{classes}">{_html_cells(index, row)}</tr>\n')
    return out


def _block_starts(rows: tuple[Row, ...]) -> dict[tuple[int, int], int]:
    """Where each block starts, (row index, nesting level) → its number, in reading order."""
    starts: dict[tuple[int, int], int] = {}
    previous: tuple[str, ...] = ()
    for index, row in enumerate(rows):
        path = row.block if row.kind != "block" else ()
        shared = next((i for i, (a, b) in enumerate(zip(previous, path, strict=False)) if a != b), None)
        first_new = min(len(previous), len(path)) if shared is None else shared
        for level in range(first_new, len(path)):
            starts[(index, level)] = len(starts) + 1
        previous = path
    return starts


def _block_members(rows: tuple[Row, ...], start: int, path: tuple[str, ...]) -> list[Row]:
    members = []
    for index in range(start, len(rows)):  # not rows[start:]: a copy of the rest per block is quadratic
        row = rows[index]
        if row.kind == "block" or row.block[: len(path)] != path:
            break
        members.append(row)
    return members


def _html_block_row(path: tuple[str, ...], number: int, members: list[Row], outer: list[int]) -> str:
    classes = " ".join([f"pn-block pn-b{number}", *(f"pn-in-{n}" for n in outer)])
    indent = f' style="padding-left:{8 + 14 * (len(path) - 1)}px"'
    count = f"{len(members)} layer{'s' if len(members) != 1 else ''}"
    title = (
        f'<label><input type="checkbox" checked aria-label="show the layers of {_h("/".join(path))}">'
        f'{_h(path[-1])} <span class="pn-count">· {count}</span></label>'
    )
    last = members[-1]
    cells = [
        "<td></td>",
        f'<td colspan="2"{indent}>{title}</td>',
        f'<td class="num">{members[0].line}</td>',
        f"<td>{_h(_shape(last.output_shape))}</td>",
        f'<td class="num">{sum(r.params for r in members):,}</td>',
        f'<td class="num">{sum(r.macs for r in members):,}</td>',
        f'<td class="num">{_int(last.receptive_field)}</td>',
        "<td></td><td></td>",
    ]
    return f'<tr class="{classes}">{"".join(cells)}</tr>\n'


def _html_cells(index: int, row: Row) -> str:
    indent = f' style="padding-left:{8 + 14 * len(row.block)}px"' if row.block and row.kind != "block" else ""
    cells = [
        f'<td class="num">{index}</td>',
        f"<td{indent}>{_h(_display_name(row))}</td>",
        f"<td>{_h(row.layer)}</td>",
        f'<td class="num">{row.line}</td>',
        f"<td>{_h(_shape(row.output_shape))}</td>",
        f'<td class="num">{row.params:,}</td>',
        f'<td class="num">{row.macs:,}</td>',
        f'<td class="num">{_int(row.receptive_field)}</td>',
        f'<td class="pn-text">{_h(", ".join(row.assumed))}</td>',
        f'<td class="pn-text">{_h("; ".join(row.notes))}</td>',
    ]
    return "".join(cells)


def _html_total(report: Report) -> str:
    count = len(report.rows)
    return (
        f'<tfoot><tr class="pn-total"><th scope="row" colspan="5">total · {count} row{"s" if count != 1 else ""}</th>'
        f'<td class="num">{report.total_params:,}</td><td class="num">{report.total_macs:,}</td>'
        "<td></td><td></td><td></td></tr></tfoot>\n"
    )


def _fold_css(rows: tuple[Row, ...]) -> str:
    """One rule per block: while its box is unticked, the rows after it that belong to it hide."""
    rules = [
        f".papernet-report tr.pn-b{n}:has(input:not(:checked))~tr.pn-in-{n}{{display:none}}"
        for n in range(1, len(_block_starts(rows)) + 1)
    ]
    return "\n".join(rules) + ("\n" if rules else "")


def _num(right: bool) -> str:
    return ' class="num"' if right else ""


def _h(text: str) -> str:
    return html.escape(printable(text))


# ---- the check's reconciliation ---------------------------------------------------

_MARK = {"holds": "✓", "fails": "✗", "unknown": "?"}


def reconciliation_text(network: str, file: str, reconciliation: Reconciliation) -> str:
    """The claims as an aligned plain-text table (no rich: `papernet check` stays light)."""
    counted = any(r.counted for r in reconciliation.rows)
    header = (
        "line",
        "layer",
        "claim",
        "declared",
        "inferred",
        *(("as the table counts",) if counted else ()),
        "",
        "note",
    )
    rows = [
        (
            str(r.span.line),
            r.layer,
            r.quantity,
            r.declared,
            r.inferred,
            *((r.counted,) if counted else ()),
            _MARK[r.verdict],
            r.note,
        )
        for r in reconciliation.rows
    ]
    widths = [max(len(printable(cells[i])) for cells in [header, *rows]) for i in range(len(header))]
    right = {0}

    def line(cells: tuple[str, ...]) -> str:
        text = [
            printable(cell).rjust(width) if i in right else printable(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(text).rstrip()

    where = f" ({printable(file)})" if file else ""
    title = f"{network}: the table's claims" if network else "The table's claims"
    out = [f"{title} against the architecture{where}", ""]
    if rows:
        out += [line(header), *(line(cells) for cells in rows), ""]
    if reconciliation.inferred:
        out.append("inferred from the table:")
        out += [f"  line {i.span.line}: {printable(i.layer)}: {i.value}" for i in reconciliation.inferred]
        out.append("")
    out.append(f"verdict: {reconciliation.verdict()}")
    return "\n".join(out) + "\n"


def reconciliation_dict(network: str, file: str, reconciliation: Reconciliation) -> dict[str, Any]:
    rows = reconciliation.rows
    return {
        "network": network,
        "file": file,
        "claims": [
            {
                "line": r.span.line,
                "column": r.span.column,
                "layer": r.layer,
                "claim": r.quantity,
                "declared": r.declared,
                "inferred": r.inferred,
                "counted": r.counted,
                "holds": None if r.verdict == "unknown" else r.verdict == "holds",
                "note": r.note,
            }
            for r in rows
        ],
        "convention": _reading_dict(reconciliation),
        "inferred": [{"line": i.span.line, "layer": i.layer, "value": i.value} for i in reconciliation.inferred],
        "verdict": {
            "claims": len(rows),
            "hold": sum(r.verdict == "holds" for r in rows),
            "fail": sum(r.verdict == "fails" for r in rows),
            "unknown": sum(r.verdict == "unknown" for r in rows),
            "text": reconciliation.verdict(),
        },
    }


def _reading_dict(reconciliation: Reconciliation) -> dict[str, Any] | None:
    """How the table counts: found from its figures, stated in its `defaults:`, or papernet's own."""
    reading = reconciliation.reading
    if reading is None:
        return None
    convention = reading.convention
    return {
        "params": reading.describe(),
        "source": reading.source,
        "biases": convention.biases,
        "batch_norm_per_channel": convention.batch_norm,
        "base": convention.base,
        "truncated": reading.truncated,
        "params_figures": reading.figures,
        "params_figures_holding": reading.held,
    }


def reconciliation_json(network: str, file: str, reconciliation: Reconciliation) -> str:
    import json

    return json.dumps(reconciliation_dict(network, file, reconciliation), indent=2, ensure_ascii=False) + "\n"


def reconciliation_markdown(network: str, file: str, reconciliation: Reconciliation) -> str:
    lines = [f"## {_md(network)}: the table's claims", ""]
    if reconciliation.rows:
        counted = any(r.counted for r in reconciliation.rows)
        extra = " as the table counts |" if counted else ""
        lines += [
            f"| line | layer | claim | declared | inferred |{extra} | note |",
            "|---:|---|---|---:|---:|" + ("---:|" if counted else "") + "---|---|",
        ]
        for r in reconciliation.rows:
            cells = [str(r.span.line), r.layer, r.quantity, r.declared, r.inferred]
            cells += [r.counted] if counted else []
            cells += [_MARK[r.verdict], r.note]
            lines.append("| " + " | ".join(_md(printable(c)) for c in cells) + " |")
        lines.append("")
    if reconciliation.inferred:
        lines += ["Inferred from the table:", ""]
        lines += [f"- line {i.span.line}: {_md(i.layer)}: {_md(i.value)}" for i in reconciliation.inferred]
        lines.append("")
    lines.append(f"**Verdict:** {_md(reconciliation.verdict())}")
    return "\n".join(lines) + "\n"
