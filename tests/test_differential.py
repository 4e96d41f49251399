"""Differential tests: Keras itself agrees with papernet's inference.

Every shipped spec (and a few networks that use what the shipped specs do not) is built as
a live Keras model, and each IR node's Keras layer(s) must have the output shape and
parameter counts that `papernet.infer` computed. VGG-16/19 must equal `keras.applications`
layer by layer; the other totals come from /work/shared/reference/README.md (the paper's
Table 2, measured exactly) or from arithmetic written out here.

Building a VGG takes seconds and a gigabyte, so each model is built once per module and
only a small record of it (names, classes, shapes, parameter counts) is kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from networks import EVERY_LAYER, built_once

import papernet
from papernet import ir
from papernet.backends.keras_args import dropout_layers
from papernet.resources import shipped_specs

keras = pytest.importorskip("keras")

NETWORKS: dict[str, Callable[[], papernet.Network]] = {
    **{name: (lambda name=name: papernet.load(name)) for name in sorted(shipped_specs())},
    "every_layer": lambda: papernet.parse(EVERY_LAYER, "every_layer.pn"),
    "vgg11 adapted": lambda: papernet.load("vgg11").adapt(input=(64, 64, 3), classes=10),
    "alexnet adapted": lambda: papernet.load("alexnet").adapt(input=(131, 131, 1), regression=(8, 8, 2)),
}
"""The shipped specs, and a few networks that exercise what they do not."""

CONFIG_KEYS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "dilation_rate",
    "groups",
    "use_bias",
    "activation",
    "pool_size",
    "units",
)
"""The layer arguments compared with keras.applications (those that decide the computation)."""


@dataclass(frozen=True)
class KerasLayer:
    name: str
    cls: str
    output_shape: tuple[int | None, ...]
    params: int
    trainable: int
    non_trainable: int
    config: dict[str, Any]


@dataclass(frozen=True)
class KerasModel:
    layers: tuple[KerasLayer, ...]
    total: int
    trainable: int
    non_trainable: int

    def by_name(self) -> dict[str, KerasLayer]:
        return {layer.name: layer for layer in self.layers}


def _weights_size(weights: list[Any]) -> int:
    return sum(math.prod(w.shape) for w in weights)


def measure(model: Any) -> KerasModel:
    """What the tests need from a Keras model, so that the model itself can be freed."""
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        layers.append(
            KerasLayer(
                name=layer.name,
                cls=type(layer).__name__,
                output_shape=tuple(layer.output.shape),
                params=layer.count_params(),
                trainable=_weights_size(layer.trainable_weights),
                non_trainable=_weights_size(layer.non_trainable_weights),
                config={key: config[key] for key in CONFIG_KEYS if key in config},
            )
        )
    return KerasModel(
        tuple(layers),
        model.count_params(),
        _weights_size(model.trainable_weights),
        _weights_size(model.non_trainable_weights),
    )


@pytest.fixture(scope="module")
def built() -> Iterator[Callable[[str], KerasModel]]:
    """`built("vgg16")` is the live papernet model of NETWORKS["vgg16"], `built("keras:VGG16")`
    keras.applications' VGG16."""
    once = built_once(measure)

    def get(key: str) -> KerasModel:
        if key.startswith("keras:"):
            return once(key, lambda: getattr(keras.applications, key.removeprefix("keras:"))(weights=None))
        return once(key, lambda: NETWORKS[key]().to_keras())

    yield get
    keras.backend.clear_session()


def _pad_name(node: ir.Node) -> str:
    return f"{node.name}_pad"


def _node_layers(node: ir.Node, layers: dict[str, KerasLayer]) -> list[KerasLayer]:
    """The Keras layers that implement one IR node: its own, and a ZeroPadding2D before it."""
    own = [layers[node.name]] if node.name in layers else []
    pad = layers.get(_pad_name(node))
    if pad is not None:
        assert pad.cls == "ZeroPadding2D", f"{pad.name} is a {pad.cls}"
        own.append(pad)
    return own


# ---- every shipped spec, node by node ---------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
def test_every_keras_layer_belongs_to_one_node(name: str, built: Callable[[str], KerasModel]) -> None:
    net = NETWORKS[name]()
    model = built(name)
    expected = {node.name for node in net.graph.nodes}
    allowed_pads = {_pad_name(node) for node in net.graph.nodes}
    allowed_pads |= set(dropout_layers(net.graph, net.training()).values())  # the `train:` section's dropout
    keras_names = [layer.name for layer in model.layers]
    assert len(keras_names) == len(set(keras_names)), f"duplicate Keras layer names: {keras_names}"
    missing = expected - set(keras_names)
    unexplained = set(keras_names) - expected - allowed_pads
    assert not missing, f"IR nodes with no Keras layer: {sorted(missing)}"
    assert not unexplained, f"Keras layers that no IR node accounts for: {sorted(unexplained)}"


@pytest.mark.parametrize("name", NETWORKS)
def test_output_shapes_agree_node_by_node(name: str, built: Callable[[str], KerasModel]) -> None:
    net = NETWORKS[name]()
    inference = net.infer()
    layers = built(name).by_name()
    mismatches = []
    for node, info in zip(net.graph.nodes, inference.layers, strict=True):
        assert info.shape is not None, f"{node.name}: papernet inferred no shape"
        keras_shape = layers[node.name].output_shape
        if keras_shape != (None, *info.shape):
            mismatches.append(f"{node.name}: Keras {keras_shape[1:]}, papernet {info.shape}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("name", NETWORKS)
def test_params_agree_node_by_node(name: str, built: Callable[[str], KerasModel]) -> None:
    net = NETWORKS[name]()
    inference = net.infer()
    layers = built(name).by_name()
    mismatches = []
    for node, info in zip(net.graph.nodes, inference.layers, strict=True):
        if isinstance(node, ir.Input):
            continue
        own = _node_layers(node, layers)
        counts = {
            "params": (sum(layer.params for layer in own), info.params),
            "trainable": (sum(layer.trainable for layer in own), info.trainable),
            "non-trainable": (sum(layer.non_trainable for layer in own), info.non_trainable),
        }
        for what, (keras_count, papernet_count) in counts.items():
            if keras_count != papernet_count:
                mismatches.append(f"{node.name} {what}: Keras {keras_count:,}, papernet {papernet_count:,}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("name", NETWORKS)
def test_totals_agree(name: str, built: Callable[[str], KerasModel]) -> None:
    inference = NETWORKS[name]().infer()
    model = built(name)
    assert model.total == inference.total_params
    assert model.trainable == inference.total_trainable
    assert model.non_trainable == inference.total_params - inference.total_trainable


@pytest.mark.parametrize("name", NETWORKS)
def test_summary_totals_agree_with_keras(name: str, built: Callable[[str], KerasModel]) -> None:
    report = NETWORKS[name]().summary().to_dict()
    model = built(name)
    assert report["total"]["params"] == model.total
    assert report["total"]["trainable_params"] == model.trainable


# ---- VGG against keras.applications and the reference figures ---------------------------

KERAS_APPLICATIONS = [
    # (shipped spec, keras.applications model, total params from reference/README.md)
    ("vgg16", "VGG16", 138_357_544),
    ("vgg19", "VGG19", 143_667_240),
]


@pytest.mark.parametrize(("name", "application", "total"), KERAS_APPLICATIONS)
def test_vgg_equals_keras_applications_layer_by_layer(
    name: str, application: str, total: int, built: Callable[[str], KerasModel]
) -> None:
    ours = built(name).layers
    theirs = built(f"keras:{application}").layers
    assert len(ours) == len(theirs), f"{len(ours)} layers, keras.applications.{application} has {len(theirs)}"
    mismatches = []
    for position, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        mine = (a.cls, a.output_shape, a.params)
        reference = (b.cls, b.output_shape, b.params)
        if mine != reference:
            mismatches.append(f"#{position} {a.name} {mine} vs {b.name} {reference}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize(("name", "application", "total"), KERAS_APPLICATIONS)
def test_vgg_layer_arguments_equal_keras_applications(
    name: str, application: str, total: int, built: Callable[[str], KerasModel]
) -> None:
    ours = built(name).layers
    theirs = built(f"keras:{application}").layers
    mismatches = [
        f"#{position} {a.name} {a.config} vs {b.name} {b.config}"
        for position, (a, b) in enumerate(zip(ours, theirs, strict=True))
        if _computation(a) != _computation(b)
    ]
    assert not mismatches, "\n".join(mismatches)


def _computation(layer: KerasLayer) -> dict[str, Any]:
    """The arguments that decide what a layer computes. VGG's 2×2/2 pools see even sizes only (the
    shape tests assert every output size), where `same` and `valid` padding compute the same thing:
    papernet assumes `same` where the paper is silent, Keras's VGG writes `valid`."""
    config = dict(layer.config)
    if layer.cls == "MaxPooling2D" and config.get("pool_size") == config.get("strides"):
        config.pop("padding", None)
    return config


@pytest.mark.parametrize(("name", "application", "total"), KERAS_APPLICATIONS)
def test_vgg_totals_equal_reference(
    name: str, application: str, total: int, built: Callable[[str], KerasModel]
) -> None:
    assert built(f"keras:{application}").total == total  # the reference figure, re-measured
    assert built(name).total == total
    assert built(name).trainable == total
    assert papernet.load(name).infer().total_params == total


@pytest.mark.parametrize(
    ("name", "total"),
    [
        ("vgg11", 132_863_336),  # configuration A
        ("vgg11_lrn", 132_863_336),  # A-LRN: A plus an LRN, which has no weights
        ("vgg13", 133_047_848),  # B
        ("vgg16_c", 133_638_952),  # C
    ],
)
def test_vgg_configurations_total_the_reference(name: str, total: int, built: Callable[[str], KerasModel]) -> None:
    assert built(name).total == total
    assert papernet.load(name).infer().total_params == total


def test_alexnet_by_hand(built: Callable[[str], KerasModel]) -> None:
    """AlexNet as one tower on 227×227×3, every figure worked out from §3.5."""
    conv_and_pool_sides = {
        "conv1": 55,  # (227 − 11)/4 + 1
        "pool1": 27,  # (55 − 3)/2 + 1
        "conv2": 27,  # pad 2: (27 + 4 − 5)/1 + 1
        "pool2": 13,  # (27 − 3)/2 + 1
        "conv3": 13,
        "conv4": 13,
        "conv5": 13,
        "pool3": 6,  # (13 − 3)/2 + 1
    }
    total = (
        (11 * 11 * 3 * 96 + 96)
        + (5 * 5 * 96 * 256 + 256)
        + (3 * 3 * 256 * 384 + 384)
        + (3 * 3 * 384 * 384 + 384)
        + (3 * 3 * 384 * 256 + 256)
        + (6 * 6 * 256 * 4096 + 4096)
        + (4096 * 4096 + 4096)
        + (4096 * 1000 + 1000)
    )
    layers = built("alexnet").by_name()
    for name, side in conv_and_pool_sides.items():
        assert layers[name].output_shape[1:3] == (side, side), name
    assert layers["fc8"].output_shape == (None, 1000)
    assert built("alexnet").total == total
    assert papernet.load("alexnet").infer().total_params == total


def test_vgg11_regression_by_hand(built: Callable[[str], KerasModel]) -> None:
    """VGG-11 with its FC-1000 replaced by a linear FC of 224·224·1 units."""
    configuration_a = 132_863_336
    classifier = 4096 * 1000 + 1000
    regressor = 4096 * (224 * 224) + 224 * 224
    model = built("vgg11_regression")
    assert model.total == configuration_a - classifier + regressor
    assert model.layers[-1].output_shape == (None, 224, 224, 1)
    assert papernet.load("vgg11_regression").infer().total_params == configuration_a - classifier + regressor


# ---- the torch convention ---------------------------------------------------------------

BATCHNORM_SPEC = """\
network "bn"
input 16x16x3
conv3-8 bn padding same
maxpool
conv3-4 padding same
batchnorm
FC-16 bn
FC-10, softmax
"""
BATCHNORM_CHANNELS = (8, 4, 16)  # conv3-8 bn, the batchnorm after conv3-4, FC-16 bn


def test_torch_convention_drops_running_statistics() -> None:
    net = papernet.parse(BATCHNORM_SPEC)
    model = net.to_keras()
    try:
        keras_total = model.count_params()
        keras_trainable = _weights_size(model.trainable_weights)
        batchnorm_layers = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
        batchnorm_trainable = {layer.name: _weights_size(layer.trainable_weights) for layer in batchnorm_layers}
    finally:
        del model
        keras.backend.clear_session()
    running_statistics = sum(2 * channels for channels in BATCHNORM_CHANNELS)  # moving mean and variance
    assert len(batchnorm_layers) == len(BATCHNORM_CHANNELS)

    torch = net.infer("torch")
    assert net.infer("keras").total_params == keras_total
    assert torch.total_params == keras_total - running_statistics
    assert torch.total_trainable == keras_trainable
    assert torch.total_params == torch.total_trainable
    for node, info in zip(net.graph.nodes, torch.layers, strict=True):
        if isinstance(node, ir.BatchNorm):
            assert info.params == batchnorm_trainable[node.name], node.name  # gamma and beta: 2C


def test_torch_convention_on_the_command_line(run_cli: Any, tmp_path: Any) -> None:
    spec = tmp_path / "bn.pn"
    spec.write_text(BATCHNORM_SPEC, encoding="utf-8")
    keras_result = run_cli("summary", str(spec), "--format", "json")
    torch_result = run_cli("summary", str(spec), "--format", "json", "--convention", "torch")
    assert keras_result.code == 0, keras_result.stderr
    assert torch_result.code == 0, torch_result.stderr
    keras_report, torch_report = json.loads(keras_result.stdout), json.loads(torch_result.stdout)
    assert keras_report["convention"] == "keras"
    assert torch_report["convention"] == "torch"
    running_statistics = sum(2 * channels for channels in BATCHNORM_CHANNELS)
    assert torch_report["total"]["params"] == keras_report["total"]["params"] - running_statistics
    assert torch_report["total"]["trainable_params"] == keras_report["total"]["trainable_params"]
    for keras_row, torch_row in zip(keras_report["layers"], torch_report["layers"], strict=True):
        if keras_row["kind"] == "batchnorm":
            channels = keras_row["output_shape"][-1]
            assert keras_row["params"] == 4 * channels
            assert torch_row["params"] == 2 * channels
        else:
            assert torch_row["params"] == keras_row["params"]


def test_vgg16_macs_equal_reference() -> None:
    """Multiply-accumulates at 224×224, conv and FC (reference/README.md, VGG section)."""
    assert papernet.load("vgg16").infer().total_macs == 15_470_264_320
    assert papernet.load("vgg16").summary().to_dict()["total"]["macs"] == 15_470_264_320
