"""Branching networks against Keras, the reference figures and hand arithmetic.

ResNet-50/101/152 and MobileNet must equal `keras.applications` (measured here, not copied);
the torchvision ResNets must total the figures in /work/shared/reference/README.md; the MACs
must reproduce Table 1's FLOPs row of He et al. (multiply-adds) to its printed precision; the
residual shortcut options, GoogLeNet's inception modules and AlexNet's two towers are worked
out by hand below. The bad-input cases are the mistakes people make when they first write a
residual block, with golden diagnostics in tests/golden/branching/.

Building a keras.applications ResNet takes seconds, so every Keras model is built once per
module and only a small record of it (totals, output shapes, MACs) is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from networks import built_once

import papernet
from papernet import ir
from papernet.resources import shipped_specs

keras = pytest.importorskip("keras")

RunCli = Callable[..., Any]


# ---- measuring Keras models --------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    name: str
    cls: str
    shape: tuple[int, ...]  # the output shape without the batch axis
    params: int
    config: dict[str, Any]
    kernel_shape: tuple[int, ...] | None


@dataclass(frozen=True)
class Measured:
    total: int  # model.count_params()
    trainable: int
    non_trainable: int
    macs: int  # conv and dense multiply-accumulates, from each layer's configuration
    layers: tuple[Layer, ...]

    def by_name(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in self.layers}


def _size(weights: list[Any]) -> int:
    return sum(int(keras.ops.size(w)) for w in weights)


def _layer_macs(layer: Any) -> int:
    """Multiply-accumulates of one Keras layer, from its own configuration.

    Conv2D: out_h·out_w·out_c · k_h·k_w·in_c/groups; DepthwiseConv2D: out_h·out_w·out_c · k_h·k_w;
    SeparableConv2D: the depthwise part's, out_h·out_w·in_c·m · k_h·k_w, and the pointwise part's,
    out_h·out_w·out_c · in_c·m (m the depth multiplier); Conv2DTranspose: each input pixel scatters
    a k_h·k_w patch to every output channel, in_h·in_w·in_c · k_h·k_w·out_c; Dense: in·out. Nothing
    else multiplies by a weight.
    """
    name = type(layer).__name__
    if name == "SeparableConv2D":
        _, height, width, out_channels = layer.output.shape
        kh, kw = layer.kernel_size
        inner = layer.input.shape[-1] * layer.depth_multiplier
        return height * width * inner * kh * kw + height * width * out_channels * inner
    if name == "Conv2DTranspose":
        _, height, width, in_channels = layer.input.shape
        kh, kw = layer.kernel_size
        return height * width * in_channels * kh * kw * layer.filters
    if name == "Conv2D":
        _, height, width, out_channels = layer.output.shape
        kh, kw = layer.kernel_size
        in_channels = layer.input.shape[-1]
        return height * width * out_channels * kh * kw * in_channels // layer.groups
    if name == "DepthwiseConv2D":
        _, height, width, out_channels = layer.output.shape
        kh, kw = layer.kernel_size
        return height * width * out_channels * kh * kw
    if name == "Dense":
        return layer.input.shape[-1] * layer.units
    return 0


def measure(model: Any) -> Measured:
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        kernel = getattr(layer, "kernel", None)
        layers.append(
            Layer(
                name=layer.name,
                cls=type(layer).__name__,
                shape=tuple(layer.output.shape)[1:],
                params=layer.count_params(),
                config={key: config[key] for key in ("groups", "kernel_size", "strides") if key in config},
                kernel_shape=tuple(kernel.shape) if kernel is not None else None,
            )
        )
    return Measured(
        total=model.count_params(),
        trainable=_size(model.trainable_weights),
        non_trainable=_size(model.non_trainable_weights),
        macs=sum(_layer_macs(layer) for layer in model.layers),
        layers=tuple(layers),
    )


@pytest.fixture(scope="module")
def built() -> Iterator[Callable[[str], Measured]]:
    """`built("keras:ResNet50")` is keras.applications.ResNet50(weights=None), measured;
    `built("resnet50")` papernet's live model of the shipped spec. Each is built once."""
    once = built_once(measure)

    def get(key: str) -> Measured:
        if key.startswith("keras:"):
            return once(key, lambda: getattr(keras.applications, key.removeprefix("keras:"))(weights=None))
        return once(key, lambda: papernet.load(key).to_keras())

    yield get
    keras.backend.clear_session()


def _shapes(net: papernet.Network) -> dict[str, tuple[int, ...] | None]:
    return {node.name: info.shape for node, info in zip(net.graph.nodes, net.infer().layers, strict=True)}


# ---- ResNet-50/101/152 against keras.applications --------------------------------------------

RESNETS = [
    # (shipped spec, keras.applications model, total params from reference/README.md)
    ("resnet50", "ResNet50", 25_636_712),
    ("resnet101", "ResNet101", 44_707_176),
    ("resnet152", "ResNet152", 60_419_944),
]
STAGE_SIDES = {2: 56, 3: 28, 4: 14, 5: 7}  # Table 1's output sizes of conv2_x … conv5_x


@pytest.mark.parametrize(("name", "application", "total"), RESNETS)
def test_resnet_params_equal_keras_applications(
    name: str, application: str, total: int, built: Callable[[str], Measured]
) -> None:
    theirs = built(f"keras:{application}")
    assert theirs.total == total  # the reference figure, re-measured
    inference = papernet.load(name).infer()
    assert inference.total_params == theirs.total
    assert inference.total_trainable == theirs.trainable
    assert inference.total_params - inference.total_trainable == theirs.non_trainable


@pytest.mark.parametrize(("name", "application", "total"), RESNETS)
def test_resnet_live_model_equals_keras_applications(
    name: str, application: str, total: int, built: Callable[[str], Measured]
) -> None:
    ours, theirs = built(name), built(f"keras:{application}")
    assert ours.total == theirs.total
    assert ours.trainable == theirs.trainable
    assert ours.non_trainable == theirs.non_trainable


def _blocks(names: list[str], pattern: str) -> dict[int, list[str]]:
    """Block output names per stage, in block order: {2: ["conv2_block1_out", …], …}."""
    found: dict[int, list[tuple[int, str]]] = {}
    for name in names:
        match = re.fullmatch(pattern, name)
        if match:
            found.setdefault(int(match["stage"]), []).append((int(match["block"]), name))
    return {stage: [name for _, name in sorted(blocks)] for stage, blocks in found.items()}


@pytest.mark.parametrize(("name", "application", "total"), RESNETS)
def test_resnet_stage_outputs_equal_keras_applications(
    name: str, application: str, total: int, built: Callable[[str], Measured]
) -> None:
    net = papernet.load(name)
    inferred = _shapes(net)
    live = built(name).by_name()
    theirs = built(f"keras:{application}").by_name()
    ours_blocks = _blocks(list(inferred), r"conv(?P<stage>\d)_x_block(?P<block>\d+)_out")
    their_blocks = _blocks(list(theirs), r"conv(?P<stage>\d)_block(?P<block>\d+)_out")
    assert sorted(ours_blocks) == sorted(their_blocks) == [2, 3, 4, 5]
    for stage, side in STAGE_SIDES.items():
        assert len(ours_blocks[stage]) == len(their_blocks[stage]), f"conv{stage}_x: number of blocks"
        for mine, reference in zip(ours_blocks[stage], their_blocks[stage], strict=True):
            assert inferred[mine] == theirs[reference].shape, f"{mine} vs {reference}"
            assert live[mine].shape == theirs[reference].shape, f"{mine} (live) vs {reference}"
        last = ours_blocks[stage][-1]
        assert inferred[last] == (side, side, theirs[their_blocks[stage][-1]].shape[2])
        assert last == f"conv{stage}_x_block{len(ours_blocks[stage])}_out"


@pytest.mark.parametrize(("name", "application", "total"), RESNETS)
def test_resnet_macs_equal_keras_applications_layer_by_layer(
    name: str, application: str, total: int, built: Callable[[str], Measured]
) -> None:
    assert papernet.load(name).infer().total_macs == built(f"keras:{application}").macs


# ---- Table 1's FLOPs row: multiply-adds, to its printed precision -------------------------------

TABLE_1_FLOPS = {"resnet18": 1.8, "resnet34": 3.6, "resnet50": 3.8, "resnet101": 7.6, "resnet152": 11.3}


def _rounds_to(value: int, printed: float) -> bool:
    """Whether `value` multiply-adds print as `printed`×10⁹ (half a unit of the last digit, 0.05)."""
    return abs(value - printed * 1e9) <= 0.05e9


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet101", "resnet152"])
def test_resnet_macs_reproduce_table_1(name: str) -> None:
    macs = papernet.load(name).infer().total_macs
    assert _rounds_to(macs, TABLE_1_FLOPS[name]), f"{macs:,} is not {TABLE_1_FLOPS[name]}×10⁹"


def _basic_resnet_macs(blocks: tuple[int, int, int, int]) -> int:
    """ResNet-18/34 with option-A shortcuts (no projections), at 224×224, worked out by hand:
    conv1 7×7/2 on 3 channels to 112×112×64; per stage, 3×3 convs at the stage's side, the first
    conv of conv3_x … conv5_x reading half as many channels; the FC 512·1000."""
    conv1 = 112 * 112 * 64 * 7 * 7 * 3
    total = conv1 + 512 * 1000
    for stage, (count, side, channels) in enumerate(zip(blocks, (56, 28, 14, 7), (64, 128, 256, 512), strict=True)):
        per_conv = side * side * channels * 3 * 3 * channels
        convs = 2 * count
        if stage == 0:
            total += convs * per_conv
        else:
            total += per_conv // 2 + (convs - 1) * per_conv  # the first conv reads channels / 2
    return total


@pytest.mark.parametrize(("name", "blocks"), [("resnet18", (2, 2, 2, 2)), ("resnet34", (3, 4, 6, 3))])
def test_basic_resnet_macs_by_hand(name: str, blocks: tuple[int, int, int, int]) -> None:
    expected = _basic_resnet_macs(blocks)
    assert _rounds_to(expected, TABLE_1_FLOPS[name])  # the hand arithmetic reproduces Table 1 too
    assert papernet.load(name).infer().total_macs == expected


def test_resnet50_macs_are_the_papers_known_inconsistency(built: Callable[[str], Measured]) -> None:
    """Table 1 prints 3.8×10⁹ for ResNet-50, but its layers (= keras.applications.ResNet50) cost 3.86×10⁹."""
    keras_macs = built("keras:ResNet50").macs
    assert not _rounds_to(keras_macs, 3.8)  # the paper, not papernet, is off
    assert _rounds_to(keras_macs, 3.9)
    assert papernet.load("resnet50").infer().total_macs == keras_macs


def test_resnet50_flops_claim_is_reported(
    built: Callable[[str], Measured], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keras_macs = built("keras:ResNet50").macs
    text = shipped_specs()["resnet50"].read_text(encoding="utf-8")
    (tmp_path / "resnet50.pn").write_text(text + "total FLOPs 3.8G\n", encoding="utf-8")
    claim_line = len(text.splitlines()) + 1
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", "resnet50.pn")
    assert result.code == 1, result.stderr
    assert f"resnet50.pn:{claim_line}:1: error[P305]: " in result.stderr, result.stderr
    assert f"{keras_macs:,}" in result.stderr
    assert "3.8G" in result.stderr
    assert result.stderr.count("error[") == 1, result.stderr


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet101", "resnet152"])
def test_shipped_resnet_flops_claims_hold(name: str, run_cli: RunCli) -> None:
    result = run_cli("check", name)
    assert result.code == 0, result.stderr
    assert "P305" not in result.stderr


# ---- shortcut options ---------------------------------------------------------------------------


def _conv(kernel: int, cin: int, cout: int, bias: bool = True) -> int:
    return kernel * kernel * cin * cout + (cout if bias else 0)


def _bn(channels: int, convention: str = "keras") -> int:
    return 4 * channels if convention == "keras" else 2 * channels


def _basic_resnet_params(blocks: tuple[int, int, int, int], shortcut: str, convention: str, bias: bool) -> int:
    """ResNet-18/34 by hand: conv1 7×7 and BN; per block two 3×3 convs, each with BN; where the
    shape changes (the first block of conv3_x … conv5_x) a 1×1 projection with BN (option B) or
    nothing (option A); the FC 512·1000 + 1000."""
    total = _conv(7, 3, 64, bias) + _bn(64, convention) + 512 * 1000 + 1000
    cin = 64
    for count, channels in zip(blocks, (64, 128, 256, 512), strict=True):
        for _ in range(count):
            total += _conv(3, cin, channels, bias) + _bn(channels, convention)
            total += _conv(3, channels, channels, bias) + _bn(channels, convention)
            if cin != channels and shortcut == "B":
                total += _conv(1, cin, channels, bias) + _bn(channels, convention)
            cin = channels
    return total


@pytest.mark.parametrize(
    ("blocks", "torchvision"), [((2, 2, 2, 2), 11_689_512), ((3, 4, 6, 3), 21_797_672)], ids=["18", "34"]
)
def test_hand_arithmetic_reproduces_torchvision(blocks: tuple[int, int, int, int], torchvision: int) -> None:
    """The helper the option-A test relies on gives torchvision's figures with its settings."""
    assert _basic_resnet_params(blocks, "B", "torch", bias=False) == torchvision


@pytest.mark.parametrize(("name", "blocks"), [("resnet18", (2, 2, 2, 2)), ("resnet34", (3, 4, 6, 3))])
def test_resnet18_34_use_option_a_shortcuts(name: str, blocks: tuple[int, int, int, int]) -> None:
    """§4.1: zero-padded identity shortcuts where the dimensions increase, no projections."""
    net = papernet.load(name)
    inference = net.infer()
    pads = [node for node in net.graph.nodes if isinstance(node, ir.ShortcutPad)]
    assert [node.scope for node in pads] == [("conv3_x", "block1"), ("conv4_x", "block1"), ("conv5_x", "block1")]
    assert all(node.name.endswith("_0_pad") for node in pads)
    one_by_one = [node.name for node in net.graph.nodes if isinstance(node, ir.Conv2D) and node.kernel_size == (1, 1)]
    assert one_by_one == []
    pad_names = {node.name for node in pads}
    shortcut_params = sum(
        info.params for node, info in zip(net.graph.nodes, inference.layers, strict=True) if node.name in pad_names
    )
    assert shortcut_params == 0
    assert inference.total_params == _basic_resnet_params(blocks, "A", "keras", bias=True)


SMALL_RESIDUAL = """\
input 8x8x16
defaults:
  residual: shortcut {option}
[3×3, 32; 3×3, 32] ×2 /2
"""
# Keras convention, conv bias on, BN = 4C:
_MAIN = (
    (_conv(3, 16, 32) + _bn(32) + _conv(3, 32, 32) + _bn(32))  # block 1: 4,640 + 128 + 9,248 + 128
    + (_conv(3, 32, 32) + _bn(32) + _conv(3, 32, 32) + _bn(32))  # block 2: 9,248 + 128 + 9,248 + 128
)
SHORTCUT_PARAMS = {
    "A": 32_896,  # = _MAIN: an identity zero-padded from 16 to 32 channels has no weights
    "B": 32_896 + (16 * 32 + 32) + 4 * 32,  # a projection where the shape changes (block 1): 544 + 128
    "C": 32_896 + (16 * 32 + 32) + 4 * 32 + (32 * 32 + 32) + 4 * 32,  # projections in both: + 1,056 + 128
}


def test_small_residual_main_path_by_hand() -> None:
    assert _MAIN == 4_640 + 128 + 9_248 + 128 + 9_248 + 128 + 9_248 + 128 == 32_896


@pytest.mark.parametrize("option", SHORTCUT_PARAMS)
def test_shortcut_options_change_params_by_hand(option: str) -> None:
    net = papernet.parse(SMALL_RESIDUAL.format(option=option))
    assert [d.code for d in net.check()] == []
    inference = net.infer()
    assert inference.total_params == SHORTCUT_PARAMS[option]
    assert inference.layers[-1].shape == (4, 4, 32)  # 8×8 halved by the stage stride
    projections = [n for n in net.graph.nodes if isinstance(n, ir.Conv2D) and n.kernel_size == (1, 1)]
    assert len(projections) == {"A": 0, "B": 1, "C": 2}[option]
    model = net.to_keras()
    try:
        assert model.count_params() == SHORTCUT_PARAMS[option]
        assert tuple(model.output.shape) == (None, 4, 4, 32)
    finally:
        del model
        keras.backend.clear_session()


def test_unlabelled_bracket_blocks_belong_to_one_stage() -> None:
    """`[a; b] ×2` without a label is one stage of two blocks: block1 and block2 of the same stage
    (the summary's stage / block / layer structure and the Keras layer names follow from this)."""
    net = papernet.parse(SMALL_RESIDUAL.format(option="B"))
    scopes = sorted({node.scope for node in net.graph.nodes if node.scope})
    assert len({scope[0] for scope in scopes}) == 1, scopes
    assert [scope[1] for scope in scopes] == ["block1", "block2"], scopes


def test_stride_placement_on_a_kernel_the_bracket_lacks_is_reported() -> None:
    """`stride on 5x5` where no conv of the bracket is 5×5 cannot be honoured; saying nothing and
    putting the stride on the first conv instead hides the mistake."""
    text = "input 8x8x16\ndefaults:\n  residual: shortcut B, stride on 5x5\n[1×1, 8; 3×3, 8; 1×1, 32] ×2 /2\n"
    net = papernet.parse(text, "stride_on.pn")
    errors = [d for d in net.check() if d.is_error]
    assert errors, "no diagnostic for a stride placement that matches no conv"
    assert any(d.span is not None and d.span.line in (3, 4) for d in errors), [d.message for d in errors]


# ---- torchvision: --convention torch, no conv bias, stride on the 3×3 ---------------------------------

TORCHVISION = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032}


def torchvision_text(name: str, *, keep_flops_claim: bool = False) -> str:
    """The shipped spec with torchvision's settings instead of the paper's. Table 1's FLOPs
    describe the paper's variant (option A for 18/34, stride on the 1×1), so the claim is
    dropped unless asked for."""
    text = shipped_specs()[name].read_text(encoding="utf-8")
    if not keep_flops_claim:
        text = re.sub(r"(?m)^total FLOPs .*\n", "", text)
    conv, residual = "  conv: padding same, batchnorm, bias off\n", "  residual: shortcut B, stride on 3x3\n"
    changed = text.replace("  conv: padding same, batchnorm\n", conv)
    changed = re.sub(r"  residual: shortcut [AB], stride on first\n", residual, changed)
    assert changed.count(conv) == 1 and changed.count(residual) == 1, "the shipped spec's defaults changed"
    return changed


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_params(name: str) -> None:
    net = papernet.parse(torchvision_text(name), f"{name}_torchvision.pn")
    assert net.infer("torch").total_params == TORCHVISION[name]
    assert net.infer("torch").total_trainable == TORCHVISION[name]  # PyTorch counts no running statistics


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_params_on_the_command_line(name: str, run_cli: RunCli, tmp_path: Path) -> None:
    spec = tmp_path / f"{name}_torchvision.pn"
    spec.write_text(torchvision_text(name), encoding="utf-8")
    result = run_cli("summary", str(spec), "--convention", "torch", "--format", "json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["convention"] == "torch"
    assert report["total"]["params"] == TORCHVISION[name]


def test_torchvision_resnet34_does_not_cost_table_1s_flops(run_cli: RunCli, tmp_path: Path) -> None:
    """Projections and the stride on the 3×3 cost more than the paper's option-A ResNet-34: the
    extra 1×1 projections at conv3_1, conv4_1, conv5_1 (28²·64·128, 14²·128·256, 7²·256·512)
    take 3,644,493,824 to 3.66×10⁹, which prints as 3.7, not Table 1's 3.6. The summary is
    still printed, and the exit code says the spec has an error."""
    projections = 28 * 28 * 64 * 128 + 14 * 14 * 128 * 256 + 7 * 7 * 256 * 512
    expected = _basic_resnet_macs((3, 4, 6, 3)) + projections
    assert not _rounds_to(expected, 3.6)
    spec = tmp_path / "resnet34_torchvision.pn"
    spec.write_text(torchvision_text("resnet34", keep_flops_claim=True), encoding="utf-8")
    result = run_cli("summary", str(spec), "--convention", "torch", "--format", "json")
    assert result.code == 1
    assert "error[P305]" in result.stderr and f"{expected:,}" in result.stderr, result.stderr
    assert result.stderr.count("error[") == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["total"]["params"] == TORCHVISION["resnet34"]
    assert report["total"]["macs"] == expected


def test_torchvision_resnet50_stride_on_3x3_costs_more(built: Callable[[str], Measured]) -> None:
    """Moving the stride from the first 1×1 to the 3×3 of conv3_1, conv4_1 and conv5_1 runs that 1×1
    at the stage's input size: 4× the positions, so 3/4·H·W·in·mid more multiply-adds each."""
    extra = sum(
        side * side * cin * mid * 3 // 4 for side, cin, mid in ((56, 256, 128), (28, 512, 256), (14, 1024, 512))
    )
    assert extra == 3 * 77_070_336
    net = papernet.parse(torchvision_text("resnet50"))
    assert net.infer("torch").total_macs == built("keras:ResNet50").macs + extra


# ---- MobileNet against keras.applications -----------------------------------------------------

WEIGHTED = ("Conv2D", "DepthwiseConv2D", "BatchNormalization")


def test_mobilenet_params_equal_keras_applications(built: Callable[[str], Measured]) -> None:
    theirs = built("keras:MobileNet")
    assert theirs.total == 4_253_864  # the reference figure, re-measured
    inference = papernet.load("mobilenet").infer()
    assert inference.total_params == theirs.total
    assert inference.total_trainable == theirs.trainable
    assert inference.total_params - inference.total_trainable == theirs.non_trainable
    ours = built("mobilenet")
    assert (ours.total, ours.trainable, ours.non_trainable) == (theirs.total, theirs.trainable, theirs.non_trainable)


def test_mobilenet_layers_equal_keras_applications_by_position(built: Callable[[str], Measured]) -> None:
    """The convs, depthwise convs and batch norms in order; Keras's classifier is a 1×1 conv on
    1×1×1024 (`conv_preds`), papernet's the FC-1000 Table 1 prints: the same 1024·1000 + 1000."""
    theirs = [layer for layer in built("keras:MobileNet").layers if layer.cls in WEIGHTED]
    head = theirs.pop()
    assert head.name == "conv_preds"
    ours = [layer for layer in built("mobilenet").layers if layer.cls in WEIGHTED]
    inferred = _shapes(papernet.load("mobilenet"))
    assert len(ours) == len(theirs) == 2 * 27  # conv1, 13 depthwise and 13 pointwise convs, each with a BN
    mismatches = []
    for position, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if (a.cls, a.shape, a.params) != (b.cls, b.shape, b.params) or inferred[a.name] != b.shape:
            mine, reference = (a.cls, a.shape, a.params, inferred[a.name]), (b.cls, b.shape, b.params)
            mismatches.append(f"#{position} {a.name} {mine} vs {b.name} {reference}")
    assert not mismatches, "\n".join(mismatches)
    dense = [layer for layer in built("mobilenet").layers if layer.cls == "Dense"]
    assert [layer.params for layer in dense] == [head.params] == [1024 * 1000 + 1000]


def test_mobilenet_depthwise_nodes_are_depthwise_in_keras(built: Callable[[str], Measured]) -> None:
    net = papernet.load("mobilenet")
    depthwise = [node.name for node in net.graph.nodes if isinstance(node, ir.DepthwiseConv2D)]
    assert len(depthwise) == 13  # Table 1's thirteen `Conv dw` rows
    live = built("mobilenet").by_name()
    assert all(live[name].cls == "DepthwiseConv2D" for name in depthwise)
    assert [name for name, layer in live.items() if layer.cls == "DepthwiseConv2D"] == depthwise


def test_mobilenet_macs_equal_keras_applications(built: Callable[[str], Measured]) -> None:
    assert papernet.load("mobilenet").infer().total_macs == built("keras:MobileNet").macs


# ---- AlexNet's two towers ------------------------------------------------------------------------

ALEXNET_TWO_TOWERS = (
    (11 * 11 * 3 * 96 + 96)  # conv1
    + (5 * 5 * 48 * 256 + 256)  # conv2: 256 kernels of 5×5×48
    + (3 * 3 * 256 * 384 + 384)  # conv3: sees both towers
    + (3 * 3 * 192 * 384 + 384)  # conv4: 384 kernels of 3×3×192
    + (3 * 3 * 192 * 256 + 256)  # conv5: 256 kernels of 3×3×192
    + (6 * 6 * 256 * 4096 + 4096)  # fc6
    + (4096 * 4096 + 4096)  # fc7
    + (4096 * 1000 + 1000)  # fc8
)


def test_alexnet_two_towers_by_hand(built: Callable[[str], Measured]) -> None:
    assert ALEXNET_TWO_TOWERS == 60_965_224
    assert papernet.load("alexnet_grouped").infer().total_params == ALEXNET_TWO_TOWERS
    assert built("alexnet_grouped").total == ALEXNET_TWO_TOWERS


def test_alexnet_grouped_convs_are_grouped_in_keras(built: Callable[[str], Measured]) -> None:
    layers = built("alexnet_grouped").by_name()
    kernels = {
        "conv1": ((11, 11, 3, 96), 1),
        "conv2": ((5, 5, 48, 256), 2),
        "conv3": ((3, 3, 256, 384), 1),
        "conv4": ((3, 3, 192, 384), 2),
        "conv5": ((3, 3, 192, 256), 2),
    }
    for name, (kernel, groups) in kernels.items():
        assert layers[name].cls == "Conv2D", name
        assert layers[name].config["groups"] == groups, name
        assert layers[name].kernel_shape == kernel, name


# ---- GoogLeNet -------------------------------------------------------------------------------------

GOOGLENET_TABLE_1 = [
    # (module, output side, #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj, output depth as printed)
    ("3a", 28, 64, 96, 128, 16, 32, 32, 256),
    ("3b", 28, 128, 128, 192, 32, 96, 64, 480),
    ("4a", 14, 192, 96, 208, 16, 48, 64, 512),
    ("4b", 14, 160, 112, 224, 24, 64, 64, 512),
    ("4c", 14, 128, 128, 256, 24, 64, 64, 512),
    ("4d", 14, 112, 144, 288, 32, 64, 64, 528),
    ("4e", 14, 256, 160, 320, 32, 128, 128, 832),
    ("5a", 7, 256, 160, 320, 32, 128, 128, 832),
    ("5b", 7, 384, 192, 384, 48, 128, 128, 1024),
]


def test_googlenet_parses_and_builds(built: Callable[[str], Measured]) -> None:
    net = papernet.load("googlenet")
    codes = {d.code for d in net.check()}
    assert codes, "the table's params and ops columns do not all fit its channel columns"
    assert all(code.startswith("P3") for code in codes), codes  # claim mismatches only, no shape errors
    assert net.infer().layers[-1].shape == (1000,)
    model = built("googlenet")
    assert model.layers[-1].shape == (1000,)
    assert model.total == net.infer().total_params


@pytest.mark.parametrize("row", GOOGLENET_TABLE_1, ids=[row[0] for row in GOOGLENET_TABLE_1])
def test_googlenet_module_output_is_the_sum_of_its_branches(row: tuple[Any, ...]) -> None:
    module, side, ones, _reduce3, threes, _reduce5, fives, proj, printed = row
    assert ones + threes + fives + proj == printed  # Table 1's output column agrees with its channel columns
    assert _shapes(papernet.load("googlenet"))[f"inception_{module}_output"] == (side, side, printed)


INCEPTION_3A = (
    (1 * 1 * 192 * 64 + 64)  # #1×1 on the 28×28×192 input
    + (1 * 1 * 192 * 96 + 96)  # #3×3 reduce
    + (3 * 3 * 96 * 128 + 128)  # #3×3
    + (1 * 1 * 192 * 16 + 16)  # #5×5 reduce
    + (5 * 5 * 16 * 32 + 32)  # #5×5
    + (1 * 1 * 192 * 32 + 32)  # pool proj after the 3×3/1 max pool
)


def test_googlenet_inception_3a_params_by_hand(built: Callable[[str], Measured]) -> None:
    assert INCEPTION_3A == 12_352 + 18_528 + 110_720 + 3_088 + 12_832 + 6_176 == 163_696
    net = papernet.load("googlenet")
    module = [
        info.params
        for node, info in zip(net.graph.nodes, net.infer().layers, strict=True)
        if node.scope[:1] == ("inception_3a",)
    ]
    assert len(module) == 8  # six convs, the pool and the concat
    assert sum(module) == INCEPTION_3A
    live = [layer.params for layer in built("googlenet").layers if layer.name.startswith("inception_3a_")]
    assert sum(live) == INCEPTION_3A
    # The table prints 159K: its own count (weights without biases, K = 1024) gives
    # 163,696 − 368 biases = 163,328 = 159.5K, so the row holds, with both figures in its row.
    row = next(r for r in net.reconcile().rows if r.layer == "inception_3a" and r.quantity == "params")
    assert row.verdict == "holds" and row.inferred == f"{INCEPTION_3A:,}" and row.counted.startswith("163,328 ")


def test_googlenet_fc_claims_are_checked() -> None:
    """Table 1's `linear` row claims 1000K params; FC-1000 on 1024 inputs has 1024·1000 + 1000 =
    1,025,000 with biases, and the table counts weights alone with K = 1024: 1,024,000 = 1000K.
    The claim sits on the FC line; the next line (`softmax -> 1×1×1000`) has a shape claim of its
    own, and both must be checked."""
    net = papernet.load("googlenet")
    text = net.sources[net.file]
    fc_line = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("FC-1000"))
    on_fc = [r for r in net.reconcile().rows if r.span.line == fc_line]
    assert [(r.quantity, r.verdict) for r in on_fc] == [("params", "holds"), ("ops", "holds")]
    assert on_fc[0].inferred == f"{1024 * 1000 + 1000:,}" and on_fc[0].counted.startswith("1,024,000 ")
    assert any(r.quantity == "output" and r.span.line == fc_line + 1 for r in net.reconcile().rows)


def test_claims_on_a_layer_survive_a_fused_activation_with_claims() -> None:
    """Minimal form of the above: an FC's params claim must not be dropped because the activation
    fused into it declares a shape. FC-10 on 8·8·4 inputs has 256·10 + 10 = 2,570 parameters."""
    net = papernet.parse("input 8x8x4\nflatten\nFC-10 params 5\nsoftmax -> 10\n", "fused.pn")
    assert [(d.code, d.span.line if d.span else None) for d in net.check()] == [("P302", 3)]


# ---- diagnostics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    content: str
    code: str
    line: int
    column: int
    needles: tuple[str, ...] = ()


CASES = [
    # The classic tutorial error: the branch goes from 64 to 128 channels, the shortcut stays the
    # identity, and the add sees 56×56×64 and 56×56×128.
    Case(
        "add_channels_changed",
        "input 56x56x64\ndefaults:\n  residual: shortcut identity\n\nconv3-64 padding same\n[3×3, 64; 3×3, 128]\n",
        "P209",
        6,
        1,
        ("56×56×64", "56×56×128", "line 5", "line 6", "shortcut B"),
    ),
    Case(
        "bracket_part_not_one_conv",
        "input 56x56x64\n[3×3, 64, maxpool; 3×3, 64]\n",
        "P117",
        2,
        2,
        ("one conv",),
    ),
    Case("stage_stride_on_plain_layer", "input 32x32x3\nconv3-64 x2 /2\n", "P116", 2, 13, ("/2", "residual bracket")),
]


def _first_caret_column(stderr: str) -> int:
    """1-based display column of the first caret under the first source excerpt."""
    lines = stderr.split("\n")
    excerpt = next(i for i, line in enumerate(lines) if re.match(r"\d+ \| ", line))
    gutter = lines[excerpt].index("|") + 2
    return lines[excerpt + 1].index("^") - gutter + 1


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_branching_error_is_rendered(
    case: Case, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, golden: Any
) -> None:
    name = f"{case.name}.pn"
    (tmp_path / name).write_text(case.content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", name)
    assert "Traceback" not in result.stderr
    assert result.code == 1, result.stderr
    assert result.stdout == ""
    headline = result.stderr.split("\n", 1)[0]
    assert headline.startswith(f"{name}:{case.line}:{case.column}: error[{case.code}]: "), headline
    assert result.stderr.count("error[") == 1, result.stderr
    for needle in case.needles:
        assert needle in result.stderr, needle
    assert _first_caret_column(result.stderr) == case.column
    golden.check(f"branching/{case.name}.txt", result.stderr)
