"""Block parameters as expressions: `t*c`, `c/2`, `c//2`, `0.5*c`, `int(θ·c)`, evaluated at each use.

A block body names its parameters where numbers go (`conv 1x1, t*c`). `expressions_in` finds
them in a body's text (`papernet.blocks` puts a placeholder there and parses the body once);
at a use, `evaluate` gives each one's exact value (fractions, no float rounding). The
operators are `*`/`·`, `/`, `//`, `+`, and `-` between spaces (a bare `-` is the notation's own,
as in `conv3-c`); `*` with a space before it and none after (`conv3-c *2`) stays the notation's
repetition.

>>> evaluate("t*c", {"t": 6, "c": 16}), evaluate("int(θ·c)", {"θ": 0.5, "c": 15})
(Fraction(96, 1), Fraction(7, 1))
>>> evaluate("c/2", {"c": 15})
Fraction(15, 2)
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping, Sequence
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


def expressions_in(text: str, names: Sequence[str]) -> list[tuple[int, int]]:
    """Where `text` holds an expression over `names`: (start, end) offsets, in order.

    >>> text = "conv3-c/2, FC-c//3, conv 1x1, int(θ·c)"
    >>> [text[a:b] for a, b in expressions_in(text, ["c", "θ"])]
    ['c', 'c//3', 'int(θ·c)']
    >>> text = "conv3-c -> 8x8xc"  # a size claim: `c` after `8x`
    >>> [text[a:b] for a, b in expressions_in(text, ["c"])]
    ['c', 'c']
    >>> text = "conv 3x3, c *2"  # a space before `*` and none after: the notation's repetition
    >>> [text[a:b] for a, b in expressions_in(text, ["c"])]
    ['c']
    """
    if not names:
        return []
    found: list[tuple[int, int]] = []
    for match in _pattern(tuple(names)).finditer(text):
        written = match.group(0)
        if not any(re.search(rf"(?:(?<![\w.])|(?<=\d[xX×])){re.escape(name)}(?!\w)", written) for name in names):
            continue
        start, end = match.span()
        if _VGG_FILTERS.search(text[:start]) and "/" in written and not written.endswith(")"):
            head = re.match(r"[^\s/]+", written)
            assert head is not None  # `conv3-c/2`: the slash is the VGG stride
            found.append((start, start + head.end()))
            rest = start + head.end()
            found += [(rest + a, rest + b) for a, b in expressions_in(written[head.end() :], names)]
            continue
        found.append((start, end))
    return found


_VGG_FILTERS = re.compile(r"conv\d+(?:[x×]\d+)?[-–]$", re.IGNORECASE)


def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    name = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    first = rf"(?:(?<![\w.×/–-])\d+(?:\.\d+)?(?![\w.])|(?:(?<![\w.])|(?<=\d[xX×]))(?:{name})(?!\w))"
    atom = rf"(?:\d+(?:\.\d+)?(?![\w.])|(?:{name})(?!\w))"
    operator = r"(?://|[*/+·]|[ \t]+//[ \t]+|[ \t]+[*/+·][ \t]+|[ \t]+-[ \t]+)"
    core = rf"{first}(?:{operator}{atom})*"
    inner = rf"\([ \t]*{core}[ \t]*\)"
    return re.compile(rf"\b(?:int|round|floor|ceil){inner}|(?<!\w){inner}|{core}")


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
