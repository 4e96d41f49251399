"""Stage 0, import: a table pasted from a paper (Markdown or CSV) → a spec with claims.

    table text ──read──▶ header + rows ──roles──▶ which column is what ──rows──▶ spec lines ──▶ spec text

A paper prints a network as a table with one row per layer. `import_table` reads such a table
and writes the spec a person would write from it: one line per row, the row's sizes and figures
as claims (`-> 112×112×64 params 2.7K ops 34M`) for `papernet check` to compare. The importer is
faithful to the table: it copies figures as printed, and invents no padding, rounding or
`defaults:`; what the table leaves out, the checker infers or reports.

Columns are recognised by their headers, case-insensitively and forgivingly (`#`, `×`/`x`,
punctuation and units in parentheses do not matter; "red" means "reduce"). The roles:

    type        the layer type: convolution, max pool, inception (3a), linear, softmax, dropout (40%),
                or a layer as the notation writes it (conv3-64, FC-4096), passed through unchanged;
                an `input` row gives the input size, a `total` row total claims.   "type", "layer"
    patch       patch size and stride, 7×7/2                     "patch size/stride", "kernel", "filter size"
    stride      the stride, where a table gives it a column of its own
    output      the output size, 112×112×64: a shape claim       "output", "output size"
    depth       GoogLeNet's count of layers in a row: not needed, ignored
    1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5, pool_proj
                GoogLeNet's channel columns: an inception module's six numbers, and a conv's
                filters (and `reduce`) where its patch is 1×1, 3×3 or 5×5    "#1×1", "#3×3 red", "pool proj"
    filters     the number of filters (or FC units)              "filters", "channels"
    params      a parameter count claim, copied as printed       "params", "parameters"
    ops         a multiply-add claim; the claim keeps the header's word ("ops", "mult-adds", "MACs",
                "FLOPs"), and a unit in the header, "params (M)" or "GFLOPs", joins the bare figures

`columns` (the CLI's `--column ROLE=HEADER`) names a role's column where the header is not
recognised. Other columns are ignored, and the spec says which in a comment.

Diagnostics (P5xx, table import), each pointing at the cell or line at fault:

    P501  no table: the text is empty, or a header with no rows under it
    P502  no header row: a Markdown table without its |---| line, or a first row that is data
    P503  a row with a different number of cells from the header
    P504  no column holds the layer type
    P505  a --column role that papernet does not know
    P506  a --column header that is not in the table
    P507  a cell that cannot be read: a size, patch, number or figure in the wrong form
    P508  a layer type that papernet does not know
    P509  the input size cannot be told from the table: pass --input
    P510  a row that lacks what its layer needs (a conv's filters, an inception's channels)
    P511  two columns that both read as the same role
    P513  a stage table whose rows do not fit together (papernet/stage_tables.py)

A stage table (MobileNetV2's `t | c | n | s`, EfficientNet's `Stage | Operator | Resolution |
#Channels | #Layers`), one row per sequence of blocks, is read by papernet/stage_tables.py.
"""

from __future__ import annotations

import bisect
import csv
import difflib
import io
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from papernet import diagnostics as diag
from papernet import stage_tables
from papernet.diagnostics import Diagnostic, SpecError, printable
from papernet.infer import dims
from papernet.parse import LAYER_WORDS, ParseFailure, did_you_mean, normalise_newlines
from papernet.parse import parse as parse_spec
from papernet.span import Span, command_line_span
from papernet.syntax import Layer, Spec

TableFormat = Literal["markdown", "csv"]

ROLES = (
    "type",
    "patch",
    "stride",
    "output",
    "input",
    "depth",
    "1x1",
    "3x3_reduce",
    "3x3",
    "5x5_reduce",
    "5x5",
    "pool_proj",
    "filters",
    "params",
    "ops",
)
INCEPTION_ROLES = ("1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5", "pool_proj")
UNUSED_ROLES = ("depth",)


# ---- the pipeline -----------------------------------------------------------------


def import_table(
    text: str,
    file: str = "<table>",
    *,
    table_format: TableFormat | None = None,
    columns: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
    title: str | None = None,
) -> str:
    """The spec text (ending in a newline) for a table; `SpecError` if the table cannot be read.

    >>> table = "layer,patch,output size\\nconv,3x3/2,16x16x8\\nmax pool,2x2/2,8x8x8\\n"
    >>> print(import_table(table, "tiny.csv"), end="")
    # Imported by `papernet import-table` from tiny.csv (CSV).
    # Columns: type ← "layer", patch ← "patch", output ← "output size".
    # The claims are the table's figures as printed; `papernet check` compares them.
    network "tiny"
    # input 32×32×3 inferred from row 1: 16×16 output × stride 2; pass --input to override
    input 32×32×3
    <BLANKLINE>
    convolution 3×3/2, 8 -> 16×16×8  # row 1
    max pool 2×2/2       -> 8×8×8    # row 2
    """
    return import_table_with_warnings(
        text, file, table_format=table_format, columns=columns, input_shape=input_shape, title=title
    )[0]


def import_table_with_warnings(
    text: str,
    file: str = "<table>",
    *,
    table_format: TableFormat | None = None,
    columns: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
    title: str | None = None,
) -> tuple[str, list[Diagnostic]]:
    """`import_table`, and the warnings about what the table seems to mean (P512: an output
    column that holds input sizes)."""
    if input_shape is not None and not (1 <= len(input_shape) <= 3 and all(d >= 1 for d in input_shape)):
        raise ValueError(f"input_shape must be 1 to 3 positive sizes, got {input_shape}")
    text = normalise_newlines(text.removeprefix("\ufeff"))
    name = title or (Path(file).stem if not file.startswith("<") else None)
    try:
        chosen = table_format or sniff_format(text)
        table = read_markdown(text, file) if chosen == "markdown" else read_csv(text, file)
        if stage_tables.is_stage_table(cell.text for cell in table.header):  # MobileNetV2's t c n s, EfficientNet's
            return stage_tables.import_stage_table(table, file, chosen, name, input_shape, columns or {}), []
        roles = assign_roles(table, columns or {})
        rows = shift_input_sizes(convert_rows(table, roles))
        header = input_header(input_shape, rows, table)
    except (_Unreadable, stage_tables.Unreadable) as problems:
        raise SpecError(problems.diagnostics, {file: text}) from None
    warnings = _output_holds_inputs(rows, header, roles)
    return render_spec(file, chosen, roles, name, header, rows), warnings


class _Unreadable(Exception):
    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__(diagnostics)
        self.diagnostics = tuple(diagnostics)


def _stop(found: Sequence[Diagnostic]) -> None:
    if found:
        raise _Unreadable(found)


# ---- reading a table ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # 1-based among the table's rows, the header not counted
    cells: tuple[Cell, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[Cell, ...]
    header_span: Span
    rows: tuple[Row, ...]


def sniff_format(text: str) -> TableFormat:
    """Markdown if a line starts with `|`, else CSV.

    >>> sniff_format("## Table 1\\n\\n| type | output |\\n|---|---|\\n"), sniff_format("type,output\\n")
    ('markdown', 'csv')
    """
    return "markdown" if any(line.lstrip().startswith("|") for line in text.split("\n")) else "csv"


_DELIMITER_ROW = re.compile(r"\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*")


def read_markdown(text: str, file: str) -> Table:
    """The first table in Markdown text: the header is the row above the `|---|` line, and the
    rows run to the first line without a `|`."""
    lines = text.split("\n")
    _stop(_empty(text, file))
    delimiter = next(
        (i for i, line in enumerate(lines) if "|" in line and "-" in line and _DELIMITER_ROW.fullmatch(line)), None
    )
    if delimiter is None or delimiter == 0 or "|" not in lines[delimiter - 1]:
        first = next((i for i, line in enumerate(lines) if "|" in line), None)
        if first is None:
            span = Span(file, 1, 1, 1, max(2, len(lines[0]) + 1))
            raise _Unreadable([diag.error("P501", "no Markdown table here: no line has a `|`", span)])
        raise _Unreadable(
            [
                diag.error(
                    "P502",
                    "no header row: a Markdown table needs a `|---|---|` line under its header",
                    _line_span(file, first + 1, lines[first]),
                    "write the column headings as the first row, then a line such as `|---|---|---|`",
                )
            ]
        )
    header_number = delimiter  # 1-based number of the line above the delimiter
    header = _markdown_cells(lines[delimiter - 1], header_number, file)
    rows: list[Row] = []
    for index in range(delimiter + 1, len(lines)):
        line = lines[index]
        if "|" not in line or not line.strip():
            break
        cells = _markdown_cells(line, index + 1, file)
        rows.append(Row(len(rows) + 1, cells, _line_span(file, index + 1, line)))
    return _table(header, _line_span(file, header_number, lines[delimiter - 1]), rows)


def _markdown_cells(line: str, number: int, file: str) -> tuple[Cell, ...]:
    """The cells of one Markdown table line, each with the span of its text (or of its blank)."""
    start = len(line) - len(line.lstrip())
    end = len(line.rstrip())
    pipes = [i for i, char in enumerate(line) if char == "|" and (i == 0 or line[i - 1] != "\\")]
    if not pipes or pipes[0] != start:
        pipes.insert(0, start - 1)
    if pipes[-1] != end - 1 or len(pipes) == 1:
        pipes.append(end)
    cells = []
    for left, right in itertools.pairwise(pipes):
        raw = line[left + 1 : right]
        content = raw.strip()
        if content:
            first = left + 1 + (len(raw) - len(raw.lstrip()))
            span = Span(file, number, first + 1, number, first + len(content) + 1)
        else:
            span = Span(file, number, left + 2, number, max(right + 1, left + 3))
        cells.append(Cell(_clean(content.replace("\\|", "|")), span))
    return tuple(cells)


def _clean(text: str) -> str:
    """A cell's text without Markdown emphasis or code marks, and with its spaces collapsed.

    >>> _clean("**max  pool**"), _clean("`conv3-64`"), _clean("7*7/2")
    ('max pool', 'conv3-64', '7*7/2')
    """
    text = re.sub(r"<br\s*/?>", " ", text)
    while (match := re.fullmatch(r"(\*\*|__|`)(.+)\1", text.strip())) is not None:
        text = match.group(2)
    return " ".join(text.split())


def read_csv(text: str, file: str) -> Table:
    """A CSV table: the first non-blank record is the header. Quoted cells may hold the
    delimiter (`"138,357,544"`); the delimiter is `,`, or tab or `;` where the header uses them."""
    _stop(_empty(text, file))
    lines = text.split("\n")
    first_line = next(line for line in lines if line.strip())
    delimiter = max(",\t;", key=first_line.count) if any(d in first_line for d in ",\t;") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    spans = iter(_csv_spans(text, delimiter, file))
    records: list[tuple[tuple[Cell, ...], Span]] = []
    for record in reader:
        record_spans = next(spans, [])
        if len(record_spans) != len(record):  # the scanner mirrors the csv module; if not, mark the line
            line = reader.line_num
            record_spans = [_line_span(file, line, lines[line - 1] if line <= len(lines) else "")] * len(record)
        if any(value.strip() for value in record):
            cells = tuple(Cell(_clean(value), span) for value, span in zip(record, record_spans, strict=True))
            records.append((cells, record_spans[0].to(record_spans[-1])))
    if not records:
        raise _Unreadable(_empty("", file))
    header, header_span = records[0]
    rows = [Row(number, cells, span) for number, (cells, span) in enumerate(records[1:], start=1)]
    return _table(header, header_span, rows)


def _csv_spans(text: str, delimiter: str, file: str) -> list[list[Span]]:
    """The span of every field of every record, read the way the csv module reads (Excel's
    dialect: a quote opens a field only as its first character, `""` inside is one quote)."""
    starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
    records: list[list[Span]] = []
    fields: list[Span] = []
    begin, index, quoted = 0, 0, False
    while index < len(text):
        char = text[index]
        if quoted:
            if char == '"' and text[index + 1 : index + 2] == '"':
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"' and index == begin:
            quoted = True
        elif char == delimiter:
            fields.append(_offset_span(text, starts, begin, index, file))
            begin = index + 1
        elif char == "\n":
            if fields or index > begin:
                fields.append(_offset_span(text, starts, begin, index, file))
            records.append(fields)
            fields, begin = [], index + 1
        index += 1
    if fields or len(text) > begin:
        fields.append(_offset_span(text, starts, begin, len(text), file))
        records.append(fields)
    return records


def _offset_span(text: str, starts: list[int], begin: int, end: int, file: str) -> Span:
    """The span of text[begin:end] without its surrounding blanks (or of the blank, if all blank)."""
    content = text[begin:end]
    if content.strip():
        begin += len(content) - len(content.lstrip())
        end = begin + len(content.strip())
    else:
        end = max(end, begin + 1)

    def position(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    (line, column), (end_line, end_column) = position(begin), position(end)
    if end_line != line:  # a quoted cell over several lines: mark its first line
        end_line, end_column = line, len(text.split("\n")[line - 1]) + 1
    return Span(file, line, column, end_line, max(end_column, column + 1))


def _empty(text: str, file: str) -> list[Diagnostic]:
    if text.strip():
        return []
    return [
        diag.error(
            "P501",
            "the table is empty",
            Span(file, 1, 1, 1, 1),
            "paste the paper's table: a header row, then one row per layer",
        )
    ]


def _table(header: tuple[Cell, ...], header_span: Span, rows: list[Row]) -> Table:
    if _is_data(header):
        raise _Unreadable(
            [
                diag.error(
                    "P502",
                    "no header row: the first row holds sizes and numbers, not column headings",
                    header_span,
                    "add a first row of headings, e.g. `type, patch/stride, output, params, ops`",
                )
            ]
        )
    if not rows:
        message = "the table has a header row but no rows under it"
        raise _Unreadable([diag.error("P501", message, header_span, "add one row per layer under the header")])
    found = [_cell_count_problem(row, len(header)) for row in rows if len(row.cells) != len(header)]
    _stop(found)
    return Table(header, header_span, tuple(rows))


def _cell_count_problem(row: Row, expected: int) -> Diagnostic:
    count = len(row.cells)
    where = row.cells[expected].span.to(row.cells[-1].span) if count > expected else row.span
    return diag.error(
        "P503",
        f"row {row.number} has {count} cell{'s' if count != 1 else ''}, but the header has {expected}",
        where,
        "give every row one cell per column; leave a cell empty rather than out",
    )


def _line_span(file: str, number: int, line: str) -> Span:
    start = len(line) - len(line.lstrip()) + 1
    return Span(file, number, start, number, max(len(line.rstrip()) + 1, start + 1))


# ---- columns: which header plays which role -----------------------------------------


_ROLE_PATTERNS = (
    ("type", r"(layer )?type( stride)?|layers?|operator|operation|kind"),
    ("patch", r"(patch|kernel|filter|window)( size| shape)?( stride)?|size stride"),
    ("input", r"input( size| shape| dims| dimensions)?"),
    ("stride", r"strides?"),
    ("output", r"(output|out)( size| shape| dims| dimensions)?"),
    ("depth", r"depth"),
    ("1x1", r"1x1"),
    ("3x3_reduce", r"3x3 reduce"),
    ("3x3", r"3x3"),
    ("5x5_reduce", r"5x5 reduce"),
    ("5x5", r"5x5"),
    ("pool_proj", r"pool proj"),
    ("filters", r"((number|num|no) (of )?)?(filters|channels|output channels|out channels)"),
    ("params", r"((number|num|no) (of )?)?(params|parameters|weights)"),
    ("ops", r"[kmgt]?(ops|flops|macs|mult adds?|multiply adds?|madds|operations)"),
)


def normalise_header(text: str) -> str:
    """A header as the role patterns read it: lower case, no `#`, punctuation or units.

    >>> normalise_header("#3×3 red"), normalise_header("Patch size / stride"), normalise_header("Params (M)")
    ('3x3 reduce', 'patch size stride', 'params')
    """
    text = re.sub(r"\([^)]*\)", " ", text.lower())
    text = re.sub(r"(?<=\d)\s*[×x*]\s*(?=\d)", "x", text)
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    synonyms = {"red": "reduce", "reduction": "reduce", "projection": "proj"}
    return " ".join(synonyms.get(word, word) for word in words)


def role_of_header(text: str) -> str | None:
    """The role a header names, or None.

    >>> [role_of_header(h) for h in ("type", "patch size/stride", "#5×5 red", "Mult-Adds", "size out")]
    ['type', 'patch', '5x5_reduce', 'ops', None]
    """
    normal = normalise_header(text)
    return next((role for role, pattern in _ROLE_PATTERNS if re.fullmatch(pattern, normal)), None)


def resolve_role(name: str) -> str | None:
    """A `--column` role: a role's name, or any header that names one (`channels`, `FLOPs`).

    >>> resolve_role("3x3 reduce"), resolve_role("channels"), resolve_role("outptu")
    ('3x3_reduce', 'filters', None)
    """
    key = re.sub(r"[\s-]+", "_", name.strip().lower().replace("×", "x"))
    return key if key in ROLES else role_of_header(name)


@dataclass(frozen=True, slots=True)
class Roles:
    """Which column (by index) plays which role, and the header cells."""

    header: tuple[Cell, ...]
    index: Mapping[str, int]
    ignored: tuple[int, ...]
    ops_word: str = "ops"
    units: Mapping[str, str] = field(default_factory=dict)

    def cell(self, row: Row, role: str) -> Cell | None:
        """The row's cell for a role; None where the table has no such column or the cell is blank."""
        column = self.index.get(role)
        if column is None:
            return None
        cell = row.cells[column]
        return None if cell.text in ("", "-", "–", "—") else cell

    def heading(self, role: str) -> str:
        return self.header[self.index[role]].text


def assign_roles(table: Table, overrides: Mapping[str, str]) -> Roles:
    """The role of each column: the overrides first, then what each header names."""
    header = table.header
    index: dict[str, int] = {}
    problems: list[Diagnostic] = []
    for name, heading in overrides.items():
        role = resolve_role(name)
        column = _find_header(header, heading)
        if role is None:
            problems.append(_unknown_role(name, heading))
        elif column is None:
            problems.append(_header_not_found(table, role, heading))
        else:
            index[role] = column
    _stop(problems)
    claimed = set(index.values())
    found: dict[str, list[int]] = {}
    for column, cell in enumerate(header):
        role = role_of_header(cell.text)
        if role is not None and role not in index and column not in claimed:
            found.setdefault(role, []).append(column)
    for role, columns in found.items():
        if len(columns) > 1:
            problems.append(_ambiguous(header, role, columns))
        index[role] = columns[0]
    _stop(problems)
    if "type" not in index:
        raise _Unreadable([_no_type_column(table)])
    used = {column for role, column in index.items() if role not in UNUSED_ROLES}
    ignored = tuple(column for column in range(len(header)) if column not in used)
    units: dict[str, str] = {
        role: unit for role in ("params", "ops") if role in index and (unit := header_unit(header[index[role]].text))
    }
    ops_word = claim_word(header[index["ops"]].text) if "ops" in index else "ops"
    return Roles(header, index, ignored, ops_word, units)


def _find_header(header: tuple[Cell, ...], heading: str) -> int | None:
    """The column headed `heading`: the same text (case and spacing aside), else the same words."""
    texts = [cell.text for cell in header]
    plain = [" ".join(text.lower().split()) for text in texts]
    if " ".join(heading.lower().split()) in plain:
        return plain.index(" ".join(heading.lower().split()))
    words = [normalise_header(text) for text in texts]
    wanted = normalise_header(heading)
    return words.index(wanted) if wanted and wanted in words else None


def header_unit(text: str) -> str | None:
    """A unit a header gives its figures: `params (M)` → M, `GFLOPs` → G.

    >>> header_unit("Params (M)"), header_unit("GFLOPs"), header_unit("ops (millions)"), header_unit("ops")
    ('M', 'G', 'M', None)
    """
    words = {"thousand": "K", "thousands": "K", "million": "M", "millions": "M", "billion": "G", "billions": "G"}
    match = re.search(r"\(\s*([KMGTkmgt]|[A-Za-z]+)\s*\)", text)
    if match is not None:
        unit = match.group(1)
        return unit.upper() if len(unit) == 1 else words.get(unit.lower())
    prefixed = re.fullmatch(r"\s*#?\s*([KMGT])(?:FLOPs?|FLOPS|MACs?|MACS|ops)\s*", text)
    return prefixed.group(1) if prefixed else None


def claim_word(text: str) -> str:
    """The keyword an ops claim takes from its header, as the header spells it.

    >>> claim_word("ops"), claim_word("FLOPs (G)"), claim_word("Mult-Adds"), claim_word("multiply adds")
    ('ops', 'FLOPs', 'Mult-Adds', 'mult-adds')
    """
    match = re.search(r"(?<![A-Za-z])[KMGT]?(mult-adds|multiply-adds|mult-add|flops|macs|ops)(?![A-Za-z])", text, re.I)
    if match is not None:
        return match.group(1)
    return "mult-adds" if "mult" in text.lower() else "ops"


def _headers(header: Sequence[Cell]) -> str:
    return ", ".join(f'"{printable(cell.text)}"' for cell in header)


def _unknown_role(name: str, heading: str) -> Diagnostic:
    key = name.strip().lower()
    close = difflib.get_close_matches(key, ROLES, n=1, cutoff=0.5)
    hints = [f"did you mean `{close[0]}`?"] if close else []
    return diag.error(
        "P505",
        f"unknown column role '{name}' in --column {name}={heading}",
        command_line_span(),
        *hints,
        f"the roles are: {', '.join(ROLES)}",
    )


def _header_not_found(table: Table, role: str, heading: str) -> Diagnostic:
    return diag.error(
        "P506",
        f"no column is headed '{heading}' (from --column {role}='{heading}')",
        table.header_span,
        f"the headers are: {_headers(table.header)}",
    )


def _ambiguous(header: tuple[Cell, ...], role: str, columns: list[int]) -> Diagnostic:
    first, second = header[columns[0]], header[columns[1]]
    return diag.error(
        "P511",
        f'columns "{first.text}" and "{second.text}" both read as the {role} column',
        second.span,
        f"choose one with --column {role}=HEADER",
    )


def _no_type_column(table: Table) -> Diagnostic:
    return diag.error(
        "P504",
        'no column holds the layer type (a column headed "type" or "layer")',
        table.header_span,
        f"the headers are: {_headers(table.header)}",
        "name the column with --column type=HEADER",
    )


def _is_data(header: Sequence[Cell]) -> bool:
    """A first row that is a layer, not headings: it holds sizes or figures, and no heading."""
    texts = [cell.text for cell in header]
    looks_like_data = any(read_size(t) or read_patch(t) or read_figure(t) for t in texts)
    return looks_like_data and not any(role_of_header(t) for t in texts)


# ---- reading cells ------------------------------------------------------------------

_TIMES = r"\s*[x×X*]\s*"


def read_size(text: str) -> tuple[int, ...] | None:
    """An output size, `112×112×64` (also `x`, `*`, spaces) or `1000`; None if it is not one.

    >>> read_size("112 x 112 x 64"), read_size("1000"), read_size("112×abc"), read_size("112² × 32")
    ((112, 112, 64), (1000,), None, (112, 112, 32))
    """
    text = re.sub(r"(\d+)\s*²", r"\1×\1", text)  # MobileNetV2's `112² × 32`
    if not re.fullmatch(rf"\d+(?:{_TIMES}\d+){{0,2}}", text.strip()):
        return None
    return tuple(int(part) for part in re.split(_TIMES, text.strip()))


def read_patch(text: str) -> tuple[int, int, int | None] | None:
    """A patch size and stride, `7×7/2` or `3x3, stride 1`, or a patch alone; None if not one.

    >>> read_patch("7×7/2"), read_patch("3x3, stride 1"), read_patch("1 × 7"), read_patch("7x")
    ((7, 7, 2), (3, 3, 1), (1, 7, None), None)
    """
    match = re.fullmatch(rf"(\d+){_TIMES}(\d+)(?:\s*(?:/|,?\s*stride\b|,?\s*s(?=\d))\s*(\d+))?", text.strip(), re.I)
    if match is None:
        return None
    height, width, stride = match.groups()
    return int(height), int(width), int(stride) if stride else None


def read_count(text: str) -> int | None:
    """A number of channels or units, `64` or `1,024`; None if not one.

    >>> read_count("1,024"), read_count("6a")
    (1024, None)
    """
    return int(text.replace(",", "")) if re.fullmatch(r"\d+|\d{1,3}(?:,\d{3})+", text) else None


_FIGURE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?:\s*(?:[KMGT]|[kmg]))?")


def read_figure(text: str, unit: str | None = None) -> str | None:
    """A figure as printed, `2.7K`, `34M`, `138,357,544`, with the header's unit joined to a
    bare number; None if the claim syntax cannot hold it.

    >>> read_figure("2.7K"), read_figure("138,357,544"), read_figure("138", "M"), read_figure("3.8B")
    ('2.7K', '138,357,544', '138M', None)
    """
    if not _FIGURE.fullmatch(text):
        return None
    return text + unit if unit is not None and text[-1].isdigit() else text


# ---- rows → spec lines --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpecLine:
    """One row as a spec line: a layer and its claims, or the table's input or totals."""

    row: Row
    kind: Literal["layer", "input", "total"]
    text: str  # the layer as written (`convolution 7×7/2, 64`), or the input size
    shape: str | None = None
    params: str | None = None
    ops: str | None = None
    note: str | None = None  # a comment above the line
    input_size: str | None = None  # the row's input, where the table prints inputs (MobileNet's "Input Size")
    repeat: int = 1  # MobileNet's "5×": the row (with its neighbours of the same count) repeated


def convert_rows(table: Table, roles: Roles) -> list[SpecLine]:
    """Every row as a spec line, blank rows left out. Raises `_Unreadable` with the problems of all rows."""
    lines: list[SpecLine] = []
    problems: list[Diagnostic] = []
    for row in table.rows:
        line, found = convert_row(row, roles)
        problems += found
        if line is not None:
            lines.append(line)
    _stop(problems)
    if not any(line.kind == "layer" for line in lines):
        message = "the table has no layer rows, only its input or totals"
        raise _Unreadable([diag.error("P501", message, table.header_span, "add one row per layer under the header")])
    return lines


def convert_row(row: Row, roles: Roles) -> tuple[SpecLine | None, list[Diagnostic]]:
    """A row as a spec line (None for a blank row), or the problems that stop it."""
    if all(not cell.text for cell in row.cells):
        return None, []
    type_cell = roles.cell(row, "type")
    if type_cell is None:
        where = row.cells[roles.index["type"]].span
        return None, [diag.error("P510", f"row {row.number} has no layer type", where)]
    type_cell, repeat, type_stride = split_type(type_cell)
    figures, problems = _claims(row, roles)
    kind = layer_kind(type_cell.text)
    shape = read_size(figures["output"]) if "output" in figures else None
    if kind == "input":
        line = _input_row(row, type_cell, shape)
        if line is None:
            problems.append(diag.error("P510", f"row {row.number}: the input row gives no size", type_cell.span))
        return line, problems
    if kind == "total":
        return SpecLine(row, "total", "total", params=figures.get("params"), ops=figures.get("ops")), problems
    layer, note = _layer(row, type_cell, kind, roles, shape, problems, type_stride)
    if layer is None or problems:
        return None, problems
    line = SpecLine(
        row,
        "layer",
        layer,
        figures.get("output"),
        figures.get("params"),
        figures.get("ops"),
        note,
        figures.get("input"),
        repeat,
    )
    return line, _unparsable(line, type_cell, roles)


def split_type(cell: Cell) -> tuple[Cell, int, int | None]:
    """MobileNet's type cells: `5× Conv dw / s1` → (`Conv dw`, 5, 1).

    >>> [split_type(Cell(t, command_line_span()))[1:] for t in ("Conv dw / s2", "5× Conv / s1", "FC")]
    [(1, 2), (5, 1), (1, None)]
    """
    text = cell.text
    repeat = 1
    if match := re.match(r"(\d+)\s*[×x*]\s+(?=\S)", text):
        repeat, text = int(match.group(1)), text[match.end() :]
    stride = None
    if match := re.search(r"\s*/\s*s(\d+)\s*$", text, re.I):
        stride, text = int(match.group(1)), text[: match.start()]
    return Cell(text.strip(), cell.span), repeat, stride


def shift_input_sizes(lines: Sequence[SpecLine]) -> list[SpecLine]:
    """Where a table prints each row's input (MobileNet's "Input Size"), a row's output is the
    next row's input, and the first row's input is the network's."""
    layers = [i for i, line in enumerate(lines) if line.kind == "layer"]
    if not layers or not any(lines[i].input_size for i in layers):
        return list(lines)
    out = list(lines)
    for here, after in itertools.pairwise(layers):
        if out[here].shape is None and lines[after].input_size:
            out[here] = replace(out[here], shape=lines[after].input_size)
    first = lines[layers[0]]
    if first.input_size and not any(line.kind == "input" for line in lines):
        note = f"the input size of row {first.row.number}"
        out.insert(0, SpecLine(first.row, "input", first.input_size, note=note))
    return out


def _output_holds_inputs(lines: Sequence[SpecLine], header: InputHeader, roles: Roles) -> list[Diagnostic]:
    """P512: the column read as outputs starts with the network's input, so it holds inputs."""
    first = next((line for line in lines if line.kind == "layer"), None)
    if first is None or "output" not in roles.index or first.shape is None or first.shape != header.shape:
        return []
    heading = roles.heading("output")
    cell = first.row.cells[roles.index["output"]]
    message = (
        f"column \"{printable(heading)}\" seems to hold each row's input: row {first.row.number}'s "
        f"{first.shape} is the network's input"
    )
    return [diag.warning("P512", message, cell.span, f'read it as inputs with --column input="{printable(heading)}"')]


def layer_kind(text: str) -> str:
    """What a type cell names: a word the importer builds a layer for, `input` or `total`
    rows, or `other` (passed through if the notation reads it).

    >>> [layer_kind(t) for t in ("Convolution", "max pool", "inception (3a)", "linear", "conv3-64", "Total")]
    ['conv', 'maxpool', 'inception', 'fc', 'other', 'total']
    """
    word = " ".join(text.lower().split())
    kinds = (
        ("input", r"input\b.*"),
        ("total", r"total\b.*"),
        ("conv", r"conv(olution(al)?)?( layer)?"),
        ("dwconv", r"(conv(olution)?[ /]?dw|(dw|depthwise) conv(olution)?)"),
        ("maxpool", r"max[ _-]?pool(ing)?"),
        ("avgpool", r"(avg|average|mean)[ _-]?pool(ing)?"),
        ("inception", r"inception ?(\([^)]*\))?"),
        ("fc", r"linear|fc|dense|fully[ -]connected( layer)?"),
    )
    return next((kind for kind, pattern in kinds if re.fullmatch(pattern, word)), "other")


def _claims(row: Row, roles: Roles) -> tuple[dict[str, str], list[Diagnostic]]:
    """The row's output, params and ops cells as claim text, and a P507 for each unreadable one."""
    figures: dict[str, str] = {}
    problems: list[Diagnostic] = []
    cell = roles.cell(row, "output")
    if cell is not None:
        shape = read_size(cell.text)
        if shape is None:
            problems.append(_unreadable(row, roles, "output", cell, "an output size such as 112×112×64"))
        else:
            figures["output"] = dims(shape)
    cell = roles.cell(row, "input")
    if cell is not None:
        shape = read_size(cell.text)
        if shape is None:
            problems.append(_unreadable(row, roles, "input", cell, "an input size such as 224×224×3"))
        else:
            figures["input"] = dims(shape)
    for role in ("params", "ops"):
        cell = roles.cell(row, role)
        if cell is None:
            continue
        figure = read_figure(cell.text, roles.units.get(role))
        if figure is None:
            problems.append(
                _unreadable(row, roles, role, cell, "a figure as printed, such as 2.7K, 34M or 138,357,544")
            )
        else:
            figures[role] = figure
    return figures, problems


def _unreadable(row: Row, roles: Roles, role: str, cell: Cell, expected: str) -> Diagnostic:
    return diag.error(
        "P507",
        f"row {row.number}, column \"{roles.heading(role)}\": cannot read '{cell.text}'",
        cell.span,
        f"expected {expected}",
    )


def _input_row(row: Row, type_cell: Cell, shape: tuple[int, ...] | None) -> SpecLine | None:
    """`input (224 × 224 RGB image)`: the size from the output column, else from the cell itself."""
    if shape is None:
        match = re.search(rf"\d+{_TIMES}\d+(?:{_TIMES}\d+)?", type_cell.text)
        if match is not None:
            shape = read_size(match.group())
            colour = re.search(r"\b(rgb|bgr|gr[ae]y(?:scale)?)\b", type_cell.text, re.I)
            if shape is not None and len(shape) == 2 and colour is not None:
                shape = (*shape, 3 if colour.group(1).lower() in ("rgb", "bgr") else 1)
    return SpecLine(row, "input", dims(shape), note=type_cell.text) if shape is not None else None


def _layer(
    row: Row,
    type_cell: Cell,
    kind: str,
    roles: Roles,
    shape: tuple[int, ...] | None,
    problems: list[Diagnostic],
    type_stride: int | None = None,
) -> tuple[str | None, str | None]:
    """The layer text for a row, and a note to write above it; problems are appended."""
    filter_shape = _filter_shape(roles.cell(row, "patch"))
    match kind:
        case "conv" | "dwconv" if filter_shape is not None:
            height, width, filters, depthwise = filter_shape
            stride = "" if type_stride in (None, 1) else f"/{type_stride}"
            if kind == "dwconv" or depthwise:
                return f"conv dw {height}×{width}{stride}", None
            if filters is None:
                problems.append(_unreadable(row, roles, "patch", roles.cell(row, "patch"), "3 × 3 × 3 × 32"))  # type: ignore[arg-type]
                return None, None
            return f"conv {height}×{width}{stride}, {filters}", None
        case "conv" | "dwconv":
            patch = _patch(row, roles, problems, required=True, what=type_cell.text, type_stride=type_stride)
            if patch is None:
                return None, None
            if kind == "dwconv":
                return f"conv dw {patch[0]}", None
            return _conv(row, roles, patch, shape, problems, type_cell), None
        case "fc" if (units := _fc_shape(roles.cell(row, "patch"))) is not None:
            return f"FC-{units}", None
        case "maxpool" | "avgpool":
            patch = _patch(row, roles, problems, required=False, what=type_cell.text, type_stride=type_stride)
            if patch is None:  # the row gives no patch: the word as written, which the notation reads
                return type_cell.text, None
            return f"{'max' if kind == 'maxpool' else 'avg'} pool {patch[0]}", None
        case "inception":
            return _inception(row, roles, type_cell, problems), None
        case "fc":
            units = _units(row, roles, shape, type_cell, problems)
            if units is None:
                return None, None
            word = type_cell.text.lower()
            note = None if word in ("fc", "dense") else f'"{type_cell.text}" in the table: a fully connected layer'
            return f"FC-{units}", note
    if _parses_as_layer(type_cell.text):
        return type_cell.text, None
    problems.append(_unknown_type(row, type_cell))
    return None, None


def _filter_shape(cell: Cell | None) -> tuple[int, int, int | None, bool] | None:
    """MobileNet's "Filter Shape": `3 × 3 × 3 × 32` (k×k×depth×filters), `3 × 3 × 32 dw`.

    >>> [_filter_shape(Cell(t, command_line_span())) for t in ("3 × 3 × 3 × 32", "3 × 3 × 64 dw", "7×7/2")]
    [(3, 3, 32, False), (3, 3, None, True), None]
    """
    if cell is None:
        return None
    if match := re.fullmatch(rf"(\d+){_TIMES}(\d+){_TIMES}\d+{_TIMES}(\d+)", cell.text.strip()):
        return int(match.group(1)), int(match.group(2)), int(match.group(3)), False
    if match := re.fullmatch(rf"(\d+){_TIMES}(\d+){_TIMES}\d+\s+dw", cell.text.strip(), re.I):
        return int(match.group(1)), int(match.group(2)), None, True
    return None


def _fc_shape(cell: Cell | None) -> int | None:
    """An FC's "Filter Shape", inputs × units (`1024 × 1000`): the units."""
    if cell is None:
        return None
    match = re.fullmatch(rf"\d+{_TIMES}(\d+)", cell.text.strip())
    return int(match.group(1)) if match else None


def _patch(
    row: Row,
    roles: Roles,
    problems: list[Diagnostic],
    *,
    required: bool,
    what: str,
    type_stride: int | None = None,
) -> tuple[str, tuple[int, int]] | None:
    """The patch as the notation writes it, `7×7/2`, and its size; the stride from the patch,
    the stride column or the type cell (`Avg Pool / s1`)."""
    cell = roles.cell(row, "patch")
    if cell is not None and (pool := re.fullmatch(r"pool\s+(.*)", cell.text.strip(), re.I)):
        cell = Cell(pool.group(1), cell.span)
    stride_cell = roles.cell(row, "stride")
    if cell is None:
        if required:
            problems.append(
                diag.error(
                    "P510",
                    f"row {row.number}: '{what}' needs a patch size, and the row gives none",
                    row.cells[roles.index["patch"]].span if "patch" in roles.index else row.span,
                    "fill in its patch size (7×7/2), or write the layer in the type column as the notation does "
                    "(conv7-64/2)",
                )
            )
        return None
    patch = read_patch(cell.text)
    if patch is None:
        problems.append(_unreadable(row, roles, "patch", cell, "a patch size and stride such as 7×7/2, or 3×3"))
        return None
    height, width, stride = patch
    stride = stride if stride is not None else type_stride
    if stride_cell is not None:
        column = read_count(stride_cell.text)
        if column is None:
            problems.append(_unreadable(row, roles, "stride", stride_cell, "a stride such as 2"))
        elif stride is not None and stride != column:
            heading = roles.heading("stride")
            message = f'row {row.number}: the patch says stride {stride}, but column "{heading}" says {column}'
            problems.append(diag.error("P507", message, stride_cell.span))
        else:
            stride = column
    text = f"{height}×{width}" + (f"/{stride}" if stride is not None else "")
    return text, (height, width)


def _conv(
    row: Row,
    roles: Roles,
    patch: tuple[str, tuple[int, int]],
    shape: tuple[int, ...] | None,
    problems: list[Diagnostic],
    type_cell: Cell,
) -> str | None:
    """`convolution 7×7/2, 64`, or `convolution 3×3/1, 192 reduce 64` where GoogLeNet's channel
    columns give a conv's filters and its 1×1 reduction."""
    text, (height, width) = patch
    size = f"{height}x{width}" if height == width and height in (1, 3, 5) else ""
    filters_role = "filters" if roles.cell(row, "filters") else size
    count = len(problems)
    filters = _count(row, roles, filters_role, problems)
    reduce = _count(row, roles, f"{size}_reduce", problems) if size in ("3x3", "5x5") else None
    if filters is None and shape is not None and len(shape) == 3:
        filters = shape[2]
    if filters is None and len(problems) == count:
        problems.append(
            diag.error(
                "P510",
                f"row {row.number}: the convolution's number of filters is not in the row",
                type_cell.span,
                "give its output size (112×112×64) or a filters column",
            )
        )
    if len(problems) > count:
        return None
    return f"convolution {text}, {filters}" + (f" reduce {reduce}" if reduce is not None else "")


def _count(row: Row, roles: Roles, role: str, problems: list[Diagnostic]) -> int | None:
    """The number in a role's cell (None if blank); a P507 if it is not a number."""
    cell = roles.cell(row, role)
    if cell is None:
        return None
    count = read_count(cell.text)
    if count is None:
        problems.append(_unreadable(row, roles, role, cell, "a number of channels such as 64"))
    return count


def _inception(row: Row, roles: Roles, type_cell: Cell, problems: list[Diagnostic]) -> str | None:
    cells = [roles.cell(row, role) for role in INCEPTION_ROLES]
    missing = [role for role, cell in zip(INCEPTION_ROLES, cells, strict=True) if cell is None]
    if missing:
        names = ", ".join(f'"{roles.heading(r)}"' if r in roles.index else r for r in missing)
        problems.append(
            diag.error(
                "P510",
                f"row {row.number}: an inception module needs six channel counts; missing: {names}",
                type_cell.span,
                "the columns are #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5 and pool proj, as in GoogLeNet's Table 1",
            )
        )
        return None
    counts = [_count(row, roles, role, problems) for role in INCEPTION_ROLES]
    if any(count is None for count in counts):
        return None
    label = re.search(r"\(([^)]*)\)", type_cell.text)
    name = f"inception({label.group(1).strip()})" if label else "inception"
    return f"{name} {' '.join(str(count) for count in counts)}"


def _units(
    row: Row, roles: Roles, shape: tuple[int, ...] | None, type_cell: Cell, problems: list[Diagnostic]
) -> int | None:
    """An FC layer's units: the filters column, else an output of N or 1×1×N."""
    if roles.cell(row, "filters") is not None:
        return _count(row, roles, "filters", problems)
    if shape is not None and all(d == 1 for d in shape[:-1]):
        return shape[-1]
    problems.append(
        diag.error(
            "P510",
            f"row {row.number}: '{type_cell.text}' needs its number of units, and the row gives none",
            type_cell.span,
            "give its output size (1×1×1000), or write it as FC-1000",
        )
    )
    return None


def _parses_as_layer(text: str) -> bool:
    """Whether the notation reads the text as one layer (`conv3-64`, `dropout (40%)`, `soft-max`)."""
    spec = _parsed(text)
    return (
        spec is not None
        and len(spec.chains) == 1
        and len(spec.chains[0]) == 1
        and not (spec.title or spec.base or spec.classes or spec.regression or spec.defaults or spec.totals)
        and "->" not in text
        and "→" not in text
    )


def _parsed(text: str) -> Spec | None:
    try:
        return parse_spec(text)
    except ParseFailure:
        return None


_TABLE_WORDS = (
    "convolution",
    "conv dw",
    "max pool",
    "avg pool",
    "average pool",
    "inception",
    "linear",
    "fully connected",
    "input",
    "total",
    *(word for word in LAYER_WORDS if word not in ("network", "defaults", "train", "block", "add", "concat")),
)


def _unknown_type(row: Row, cell: Cell) -> Diagnostic:
    head = re.match(r"[A-Za-z][A-Za-z \-]*[A-Za-z]|[A-Za-z]", cell.text)
    close = difflib.get_close_matches(head.group().lower(), _TABLE_WORDS, n=1, cutoff=0.6) if head else []
    suggestion = close[0] if close else did_you_mean(cell.text)
    hints = [f"did you mean `{suggestion}`?"] if suggestion else []
    return diag.error(
        "P508",
        f"row {row.number}: unknown layer type '{cell.text}'",
        cell.span,
        *hints,
        "the type column takes words such as convolution, max pool, inception (3a), linear, softmax, "
        "or a layer as the notation writes it (conv3-64, FC-4096)",
    )


def _unparsable(line: SpecLine, type_cell: Cell, roles: Roles) -> list[Diagnostic]:
    """A last check: the line as written must parse, and no `#` may turn the rest of it into a comment."""
    text = _claimed(line, roles.ops_word)
    message = f"row {line.row.number} reads as `{text}`, which the notation cannot parse"
    if "#" in line.text:
        return [diag.error("P508", message, type_cell.span, "a `#` would start a comment")]
    try:
        parse_spec(text)
    except ParseFailure as failure:
        return [diag.error("P508", message, type_cell.span, failure.diagnostics[0].message)]
    return []


# ---- the input size -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InputHeader:
    shape: str
    comment: str | None


def input_header(input_shape: tuple[int, ...] | None, lines: Sequence[SpecLine], table: Table) -> InputHeader:
    """The input size: as given, else the table's input row, else inferred from a first conv row
    with a declared output (H×W output × stride, 3 channels); P509 if none of these."""
    if input_shape is not None:
        return InputHeader(dims(input_shape), None)
    row_input = next((line for line in lines if line.kind == "input"), None)
    if row_input is not None:
        return InputHeader(row_input.text, f'row {row_input.row.number}: "{printable(row_input.note or "")}"')
    first = next((line for line in lines if line.kind == "layer"), None)
    inferred = _inferred_input(first) if first is not None else None
    if inferred is not None:
        return inferred
    where = first.row.span if first is not None else table.header_span
    raise _Unreadable(
        [
            diag.error(
                "P509",
                "cannot tell the network's input size: the table has no input row, and its first row is not "
                "a convolution with an output size",
                where,
                "pass the input size, e.g. --input 224x224x3 (input_shape=(224, 224, 3) from Python)",
            )
        ]
    )


def _inferred_input(first: SpecLine) -> InputHeader | None:
    spec = _parsed(first.text)
    shape = read_size(first.shape) if first.shape else None
    if spec is None or shape is None or len(shape) != 3:
        return None
    layer = spec.chains[0][0].element
    if not isinstance(layer, Layer) or layer.kind != "conv":
        return None
    stride = next((o.value for o in layer.options if o.key == "stride"), (1, 1))
    assert isinstance(stride, tuple)
    size = (shape[0] * stride[0], shape[1] * stride[1], 3)
    stride_text = str(stride[0]) if stride[0] == stride[1] else dims(stride)
    comment = (
        f"input {dims(size)} inferred from row {first.row.number}: {dims(shape[:2])} output × stride {stride_text}; "
        "pass --input to override"
    )
    return InputHeader(dims(size), comment)


# ---- writing the spec ---------------------------------------------------------------


def render_spec(
    file: str, table_format: TableFormat, roles: Roles, name: str | None, header: InputHeader, lines: Sequence[SpecLine]
) -> str:
    """The spec text: where it came from, the title and input, then one aligned line per row."""
    layers = _grouped([line for line in lines if line.kind == "layer"], roles.ops_word)
    totals = [line for line in lines if line.kind == "total"]
    out = _provenance(file, table_format, roles)
    if name:
        out.append(f"network {_quoted(name)}")
    if header.comment:
        out.append(f"# {printable(header.comment)}")
    out += [f"input {header.shape}", ""]
    out += _aligned(layers, roles.ops_word)
    if totals:
        out.append("")
        for line in totals:
            claims = [("params", line.params), (roles.ops_word, line.ops)]
            out += [f"total {word} {figure}  # row {line.row.number}" for word, figure in claims if figure]
    return "\n".join(out) + "\n"


def _grouped(lines: Sequence[SpecLine], ops_word: str) -> list[SpecLine]:
    """Rows printed once with a count (MobileNet's `5×`), written out that many times, each copy
    with the row's sizes, so that the checker can judge (and infer the padding of) every one."""
    del ops_word
    out: list[SpecLine] = []
    for repeat, run in itertools.groupby(lines, key=lambda line: line.repeat):
        group = list(run)
        if repeat == 1:
            out += group
            continue
        first, last = group[0].row.number, group[-1].row.number
        rows = f"row {first}" if first == last else f"rows {first}–{last}"
        for copy in range(repeat):
            for position, line in enumerate(group):
                note = f"{rows}, printed once with {repeat}×: copy {copy + 1} of {repeat}" if position == 0 else None
                out.append(replace(line, note=note if copy == 0 or position == 0 else line.note))
    return out


def _provenance(file: str, table_format: TableFormat, roles: Roles) -> list[str]:
    kind = "Markdown" if table_format == "markdown" else "CSV"
    used = sorted((column, role) for role, column in roles.index.items() if role not in UNUSED_ROLES)
    out = [f"# Imported by `papernet import-table` from {printable(file)} ({kind})."]
    out += _comment("Columns:", [f'{role} ← "{printable(roles.header[column].text)}"' for column, role in used], ".")
    if roles.ignored:
        names = [
            f'"{printable(roles.header[column].text)}"' if roles.header[column].text else f"column {column + 1}"
            for column in roles.ignored
        ]
        out += _comment("ignored columns:", names)
    out.append("# The claims are the table's figures as printed; `papernet check` compares them.")
    return out


def _comment(lead: str, items: Sequence[str], end: str = "") -> list[str]:
    """A comment listing items, wrapped between items at 100 characters."""
    lines, current = [], f"# {lead}"
    for number, item in enumerate(items, start=1):
        piece = item + ("," if number < len(items) else end)
        if len(current) + 1 + len(piece) > 100 and current != "#  ":
            lines.append(current)
            current = "#  "
        current += " " + piece
    return [*lines, current]


def _quoted(name: str) -> str:
    name = printable(name)
    if '"' not in name:
        return f'"{name}"'
    return f"'{name}'" if "'" not in name else '"' + name.replace('"', "'") + '"'


def _claimed(line: SpecLine, ops_word: str) -> str:
    parts = [line.text]
    if line.shape:
        parts.append(f"-> {line.shape}")
    if line.params:
        parts.append(f"params {line.params}")
    if line.ops:
        parts.append(f"{ops_word} {line.ops}")
    return " ".join(parts)


def _aligned(lines: Sequence[SpecLine], ops_word: str) -> list[str]:
    """The layer lines with their claims and row comments in columns, as a person would align them."""
    table = [
        [
            line.text,
            f"-> {line.shape}" if line.shape else "",
            f"params {line.params}" if line.params else "",
            f"{ops_word} {line.ops}" if line.ops else "",
            f"# row {line.row.number}",
        ]
        for line in lines
    ]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    out = []
    for line, row in zip(lines, table, strict=True):
        if line.note:
            out.append(f"# {printable(line.note)}")
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True) if width]
        out.append((cells[0] + " " + "  ".join(cells[1:])).rstrip())
    return out
