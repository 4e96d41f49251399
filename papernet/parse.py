"""Stage 1, parse: spec text → syntax tree (`papernet.syntax.Spec`), or syntax diagnostics.

The grammar is `grammars/papernet.lark`, read by Lark's LALR parser with the contextual
lexer. The transformer runs inside the parser (no parse tree is built), which keeps a
10,000-layer spec well under a second. Syntax errors are translated into words a user
understands, with a did-you-mean for misspelt layer words.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cache
from typing import Any, ClassVar, NoReturn

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.indenter import DedentError, Indenter

from papernet import blocks
from papernet import diagnostics as diag
from papernet.diagnostics import Diagnostic
from papernet.ir import Activation, Claims, Quantity, TotalClaim, TrainLine
from papernet.parser_cache import cached_lark
from papernet.resources import grammar_path
from papernet.span import Span
from papernet.syntax import (
    MAX_NESTING,
    BlockDef,
    BlockUse,
    DefaultsLine,
    Group,
    Item,
    Layer,
    Merge,
    Option,
    Reference,
    Spec,
    too_deep,
)

MAX_DIGITS = 12
"""Longer numbers are clamped to 10**12, past every bound that lowering enforces."""


class ParseFailure(Exception):
    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__(diagnostics)
        self.diagnostics = tuple(diagnostics)


def decode(data: bytes, file: str) -> str:
    """Bytes of a spec → text with LF line ends, or a P004 diagnostic for bytes that are not UTF-8.

    >>> decode(b"\\xef\\xbb\\xbfinput 28x28\\r\\n", "a.pn")
    'input 28x28\\n'
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", errors="replace")
        line = prefix.count("\n") + 1
        column = len(prefix) - (prefix.rfind("\n") + 1) + 1
        span = Span(file, line, column, line, column + 1)
        message = f"the spec is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}"
        raise ParseFailure([diag.error("P004", message, span, "save the spec as UTF-8")]) from None
    return normalise_newlines(text)


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(text: str, file: str = "<string>") -> Spec:
    """Text of a spec → its syntax tree. Raises `ParseFailure` with diagnostics."""
    text = normalise_newlines(text.removeprefix("\ufeff"))
    if not text.strip() or all(_is_blank_or_comment(line) for line in text.split("\n")):
        span = Span(file, 1, 1, 1, 1)
        raise ParseFailure(
            [
                diag.error(
                    "P005",
                    "the spec is empty" if not text.strip() else "the spec has only comments, no layers",
                    span,
                    "a spec starts with `input H×W×C` and lists layers, e.g. `conv3-64, maxpool, FC-10`",
                )
            ]
        )
    spec = parse_recovering(text, file)
    if spec.problems:
        raise ParseFailure(spec.problems)
    return spec


MAX_SYNTAX_ERRORS = 50
"""A file with more lines that do not parse stops there; the rest is not worth reading."""


def parse_recovering(text: str, file: str = "<string>") -> Spec:
    """Like `parse`, but a line that does not parse is reported and left out (with the lines
    indented under it), and the rest is still read, so one run reports every syntax error and
    still checks everything else. Raises `ParseFailure` only where nothing is left to read."""
    text = normalise_newlines(text.removeprefix("\ufeff")).translate(_CASE_FOLDS_TO_ASCII)
    if not text.strip() or all(_is_blank_or_comment(line) for line in text.split("\n")):
        parse(text, file)  # raises P005
    lines = text.split("\n")
    too_long = _too_long_lines(lines, file)
    if too_long:
        raise ParseFailure(too_long)
    spec, problems = _read(lines, file)
    if spec is None:
        raise ParseFailure(problems)
    blocks = []
    for definition in spec.blocks:
        definition, more = _block_template(definition, file)
        blocks.append(definition)
        problems += more
    return replace(spec, blocks=tuple(blocks), problems=tuple(sorted(problems, key=_position)))


def _read(lines: list[str], file: str) -> tuple[Spec | None, list[Diagnostic]]:
    """The spec of `lines`, leaving out each line that does not parse, and its syntax errors;
    None where nothing is left to read."""
    problems: list[Diagnostic] = []
    while True:
        try:
            return _parse_once("\n".join(lines), file), problems
        except ParseFailure as failure:
            problem = failure.diagnostics[0]
            problems.append(problem)
            line = problem.span.line if problem.span is not None else 0
            if not 1 <= line <= len(lines) or not lines[line - 1].strip() or len(problems) >= MAX_SYNTAX_ERRORS:
                return None, problems
            _leave_out(lines, line - 1)
            if all(_is_blank_or_comment(text) for text in lines):
                return None, problems


def _position(problem: Diagnostic) -> tuple[int, int]:
    return (problem.span.line, problem.span.column) if problem.span is not None else (0, 0)


def _block_template(definition: BlockDef, file: str) -> tuple[BlockDef, list[Diagnostic]]:
    """A block's body parsed once, with placeholders where its parameter expressions stand
    (`papernet.blocks`), and the problems of reading it, at the columns as written."""
    params = definition.params
    if len(set(params)) != len(params) or any(p.lower() in RESERVED_PARAMETER_WORDS for p in params):
        return definition, []  # lowering reports the parameters (P122)
    text, slots, shifts = blocks.template(definition, file)
    spec, problems = _read(text.split("\n"), file)
    written = {str(slot.placeholder): slot.expression for slot in slots}
    problems = [_as_written(problem, shifts, written) for problem in problems]
    if spec is None:
        return definition, problems
    nested = too_deep([item for chain in spec.chains for item in chain], 1)
    if nested is not None:
        span = blocks.restore_columns(nested.span, shifts)
        assert isinstance(span, Span)
        message = f"block {definition.name}: brackets and merges nest more than {MAX_NESTING} deep"
        return definition, [*problems, diag.error("P104", message, span)]
    restored = blocks.restore_columns(spec, shifts)
    assert isinstance(restored, Spec)
    problems += _not_layers(restored, definition)
    body = tuple(item for chain in restored.chains for item in chain)
    unplaced = blocks.unplaced(body, slots)
    for slot in unplaced:
        problems.append(
            diag.error(
                "P126",
                f"block {definition.name}: `{slot.expression}` stands where papernet cannot put a parameter's value",
                slot.span,
                "a parameter goes where the notation reads a number of its own: a size, a count, a rate "
                "(write a rate as a fraction, `dropout p`, not `p%`)",
            )
        )
    if unplaced:
        return definition, problems
    return replace(definition, body=body, slots=slots), problems


def _as_written(
    problem: Diagnostic, shifts: Mapping[int, Sequence[blocks.Shift]], written: Mapping[str, str]
) -> Diagnostic:
    """A syntax error in a block body, at its columns as written and quoting what was written."""

    def words(text: str) -> str:
        return re.sub(r"\d{12}", lambda m: written.get(m.group(), m.group()), text)

    span = blocks.restore_columns(problem.span, shifts)
    assert span is None or isinstance(span, Span)
    return replace(
        problem,
        message=words(problem.message),
        span=span,
        help=tuple(words(h) for h in problem.help),
        notes=tuple(words(n) for n in problem.notes),
    )


def _not_layers(body: Spec, definition: BlockDef) -> list[Diagnostic]:
    """What a block body holds besides layers: sections and statements belong at the top level."""
    where = [line.span for line in body.defaults] + [claim.quantity.span for claim in body.totals]
    where += [line.span for line in body.train] + [inner.span for inner in body.blocks]
    where += [statement[1] for statement in (body.base, body.classes, body.regression) if statement is not None]
    if body.title is not None:
        where.append(definition.span)
    return [
        diag.error(
            "P126",
            f"block {definition.name}: a block body holds layers only",
            span,
            "write `defaults:`, `train:`, `block`, totals and the head at the top level of the spec",
        )
        for span in where
        if isinstance(span, Span)
    ]


MAX_LINE_LENGTH = 10_000
"""A line longer than this is P104, before the lexer runs: some terminals look ahead along a
run of spaces or brackets, which takes time growing with the square of the run. No paper's
line comes near it (the longest in specs/ is under 200 characters)."""


def _too_long_lines(lines: Sequence[str], file: str) -> list[Diagnostic]:
    found = []
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_LENGTH:
            span = Span(file, number, MAX_LINE_LENGTH + 1, number, MAX_LINE_LENGTH + 2)
            found.append(
                diag.error(
                    "P104",
                    f"line {number} is {len(line):,} characters long; papernet's bound is {MAX_LINE_LENGTH:,}",
                    span,
                    "break the line: layers can be separated by newlines",
                )
            )
            if len(found) >= MAX_SYNTAX_ERRORS:
                break
    return found


_CASE_FOLDS_TO_ASCII = str.maketrans({"ſ": "s", "K": "K", "ı": "i", "İ": "I"})
"""The letters that case-insensitive matching takes for ASCII ones (`padding ſame`): read as
those, so that every word the lexer accepts is one the rest of papernet knows."""


def _leave_out(lines: list[str], index: int) -> None:
    """Blank line `index` and the lines indented under it (a section or block whose header is bad)."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    lines[index] = ""
    for following in range(index + 1, len(lines)):
        text = lines[following]
        if _is_blank_or_comment(text):
            continue
        if len(text) - len(text.lstrip()) <= indent:
            break
        lines[following] = ""


def _parse_once(text: str, file: str) -> Spec:
    """The spec of `text`, or a ParseFailure with its first syntax error.

    A top-level line that repeats an earlier one (a generated spec's `conv3-64, BN, relu` ×1000)
    is read once: its later copies are blanked, the post-lexer puts a MEMO_LINE token where each
    stood, and the layers of the line as read alone are moved to its line number. Only a line
    that starts in column 0 and reads alone as exactly one chain is taken; the parser accepts
    MEMO_LINE only where a statement can start, and the post-lexer refuses one inside
    parentheses, so anything else (and any error) reads the whole text again without it."""
    lines = text.split("\n")
    memo = _memo_lines(lines, file)
    if memo:
        reduced = list(lines)
        for number in memo:
            reduced[number - 1] = ""
        try:
            return _parse_text("\n".join(reduced), file, memo)
        except (ParseFailure, _MemoMiss):
            pass
    return _parse_text(text, file, {})


_MEMO_MIN_LINES = 50
"""Shorter specs are read as they are: there is little to save."""


def _memo_lines(lines: Sequence[str], file: str) -> dict[int, tuple[Item, ...]]:
    """{line number: its chain, as read alone at line 1} for each later copy of a repeated top-level line."""
    if len(lines) < _MEMO_MIN_LINES:
        return {}
    first: dict[str, int] = {}
    copies: dict[str, list[int]] = {}
    for number, line in enumerate(lines, start=1):
        if not line or line[0] in " \t#":
            continue
        if line in first:
            copies.setdefault(line, []).append(number)
        else:
            first[line] = number
    memo: dict[int, tuple[Item, ...]] = {}
    for line, numbers in copies.items():
        chain = _alone(line, file)
        if chain is not None:
            for number in numbers:
                memo[number] = chain
    return memo


_EMPTY_SPEC_FIELDS = ("title", "base", "classes", "regression", "defaults", "totals", "train", "blocks", "problems")


def _alone(line: str, file: str) -> tuple[Item, ...] | None:
    """The one chain that `line` reads as, alone; None if it reads as anything else or not at all."""
    try:
        spec = _parse_text(line, file, {})
    except (ParseFailure, _MemoMiss):
        return None
    if len(spec.chains) != 1 or any(getattr(spec, name) for name in _EMPTY_SPEC_FIELDS):
        return None
    return spec.chains[0]


class _MemoMiss(Exception):
    """A blanked line was not where a statement starts: read the text without the memo."""


def _parse_text(text: str, file: str, memo: dict[int, tuple[Item, ...]]) -> Spec:
    with _LOCK:
        builder = _parser_and_builder()
        builder[1].file = file
        builder[1].memo = memo
        _SpecIndenter.memo_lines = sorted(memo)
        _SpecIndenter.memo_used = 0
        try:
            spec = builder[0].parse(text + "\n")
        except UnexpectedInput as exc:
            if memo:
                raise _MemoMiss from None
            raise ParseFailure([_syntax_diagnostic(exc, text, file)]) from None
        except DedentError:
            if memo:
                raise _MemoMiss from None
            raise ParseFailure([_dedent_diagnostic(text, file)]) from None
        except VisitError as exc:
            if isinstance(exc.orig_exc, ParseFailure | _MemoMiss):
                raise exc.orig_exc from None
            raise
        finally:
            builder[1].memo = {}
            _SpecIndenter.memo_lines = []
        if _SpecIndenter.memo_used != len(memo):
            raise _MemoMiss
    assert isinstance(spec, Spec)
    return spec


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


_LOCK = threading.Lock()


class _SpecIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types: ClassVar[list[str]] = ["LPAR"]  # a merge may span lines inside its parentheses
    CLOSE_PAREN_types: ClassVar[list[str]] = ["RPAR"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8
    memo_lines: ClassVar[list[int]] = []  # blanked lines (`_parse_once`), set under _LOCK
    memo_used: ClassVar[int] = 0

    def handle_NL(self, token: Token) -> Iterator[Token]:
        """A newline token that spans blanked lines yields, for each run of them, the newline
        before it (a dedent to column 0), a MEMO_LINE token at its first line, valued with the
        number of lines in the run, and then the rest of the newline."""
        lines = _SpecIndenter.memo_lines
        start, end = token.line or 0, token.end_line or 0
        index = bisect.bisect_right(lines, start)
        if index == len(lines) or lines[index] >= end:
            yield from super().handle_NL(token)
            return
        if self.paren_level > 0:
            raise _MemoMiss
        while index < len(lines) and lines[index] < end:
            first = last = lines[index]
            index += 1
            while index < len(lines) and lines[index] == last + 1 and lines[index] < end:
                last = lines[index]
                index += 1
            at = token.start_pos
            yield from super().handle_NL(Token("_NL", "\n", at, first - 1, 1, first, 1, at))
            yield Token("MEMO_LINE", str(last - first + 1), at, first, 1, last, 1, at)
            _SpecIndenter.memo_used += last - first + 1
        indentation = str(token).rsplit("\n", 1)[1]
        rest = Token("_NL", "\n" + indentation, token.start_pos, end - 1, 1, end, len(indentation) + 1, token.end_pos)
        yield from super().handle_NL(rest)


@cache
def _parser_and_builder() -> tuple[Lark, _Builder]:
    builder = _Builder()
    parser = cached_lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        postlex=_SpecIndenter(),
        transformer=builder,
        maybe_placeholders=False,
    )
    return parser, builder


# ---- syntax tree construction ------------------------------------------------------


def _span_of(item: Any, file: str) -> Span:
    if isinstance(item, Token):
        return Span(file, item.line or 1, item.column or 1, item.end_line or 1, item.end_column or 1)
    if isinstance(item, tuple):  # a claim: ("shape", dims, span) or ("params", quantity)
        item = item[-1]
    span = item if isinstance(item, Span) else getattr(item, "span", None)
    assert isinstance(span, Span), item
    return span


def to_int(text: str) -> int:
    """Digits → int, clamped at 10**12 so absurd numbers stay cheap and get a bound error.

    >>> to_int("34,944"), to_int("9" * 40)
    (34944, 1000000000000)
    """
    digits = text.replace(",", "")
    return int(digits) if len(digits) <= MAX_DIGITS else 10**MAX_DIGITS


def dims_of(text: str) -> tuple[int, ...]:
    """`224×224×3`, `11x11` or `112² × 32` → a tuple of ints.

    >>> dims_of("224 × 224×3"), dims_of("112² × 32")
    ((224, 224, 3), (112, 112, 32))
    """
    text = re.sub(r"(\d+)²", r"\1×\1", text)
    return tuple(to_int(part) for part in re.findall(r"\d+", text))


_ACTIVATION_NAMES = {
    "relu": "relu",
    "relu6": "relu6",
    "leakyrelu": "leaky_relu",
    "elu": "elu",
    "selu": "selu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "gelu": "gelu",
    "swish": "silu",
    "silu": "silu",
    "softplus": "softplus",
    "linear": "linear",
    "softmax": "softmax",
    "hardswish": "hard_silu",
    "hardsilu": "hard_silu",
    "hardsigmoid": "hard_sigmoid",
}


def activation_name(text: str) -> str:
    """Any spelling of an activation → its Keras name.

    >>> activation_name("Leaky ReLU"), activation_name("soft–max")
    ('leaky_relu', 'softmax')
    """
    return _ACTIVATION_NAMES[re.sub(r"[\s_\-–]", "", text.lower())]


_UNITS = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def _memory(token: Token, span: Span) -> Quantity:
    """`3.2M` activation values, or `12.8MB` bytes (keyword `memory bytes`, 4 a value)."""
    text = str(token)
    if not text.rstrip().endswith("B"):
        return quantity(token, "memory", span)
    figure = quantity(Token("QUANTITY", text.rstrip()[:-1].rstrip()), "memory bytes", span)
    return Quantity(text, figure.value, figure.unit, figure.decimals, "memory bytes", span)


def _share(token: Token, keyword: str, span: Span) -> Quantity:
    """`1.19%`: a share of the network's total, in percent."""
    text = str(token)
    number = text.rstrip("%").strip()
    decimals = len(number.partition(".")[2])
    return Quantity(text, float(number), "%", decimals, keyword, span)


def quantity(token: Token, keyword: str, span: Span) -> Quantity:
    """A printed figure → value, unit and printed precision.

    >>> q = quantity(Token("QUANTITY", "2.7K"), "params", Span("a", 1, 1, 1, 5))
    >>> (q.value, q.unit, q.decimals)
    (2700.0, 'K', 1)
    """
    text = str(token)
    match = re.fullmatch(r"([\d,]+)(?:\.(\d+))?\s*([A-Za-z]?)", text.strip())
    assert match is not None, text
    whole, fraction, unit = match.group(1), match.group(2) or "", match.group(3).upper()
    number = float(f"{to_int(whole)}.{fraction}" if fraction else to_int(whole))
    return Quantity(text, number * _UNITS[unit], unit, len(fraction), keyword, span)


class _Builder(Transformer[Token, Any]):
    """One method per grammar rule; builds `papernet.syntax` objects with their spans."""

    file = "<string>"

    def __init__(self) -> None:
        super().__init__()
        self.memo: dict[int, tuple[Item, ...]] = {}  # the chains of blanked lines (`_parse_once`)

    def _span(self, children: Sequence[Any]) -> Span:
        first = next(child for child in children if child is not None)
        last = next(child for child in reversed(children) if child is not None)
        return _span_of(first, self.file).to(_span_of(last, self.file))

    def _tok(self, token: Token) -> Span:
        return _span_of(token, self.file)

    def _make_layer(self, kind: str, children: Sequence[Any], *options: Option) -> Layer:
        stated = [child for child in children if isinstance(child, Option)]
        return Layer(kind, (*options, *stated), self._span(children))

    def _kernel_options(self, kernel: _Kernel) -> list[Option]:
        options = [Option("kernel", kernel.size, kernel.span)]
        if kernel.depth is not None:
            options.append(Option("kernel_depth", kernel.depth, kernel.span))
        if kernel.stride is not None:
            options.append(Option("stride", (kernel.stride, kernel.stride), kernel.stride_span or kernel.span))
        return options

    # -- statements --

    def start(self, children: list[Any]) -> Spec:
        title = base = classes = regression = None
        regression_head = "dense"
        chains: list[tuple[Item, ...]] = []
        defaults: list[DefaultsLine] = []
        totals: list[TotalClaim] = []
        train: list[TrainLine] = []
        blocks: list[BlockDef] = []
        for child in _flatten_statements(children):
            match child:
                case BlockDef():
                    blocks.append(child)
                case ("title", str() as text):
                    title = text
                case ("base", str() as name, Span() as span):
                    base = (name, span)
                case ("classes", int() as n, Span() as span):
                    classes = (n, span)
                case ("regression", tuple() as shape, Span() as span):
                    regression = (shape, span)
                case ("regression", tuple() as shape, Span() as span, str() as head):
                    regression, regression_head = (shape, span), head
                case ("defaults", lines):
                    defaults.extend(lines)
                case ("train", lines):
                    train.extend(lines)
                case TotalClaim():
                    totals.append(child)
                case tuple():
                    chains.append(child)
        return Spec(
            self.file,
            title,
            base,
            classes,
            regression,
            tuple(chains),
            tuple(defaults),
            tuple(totals),
            tuple(train),
            tuple(blocks),
            regression_head,
        )

    def network_stmt(self, children: list[Token]) -> tuple[str, str]:
        text = str(children[1]).strip()
        if text[:1] in "\"'":
            text = text[1:-1]
        return ("title", text)

    def from_stmt(self, children: list[Token]) -> tuple[str, str, Span]:
        name = str(children[1]).strip().strip("\"'")
        return ("base", name, self._tok(children[1]))

    def classes_stmt(self, children: list[Token]) -> tuple[str, int, Span]:
        return ("classes", to_int(children[1]), self._span(children))

    def regression_stmt(self, children: list[Token]) -> tuple[Any, ...]:
        statement = ("regression", dims_of(children[1]), self._span(children))
        if len(children) > 2:  # `head conv` or `head dense`
            return (*statement, "conv" if children[3].type == "CONV_KW" else "dense")
        return statement

    def total_claim(self, children: list[Token]) -> TotalClaim:
        keyword = str(children[1])
        if children[1].type == "MEMORY_KW":
            return TotalClaim("memory", _memory(children[2], self._span(children)))
        claim = quantity(children[2], keyword, self._span(children))
        return TotalClaim("params" if children[1].type == "PARAMS_KW" else "ops", claim)

    def defaults_block(self, children: list[Any]) -> tuple[str, tuple[DefaultsLine, ...]]:
        return ("defaults", tuple(c for c in children if isinstance(c, DefaultsLine)))

    def default_line(self, children: list[Any]) -> DefaultsLine:
        options: list[Option] = []
        for child in children[1:]:
            if isinstance(child, _Kernel):
                options += self._kernel_options(child)
            elif isinstance(child, Option):
                options.append(child)
        kind = re.sub(r"[\s_\-]+", "", str(children[0]).lower())
        return DefaultsLine(kind, tuple(options), self._span(children))

    def counts(self, children: list[Token]) -> Option:
        return Option("counts", "multiply-adds", self._tok(children[0]))

    def weights_only(self, children: list[Token]) -> Option:
        return Option("weights_only", True, self._tok(children[0]))

    def prefix_base(self, children: list[Token]) -> Option:
        return Option("base", 1024 if str(children[0]).endswith("1024") else 1000, self._tok(children[0]))

    def window(self, children: list[Any]) -> _Kernel:
        kernel = children[0]
        assert isinstance(kernel, _Kernel)
        return kernel

    def size(self, children: list[Any]) -> Option:
        number = children[0]
        assert isinstance(number, _Number)
        return Option("size", number.value, number.span)

    def train_block(self, children: list[Any]) -> tuple[str, tuple[TrainLine, ...]]:
        return ("train", tuple(c for c in children if isinstance(c, TrainLine)))

    def train_line(self, children: list[Token]) -> TrainLine:
        token = children[0]
        text = str(token)
        leading = len(text) - len(text.lstrip())
        span = self._tok(token)
        start = Span(span.file, span.line, span.column + leading, span.line, span.column + len(text.rstrip()))
        return TrainLine(text.strip(), start)

    # -- chains and items --

    def chain(self, children: list[Item]) -> tuple[Item, ...]:
        return tuple(children)

    def memo_line(self, children: list[Token]) -> list[tuple[Item, ...]]:
        """A run of blanked lines: the chain each read as alone, at its own line."""
        first = children[0].line or 0
        return [_moved_chain(self.memo[number], number - 1) for number in range(first, first + int(children[0]))]

    def item(self, children: list[Any]) -> Item:
        label = label_span = None
        repeat, repeat_span = 1, None
        stride, stride_span = 1, None
        element: Layer | Group | Merge | Reference | BlockUse | None = None
        shape = shape_span = None
        params = ops = None
        more: dict[str, Quantity] = {}
        for child in children:
            match child:
                case Token(type="LABEL"):
                    label, label_span = str(child), self._tok(child)
                case Token(type="REPEAT" | "PREFIX_REPEAT"):
                    repeat, repeat_span = repeat * to_int(re.sub(r"\D", "", child)), self._tok(child)
                case Layer() | Group() | Merge() | Reference() | BlockUse():
                    element = child
                case ("shape", tuple() as dims, Span() as span):
                    shape, shape_span = dims, span
                case ("stage_stride", int() as value, Span() as span):
                    stride, stride_span = value, span
                case ("params", Quantity() as q):
                    params = q
                case ("ops", Quantity() as q):
                    ops = q
                case (("neurons" | "memory" | "params_share" | "ops_share") as what, Quantity() as q):
                    more[what] = q
        assert element is not None
        claims = Claims(
            shape,
            shape_span,
            params,
            ops,
            neurons=more.get("neurons"),
            memory=more.get("memory"),
            params_share=more.get("params_share"),
            ops_share=more.get("ops_share"),
        )
        return Item(element, label, label_span, repeat, repeat_span, claims, self._span(children), stride, stride_span)

    def stage_stride(self, children: list[Token]) -> tuple[str, int, Span] | None:
        if not children:
            return None
        return ("stage_stride", to_int(children[-1]), self._span(children))

    def merge(self, children: list[Any]) -> Merge:
        op = "add" if str(children[0]).lower().startswith("add") else "concat"
        branches = tuple(_branch(c) for c in children if isinstance(c, tuple) or c is _IDENTITY)
        return Merge(op, branches, self._span([children[0], children[-1]]))

    def branch(self, children: list[Any]) -> object:
        return _IDENTITY if isinstance(children[0], Token) else children[0]

    def reference(self, children: list[Token]) -> Reference:
        return Reference(str(children[0])[1:], self._tok(children[0]))

    def block_use(self, children: list[Token]) -> BlockUse:
        args = tuple(
            to_int(c) if c.type == "BLOCK_INT" else float(c) for c in children if c.type in ("BLOCK_INT", "BLOCK_FLOAT")
        )
        return BlockUse(str(children[0]), args, self._span(children))

    def block_def(self, children: list[Token]) -> BlockDef:
        params = tuple(str(c) for c in children if c.type == "BLOCK_PARAM")
        lines = tuple((c.line or 0, " " * ((c.column or 1) - 1) + str(c)) for c in children if c.type == "BLOCK_LINE")
        return BlockDef(str(children[1]), params, lines, self._span(children[:2]))

    def group(self, children: list[Any]) -> Group:
        parts = tuple(c for c in children if isinstance(c, tuple))
        return Group(parts, self._span(children))

    def shape_claim(self, children: list[Token]) -> tuple[str, tuple[int, ...], Span]:
        return ("shape", dims_of(children[1]), self._span(children))

    def params_claim(self, children: list[Token]) -> tuple[str, Quantity]:
        return ("params", quantity(children[1], str(children[0]), self._span(children)))

    def ops_claim(self, children: list[Token]) -> tuple[str, Quantity]:
        return ("ops", quantity(children[1], str(children[0]), self._span(children)))

    def neurons_claim(self, children: list[Token]) -> tuple[str, Quantity]:
        return ("neurons", quantity(children[1], "neurons", self._span(children)))

    def memory_claim(self, children: list[Token]) -> tuple[str, Quantity]:
        return ("memory", _memory(children[1], self._span(children)))

    def params_share_claim(self, children: list[Token]) -> tuple[str, Quantity]:
        return ("params_share", _share(children[1], "params", self._span(children)))

    def ops_share_claim(self, children: list[Token]) -> tuple[str, Quantity]:
        return ("ops_share", _share(children[1], str(children[0]), self._span(children)))

    # -- layers --

    def kernel(self, children: list[Token]) -> _Kernel:
        dims = dims_of(children[0])
        size = (dims[0], dims[0]) if len(dims) == 1 else (dims[0], dims[1])
        depth = dims[2] if len(dims) == 3 else None
        ints = [c for c in children[1:] if c.type == "INT"]
        stride = to_int(ints[0]) if ints else None
        return _Kernel(size, depth, len(dims) > 3, self._span(children), stride, self._tok(ints[0]) if ints else None)

    def conv_vgg(self, children: list[Any]) -> Layer:
        token = children[0]
        match = re.fullmatch(r"conv(\d+)(?:[x×](\d+))?[-–](\d+)(?:/(\d+))?", str(token), re.I)
        assert match is not None
        height, width, filters, stride = match.groups()
        span = self._tok(token)
        options = [
            Option("kernel", (to_int(height), to_int(width or height)), span),
            Option("filters", to_int(filters), span),
        ]
        if stride is not None:
            options.append(Option("stride", (to_int(stride), to_int(stride)), span))
        return self._make_layer("conv", children, *options)

    def conv_kw(self, children: list[Any]) -> Layer:
        options = []
        for child in children:
            if isinstance(child, _Kernel):
                options += self._kernel_options(child)
            elif isinstance(child, Token) and child.type == "INT":
                options.append(Option("filters", to_int(child), self._tok(child)))
        return self._make_layer("conv", children, *options)

    conv_table = conv_kw

    def conv_count(self, children: list[Any]) -> Layer:
        return self._make_layer(
            "conv",
            children,
            Option("filters", to_int(children[0]), self._tok(children[0])),
            *self._kernel_options(children[1]),
        )

    def conv_dw(self, children: list[Any]) -> Layer:
        options = [o for c in children if isinstance(c, _Kernel) for o in self._kernel_options(c)]
        return self._make_layer("dwconv", children, *options)

    def conv_transpose(self, children: list[Any]) -> Layer:
        return replace(self.conv_kw(children), kind="deconv")

    def squeeze_excite(self, children: list[Any]) -> Layer:
        number = children[1]
        assert isinstance(number, _Number)
        value = number.value if isinstance(number.value, int) else float(number.value)
        options = [Option("se", value, number.span)]  # lowering reads a whole number as a width, else a ratio
        of = [c for c in children if isinstance(c, Token) and c.type == "INT"]
        if of:
            options.append(Option("of", to_int(of[0]), self._tok(of[0])))
        return self._make_layer("se", children, *options)

    def rescale(self, children: list[Any]) -> Layer:
        numbers = [c for c in children if isinstance(c, _Number)]
        ratio = (float(numbers[0].value), float(numbers[1].value) if len(numbers) > 1 else 1.0)
        options = [Option("scale", ratio, numbers[0].span.to(numbers[-1].span))]
        offset = [c for c in children if isinstance(c, Token) and c.type == "SIGNED_NUMBER"]
        if offset:
            text = re.sub("[–−]", "-", str(offset[0]))
            options.append(Option("offset", float(text), self._tok(offset[0])))
        return Layer("rescale", tuple(options), self._span(children))

    def normalize(self, children: list[Token]) -> Layer:
        return Layer("normalize", (), self._span(children))

    def crop(self, children: list[Token]) -> Layer:
        options = [Option("cropping", dims_of(c), self._tok(c)) for c in children[1:]]
        return Layer("crop", tuple(options), self._span(children))

    def crop_branch(self, children: list[Any]) -> tuple[Item, ...]:
        """`crop @conv4`: the branch, then a crop to its partner's size (written `@conv4 -> crop` too)."""
        word, chain = children[0], children[1]
        span = self._tok(word)
        crop = Item(Layer("crop", (), span), None, None, 1, None, Claims(), span)
        return (*chain, crop)

    def upsample(self, children: list[Token]) -> Layer:
        options = []
        for child in children[1:]:
            if child.type == "INTERPOLATION_KW":
                options.append(Option("interpolation", str(child).lower(), self._tok(child)))
            else:
                size = dims_of(child)
                options.append(Option("kernel", (size[0], size[-1]), self._tok(child)))
        return Layer("upsample", tuple(options), self._span(children))

    def conv_separable(self, children: list[Any]) -> Layer:
        return replace(self.conv_kw(children), kind="sepconv")

    def inception(self, children: list[Token]) -> Layer:
        name = re.search(r"\(([^)]*)\)", str(children[0]))
        columns = tuple(to_int(c) for c in children[1:])
        options = [Option("inception", columns, self._span(children[1:]))]
        if name is not None and name.group(1).strip():
            options.append(Option("name", name.group(1).strip(), self._tok(children[0])))
        return Layer("inception", tuple(options), self._span(children))

    def width(self, children: list[Any]) -> Option:
        number = children[-1]
        assert isinstance(number, _Number)
        return Option("width", float(number.value), self._span(children))

    def preactivation(self, children: list[Token]) -> Option:
        return Option("preactivation", str(children[0]).lower().startswith("pre"), self._span(children))

    def reduce(self, children: list[Token]) -> Option:
        return Option("reduce", to_int(children[-1]), self._span(children))

    def shortcut(self, children: list[Token]) -> Option:
        word = str(children[-1]).upper()
        option = {"IDENTITY": "identity", "PROJECTION": "C", "POOL": "pool"}.get(word, word)
        return Option("shortcut", option, self._span(children))

    def stride_on(self, children: list[Token]) -> Option:
        last = children[-1]
        value: object = "first" if last.type == "FIRST_KW" else dims_of(last)[:2]
        return Option("stride_on", value, self._span(children))

    def stride_last(self, children: list[Token]) -> Option:
        return Option("stride_block", "last", self._span(children))

    def pool(self, children: list[Any]) -> Layer:
        options = [o for c in children if isinstance(c, _Kernel) for o in self._kernel_options(c)]
        return self._make_layer(_pool_kind(children[0]), children, *options)

    def pool_window_first(self, children: list[Any]) -> Layer:
        span = self._tok(children[0])
        size = dims_of(children[0])
        option = Option("kernel", (size[0], size[-1]), span)
        return self._make_layer(_pool_kind(children[1]), children, option)

    def global_pool(self, children: list[Token]) -> Layer:
        kind = "avgpool" if len(children) == 1 else _pool_kind(children[1])  # `GAP`
        return Layer("global_" + ("avgpool" if kind == "avgpool" else "maxpool"), (), self._span(children))

    def fc(self, children: list[Any]) -> Layer:
        units = to_int(re.search(r"\d+", children[0]).group())  # type: ignore[union-attr]
        return self._make_layer("fc", children, Option("units", units, self._tok(children[0])))

    def fc_kw(self, children: list[Any]) -> Layer:
        options = [
            Option("units", to_int(c), self._tok(c)) for c in children[1:] if isinstance(c, Token) and c.type == "INT"
        ]
        return self._make_layer("fc", children, *options)

    def activation(self, children: list[Any]) -> Layer:
        return Layer("activation", (self._activation_option(children),), self._span(children))

    def activation_option(self, children: list[Any]) -> Option:
        return self._activation_option(
            [c for c in children if not (isinstance(c, Token) and c.type == "ACTIVATION_KW")]
        )

    def _activation_option(self, children: list[Any]) -> Option:
        alpha = next((c.value for c in children if isinstance(c, _Number)), None)
        value = Activation(activation_name(children[0]), None if alpha is None else float(alpha))
        return Option("activation", value, self._span(children))

    def batchnorm(self, children: list[Any]) -> Layer:
        return self._make_layer("batchnorm", children)

    def option(self, children: list[Option]) -> Option:  # an option rule without an alias: a batch norm's
        return children[0]

    def bn_scale(self, children: list[Token]) -> Option:
        return Option("scale", children[-1].type == "ON_KW", self._span(children))

    def bn_center(self, children: list[Token]) -> Option:
        return Option("center", children[-1].type == "ON_KW", self._span(children))

    def bn_epsilon(self, children: list[Any]) -> Option:
        return Option("epsilon", float(children[-1].value), self._span(children))

    def bn_momentum(self, children: list[Any]) -> Option:
        return Option("momentum", float(children[-1].value), self._span(children))

    def batchnorm_option(self, children: list[Token]) -> Option:
        return Option("batchnorm", True, self._span(children))

    def lrn(self, children: list[Token]) -> Layer:
        return Layer("lrn", (), self._span(children))

    def dropout(self, children: list[Any]) -> Layer:
        options = []
        for child in children[1:]:
            if isinstance(child, _Number):
                options.append(Option("rate", float(child.value), child.span))
            elif isinstance(child, Token) and child.type == "PERCENT":
                options.append(Option("rate", _percent(child), self._tok(child)))
        return self._make_layer("dropout", children, *options)

    def drop_path(self, children: list[Any]) -> Layer:
        """Stochastic depth (Huang et al. 2016): `drop path 0.2`, `drop-path 0.2`, `stochastic depth 0.2`."""
        layer = self.dropout(children)
        return Layer("drop_path", layer.options, layer.span)

    def flatten(self, children: list[Token]) -> Layer:
        return Layer("flatten", (), self._span(children))

    def reshape(self, children: list[Token]) -> Layer:
        return Layer("reshape", (Option("shape", dims_of(children[1]), self._tok(children[1])),), self._span(children))

    def zeropad(self, children: list[Token]) -> Layer:
        return Layer(
            "zeropad", (Option("padding", dims_of(children[1]), self._tok(children[1])),), self._span(children)
        )

    def input_layer(self, children: list[Token]) -> Layer:
        options = []
        for child in children:
            if child.type in ("DIMS", "INT"):
                options.append(Option("shape", dims_of(child), self._tok(child)))
            elif child.type == "COLOR":
                channels = 3 if str(child).lower() in ("rgb", "bgr") else 1
                options.append(Option("channels", channels, self._tok(child)))
        return Layer("input", tuple(options), self._span(children))

    def conv_window_first(self, children: list[Any]) -> Layer:  # `3x3 conv, 64` (ResNet's Fig. 3)
        size = dims_of(children[0])
        span = self._tok(children[0])
        options = [Option("kernel", (size[0], size[-1]), span)]
        options += [
            Option("filters", to_int(c), self._tok(c)) for c in children[2:] if isinstance(c, Token) and c.type == "INT"
        ]
        return self._make_layer("conv", children, *options)

    def slash_stride(self, children: list[Token]) -> Option:
        value = to_int(str(children[0]).lstrip("/ \t"))
        return Option("stride", (value, value), self._tok(children[0]))

    # -- options --

    def stride(self, children: list[Token]) -> Option:
        value = to_int(children[-1])
        return Option("stride", (value, value), self._span(children))

    def padding(self, children: list[Token]) -> Option:
        last = children[-1]
        value: object = to_int(last) if last.type == "INT" else str(last).lower()
        return Option("padding", value, self._span(children))

    def dilation(self, children: list[Token]) -> Option:
        value = to_int(children[-1])
        return Option("dilation", (value, value), self._span(children))

    def groups(self, children: list[Token]) -> Option:
        return Option("groups", to_int(children[-1]), self._span(children))

    def bias(self, children: list[Token]) -> Option:
        on = len(children) == 2 and children[1].type == "ON_KW"
        return Option("bias", on, self._span(children))

    def rounding(self, children: list[Token]) -> Option:
        return Option("rounding", str(children[0]).lower(), self._span(children))

    def filters(self, children: list[Token]) -> Option:
        return Option("filters", to_int(children[-1]), self._span(children))

    def units(self, children: list[Token]) -> Option:
        return Option("units", to_int(children[-1]), self._span(children))

    def rate(self, children: list[Any]) -> Option:
        value = children[-1]
        rate = float(value.value) if isinstance(value, _Number) else _percent(value)
        return Option("rate", rate, self._span(children))

    def number(self, children: list[Token]) -> _Number:
        token = children[0]
        value: int | float = to_int(token) if token.type == "INT" else float(token)
        return _Number(value, self._tok(token))


_IDENTITY = object()  # the `identity` branch of a merge


def _moved_chain(chain: tuple[Item, ...], lines: int) -> tuple[Item, ...]:
    """`chain` with every span in it `lines` lines further down (a memoised line, `_parse_once`)."""
    return tuple([_moved_item(item, lines) for item in chain])


ITEM_FIELDS = ("element", "label", "label_span", "repeat", "repeat_span", "claims", "span", "stride", "stride_span")
LAYER_FIELDS = ("kind", "options", "span")
OPTION_FIELDS = ("key", "value", "span")
"""The fields `_moved_item` copies by name (a test compares them with the dataclasses')."""


def _moved_item(item: Item, lines: int) -> Item:
    element = item.element
    if type(element) is Layer:
        options = tuple(
            [
                Option(option.key, _moved(option.value, lines), _moved_span(option.span, lines))  # type: ignore[arg-type]
                for option in element.options
            ]
        )
        element = Layer(element.kind, options, _moved_span(element.span, lines))  # type: ignore[arg-type]
    else:
        element = _moved(element, lines)  # type: ignore[assignment]
    claims = item.claims if item.claims == _NO_CLAIMS else _moved(item.claims, lines)
    return Item(
        element,
        item.label,
        _moved_span(item.label_span, lines),
        item.repeat,
        _moved_span(item.repeat_span, lines),
        claims,  # type: ignore[arg-type]
        _moved_span(item.span, lines),  # type: ignore[arg-type]
        item.stride,
        _moved_span(item.stride_span, lines),
    )


_NO_CLAIMS = Claims()


def _moved_span(span: Span | None, lines: int) -> Span | None:
    if span is None:
        return None
    return Span(span.file, span.line + lines, span.column, span.end_line + lines, span.end_column)


_PLAIN = frozenset({int, float, str, bool, type(None)})


def _moved(value: object, lines: int) -> object:
    """Any part of a chain (a group, a merge, an option's value…) with its spans moved."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is Span:
        return _moved_span(value, lines)  # type: ignore[arg-type]
    if kind is tuple:
        parts: tuple[object, ...] = value  # type: ignore[assignment]
        if all(type(part) is int for part in parts):
            return value
        return tuple([_moved(part, lines) for part in parts])
    if kind is Item:
        return _moved_item(value, lines)  # type: ignore[arg-type]
    names = _FIELDS.get(kind)
    if names is None:
        if not dataclasses.is_dataclass(value):
            return value  # an object without positions (the identity branch)
        names = _FIELDS[kind] = tuple(field.name for field in dataclasses.fields(value))
    return kind(**{name: _moved(getattr(value, name), lines) for name in names})


_FIELDS: dict[type, tuple[str, ...]] = {}


def _branch(child: object) -> tuple[Item, ...] | None:
    return child if isinstance(child, tuple) else None


class _Kernel:
    __slots__ = ("depth", "size", "span", "stride", "stride_span", "too_many")

    def __init__(
        self,
        size: tuple[int, int],
        depth: int | None,
        too_many: bool,
        span: Span,
        stride: int | None,
        stride_span: Span | None,
    ) -> None:
        self.size, self.depth, self.too_many, self.span = size, depth, too_many, span
        self.stride, self.stride_span = stride, stride_span


class _Number:
    __slots__ = ("span", "value")

    def __init__(self, value: int | float, span: Span) -> None:
        self.value, self.span = value, span


def _percent(token: Token) -> float:
    return float(str(token).rstrip("% \t")) / 100


def _pool_kind(token: Token) -> str:
    word = str(token).lower()
    if word.startswith("max"):
        return "maxpool"
    if word.startswith(("avg", "average")):
        return "avgpool"
    return "pool"


def _flatten_statements(children: Sequence[Any]) -> list[Any]:
    """Indented statement groups arrive as nested lists; flatten them in order."""
    out: list[Any] = []
    for child in children:
        if isinstance(child, list):
            out += _flatten_statements(child)
        else:
            out.append(child)
    return out


# ---- syntax errors ------------------------------------------------------------------

LAYER_WORDS = (
    "conv",
    "convolution",
    "maxpool",
    "avgpool",
    "pool",
    "global",
    "gap",
    "fc",
    "dense",
    "relu",
    "relu6",
    "elu",
    "selu",
    "tanh",
    "sigmoid",
    "gelu",
    "swish",
    "silu",
    "hard swish",
    "hard sigmoid",
    "softplus",
    "linear",
    "softmax",
    "soft-max",
    "batchnorm",
    "bn",
    "lrn",
    "dropout",
    "drop path",
    "stochastic depth",
    "flatten",
    "reshape",
    "zeropad",
    "input",
    "network",
    "defaults",
    "train",
    "inception",
    "add",
    "concat",
    "block",
    "identity",
    "dw",
    "separable conv",
    "up-conv",
    "deconv",
    "conv transpose",
    "upsample",
    "upsampling",
    "crop",
    "rescale",
    "normalize",
    "se",
    "squeeze excite",
    "sep conv",
    "max pool",
    "average pool",
    "leaky relu",
    "batch norm",
)
OPTION_WORDS = (
    "stride",
    "pad",
    "padding",
    "same",
    "valid",
    "dilation",
    "groups",
    "activation",
    "bias",
    "floor",
    "ceil",
    "filters",
    "units",
    "rate",
    "params",
    "ops",
    "mult-adds",
    "macs",
    "flops",
    "reduce",
    "width",
    "shortcut",
    "at",
    "on",
    "off",
    "first",
    "last",
    "head",
    "no bias",
    "scale",
    "center",
    "epsilon",
    "momentum",
)

RESERVED_PARAMETER_WORDS = frozenset(word.replace(" ", "") for word in LAYER_WORDS + OPTION_WORDS) | {"x"}
"""Words a block parameter may not be named: replacing them would rewrite the notation itself."""

_LAYER_START_TERMINALS = {"VGG_CONV", "CONV_KW", "FC_N", "POOL_WORD", "DROPOUT_KW", "FLATTEN_KW"}

_EXPECTED_PHRASES: tuple[tuple[Callable[[set[str]], bool], str], ...] = (
    (lambda e: bool(e & _LAYER_START_TERMINALS), "a layer such as conv3-64, maxpool or FC-4096"),
    (lambda e: "STRIDE_KW" in e, "an option such as `stride 2`, a ',' or the end of the line"),
    (lambda e: "_SEP" in e, "a ',' or the end of the line"),
    (lambda e: "DIMS" in e and "INT" in e, "a size such as 224x224x3 or 784"),
    (lambda e: "DIMS" in e, "a size such as 3x3"),
    (lambda e: "QUANTITY" in e, "a figure such as 34,944 or 105M"),
    (lambda e: "FLOAT" in e or "PERCENT" in e, "a number"),
    (lambda e: "INT" in e, "a whole number"),
    (lambda e: "ACT" in e, "an activation such as relu"),
    (lambda e: "STRING" in e, "a quoted name"),
    (lambda e: "_NL" in e, "the end of the line"),
)


def _syntax_diagnostic(exc: UnexpectedInput, text: str, file: str) -> Diagnostic:
    lines = text.split("\n")
    line = max(1, exc.line if isinstance(exc.line, int) and exc.line > 0 else len(lines))
    column = max(1, exc.column if isinstance(exc.column, int) and exc.column > 0 else 1)
    line_text = lines[line - 1] if line <= len(lines) else ""
    expected = set(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ())

    unclosed = _unclosed_bracket(line_text, column)
    if unclosed is not None and (isinstance(exc, UnexpectedEOF) or _at_line_end(exc, line_text, column)):
        span = Span(file, line, unclosed, line, unclosed + 1)
        return diag.error(
            "P003",
            "unterminated '[': this bracket is never closed",
            span,
            "close the group with ']' on the same line, e.g. `[conv3-64, conv3-64] x2`",
        )

    if isinstance(exc, UnexpectedToken) and exc.token.type in ("_INDENT", "_DEDENT"):
        return _dedent_diagnostic(text, file, exc.token.end_line)
    if "_INDENT" in expected or _follows_section_header(lines, line):
        span = Span(file, line, column, line, column + max(1, len(_word_at(line_text, column))))
        return diag.error(
            "P006",
            "a section's lines must be indented",
            span,
            "indent each line under `defaults:` or `train:`, e.g. `  conv: stride 1, padding same`",
        )

    word = _word_at(line_text, column)
    special = _special_case(word, file, line, column)
    if special is not None:
        return special
    if isinstance(exc, UnexpectedCharacters) or (isinstance(exc, UnexpectedToken) and exc.token.type != "$END"):
        width = max(1, len(word))
        span = Span(file, line, column, line, column + width)
        phrase = _describe_expected(expected, unclosed is not None)
        before = _previous_text(line_text, column)
        if word and word[0].isalpha() and not _is_known_word(word):
            suggestion = did_you_mean(word)
            help_text = [f"did you mean `{suggestion}`?"] if suggestion else []
            if phrase:
                help_text.append(f"expected {phrase}" + (f" after '{before}'" if before else ""))
            return diag.error("P002", f"unknown word '{diag.printable(word)}'", span, *help_text)
        shown = diag.printable(word) if word else diag.printable(line_text[column - 1 : column])
        found = f"'{shown}'" if shown.strip() else "the end of the line"
        where = f" after '{before}'" if before else ""
        message = f"expected {phrase}{where}, found {found}" if phrase else f"unexpected {found}"
        return diag.error("P001", message, span)

    span = Span(file, line, column, line, column + 1)
    phrase = _describe_expected(expected) or "more"
    return diag.error("P001", f"the spec ends too early: expected {phrase}", span)


def _special_case(word: str, file: str, line: int, column: int) -> Diagnostic | None:
    """Mistakes common enough to deserve their own words."""
    span = Span(file, line, column, line, column + max(1, len(word)))
    if re.match(r"-\d", word):
        return diag.error("P102", f"sizes, counts and rates cannot be negative: '{word}'", span)
    if re.fullmatch(r"[x×*X]\d+", word):
        return diag.error(
            "P001", f"a second repetition count '{word}'", span, "write one count: `conv3-64 x6`, not `x2 x3`"
        )
    return None


def _dedent_diagnostic(text: str, file: str, line: int | None = None) -> Diagnostic:
    lines = text.split("\n")
    line = line or _inconsistent_indentation(lines)
    indent = len(lines[line - 1]) - len(lines[line - 1].lstrip()) if line <= len(lines) else 0
    span = Span(file, line, 1, line, indent + 1 if indent else 2)
    return diag.error(
        "P006",
        "unexpected indentation",
        span,
        "only the lines of a `defaults:` or `train:` section are indented, all by the same amount",
    )


def _follows_section_header(lines: Sequence[str], line: int) -> bool:
    if line > len(lines) or lines[line - 1][:1] in (" ", "\t"):
        return False
    previous = next((text for text in reversed(lines[: line - 1]) if not _is_blank_or_comment(text)), "")
    return re.fullmatch(r"\s*(defaults|train(ing)?)\s*:\s*(#.*)?", previous, re.IGNORECASE) is not None


def _inconsistent_indentation(lines: Sequence[str]) -> int:
    """The first line whose indentation matches no enclosing level (Lark's DedentError has no position)."""
    levels = [0]
    for number, line in enumerate(lines, start=1):
        if _is_blank_or_comment(line):
            continue
        indent = len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())
        if indent > levels[-1]:
            levels.append(indent)
            continue
        while indent < levels[-1]:
            levels.pop()
        if indent != levels[-1]:
            return number
    return 1


def _at_line_end(exc: UnexpectedInput, line_text: str, column: int) -> bool:
    if isinstance(exc, UnexpectedToken) and exc.token.type == "_NL":
        return True
    return not line_text[column - 1 :].split("#")[0].strip()


def _unclosed_bracket(line_text: str, column: int) -> int | None:
    depth_stack: list[int] = []
    for index, char in enumerate(line_text[: max(column - 1, len(line_text))]):
        if char == "#":
            break
        if char == "[":
            depth_stack.append(index + 1)
        elif char == "]" and depth_stack:
            depth_stack.pop()
    return depth_stack[-1] if depth_stack else None


def _word_at(line_text: str, column: int) -> str:
    match = re.match(r"[^\s,\[\]();→]+", line_text[column - 1 :])
    return match.group() if match else ""


def _previous_text(line_text: str, column: int) -> str:
    before = line_text[: column - 1].rstrip()
    if not before:
        return ""
    if before[-1] in ",;[(→":
        return before[-1]
    if before.endswith("->"):
        return "->"
    match = re.search(r"[^\s,\[\]();]+$", before)
    return match.group() if match else before[-1]


def _describe_expected(expected: set[str], in_bracket: bool = False) -> str:
    expected = {"POOL_WORD" if name in ("MAXPOOL", "AVGPOOL", "BARE_POOL") else name for name in expected}
    if in_bracket and "RSQB" in expected and not expected & _LAYER_START_TERMINALS:
        return "a ',' or the ']' that closes the group"
    for test, phrase in _EXPECTED_PHRASES:
        if test(expected):
            return phrase
    return ""


def _is_known_word(word: str) -> bool:
    head = re.match(r"[A-Za-z]+", word)
    return head is not None and head.group().lower() in {w.replace(" ", "") for w in LAYER_WORDS + OPTION_WORDS}


def did_you_mean(word: str) -> str | None:
    """The closest known layer or option word, keeping any size the user wrote after it.

    >>> did_you_mean("cnv3-64"), did_you_mean("maxpol"), did_you_mean("qqqq")
    ('conv3-64', 'maxpool', None)
    """
    match = re.match(r"([A-Za-z][A-Za-z\-]*?)(\d.*)?$", word)
    if match is None:
        return None
    head, rest = match.group(1).lower(), match.group(2) or ""
    vocabulary = [w.replace(" ", "") for w in LAYER_WORDS + OPTION_WORDS]
    close = difflib.get_close_matches(head, vocabulary, n=1, cutoff=0.6)
    return close[0] + rest if close else None


def fail(diagnostic: Diagnostic) -> NoReturn:
    raise ParseFailure([diagnostic])
