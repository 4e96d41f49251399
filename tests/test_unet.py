"""U-Net (Ronneberger et al. 2015) as Figure 1 draws it: `specs/unet.pn` against the figure's sizes
and against a Keras U-Net written here by hand from §2 of the paper.

The hand-written model is the independent source: Conv2D (3×3, valid, ReLU), MaxPooling2D (2×2),
Conv2DTranspose (2×2, stride 2: the "up-conv"), Cropping2D (the "copy and crop": the skip cut
to the up-conv's size, the same amount on each side) and Concatenate, then a 1×1 Conv2D to two
classes. Its parameter count is also worked out by hand below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from networks import built_once
from test_zoo import Measured, assert_same_layers, fits, from_source, measure, output_after_line, size_claims

import papernet
from papernet.resources import shipped_specs

keras = pytest.importorskip("keras")


FIGURE_1 = [
    # (what the figure draws, its size: H = W, channels), in the figure's order
    ("contracting 1", 568, 64),
    ("pool 1", 284, 64),
    ("contracting 2", 280, 128),
    ("pool 2", 140, 128),
    ("contracting 3", 136, 256),
    ("pool 3", 68, 256),
    ("contracting 4", 64, 512),
    ("pool 4", 32, 512),
    ("bottom", 28, 1024),
    ("up-conv 1", 56, 512),
    ("copy and crop 1", 56, 1024),
    ("expansive 1", 52, 512),
    ("up-conv 2", 104, 256),
    ("copy and crop 2", 104, 512),
    ("expansive 2", 100, 256),
    ("up-conv 3", 200, 128),
    ("copy and crop 3", 200, 256),
    ("expansive 3", 196, 128),
    ("up-conv 4", 392, 64),
    ("copy and crop 4", 392, 128),
    ("expansive 4", 388, 64),
    ("output segmentation map", 388, 2),
]
"""Figure 1's sizes: each conv pair's output, each pool, each up-conv and each concatenation."""

WIDTHS = (64, 128, 256, 512, 1024)


def hand_written_unet() -> Any:
    """§2 of the paper, in Keras."""
    layers = keras.layers

    def step(x: Any, channels: int) -> Any:
        x = layers.Conv2D(channels, 3, activation="relu")(x)
        return layers.Conv2D(channels, 3, activation="relu")(x)

    inputs = keras.Input((572, 572, 1))
    x = inputs
    skips = []
    for channels in WIDTHS[:-1]:
        x = step(x, channels)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    x = step(x, WIDTHS[-1])
    for channels, skip in zip(reversed(WIDTHS[:-1]), reversed(skips), strict=True):
        x = layers.Conv2DTranspose(channels, 2, strides=2)(x)
        cut = (skip.shape[1] - x.shape[1]) // 2
        cropped = layers.Cropping2D(cut)(skip)
        x = layers.Concatenate()([cropped, x])
        x = step(x, channels)
    outputs = layers.Conv2D(2, 1)(x)
    return keras.Model(inputs, outputs)


def _conv(kernel: int, channels_in: int, channels_out: int) -> int:
    return kernel * kernel * channels_in * channels_out + channels_out


def params_by_hand() -> int:
    contracting = 0
    channels_in = 1
    for channels in WIDTHS:
        contracting += _conv(3, channels_in, channels) + _conv(3, channels, channels)
        channels_in = channels
    expansive = 0
    for channels in reversed(WIDTHS[:-1]):
        expansive += _conv(2, 2 * channels, channels)  # up-conv: halves the channels
        expansive += _conv(3, 2 * channels, channels) + _conv(3, channels, channels)  # after the concat
    return contracting + expansive + _conv(1, 64, 2)


@pytest.fixture(scope="module")
def built() -> Iterator[Callable[[str], Measured]]:
    """`built("keras")`: the hand-written model; `built("live")` and `built("source")`: the spec's."""
    once = built_once(measure)
    makers = {
        "keras": hand_written_unet,
        "live": lambda: papernet.load("unet").to_keras(),
        "source": lambda: from_source("unet"),
    }

    def get(key: str) -> Measured:
        return once(key, makers[key])

    yield get
    keras.backend.clear_session()


# ---- the hand-written model against the arithmetic --------------------------------------


def test_hand_written_unet_is_figure_1(built: Callable[[str], Measured]) -> None:
    model = built("keras")
    assert model.total == params_by_hand() == 31_030_658
    assert model.layers[-1].output_shape == (None, 388, 388, 2)
    sizes = [layer.output_shape[1:] for layer in model.layers]
    for what, side, channels in FIGURE_1:
        assert (side, side, channels) in sizes, what


# ---- the spec against the figure and the hand-written model -----------------------------


def test_the_spec_claims_figure_1s_sizes_and_each_holds() -> None:
    text = shipped_specs()["unet"].read_text(encoding="utf-8")
    claims = size_claims(text)
    assert [declared for _, declared in claims] == [(side, side, channels) for _, side, channels in FIGURE_1]
    for (line, declared), (what, _, _) in zip(claims, FIGURE_1, strict=True):
        shape = output_after_line(text, line, "unet.pn")
        assert fits(declared, shape), f"{what} (line {line}): the network there gives {shape}"


def test_every_size_claim_of_figure_1_holds() -> None:
    reconciliation = papernet.load("unet").reconcile()
    assert not [d for d in reconciliation.diagnostics if d.is_error]
    declared = [row.declared for row in reconciliation.rows if row.quantity == "output"]
    assert declared == [f"{side}×{side}×{channels}" for _, side, channels in FIGURE_1]
    assert all(row.verdict == "holds" for row in reconciliation.rows)


def test_spec_params_equal_hand_written_unet(built: Callable[[str], Measured]) -> None:
    theirs = built("keras")
    inference = papernet.load("unet").infer()
    assert inference.layers[0].shape == (572, 572, 1)
    assert inference.layers[-1].shape == (388, 388, 2)
    assert (inference.total_params, inference.total_trainable) == (theirs.total, theirs.trainable)


def test_live_model_equals_hand_written_unet_layer_by_layer(built: Callable[[str], Measured]) -> None:
    assert_same_layers(built("live"), built("keras"))


def test_generated_source_builds_hand_written_unet(built: Callable[[str], Measured]) -> None:
    ours = built("source")
    assert ours.total == built("keras").total
    assert_same_layers(ours, built("keras"))
