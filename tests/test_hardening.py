"""Inputs an adversary types: each is a positioned diagnostic and exit 1 or 2, never exit 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CASES = {
    "long s in same": ("input 8x8x3\nconv3-4 padding ſame\n", 0),
    "long s in softmax": ("input 8x8x3\nFC-10, ſoftmax\n", 0),
    "infinite width": ("input 8x8x3\ndefaults:\n  conv: width 1e999\nconv3-4\n", 1),
    "infinite slope": ("input 8x8x3\nleaky relu 1e999\n", 1),
    "huge input": ("input 1000000x1000000x3\nconv3-4\n", 1),
    "a title and no layers": ('network "only a title"\n', 1),
    "an empty block and no input": ("block b():\n a\n", 1),
    "from a file that is not a spec": ("from /etc/passwd\ninput 8x8x3\n", 1),
    "500 nested brackets": ("input 8x8x3\n" + "[" * 500 + "conv3-4" + "]" * 500 + "\n", 1),
}


@pytest.mark.parametrize(("text", "code"), CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("command", ["check", "compile"])
def test_no_internal_error(text: str, code: int, command: str, run_cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "spec.pn"
    spec.write_text(text, encoding="utf-8")
    result = run_cli(command, str(spec))
    assert result.code == code, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if code:
        assert "spec.pn:" in result.stderr  # positioned


def test_a_long_s_reads_as_the_word_it_stands_for() -> None:
    import papernet

    conv = papernet.parse("input 8x8x3\nconv3-4 padding ſame\n").graph.nodes[1]
    assert getattr(conv, "padding", None) == "same"


def test_a_claim_in_a_repeated_group_is_about_one_repetition() -> None:
    import papernet

    # 8x8x3 → conv3-8: 9·3·8 + 8 = 224; the second repetition, 8 → 8: 9·8·8 + 8 = 584
    first = papernet.parse("input 8x8x3\n[conv3-8 params 224] x2\n").reconcile().rows
    assert [str(row.verdict) for row in first] == ["holds", "fails"]
    assert [row.inferred for row in first] == ["224", "584"]
    second = papernet.parse("input 8x8x8\n[conv3-8 params 584] x2\n").check()
    assert [d for d in second if d.is_error] == []


@pytest.mark.parametrize(
    "text",
    [
        "input 32x32x3\nconv3-4\n[max pool 3x3/2, ceil params 2.7K] x4000\nFC-2\n",
        "input 28x28x1\nconcat([[dropout 0.5] x4000, 1x1 conv, 16] x2)\nFC-2\n",
    ],
    ids=["claims-in-a-repeat", "a-repeated-pass-through"],
)
def test_fuzzed_quadratic_checks_stay_linear(text: str) -> None:
    import time

    import papernet

    start = time.perf_counter()
    papernet.parse(text).check()
    assert time.perf_counter() - start < 20  # were 15 s and 6 s at 4,000 (quadratic); a hang guard


@pytest.mark.parametrize(
    "text",
    [
        "input 32²\nconv65536-8 -> 32² × 8\n",  # `same` holds; every padding was tried (8–11 s)
        "input 32²\nconv65536-8 -> 31² × 8\n",  # nothing holds: the fixes are searched
        "input 32²\nmaxpool 65535x65535/1 -> 5x5x1\n",
    ],
    ids=["holds", "fails", "pool"],
)
def test_the_padding_search_of_a_huge_window_tries_only_paddings_that_can_fit(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papernet
    from papernet import solve

    calls = 0
    measured = solve.output_size

    def counted(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return measured(*args)

    monkeypatch.setattr(solve, "output_size", counted)
    papernet.parse(text).check()
    # a 65,536-wide window has 65,535 paddings a stride, ×4 strides ×3 roundings; (T − 2)·S <
    # W + 2P − F < T·S leaves at most S + 1 of them a stride
    assert calls < 2_000


def test_an_se_blocks_weights_do_not_spread_the_maps_pixels() -> None:
    """Fuzz: `[conv dw 3×3, se 1] x10000` made a receptive field of more than 4,300 digits (the
    multiply took the squeeze's step, ×8 a block). By hand at 8×8: the 3×3 adds 2, the squeeze
    7·1 (its 8×8 window at step 1), and the multiply keeps the map's step 1: 1 + 9·200."""
    import papernet

    last = papernet.parse("input 8x8x8\n[conv dw 3x3, se 0.25] x200\n").infer().layers[-1]
    assert (last.receptive_field, last.jump) == ((1801, 1801), (1, 1))


@pytest.mark.parametrize(
    "text",
    [
        "input 4x3\n[conv dw 3×3stride 1params 0,elu, se 1] x10000\n",  # fuzz: 4,300-digit receptive field
        "input 8x8x3\nrescale 0\nconv3-4\n",  # fuzz: 1/0 in the layer's description
        "input 8x8x3\nconv3-3 -> 0x0x3\nupsample 2 -> 4x4x3\n",  # smoke: the upsampling fix divided by 0
        "input 8x8x3\nupsample 2 -> 0x0x3\ncrop 1 -> 4x4x3\n",
    ],
    ids=["se-repeated", "rescale-0", "upsample-after-declared-0", "crop-after-declared-0"],
)
def test_fuzzed_summaries_have_no_internal_error(text: str, run_cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "spec.pn"
    spec.write_text(text, encoding="utf-8")
    for command in ("summary", "check"):
        result = run_cli(command, str(spec))
        assert result.code in (0, 1), result.stderr
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr
