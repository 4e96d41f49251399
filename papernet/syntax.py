"""The syntax tree: a spec as written, before defaults, repetition and fusion are applied.

`parse` builds it; `lower` turns it into the IR. Layer attributes are kept as a list of
`Option`s with their spans, whatever spelling they came from, so `conv3-64`,
`3×3, 64` and `conv 3x3, 64` differ here only in their spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from papernet.diagnostics import Diagnostic
from papernet.ir import Claims, TotalClaim, TrainLine
from papernet.span import Span

MAX_NESTING = 32
"""Deepest nesting of brackets, merges and block uses."""


@dataclass(frozen=True, slots=True)
class Option:
    """One stated attribute: `kernel (3, 3)`, `filters 64`, `stride (2, 2)`, `padding 1`…"""

    key: str
    value: object
    span: Span


@dataclass(frozen=True, slots=True)
class Layer:
    kind: str  # conv, maxpool, avgpool, pool, global_maxpool, global_avgpool, fc, …
    options: tuple[Option, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Group:
    """`[a, b, c]`; with `;` between parts, a residual bracket as ResNet's Table 1 prints."""

    parts: tuple[tuple[Item, ...], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Merge:
    """`add(a | b)` or `concat(a | b | c)`: branches from the same tensor, merged.
    A branch of None is `identity`."""

    op: str  # add | concat
    branches: tuple[tuple[Item, ...] | None, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Reference:
    """`@stem`: the output of the layer labelled `stem`."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class BlockUse:
    name: str
    args: tuple[int | float, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Slot:
    """A parameter expression in a block body (`t*c`), and the placeholder number that stands
    for it in the body's parsed template (`papernet.blocks`)."""

    placeholder: int
    expression: str
    span: Span


@dataclass(frozen=True, slots=True)
class BlockDef:
    """`block name(p, q):` and its indented body, parsed once as a template: the body's items
    with a placeholder number wherever an expression over the parameters stands (its slots).
    Each use instantiates it with its arguments, so every use expands to fresh layers."""

    name: str
    params: tuple[str, ...]
    lines: tuple[tuple[int, str], ...]  # (line number, text as written, indentation included)
    span: Span
    body: tuple[Item, ...] | None = None  # None: the body could not be read (already reported)
    slots: tuple[Slot, ...] = ()


Element = Layer | Group | Merge | Reference | BlockUse


@dataclass(frozen=True, slots=True)
class Item:
    element: Element
    label: str | None
    label_span: Span | None
    repeat: int
    repeat_span: Span | None
    claims: Claims
    span: Span
    stride: int = 1  # `[...] ×2 /2`: the first repetition of a residual block downsamples
    stride_span: Span | None = None


@dataclass(frozen=True, slots=True)
class DefaultsLine:
    kind: str
    options: tuple[Option, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Spec:
    file: str
    title: str | None
    base: tuple[str, Span] | None
    classes: tuple[int, Span] | None
    regression: tuple[tuple[int, ...], Span] | None
    chains: tuple[tuple[Item, ...], ...]
    defaults: tuple[DefaultsLine, ...]
    totals: tuple[TotalClaim, ...]
    train: tuple[TrainLine, ...]
    blocks: tuple[BlockDef, ...] = ()
    regression_head: str = "dense"  # `regression 224x224x1 head conv`: "conv"
    problems: tuple[Diagnostic, ...] = ()  # syntax errors of lines left out (`parse_recovering`)


def too_deep(items: Sequence[Item], depth: int = 0) -> Group | Merge | None:
    """The first group or merge nested deeper than MAX_NESTING (counting from `depth`, the
    nesting the items are in), found without recursion."""
    stack = [(item, depth) for item in items]
    while stack:
        item, depth = stack.pop()
        parts: Sequence[Sequence[Item] | None] = ()
        if isinstance(item.element, Group):
            parts = item.element.parts
        elif isinstance(item.element, Merge):
            parts = item.element.branches
        if parts and depth >= MAX_NESTING:
            return item.element  # type: ignore[return-value]
        stack += [(inner, depth + 1) for part in parts for inner in part or ()]
    return None
