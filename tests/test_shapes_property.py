"""Property tests: papernet's shape and parameter arithmetic agrees with Keras's own.

Each example is a one-layer spec, written as text and run through the whole pipeline
(`papernet.parse(...).infer()`); the expected figures come from Keras
(`layer.compute_output_shape`, `layer.count_params()`), from brute-force enumeration of
window positions, or from formulas written out here. Where Keras says an output would be
empty, papernet must report P203, never raise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import papernet
from papernet import ir, shapes
from papernet.backends.keras_args import layer_calls

keras = pytest.importorskip("keras")
live = pytest.importorskip("papernet.backends.live")

sizes = st.integers(1, 64)
channels = st.integers(1, 8)
kernels = st.integers(1, 11)
strides = st.integers(1, 4)
dilations = st.integers(2, 3)
explicit_pads = st.integers(0, 5)
Padding = str | int  # "same", "valid" or an explicit symmetric pad


@dataclass(frozen=True)
class Window:
    """One conv or pool layer on an H×W×C input."""

    h: int
    w: int
    c: int
    kernel: tuple[int, int]
    stride: int
    dilation: int
    padding: Padding

    @property
    def pad_total(self) -> int:
        return 0 if isinstance(self.padding, str) else 2 * self.padding

    def padding_words(self) -> str:
        return self.padding if isinstance(self.padding, str) else f"pad {self.padding}"


@st.composite
def windows(draw: st.DrawFn, *, dilated: bool, explicit: bool) -> Window:
    kh = draw(kernels)
    kw = draw(st.one_of(st.just(kh), kernels))
    paddings = [st.sampled_from(["same", "valid"])] + ([explicit_pads] if explicit else [])
    # Keras cannot combine a stride above 1 with a dilation above 1.
    if dilated and draw(st.booleans()):
        stride, dilation = 1, draw(dilations)
    else:
        stride, dilation = draw(strides), 1
    return Window(draw(sizes), draw(sizes), draw(channels), (kh, kw), stride, dilation, draw(st.one_of(*paddings)))


def keras_output(layers: list[Any], input_shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The output shape Keras computes through `layers`, or None where Keras says it is empty."""
    shape: tuple[Any, ...] = (None, *input_shape)
    try:
        for layer in layers:
            shape = tuple(layer.compute_output_shape(shape))
    except ValueError as exc:
        assert "zero or negative" in str(exc), exc
        return None
    return shape[1:]


def keras_padding(window: Window) -> tuple[list[Any], str]:
    if isinstance(window.padding, str):
        return [], window.padding
    return [keras.layers.ZeroPadding2D(window.padding)], "valid"


def run(text: str) -> tuple[papernet.Network, tuple[int, ...] | None, list[str]]:
    """The network of `text`, the inferred shape of its last layer, and its error codes."""
    net = papernet.parse(text)
    codes = [d.code for d in net.check() if d.is_error]
    return net, net.infer().layers[-1].shape, codes


def backend_output(net: papernet.Network) -> tuple[int, ...] | None:
    """The output shape of the Keras layers papernet's backend makes for the last node."""
    node = net.graph.nodes[-1]
    input_shape = net.infer().layers[node.inputs[0]].shape
    assert input_shape is not None
    return keras_output([live.instantiate(call) for call in layer_calls(node, input_shape)], input_shape)


def assert_agrees(text: str, expected: tuple[int, ...] | None) -> None:
    net, shape, codes = run(text)
    if expected is None:
        assert shape is None, f"{text!r}: Keras says the output is empty, papernet says {shape}"
        assert codes == ["P203"], f"{text!r}: expected one P203, got {codes}"
        return
    assert codes == [], f"{text!r}: unexpected errors {codes}"
    assert shape == expected, f"{text!r}: papernet {shape}, Keras {expected}"
    assert backend_output(net) == expected, f"{text!r}: the backend's Keras layers disagree with Keras"


# ---- conv -------------------------------------------------------------------------------

CONV_SPELLINGS = (
    "conv {kh}x{kw}, {f}",
    "conv{kh}x{kw}-{f}",
    "{kh}×{kw}, {f}",
)


def conv_text(window: Window, filters: int, spelling: str, rounding: str = "floor") -> str:
    kh, kw = window.kernel
    layer = spelling.format(kh=kh, kw=kw, f=filters)
    options = [f"stride {window.stride}", f"dilation {window.dilation}", window.padding_words()]
    if rounding:
        options.append(rounding)
    return f"input {window.h}x{window.w}x{window.c}\n{layer}, " + ", ".join(options) + "\n"


@settings(max_examples=900, deadline=None)
@given(
    window=windows(dilated=True, explicit=True),
    filters=st.integers(1, 16),
    spelling=st.sampled_from(CONV_SPELLINGS),
)
@example(window=Window(3, 3, 1, (5, 5), 1, 1, "valid"), filters=1, spelling=CONV_SPELLINGS[0])
@example(window=Window(5, 9, 2, (3, 3), 1, 3, "valid"), filters=1, spelling=CONV_SPELLINGS[0])
@example(window=Window(224, 224, 3, (7, 7), 2, 1, 3), filters=64, spelling=CONV_SPELLINGS[1])
def test_conv_output_shape_agrees_with_keras(window: Window, filters: int, spelling: str) -> None:
    pad_layers, padding = keras_padding(window)
    conv = keras.layers.Conv2D(
        filters, window.kernel, strides=window.stride, padding=padding, dilation_rate=window.dilation
    )
    expected = keras_output([*pad_layers, conv], (window.h, window.w, window.c))
    assert_agrees(conv_text(window, filters, spelling), expected)


@st.composite
def grouped_convs(draw: st.DrawFn) -> tuple[int, int, int, tuple[int, int], bool]:
    groups = draw(st.integers(1, 4))
    kh = draw(kernels)
    kernel = (kh, draw(st.one_of(st.just(kh), kernels)))
    return groups, groups * draw(st.integers(1, 4)), groups * draw(st.integers(1, 8)), kernel, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(case=grouped_convs(), size=st.integers(11, 32))
def test_conv_params_agree_with_keras(case: tuple[int, int, int, tuple[int, int], bool], size: int) -> None:
    groups, in_channels, filters, kernel, bias = case
    conv = keras.layers.Conv2D(filters, kernel, groups=groups, use_bias=bias, padding="same")
    conv.build((None, size, size, in_channels))
    words = ["padding same", f"groups {groups}"] + ([] if bias else ["no bias"])
    text = f"input {size}x{size}x{in_channels}\nconv {kernel[0]}x{kernel[1]}, {filters}, " + ", ".join(words)
    net, _, codes = run(text)
    info = net.infer().layers[-1]
    assert codes == []
    assert info.params == conv.count_params()
    assert info.trainable == conv.count_params()
    backend = [live.instantiate(call) for call in layer_calls(net.graph.nodes[-1], (size, size, in_channels))]
    for layer in backend:
        layer.build((None, size, size, in_channels))
    assert sum(layer.count_params() for layer in backend) == conv.count_params()
    # one multiply-accumulate per kernel weight per output position
    per_position = kernel[0] * kernel[1] * (in_channels // groups) * filters
    assert info.macs == size * size * per_position


@settings(max_examples=400, deadline=None)
@given(
    window=windows(dilated=True, explicit=True).filter(lambda w: w.padding != "same"),
    filters=st.integers(1, 4),
)
@example(window=Window(224, 224, 3, (11, 11), 4, 1, "valid"), filters=96)  # AlexNet's 54.25
@example(window=Window(1, 1, 1, (2, 2), 4, 1, 1), filters=1)
@example(window=Window(3, 3, 1, (2, 2), 4, 1, 1), filters=1)
def test_inexact_division_is_reported_unless_rounding_is_stated(window: Window, filters: int) -> None:
    """`valid`/explicit padding with no rounding word: P201 exactly when (W + 2P − F_eff)/S is not whole."""
    k_eff = [window.dilation * (k - 1) + 1 for k in window.kernel]
    spans = [size + window.pad_total - k for size, k in zip((window.h, window.w), k_eff, strict=True)]
    if min(spans) < 0:
        return  # an empty output; the test above covers it
    inexact = any(span % window.stride for span in spans)
    _, shape, codes = run(conv_text(window, filters, CONV_SPELLINGS[0], rounding=""))
    assert ("P201" in codes) == inexact, codes
    assert set(codes) <= {"P201"}, codes
    if not inexact:
        assert shape == (*(span // window.stride + 1 for span in spans), filters)


@settings(max_examples=300, deadline=None)
@given(
    size=sizes,
    kernel=kernels,
    stride=st.integers(2, 4),
    pad=explicit_pads,
)
@example(size=224, kernel=11, stride=4, pad=0)
@example(size=3, kernel=2, stride=4, pad=1)
def test_the_help_for_an_inexact_division_is_right(size: int, kernel: int, stride: int, pad: int) -> None:
    """`input A×A or B×B divides exactly (a or b)`, `floor` gives f, `ceil` gives c: all true."""
    span = size + 2 * pad - kernel
    if span < 0 or span % stride == 0 or pad > kernel // 2:  # more padding than half the window is P208
        return
    layer = f"maxpool {kernel}x{kernel}, stride {stride}, pad {pad}"
    net = papernet.parse(f"input {size}x{size}x1\n{layer}")
    (problem,) = [d for d in net.check() if d.code == "P201"]
    text = "\n".join(problem.help)
    fits = re.search(r"input ((?:\d+×\d+(?: or )?)+) divides exactly \(([\d or]+)\)", text)
    if fits is not None:  # the nearest sizes within a stride that divide exactly, below and above
        suggested_sizes = [int(s.split("×")[0]) for s in fits[1].split(" or ")]
        promised_sizes = [int(p) for p in fits[2].split(" or ")]
        assert 1 <= len(suggested_sizes) == len(promised_sizes) <= 2, text
        for suggested, promised in zip(suggested_sizes, promised_sizes, strict=True):
            _, shape, codes = run(f"input {suggested}x{suggested}x1\n{layer}")
            assert codes == [] and shape == (promised, promised, 1), (suggested, promised, codes, shape)
    floor_size = span // stride + 1
    ceil_size = caffe_ceil_output(size, kernel, stride, pad, pad)
    if floor_size == ceil_size:
        assert f"`floor` (or `ceil`) to get {floor_size}" in text, text
    else:
        roundings = re.search(r"`floor` to get (\d+) .* `ceil` to get (\d+)", text)
        assert roundings is not None, text
        assert (int(roundings[1]), int(roundings[2])) == (floor_size, ceil_size), text


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(4, 64),
    kernel=kernels,
    stride=st.integers(2, 4),
    pad=st.integers(0, 3),
    delta=st.integers(-2, 2),
    conv=st.booleans(),
)
@example(size=224, kernel=11, stride=4, pad=0, delta=1, conv=True)  # AlexNet: 55 from 224
def test_the_help_for_a_declared_size_is_right(
    size: int, kernel: int, stride: int, pad: int, delta: int, conv: bool
) -> None:
    """Every fix offered for a declared output size (`-> N×N`) gives N when applied."""
    span = size + 2 * pad - kernel
    target = span // stride + 1 + delta if span >= 0 else 0
    if span < 0 or span % stride == 0 or target < 1 or (not conv and pad > kernel // 2):
        return
    channels = 4 if conv else 1

    def spec(
        input_size: int, padding: int, rounding: str = "", claim: bool = True, s: int = stride, k: int = kernel
    ) -> str:
        layer = f"conv {k}x{k}, 4" if conv else f"maxpool {k}x{k}"
        words = ", ".join(w for w in (f"stride {s}", f"pad {padding}", rounding) if w)
        declared = f" -> {target}x{target}x{channels}" if claim else ""
        return f"input {input_size}x{input_size}x1\n{layer}, {words}{declared}"

    (problem,) = [d for d in papernet.parse(spec(size, pad)).check() if d.code == "P201"]
    line, *others = problem.help
    for other in others:  # the check's fixes with the padding as stated: another stride or window
        if found := re.fullmatch(r"`stride (\d+)` gives the declared (\d+)×\2: is the stride a typo\?", other):
            text = spec(size, pad, claim=False, s=int(found[1]))
        elif found := re.fullmatch(r"a (\d+)×\1(?: or \d+×\d+)? (?:kernel|window) gives .*", other):
            text = spec(size, pad, claim=False, k=int(found[1]))
        else:
            raise AssertionError(f"unrecognised fix: {other!r}")
        _, shape, codes = run(text)
        assert codes == [] and shape == (target, target, channels), (other, text, codes, shape)
    if line.startswith("no input size"):
        return
    prefix = f"the declared {target}×{target} fits "
    assert line.startswith(prefix), line
    for fix in line.removeprefix(prefix).split(", or "):
        if found := re.fullmatch(r"input (\d+)×\1 with pad (\d+)", fix):
            text = spec(int(found[1]), int(found[2]), claim=False)
        elif found := re.fullmatch(rf"{size}×{size} with pad (\d+) \((exact|floor)\)", fix):
            text = spec(size, int(found[1]), "floor" if found[2] == "floor" else "", claim=False)
        elif found := re.fullmatch(rf"{size}×{size} with pad {pad} and `(floor|ceil)`", fix):
            text = spec(size, pad, found[1], claim=False)
        else:
            raise AssertionError(f"unrecognised fix: {fix!r} in {line!r}")
        _, shape, codes = run(text)
        assert codes == [] and shape == (target, target, channels), (fix, text, codes, shape)


# ---- pooling ----------------------------------------------------------------------------


def caffe_ceil_output(size: int, kernel: int, stride: int, before: int, after: int) -> int:
    """Caffe's and PyTorch's ceil mode, by enumerating windows: a window may run past the end,
    but it must start inside the input or its left padding. (Both frameworks require
    pad ≤ kernel/2 here, where at most one window is dropped.)"""
    last_full_start = size + before + after - kernel
    starts = [i for i in range(0, last_full_start + stride, stride) if i < size + before]
    return len(starts)


def pool_text(window: Window, op: str, stated_stride: bool, rounding: str) -> str:
    kh, kw = window.kernel
    options = ([f"stride {window.stride}"] if stated_stride else []) + [window.padding_words(), rounding]
    return f"input {window.h}x{window.w}x{window.c}\n{op} {kh}x{kw}, " + ", ".join(options) + "\n"


@settings(max_examples=900, deadline=None)
@given(
    window=windows(dilated=False, explicit=True),
    op=st.sampled_from(["maxpool", "max pool", "avgpool", "average pooling"]),
    stated_stride=st.booleans(),
    ceil=st.booleans(),
)
@example(window=Window(3, 3, 1, (5, 5), 2, 1, "valid"), op="maxpool", stated_stride=True, ceil=False)
@example(window=Window(112, 112, 64, (3, 3), 2, 1, "valid"), op="maxpool", stated_stride=True, ceil=True)
@example(window=Window(5, 5, 1, (2, 2), 2, 1, 0), op="maxpool", stated_stride=True, ceil=True)
@example(window=Window(4, 4, 1, (2, 2), 2, 1, 2), op="maxpool", stated_stride=True, ceil=True)  # pad = window
def test_pool_output_shape_agrees_with_keras(window: Window, op: str, stated_stride: bool, ceil: bool) -> None:
    text = pool_text(window, op, stated_stride, "ceil" if ceil else "floor")
    input_shape = (window.h, window.w, window.c)
    if isinstance(window.padding, int) and any(window.padding > k // 2 for k in window.kernel):
        # More padding than half the window: Caffe and PyTorch reject it, and so does papernet.
        assert run(text)[2] == ["P208"], text
        return
    stride_pair = (window.stride, window.stride) if stated_stride else window.kernel  # unstated: the window
    if not ceil or window.padding == "same":
        pad_layers, padding = keras_padding(window)
        cls = keras.layers.MaxPooling2D if op.startswith("max") else keras.layers.AveragePooling2D
        pool = cls(window.kernel, strides=window.stride if stated_stride else None, padding=padding)
        assert_agrees(text, keras_output([*pad_layers, pool], input_shape))
        return
    pad = window.pad_total // 2
    axes = list(zip(input_shape[:2], window.kernel, stride_pair, strict=True))
    if any(size + 2 * pad < k for size, k, _ in axes):
        assert_agrees(text, None)
    elif all(2 * pad <= k for _, k, _ in axes):
        assert_agrees(text, (*(caffe_ceil_output(size, k, s, pad, pad) for size, k, s in axes), window.c))
    else:
        # Caffe and PyTorch reject a pad above half the window in ceil mode, so there is no
        # reference size; papernet's summary and its Keras model must still agree.
        net, shape, codes = run(text)
        assert codes == [] and shape is not None, (text, codes)
        assert backend_output(net) == shape, f"{text!r}: papernet infers {shape}, its Keras layers give another"


# ---- papernet.shapes against direct definitions --------------------------------------------


@settings(max_examples=300, deadline=None)
@given(size=sizes, kernel=kernels, stride=strides, pad_total=st.integers(0, 10), dilation=st.integers(1, 3))
def test_floor_output_size_counts_window_positions(
    size: int, kernel: int, stride: int, pad_total: int, dilation: int
) -> None:
    k_eff = dilation * (kernel - 1) + 1
    if size + pad_total < k_eff:
        return
    positions = len(range(0, size + pad_total - k_eff + 1, stride))
    assert shapes.effective_kernel(kernel, dilation) == k_eff
    assert shapes.padded_output_size(size, kernel, stride, pad_total, dilation) == positions
    exact = shapes.exact_output_size(size, kernel, stride, pad_total, dilation)
    assert exact == Fraction(size + pad_total - k_eff, stride) + 1
    assert math.floor(exact) == positions
    assert (exact.denominator == 1) == ((size + pad_total - k_eff) % stride == 0)


@settings(max_examples=300, deadline=None)
@given(size=sizes, kernel=kernels, stride=strides, pad=st.integers(0, 5))
def test_ceil_output_size_and_its_extra_padding(size: int, kernel: int, stride: int, pad: int) -> None:
    if size + 2 * pad < kernel or 2 * pad > kernel:  # ceil mode is defined for pad ≤ kernel/2
        return
    expected = caffe_ceil_output(size, kernel, stride, pad, pad)
    assert shapes.padded_output_size(size, kernel, stride, 2 * pad, rounding="ceil") == expected
    extra = shapes.ceil_extra_padding(size, kernel, stride, 2 * pad)
    assert 0 <= extra < stride
    assert shapes.padded_output_size(size, kernel, stride, 2 * pad + extra) == expected
    if extra:
        assert shapes.padded_output_size(size, kernel, stride, 2 * pad + extra - 1) < expected


@settings(max_examples=300, deadline=None)
@given(size=sizes, kernel=kernels, stride=strides, dilation=st.integers(1, 3))
def test_same_padding_is_the_least_that_gives_ceil_w_over_s(size: int, kernel: int, stride: int, dilation: int) -> None:
    k_eff = dilation * (kernel - 1) + 1
    out = math.ceil(size / stride)
    assert shapes.same_output_size(size, stride) == out
    before, after = shapes.same_padding(size, kernel, stride, dilation)
    assert after - before in (0, 1)  # TensorFlow puts the odd pixel after
    assert (size + before + after - k_eff) // stride + 1 == out
    if before + after:
        assert (size + before + after - 1 - k_eff) // stride + 1 < out


@settings(max_examples=300, deadline=None)
@given(kernel=kernels, stride=strides, before=st.integers(0, 6), after=st.integers(0, 6), dilation=st.integers(1, 3))
def test_same_equivalence_holds_for_every_input_size(
    kernel: int, stride: int, before: int, after: int, dilation: int
) -> None:
    claimed = shapes.is_same_equivalent(kernel, stride, before, after, dilation=dilation)
    if claimed:
        for size in range(1, 65):
            assert shapes.same_padding(size, kernel, stride, dilation) == (before, after), size
    if stride == 1:
        # at stride 1, `same` pads the same for every size, so the equivalence is exact both ways
        assert claimed == ((before, after) == shapes.same_padding(64, kernel, 1, dilation))


# ---- receptive field and effective stride ------------------------------------------------


@st.composite
def chains(draw: st.DrawFn) -> list[tuple[str, int, int, int]]:
    """Up to five square layers: (kind, kernel, stride, dilation)."""
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "maxpool"]))
        stride = draw(st.integers(1, 3))
        dilation = draw(st.integers(1, 3)) if kind == "conv" and stride == 1 else 1
        layers.append((kind, draw(st.integers(1, 7)), stride, dilation))
    return layers


def brute_force_receptive_field(layers: list[tuple[str, int, int, int]]) -> int:
    """Walk one output pixel back to the input: outputs [a, b] read inputs [a·s, b·s + d·(k − 1)]."""
    first, last = 0, 0
    for _, kernel, stride, dilation in reversed(layers):
        first, last = first * stride, last * stride + dilation * (kernel - 1)
    return last - first + 1


@settings(max_examples=200, deadline=None)
@given(layers=chains())
def test_receptive_field_and_effective_stride(layers: list[tuple[str, int, int, int]]) -> None:
    lines = ["input 2048x2048x2"]  # big enough for five stride-3 layers
    for kind, kernel, stride, dilation in layers:
        if kind == "conv":
            lines.append(f"conv {kernel}x{kernel}, 4, stride {stride}, dilation {dilation}, valid, floor")
        else:
            lines.append(f"maxpool {kernel}x{kernel}, stride {stride}, valid, floor")
    net, _, codes = run("\n".join(lines))
    assert codes == []
    info = net.infer().layers[-1]
    rf = brute_force_receptive_field(layers)
    assert info.receptive_field == (rf, rf)
    assert info.jump == (math.prod(s for _, _, s, _ in layers),) * 2
    row = net.summary().rows[-1]
    assert (row.receptive_field, row.effective_stride) == (rf, math.prod(s for _, _, s, _ in layers))


def test_node_kinds_are_what_the_spec_says() -> None:
    """The generated specs above lower to the node kinds the tests assume."""
    net = papernet.parse("input 8x8x1\nconv 3x3, 2, stride 1, dilation 2, pad 1, floor\navg pool 2x2, same, floor")
    assert [type(node) for node in net.graph.nodes] == [ir.Input, ir.Conv2D, ir.Pool2D]
    conv, pool = net.graph.nodes[1], net.graph.nodes[2]
    assert isinstance(conv, ir.Conv2D) and isinstance(pool, ir.Pool2D)
    assert (conv.dilation, conv.padding, conv.rounding) == ((2, 2), ((1, 1), (1, 1)), "floor")
    assert (pool.op, pool.strides, pool.padding) == ("avg", (2, 2), "same")
