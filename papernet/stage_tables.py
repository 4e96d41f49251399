"""Stage 0, import: a table of stages (one row per sequence of identical blocks) → a spec.

    table ──roles──▶ which column is what ──rows──▶ stages ──▶ block definitions + one line per row

The 2018–2020 mobile networks print their architecture one *stage* per row, not one layer:

    MobileNetV2, Table 2        | Input | Operator | t | c | n | s |
                                | 112² × 16 | bottleneck | 6 | 24 | 2 | 2 |
    EfficientNet-B0, Table 1    | Stage i | Operator F̂i | Resolution Ĥi × Ŵi | #Channels Ĉi | #Layers L̂i |
                                | 3 | MBConv6, k3x3 | 112 × 112 | 24 | 2 |

A row is n blocks of its operator with c output channels; "the first layer of each sequence
has a stride s and all others use stride 1" (MobileNetV2, Table 2's caption), and a block whose
stride is 1 and whose input has c channels adds its input back. `papernet.tables` reads the
table's cells and calls `import_stage_table` when the headers are those of a stage table
(`is_stage_table`); this module does not import `papernet.tables`, so that there is no cycle.

The spec it writes reads like specs/mobilenet_v2.pn and specs/efficientnet_b0.pn: the block of
the operator defined once at the top (`bottleneck(e, c, s)`, `bottleneck_residual(e, c)`,
`mbconv6_k3(e, s, cin, cout)`, …), the paper's text on batch norm and activations as
`defaults:`, then one line per row with the row's sizes as claims. The operators:

    conv2d, conv2d 1x1, Conv3x3   a conv (3×3 where the kernel is not printed, said in a note)
    bottleneck                    MobileNetV2's Table 1: 1×1 conv to t·k channels, BN, ReLU6;
                                  3×3 depthwise at stride s, BN, ReLU6; linear 1×1 conv to c, BN
                                  (t = 1: no expansion conv, as Keras builds it)
    MBConv6, k3x3                 EfficientNet's: the same with swish, a k×k depthwise conv and a
                                  squeeze-and-excitation of 0.25 of the block's input channels
    avgpool 7x7, Pooling          an average pool; global where its window is the whole input
    FC, conv2d 1x1 to k classes   the classifier: a dense layer of 1000 units (ImageNet), softmax
    A & B & C                     several operators in one row (EfficientNet's last)

Sizes (`Input`, `Resolution`) are each row's *input*, so a claim on the row before it. Where no
stride column is printed (EfficientNet), a row's stride is the one that takes its resolution to
the next row's (224 → 112: stride 2), said in a note above the row. Diagnostics are those of
`papernet.tables` (P507 a cell that cannot be read, P508 an operator papernet does not know,
with a did-you-mean, P509 no input size, P510 a row that lacks what its operator needs), and:

    P513  the rows do not fit together: a resolution that no stride gives from the row before,
          or bottleneck (ReLU6) and MBConv (swish) rows in one table
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from papernet import diagnostics as diag
from papernet.diagnostics import Diagnostic, printable
from papernet.infer import dims
from papernet.parse import ParseFailure
from papernet.parse import parse as parse_spec
from papernet.span import Span, command_line_span

CLASSES = 1000  # the classifier's k: ImageNet's classes, as keras.applications builds it
MAX_REPEATS = 1000
MAX_EXPANSION = 1000


class CellLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def span(self) -> Span: ...


class RowLike(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def cells(self) -> Sequence[CellLike]: ...
    @property
    def span(self) -> Span: ...


class TableLike(Protocol):
    @property
    def header(self) -> Sequence[CellLike]: ...
    @property
    def header_span(self) -> Span: ...
    @property
    def rows(self) -> Sequence[RowLike]: ...


class Unreadable(Exception):
    """The table cannot be imported; `diagnostics` says where and why."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__(diagnostics)
        self.diagnostics = tuple(diagnostics)


def _stop(found: Sequence[Diagnostic]) -> None:
    if found:
        raise Unreadable(found)


# ---- columns ------------------------------------------------------------------------

STAGE_ROLES = ("operator", "input", "resolution", "t", "c", "n", "s", "stage")

_ROLE_PATTERNS = (
    ("operator", r"operators?|operation|(layer |block )?type|layers? type|block|layer"),
    ("input", r"input( size| shape| dims)?"),
    ("resolution", r"(input )?resolution( size)?"),
    ("t", r"t|expansion( factor| ratio)?|expand ratio"),
    ("c", r"c|(number of )?(output )?(channels|filters)|width"),
    ("n", r"n|repeats?|number of (layers|blocks|repeats)"),
    ("s", r"s|strides?"),
    ("stage", r"(number of )?stages?"),
)


def normalise_header(text: str) -> str:
    """A stage table's header as the role patterns read it: lower case, no accents, `#` read as
    "number of", and the paper's symbol after the word (`F̂i`, `Ĥi × Ŵi`) left out.

    >>> [normalise_header(h) for h in ("Operator F̂i", "Resolution Ĥi × Ŵi", "#Layers L̂i", "t", "Input")]
    ['operator', 'resolution', 'number of layers', 't', 'input']
    """
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    plain = re.sub(r"\([^)]*\)", " ", plain.lower().replace("#", " number of "))
    words = re.sub(r"[^a-z0-9]+", " ", plain).split()
    if len(words) > 1:  # the symbol a paper puts after the word: F̂i, Ĥi × Ŵi, L̂i, i
        while len(words) > 1 and re.fullmatch(r"[a-z]i?|i", words[-1]):
            words.pop()
    return " ".join(words)


def role_of_header(text: str) -> str | None:
    """The stage-table role a header names, or None.

    >>> [role_of_header(h) for h in ("Operator F̂i", "#Channels Ĉi", "#Layers L̂i", "Stage i", "s", "params")]
    ['operator', 'c', 'n', 'stage', 's', None]
    """
    normal = normalise_header(text)
    return next((role for role, pattern in _ROLE_PATTERNS if re.fullmatch(pattern, normal)), None)


def is_stage_table(headers: Iterable[str]) -> bool:
    """Whether the headers are a stage table's: a count of blocks per row (`n`, `#Layers`) with
    an expansion factor `t` or a resolution column. A per-layer table (VGG's, GoogLeNet's) has neither.

    >>> is_stage_table(["Input", "Operator", "t", "c", "n", "s"]), is_stage_table(["type", "patch", "output"])
    (True, False)
    """
    roles = {role_of_header(text) for text in headers}
    return "n" in roles and ("t" in roles or "resolution" in roles)


@dataclass(frozen=True, slots=True)
class Columns:
    header: Sequence[CellLike]
    index: Mapping[str, int]
    ignored: tuple[int, ...]

    def cell(self, row: RowLike, role: str) -> CellLike | None:
        """The row's cell for a role; None where there is no such column, or the cell is blank or a dash."""
        column = self.index.get(role)
        if column is None:
            return None
        cell = row.cells[column]
        return None if cell.text.strip() in ("", "-", "–", "—") else cell

    def heading(self, role: str) -> str:
        return self.header[self.index[role]].text


def assign_columns(table: TableLike, overrides: Mapping[str, str]) -> Columns:
    """Each column's role: the `--column ROLE=HEADER` overrides first, then the headers."""
    index: dict[str, int] = {}
    problems: list[Diagnostic] = []
    texts = [cell.text for cell in table.header]
    for name, heading in overrides.items():
        role = name.strip().lower() if name.strip().lower() in STAGE_ROLES else role_of_header(name)
        column = next((i for i, text in enumerate(texts) if " ".join(text.lower().split()) == heading.lower()), None)
        if role is None:
            close = difflib.get_close_matches(name.strip().lower(), STAGE_ROLES, n=1, cutoff=0.5)
            problems.append(
                diag.error(
                    "P505",
                    f"unknown column role '{name}' in --column {name}={heading} (a stage table)",
                    command_line_span(),
                    *([f"did you mean `{close[0]}`?"] if close else []),
                    f"a stage table's roles are: {', '.join(STAGE_ROLES)}",
                )
            )
        elif column is None:
            problems.append(
                diag.error(
                    "P506",
                    f"no column is headed '{heading}' (from --column {name}='{heading}')",
                    table.header_span,
                    "the headers are: " + ", ".join(f'"{printable(t)}"' for t in texts),
                )
            )
        else:
            index[role] = column
    _stop(problems)
    for column, text in enumerate(texts):
        role = role_of_header(text)
        if role is None or column in index.values():
            continue
        if role in index:
            first = table.header[index[role]]
            problems.append(
                diag.error(
                    "P511",
                    f'columns "{printable(first.text)}" and "{printable(text)}" both read as the {role} column',
                    table.header[column].span,
                    f"choose one with --column {role}=HEADER",
                )
            )
            continue
        index[role] = column
    _stop(problems)
    if "operator" not in index:
        message = 'no column holds the operator (a column headed "Operator" or "type")'
        raise Unreadable([diag.error("P504", message, table.header_span, "name it with --column operator=HEADER")])
    if "c" not in index:
        message = 'no column holds the channels (a column headed "c" or "#Channels")'
        raise Unreadable([diag.error("P504", message, table.header_span, "name it with --column c=HEADER")])
    used = {column for role, column in index.items() if role != "stage"}
    return Columns(table.header, index, tuple(i for i in range(len(texts)) if i not in used))


# ---- cells ------------------------------------------------------------------------

_TIMES = r"\s*[x×X*]\s*"


def read_size(text: str) -> tuple[int, ...] | None:
    """A size as papers print it: `224²`, `112² × 32`, `224 × 224`, `1 × 1 × 1280`; None if not one.

    >>> read_size("112² × 32"), read_size("224²"), read_size("224 × 224"), read_size("7²x")
    ((112, 112, 32), (224, 224), (224, 224), None)
    """
    expanded = re.sub(r"(\d+)\s*²", r"\1×\1", text.strip())
    if not re.fullmatch(rf"\d+(?:{_TIMES}\d+){{0,2}}", expanded):
        return None
    return tuple(int(part) for part in re.split(_TIMES, expanded))


def read_count(text: str) -> int | None:
    """`24`, `1,280`; None if not a count.

    >>> read_count("1,280"), read_count("6a")
    (1280, None)
    """
    return int(text.replace(",", "")) if re.fullmatch(r"\d+|\d{1,3}(?:,\d{3})+", text.strip()) else None


@dataclass(frozen=True, slots=True)
class Conv:
    kernel: tuple[int, int] | None  # None: not printed (`conv2d`)


@dataclass(frozen=True, slots=True)
class Bottleneck:
    """MobileNetV2's bottleneck: the expansion t comes from the t column."""


@dataclass(frozen=True, slots=True)
class MBConv:
    expansion: int
    kernel: int


@dataclass(frozen=True, slots=True)
class Pool:
    kind: Literal["avg", "max"]
    window: tuple[int, int] | None  # None: not printed (EfficientNet's `Pooling`)
    global_: bool = False


@dataclass(frozen=True, slots=True)
class Dense:
    pass


Operator = Conv | Bottleneck | MBConv | Pool | Dense


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("×", "x").split())


def read_operator(text: str) -> Operator | None:
    """One operator as a stage table prints it; None if papernet does not know it.

    >>> [read_operator(t) for t in ("conv2d 1x1", "Conv3x3", "MBConv6, k5x5", "FC")]
    [Conv(kernel=(1, 1)), Conv(kernel=(3, 3)), MBConv(expansion=6, kernel=5), Dense()]
    >>> read_operator("avgpool 7x7")
    Pool(kind='avg', window=(7, 7), global_=False)
    >>> read_operator("MBConv6 k3x3") is None, read_operator("mbconv6 3x3") is None
    (True, True)
    """
    word = _normal(text)
    if match := re.fullmatch(r"conv(?:olution)?(?:2d)?(?: ?(\d+)x(\d+))?", word):
        return Conv((int(match[1]), int(match[2])) if match[1] else None)
    if word == "bottleneck":
        return Bottleneck()
    if match := re.fullmatch(r"mbconv(\d+), k(\d+)x(\d+)", word):
        if match[2] == match[3]:
            return MBConv(int(match[1]), int(match[2]))
        return None
    if match := re.fullmatch(r"(avg|average|mean|max) ?pool(?:ing)?(?: (\d+)x(\d+))?", word):
        kind: Literal["avg", "max"] = "max" if match[1] == "max" else "avg"
        return Pool(kind, (int(match[2]), int(match[3])) if match[2] else None)
    if re.fullmatch(r"global (avg|average) ?pool(?:ing)?", word):
        return Pool("avg", None, global_=True)
    if re.fullmatch(r"pool(?:ing)?", word):
        return Pool("avg", None)
    if re.fullmatch(r"fc|dense|fully[ -]connected|linear|classifier", word):
        return Dense()
    return None


_OPERATOR_WORDS = ("conv2d", "conv2d 1x1", "Conv3x3", "bottleneck", "MBConv6, k3x3", "avgpool 7x7", "Pooling", "FC")


def suggest_operator(text: str) -> str | None:
    """What an operator papernet does not know was probably meant.

    >>> suggest_operator("MBConv6 k3×3"), suggest_operator("mbconv6 3x3"), suggest_operator("botleneck")
    ('MBConv6, k3x3', 'MBConv6, k3x3', 'bottleneck')
    """
    word = _normal(text)
    if match := re.fullmatch(r"mb[ _-]?conv ?(\d+)\W*(?:k ?)?(\d+) ?x ?(\d+)", word):
        return f"MBConv{match[1]}, k{match[2]}x{match[3]}"
    close = difflib.get_close_matches(word, [w.lower() for w in _OPERATOR_WORDS], n=1, cutoff=0.6)
    return next((w for w in _OPERATOR_WORDS if w.lower() == close[0]), None) if close else None


# ---- rows → stages ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stage:
    """One row: its operators (`Conv1x1 & Pooling & FC` is three) and the numbers beside them."""

    row: RowLike
    operators: tuple[Operator, ...]
    parts: tuple[str, ...]  # each operator as printed
    operator_cell: CellLike
    t: int | None
    c: int | None
    classes: bool  # c printed as a letter (`k`): the number of classes
    n: int
    s: int | None  # as printed
    size: tuple[int, ...] | None  # the row's input, as printed (Input or Resolution)
    size_text: str | None


def read_stages(table: TableLike, columns: Columns) -> list[Stage]:
    """Every non-blank row as a stage; `Unreadable` with the problems of all rows."""
    stages: list[Stage] = []
    problems: list[Diagnostic] = []
    for row in table.rows:
        if all(not cell.text.strip() for cell in row.cells):
            continue
        stage = _read_stage(row, columns, problems)
        if stage is not None:
            stages.append(stage)
    _stop(problems)
    if not stages:
        raise Unreadable([diag.error("P501", "the table has no rows", table.header_span)])
    return stages


def _read_stage(row: RowLike, columns: Columns, problems: list[Diagnostic]) -> Stage | None:
    count = len(problems)
    operator_cell = columns.cell(row, "operator")
    if operator_cell is None:
        where = row.cells[columns.index["operator"]].span
        problems.append(diag.error("P510", f"row {row.number} has no operator", where))
        return None
    operators: list[Operator] = []
    parts = tuple(part.strip() for part in operator_cell.text.split("&"))
    for part in parts:
        operator = read_operator(part)
        if operator is None:
            problems.append(_unknown_operator(row, operator_cell, part))
        else:
            operators.append(operator)
    t = _number(row, columns, "t", problems, "an expansion factor such as 6", MAX_EXPANSION)
    t_cell = columns.cell(row, "t")
    if t is not None and t_cell is not None and len(operators) == len(parts):  # not under an unknown operator
        _check_expansion(row, columns, t, t_cell, operators, problems)
    n = _number(row, columns, "n", problems, "a number of blocks such as 3", MAX_REPEATS)
    s = _number(row, columns, "s", problems, "a stride such as 2", 64)
    c, classes = None, False
    cell = columns.cell(row, "c")
    if cell is not None and re.fullmatch(r"[A-Za-z]", cell.text.strip()):
        classes = True
    elif cell is not None:
        c = read_count(cell.text)
        if c is None or c < 1:
            problems.append(_unreadable(row, columns, "c", cell, "a number of channels such as 24"))
    size, size_text = None, None
    for role in ("input", "resolution"):
        cell = columns.cell(row, role)
        if cell is not None and size is None:
            size, size_text = read_size(cell.text), cell.text
            if size is None or 0 in size:
                problems.append(_unreadable(row, columns, role, cell, "a size such as 112² × 16 or 112 × 112"))
    if len(problems) > count:
        return None
    return Stage(row, tuple(operators), parts, operator_cell, t, c, classes, n or 1, s, size, size_text)


def _check_expansion(
    row: RowLike, columns: Columns, t: int, cell: CellLike, operators: Sequence[Operator], problems: list[Diagnostic]
) -> None:
    """A printed t must belong to the row's block: a bottleneck takes it, an MBConv must agree with it."""
    heading = printable(columns.heading("t"))
    blocks = [op for op in operators if isinstance(op, (Bottleneck, MBConv))]
    if not blocks:
        message = f'row {row.number}, column "{heading}": t = {t}, but only a bottleneck or MBConv has an expansion'
        problems.append(diag.error("P507", message, cell.span, "leave the cell empty or `-`"))
    elif any(isinstance(op, MBConv) and op.expansion != t for op in blocks):
        expansion = next(op.expansion for op in blocks if isinstance(op, MBConv))
        message = f'row {row.number}, column "{heading}": t = {t}, but the operator is MBConv{expansion}'
        problems.append(diag.error("P507", message, cell.span))


def _number(
    row: RowLike, columns: Columns, role: str, problems: list[Diagnostic], expected: str, bound: int
) -> int | None:
    cell = columns.cell(row, role)
    if cell is None:
        return None
    value = read_count(cell.text)
    if value is None or not 1 <= value <= bound:
        problems.append(_unreadable(row, columns, role, cell, f"{expected}, from 1 to {bound:,}"))
        return None
    return value


def _unreadable(row: RowLike, columns: Columns, role: str, cell: CellLike, expected: str) -> Diagnostic:
    return diag.error(
        "P507",
        f"row {row.number}, column \"{printable(columns.heading(role))}\": cannot read '{printable(cell.text)}'",
        cell.span,
        f"expected {expected}",
    )


def _unknown_operator(row: RowLike, cell: CellLike, text: str) -> Diagnostic:
    suggestion = suggest_operator(text)
    return diag.error(
        "P508",
        f"row {row.number}: unknown operator '{printable(text)}'",
        cell.span,
        *([f"did you mean `{suggestion}`?"] if suggestion else []),
        "a stage table's operators are: "
        + ", ".join(f"`{word}`" for word in _OPERATOR_WORDS)
        + ", several joined by `&`",
    )


# ---- stages → spec lines ------------------------------------------------------------

Family = Literal["bottleneck", "mbconv"]


@dataclass(frozen=True, slots=True)
class BlockDef:
    name: str
    params: tuple[str, ...]
    body: tuple[str, ...]
    note: str


@dataclass
class Writer:
    """The network as the rows build it, one stage at a time: what a row's blocks need to know
    (channels in, the spatial size) and what the spec gets (lines, notes, block definitions)."""

    size: tuple[int, int]
    channels: int
    family: Family | None
    blocks: dict[str, BlockDef] = field(default_factory=dict)
    flat: bool = False  # after a global pool

    def block(self, definition: BlockDef) -> str:
        self.blocks.setdefault(definition.name, definition)
        return definition.name


@dataclass(frozen=True, slots=True)
class SpecLine:
    stage: Stage
    text: str
    claim: str | None
    notes: tuple[str, ...]


def write_stage(stage: Stage, stride: int, writer: Writer, problems: list[Diagnostic]) -> tuple[str, list[str]]:
    """The row's layers as one line of notation, and the notes on what it assumed."""
    pieces: list[str] = []
    notes: list[str] = []
    row = stage.row.number
    channels_used = False
    for position, operator in enumerate(stage.operators):
        strided = stride if position == 0 else 1
        match operator:
            case Conv(kernel):
                if stage.classes:
                    pieces.append(_classifier(stage, writer, notes, problems, "conv", None))
                    continue
                if stage.c is None or channels_used:
                    problems.append(_needs(stage, "its number of channels c"))
                    continue
                channels_used = True
                if kernel is None:
                    kernel = (3, 3)
                    notes.append(
                        f"row {row}: {stage.parts[position]} prints no kernel size: 3×3 assumed "
                        '(MobileNetV2 §4: "we always use kernel size 3 × 3")'
                    )
                pieces.append(_repeated(_conv(kernel, strided, stage.c), _conv(kernel, 1, stage.c), stage.n))
                writer.channels = stage.c
                writer.size = _strided(writer.size, strided)
            case Bottleneck() | MBConv():
                if stage.c is None or channels_used:
                    problems.append(_needs(stage, "its number of channels c"))
                    continue
                expansion = operator.expansion if isinstance(operator, MBConv) else stage.t
                if expansion is None:
                    problems.append(_needs(stage, "its expansion factor t"))
                    continue
                channels_used = True
                pieces.append(_blocks(operator, expansion, stage.c, strided, stage.n, writer, notes, row))
                writer.size = _strided(writer.size, strided)
            case Pool(kind, window, global_):
                pieces.append(_pool(stage, stage.parts[position], kind, window, global_, strided, writer, notes))
            case Dense():  # its units: the row's c, unless a conv before it in the row took it
                units = None if channels_used or stage.classes else stage.c
                pieces.append(_classifier(stage, writer, notes, problems, "fc", units))
    return ", ".join(pieces), notes


def _needs(stage: Stage, what: str) -> Diagnostic:
    return diag.error(
        "P510",
        f"row {stage.row.number}: '{printable(stage.operator_cell.text)}' needs {what}, and the row gives none",
        stage.operator_cell.span,
    )


def _conv(kernel: tuple[int, int], stride: int, channels: int) -> str:
    return f"conv {kernel[0]}×{kernel[1]}{f'/{stride}' if stride != 1 else ''}, {channels}"


def _repeated(first: str, rest: str, n: int) -> str:
    """n layers, the first with the row's stride: `conv 3×3/2, 32, conv 3×3, 32 ×2`."""
    calls = [first] + [rest] * (n - 1)
    return ", ".join(f"{text} ×{len(run)}" if len(run) > 1 else text for text, run in _runs(calls))


def _runs(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    return [(text, list(run)) for text, run in itertools.groupby(items)]


def _strided(size: tuple[int, int], stride: int) -> tuple[int, int]:
    return (math.ceil(size[0] / stride), math.ceil(size[1] / stride))  # padding same


def _blocks(
    operator: Bottleneck | MBConv,
    t: int,
    c: int,
    stride: int,
    n: int,
    writer: Writer,
    notes: list[str],
    row: int,
) -> str:
    """A row of n bottleneck or MBConv blocks: the first at the row's stride from the channels
    before it, the others at stride 1 with c in and out, so their input is added back."""
    calls: list[str] = []
    kernel = operator.kernel if isinstance(operator, MBConv) else 3
    for number in range(n):
        cin, s = (writer.channels, stride) if number == 0 else (c, 1)
        residual = s == 1 and cin == c
        if t == 1:
            calls.append(_unexpanded(operator, kernel, cin, c, s, residual))
            continue
        if isinstance(operator, Bottleneck):
            definition = _bottleneck_def(residual)
            args: tuple[int, ...] = (t * cin, c) if residual else (t * cin, c, s)
        else:
            definition = _mbconv_def(t, kernel, residual)
            args = (t * cin, c) if residual else (t * cin, s, cin, c)
        calls.append(f"{writer.block(definition)}({', '.join(map(str, args))})")
    if t == 1:
        name = "MBConv1" if isinstance(operator, MBConv) else "a bottleneck with t = 1"
        notes.append(f"row {row}: {name}: the expansion is the identity, and Keras leaves its 1×1 conv out")
    writer.channels = c
    return ", ".join(f"{text} ×{len(run)}" if len(run) > 1 else text for text, run in _runs(calls))


def _unexpanded(operator: Bottleneck | MBConv, kernel: int, cin: int, c: int, s: int, residual: bool) -> str:
    stride = f"/{s}" if s != 1 else ""
    se = [f"se 0.25 of {cin} swish"] if isinstance(operator, MBConv) else []
    layers = [f"conv dw {kernel}×{kernel}{stride}", *se, f"conv 1×1, {c}, linear"]
    return f"add(identity | {' -> '.join(layers)})" if residual else ", ".join(layers)


def _bottleneck_def(residual: bool) -> BlockDef:
    if residual:
        return BlockDef(
            "bottleneck_residual",
            ("e", "c"),
            ("add(identity | conv 1×1, e -> conv dw 3×3 -> conv 1×1, c, linear)",),
            "A row's other bottlenecks: stride 1 and c channels in and out, so the input is added back; e = t·c.",
        )
    return BlockDef(
        "bottleneck",
        ("e", "c", "s"),
        ("conv 1×1, e", "conv dw 3×3/s", "conv 1×1, c, linear"),
        "MobileNetV2, Table 1: the first bottleneck of a row, from k to c channels at stride s; e = t·k.",
    )


def _mbconv_def(t: int, kernel: int, residual: bool) -> BlockDef:
    name = f"mbconv{t}_k{kernel}"
    window = f"{kernel}×{kernel}"
    if residual:
        body = f"add(conv 1×1, e -> conv dw {window} -> se 0.25 of c swish -> conv 1×1, c, linear | identity)"
        note = (
            f"MBConv{t}, k{kernel}x{kernel}: a stage's other blocks, stride 1, c channels in and out, "
            f"the input added back; e = {t}·c."
        )
        return BlockDef(name + "_residual", ("e", "c"), (body,), note)
    note = f"MBConv{t}, k{kernel}x{kernel}: the first block of a stage, from cin to cout channels at stride s; "
    note += f"e = {t}·cin."
    body_lines = ("conv 1×1, e", f"conv dw {window}/s", "se 0.25 of cin swish", "conv 1×1, cout, linear")
    return BlockDef(name, ("e", "s", "cin", "cout"), body_lines, note)


def _pool(
    stage: Stage,
    printed: str,
    kind: Literal["avg", "max"],
    window: tuple[int, int] | None,
    global_: bool,
    stride: int,
    writer: Writer,
    notes: list[str],
) -> str:
    row = stage.row.number
    word = "average" if kind == "avg" else "max"
    if global_ or window is None or window == writer.size:
        if not global_:
            how = f"{window[0]}×{window[1]} on its {dims(writer.size)} input" if window else "no window printed"
            notes.append(f"row {row}: {printed} ({how}): a global {word} pool, as Keras builds it")
        writer.size, writer.flat = (1, 1), True
        return f"global {word} pool"
    writer.size = _strided(writer.size, stride)
    stride_text = f"/{stride}" if stride != 1 else ""
    return f"{'avg' if kind == 'avg' else 'max'} pool {window[0]}×{window[1]}{stride_text}"


def _classifier(
    stage: Stage, writer: Writer, notes: list[str], problems: list[Diagnostic], what: str, units: int | None
) -> str:
    """The classifier: a dense layer to the classes (`units`, else k = 1000), with softmax. A
    `conv2d 1x1` to k classes is one only on a 1×1 input (after a global pool), where it has
    the dense layer's weights."""
    row = stage.row.number
    if what == "conv" and not (writer.flat or writer.size == (1, 1)):
        message = (
            f"row {row}: '{printable(stage.operator_cell.text)}' to k classes on a {dims(writer.size)} input: "
            "papernet reads a conv to the classes only on a 1×1 input, as a dense layer"
        )
        problems.append(
            diag.error("P510", message, stage.operator_cell.span, "put the pool that makes it 1×1 before it")
        )
        return ""
    if units is None:
        printed = "k classes" if stage.classes else "no units printed"
        source = f"{stage.operator_cell.text} on 1×1" if what == "conv" else "FC"
        notes.append(
            f"row {row}: the classifier ({source}, {printed}): a dense layer of k = {CLASSES} units (ImageNet) "
            "and softmax, as Keras builds it"
        )
        units = CLASSES
    else:
        notes.append(f"row {row}: the classifier: a dense layer of {units} units and softmax, as Keras builds it")
    writer.channels, writer.size, writer.flat = units, (1, 1), True
    return f"FC-{units}, softmax"


# ---- strides, input and claims ------------------------------------------------------


def _stride_from_sizes(here: tuple[int, ...], after: tuple[int, ...]) -> int | None:
    """The stride that takes a resolution to the next row's with `same` padding (⌈H/s⌉), or None.

    >>> _stride_from_sizes((112, 112), (56, 56)), _stride_from_sizes((7, 7), (7, 7)), _stride_from_sizes((5, 5), (4, 4))
    (2, 1, None)
    """
    for stride in range(1, max(here[0], here[1]) + 1):
        if math.ceil(here[0] / stride) == after[0] and math.ceil(here[1] / stride) == after[1]:
            return stride
    return None


def strides(stages: Sequence[Stage], columns: Columns, problems: list[Diagnostic]) -> list[tuple[int, str | None]]:
    """Each row's stride and, where the table does not print it, a note saying where it came from."""
    out: list[tuple[int, str | None]] = []
    printed = "s" in columns.index
    for index, stage in enumerate(stages):
        if printed or stage.s is not None:
            out.append((stage.s or 1, None))
            continue
        after = stages[index + 1] if index + 1 < len(stages) else None
        if stage.size is None or after is None or after.size is None:
            why = "no row after it" if after is None else f"row {after.row.number} prints no size"
            needs_one = any(isinstance(op, (Conv, Bottleneck, MBConv)) for op in stage.operators)
            out.append((1, f"row {stage.row.number}: stride 1 assumed: {why}" if needs_one else None))
            continue
        stride = _stride_from_sizes(stage.size[:2], after.size[:2])
        if stride is None:
            cell = after.row.cells[columns.index["resolution" if "resolution" in columns.index else "input"]]
            message = (
                f"row {after.row.number}'s {printable(after.size_text or '')} cannot follow row {stage.row.number}'s "
                f"{printable(stage.size_text or '')}: no stride gives it"
            )
            problems.append(
                diag.error(
                    "P513", message, cell.span, "a row's size is its input: each is the last one's, halved at stride 2"
                )
            )
            out.append((1, None))
            continue
        note = None
        if stride != 1:
            note = (
                f"row {stage.row.number}: stride {stride} inferred (not printed): its resolution "
                f"{printable(stage.size_text or '')} → row {after.row.number}'s {printable(after.size_text or '')}"
            )
        out.append((stride, note))
    return out


def network_input(
    stages: Sequence[Stage], input_shape: tuple[int, ...] | None, table: TableLike
) -> tuple[tuple[int, int, int], str | None]:
    """The network's input: `--input`, else the first row's size (3 channels where it prints only
    H×W, said in a comment); P509 if neither."""
    if input_shape is not None:
        if len(input_shape) == 3:
            return (input_shape[0], input_shape[1], input_shape[2]), None
        if len(input_shape) == 2:
            return (input_shape[0], input_shape[1], 3), "3 channels (RGB) assumed"
        message = f"a stage table's network takes an image, H×W×C; --input {dims(input_shape)} is not one"
        raise Unreadable([diag.error("P509", message, command_line_span(), "pass e.g. --input 224x224x3")])
    first = stages[0]
    if first.size is not None and len(first.size) in (2, 3):
        text = printable(first.size_text or "")
        if len(first.size) == 3:
            return (first.size[0], first.size[1], first.size[2]), f"row {first.row.number}'s input size, {text}"
        comment = (
            f"row {first.row.number}'s resolution, {text}, with 3 channels (RGB) assumed; pass --input to override"
        )
        return (first.size[0], first.size[1], 3), comment
    message = "cannot tell the network's input size: the first row prints no input size or resolution"
    raise Unreadable([diag.error("P509", message, first.row.span, "pass the input size, e.g. --input 224x224x3")])


def _claim(stage: Stage, after: Stage | None, channels: int | None) -> str | None:
    """A row's output as the table prints it: the next row's input size, with the row's own
    channels where the table prints only a resolution."""
    if after is None or after.size is None:
        return None
    if len(after.size) == 3:
        return dims(after.size)
    if len(after.size) == 2 and channels is not None and not any(isinstance(op, Dense) for op in stage.operators):
        return dims((*after.size, channels))
    return None


# ---- the pipeline -------------------------------------------------------------------


def import_stage_table(
    table: TableLike,
    file: str,
    kind: str,
    name: str | None,
    input_shape: tuple[int, ...] | None,
    overrides: Mapping[str, str],
) -> str:
    """The spec text for a stage table; `Unreadable` with positioned diagnostics if it cannot be read.

    >>> from papernet.tables import read_markdown
    >>> text = "| Input | Operator | t | c | n | s |\\n|---|---|---|---|---|---|\\n"
    >>> table = read_markdown(text + "| 32² × 3 | conv2d 3x3 | - | 8 | 2 | 2 |\\n", "t.md")
    >>> print(import_stage_table(table, "t.md", "markdown", None, None, {}).split("\\n\\n")[-1], end="")
    conv 3×3/2, 8, conv 3×3, 8  # row 1: 32² × 3 | conv2d 3x3 | - | 8 | 2 | 2
    """
    columns = assign_columns(table, overrides)
    stages = read_stages(table, columns)
    problems: list[Diagnostic] = []
    family = _family(stages, problems)
    shape, input_comment = network_input(stages, input_shape, table)
    writer = Writer((shape[0], shape[1]), shape[2], family)
    lines: list[SpecLine] = []
    for index, (stage, (stride, stride_note)) in enumerate(
        zip(stages, strides(stages, columns, problems), strict=True)
    ):
        text, notes = write_stage(stage, stride, writer, problems)
        after = stages[index + 1] if index + 1 < len(stages) else None
        claim = _claim(stage, after, writer.channels)
        lines.append(SpecLine(stage, text, claim, tuple(([stride_note] if stride_note else []) + notes)))
    _stop(problems)
    spec = render(file, kind, name, columns, shape, input_comment, writer, lines)
    try:
        parse_spec(spec, file)
    except ParseFailure as failure:  # a bound (a row of too many, too wide blocks): say which row
        first = failure.diagnostics[0]
        line = first.span.line if first.span is not None else 0
        culprit = next((s for s in lines if _line_of(spec, s) == line), lines[-1])
        message = f"row {culprit.stage.row.number} reads as `{culprit.text}`, which papernet cannot build"
        raise Unreadable([diag.error("P510", message, culprit.stage.operator_cell.span, first.message)]) from None
    return spec


def _line_of(spec: str, line: SpecLine) -> int:
    marker = f"# row {line.stage.row.number}:"
    return next((i for i, text in enumerate(spec.split("\n"), 1) if marker in text and not text.startswith("#")), -1)


def _family(stages: Sequence[Stage], problems: list[Diagnostic]) -> Family | None:
    """Which block the table builds, bottleneck (ReLU6) or MBConv (swish); the `defaults:` follow it."""
    found: dict[Family, Stage] = {}
    for stage in stages:
        for operator in stage.operators:
            if isinstance(operator, Bottleneck):
                found.setdefault("bottleneck", stage)
            elif isinstance(operator, MBConv):
                found.setdefault("mbconv", stage)
    if len(found) > 1:
        second = max(found.values(), key=lambda s: s.row.number)
        message = "bottleneck (ReLU6) and MBConv (swish) rows in one table: which activation have the convs?"
        problems.append(diag.error("P513", message, second.operator_cell.span))
        return None
    return next(iter(found), None)


_DEFAULTS: dict[Family, tuple[str, ...]] = {
    "bottleneck": (
        "# MobileNetV2 §4: ReLU6 and batch normalization after each conv (Table 1: the last 1×1 of a",
        "# bottleneck is linear); no conv bias, as Keras builds it (a bias before batch norm is redundant);",
        "# padding same, so that each size halves at stride 2, as the table's sizes do.",
        "defaults:",
        "  conv: bias off, batchnorm, relu6, padding same",
    ),
    "mbconv": (
        "# EfficientNet §5.2: swish (SiLU); batch norm after each conv, as in MnasNet and MobileNetV2 (the",
        "# last 1×1 of a block is linear); no conv bias, as Keras builds it (a bias before batch norm is redundant);",
        "# padding same, so that each size halves at stride 2, as the table's resolutions do.",
        "defaults:",
        "  conv: bias off, batchnorm, swish, padding same",
    ),
}


def render(
    file: str,
    kind: str,
    name: str | None,
    columns: Columns,
    shape: tuple[int, int, int],
    input_comment: str | None,
    writer: Writer,
    lines: Sequence[SpecLine],
) -> str:
    """The spec: provenance, title and input, `defaults:`, the block definitions, one line per row."""
    out = [
        f"# Imported by `papernet import-table` from {printable(file)} ({'Markdown' if kind == 'markdown' else 'CSV'})."
    ]
    used = sorted((column, role) for role, column in columns.index.items() if role != "stage")
    out.append(
        "# A stage table; columns: "
        + ", ".join(f'{role} ← "{printable(columns.header[i].text)}"' for i, role in used)
        + "."
    )
    if columns.ignored:
        out.append(
            "# ignored columns: " + ", ".join(f'"{printable(columns.header[i].text)}"' for i in columns.ignored) + "."
        )
    out += [
        "# Each row is n blocks: the first at the row's stride, the others at stride 1; a block with stride 1",
        "# and as many channels in as out adds its input back. A row's size is its input, so the claim on",
        "# the row before it; `papernet check` compares them.",
    ]
    if name:
        out.append(f"network {_quoted(name)}")
    if input_comment:
        out.append(f"# input: {input_comment}")
    out += [f"input {dims(shape)}", ""]
    if writer.family is not None:
        out += [*_DEFAULTS[writer.family], ""]
    for definition in writer.blocks.values():
        out += [f"# {definition.note}", f"block {definition.name}({', '.join(definition.params)}):"]
        out += [f"  {line}" for line in definition.body]
        out.append("")
    out += _aligned(lines)
    return "\n".join(out) + "\n"


def _aligned(lines: Sequence[SpecLine]) -> list[str]:
    table = [
        (
            line.text,
            f"-> {line.claim}" if line.claim else "",
            f"# row {line.stage.row.number}: " + " | ".join(printable(cell.text) for cell in line.stage.row.cells),
        )
        for line in lines
    ]
    widths = [max(len(row[i]) for row in table) for i in range(2)]
    out: list[str] = []
    for line, (text, claim, comment) in zip(lines, table, strict=True):
        out += [f"# {printable(note)}" for note in line.notes]
        left = text.ljust(widths[0]) + (" " + claim.ljust(widths[1]) if widths[1] else "")
        out.append(f"{left}  {comment}")
    return out


def _quoted(name: str) -> str:
    name = printable(name)
    if '"' not in name:
        return f'"{name}"'
    return f"'{name}'" if "'" not in name else '"' + name.replace('"', "'") + '"'
