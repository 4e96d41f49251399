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
    "a stage stride of 0": ("input 4×4RGB\n[3×3,2;3×3,2]×2/0->7\n", 1),  # fuzz: ZeroDivisionError
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


def _count_calls(monkeypatch: pytest.MonkeyPatch, module: Any, *names: str) -> list[int]:
    """Wrap `module`'s functions `names` to count their calls, together: the count is `[n]`."""
    calls = [0]

    def counted(function: Any) -> Any:
        def call(*args: Any) -> Any:
            calls[0] += 1
            return function(*args)

        return call

    for name in names:
        monkeypatch.setattr(module, name, counted(getattr(module, name)))
    return calls


@pytest.mark.parametrize(
    "text",
    [
        "input 32²\nconv65536-8 -> 32² × 8\n",  # `same` holds; every padding was tried (8–11 s)
        "input 32²\nconv65536-8 -> 31² × 8\n",  # nothing holds: the fixes are searched
        "input 32²\nmaxpool 65535x65535/1 -> 5x5x1\n",
        "input 8x8x1\nconv 1000000x1, 16 -> 7x7x512\n",  # fuzz: 13 s filtering a million paddings
        "input 8x8x1\nmaxpool 999999x999999 -> 1x1x1\n",  # fuzz: half a million paddings give 1×1
    ],
    ids=["holds", "fails", "pool", "million-wide", "pool-to-one"],
)
def test_the_padding_search_of_a_huge_window_tries_only_paddings_that_can_fit(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papernet
    from papernet import solve

    calls = _count_calls(monkeypatch, solve, "output_size", "can_give")
    found = papernet.parse(text).check()
    # a 65,536-wide window has 65,535 paddings a stride, ×4 strides ×3 roundings; (T − 2)·S <
    # W + 2P − F < T·S, solved for P, leaves at most S + 1 of them a stride, and of those the
    # MAX_PADS_TRIED nearest (F − 1)/2 are tried
    assert calls[0] < 2_000
    assert all(d.span is not None and d.span.line == 2 for d in found)


@pytest.mark.parametrize("seed", range(3))
def test_the_paddings_solved_for_are_those_that_can_give_the_size(seed: int) -> None:
    # _pads_that_can_give solves (T − 2)·S < W + 2P − F_eff < T·S for P; every P from 0 to 40
    # is tried by hand here, on random windows, dilations, strides, sizes and targets
    import random

    from papernet import solve
    from papernet.ir import Conv2D
    from papernet.span import Span

    rng = random.Random(seed)
    for _ in range(300):
        window = (rng.randint(1, 9), rng.randint(1, 9))
        dilation = (rng.randint(1, 3), rng.randint(1, 3))
        stride = (rng.randint(1, 4),) * 2
        size, target = (rng.randint(1, 40), rng.randint(1, 40)), (rng.randint(1, 20), rng.randint(1, 20))
        node = Conv2D(
            name="c", inputs=(0,), span=Span("t.pn", 1, 1, 1, 2), filters=1, kernel_size=window,
            strides=stride, padding="valid", dilation=dilation,
        )  # fmt: skip
        least, most = solve._pads_that_can_give(node, stride, size, target)
        by_hand = [p for p in range(41) if solve.can_give(node, ((p, p), (p, p)), stride, size, target)]
        assert by_hand == [p for p in range(41) if least <= p <= most], (window, dilation, stride, size, target)


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


def test_a_wrong_shape_on_a_repeated_line_is_solved_once_per_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # fuzz: `[3x3 conv, 3 -> 1×1×10 …] x10000` searched the same fixes 10,000 times (12 s); the
    # search is a pure function of the layer's geometry, its input size and the declared size
    import papernet
    from papernet import solve

    calls = _count_calls(monkeypatch, solve, "_fitting")
    monkeypatch.setattr(solve, "_FITTING", {})
    found = papernet.parse("input 32x32x3\n[conv 3x3, 8, stride 2 -> 5x5x8, conv dw 3×3, padding same] x50\n").check()
    shapes = [d for d in found if d.code == "P301"]
    assert len(shapes) == 50 and calls[0] <= 4
    # from the second repetition on, the row reads the declared 5×5×8: 3×3 at stride 1, padded
    # `same`, keeps 5×5 (by hand: (5 + 2 − 3)/1 + 1 = 5)
    assert all(d.help[0] == "5×5 comes from stride 1, padding same" for d in shapes[1:])
    assert "gives 16×16×8" in shapes[0].message and "gives 3×3×8" in shapes[1].message


def test_a_shape_error_on_a_repeated_line_gets_its_help_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # fuzz: `[maxpool, padding valid, conv 3×3/2, 16 -> 7x7x512 …] x10000` took 130 s to check:
    # each of the 10,000 P201s searched all 20,000 nodes for its layer, then again for its
    # declared size, then solved the same help. By hand: (16 − 3)/2 + 1 = 7.5 on every repetition
    # (the conv floors to 7, upsampling doubles that to 14, the zero-padding restores 16).
    import papernet
    from papernet import check

    calls = _count_calls(monkeypatch, check, "_geometry_help")
    found = papernet.parse("input 16x16x8\n[conv 3x3/2, 8, padding valid, upsample 2, zeropad 1] x50\n").check()
    problems = [d for d in found if d.code == "P201"]
    assert len(problems) == 50 and calls[0] == 1
    assert all("(16 + 2·0 − 3)/2 + 1 = 7.5" in d.message for d in problems)
    assert len({d.help for d in problems}) == 1 and "15×15 or 17×17" in problems[0].help[0]


def test_a_block_use_whose_arguments_do_not_fit_is_instantiated_and_reported_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # fuzz: `[b(0.5)] x10000` rebuilt the block's body 10,000 times to find the same P124 (17 s)
    import papernet
    from papernet import lower

    calls = _count_calls(monkeypatch, lower, "instantiate")
    net = papernet.parse("block b(f):\n  conv3-f\ninput 8x8x3\n[b(0.5), b(8)] x1000\n")
    problems = [d for d in net.diagnostics if d.code == "P124"]
    assert calls[0] == 2 and len(problems) == 1
    assert problems[0].message.startswith("in block b, used on line 4: ")


@pytest.mark.parametrize(("pools", "held"), [(52, False), (53, True)])
def test_a_receptive_field_is_counted_to_2_53_and_then_held(pools: int, held: bool) -> None:
    # fuzz: `[max pool 3×3/2] ×30000` made a 9,000-digit receptive field, which no report could
    # print (ValueError). By hand, n pools 3×3/2: jump 2^n, field 1 + 2·(2^n − 1) = 2^(n+1) − 1.
    import json

    import papernet

    net = papernet.parse(f"input 8x8x1\n[max pool 3×3/2, padding same] x{pools}\nFC-3\n")
    last_pool = json.loads(net.summary().to_json())["layers"][-2]
    if held:
        assert last_pool["receptive_field"] is None and last_pool["effective_stride"] is None
        assert "past 9,007,199,254,740,992 px" in last_pool["notes"][-1]
    else:
        assert last_pool["receptive_field"] == 2 ** (pools + 1) - 1 and last_pool["effective_stride"] == 2**pools
        assert not any("past" in note for note in last_pool["notes"])
    assert net.summary().to_text() and net.to_source()


def test_thirty_thousand_strided_pools_report_in_every_format(tmp_path: Path, run_cli: Any) -> None:
    spec = tmp_path / "pools.pn"
    spec.write_text("input 28x28\n[[max pool 3×3/2, padding same] x10000] x3\nFC-3\n", encoding="utf-8")
    for form in ("table", "json", "markdown", "csv", "html"):
        result = run_cli("summary", str(spec), "--format", form, "-o", str(tmp_path / f"out.{form}"))
        assert result.code == 0, result.stderr
    assert "past 9,007,199,254,740,992 px" in (tmp_path / "out.json").read_text(encoding="utf-8")


def test_a_solved_rows_replay_leaves_the_flow_as_it_was() -> None:
    # fuzz: `[[relu, …, conv 3×3/2, 3, …] x10000] x3` parsed in 10.7 s, because each solved row's
    # replay copied the flow of every node before it; the replay now borrows it and restores it
    import papernet
    from papernet import infer, solve

    text = "input 32x32x3\nconv 3x3, 8 -> 32x32x8\nBN\nrelu -> 32x32x8\nconv 3x3, 8, stride 2 -> 16x16x8\n"
    net = papernet.parse(text)
    nodes = list(net.graph.nodes)
    flow: list[infer.LayerInfo] = []
    for node in nodes[:3]:
        info, _ = infer.infer_node(node, flow, nodes)
        flow.append(info)
    before = list(flow)
    info, _ = solve._replay(nodes, 1, 3, flow)
    assert flow == before
    # by hand: 3×3 `same` at stride 1 keeps 32×32, and BN and ReLU pass it on
    assert info.shape == (32, 32, 8)
