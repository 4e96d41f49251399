"""Networks typed from papers as a new user types them: no `defaults:`, the table's own words.

Each builds the paper's network or gets a diagnostic; expected figures are the papers' or
arithmetic done by hand here.
"""

from __future__ import annotations

from networks import VGG11_TABLE1_A

import papernet
from papernet import ir
from papernet.ir import Origin


def test_vgg11_typed_from_table1_equals_the_shipped_spec() -> None:
    typed = papernet.parse(VGG11_TABLE1_A + "FC-1000, soft-max\n")
    assert not [d for d in typed.check() if d.is_error]
    assert typed.summary().total_params == 132_863_336  # Table 2's "133" for A, measured exactly
    assert typed.summary().total_params == papernet.load("vgg11").summary().total_params


def test_vgg11_typed_from_table1_with_the_regression_head() -> None:
    # The VGG-11 adaptation tutorial's head: FC-4096 → 224·224·1 linear units, reshaped.
    # Convs: 1,792 + 73,856 + 295,168 + 590,080 + 1,180,160 + 3 · 2,359,808 = 9,220,480
    # FC: 25,088·4096 + 4096 = 102,764,544; 4096·4096 + 4096 = 16,781,312;
    #     4096·50,176 + 50,176 = 205,571,072
    typed = papernet.parse(VGG11_TABLE1_A + "regression 224x224x1\n")
    total = 9_220_480 + 102_764_544 + 16_781_312 + 205_571_072
    assert total == 334_337_408
    assert typed.summary().total_params == total


def test_every_unstated_padding_is_assumed_same_and_marked() -> None:
    net = papernet.parse(VGG11_TABLE1_A)
    spatial = [n for n in net.graph.nodes if isinstance(n, ir.Conv2D | ir.Pool2D)]
    assert len(spatial) == 13
    assert all(n.padding == "same" and n.origin("padding") is Origin.ASSUMED for n in spatial)


def test_stated_valid_padding_is_the_alexnet_era_reading() -> None:
    text = "input 32x32x1\ndefaults:\n  conv: padding valid\nconv5-6\nmaxpool\nconv5-16\nmaxpool\n"
    # LeNet-5: 32 − 5 + 1 = 28, /2 = 14, 14 − 5 + 1 = 10, /2 = 5
    shapes = [layer.shape for layer in papernet.parse(text).infer().layers]
    assert shapes[-1] == (5, 5, 16)


def test_a_window_covering_its_whole_input_is_not_padded() -> None:
    # ResNet's "average pool" written as a 7×7 window: 1×1, not a 7×7 `same` blur.
    net = papernet.parse("input 7x7x2048\navgpool 7x7/1\nFC-1000\n")
    assert net.infer().layers[1].shape == (1, 1, 2048)
    assert net.summary().total_params == 2048 * 1000 + 1000


def test_a_classes_line_replaces_the_tables_classifier() -> None:
    # FC-1000 + soft-max become FC-10 with softmax: 4096·10 + 10 replaces 4096·1000 + 1000
    net = papernet.parse(VGG11_TABLE1_A + "FC-1000, soft-max\nclasses 10\n")
    assert net.summary().total_params == 132_863_336 - (4096 * 1000 + 1000) + (4096 * 10 + 10)
    assert isinstance(net.graph.nodes[-1], ir.Dense) and net.graph.nodes[-1].units == 10


def test_an_input_without_channels_is_a_usage_error(run_cli: object) -> None:
    result = run_cli("summary", "vgg11", "--input", "32x32")  # type: ignore[operator]
    assert result.code == 2
    assert "32x32x1" in result.stderr and "32x32x3" in result.stderr


def test_an_api_input_without_channels_is_a_diagnostic() -> None:
    adapted = papernet.load("vgg11").adapt(input=(32, 32))
    problems = [d for d in adapted.check() if d.code == "P111"]
    assert problems and "32×32×1" in problems[0].help[0] and "32×32×3" in problems[0].help[0]


# ---- claims on what is not a single layer ------------------------------------------------------


def _rows(text: str) -> list[tuple[int, str, str]]:
    return [(r.span.line, r.quantity, r.verdict) for r in papernet.parse(text).reconcile().rows]


def test_a_claim_on_a_block_use_is_checked() -> None:
    # conv3-8 with `same` keeps 8×8 and gives 8 channels: 5×5×5 is wrong
    text = "input 8x8x3\nblock b(c):\n  conv3-c\nb(8) -> 5x5x5\n"
    assert _rows(text) == [(4, "output", "fails")]
    assert papernet.parse(text.replace("5x5x5", "8x8x8")).reconcile().rows[0].verdict == "holds"


def test_params_on_a_group_total_the_group() -> None:
    # 3·3·3·4 + 4 = 112 and 3·3·4·4 + 4 = 148: 260 for the group, not the last conv's 148
    assert _rows("input 8x8x3\n[conv3-4, conv3-4] params 260\n") == [(2, "params", "holds")]
    assert _rows("input 8x8x3\n[conv3-4, conv3-4] params 148\n") == [(2, "params", "fails")]


def test_params_on_a_merge_total_its_branches() -> None:
    # add(conv3-4 | identity) on 8×8×4: the conv's 3·3·4·4 + 4 = 148, the add none
    assert _rows("input 8x8x4\nadd(conv3-4 | identity) -> 8x8x4 params 148\n") == [
        (2, "output", "holds"),
        (2, "params", "holds"),
    ]
    assert _rows("input 8x8x4\nadd(conv3-4 | identity) params 0\n") == [(2, "params", "fails")]


def test_params_on_a_repeated_layer_total_every_repetition() -> None:
    # conv3-4 ×2 on 8×8×4: 2 · (3·3·4·4 + 4) = 296
    assert _rows("input 8x8x4\nconv3-4 x2 params 296\n") == [(2, "params", "holds")]


def test_a_residual_bracket_claim_totals_its_blocks() -> None:
    # [3×3, 4; 3×3, 4] ×2 on 8×8×4, Keras's counting: each conv 3·3·4·4 + 4 = 148 and its BN 4·4 = 16
    # (identity shortcuts: the shape does not change): 2 blocks · 2 · (148 + 16) = 656
    assert _rows("input 8x8x4\n[3×3, 4; 3×3, 4] ×2 -> 8x8x4 params 656\n") == [
        (2, "output", "holds"),
        (2, "params", "holds"),
    ]


# ---- block parameters are expressions ------------------------------------------------------------

INVERTED = "input 32x32x16\nblock inv(t, c):\n  conv 1x1, t*c\n  conv dw 3x3\n  conv 1x1, c, linear\n"


def test_an_expansion_width_is_one_conv_of_t_times_c_filters() -> None:
    # MobileNetV2's expansion: inv(6, 16) is one 1×1 conv of 6·16 = 96 filters: 16·96 + 96 = 1,632
    net = papernet.parse(INVERTED + "inv(6, 16)\n")
    convs = [n for n in net.graph.nodes if isinstance(n, ir.Conv2D)]
    assert [c.filters for c in convs] == [96, 16]
    assert net.infer().layers[1].params == 1_632


def test_expressions_evaluate_at_each_use() -> None:
    body = "  conv 1x1, c//2\n  conv 1x1, 0.5*c\n  conv 1x1, int(θ·c)\n"
    text = f"input 8x8x64\nblock b(c, θ):\n{body}b(64, 0.5)\nb(30, 0.25)\n"
    filters = [n.filters for n in papernet.parse(text).graph.nodes if isinstance(n, ir.Conv2D)]
    # 64//2 = 32, 0.5·64 = 32, int(0.5·64) = 32; 30//2 = 15, 0.5·30 = 15, int(0.25·30) = int(7.5) = 7
    assert filters == [32, 32, 32, 15, 15, 7]


def test_a_width_that_is_not_whole_is_an_error_with_the_arithmetic() -> None:
    net = papernet.parse("input 8x8x3\nblock half(c):\n  conv 1x1, c/2\nhalf(15)\n")
    problems = [d for d in net.check() if d.code == "P124"]
    assert problems and "c/2 with c = 15 gives 15/2 = 7.5, not a whole number" in problems[0].message
    assert problems[0].span is not None and problems[0].span.line == 3


# ---- every error in one run --------------------------------------------------------------------

THREE_UNKNOWN_WORDS = """\
input 32x32x3
conv3-16 -> 32x32x16
frobnicate 3
conv3-16 -> 32x32x16 params 2,320
blorp
maxpool -> 16x16x16
zazzle 7
FC-10 params 40,970
"""


def test_three_unknown_words_give_three_diagnostics_and_the_rest_is_checked(run_cli: object) -> None:
    net = papernet.parse(THREE_UNKNOWN_WORDS, "three.pn")
    unknown = [d for d in net.check() if d.code == "P002"]
    assert [d.span.line for d in unknown if d.span] == [3, 5, 7]
    # the other claims still reconcile: 3·3·16·16 + 16 = 2,320; 16·16·16·10 + 10 = 40,970
    rows = [(r.span.line, r.quantity, r.verdict) for r in net.reconcile().rows]
    assert (4, "params", "holds") in rows and (8, "params", "holds") in rows
    assert (6, "output", "holds") in rows


def test_a_bad_section_header_leaves_out_its_indented_lines() -> None:
    text = "input 8x8x3\ndefaultz:\n  conv: padding valid\nconv3-4\nqwerty\n"
    net = papernet.parse(text, "s.pn")
    codes = [(d.code, d.span.line) for d in net.check() if d.is_error and d.span]
    assert codes == [("P002", 2), ("P002", 5)] or [line for _, line in codes] == [2, 5]
    assert net.infer().layers[-1].shape == (8, 8, 4)  # the valid padding was left out with its header
