"""The Keras zoo: each shipped spec, written as its paper's table reads, is keras.applications' model.

For every network of `ZOO`, `keras.applications.X(weights=None)` is built once and measured,
and the spec must equal it:

- papernet's inference (no Keras): total parameters and the trainable / non-trainable split;
- the model built by the generated source (`to_source()`, executed), layer by layer: class,
  output shape, trainable and non-trainable weights, the settings that decide its computation
  (kernel, strides, activation, batch-norm ε …), the padding each conv and pool applies, and
  which layers feed it; the live model (`to_keras()`, equal to it by test_source.py) as
  `papernet build` saves it, for two of them;
- the paper's output sizes, written in the spec as claims, all hold (`reconcile()`).

A `ZeroPadding2D` is not compared as a layer of its own: it is folded into the conv or pool it
feeds, as the padding that layer applies. Keras writes ResNet's and DenseNet's stems as
ZeroPadding2D + a `valid` conv, papernet where it can as one `same` conv; the computation
(window positions, output shape, weights) is what must agree, and it is compared exactly.
Keras's stochastic-depth Dropouts (EfficientNet's, with a noise_shape: identities at inference)
are folded away the same way and compared on their own.

Totals in `ZOO` are keras.applications' own figures, re-measured by every run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from networks import built_once

import papernet
from papernet.resources import shipped_specs

keras = pytest.importorskip("keras")


@dataclass(frozen=True)
class Network:
    spec: str
    application: str  # the keras.applications constructor
    total: int  # keras.applications' parameter count


ZOO = [
    Network("densenet121", "DenseNet121", 8_062_504),
    Network("densenet169", "DenseNet169", 14_307_880),
    Network("densenet201", "DenseNet201", 20_242_984),
    Network("inception_v3", "InceptionV3", 23_851_784),
    Network("xception", "Xception", 22_910_480),
    Network("mobilenet_v2", "MobileNetV2", 3_538_984),
    Network("resnet50_v2", "ResNet50V2", 25_613_800),
    Network("resnet101_v2", "ResNet101V2", 44_675_560),
    Network("resnet152_v2", "ResNet152V2", 60_380_648),
    Network("efficientnet_b0", "EfficientNetB0", 5_330_571),
]
IDS = [network.spec for network in ZOO]


PADDED = frozenset({"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D"})
"""Layers whose window positions depend on padding (a transposed conv's output shape says what its padding did)."""

SETTINGS = (
    "kernel_size",
    "strides",
    "dilation_rate",
    "pool_size",
    "activation",
    "max_value",
    "epsilon",
    "momentum",
    "center",
    "scale",
    "axis",
)
"""The layer arguments, besides padding, that decide what a layer computes."""


@dataclass(frozen=True)
class Layer:
    """What decides a layer's computation and cost, independent of its name."""

    cls: str
    output_shape: tuple[int | None, ...]
    trainable: int
    non_trainable: int
    padding: tuple[tuple[int, int], tuple[int, int]] | None  # (top, bottom), (left, right); None if not PADDED
    inputs: tuple[int, ...]  # positions of the layers it reads, in this list (-1: the model's input)
    settings: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Measured:
    layers: tuple[Layer, ...]
    total: int
    trainable: int
    non_trainable: int
    drop_path: tuple[float, ...] = ()  # the rates of stochastic-depth Dropouts, which `layers` leaves out


def _size(weights: list[Any]) -> int:
    return sum(math.prod(w.shape) for w in weights)


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Keras's (and TensorFlow's) `same`: output ceil(size/stride), the odd pixel after."""
    span = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def _own_padding(layer: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    config = layer.get_config()
    if config["padding"] == "valid":
        return (0, 0), (0, 0)
    kernel = config.get("kernel_size") or config["pool_size"]
    strides = config["strides"] or kernel
    dilation = config.get("dilation_rate", (1, 1))
    _, height, width, _ = layer.input.shape
    return (
        _same_padding(height, kernel[0], strides[0], dilation[0]),
        _same_padding(width, kernel[1], strides[1], dilation[1]),
    )


def _zero_padding(layer: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    (top, bottom), (left, right) = layer.get_config()["padding"]
    return (top, bottom), (left, right)


def _settings(layer: Any) -> tuple[tuple[str, Any], ...]:
    config = layer.get_config()
    if "axis" in config:  # -1 and 3 are one axis of a 4-D tensor
        config["axis"] = _axes(config["axis"], len(layer.output.shape))
    return tuple((key, _plain(config[key])) for key in SETTINGS if key in config)


def _axes(axis: Any, rank: int) -> Any:
    if isinstance(axis, int):
        return axis % rank
    return tuple(a % rank for a in axis)


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _sources(layer: Any) -> list[Any]:
    """The layers whose outputs `layer` reads, in argument order."""
    node = layer._inbound_nodes[0]
    return [tensor._keras_history.operation for tensor in node.input_tensors]


def measure(model: Any) -> Measured:
    """The model's layers as `Layer`s, ZeroPadding2D folded into the layer it feeds."""
    position: dict[int, int] = {}  # id(keras layer) → position in `layers`; a ZeroPadding2D maps to its source's
    padding_of: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {}
    layers: list[Layer] = []
    drop_path: list[float] = []
    for layer in model.layers:
        cls = type(layer).__name__
        sources = _sources(layer) if cls != "InputLayer" else []
        if cls == "InputLayer":
            position[id(layer)] = -1
            continue
        if cls == "ZeroPadding2D":
            (source,) = sources
            position[id(layer)] = position[id(source)]
            padding_of[id(layer)] = _zero_padding(layer)
            continue
        if cls == "Dropout" and _plain(layer.get_config().get("noise_shape")) == (None, 1, 1, 1):
            # drop path, one draw per sample: an identity at inference
            (source,) = sources
            position[id(layer)] = position[id(source)]
            drop_path.append(layer.get_config()["rate"])
            continue
        padding = None
        if cls in PADDED:
            (source,) = sources
            (top, bottom), (left, right) = _own_padding(layer)
            (pad_top, pad_bottom), (pad_left, pad_right) = padding_of.get(id(source), ((0, 0), (0, 0)))
            padding = (top + pad_top, bottom + pad_bottom), (left + pad_left, right + pad_right)
        position[id(layer)] = len(layers)
        layers.append(
            Layer(
                cls=cls,
                output_shape=tuple(layer.output.shape),
                trainable=_size(layer.trainable_weights),
                non_trainable=_size(layer.non_trainable_weights),
                padding=padding,
                inputs=tuple(position[id(source)] for source in sources),
                settings=_settings(layer),
            )
        )
    return Measured(
        tuple(layers),
        model.count_params(),
        _size(model.trainable_weights),
        _size(model.non_trainable_weights),
        tuple(drop_path),
    )


def from_source(spec: str | Path) -> Any:
    source = papernet.load(spec).to_source()
    namespace: dict[str, Any] = {"__name__": "papernet_generated"}
    exec(compile(source, f"{Path(spec).stem}.py", "exec"), namespace)
    (build,) = [value for name, value in namespace.items() if name.startswith("build_") and callable(value)]
    return build()


@pytest.fixture(scope="module")
def built() -> Iterator[Callable[[str], Measured]]:
    """`built("keras:DenseNet121")`: keras.applications' model; `built("source:densenet121")`: the
    model the spec's generated source builds. Each is built once per module and freed; only its
    measurement is kept."""
    once = built_once(measure)

    def get(key: str) -> Measured:
        kind, _, name = key.rpartition(":")
        if kind == "keras":
            return once(key, lambda: getattr(keras.applications, name)(weights=None))
        assert kind == "source", key
        return once(key, lambda: from_source(name))

    yield get
    keras.backend.clear_session()


def assert_same_layers(ours: Measured, theirs: Measured, padding: bool = True) -> None:
    """Layer by layer; with `padding=False`, everything but the padding a conv or pool applies."""
    if len(ours.layers) != len(theirs.layers):
        pytest.fail(f"{len(ours.layers)} layers (without ZeroPadding2D), keras.applications has {len(theirs.layers)}")
    differences = [
        f"#{position}: papernet {mine}\n       keras {reference}"
        for position, (mine, reference) in enumerate(zip(ours.layers, theirs.layers, strict=True))
        if (mine if padding else replace(mine, padding=None))
        != (reference if padding else replace(reference, padding=None))
    ]
    if differences:
        pytest.fail(f"{len(differences)} layers differ; the first:\n" + "\n".join(differences[:5]))


# ---- inference, without Keras ----------------------------------------------------------


@pytest.mark.parametrize("network", ZOO, ids=IDS)
def test_inferred_params_equal_keras_applications(network: Network, built: Callable[[str], Measured]) -> None:
    theirs = built(f"keras:{network.application}")
    assert theirs.total == network.total  # keras.applications' figure, re-measured
    inference = papernet.load(network.spec).infer()
    assert inference.total_params == theirs.total
    assert inference.total_trainable == theirs.trainable
    assert inference.total_params - inference.total_trainable == theirs.non_trainable


# ---- the generated source and the live model, layer by layer --------------------------
# The generated source's model is compared here; test_source.py compares it with the live model
# (names, classes, shapes, params) for every shipped spec, so the live model is not rebuilt here,
# except by `papernet build`.


@pytest.mark.parametrize("network", ZOO, ids=IDS)
def test_generated_source_equals_keras_applications_layer_by_layer(
    network: Network, built: Callable[[str], Measured]
) -> None:
    ours, theirs = built(f"source:{network.spec}"), built(f"keras:{network.application}")
    assert ours.total == theirs.total == network.total
    assert (ours.trainable, ours.non_trainable) == (theirs.trainable, theirs.non_trainable)
    assert_same_layers(ours, theirs, padding=False)


@pytest.mark.parametrize("network", ZOO, ids=IDS)
def test_generated_source_pads_as_keras_applications(network: Network, built: Callable[[str], Measured]) -> None:
    assert_same_layers(built(f"source:{network.spec}"), built(f"keras:{network.application}"))


@pytest.mark.parametrize("network", ZOO, ids=IDS)
def test_stochastic_depth_equals_keras_applications(network: Network, built: Callable[[str], Measured]) -> None:
    """The drop-path rates, in order. papernet evaluates `0.2*b/16` exactly (7/80 = 0.0875), Keras in
    floating point (0.2*7/16 = 0.08750000000000001): equal to within float rounding."""
    ours, theirs = built(f"source:{network.spec}").drop_path, built(f"keras:{network.application}").drop_path
    assert ours == pytest.approx(theirs, rel=1e-12, abs=0)


@pytest.mark.parametrize("spec", ["densenet121", "mobilenet_v2"])
def test_build_saves_the_keras_applications_model(
    spec: str, run_cli: Any, tmp_path: Path, built: Callable[[str], Measured]
) -> None:
    network = next(n for n in ZOO if n.spec == spec)
    output = tmp_path / f"{spec}.keras"
    result = run_cli("build", spec, "-o", str(output))
    assert result.code == 0, result.stderr
    assert f"{network.total:,} parameters" in result.stderr
    saved = built_once(measure)(output, lambda: keras.saving.load_model(output))
    assert saved.total == network.total
    assert_same_layers(saved, built(f"keras:{network.application}"), padding=False)


# ---- the paper's output sizes ----------------------------------------------------------

SIZE_CLAIM = re.compile(r"(?:->|→)\s*(\d+(?:\s*[x×]\s*\d+)*)")


def size_claims(text: str) -> list[tuple[int, tuple[int, ...]]]:
    """(line, declared size) of every output-size claim in a spec's text, read from the text."""
    claims = []
    for number, line in enumerate(text.splitlines(), 1):
        match = SIZE_CLAIM.search(line.split("#")[0])
        if match:
            claims.append((number, tuple(int(d) for d in re.split(r"\s*[x×]\s*", match[1]))))
    return claims


def _claimed_lines(spec: str) -> set[int]:
    return {line for line, _ in size_claims(shipped_specs()[spec].read_text(encoding="utf-8"))}


def fits(declared: tuple[int, ...], shape: tuple[int, ...] | None) -> bool:
    """A size as papers print it: H×W×C, H×W (any channels), C or 1×1×C for a vector, 1×1 for any vector."""
    if shape is None:
        return False
    if len(shape) == 1:
        return declared in {shape, (1, 1, *shape), (1, 1)}
    return declared == shape or declared == shape[:2]


def output_after_line(text: str, line: int, file: str) -> tuple[int, ...] | None:
    """The network's output when the spec stops after `line` (the specs are written top to bottom)."""
    head = "\n".join(text.splitlines()[:line]) + "\n"
    return papernet.parse(head, file).infer().layers[-1].shape


def _reconciled(spec: str) -> tuple[set[int], list[str]]:
    reconciliation = papernet.load(spec).reconcile()
    lines = {row.span.line for row in reconciliation.rows if row.quantity == "output"}
    failing = [
        f"line {row.span.line} {row.layer}: {row.declared} ≠ {row.inferred}"
        for row in reconciliation.rows
        if row.verdict != "holds"
    ]
    return lines, failing


@pytest.mark.parametrize("network", ZOO, ids=IDS)
def test_every_size_claim_is_checked_and_holds(network: Network) -> None:
    checked, failing = _reconciled(network.spec)
    assert checked == _claimed_lines(network.spec)
    assert not failing, "\n".join(failing)


@pytest.mark.parametrize("network", ZOO, ids=IDS)
def test_every_size_claim_holds_where_it_is_written(network: Network) -> None:
    """Independent of how `check` attributes claims: the spec cut after each claim's line ends in
    the declared size (block uses included, whose claims `check` does not see yet)."""
    text = shipped_specs()[network.spec].read_text(encoding="utf-8")
    claims = size_claims(text)
    assert len(claims) >= 5
    wrong = [
        f"line {line}: declared {'×'.join(map(str, declared))}, the network there gives {shape}"
        for line, declared in claims
        if not fits(declared, shape := output_after_line(text, line, f"{network.spec}.pn"))
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("network", ZOO, ids=IDS)
def test_spec_checks_clean(network: Network) -> None:
    assert [str(d) for d in papernet.load(network.spec).check() if d.is_error] == []
    _, failing = _reconciled(network.spec)
    assert not failing, "\n".join(failing)
