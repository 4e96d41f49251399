"""Networks typed from papers as a new user types them: no `defaults:`, the table's own words.

Each builds the paper's network or gets a diagnostic; expected figures are the papers' or
arithmetic done by hand here.
"""

from __future__ import annotations

import papernet
from papernet import ir
from papernet.ir import Origin

VGG11_TABLE1_A = """\
input 224x224x3
conv3-64, maxpool
conv3-128, maxpool
conv3-256, conv3-256, maxpool
conv3-512, conv3-512, maxpool
conv3-512, conv3-512, maxpool
FC-4096, FC-4096
"""
"""VGG Table 1, column A, typed with no `defaults:` block."""


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
