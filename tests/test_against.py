"""`papernet check SPEC --against MODEL`: an implementation against the paper's spec.

The implementations are written here in Keras, by hand, the way tutorials write them
(`RESNETS` below, one source for the API tests and, written to a file, for the command line):

- a correct ResNet-34 (He et al. 2016, Table 1, with §4.1's zero-padded identity shortcuts, option A);
- the tutorial's "ResNet-34" that puts stride 2 on both convs of each stage's first block, so that
  conv3_x goes 56 → 14 where Table 1 says 28 (its shortcut is a 1×1/4 projection, made to fit);
- the correct one with a 10-class head, which is an adaptation, not a mistake.

Each is built once per module (2 cores: a ResNet-34 takes seconds) and only the comparison is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from networks import built_once

import papernet
from papernet.against import Comparison
from papernet.diagnostics import render_all
from papernet.resources import shipped_specs

keras = pytest.importorskip("keras")

RunCli = Callable[..., Any]

RESNETS = """\
import keras
from keras import layers

from papernet.backends.layers import ZeroPaddedShortcut


def basic_block(x, filters, strides, second_stride=1):
    y = layers.Conv2D(filters, 3, strides=strides, padding="same")(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, 3, strides=second_stride, padding="same")(y)
    y = layers.BatchNormalization()(y)
    shortcut = x
    if second_stride != 1:  # the tutorial makes its shortcut fit the main path's 56 -> 14
        shortcut = layers.Conv2D(filters, 1, strides=strides * second_stride)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    elif strides != 1 or x.shape[-1] != filters:  # option A: the identity, subsampled and zero-padded
        shortcut = ZeroPaddedShortcut(strides=strides, channels=filters)(x)
    y = layers.Add()([y, shortcut])
    return layers.Activation("relu")(y)


def resnet34(double_stride=False, classes=1000, name="resnet34"):
    inputs = keras.Input((224, 224, 3))
    x = layers.Conv2D(64, 7, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    for stage, (filters, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]):
        for block in range(blocks):
            first = stage > 0 and block == 0
            x = basic_block(x, filters, 2 if first else 1, 2 if first and double_stride else 1)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


def correct():
    return resnet34()


def tutorial():
    return resnet34(double_stride=True, name="tutorial")


def ten_classes():
    return resnet34(classes=10, name="ten_classes")
"""


def _builders() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(RESNETS, "resnets.py", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def against() -> Iterator[Callable[[str, str], tuple[Comparison, int]]]:
    """`against("resnet34", "tutorial")`: the spec against the model `tutorial()` builds, and the
    model's own `count_params()`."""
    builders = _builders()
    once = built_once(lambda pair: pair)

    def get(spec: str, model: str) -> tuple[Comparison, int]:
        def make() -> tuple[Comparison, int]:
            keras.backend.clear_session()  # Keras's layer names (conv2d_7) count from here, as the golden file shows
            built = builders[model]() if model in builders else getattr(keras.applications, model)(weights=None)
            return papernet.load(spec).against(built), built.count_params()

        result: tuple[Comparison, int] = once((spec, model), make)
        return result

    yield get
    keras.backend.clear_session()


def _line_of(spec: str, prefix: str) -> int:
    text = shipped_specs()[spec].read_text(encoding="utf-8")
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(prefix))


# ---- the correct ResNet-34 ---------------------------------------------------------------------------


def test_correct_resnet34_matches_the_spec(against: Callable[[str, str], tuple[Comparison, int]]) -> None:
    comparison, count = against("resnet34", "correct")
    assert comparison.diagnostics == ()
    assert not comparison.differs
    assert comparison.model_total[0] == count  # Keras's own count of the hand-written model
    assert comparison.spec_total == comparison.model_total
    assert [row.name for row in comparison.stages if row.name.startswith("conv")] == [
        "conv1",
        "conv2_x",
        "conv3_x",
        "conv4_x",
        "conv5_x",
    ]
    assert not any(row.differs for row in comparison.stages)


# ---- the tutorial's double stride --------------------------------------------------------------------


def test_double_stride_is_reported_at_conv3_x_first_block(
    against: Callable[[str, str], tuple[Comparison, int]], golden: Any
) -> None:
    comparison, _ = against("resnet34", "tutorial")
    assert comparison.differs
    errors = [d for d in comparison.diagnostics if d.is_error]
    assert len(errors) == 1
    (error,) = errors
    assert error.code == "P601"
    assert error.span is not None and error.span.line == _line_of("resnet34", "conv3_x:")
    assert "conv3_x block1" in error.message
    assert "2 stride-2 convs where the spec has 1" in error.message
    notes = "\n".join(error.notes)
    assert "28×28×128" in notes and "14×14×128" in notes  # Table 1's 28, the tutorial's 14
    sources = {"resnet34": shipped_specs()["resnet34"].read_text(encoding="utf-8")}
    golden.check(
        "against/resnet34_tutorial.txt", render_all(comparison.diagnostics, sources) + "\n\n" + comparison.table()
    )


def test_double_stride_stages_side_by_side(against: Callable[[str, str], tuple[Comparison, int]]) -> None:
    """conv1 and conv2_x agree; from conv3_x on the model computes at a quarter of the positions."""
    comparison, count = against("resnet34", "tutorial")
    rows = {row.name: row for row in comparison.stages}
    assert not rows["conv1"].differs and not rows["conv2_x"].differs
    assert rows["conv3_x"].differs
    assert rows["conv3_x"].model_macs < rows["conv3_x"].spec_macs
    assert comparison.model_total[0] == count


# ---- a different head is an adaptation ---------------------------------------------------------------


def test_ten_class_head_is_adapted_not_wrong(against: Callable[[str, str], tuple[Comparison, int]]) -> None:
    comparison, count = against("resnet34", "ten_classes")
    assert not comparison.differs
    assert comparison.adapted
    (note,) = comparison.diagnostics
    assert note.code == "P602" and not note.is_error
    assert note.span is not None and note.span.line == _line_of("resnet34", "average pool")
    # the FC differs by 1000 − 10 outputs of 512 weights and a bias each
    assert comparison.spec_total[0] - comparison.model_total[0] == (1000 - 10) * (512 + 1)
    assert comparison.model_total[0] == count


def test_regression_head_is_adapted() -> None:
    """A small network whose FC-10 softmax head became a linear FC of 8·8·1 units reshaped to 8×8×1."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64)(x)
    model = keras.Model(inputs, keras.layers.Reshape((8, 8, 1))(x))
    spec = papernet.parse("input 8x8x3\nconv3-4 padding same\nFC-10, softmax\n", "small.pn")
    comparison = spec.against(model)
    assert [d.code for d in comparison.diagnostics] == ["P602"]
    assert comparison.model_total[0] == model.count_params() == (3 * 3 * 3 * 4 + 4) + (256 * 64 + 64)


def test_keras_applications_resnet50_implements_table_1(
    against: Callable[[str, str], tuple[Comparison, int]],
) -> None:
    """Keras pads conv1 and the max pool explicitly (3 and 1) where the spec's `same` pads 2/3 and 0/1:
    the same shapes, so the same network; its batch norms' epsilon is not the architecture."""
    comparison, count = against("resnet50", "ResNet50")
    assert comparison.diagnostics == ()
    assert comparison.model_total[0] == count == 25_636_712


def test_a_changed_layer_in_the_stem_is_the_first_divergence() -> None:
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(16, 5, padding="same", activation="relu")(inputs)  # the spec says 3×3
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    spec = papernet.parse("input 32x32x3\nconv3-16 padding same\nmaxpool\nFC-10, softmax\n", "small.pn")
    comparison = spec.against(model)
    (error,) = comparison.diagnostics
    assert error.code == "P601" and error.span is not None and error.span.line == 2
    assert "conv3-16" in error.notes[0] and "conv5-16" in error.notes[1]


# ---- the command line --------------------------------------------------------------------------------


@pytest.fixture
def resnets_file(tmp_path: Path) -> Path:
    path = tmp_path / "resnets.py"
    path.write_text(RESNETS, encoding="utf-8")
    return path


def test_cli_reports_the_tutorial(run_cli: RunCli, resnets_file: Path) -> None:
    result = run_cli("check", "resnet34", "--against", f"{resnets_file}:tutorial")
    assert result.code == 1, result.stderr
    assert "Traceback" not in result.stderr
    line = _line_of("resnet34", "conv3_x:")
    assert f"resnet34:{line}:" in result.stderr and "error[P601]" in result.stderr
    assert "2 stride-2 convs where the spec has 1" in result.stderr
    table = result.stdout.splitlines()
    assert table[0].split()[:3] == ["stage", "spec", "params"]
    assert any(row.startswith("conv3_x") and row.endswith("≠") for row in table)


def test_cli_passes_the_correct_resnet34(run_cli: RunCli, resnets_file: Path) -> None:
    result = run_cli("check", "resnet34", "--against", f"{resnets_file}:correct")
    assert result.code == 0, result.stderr
    assert "error[" not in result.stderr
    assert "≠" not in result.stdout


def test_cli_adapted_head_exits_0_with_a_note(run_cli: RunCli, resnets_file: Path) -> None:
    result = run_cli("check", "resnet34", "--against", f"{resnets_file}:ten_classes")
    assert result.code == 0, result.stderr
    assert "note[P602]" in result.stderr and "adapts the spec's head" in result.stderr


def test_cli_bad_model_argument_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    for model in (str(tmp_path / "missing.keras"), "keras:Resnet50", str(tmp_path / "model.h5")):
        result = run_cli("check", "resnet34", "--against", model)
        assert result.code == 2, (model, result.stderr)
        assert "Traceback" not in result.stderr
    assert "did you mean keras:ResNet50" in run_cli("check", "resnet34", "--against", "keras:Resnet50").stderr


def test_cli_model_papernet_cannot_read_is_an_error(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "permuted.py"
    path.write_text(
        "import keras\n\ndef build():\n    inputs = keras.Input((8, 8, 3))\n"
        "    x = keras.layers.Permute((2, 1, 3), name='swap')(inputs)\n"
        "    return keras.Model(inputs, keras.layers.Flatten()(x))\n",
        encoding="utf-8",
    )
    result = run_cli("check", "resnet34", "--against", f"{path}:build")
    assert result.code == 1, result.stderr
    assert "swap" in result.stderr and "Permute" in result.stderr
    assert "Traceback" not in result.stderr


def test_another_input_size_suggests_adapting_the_spec(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "cifar.py"
    path.write_text(
        "import keras\n\ndef build():\n    inputs = keras.Input((32, 32, 3))\n"
        "    x = keras.layers.Conv2D(64, 3, padding='same', activation='relu')(inputs)\n"
        "    return keras.Model(inputs, keras.layers.Flatten()(x))\n",
        encoding="utf-8",
    )
    result = run_cli("check", "vgg11", "--against", f"{path}:build")
    assert result.code == 1
    assert "input → 224×224×3 in the spec, input → 32×32×3 in the model" in result.stderr, result.stderr
    assert "--input 32x32x3" in result.stderr


def test_same_layers_with_other_counts_still_differ() -> None:
    """A safeguard for layer settings the units do not name (a batch norm without its scale counts
    3C, not 4C): equal layers, unequal figures, is still an error at the first stage that differs."""
    from dataclasses import replace

    from papernet.against import Side, compare

    net = papernet.parse("input 8x8x3\nconv3-4 padding same bn\nglobal avgpool\nFC-2, softmax\n", "small.pn")
    inference = net.infer()
    bn = next(i for i, node in enumerate(net.graph.nodes) if node.name.endswith("_bn"))
    layers = list(inference.layers)
    layers[bn] = replace(layers[bn], params=layers[bn].params - 4)  # 3C instead of 4C
    comparison = compare(
        Side(net.graph, inference, {}), Side(net.graph, replace(inference, layers=tuple(layers)), {}), "m"
    )
    (error,) = comparison.diagnostics
    assert error.code == "P601" and error.span is not None and error.span.line == 2
    assert "has the spec's layers, but at conv1" in error.message


def test_a_merge_of_more_branches_differs() -> None:
    """concat(conv1-4 | conv1-4) against concat(conv1-4 | conv1-2 | conv1-2): the same output shape,
    not the same module."""
    inputs = keras.Input((8, 8, 3))
    branches = [keras.layers.Conv2D(c, 1, activation="relu")(inputs) for c in (4, 2, 2)]
    x = keras.layers.Flatten()(keras.layers.Concatenate()(branches))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    spec = papernet.parse("input 8x8x3\nconcat(conv1-4 | conv1-4)\nFC-2, softmax\n", "small.pn")
    (error,) = spec.against(model).diagnostics
    assert error.code == "P601" and error.span is not None and error.span.line == 2
    assert "concat of 2 branches → 8×8×8 in the spec, concat of 3 branches → 8×8×8 in the model" in error.message


def test_cli_against_with_another_format_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("check", "resnet34", "--against", "keras:ResNet50", "--format", "json")
    assert result.code == 2 and "--format json" in result.stderr, result.stderr
