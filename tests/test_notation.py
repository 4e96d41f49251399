"""Every form in NOTATION.md parses and means what NOTATION.md says it means.

Meaning is checked through the IR (`net.graph.nodes`, frozen dataclasses from papernet/ir.py,
with `origin()`/`assumed()` saying where each value came from) and through inferred shapes
(`net.infer().layers[i].shape`). Expected values come from NOTATION.md, DESIGN.md, the built-in
defaults papernet documents (stride 1, padding valid, 2×2/2 max pool, relu for hidden layers and
linear for the last FC, dropout 0.5, AlexNet's LRN) and arithmetic done by hand in the comments:
out = (W + 2P − F)/S + 1 for explicit padding, ceil(W/S) for `same`.
"""

from __future__ import annotations

from typing import Any

import pytest

import papernet
from papernet import ir
from papernet.ir import Origin


def parse(text: str) -> papernet.Network:
    net = papernet.parse(text)
    errors = [d for d in net.check() if d.is_error]
    assert not errors, [f"{d.code} {d.message}" for d in errors]
    return net


def layers(text: str) -> list[ir.Node]:
    """The nodes after the input."""
    nodes = list(parse(text).graph.nodes)
    assert isinstance(nodes[0], ir.Input)
    return nodes[1:]


def shapes(text: str) -> list[tuple[int, ...] | None]:
    """Output shapes of the nodes after the input."""
    return [layer.shape for layer in parse(text).infer().layers[1:]]


def only(text: str) -> ir.Node:
    (node,) = layers(text)
    return node


def padding_of(node: ir.Conv2D | ir.Pool2D) -> tuple[tuple[int, int], tuple[int, int]] | str:
    """`valid` is zero padding; anything else as the IR says."""
    return ((0, 0), (0, 0)) if node.padding == "valid" else node.padding


def signature(node: ir.Node) -> tuple[Any, ...]:
    """What a layer means, without where it was written or what it is called."""
    match node:
        case ir.Conv2D():
            return (
                "conv",
                node.filters,
                node.kernel_size,
                node.strides,
                padding_of(node),
                node.dilation,
                node.groups,
                node.use_bias,
                node.activation,
            )
        case ir.Pool2D():
            return ("pool", node.op, node.pool_size, node.strides, padding_of(node))
        case ir.Dense():
            return ("dense", node.units, node.use_bias, node.activation)
        case ir.ActivationLayer():
            return ("activation", node.activation)
        case ir.Dropout():
            return ("dropout", node.rate)
        case ir.Flatten():
            return ("flatten", node.implicit)
        case ir.GlobalPool2D():
            return ("global", node.op)
        case _:
            return (type(node).__name__,)


def signatures(text: str) -> list[tuple[Any, ...]]:
    return [signature(node) for node in layers(text)]


def errors(text: str) -> list[papernet.Diagnostic]:
    """The errors a spec gets, whether parsing refuses it or checking finds them."""
    try:
        network = papernet.parse(text)
    except papernet.SpecError as refused:
        return [d for d in refused.diagnostics if d.is_error]
    return [d for d in network.check() if d.is_error]


RELU = ir.Activation("relu")
LINEAR = ir.Activation("linear")
SOFTMAX = ir.Activation("softmax")


# ---- Header -------------------------------------------------------------------------------------


def test_network_title() -> None:
    assert parse('network "VGG-11"\ninput 224x224x3\nconv3-64\n').name == "VGG-11"


@pytest.mark.parametrize(
    ("line", "shape"),
    [
        ("input 224x224x3", (224, 224, 3)),
        ("input 224×224×3", (224, 224, 3)),
        ("input 224×224 RGB", (224, 224, 3)),
        ("input 224x224 rgb", (224, 224, 3)),
        ("input 224×224 gray", (224, 224, 1)),
        ("input 224×224 grayscale", (224, 224, 1)),
        ("input 28x28", (28, 28, 1)),
        ("input 784", (784,)),
    ],
)
def test_input_shapes(line: str, shape: tuple[int, ...]) -> None:
    net = parse(line + "\n")
    (node,) = net.graph.nodes
    assert isinstance(node, ir.Input)
    assert node.shape == shape
    assert net.infer().layers[0].shape == shape


def test_flat_input_feeds_an_fc_without_a_flatten() -> None:
    # An MLP on MNIST: 784 → 128 → 10; params 784·128 + 128 = 100,480 and 128·10 + 10 = 1,290.
    net = parse("input 784\nFC-128\nFC-10\n")
    assert [type(n) for n in net.graph.nodes] == [ir.Input, ir.Dense, ir.Dense]
    assert [layer.params for layer in net.infer().layers] == [0, 100_480, 1_290]


# ---- VGG, Table 1 ---------------------------------------------------------------------------------


def test_conv3_64() -> None:
    conv = only("input 224x224x3\nconv3-64\n")
    assert isinstance(conv, ir.Conv2D)
    assert (conv.filters, conv.kernel_size, conv.strides) == (64, (3, 3), (1, 1))
    # Unstated padding is assumed `same` (VGG §2.1: "1 pixel for 3×3"): (224 + 2·1 − 3)/1 + 1 = 224.
    # Params 3·3·3·64 + 64 = 1,792.
    assert conv.padding == "same" and conv.origin("padding") is Origin.ASSUMED
    net = parse("input 224x224x3\nconv3-64\n")
    assert net.infer().layers[1].shape == (224, 224, 64)
    assert net.infer().layers[1].params == 1_792


def test_conv1_256() -> None:
    conv = only("input 56x56x256\nconv1-256\n")
    assert isinstance(conv, ir.Conv2D)
    assert (conv.filters, conv.kernel_size, conv.strides) == (256, (1, 1), (1, 1))
    assert shapes("input 56x56x256\nconv1-256\n") == [(56, 56, 256)]


def test_vgg_maxpool_is_2x2_stride_2() -> None:
    pool = only("input 224x224x64\nmaxpool\n")
    assert isinstance(pool, ir.Pool2D)
    assert (pool.op, pool.pool_size, pool.strides) == ("max", (2, 2), (2, 2))
    assert shapes("input 224x224x64\nmaxpool\n") == [(112, 112, 64)]


def test_lrn_has_alexnets_constants() -> None:
    lrn = only("input 55x55x96\nLRN\n")
    assert isinstance(lrn, ir.LRN)
    assert (lrn.k, lrn.size, lrn.alpha, lrn.beta) == (2, 5, 1e-4, 0.75)
    assert shapes("input 55x55x96\nLRN\n") == [(55, 55, 96)]


def test_fc_4096() -> None:
    dense = only("input 4096\nFC-4096\n")
    assert isinstance(dense, ir.Dense)
    assert dense.units == 4096


@pytest.mark.parametrize("word", ["soft-max", "softmax", "Softmax", "SOFT-MAX", "soft–max"])
def test_fc_then_softmax_is_one_dense_layer(word: str) -> None:
    for text in (f"input 4096\nFC-1000\n{word}\n", f"input 4096\nFC-1000, {word}\n"):
        (dense,) = layers(text)
        assert isinstance(dense, ir.Dense)
        assert (dense.units, dense.activation) == (1000, SOFTMAX)


def test_hidden_fcs_are_relu_and_the_last_is_linear() -> None:
    fc1, fc2, fc3 = layers("input 25088\nFC-4096\nFC-4096\nFC-1000\n")
    assert isinstance(fc1, ir.Dense) and isinstance(fc2, ir.Dense) and isinstance(fc3, ir.Dense)
    assert (fc1.activation, fc2.activation, fc3.activation) == (RELU, RELU, LINEAR)


def test_conv_feeding_an_fc_gets_an_implicit_flatten() -> None:
    # VGG's classifier on its last 7×7×512 map: 7·7·512 = 25,088 inputs; 25,088·4096 + 4096 params.
    net = parse("input 14x14x512\nmaxpool\nFC-4096\n")
    pool, flatten, dense = net.graph.nodes[1:]
    assert isinstance(pool, ir.Pool2D)
    assert isinstance(flatten, ir.Flatten) and flatten.implicit
    assert isinstance(dense, ir.Dense)
    info = net.infer().layers
    assert [layer.shape for layer in info[1:]] == [(7, 7, 512), (25_088,), (4096,)]
    assert info[3].params == 102_764_544


def test_an_explicit_flatten_is_not_doubled() -> None:
    kinds = [type(n) for n in layers("input 7x7x512\nflatten\nFC-10\n")]
    assert kinds == [ir.Flatten, ir.Dense]


def test_vgg16_table_gives_the_papers_parameter_count() -> None:
    # VGG-16 (configuration D) has 138,357,544 parameters (DESIGN.md; the paper's "138M").
    text = """\
input 224×224 RGB
defaults:
  conv: stride 1, padding same
  maxpool: 2x2, stride 2
conv3-64 x2
maxpool
conv3-128 x2
maxpool
conv3-256 x3
maxpool
conv3-512 x3
maxpool
conv3-512 x3
maxpool
FC-4096
FC-4096
FC-1000
soft-max
"""
    net = parse(text)
    info = net.infer()
    assert info.total_params == 138_357_544
    assert info.layers[-1].shape == (1000,)
    convs = [n for n in net.graph.nodes if isinstance(n, ir.Conv2D)]
    assert len(convs) == 13


# ---- Stride, padding, window sizes ---------------------------------------------------------------

ALEXNET_CONV1 = ("conv", 96, (11, 11), (4, 4), ((0, 0), (0, 0)), (1, 1), 1, True, RELU)
ALEXNET_ERA = "defaults:\n  conv: padding valid\n  maxpool: padding valid\n"
"""AlexNet-era tables pad nothing they do not print."""


@pytest.mark.parametrize(
    "line",
    [
        "conv11-96/4",
        "conv 11x11/4, 96",
        "conv 11×11/4, 96",
        "96 11x11 filters at stride 4, pad 0",
        "96 11×11 filters at stride 4, pad 0",
        "conv11-96 stride 4",
        "CONV11-96/4",
        "conv11–96/4",
    ],
)
def test_alexnet_conv1_spellings_are_one_layer(line: str) -> None:
    text = f"input 227x227x3\n{ALEXNET_ERA}{line}\n"
    assert signatures(text) == [ALEXNET_CONV1]
    # (227 + 2·0 − 11)/4 + 1 = 55; params 11·11·3·96 + 96 = 34,944.
    net = parse(text)
    assert net.infer().layers[1].shape == (55, 55, 96)
    assert net.infer().layers[1].params == 34_944


@pytest.mark.parametrize(
    ("spelling", "written"),
    [
        ("max pool /2", "maxpool 2x2/2"),  # the stride without the comma ResNet's Fig. 3 puts before it
        ("maxpool/2", "maxpool 2x2/2"),
        ("maxpool 3x3 /2", "maxpool 3x3/2"),
        ("conv 1x1, 64 /2", "conv 1x1/2, 64"),
        ("conv 3x3 /2, 64", "conv 3x3/2, 64"),
        ("3x3 conv, 64 /2", "3x3 conv, 64, /2"),
        ("conv3-64 /2", "conv3-64/2"),
    ],
)
def test_a_slash_stride_needs_no_comma(spelling: str, written: str) -> None:
    text = "input 32x32x3\n{}\n"
    assert signatures(text.format(spelling)) == signatures(text.format(written))
    assert shapes(text.format(spelling))[-1][:2] == (16, 16)  # (32 + 2P - F) / 2 + 1 with same padding: 16


@pytest.mark.parametrize(
    ("line", "column", "first", "second"),
    [
        ("conv 3x3/2, 64, /1", 17, "2 (column 10)", "1"),
        ("pool, /2, /3", 11, "2 (column 7)", "3"),
        ("maxpool /2 /3", 12, "2 (column 9)", "3"),
        ("conv 3x3, 64, filters 128", 15, "64", "128"),
        ("conv 3x3, 64, pad 0, pad 1", 22, "0", "1"),
    ],
)
def test_a_setting_stated_twice_differently_is_an_error(line: str, column: int, first: str, second: str) -> None:
    # the last one silently winning would build a network the table does not describe
    (problem,) = errors(f"input 32x32x3\n{line}\n")
    assert problem.code == "P127" and problem.span is not None
    assert (problem.span.line, problem.span.column) == (2, column)
    assert f"as {first}" in problem.message and problem.message.endswith(f"as {second}")


@pytest.mark.parametrize("line", ["conv 3x3/2, 64, stride 2", "pool, /2, /2", "conv 3x3, 64, same, padding same"])
def test_a_setting_stated_twice_alike_only_repeats_it(line: str) -> None:
    assert errors(f"input 32x32x3\n{line}\n") == []


def test_patch_size_stride_form_with_padding() -> None:
    conv = only("input 225x225x3\nconv 7×7/2, 64 pad 3\n")
    assert isinstance(conv, ir.Conv2D)
    assert (conv.filters, conv.kernel_size, conv.strides) == (64, (7, 7), (2, 2))
    assert conv.padding == ((3, 3), (3, 3))
    # (225 + 2·3 − 7)/2 + 1 = 113
    assert shapes("input 225x225x3\nconv 7×7/2, 64 pad 3\n") == [(113, 113, 64)]


@pytest.mark.parametrize(
    ("option", "padding", "size"),
    [
        ("pad 1", ((1, 1), (1, 1)), 224),  # (224 + 2 − 3)/1 + 1 = 224
        ("padding 1", ((1, 1), (1, 1)), 224),
        ("padding same", "same", 224),  # ceil(224/1)
        ("padding valid", "valid", 222),  # (224 − 3)/1 + 1
        ("pad 0", ((0, 0), (0, 0)), 222),
    ],
)
def test_explicit_padding(option: str, padding: object, size: int) -> None:
    text = f"input 224x224x3\nconv3-64 {option}\n"
    conv = only(text)
    assert isinstance(conv, ir.Conv2D)
    assert conv.padding == padding
    assert conv.origin("padding") is Origin.STATED
    assert shapes(text) == [(size, size, 64)]


def test_same_padding_with_stride_is_ceil() -> None:
    # ceil(224/2) = 112, ceil(7/2) = 4
    assert shapes("input 224x224x3\nconv3-8/2 padding same\n") == [(112, 112, 8)]
    assert shapes("input 7x7x3\nconv3-8/2 padding same\n") == [(4, 4, 8)]


def test_non_square_kernel() -> None:
    conv = only("input 17x17x768\nconv 1x7, 128\n")
    assert isinstance(conv, ir.Conv2D)
    assert (conv.kernel_size, conv.filters) == ((1, 7), 128)
    # assumed `same` keeps 17×17 (Inception v3's 1×7 convs); valid: height (17 − 1)/1 + 1 = 17,
    # width (17 − 7)/1 + 1 = 11
    assert shapes("input 17x17x768\nconv 1x7, 128\n") == [(17, 17, 128)]
    assert shapes("input 17x17x768\nconv 1x7, 128 padding valid\n") == [(17, 11, 128)]


def test_dilation() -> None:
    conv = only("input 224x224x3\nconv3-64 dilation 2\n")
    assert isinstance(conv, ir.Conv2D)
    assert conv.dilation == (2, 2)
    # effective kernel 2·(3 − 1) + 1 = 5: valid (224 − 5)/1 + 1 = 220; same keeps 224
    assert shapes("input 224x224x3\nconv3-64 dilation 2 padding valid\n") == [(220, 220, 64)]
    assert shapes("input 224x224x3\nconv3-64 dilation 2\n") == [(224, 224, 64)]


@pytest.mark.parametrize("line", ["maxpool 3x3/2", "max pool 3×3, stride 2", "3×3 max pool, stride 2", "MaxPool 3x3/2"])
def test_overlapping_max_pool_spellings(line: str) -> None:
    text = f"input 55x55x96\n{ALEXNET_ERA}{line}\n"
    pool = only(text)
    assert isinstance(pool, ir.Pool2D)
    assert (pool.op, pool.pool_size, pool.strides) == ("max", (3, 3), (2, 2))
    assert pool.origin("pool_size") is Origin.STATED and pool.origin("strides") is Origin.STATED
    # (55 − 3)/2 + 1 = 27, AlexNet's pool1; with the padding assumed `same`, ⌈55/2⌉ = 28
    assert shapes(text) == [(27, 27, 96)]
    assert shapes(f"input 55x55x96\n{line}\n") == [(28, 28, 96)]


def test_avgpool_window_and_stride() -> None:
    pool = only("input 7x7x512\navgpool 7x7/1\n")
    assert isinstance(pool, ir.Pool2D)
    assert (pool.op, pool.pool_size, pool.strides) == ("avg", (7, 7), (1, 1))
    assert shapes("input 7x7x512\navgpool 7x7/1\n") == [(1, 1, 512)]


@pytest.mark.parametrize("line", ["global avgpool", "global average pool", "Global Average Pool", "GAP", "gap"])
def test_global_average_pool(line: str) -> None:
    pool = only(f"input 7x7x2048\n{line}\n")
    assert isinstance(pool, ir.GlobalPool2D)
    assert pool.op == "avg"
    assert shapes(f"input 7x7x2048\n{line}\n") == [(2048,)]


@pytest.mark.parametrize(("line", "amount"), [("zeropad 3", 3), ("pad 1", 1)])
def test_zero_padding_layer(line: str, amount: int) -> None:
    pad = only(f"input 224x224x3\n{line}\n")
    assert isinstance(pad, ir.ZeroPad2D)
    assert pad.padding == ((amount, amount), (amount, amount))
    size = 224 + 2 * amount
    assert shapes(f"input 224x224x3\n{line}\n") == [(size, size, 3)]


def test_grouped_conv() -> None:
    # AlexNet's conv2 in two groups: 5·5·(96/2)·256 + 256 = 307,456 params.
    net = parse("input 27x27x96\nconv5-256 groups 2 pad 2\n")
    conv = net.graph.nodes[1]
    assert isinstance(conv, ir.Conv2D)
    assert conv.groups == 2
    assert net.infer().layers[1].shape == (27, 27, 256)
    assert net.infer().layers[1].params == 307_456


# ---- cs231n patterns ------------------------------------------------------------------------------

CS231N = """\
input 32x32x3
defaults:
  conv: 3x3, filters 16, padding same
  pool: 2x2, stride 2
  fc: units 100
INPUT -> [[CONV -> RELU]*2 -> POOL]*3 -> [FC -> RELU]*2 -> FC
"""


def test_cs231n_pattern_with_conv3_32_and_no_padding_builds() -> None:
    # cs231n: "CONV layers [...] preserve the input volume spatially". 32 → 16 → 8 → 4, and the
    # FC sees 4·4·32 = 512 values. Params by hand: conv 3·3·3·32+32 = 896, then five
    # 3·3·32·32+32 = 9,248; FC 512·100+100 = 51,300, 100·100+100 = 10,100, 100·10+10 = 1,010.
    text = (
        "input 32x32x3\ndefaults:\n  pool: 2x2, stride 2\n  fc: units 100\n"
        "INPUT -> [[conv3-32 -> RELU]*2 -> POOL]*3 -> [FC -> RELU]*2 -> FC-10\n"
    )
    net = parse(text)
    assert not [d for d in net.check() if d.is_error]
    info = net.infer()
    assert [layer.shape for layer in info.layers if layer.shape and len(layer.shape) == 3][-1] == (4, 4, 32)
    assert info.total_params == 896 + 5 * 9_248 + 51_300 + 10_100 + 1_010


def test_cs231n_pattern_with_defaults() -> None:
    net = parse(CS231N)
    nodes = net.graph.nodes
    conv = ("conv", 16, (3, 3), (1, 1), "same", (1, 1), 1, True, RELU)
    pool = ("pool", "max", (2, 2), (2, 2), "same")  # padding assumed; 2×2/2 on even sizes: same as valid
    block = [conv, conv, pool]
    expected = [
        *block * 3,
        ("flatten", True),
        ("dense", 100, True, RELU),
        ("dense", 100, True, RELU),
        ("dense", 100, True, LINEAR),
    ]
    assert [signature(n) for n in nodes[1:]] == expected
    assert sum(isinstance(n, ir.Input) for n in nodes) == 1
    # 32 → 16 → 8 → 4 (each pool halves, `same` convs keep the size); 4·4·16 = 256.
    info = net.infer().layers
    assert info[3].shape == (16, 16, 16)
    assert info[6].shape == (8, 8, 16)
    assert info[9].shape == (4, 4, 16)
    assert info[10].shape == (256,)
    assert info[-1].shape == (100,)
    first_conv = nodes[1]
    assert first_conv.origin("kernel_size") is Origin.DEFAULT
    assert first_conv.origin("filters") is Origin.DEFAULT
    assert nodes[-1].origin("units") is Origin.DEFAULT


def test_cs231n_defaults_in_the_short_form() -> None:
    """`conv: 3x3, 16` and `fc: 100` give the same sizes as the keyword form."""
    short = CS231N.replace("3x3, filters 16", "3x3, 16").replace("units 100", "100")
    assert signatures(short) == signatures(CS231N)


@pytest.mark.parametrize("kind", ["maxpool", "pool"])
def test_bare_pool_takes_the_pool_defaults(kind: str) -> None:
    """A bare POOL is a max pool, so `maxpool:` defaults (NOTATION.md's Defaults block) apply to it too."""
    text = f"input 32x32x3\ndefaults:\n  {kind}: 4x4, stride 4\nPOOL\n"
    pool = only(text)
    assert isinstance(pool, ir.Pool2D)
    assert (pool.op, pool.pool_size, pool.strides) == ("max", (4, 4), (4, 4))
    assert pool.origin("pool_size") is Origin.DEFAULT
    assert shapes(text) == [(8, 8, 3)]  # (32 − 4)/4 + 1 = 8


@pytest.mark.parametrize(("line", "missing"), [("CONV", ("kernel size", "filter count")), ("FC", ("unit count",))])
def test_bare_layer_without_default_says_what_is_missing(line: str, missing: tuple[str, ...]) -> None:
    net = papernet.parse(f"input 32x32x3\n{line}\n")
    (problem,) = [d for d in net.check() if d.is_error]
    assert problem.code == "P103"
    for word in missing:
        assert word in problem.message
    assert problem.span is not None and (problem.span.line, problem.span.column) == (2, 1)


# ---- Activations, normalisation, regularisation, reshaping ----------------------------------------


@pytest.mark.parametrize(
    ("word", "activation"),
    [
        ("relu", RELU),
        ("ReLU", RELU),
        ("leaky relu 0.1", ir.Activation("leaky_relu", 0.1)),
        ("elu", ir.Activation("elu")),
        ("tanh", ir.Activation("tanh")),
        ("sigmoid", ir.Activation("sigmoid")),
        ("gelu", ir.Activation("gelu")),
        ("linear", LINEAR),
        ("softmax", SOFTMAX),
    ],
)
def test_activation_as_its_own_layer(word: str, activation: ir.Activation) -> None:
    # After a pool there is no conv or FC to fuse into: the activation is its own layer.
    _pool, layer = layers(f"input 8x8x4\nmaxpool\n{word}\n")
    assert isinstance(layer, ir.ActivationLayer)
    assert layer.activation == activation
    assert shapes(f"input 8x8x4\nmaxpool\n{word}\n")[1] == (4, 4, 4)


@pytest.mark.parametrize("word", ["tanh", "sigmoid", "elu", "relu"])
def test_activation_after_a_conv_is_the_convs(word: str) -> None:
    (conv,) = layers(f"input 8x8x3\nconv3-4, {word}\n")
    assert isinstance(conv, ir.Conv2D)
    assert conv.activation == ir.Activation(word)
    assert conv.origin("activation") is Origin.STATED


@pytest.mark.parametrize(
    ("spelling", "written"),
    [
        ("LeakyReLU(0.1)", "leaky relu 0.1"),
        ("LeakyReLU(alpha=0.1)", "leaky relu 0.1"),
        ("LeakyReLU(negative_slope=0.1)", "leaky relu 0.1"),
        ("ELU(1.0)", "elu 1.0"),
        ("ReLU()", "relu"),
    ],
)
def test_keras_call_spellings_of_an_activation(spelling: str, written: str) -> None:
    # Keras's own spelling, as tutorials and Darknet ports print it, means what the notation's does
    assert signatures(f"input 8x8x4\nmaxpool\n{spelling}\n") == signatures(f"input 8x8x4\nmaxpool\n{written}\n")
    assert signatures(f"input 8x8x4\nconv 3x3, 8, {spelling}\n") == signatures(f"input 8x8x4\nconv 3x3, 8, {written}\n")


@pytest.mark.parametrize("broken", ["LeakyReLU(0.1", "LeakyReLU(alpha=)", "LeakyReLU(0.1, 0.2)"])
def test_a_broken_keras_call_spelling_is_a_syntax_error(broken: str) -> None:
    (problem,) = errors(f"input 8x8x4\n{broken}\n")
    assert problem.code == "P001" and problem.span is not None and problem.span.line == 2


def test_leaky_relu_after_a_conv_keeps_its_slope() -> None:
    net = parse("input 8x8x3\nconv3-4\nleaky relu 0.1\n")
    activations = [n.activation for n in net.graph.nodes if isinstance(n, ir.Conv2D | ir.ActivationLayer | ir.Dense)]
    # The conv itself must not apply a relu before the leaky relu.
    assert activations[-1] == ir.Activation("leaky_relu", 0.1)
    assert RELU not in activations


@pytest.mark.parametrize("word", ["BN", "batchnorm", "batch norm", "BatchNorm", "batch-norm"])
def test_batch_norm_spellings(word: str) -> None:
    net = parse(f"input 8x8x16\n{word}\n")
    bn = net.graph.nodes[1]
    assert isinstance(bn, ir.BatchNorm)
    # Keras convention: 4C = 64 parameters, of which 2C = 32 (mean and variance) not trainable.
    info = net.infer().layers[1]
    assert (info.shape, info.params, info.trainable) == ((8, 8, 16), 64, 32)


@pytest.mark.parametrize(
    ("line", "rate"),
    [("dropout 0.5", 0.5), ("dropout (40%)", 0.4), ("dropout 40%", 0.4), ("dropout 0.25", 0.25), ("Dropout 0.3", 0.3)],
)
def test_dropout_rates(line: str, rate: float) -> None:
    dropout = only(f"input 4096\n{line}\n")
    assert isinstance(dropout, ir.Dropout)
    assert dropout.rate == pytest.approx(rate)
    assert dropout.origin("rate") is Origin.STATED


def test_bare_dropout_is_half_and_assumed() -> None:
    dropout = only("input 4096\ndropout\n")
    assert isinstance(dropout, ir.Dropout)
    assert dropout.rate == 0.5
    assert "rate" in dropout.assumed()


def test_flatten_and_reshape() -> None:
    # The regression head of NOTATION.md: a linear FC of 224·224·1 = 50,176 units, reshaped.
    net = parse("input 7x7x512\nflatten\nFC-50176\nreshape 224x224x1\n")
    flatten, dense, reshape = net.graph.nodes[1:]
    assert isinstance(flatten, ir.Flatten) and not flatten.implicit
    assert isinstance(dense, ir.Dense) and dense.units == 50_176
    assert isinstance(reshape, ir.Reshape) and reshape.target_shape == (224, 224, 1)
    assert [layer.shape for layer in net.infer().layers[1:]] == [(25_088,), (50_176,), (224, 224, 1)]


# ---- Repetition, labels ---------------------------------------------------------------------------


@pytest.mark.parametrize("repeat", ["x2", "×2", "*2", "X2", "x 2", "× 2"])
def test_repetition_spellings(repeat: str) -> None:
    text = f"input 28x28x512\nconv3-512 {repeat}\n"
    assert signatures(text) == signatures("input 28x28x512\nconv3-512\nconv3-512\n")
    # assumed `same` 3×3 convs keep 28; valid ones: 28 → 26 → 24
    assert shapes(text) == [(28, 28, 512), (28, 28, 512)]
    assert shapes(f"input 28x28x512\nconv3-512 padding valid {repeat}\n") == [(26, 26, 512), (24, 24, 512)]


def test_group_repetition_expands_in_order() -> None:
    text = "input 224x224x3\ndefaults:\n  conv: padding same\n[conv3-64, conv3-64, maxpool] x3\n"
    kinds = [type(n) for n in layers(text)]
    assert kinds == [ir.Conv2D, ir.Conv2D, ir.Pool2D] * 3
    # 224 → 112 → 56 → 28, 64 channels throughout
    assert [s for s in shapes(text) if s is not None][2::3] == [(112, 112, 64), (56, 56, 64), (28, 28, 64)]


def test_group_repetition_without_defaults_has_nine_layers() -> None:
    text = "input 224x224x3\n[conv3-64 pad 1, conv3-64 pad 1, maxpool] x3\n"
    assert [type(n) for n in layers(text)] == [ir.Conv2D, ir.Conv2D, ir.Pool2D] * 3


def test_nested_repetition() -> None:
    text = "input 64x64x3\n[[conv3-8 pad 1] x2, maxpool] x2\n"
    assert [type(n) for n in layers(text)] == [ir.Conv2D, ir.Conv2D, ir.Pool2D] * 2


@pytest.mark.parametrize(("line", "name"), [("conv1: conv11-96/4", "conv1"), ("first: conv11-96/4", "first")])
def test_label_names_the_layer(line: str, name: str) -> None:
    conv = only(f"input 227x227x3\n{ALEXNET_ERA}{line}\n")
    assert isinstance(conv, ir.Conv2D)
    assert conv.name == name
    assert signature(conv) == ALEXNET_CONV1


def test_labels_on_later_layers_and_unlabelled_names_are_unique() -> None:
    nodes = layers("input 227x227x3\nconv11-96/4\nfc6: FC-4096\nfc7: FC-4096\nFC-1000\n")
    names = [n.name for n in nodes]
    assert "fc6" in names and "fc7" in names
    assert len(set(names)) == len(names)


# ---- Spelling variants, separators, comments ------------------------------------------------------

REFERENCE = "input 32x32x3\nconv3-8 pad 1\nmaxpool\nFC-10\nsoftmax\n"


@pytest.mark.parametrize(
    "text",
    [
        "input 32x32x3\nconv3-8 pad 1, maxpool, FC-10, softmax\n",
        "input 32x32x3\nconv3-8 pad 1 -> maxpool -> FC-10 -> softmax\n",
        "input 32x32x3\nconv3-8 pad 1 → maxpool → FC-10 → softmax\n",
        "input 32×32×3\nconv3-8 pad 1\nmaxpool\nFC-10\nsoftmax\n",
        "input 32x32x3\nconv3–8 pad 1\nmaxpool\nFC–10\nsoft–max\n",
        "INPUT 32x32x3\nCONV3-8 PAD 1\nMAXPOOL\nfc-10\nSoftMax\n",
        "Input 32x32 RGB\nConv3-8 Pad 1\nMaxPool\nFc-10\nSoft-Max\n",
        "input 32x32x3\nconv 3×3, 8 pad 1, maxpool, FC-10, softmax\n",
        "input 32x32x3\nconv3-8 pad 1, maxpool\nFC-10, softmax\n",
        "# a comment\ninput 32x32x3  # CIFAR\nconv3-8 pad 1 # conv3-64 x100\n\n# FC-4096\nmaxpool\nFC-10\nsoftmax\n",
    ],
)
def test_spelling_variants_are_equivalent(text: str) -> None:
    assert signatures(text) == signatures(REFERENCE)
    assert shapes(text) == shapes(REFERENCE)


@pytest.mark.parametrize(
    ("one_line", "separate_lines"),
    [
        (
            "input 57x57x64\nconv3-64 pad 1, 3×3 max pool, stride 2\n",
            "input 57x57x64\nconv3-64 pad 1\n3×3 max pool, stride 2\n",
        ),
        (
            "input 55x55x96\nmaxpool 3x3/2, 3×3 max pool, stride 2\n",
            "input 55x55x96\nmaxpool 3x3/2\n3×3 max pool, stride 2\n",
        ),
        (
            "input 227x227x3\nconv3-8 pad 1, 96 11x11 filters at stride 4, pad 0\n",
            "input 227x227x3\nconv3-8 pad 1\n96 11x11 filters at stride 4, pad 0\n",
        ),
    ],
    ids=["pool-after-conv", "pool-after-pool", "cs231n-conv-after-conv"],
)
def test_number_first_layers_after_a_comma(one_line: str, separate_lines: str) -> None:
    """A comma separates layers, also before a layer written number-first (`3×3 max pool`, `96 11x11 filters`)."""
    assert signatures(one_line) == signatures(separate_lines)
    assert len(layers(one_line)) == 2


def test_uppercase_x_in_sizes() -> None:
    """`x` is case-insensitive like every other word; the command line already takes `--input 32X32X3`."""
    assert signatures("INPUT 32X32X3\nCONV 3X3, 8 PAD 1\nMAXPOOL\nFC-10\nSOFTMAX\n") == signatures(REFERENCE)


def test_reference_meaning() -> None:
    # (32 + 2 − 3)/1 + 1 = 32 → 16 → 16·16·8 = 2,048 → 10
    assert shapes(REFERENCE) == [(32, 32, 8), (16, 16, 8), (2048,), (10,)]
    assert signatures(REFERENCE)[-1] == ("dense", 10, True, SOFTMAX)


# ---- Stated, default, assumed --------------------------------------------------------------------


def test_unstated_padding_is_assumed_and_stated_stride_is_not() -> None:
    conv = only("input 227x227x3\nconv11-96/4\n")
    assert conv.origin("strides") is Origin.STATED
    assert conv.origin("padding") is Origin.ASSUMED
    assert "padding" in conv.assumed()
    assert "strides" not in conv.assumed()


def test_unstated_stride_and_padding_are_assumed() -> None:
    conv = only("input 224x224x3\nconv3-64\n")
    assert {"strides", "padding"} <= set(conv.assumed())


def test_cs231n_listing_states_everything_it_prints() -> None:
    conv = only("input 227x227x3\n96 11x11 filters at stride 4, pad 0\n")
    assert conv.origin("strides") is Origin.STATED
    assert conv.origin("padding") is Origin.STATED
    assert not {"strides", "padding", "kernel_size", "filters"} & set(conv.assumed())


def test_bare_maxpool_window_is_assumed_stated_one_is_not() -> None:
    bare = only("input 8x8x3\nmaxpool\n")
    stated = only("input 8x8x3\nmaxpool 2x2/2\n")
    assert {"pool_size", "strides"} <= set(bare.assumed())
    assert not {"pool_size", "strides"} & set(stated.assumed())
    assert signature(bare) == signature(stated)


NOTATION_DEFAULTS = """\
input 32x32x3
defaults:
  conv: stride 1, padding same, activation relu, batchnorm, bias off
  maxpool: 2x2, stride 2
  fc: activation relu
conv3-16
maxpool
FC-64
FC-10
"""


def test_notation_defaults_block() -> None:
    net = parse(NOTATION_DEFAULTS)
    kinds = [type(n) for n in net.graph.nodes[1:]]
    # conv (no bias) → batch norm → relu, as the defaults say; then the pool, the flatten, two FCs.
    assert kinds == [ir.Conv2D, ir.BatchNorm, ir.ActivationLayer, ir.Pool2D, ir.Flatten, ir.Dense, ir.Dense]
    conv, _bn, relu, pool, _flatten, hidden, _last = net.graph.nodes[1:]
    assert isinstance(conv, ir.Conv2D) and isinstance(relu, ir.ActivationLayer)
    assert isinstance(pool, ir.Pool2D) and isinstance(hidden, ir.Dense)
    assert (conv.strides, conv.padding, conv.use_bias) == ((1, 1), "same", False)
    assert conv.activation == LINEAR and relu.activation == RELU
    for attribute in ("strides", "padding", "use_bias"):
        assert conv.origin(attribute) is Origin.DEFAULT, attribute
        assert attribute not in conv.assumed()
    assert (pool.pool_size, pool.strides) == ((2, 2), (2, 2))
    assert pool.origin("pool_size") is Origin.DEFAULT and pool.origin("strides") is Origin.DEFAULT
    assert hidden.activation == RELU and hidden.origin("activation") is Origin.DEFAULT
    # 3·3·3·16 = 432 (no bias); BN 4·16 = 64; 32 → 32 (same) → 16; 16·16·16 = 4,096.
    info = net.infer().layers
    assert [layer.shape for layer in info[1:5]] == [(32, 32, 16), (32, 32, 16), (32, 32, 16), (16, 16, 16)]
    assert (info[1].params, info[2].params) == (432, 64)
    assert info[5].shape == (4096,)


def test_fc_defaults_describe_hidden_layers_and_the_output_fc_stays_linear() -> None:
    """The issue: hidden FCs default to ReLU, the network's last FC to linear. `defaults: fc:
    activation relu` describes the hidden layers (README, "What a spec means"); the output FC
    keeps the linear output-layer rule, which is papernet's assumption and is marked so."""
    nodes = [n for n in parse(NOTATION_DEFAULTS).graph.nodes if isinstance(n, ir.Dense)]
    *hidden, last = nodes
    assert hidden and all(n.activation.name == "relu" and n.origin("activation") is Origin.DEFAULT for n in hidden)
    assert last.activation.name == "linear"
    assert "activation" in last.assumed()


def test_a_stated_value_overrides_the_default() -> None:
    text = "input 32x32x3\ndefaults:\n  conv: padding same\nconv3-8 pad 0\nconv3-8\n"
    first, second = layers(text)
    assert isinstance(first, ir.Conv2D) and isinstance(second, ir.Conv2D)
    assert first.padding == ((0, 0), (0, 0)) and first.origin("padding") is Origin.STATED
    assert second.padding == "same" and second.origin("padding") is Origin.DEFAULT
    # (32 − 3)/1 + 1 = 30, then same keeps 30
    assert shapes(text) == [(30, 30, 8), (30, 30, 8)]


@pytest.mark.parametrize(
    ("plus", "comma"),
    [
        ("conv3-64 + ReLU", "conv3-64, ReLU"),
        ("conv 3x3, 64 + BN + ReLU", "conv 3x3, 64, BN, ReLU"),
        ("FC-4096 + ReLU + dropout 0.5", "FC-4096, ReLU, dropout 0.5"),
        ("conv3-64 + [conv3-64] x2", "conv3-64, [conv3-64] x2"),
    ],
)
def test_a_plus_between_layers_joins_them_as_a_comma_does(plus: str, comma: str) -> None:
    # tutorials write a row's layers `conv + BN + ReLU`: the same network as the comma's
    joined = papernet.parse(f"input 32x32x3\n{plus}\n")
    listed = papernet.parse(f"input 32x32x3\n{comma}\n")
    assert not joined.errors(), joined.errors()
    assert [type(n).__name__ for n in joined.graph.nodes] == [type(n).__name__ for n in listed.graph.nodes]
    assert joined.infer().total_params == listed.infer().total_params


def test_a_plus_between_numbers_is_not_a_separator() -> None:
    # `pad 1+2` is not notation: a diagnostic at the `+2`, not a layer made of the 2
    (error,) = papernet.parse("input 8x8x3\nconv3-8 pad 1+2\n").errors()
    assert error.code == "P001" and error.span.column == 14


@pytest.mark.parametrize(
    "line",
    [
        "[conv3-64 -> 32x32x64] x2",
        "[conv3-64 -> 32×32×64, conv3-64 -> 32x32x64]",
        "conv3-64 -> 32x32x64, conv3-64 -> 32x32x64",
        "conv3-64 → 32 × 32 × 64, conv3-64 -> 32x32x64",
    ],
)
def test_a_declared_shape_may_end_a_layer_inside_a_row(line: str) -> None:
    # `-> H×W×C` before a comma, a bracket or a bar is the layer's declared output, as it is at
    # the end of a line (it was P001: "expected a layer after '32x32x64'")
    net = papernet.parse(f"input 32x32x3\n{line}\n")
    convs = [n for n in net.graph.nodes if isinstance(n, ir.Conv2D)]
    assert len(convs) == 2 and not net.check().errors
    assert [n.claims.shape for n in convs] == [(32, 32, 64), (32, 32, 64)]


def test_a_wrong_shape_inside_a_row_is_reported_at_its_layer() -> None:
    found = papernet.parse("input 32x32x3\nconv3-64 -> 31x32x64, conv3-64\n").check()
    [wrong] = found.errors
    assert wrong.code == "P301" and wrong.span is not None and (wrong.span.line, wrong.span.column) == (2, 10)
    assert "gives 32×32×64" in wrong.message  # padding same (assumed) keeps 32: (32 + 2 − 3)/1 + 1


def test_a_declared_shape_in_a_branch_is_that_branchs_output() -> None:
    net = papernet.parse("input 32x32x64\nadd(conv3-64 -> 32x32x64 | identity)\n")
    [conv] = [n for n in net.graph.nodes if isinstance(n, ir.Conv2D)]
    assert conv.claims.shape == (32, 32, 64) and not net.check().errors


def test_an_arrow_to_a_two_number_layer_still_chains_it() -> None:
    # ResNet's `3×3, 64` is a layer: `-> 3x3, 64` goes on to it, it declares no shape
    net = papernet.parse("input 32x32x3\nconv3-64 -> 3x3, 64\n")
    convs = [n for n in net.graph.nodes if isinstance(n, ir.Conv2D)]
    assert len(convs) == 2 and all(n.claims.shape is None for n in convs)
