"""Checking tables of the layers modern papers print (Xception's separable convs, U-Net's and
FCN's transposed convs, upsampling, copy-and-crop) as VGG's and ResNet's rows are checked: an
unstated padding or stride is inferred where the declared size pins it, and a size that does
not hold gets the fix that gives it.

Expected sizes are done by hand here ((W + 2P − F)/S + 1; a transposed conv's W·S, or
W·S + F − S unpadded; a crop's W − 2C), and Keras builds every inferred network to them.
"""

from __future__ import annotations

import pytest

import papernet
from papernet import ir
from papernet.ir import Origin


def _checked(text: str) -> tuple[papernet.Network, list[papernet.Diagnostic]]:
    net = papernet.parse(text, "modern.pn")
    return net, list(net.check())


def _keras_shapes(net: papernet.Network) -> dict[str, tuple[int | None, ...]]:
    model = net.to_keras()
    return {layer.name: tuple(layer.output.shape) for layer in model.layers}


def _node(net: papernet.Network, kind: type[ir.Node]) -> ir.Node:
    return next(n for n in net.graph.nodes if isinstance(n, kind))


def _errors(diagnostics: list[papernet.Diagnostic]) -> list[papernet.Diagnostic]:
    return [d for d in diagnostics if d.is_error]


def test_a_separable_convs_unstated_padding_is_inferred_from_its_declared_size() -> None:
    # (32 + 2·0 − 3)/1 + 1 = 30: the table's 30×30 pins pad 0 (valid), which `same` (32) does not give
    net, diagnostics = _checked("input 32x32x16\nsep conv 3x3, 32 -> 30x30x32\n")
    assert not _errors(diagnostics), diagnostics
    node = _node(net, ir.SeparableConv2D)
    assert node.origin("padding") is Origin.INFERRED
    assert [d.code for d in diagnostics] == ["P311"]
    assert "pad 0" in diagnostics[0].message
    assert _keras_shapes(net)[node.name] == (None, 30, 30, 32)


def test_a_separable_convs_unstated_stride_is_inferred() -> None:
    # ⌈32/2⌉ = 16 with `same`: the stride is what the table's 16×16 leaves open
    net, diagnostics = _checked("input 32x32x16\nsep conv 3x3, 32 -> 16x16x32\n")
    assert not _errors(diagnostics), diagnostics
    node = _node(net, ir.SeparableConv2D)
    assert isinstance(node, ir.SeparableConv2D)
    assert node.strides == (2, 2) and node.origin("strides") is Origin.INFERRED
    assert _keras_shapes(net)[node.name] == (None, 16, 16, 32)


def test_a_transposed_convs_unstated_padding_is_inferred_valid() -> None:
    # up-conv 3×3/2 on 14×14: `same` gives 14·2 = 28, `valid` 14·2 + 3 − 2 = 29 — the table's 29
    net, diagnostics = _checked("input 14x14x16\nup-conv 3x3/2, 8 -> 29x29x8\n")
    assert not _errors(diagnostics), diagnostics
    node = _node(net, ir.Conv2DTranspose)
    assert isinstance(node, ir.Conv2DTranspose)
    assert node.padding == "valid" and node.origin("padding") is Origin.INFERRED
    assert "padding valid" in diagnostics[0].message
    assert _keras_shapes(net)[node.name] == (None, 29, 29, 8)


def test_a_transposed_convs_unstated_stride_is_inferred() -> None:
    # deconv 4×4 on 7×7 to 28×28: `same` at stride 4 (7·4 = 28); `valid` would need 7·S + 4 − S = 28, S = 4
    net, diagnostics = _checked("input 7x7x16\ndeconv 4x4, 8 -> 28x28x8\n")
    assert not _errors(diagnostics), diagnostics
    node = _node(net, ir.Conv2DTranspose)
    assert isinstance(node, ir.Conv2DTranspose)
    assert node.strides == (4, 4)
    assert _keras_shapes(net)[node.name] == (None, 28, 28, 8)


def test_a_stated_transposed_padding_is_never_changed_and_the_fix_is_offered() -> None:
    # stated `same` gives 100·2 = 200; the table's 201 is `valid`'s 100·2 + 3 − 2
    net, diagnostics = _checked("input 100x100x8\nup-conv 3x3/2, 8 padding same -> 201x201x8\n")
    node = _node(net, ir.Conv2DTranspose)
    assert isinstance(node, ir.Conv2DTranspose) and node.padding == "same"
    (error,) = _errors(diagnostics)
    assert error.code == "P301"
    assert any("201×201 comes from padding valid" in line for line in error.help), error.help


def test_a_transposed_conv_is_never_offered_a_padding_keras_cannot_build() -> None:
    # 10·2 = 20 (same), 10·2 + 3 − 2 = 21 (valid): 22 would need explicit padding Keras's
    # Conv2DTranspose does not take, so no padding is offered for it
    _, diagnostics = _checked("input 10x10x8\nup-conv 3x3/2, 8 -> 22x22x8\n")
    (error,) = _errors(diagnostics)
    assert error.code == "P301"
    assert not any("pad " in line and "comes from" in line for line in error.help), error.help


def test_the_assumed_padding_note_counts_transposed_and_separable_convs() -> None:
    # same ≠ valid for both (32 vs 30; 64 vs 65), and no declared size pins either
    _, diagnostics = _checked("input 32x32x16\nsep conv 3x3, 32\nup-conv 3x3/2, 8\n")
    (note,) = [d for d in diagnostics if d.code == "P312"]
    assert note.message.startswith("2 layers rest on the assumed `padding same`")


@pytest.mark.parametrize(
    ("line", "size", "declared", "fix"),
    [
        ("crop 2", 29, 20, "`crop 4x5x4x5`"),  # 29 − 20 = 9: 4 above, 5 below
        ("crop 2", 29, 21, "`crop 4`"),  # 29 − 21 = 8: 4 a side
        ("upsample 2", 20, 60, "`upsample 3`"),  # 60 / 20
        ("upsampling 2x2 bilinear", 16, 64, "`upsample 4`"),
    ],
)
def test_a_crop_or_upsampling_that_misses_its_declared_size_gets_the_factor_that_gives_it(
    line: str, size: int, declared: int, fix: str
) -> None:
    _, diagnostics = _checked(f"input {size}x{size}x8\n{line} -> {declared}x{declared}x8\n")
    (error,) = _errors(diagnostics)
    assert error.code == "P301"
    assert any(fix in help_line for help_line in error.help), error.help


def test_a_crop_written_with_the_offered_fix_holds() -> None:
    # the help's own fix, written back, must give the declared size (Keras agrees)
    net, diagnostics = _checked("input 29x29x8\ncrop 4x5x4x5 -> 20x20x8\n")
    assert not _errors(diagnostics), diagnostics
    assert _keras_shapes(net)[_node(net, ir.Crop2D).name] == (None, 20, 20, 8)


def test_a_crop_cannot_grow_and_an_upsampling_must_be_whole() -> None:
    _, grown = _checked("input 20x20x8\ncrop 1 -> 22x22x8\n")
    assert any("cannot grow" in line for line in _errors(grown)[0].help)
    _, fractional = _checked("input 20x20x8\nupsample 2 -> 50x50x8\n")
    assert any("no whole upsampling factor" in line for line in _errors(fractional)[0].help)
