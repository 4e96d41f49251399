"""Block parameters as expressions: `t*c`, `c/2`, `c//2`, `0.5*c`, `int(θ·c)`, evaluated at each use.

A block body names its parameters where numbers go (`conv 1x1, t*c`). At a use, every
expression over the parameters is evaluated exactly (fractions, no float rounding) and written
as the number it gives; a compound expression must give a whole number, else the use is an
error that shows the arithmetic. The operators are `*`/`·`, `/`, `//`, `+`, and `-` between
spaces (a bare `-` is the notation's own, as in `conv3-c`); `*` with a space before it and none
after (`conv3-c *2`) stays the notation's repetition.

>>> substitute("conv 1x1, t*c", {"t": 6, "c": 16})
('conv 1x1, 96', [])
>>> substitute("conv3-c/2, FC-c//3", {"c": 64})
('conv3-64/2, FC-21', [])
>>> substitute("conv 1x1, int(θ·c)", {"θ": 0.5, "c": 15})
('conv 1x1, 7', [])
>>> substitute("conv 1x1, c/2", {"c": 15})
('conv 1x1, c/2', ['c/2 with c = 15 gives 15/2 = 7.5, not a whole number'])
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from fractions import Fraction

Value = int | float

_FUNCTIONS: dict[str, Callable[[Fraction], int]] = {
    "int": math.trunc,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
}
_OPERATORS: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: Fraction(a // b),
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
}


def substitute(text: str, values: Mapping[str, Value]) -> tuple[str, list[str]]:
    """`text` with every expression over `values`' names replaced by its value, and the problems."""
    if not values:
        return text, []
    pattern = _pattern(tuple(values))
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        written = match.group(0)
        if not any(re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", written) for name in values):
            return written
        if _VGG_FILTERS.search(text[: match.start()]) and "/" in written and not written.endswith(")"):
            head = re.match(r"[^\s/]+", written)
            assert head is not None  # `conv3-c/2`: the slash is the VGG stride
            rest, more = substitute(written[head.end() :], values)
            problems.extend(more)
            return _value_text(head.group(), values, problems) + rest
        return _value_text(written, values, problems)

    return pattern.sub(replace, text), problems


_VGG_FILTERS = re.compile(r"conv\d+(?:[x×]\d+)?[-–]$", re.IGNORECASE)


def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    name = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    first = rf"(?:(?<![\w.×/–-])\d+(?:\.\d+)?(?![\w.])|(?<![\w.])(?:{name})(?!\w))"
    atom = rf"(?:\d+(?:\.\d+)?(?![\w.])|(?:{name})(?!\w))"
    operator = r"(?://|[*/+·]|[ \t]+//[ \t]+|[ \t]+[*/+·][ \t]+|[ \t]+-[ \t]+)"
    core = rf"{first}(?:{operator}{atom})*"
    inner = rf"\([ \t]*{core}[ \t]*\)"
    return re.compile(rf"\b(?:int|round|floor|ceil){inner}|(?<!\w){inner}|{core}")


def _value_text(written: str, values: Mapping[str, Value], problems: list[str]) -> str:
    try:
        result = evaluate(written, values)
    except (ValueError, ZeroDivisionError) as exc:
        problems.append(f"{written}: {exc}")
        return written
    bare = written.strip() in values
    if bare and not isinstance(values[written.strip()], int):
        return f"{values[written.strip()]:g}"
    if result.denominator != 1:
        used = ", ".join(
            f"{n} = {v:g}" for n, v in values.items() if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", written)
        )
        shown = f"{result.numerator}/{result.denominator} = {float(result):g}"
        problems.append(f"{written} with {used} gives {shown}, not a whole number")
        return written
    return str(result.numerator)


def evaluate(written: str, values: Mapping[str, Value]) -> Fraction:
    """An expression's exact value.

    >>> evaluate("0.5*c", {"c": 64}), evaluate("(c + 1)//2", {"c": 5})
    (Fraction(32, 1), Fraction(3, 1))
    """
    try:
        tree = ast.parse(written.replace("·", "*").strip(), mode="eval")
    except SyntaxError:
        raise ValueError("not an expression papernet reads") from None
    return _value(tree.body, values)


def _value(node: ast.expr, values: Mapping[str, Value]) -> Fraction:
    match node:
        case ast.Constant(value=int() | float() as number) if not isinstance(number, bool):
            return Fraction(str(number))
        case ast.Name(id=name) if name in values:
            return Fraction(str(values[name]))
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _OPERATORS:
            return _OPERATORS[type(op)](_value(left, values), _value(right, values))
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_value(operand, values)
        case ast.Call(func=ast.Name(id=name), args=[argument], keywords=[]) if name in _FUNCTIONS:
            return Fraction(_FUNCTIONS[name](_value(argument, values)))
    raise ValueError("not an expression papernet reads")
