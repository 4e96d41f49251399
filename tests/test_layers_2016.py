"""The layers of 2016–2020 tables, each built in real Keras.

Every case is a small spec; its live Keras model must give, node by node, the output shape and
the parameter counts (trainable and not) that papernet infers, and the figure worked out by
hand in the test (from Keras's own counting rules, written out) must equal both.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import papernet
from papernet import ir

RunCli = Callable[..., Any]


def _weights(weights: list[Any]) -> int:
    return sum(int(w.numpy().size) for w in weights)


def keras_agrees(net: papernet.Network) -> Any:
    """Build `net` in Keras; assert each node's Keras layers give papernet's shape and counts."""
    model = net.to_keras()
    inference = net.infer()
    layers = {layer.name: layer for layer in model.layers}
    for node, info in zip(net.graph.nodes, inference.layers, strict=True):
        if isinstance(node, ir.Input):
            continue
        own = [layers[name] for name in (node.name, f"{node.name}_pad") if name in layers]
        assert own, f"no Keras layer for {node.name}"
        assert tuple(layers[node.name].output.shape) == (None, *(info.shape or ())), node.name
        trainable = sum(_weights(layer.trainable_weights) for layer in own)
        non_trainable = sum(_weights(layer.non_trainable_weights) for layer in own)
        assert (trainable, non_trainable) == (info.trainable, info.non_trainable), node.name
    assert model.count_params() == inference.total_params
    return model


def figures(text: str) -> tuple[papernet.Network, Any]:
    net = papernet.parse(text, "layers.pn")
    assert not net.errors(), net.errors()
    return net, keras_agrees(net)


def node(net: papernet.Network, name: str) -> tuple[ir.Node, Any]:
    index = next(i for i, n in enumerate(net.graph.nodes) if n.name == name)
    return net.graph.nodes[index], net.infer().layers[index]


# ---- batch norm settings ------------------------------------------------------------------------


def test_batchnorm_scale_and_center_off_count_as_keras_does() -> None:
    net, model = figures(
        "input 8x8x16\nbn_full: BN\nbn_noscale: BN scale off\nbn_bare: BN scale off, center off\n"
        "bn_eps: BN epsilon 1.001e-5, momentum 0.9\n"
    )
    # Keras: γ and β trainable (C each) where on, moving mean and variance (2C) never trainable
    assert [node(net, n)[1].params for n in ("bn_full", "bn_noscale", "bn_bare")] == [4 * 16, 3 * 16, 2 * 16]
    assert node(net, "bn_noscale")[1].trainable == 16
    config = model.get_layer("bn_eps").get_config()
    assert (config["epsilon"], config["momentum"]) == (1.001e-5, 0.9)
    assert model.get_layer("bn_noscale").get_config()["scale"] is False


def test_batchnorm_defaults_govern_the_batch_norms_constructs_add() -> None:
    text = (
        "input 8x8x16\ndefaults:\n  batchnorm: scale off, epsilon 1.001e-5\n  conv: batchnorm, padding same\n"
        "conv3-16\n[3×3, 16; 3×3, 16]\nmine: BN scale on\n"
    )
    net, model = figures(text)
    norms = [n for n in net.graph.nodes if isinstance(n, ir.BatchNorm)]
    assert len(norms) == 4
    assert [n.scale for n in norms] == [False, False, False, True]
    assert all(n.epsilon == 1.001e-5 for n in norms)
    # three BNs without γ (3·16) and one with (4·16); convs 3·3·16·16 + 16 each
    assert net.infer().total_params == 3 * (3 * 3 * 16 * 16 + 16) + 3 * 48 + 64
    assert model.count_params() == net.infer().total_params


def test_bn_settings_after_a_conv_configure_the_batch_norm_it_adds() -> None:
    net, model = figures(
        "input 8x8x16\ndefaults:\n  batchnorm: epsilon 1.001e-5\n"
        "a: conv3-16 BN scale off\nb: conv3-16 batchnorm center off, epsilon 1e-5, momentum 0.9\n"
        "c: conv dw 3x3 BN scale off, center off\nflatten\nd: FC-10 BN scale off\n"
    )
    # each conv 3·3·16·16 + 16 = 2,320; the depthwise 3·3·16 + 16 = 160; the FC 1024·10 + 10
    assert [node(net, n)[1].params for n in ("a", "b", "c", "d")] == [2320, 2320, 160, 10250]
    # BN: γ, β (trainable, where on) and the moving mean and variance: scale off 3C, both off 2C
    assert [node(net, f"{n}_bn")[1].params for n in ("a", "b", "c", "d")] == [3 * 16, 3 * 16, 2 * 16, 3 * 10]
    assert [node(net, f"{n}_bn")[1].trainable for n in ("a", "b", "c", "d")] == [16, 16, 0, 10]
    a, b = (model.get_layer(f"{n}_bn").get_config() for n in ("a", "b"))
    assert (a["scale"], a["center"], a["epsilon"]) == (False, True, 1.001e-5)  # ε from `defaults: batchnorm:`
    assert (b["scale"], b["center"], b["epsilon"], b["momentum"]) == (True, False, 1e-5, 0.9)  # stated wins
    assert net.infer().total_params == 2 * 2320 + 160 + 10250 + 3 * 16 + 3 * 16 + 2 * 16 + 3 * 10


def test_bn_settings_on_a_conv_with_batchnorm_from_defaults() -> None:
    text = "input 8x8x16\ndefaults:\n  conv: batchnorm\n  batchnorm: scale off\nconv3-16 scale on\nconv3-16\n"
    net, _ = figures(text)
    # the first BN states γ back on (4·16), the second takes `scale off` from the defaults (3·16)
    assert [node(net, n)[1].params for n in ("conv1_bn", "conv2_bn")] == [4 * 16, 3 * 16]


def test_bn_settings_on_a_brackets_conv_configure_its_batch_norm() -> None:
    net, _ = figures("input 8x8x16\n[3×3, 16 BN scale off; 3×3, 16 center off, momentum 0.9]\n")
    first, second = (node(net, f"stage1_block1_{j}_bn") for j in (1, 2))
    assert (first[1].params, second[1].params) == (3 * 16, 3 * 16)
    assert isinstance(second[0], ir.BatchNorm) and (second[0].center, second[0].momentum) == (False, 0.9)
    # two 3·3·16·16 + 16 convs and BNs of 3·16 each; the shortcut is the identity
    assert net.infer().total_params == 2 * (3 * 3 * 16 * 16 + 16) + 2 * 3 * 16


def test_batchnorm_torch_convention_counts_only_what_is_learnt() -> None:
    net = papernet.parse("input 8x8x16\nBN scale off\nBN\n", "bn.pn")
    torch = net.infer("torch")
    assert [layer.params for layer in torch.layers[1:]] == [16, 32]
    assert [layer.trainable for layer in torch.layers[1:]] == [16, 32]


# ---- diagnostics of the new layers (golden files: tests/golden/layers/) -------------------------------

DIAGNOSTICS = {
    "bn_epsilon_out_of_range": ("input 8x8x3\nBN epsilon 2\n", "P102"),
    "bn_option_on_pool": ("input 8x8x3\nmaxpool scale off\n", "P105"),
    "deconv_padding_keras_lacks": ("input 8x8x3\ndeconv 3x3/2, 8 pad 2\n", "P105"),
    "deconv_without_filters": ("input 8x8x3\nup-conv 2x2\n", "P103"),
    "crop_without_size_outside_concat": ("input 8x8x3\ncrop\n", "P130"),
    "crop_leaves_nothing": ("input 8x8x3\ncrop 4\n", "P220"),
    "crop_skip_smaller_than_partner": ("input 8x8x3\ns: conv3-4 padding valid\nconcat(crop @s | upsample 2)\n", "P220"),
    "se_ratio_above_one": ("input 8x8x3\nconv1-8\nse 1.5\n", "P102"),
    "se_width_with_of": ("input 8x8x16\nconv1-16\nse 4 of 16\n", "P105"),
    "se_on_a_vector": ("input 8\nse 0.25\n", "P131"),
    "rescale_by_zero": ("input 8x8x3\nrescale 1/0\n", "P102"),
    "bracket_part_activation": ("input 8x8x64\n[3×3, 64 relu6; 3×3, 64]\n", "P105"),
    "bracket_two_strides": ("input 8x8x64\n[3×3/2, 64; 3×3/2, 64]\n", "P123"),
    "bracket_stride_disagrees": ("input 8x8x64\n[1×1, 64; 3×3/2, 64; 1×1, 256] ×2 /4\n", "P123"),
    "drop_path_without_rate": ("input 8x8x3\nconv3-8\ndrop path\n", "P103"),
    "drop_path_rate_above_one": ("input 8x8x3\nconv3-8\nstochastic depth 1.5\n", "P102"),
    "bn_setting_on_a_conv_without_bn": ("input 8x8x3\nconv3-8 scale off\n", "P105"),
    "bn_setting_on_v2_last_conv": (
        "input 8x8x16\ndefaults:\n  residual: preactivation\n[3×3, 16; 3×3, 16 BN scale off]\n",
        "P105",
    ),
    "bracket_stride_with_dilation": ("input 8x8x64\ndefaults:\n  conv: dilation 2\n[3×3, 64; 3×3, 64] ×2 /2\n", "P105"),
}


@pytest.mark.parametrize("name", DIAGNOSTICS)
def test_diagnostic(name: str, run_cli: RunCli, golden: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text, code = DIAGNOSTICS[name]
    monkeypatch.chdir(tmp_path)
    (tmp_path / f"{name}.pn").write_text(text, encoding="utf-8")
    result = run_cli("check", f"{name}.pn")
    assert result.code == 1, result.stderr
    assert f"error[{code}]" in result.stderr
    golden.check(f"layers/{name}.txt", result.stderr)


# ---- separable conv -----------------------------------------------------------------------------


def test_separable_conv_is_one_keras_layer_counted_as_keras_does() -> None:
    net, model = figures(
        "input 19x19x728\nmiddle: separable conv 3×3, 728 bias off, padding same\n"
        "entry: sep conv 3x3, 256, stride 2, padding same\nbiased: sepconv 3x3, 64\n"
    )
    assert type(model.get_layer("middle")).__name__ == "SeparableConv2D"
    # depthwise 3·3·728, pointwise 728·728, no bias
    assert node(net, "middle")[1].params == 3 * 3 * 728 + 728 * 728
    assert node(net, "entry")[1].shape == (10, 10, 256)
    assert node(net, "entry")[1].params == 3 * 3 * 728 + 728 * 256 + 256
    assert node(net, "biased")[1].shape == (10, 10, 64)  # unstated padding is assumed `same`


def test_separable_conv_takes_conv_defaults_and_fuses_its_activation() -> None:
    net, _ = figures("input 16x16x8\ndefaults:\n  conv: batchnorm, bias off, padding same\nsep conv 3x3, 16, relu\n")
    kinds = [ir.kind_of(n) for n in net.graph.nodes]
    assert kinds == ["input", "sepconv", "batchnorm", "activation"]
    assert net.infer().layers[1].params == 3 * 3 * 8 + 8 * 16


# ---- activations ----------------------------------------------------------------------------------


def test_relu6_is_kerass_relu_layer_and_swish_is_silu() -> None:
    net, model = figures(
        "input 8x8x4\nconv3-8 padding same\nBN\nclip: relu6\nsw: swish\nsi: silu\nhs: hard swish\nhg: hard sigmoid\n"
    )
    clip = model.get_layer("clip")
    assert type(clip).__name__ == "ReLU" and float(clip.get_config()["max_value"]) == 6.0
    names = {n.name: n.activation.name for n in net.graph.nodes if isinstance(n, ir.ActivationLayer)}
    assert names == {"clip": "relu6", "sw": "silu", "si": "silu", "hs": "hard_silu", "hg": "hard_sigmoid"}
    assert model.get_layer("sw").get_config()["activation"] == "silu"


def test_an_activation_word_after_a_conv_is_fused_into_it() -> None:
    net, model = figures("input 8x8x4\nexpand: conv 1x1, 16, relu6\nconv 1x1, 8, swish\n")
    assert model.get_layer("expand").get_config()["activation"] == "relu6"
    assert len(net.graph.nodes) == 3


# ---- residual settings and the options of a bracket's convs -----------------------------------------

RESNET_V2_CONV2 = """\
input 56x56x64
defaults:
  residual: preactivation, stride on last, stride on 3x3, shortcut pool
  batchnorm: epsilon 1.001e-5
conv2: [1×1, 64 bias off; 3×3, 64 bias off; 1×1, 256] ×3 /2
"""


def test_resnet_v2_stage_equals_kerass_conv2_stage() -> None:
    keras = pytest.importorskip("keras")
    reference = keras.applications.ResNet50V2(weights=None)
    stage = [layer for layer in reference.layers if layer.name.startswith("conv2_")]
    expected = sum(layer.count_params() for layer in stage)
    net, model = figures(RESNET_V2_CONV2)
    assert net.infer().total_params == expected
    # the stride sits on the last block's 3×3, and its identity shortcut is a 1×1 max pool
    assert node(net, "conv2_block3_2_conv")[0].strides == (2, 2)  # type: ignore[union-attr]
    assert type(model.get_layer("conv2_block3_0_pool")).__name__ == "MaxPooling2D"
    assert model.get_layer("conv2_block3_add").output.shape == reference.get_layer("conv2_block3_out").output.shape
    for name in ("conv2_block1_0_conv", "conv2_block1_1_conv", "conv2_block3_2_conv", "conv2_block3_3_conv"):
        assert model.get_layer(name).count_params() == reference.get_layer(name).count_params(), name


def test_a_brackets_part_keeps_its_bias_option() -> None:
    net, _ = figures("input 8x8x64\n[1×1, 64 bias off; 3×3, 64]\n")
    # the figure: 1·1·64·64 = 4,096 without the bias (4,160 with it)
    assert node(net, "stage1_block1_1_conv")[1].params == 4096
    assert node(net, "stage1_block1_2_conv")[1].params == 3 * 3 * 64 * 64 + 64


def test_a_stride_on_a_part_places_the_blocks_stride_there() -> None:
    net, _ = figures("input 16x16x64\n[1×1, 64; 3×3/2, 64; 1×1, 256] ×2\n")
    strides = [n.strides for n in net.graph.nodes if isinstance(n, ir.Conv2D) and "_conv" in n.name]
    # block 1: 1×1, 3×3/2, 1×1 and its projection /2; block 2 is not strided
    assert strides[:4] == [(1, 1), (2, 2), (1, 1), (2, 2)]
    assert set(strides[4:]) == {(1, 1)}
    assert net.infer().layers[-1].shape == (8, 8, 256)


def test_a_parts_groups_and_dilation_apply() -> None:
    net, _ = figures("input 8x8x64\n[1×1, 128; 3×3, 128 groups 32; 1×1, 64 dilation 1]\n")
    assert node(net, "stage1_block1_2_conv")[1].params == 3 * 3 * 4 * 128 + 128  # 32 groups of 4 channels


def test_a_parts_pad_and_floor_apply_as_on_a_plain_conv() -> None:
    # Keras's ResNetV2 strided 3×3: ZeroPadding2D(1), then a valid conv with stride 2
    net, model = figures("input 8x8x16\n[1×1, 16; 3×3/2, 16, pad 1, floor; 1×1, 16] ×2\n")
    conv, info = node(net, "stage1_block1_2_conv")
    assert isinstance(conv, ir.Conv2D)
    assert (conv.padding, conv.rounding, conv.strides) == (((1, 1), (1, 1)), "floor", (2, 2))
    assert info.shape == (4, 4, 16)  # ⌊(8 + 2·1 − 3)/2⌋ + 1 = ⌊4.5⌋ = 4; `same` would pad (0, 1)
    assert model.get_layer("stage1_block1_2_conv").get_config()["padding"] == "valid"
    assert model.get_layer("stage1_block1_2_conv_pad").get_config()["padding"] == ((1, 1), (1, 1))
    # the unstrided block keeps 4×4: (4 + 2 − 3)/1 + 1 = 4, exact
    assert node(net, "stage1_block2_2_conv")[1].shape == (4, 4, 16)


def test_a_conv_activation_default_reaches_the_non_linearities_a_bracket_adds() -> None:
    # `conv: swish` is every conv's activation, the bracket's convs included: its ReLU after the
    # first conv and after the add become swish (Keras's silu), not ReLU
    net, model = figures("input 8x8x16\ndefaults:\n  conv: swish\n[3×3, 16; 3×3, 16]\n")
    activations = [n.activation.name for n in net.graph.nodes if isinstance(n, ir.ActivationLayer)]
    assert activations == ["silu", "silu"]
    assert {type(layer).__name__ for layer in model.layers} >= {"Activation"}
    assert model.get_layer("stage1_block1_out").get_config()["activation"] == "silu"
    # `activation linear` (import-keras's default line) is the convs' own; the bracket keeps its ReLU
    linear = papernet.parse("input 8x8x16\ndefaults:\n  conv: activation linear\n[3×3, 16; 3×3, 16]\n")
    assert [n.activation.name for n in linear.graph.nodes if isinstance(n, ir.ActivationLayer)] == ["relu", "relu"]


def test_a_brackets_assumed_shortcut_is_reported_on_its_add() -> None:
    rows = {row.name: row for row in papernet.parse("input 8x8x16\n[3×3, 16; 3×3, 16]\n").summary().rows}
    assert "shortcut B" in rows["stage1_block1_add"].assumed
    assert not any("None" in value for row in rows.values() for value in row.assumed)


def test_conv_defaults_reach_the_convs_a_bracket_makes() -> None:
    text = "input 8x8x16\ndefaults:\n  conv: pad 1, floor, bias off\n[3×3/2, 16; 3×3, 16]\n"
    net, _ = figures(text)
    convs = [n for n in net.graph.nodes if isinstance(n, ir.Conv2D) and n.name.endswith(("_1_conv", "_2_conv"))]
    assert [(c.padding, c.rounding, c.use_bias) for c in convs] == [(((1, 1), (1, 1)), "floor", False)] * 2
    # ⌊(8 + 2 − 3)/2⌋ + 1 = 4, then (4 + 2 − 3) + 1 = 4; two 3·3·16·16 convs without bias,
    # four BNs of 4·16 (two in the block, one on the projection) and a 1×1/2 projection 16·16
    assert net.infer().layers[-1].shape == (4, 4, 16)
    assert net.infer().total_params == 2 * 3 * 3 * 16 * 16 + 3 * 4 * 16 + 16 * 16
    # the part's own setting wins over the default
    net = papernet.parse(text.replace("[3×3/2, 16;", "[3×3/2, 16 bias on, padding same;"), "d.pn")
    first = next(n for n in net.graph.nodes if n.name == "stage1_block1_1_conv")
    assert isinstance(first, ir.Conv2D) and (first.padding, first.use_bias) == ("same", True)


def test_without_floor_a_strided_bracket_conv_is_the_rounding_error() -> None:
    net = papernet.parse("input 8x8x16\n[3×3/2, 16, pad 1; 3×3, 16]\n", "r.pn")
    assert [d.code for d in net.errors()] == ["P201"]


# ---- stochastic depth ---------------------------------------------------------------------------


def test_drop_path_is_a_per_sample_dropout_with_no_parameters() -> None:
    net, model = figures("input 8x8x16\nadd(conv3-16 -> drop path 0.2 | identity)\nflatten\ndrop-path 0.1\n")
    branch, info = node(net, "drop_path1")
    assert isinstance(branch, ir.DropPath) and branch.rate == 0.2
    assert (info.shape, info.params) == ((8, 8, 16), 0)
    assert ir.describe(branch) == "drop path 0.2"
    # Keras's EfficientNet: Dropout(rate, noise_shape=(None, 1, 1, 1)), one draw per sample
    config = model.get_layer("drop_path1").get_config()
    assert type(model.get_layer("drop_path1")).__name__ == "Dropout"
    assert (config["rate"], tuple(config["noise_shape"])) == (0.2, (None, 1, 1, 1))
    assert tuple(model.get_layer("drop_path2").get_config()["noise_shape"]) == (None, 1)  # on a vector
    # the add reads the dropped branch and the identity
    add = model.get_layer("add1")
    assert {t._keras_history.operation.name for t in add._inbound_nodes[0].input_tensors} == {"drop_path1", "input"}


def test_drop_path_rate_in_a_block_is_an_expression_of_its_parameters() -> None:
    text = (
        "block mb(c, b):\n  add(conv 1×1, c -> stochastic depth 0.2*b/16 | identity)\n"
        "input 8x8x16\nmb(16, 7), mb(16, 8)\n"
    )
    net, _ = figures(text)
    rates = [n.rate for n in net.graph.nodes if isinstance(n, ir.DropPath)]
    assert rates == [7 / 80, 0.1]  # 0.2·7/16 = 1.4/16 = 0.0875; 0.2·8/16 = 0.1
    source = net.to_source()
    assert "noise_shape=(None, 1, 1, 1)" in source
    compile(source, "mb.py", "exec")


# ---- transposed convs and upsampling -------------------------------------------------------------


def test_transposed_convs_in_every_spelling_are_conv2d_transpose() -> None:
    net, model = figures(
        "input 28x28x1024\nu: up-conv 2×2, 512\nd: deconv 4x4/2, 256\nt: conv transpose 3x3/2, 64 padding valid\n"
        "p: transposed conv 4x4/2, 32 pad 1\n"
    )
    assert {type(model.get_layer(n)).__name__ for n in "udtp"} == {"Conv2DTranspose"}
    # output: same W·S; valid W·S + max(F − S, 0); params F·F·C·K + K
    assert node(net, "u")[1].shape == (56, 56, 512)
    assert node(net, "u")[1].params == 2 * 2 * 1024 * 512 + 512
    assert node(net, "d")[1].shape == (112, 112, 256)
    assert node(net, "t")[1].shape == (224 + 1, 224 + 1, 64)
    assert node(net, "p")[1].shape == (450, 450, 32)  # pad 1 with 4×4/2 is `same`
    assert node(net, "p")[1].params == 4 * 4 * 64 * 32 + 32


def test_upsampling_is_upsampling2d() -> None:
    net, model = figures("input 7x7x8\na: upsample 2\nb: upsampling 2×2 bilinear\nc: upsampling 2x2 nearest\n")
    assert node(net, "c")[1].shape == (56, 56, 8)
    assert model.get_layer("b").get_config()["interpolation"] == "bilinear"
    assert net.infer().total_params == 0


# ---- crop, and U-Net's copy and crop --------------------------------------------------------------


def test_crop_takes_one_two_or_four_sizes() -> None:
    net, model = figures("input 64x64x8\na: crop 4\nb: crop 2x3\nc: cropping 1x2x3x4\n")
    assert [node(net, n)[1].shape for n in "abc"] == [(56, 56, 8), (52, 50, 8), (49, 43, 8)]
    assert type(model.get_layer("a")).__name__ == "Cropping2D"


UNET_LEVEL = """\
input 68x68x256
conv3-512 padding valid
conv4: conv3-512 padding valid
pool4: maxpool
conv3-1024 padding valid, conv3-1024 padding valid
up-conv 2×2, 512
"""


def test_copy_and_crop_crops_the_skip_to_its_partner() -> None:
    # U-Net Fig. 1, the lowest level: 64×64 is cropped to the up-conv's 56×56 before the concat
    text = UNET_LEVEL.replace("up-conv 2×2, 512\n", "concat(crop @conv4 | up-conv 2×2, 512) -> 56x56x1024\n")
    net, model = figures(text)
    crop = next(n for n in net.graph.nodes if isinstance(n, ir.Crop2D))
    assert model.get_layer(crop.name).get_config()["cropping"] == ((4, 4), (4, 4))  # (64 − 56)/2
    assert net.infer().layers[-1].shape == (56, 56, 1024)
    assert not net.check()
    # the concat keeps the figure's order: the skip's channels first
    concat = net.graph.nodes[-1]
    assert concat.inputs[0] == net.graph.nodes.index(crop)


def test_copy_and_crop_also_reads_as_a_crop_at_the_end_of_the_branch() -> None:
    text = UNET_LEVEL.replace("up-conv 2×2, 512\n", "concat(@conv4 -> crop | up-conv 2×2, 512)\n")
    net, _ = figures(text)
    assert net.infer().layers[-1].shape == (56, 56, 1024)


def test_without_crop_the_size_mismatch_is_the_concat_error() -> None:
    net = papernet.parse(UNET_LEVEL.replace("up-conv 2×2, 512\n", "concat(@conv4 | up-conv 2×2, 512)\n"), "u.pn")
    assert [d.code for d in net.errors()] == ["P210"]


# ---- squeeze-and-excitation ------------------------------------------------------------------------


def test_se_counts_as_kerass_efficientnet_block() -> None:
    keras = pytest.importorskip("keras")
    # EfficientNet-B0's block2a: 16 input filters, expanded 6× to 96, SE squeezes 16·0.25 = 4
    text = "input 112x112x96\nse: se 0.25 of 16 swish\n"
    net, model = figures(text)
    reference = keras.applications.EfficientNetB0(weights=None)
    for suffix in ("reduce", "expand"):
        assert (
            model.get_layer(f"se_{suffix}").count_params() == reference.get_layer(f"block2a_se_{suffix}").count_params()
        )
    # 96·4 + 4, then 4·96 + 96
    assert net.infer().total_params == 96 * 4 + 4 + 4 * 96 + 96
    assert model.get_layer("se_reduce").get_config()["activation"] == "silu"
    assert tuple(model.get_layer("se").output.shape) == (None, 112, 112, 96)


def test_se_ratio_of_its_own_input_and_an_explicit_width() -> None:
    net, model = figures("input 8x8x64\nconv 1x1, 64 padding same\na: se 0.25\nb: se 8 relu\n")
    assert node(net, "a_reduce")[0].filters == 16  # type: ignore[union-attr]
    assert node(net, "b_reduce")[0].filters == 8  # type: ignore[union-attr]
    assert node(net, "a_reduce")[0].activation.name == "relu"  # type: ignore[union-attr]
    assert type(model.get_layer("a")).__name__ == "Multiply"


def test_a_block_parameter_in_se_is_a_ratio_or_a_width_by_its_value() -> None:
    text = "block b(r, w):\n  se r\n  se w\n  se 0.5 of w\ninput 8x8x16\nconv 1x1, 16\nb(0.25, 4)\nb(1, 2)\n"
    net, _ = figures(text)
    widths = [n.filters for n in net.graph.nodes if isinstance(n, ir.Conv2D) and n.name.endswith("_reduce")]
    # b(0.25, 4): int(16·0.25) = 4, width 4, int(4·0.5) = 2; b(1, 2): `se 1` is a width of 1, width 2, int(2·0.5) = 1
    assert widths == [4, 4, 2, 1, 2, 1]


def test_an_se_blocks_assumed_activation_is_reported_on_its_reduce_conv() -> None:
    # the assumed ReLU is the reduce conv's; the multiply has no activation to assume
    rows = {row.name: row for row in papernet.parse("input 8x8x64\nse 0.25\n").summary().rows}
    assert "activation relu" in rows["se1_reduce"].assumed
    assert not any("activation" in value for value in rows["se1"].assumed)


# ---- rescaling and normalisation ------------------------------------------------------------------


def test_rescale_and_normalize_as_efficientnets_stem() -> None:
    keras = pytest.importorskip("keras")
    net, model = figures("input 224x224x3\nr: rescale 1/255\nn: normalize\nm: rescale 1/127.5 offset -1\n")
    assert model.get_layer("r").get_config()["scale"] == pytest.approx(1 / 255)
    assert model.get_layer("m").get_config()["offset"] == -1.0
    # mean and variance per channel and the sample count, none of them trained: 2·3 + 1
    assert (node(net, "n")[1].params, node(net, "n")[1].trainable) == (7, 0)
    reference = keras.applications.EfficientNetB0(weights=None)
    stem = [layer for layer in reference.layers if type(layer).__name__ == "Normalization"]
    assert stem[0].count_params() == node(net, "n")[1].params
    assert net.infer("torch").layers[2].params == 0


# ---- a convolutional regression head ---------------------------------------------------------------

VGG11_CONVS = 1792 + 73_856 + 295_168 + 590_080 + 1_180_160 + 3 * 2_359_808
"""VGG-11's eight convs, 3·3·C·K + K each (Table 1, column A)."""


def test_conv_head_turns_the_fcs_into_1x1_convs_and_upsamples() -> None:
    net = papernet.load("vgg11").adapt(input=(224, 224, 3), regression=(224, 224, 1), head="conv")
    inference = net.infer()
    # FC-4096 on 7×7×512 becomes a 1×1 conv 512 → 4096, FC-4096 a 1×1 conv 4096 → 4096, the head 4096 → 1
    expected = VGG11_CONVS + (512 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 + 1)
    assert inference.total_params == expected
    assert inference.layers[-1].shape == (224, 224, 1)
    upsample = net.graph.nodes[-1]
    assert isinstance(upsample, ir.UpSample2D) and upsample.size == (32, 32)
    model = keras_agrees(net)
    assert tuple(model.output.shape) == (None, 224, 224, 1)
    # the dense head: FC-50176 on FC-4096, and the first FC on the flattened 7·7·512
    dense_total = VGG11_CONVS + (25_088 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 50_176 + 50_176)
    note = next(d for d in net.diagnostics if d.code == "P134")
    assert f"{expected:,}" in note.message and f"{dense_total:,}" in note.message
    assert f"{dense_total - expected:,} fewer" in note.message


def test_a_spec_can_ask_for_the_conv_head(tmp_path: Path) -> None:
    spec = tmp_path / "vgg11_conv_head.pn"
    spec.write_text("from vgg11\ninput 224x224x3\nregression 224x224x1 head conv\n", encoding="utf-8")
    net = papernet.load(str(spec))
    assert net.infer().layers[-1].shape == (224, 224, 1)
    assert isinstance(net.graph.nodes[-1], ir.UpSample2D)
    assert "regression 224x224x1 head conv" in net.sources[str(spec)]


def test_the_dense_head_stays_the_default(run_cli: RunCli) -> None:
    dense = papernet.load("vgg11").adapt(regression=(224, 224, 1))
    assert isinstance(dense.graph.nodes[-1], ir.Reshape)
    result = run_cli("summary", "vgg11", "--head", "conv")
    assert result.code == 2 and "--regression" in result.stderr


CLI_DIAGNOSTICS = {
    "conv_head_size_not_a_multiple": (("check", "vgg11", "--regression", "225x225x1", "--head", "conv"), "P133"),
    "conv_head_vector_target": (("check", "vgg11", "--regression", "10", "--head", "conv"), "P132"),
    "conv_head_summary_note": (("summary", "vgg11", "--regression", "224x224x1", "--head", "conv"), "P134"),
}


@pytest.mark.parametrize("name", CLI_DIAGNOSTICS)
def test_conv_head_diagnostic(name: str, run_cli: RunCli, golden: Any) -> None:
    args, code = CLI_DIAGNOSTICS[name]
    result = run_cli(*args)
    assert f"[{code}]" in result.stderr
    assert result.code == (0 if code == "P134" else 1)
    golden.check(f"layers/{name}.txt", result.stderr)


# ---- every new layer in one spec: the generated source -------------------------------------------

MODERN = Path(__file__).parent / "layers" / "modern_layers.pn"


def test_generated_source_for_every_new_layer_builds_the_live_model(golden: Any) -> None:
    pytest.importorskip("keras")
    net = papernet.parse(MODERN.read_text(encoding="utf-8"), "modern_layers.pn")
    assert not net.errors()
    source = net.to_source()
    golden.check("layers/modern_layers.py", source)
    namespace: dict[str, Any] = {"__name__": "papernet_generated"}
    exec(compile(source, "modern_layers.py", "exec"), namespace)
    from_source = namespace["build_modern_layers"]()
    live = keras_agrees(net)
    assert from_source.count_params() == live.count_params() == net.infer().total_params
    described = [(layer.name, type(layer).__name__, layer.count_params()) for layer in from_source.layers]
    assert described == [(layer.name, type(layer).__name__, layer.count_params()) for layer in live.layers]
    kinds = {type(layer).__name__ for layer in live.layers}
    expected = {"Rescaling", "Normalization", "SeparableConv2D", "ReLU", "Multiply", "Conv2DTranspose", "Dropout"}
    assert expected | {"Cropping2D", "UpSampling2D", "MaxPooling2D"} <= kinds


# ---- the notation, as NOTATION.md and the README print it ------------------------------------------

SPELLINGS = [
    ("separable conv 3×3, 728", "sepconv"),
    ("sep conv 3x3, 728", "sepconv"),
    ("SeparableConv2D 3x3, 728 stride 2", "sepconv"),
    ("BN scale off", "batchnorm"),
    ("batch norm center off", "batchnorm"),
    ("BN epsilon 1.001e-5", "batchnorm"),
    ("BN momentum 0.99", "batchnorm"),
    ("up-conv 2×2, 512", "deconv"),
    ("upconv 2x2, 512", "deconv"),
    ("deconv 4x4/2, 256", "deconv"),
    ("deconvolution 4x4/2, 256", "deconv"),
    ("conv transpose 3x3/2, 64", "deconv"),
    ("Conv2DTranspose 3x3/2, 64", "deconv"),
    ("transposed conv 3x3/2, 64", "deconv"),
    ("upsample 2", "upsample"),
    ("upsampling 2×2 bilinear", "upsample"),
    ("UpSampling2D 2x2 nearest", "upsample"),
    ("crop 4", "crop"),
    ("cropping 2x2", "crop"),
    ("relu6", "activation"),
    ("swish", "activation"),
    ("silu", "activation"),
    ("hard swish", "activation"),
    ("hard sigmoid", "activation"),
    ("se 0.25", "multiply"),
    ("squeeze-and-excitation 0.25 relu", "multiply"),
    ("rescale 1/255", "rescale"),
    ("Rescaling 0.5", "rescale"),
    ("normalize", "normalize"),
    ("normalization", "normalize"),
    ("drop path 0.2", "drop_path"),
    ("drop-path 0.2", "drop_path"),
    ("DropPath 20%", "drop_path"),
    ("stochastic depth 0.2", "drop_path"),
]


@pytest.mark.parametrize(("line", "kind"), SPELLINGS)
def test_each_spelling_parses_to_the_layer_it_names(line: str, kind: str) -> None:
    net = papernet.parse(f"input 64x64x728\nconv 1x1, 728\nBN\n{line}\n", "spelling.pn")
    assert not net.errors(), net.errors()
    assert ir.kind_of(net.graph.nodes[-1]) == kind


def test_bn_and_residual_settings_parse_as_defaults() -> None:
    net = papernet.parse(
        "input 8x8x16\ndefaults:\n  batch norm: scale off, center off, epsilon 1e-5, momentum 0.9\n"
        "  residual: stride on last, shortcut pool, preactivation\nBN\n",
        "defaults.pn",
    )
    assert not net.errors(), net.errors()
    norm = net.graph.nodes[-1]
    assert isinstance(norm, ir.BatchNorm)
    assert (norm.scale, norm.center, norm.epsilon, norm.momentum) == (False, False, 1e-5, 0.9)


def test_a_specs_own_regression_line_takes_the_conv_head() -> None:
    text = "input 32x32x3\nconv3-8\nmaxpool\nFC-64\nFC-10, softmax\nregression 32x32x2 head conv\n"
    net = papernet.parse(text, "own_head.pn")
    assert not net.errors(), net.errors()
    # conv 3·3·3·8 + 8; FC-64 as a 1×1 conv 8 → 64; the head a 1×1 conv 64 → 2; upsampling 16×16 → 32×32
    assert net.infer().total_params == (3 * 3 * 3 * 8 + 8) + (8 * 64 + 64) + (64 * 2 + 2)
    assert net.infer().layers[-1].shape == (32, 32, 2)
    keras_agrees(net)
