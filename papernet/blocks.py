"""Block bodies: parsed once, as templates, and instantiated at each use.

A body names its parameters where numbers go (`conv 1x1, t*c`). When the spec is parsed, each
expression over the parameters is replaced by a placeholder, a number the body does not
otherwise hold, and the body is parsed once, by the spec's own parser, into syntax (`template`
and `restore_columns`). At a use the expressions are evaluated exactly with the use's arguments
(`papernet.expressions`) and put into a copy of the body's tree where their placeholders are
(`instantiate`); nothing is parsed again.

A value where a whole number goes (filters, a kernel, a repetition count) must be whole; a
rate, a width or an epsilon takes any number.

>>> from papernet.parse import parse
>>> spec = parse("block inv(t, c):\\n  conv 1x1, t*c\\ninput 8x8x16\\ninv(6, 16)\\n")
>>> body, problems = instantiate(spec.blocks[0], (6, 16))
>>> [(o.key, o.value) for o in body[0].element.options], problems
([('kernel', (1, 1)), ('filters', 96)], [])
>>> instantiate(spec.blocks[0], (2.5, 3))[1]
[(Span(file='<string>', line=2, column=13, end_line=2, end_column=16), 't*c with t = 2.5, c = 3 gives 15/2 = 7.5, \
not a whole number')]
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

from papernet.expressions import Value, evaluate, expressions_in
from papernet.ir import Quantity
from papernet.span import Span
from papernet.syntax import BlockDef, BlockUse, Item, Option, Slot

PLACEHOLDER_BASE = 100_000_000_000
"""Placeholders are 12-digit numbers (parse keeps 12 digits exactly), past every bound lowering
enforces, so that one could never pass for a real value."""

Shift = tuple[int, int, int, int]
"""One placeholder on a line: its start and end column in the parsed text, and the start and end
column of the expression as written."""


def template(definition: BlockDef, file: str) -> tuple[str, tuple[Slot, ...], dict[int, list[Shift]]]:
    """The body's text with every expression over the parameters replaced by a placeholder (line
    numbers kept, so that the body parses where it stands), its slots, and the column shifts."""
    written = "\n".join(text for _, text in definition.lines)
    base = _free_base(written)
    slots: list[Slot] = []
    shifts: dict[int, list[Shift]] = {}
    lines = []
    for number, text in definition.lines:
        pieces, end = [], 0
        for start, stop in expressions_in(text, definition.params):
            placeholder = base + len(slots)
            pieces += [text[end:start], str(placeholder)]
            parsed_start = sum(len(piece) for piece in pieces) - len(str(placeholder)) + 1
            shifts.setdefault(number, []).append(
                (parsed_start, parsed_start + len(str(placeholder)), start + 1, stop + 1)
            )
            slots.append(Slot(placeholder, text[start:stop], Span(file, number, start + 1, number, stop + 1)))
            end = stop
        lines.append("".join(pieces) + text[end:])
    first = definition.lines[0][0]
    return "\n" * (first - 1) + "\n".join(lines), tuple(slots), shifts


def _free_base(text: str) -> int:
    """A placeholder base no number of the body's text falls among."""
    numbers = {int(n) for n in re.findall(r"\d{12}", text)}
    base = PLACEHOLDER_BASE
    while any(base <= n < base + 1_000_000 for n in numbers):
        base += 1_000_000
    return base


def restore_columns(tree: object, shifts: Mapping[int, Sequence[Shift]]) -> object:
    """`tree` with its spans moved from the columns of the placeholder text to those as written."""

    def column(line: int, value: int) -> int:
        moved = 0
        for parsed_start, parsed_end, start, end in shifts.get(line, ()):
            if value < parsed_start:
                break
            if value < parsed_end:
                return start + min(value - parsed_start, end - start)
            moved = end - parsed_end
        return value + moved

    def span(value: object) -> object | None:
        if not isinstance(value, Span):
            return None
        if value.line not in shifts and value.end_line not in shifts:
            return value
        return Span(
            value.file,
            value.line,
            column(value.line, value.column),
            value.end_line,
            column(value.end_line, value.end_column),
        )

    return _rebuilt(tree, lambda value: value, span)


def unplaced(body: Sequence[Item], slots: Sequence[Slot]) -> list[Slot]:
    """The slots whose placeholder is nowhere in the parsed body as a number of its own: written
    where the notation reads a number but papernet derives another from it (`p%`), or where no
    number goes (a name)."""
    found: set[float] = set()

    def leaf(value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            found.add(value)
        return value

    _rebuilt(tuple(body), leaf)
    return [slot for slot in slots if slot.placeholder not in found]


def instantiate(definition: BlockDef, args: Sequence[Value]) -> tuple[tuple[Item, ...], list[tuple[Span, str]]]:
    """The body of one use: the template with each placeholder replaced by its expression's value
    for these arguments; and the problems, each with the span of its expression."""
    values = dict(zip(definition.params, args, strict=True))
    problems: list[tuple[Span, str]] = []
    exact: dict[int, Fraction | Value] = {}
    for slot in definition.slots:
        expression = slot.expression.strip()
        if expression in values:
            exact[slot.placeholder] = values[expression]
            continue
        try:
            exact[slot.placeholder] = evaluate(expression, values)
        except (ValueError, ZeroDivisionError) as exc:
            problems.append((slot.span, f"{expression}: {exc}"))
    slots = {slot.placeholder: slot for slot in definition.slots}

    def number(value: object, any_number: bool) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float) or value not in exact:
            return value
        slot = slots[int(value)]
        result = exact[int(value)]
        if isinstance(result, float) and not math.isfinite(result):
            problems.append((slot.span, f"{slot.expression} = {result:g} is not a finite number"))
            return value
        if isinstance(value, float):  # read where any number goes: a rate, a width, an epsilon
            return float(result)
        if isinstance(result, int) or (any_number and isinstance(result, float)):
            return result
        if isinstance(result, float):
            result = Fraction(str(result))
            if result.denominator == 1:
                return result.numerator
            problems.append((slot.span, f"{slot.expression} = {float(result):g} where a whole number goes"))
            return value
        if result.denominator == 1:
            return result.numerator
        if any_number:
            return float(result)
        used = ", ".join(
            f"{n} = {v:g}" for n, v in values.items() if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", slot.expression)
        )
        shown = f"{result.numerator}/{result.denominator} = {float(result):g}"
        problems.append((slot.span, f"{slot.expression} with {used} gives {shown}, not a whole number"))
        return value

    body = _rebuilt(definition.body, lambda value: number(value, False), _tolerant(number))
    assert isinstance(body, tuple)
    return body, problems


def _tolerant(number: Callable[[object, bool], object]) -> Callable[[object], object | None]:
    """Nodes whose numbers may be fractional whatever the placeholder was read as: a block use's
    arguments, and `se r` (lowering reads a whole r as a squeeze width, a fraction as a ratio)."""

    def node(value: object) -> object | None:
        if isinstance(value, BlockUse):
            return dataclasses.replace(value, args=tuple(number(arg, True) for arg in value.args))  # type: ignore[misc]
        if isinstance(value, Option) and value.key == "se":
            return dataclasses.replace(value, value=number(value.value, True))
        if isinstance(value, Quantity):
            replaced = number(value.value, True)
            if replaced is value.value:
                return value
            text = str(replaced) if isinstance(replaced, int) else f"{replaced:g}"
            return dataclasses.replace(value, text=text, value=float(replaced))  # type: ignore[arg-type]
        return None

    return node


def _rebuilt(
    tree: object, leaf: Callable[[object], object], node: Callable[[object], object | None] | None = None
) -> object:
    """`tree` (syntax dataclasses and tuples) with `leaf` applied to every other value; `node` may
    rebuild a node itself. Unchanged subtrees are shared, not copied."""
    if node is not None:
        rebuilt = node(tree)
        if rebuilt is not None:
            return rebuilt
    if isinstance(tree, tuple):
        items = tuple(_rebuilt(item, leaf, node) for item in tree)
        return tree if all(a is b for a, b in zip(items, tree, strict=True)) else items
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        changes = {}
        for field in dataclasses.fields(tree):
            value = getattr(tree, field.name)
            new = _rebuilt(value, leaf, node)
            if new is not value:
                changes[field.name] = new
        return dataclasses.replace(tree, **changes) if changes else tree
    return leaf(tree)
