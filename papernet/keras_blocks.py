"""Keras layers that papernet writes as one construct, for `papernet import-keras`: the
post-activation residual blocks its bracket lowering rebuilds exactly (`[1×1, 64; 3×3, 64; 1×1, 256] ×3 /2`),
and squeeze-and-excitation (`se 4 silu`). Pure: it never imports Keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from papernet.keras_words import (
    ImportFailure,
    KerasLayer,
    activation_named,
    activation_word,
    batchnorm_notes,
    is_same_here,
    pair,
)
from papernet.series_parallel import Element, Fork, Step, nodes_of


@dataclass(frozen=True)
class Bracket:
    """One residual block papernet's bracket lowering rebuilds exactly."""

    convs: tuple[tuple[tuple[int, int], int], ...]  # (kernel, filters) per conv
    stride: int
    strided: int  # which conv has the stride (0: the first)
    shortcut: str  # identity | projection | pad
    changes: bool  # the block changes the shape (so B and A do something)
    bias: bool
    first: int  # the block's first conv (whose Keras name may name the stage)
    out: int  # the Keras layer of the block's final ReLU
    start: int  # the block's first Keras layer
    notes: tuple[str, ...] = ()


def fits(block: Bracket, option: str, stride_on: str) -> bool:
    """Whether papernet's bracket with these settings builds exactly this block."""
    if option == "C" or (option == "B" and block.changes):
        expected = "projection"
    else:
        expected = "pad" if block.changes else "identity"
    if block.shortcut != expected:
        return False
    if block.stride == 1:
        return True
    if stride_on == "first":
        return block.strided == 0
    kernels = [f"{k[0]}x{k[1]}" for k, _ in block.convs]
    return stride_on in kernels and kernels.index(stride_on) == block.strided


def residual_block(fork: Fork, out: Step, layers: Sequence[KerasLayer]) -> Bracket | None:
    """The block a post-activation residual bracket would build (conv → BN → ReLU …, the last
    conv → BN, the shortcut, the add, ReLU), or None if `fork` is something else."""
    merge, relu = layers[fork.node], layers[out.node]
    if merge.cls != "Add" or len(fork.branches) != 2 or _plain_relu(relu) is False:
        return None
    for main, shortcut in (fork.branches, fork.branches[::-1]):
        found = _main_path(main, layers)
        if found is None:
            continue
        convs, stride, strided, bias, notes = found
        kind = _shortcut(shortcut, layers, stride, convs[-1][1], bias)
        if kind is None:
            continue
        assert isinstance(main[0], Step)
        block_input = layers[layers[main[0].node].inputs[0]]
        changes = stride != 1 or block_input.shape[-1] != convs[-1][1]
        start = min(nodes_of((fork,)))
        return Bracket(tuple(convs), stride, strided, kind, changes, bias, main[0].node, out.node, start, notes)
    return None


def _plain_relu(layer: KerasLayer) -> bool:
    try:
        return activation_word(layer) == "relu"
    except ImportFailure:
        return False


def _main_path(
    branch: Sequence[Element], layers: Sequence[KerasLayer]
) -> tuple[list[tuple[tuple[int, int], int]], int, int, bool, tuple[str, ...]] | None:
    if not all(isinstance(e, Step) for e in branch):
        return None
    steps = [layers[e.node] for e in branch if isinstance(e, Step)]
    if len(steps) < 5 or (len(steps) + 1) % 3 != 0:
        return None
    convs: list[tuple[tuple[int, int], int]] = []
    strides: list[int] = []
    biases: set[bool] = set()
    notes: list[str] = []
    for j in range(0, len(steps), 3):
        conv, bn = steps[j], steps[j + 1]
        relu = steps[j + 2] if j + 2 < len(steps) else None
        if conv.cls != "Conv2D" or bn.cls != "BatchNormalization" or (relu is not None and not _plain_relu(relu)):
            return None
        config = conv.config
        kernel = pair(config["kernel_size"])
        step = pair(config.get("strides", 1))
        if (
            step[0] != step[1]
            or pair(config.get("dilation_rate", 1)) != (1, 1)
            or config.get("groups", 1) != 1
            or config.get("activation", "linear") != "linear"
            or not is_same_here(conv, kernel)
            or not plain_batchnorm(bn, notes)
        ):
            return None
        convs.append((kernel, int(config["filters"])))
        strides.append(step[0])
        biases.add(bool(config.get("use_bias", True)))
    strided = [j for j, s in enumerate(strides) if s != 1]
    if len(strided) > 1 or len(biases) != 1:
        return None
    stride = strides[strided[0]] if strided else 1
    return convs, stride, strided[0] if strided else 0, biases.pop(), tuple(notes)


def plain_batchnorm(layer: KerasLayer, notes: list[str]) -> bool:
    config = layer.config
    if (
        not config.get("center", True)
        or not config.get("scale", True)
        or config.get("axis", -1) not in (-1, [-1], 3, [3])
    ):
        return False
    notes += batchnorm_notes(config)
    return True


def _shortcut(
    branch: Sequence[Element], layers: Sequence[KerasLayer], stride: int, channels: int, bias: bool
) -> str | None:
    if not branch:
        return "identity"
    if not all(isinstance(e, Step) for e in branch):
        return None
    steps = [layers[e.node] for e in branch if isinstance(e, Step)]
    if len(steps) == 1 and steps[0].cls == "ZeroPaddedShortcut":
        config = steps[0].config
        return "pad" if int(config.get("strides", 1)) == stride and int(config.get("channels", 0)) == channels else None
    if len(steps) != 2 or steps[0].cls != "Conv2D" or steps[1].cls != "BatchNormalization":
        return None
    config = steps[0].config
    fits = (
        pair(config["kernel_size"]) == (1, 1)
        and pair(config.get("strides", 1)) == (stride, stride)
        and int(config["filters"]) == channels
        and bool(config.get("use_bias", True)) == bias
        and config.get("activation", "linear") == "linear"
        and config.get("groups", 1) == 1
        and is_same_here(steps[0], (1, 1))
        and plain_batchnorm(steps[1], [])
    )
    return "projection" if fits else None


def placement(block: Bracket) -> str:
    if block.strided == 0:
        return "first"
    kernel = block.convs[block.strided][0]
    return f"{kernel[0]}x{kernel[1]}"


def all_blocks(elements: Sequence[Element], layers: Sequence[KerasLayer]) -> list[Bracket]:
    found = []
    for position, element in enumerate(elements[:-1]):
        following = elements[position + 1]
        if isinstance(element, Fork) and isinstance(following, Step):
            block = residual_block(element, following, layers)
            if block is not None:
                found.append(block)
    return found


@dataclass(frozen=True)
class SqueezeExcite:
    """Squeeze-and-excitation as papernet's `se` builds it (Hu et al. 2018, as Keras's EfficientNet):
    global average pool (→ reshape to 1×1×C) → 1×1 conv to `width` with `activation` → 1×1 conv back
    to the C channels with sigmoid → multiply the input by it."""

    width: int
    activation: str  # the squeeze conv's, as the notation names it


def squeeze_excite(fork: Fork, layers: Sequence[KerasLayer]) -> SqueezeExcite | None:
    """The squeeze-and-excitation `fork` is (a Multiply of its input and the channel weights), or None."""
    merge = layers[fork.node]
    if merge.cls != "Multiply" or len(fork.branches) != 2:
        return None
    for identity, weights in (fork.branches, fork.branches[::-1]):
        if identity or not all(isinstance(e, Step) for e in weights):
            continue
        steps = [layers[e.node] for e in weights if isinstance(e, Step)]
        if steps and steps[0].cls == "GlobalAveragePooling2D" and not steps[0].config.get("keepdims", False):
            pool, rest = steps[0], steps[1:]
            channels = pool.input_shape[-1]
            if not rest or rest[0].cls != "Reshape" or tuple(rest[0].config["target_shape"]) != (1, 1, channels):
                continue
            rest = rest[1:]
        elif steps and steps[0].cls == "GlobalAveragePooling2D":
            channels, rest = steps[0].input_shape[-1], steps[1:]
        else:
            continue
        if len(rest) != 2 or not all(_pointwise(conv) for conv in rest):
            continue
        squeeze, expand = rest
        if int(expand.config["filters"]) != channels or expand.config.get("activation") != "sigmoid":
            continue
        activation = activation_named(squeeze.config.get("activation", "linear"), squeeze)
        return SqueezeExcite(int(squeeze.config["filters"]), activation)
    return None


def _pointwise(layer: KerasLayer) -> bool:
    """A 1×1 conv with a bias, of stride 1: one of squeeze-and-excitation's."""
    config = layer.config
    return (
        layer.cls == "Conv2D"
        and pair(config["kernel_size"]) == (1, 1)
        and pair(config.get("strides", 1)) == (1, 1)
        and pair(config.get("dilation_rate", 1)) == (1, 1)
        and config.get("groups", 1) == 1
        and bool(config.get("use_bias", True))
    )
