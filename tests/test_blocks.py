"""Block bodies: parsed once as templates, instantiated at each use, bounded before they expand.

Expected figures are hand arithmetic: a 3×3 conv from D to K channels has 9·D·K + K parameters.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import papernet
from papernet import blocks
from papernet.parse import parse


def problems(text: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.column) for d in papernet.parse(text).check() if d.span is not None]


def test_a_body_is_parsed_once_for_all_its_uses(monkeypatch: Any) -> None:
    calls = []
    original = blocks.instantiate
    monkeypatch.setattr("papernet.lower.instantiate", lambda *a: calls.append(a[1]) or original(*a))
    spec = parse("input 8x8x16\nblock b(c):\n  conv3-c\nb(8), b(16), b(8)\n")
    (definition,) = spec.blocks
    assert definition.body is not None and len(definition.slots) == 1
    net = papernet.parse("input 8x8x16\nblock b(c):\n  conv3-c\nb(8), b(16), b(8)\n")
    # 16→8: 9·16·8+8 = 1,160; 8→16: 9·8·16+16 = 1,168; 16→8 again: 1,160
    assert net.summary().total_params == 1_160 + 1_168 + 1_160
    assert calls == [(8,), (16,)]  # one instance per distinct arguments, none parsed again


def test_expressions_evaluate_per_use_and_claims_take_parameters() -> None:
    text = "input 8x8x16\nblock b(t, c):\n  conv 1x1, t*c -> 8x8xt*c\nb(6, 16)\n"
    net = papernet.parse(text)
    assert [d for d in net.check() if d.is_error] == []
    assert net.summary().total_params == 16 * 96 + 96  # MobileNetV2's expansion: one 96-filter conv


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # c/2 at c = 15 is 7.5 filters: at the expression, as written (column 13)
        ("input 8x8x16\nblock b(c):\n  conv 1x1, c/2\nb(15)\n", ("P124", 3, 13)),
        # a bare fractional value where a filter count goes
        ("input 8x8x16\nblock b(c):\n  conv3-c\nb(2.5)\n", ("P124", 3, 9)),
        # `p%`: the notation derives p/100, so the parameter cannot stand there
        ("input 8x8x16\nblock b(p):\n  conv3-8, dropout p%\nb(50)\n", ("P126", 3, 20)),
        # an argument that overflows to infinity (found by the smoke run: an internal error)
        ("input 8x8x16\nblock b(c):\n  conv3-c\nb(1e999)\n", ("P124", 3, 9)),
        ("input 8x8x16\nblock b(p):\n  conv3-8, dropout p\nb(1e999)\n", ("P124", 3, 20)),
    ],
)
def test_a_value_that_cannot_stand_is_reported_at_its_expression(text: str, expected: tuple[str, int, int]) -> None:
    assert problems(text)[0] == expected


def test_fractions_go_where_any_number_goes() -> None:
    rate = papernet.parse("input 8x8x16\nblock b(p):\n  conv3-8, dropout p/2\nb(0.5)\n")
    assert not [d for d in rate.check() if d.is_error]
    dropouts = [n for n in rate.graph.nodes if type(n).__name__ == "Dropout"]
    assert [n.rate for n in dropouts] == [0.25]  # type: ignore[attr-defined]
    se = papernet.parse("input 8x8x16\nblock b(r):\n  conv3-16, se r\nb(0.25)\n").summary().total_params
    assert se == papernet.parse("input 8x8x16\nconv3-16, se 0.25\n").summary().total_params


def test_a_syntax_error_in_a_body_quotes_what_was_written() -> None:
    (problem,) = papernet.parse("input 8x8x16\nblock b(c):\n  conv3-c, FC-c cnv\nb(8)\n").check()
    assert problem.code in ("P001", "P002") and problem.span is not None
    assert (problem.span.line, problem.span.column) == (3, 17)
    assert "100000000" not in problem.message + "".join(problem.help)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("input 8x8x3\nblock b():\n  [[conv3-8 pad 1]x10000]x10000\nb()\n", "P104"),
        # a chain of 350 blocks, each using the next: bounded by nesting, not by Python's stack
        (
            "input 8x8x3\n"
            + "".join(f"block b{i}():\n  b{i + 1}()\n" for i in range(350))
            + "block b350():\n  conv3-8\nb0()\n",
            "P104",
        ),
        # each block uses the next twice: 2^30 layers, sized without expanding
        (
            "input 8x8x3\n"
            + "".join(f"block b{i}():\n  b{i + 1}(), b{i + 1}()\n" for i in range(30))
            + "block b30():\n  conv3-8\nb0()\n",
            "P104",
        ),
        ("input 8x8x3\nblock b():\n  " + "add(" * 350 + "conv3-3" + " | identity)" * 350 + "\nb()\n", "P104"),
        ("input 8x8x3\nx: @x x10000\n", "P118"),
    ],
    ids=["expansion", "chain", "doubling", "nested-merges", "self-reference"],
)
def test_blocks_are_bounded_before_they_expand(text: str, code: str) -> None:
    start = time.perf_counter()
    found = [d.code for d in papernet.parse(text).check()]
    assert found[:1] == [code]
    assert time.perf_counter() - start < 30  # a hang guard, not a speed budget (bench/ has those)


def test_a_body_holds_layers_only() -> None:
    text = "input 8x8x16\nblock b(c):\n  conv3-c\n  total params 1M\nb(8)\n"
    assert problems(text) == [("P126", 4, 3)]
