"""A repeated top-level line is read once (`papernet.parse._parse_once`): the spec, its spans and
its syntax errors are exactly those of reading every line, in every context a line can stand in."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest

from papernet.syntax import Item, Layer, Option

parse_module = importlib.import_module("papernet.parse")
ROOT = Path(__file__).resolve().parent.parent
FILLER = "relu\n" * 60  # past the length under which nothing is memoised


def _read(text: str, monkeypatch: pytest.MonkeyPatch, memo: bool) -> object:
    with monkeypatch.context() as patch:
        if not memo:
            patch.setattr(parse_module, "_MEMO_MIN_LINES", 10**9)
        try:
            return parse_module.parse_recovering(text, "memo.pn")
        except parse_module.ParseFailure as failure:
            return failure.diagnostics


def _same(text: str, monkeypatch: pytest.MonkeyPatch) -> object:
    with_memo, without = _read(text, monkeypatch, True), _read(text, monkeypatch, False)
    assert with_memo == without
    return with_memo


CONTEXTS = {
    "layers of every kind": "input 32x32x3\n"
    + "conv3-64, BN, relu -> 32x32x64\n"
    + "[3×3, 64; 3×3, 64] ×2\n"
    + "add(conv3-64 -> conv3-64 | identity)\n"
    + "concat(conv1-8 | max pool 3x3/1 -> conv1-8)\n"
    + "dropout 0.5 params 0\n"
    + "3×3, 64, stride 1\n" * 3
    + "max pool 3×3, stride 1, pad 1 # a comment\n" * 3
    + "\n\n# between\n"
    + "conv3-64, BN, relu -> 32x32x64\n"
    + "[3×3, 64; 3×3, 64] ×2\n"
    + "add(conv3-64 -> conv3-64 | identity)\n"
    + "concat(conv1-8 | max pool 3x3/1 -> conv1-8)\n"
    + "dropout 0.5 params 0\n",
    "after a section header": "input 8x8x3\nrelu\ndefaults:\nrelu\n  conv: stride 1\n",
    "inside a merge's parentheses": "input 8x8x3\nconv3-8\nadd(conv3-8 |\nconv3-8\n| identity)\n",
    "after a block header": "input 8x8x3\nconv3-8\nblock b(c):\nconv3-8\n  conv3-c\n",
    "after a block body": "input 8x8x3\nconv3-8\nblock b(c):\n  conv3-c\nconv3-8\nb(8)\nb(8)\n",
    "before an indented group": "input 8x8x3\nconv3-8\nconv3-8\n  relu\n  relu\nconv3-8\n",
    "after train": "input 8x8x3\nFC-10\ntrain:\n  epochs 1\nFC-10\nsoftmax\n",
    "repeated statements": 'network "a"\nnetwork "a"\ninput 8x8x3\ninput 8x8x3\nclasses 10\nclasses 10\n',
    "repeated labels and references": "input 8x8x3\na: conv3-8\na: conv3-8\n@a\n@a\n",
    "repeated errors": "input 8x8x3\ncnv3-8\ncnv3-8\nconv3-8 [\nconv3-8 [\n",
    "tabs and runs": "input 8x8x3\n" + "conv3-8\n" * 5 + "\tconv3-8\n" + "conv3-8\n" * 5,
    "a last line without a newline": "input 8x8x3\nconv3-8\nconv3-8",
}


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_memo_reads_as_every_line_read(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = CONTEXTS[name]
    _same(FILLER + text, monkeypatch)
    _same(text + FILLER, monkeypatch)
    _same(text * 8, monkeypatch)


@pytest.mark.parametrize("spec", sorted(p.name for p in (ROOT / "specs").glob("*.pn")))
def test_memo_on_shipped_specs_twice(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "specs" / spec).read_text(encoding="utf-8")
    _same(text + FILLER, monkeypatch)
    _same(text + "\n" + text + FILLER, monkeypatch)  # every line repeated, statements and sections too


def test_memo_spans_are_the_copies_own() -> None:
    spec = parse_module.parse("input 8x8x3\n" + "conv3-8, relu\n" * 60, "memo.pn")
    assert len(spec.chains) == 61
    for number, chain in enumerate(spec.chains[1:], start=2):
        conv, relu = chain
        assert (conv.span.line, conv.span.column, conv.span.end_line, conv.span.end_column) == (number, 1, number, 8)
        assert (relu.span.line, relu.span.column, relu.span.end_column) == (number, 10, 14)
        assert isinstance(conv.element, Layer)
        assert all(option.span.line == number for option in conv.element.options)


def test_memo_copies_every_field() -> None:
    """`_moved_item` copies fields by name: a field added to these classes must be added there."""
    for kind, names in ((Item, parse_module.ITEM_FIELDS), (Layer, parse_module.LAYER_FIELDS)):
        assert tuple(field.name for field in dataclasses.fields(kind)) == names
    assert tuple(field.name for field in dataclasses.fields(Option)) == parse_module.OPTION_FIELDS
