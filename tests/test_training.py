"""The `train:` section: read, linted, and applied the same way by the live and source backends.

Expected values come from the spec text (the paper's words), and are read back from the Keras
objects: the optimizer, each layer's initialiser and regulariser, the dropout layers, the loss.
Rendered lint warnings are golden files (tests/golden/training/), one per lint; regenerate with
`pytest --update-golden` and review the diff.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import papernet
from papernet.backends.keras_args import dropout_layers, head_of, plateau_callback
from papernet.diagnostics import Diagnostic, Severity, SpecError, render_all
from papernet.ir import TrainLine
from papernet.span import Span
from papernet.training import Initializer, Schedule, TrainingSetup, read_training, scheduled_rate

# ---- reading --------------------------------------------------------------------------------


def read(*lines: str) -> tuple[TrainingSetup, list[Diagnostic]]:
    """Lines as they sit in a `train:` section of t.pn, indented by two from line 2."""
    return read_training([TrainLine(text, Span("t.pn", n, 3, n, 3 + len(text))) for n, text in enumerate(lines, 2)])


def setup_of(*lines: str) -> TrainingSetup:
    setup, found = read(*lines)
    assert not found, [d.message for d in found]
    return setup


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ("optimizer sgd, momentum 0.9", "momentum", 0.9),
        ("Optimizer: SGD", "optimizer", "sgd"),
        ("sgd with momentum 0.9, nesterov", "nesterov", True),
        ("sgd with nesterov momentum 0.9", "momentum", 0.9),
        ("adam", "optimizer", "adam"),
        ("rmsprop", "optimizer", "rmsprop"),
        ("optimizer = adamw", "optimizer", "adamw"),
        ("learning rate 1e-2", "learning_rate", 0.01),
        ("lr 10^-2", "learning_rate", 0.01),
        ("lr 10**-2", "learning_rate", 0.01),
        ("lr 10⁻²", "learning_rate", 0.01),
        ("lr 1·10^-2", "learning_rate", 0.01),
        ("learning_rate = 0.01", "learning_rate", 0.01),
        ("Learning-Rate: 5×10⁻⁴", "learning_rate", 5e-4),
        ("learning rate was initially set to 10⁻²", "learning_rate", 0.01),
        ("weight decay 5e-4", "weight_decay", 5e-4),
        ("weight_decay: 5·10⁻⁴", "weight_decay", 5e-4),
        ("L2 5e-4", "weight_decay", 5e-4),
        ("L2 penalty multiplier 5·10⁻⁴", "weight_decay", 5e-4),
        ("weight decay 1e-4 decoupled", "decoupled", True),
        ("decoupled weight decay 1e-4", "weight_decay", 1e-4),
        ("batch 256", "batch_size", 256),
        ("batch size 256", "batch_size", 256),
        ("mini-batch 128", "batch_size", 128),
        ("batch_size=64", "batch_size", 64),
        ("epochs 74", "epochs", 74),
        ("74 epochs", "epochs", 74),
        ("dropout 0.5", "dropout", 0.5),
        ("dropout 50%", "dropout", 0.5),
        ("dropout ratio 0.5", "dropout", 0.5),
        ("init normal(0, 0.01)", "init", Initializer("normal", 0.0, 0.01)),
        ("init normal(0, variance 1e-2)", "init", Initializer("normal", 0.0, 0.1)),
        ("init gaussian(0, 0.01)", "init", Initializer("normal", 0.0, 0.01)),
        ("init gaussian with std 0.01", "init", Initializer("normal", 0.0, 0.01)),
        ("init normal(mean 0.1, sigma 0.02)", "init", Initializer("normal", 0.1, 0.02)),
        ("init truncated normal(0, 0.02)", "init", Initializer("truncated_normal", 0.0, 0.02)),
        ("init uniform(-0.05, 0.05)", "init", Initializer("uniform", limit=0.05)),
        ("init glorot", "init", Initializer("glorot_uniform")),
        ("init xavier", "init", Initializer("glorot_uniform")),
        ("init glorot normal", "init", Initializer("glorot_normal")),
        ("init he", "init", Initializer("he_normal")),
        ("init kaiming", "init", Initializer("he_normal")),
        ("initialization: MSRA", "init", Initializer("he_normal")),
        ("init he uniform", "init", Initializer("he_uniform")),
        ("loss categorical crossentropy", "loss", "categorical_crossentropy"),
        ("loss cross-entropy", "loss", "categorical_crossentropy"),
        ("loss mse", "loss", "mse"),
        ("loss: mean squared error", "loss", "mse"),
        ("loss mae", "loss", "mae"),
        ("metrics accuracy, top-5", "metrics", ("accuracy", "top_k_categorical_accuracy")),
        ("metrics top-1 and top-5 accuracy", "metrics", ("accuracy", "top_k_categorical_accuracy")),
        ("metric mae", "metrics", ("mae",)),
    ],
)
def test_a_setting_is_read_in_each_spelling(line: str, field: str, expected: object) -> None:
    setup = setup_of(line)
    assert getattr(setup, field) == expected
    assert field in setup.stated or field == "decoupled"


def test_several_settings_share_a_line_with_or_without_commas() -> None:
    setup = setup_of("sgd, batch 256 epochs 74, dropout 0.5 weight decay 5e-4")
    assert (setup.optimizer, setup.batch_size, setup.epochs, setup.dropout, setup.weight_decay) == (
        "sgd",
        256,
        74,
        0.5,
        5e-4,
    )


def test_unstated_fields_keep_their_defaults_and_are_not_stated() -> None:
    setup = setup_of("batch 32")
    assert setup.stated == {"batch_size"}
    assert (setup.optimizer, setup.learning_rate, setup.momentum, setup.init, setup.loss) == (
        "sgd",
        0.01,
        0.0,
        None,
        None,
    )
    assert setup_of("adam").learning_rate == 0.001  # Keras's default for Adam, not SGD's


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "learning rate 1e-2, divided by 10 when the validation accuracy stopped improving",
            Schedule("plateau", 0.1, monitor="val_accuracy"),
        ),
        (  # VGG §3.1, word for word
            "learning rate 10⁻², and then decreased by a factor of 10 "
            "when the validation set accuracy stopped improving",
            Schedule("plateau", 0.1, monitor="val_accuracy"),
        ),
        (  # AlexNet §5: error rate = 1 − accuracy
            "lr 0.01, divided by 10 when the validation error rate stopped improving",
            Schedule("plateau", 0.1, monitor="val_accuracy"),
        ),
        ("lr 0.1, divided by 10 when the error plateaus", Schedule("plateau", 0.1, monitor="val_accuracy")),
        ("lr 0.1, reduced by 10 when the validation loss plateaus", Schedule("plateau", 0.1, monitor="val_loss")),
        ("lr 0.1, divided by 5 when the training loss stops improving", Schedule("plateau", 0.2, monitor="loss")),
        ("lr 0.1, schedule plateau, patience 3", Schedule("plateau", 0.1, patience=3, monitor="val_loss")),
        ("lr 0.1, divided by 10 every 30 epochs", Schedule("step", 0.1, every=30)),
        ("lr 0.1 divided by 10 every 30 epochs", Schedule("step", 0.1, every=30)),
        ("lr 0.1, multiplied by 0.5 every 10 epochs", Schedule("step", 0.5, every=10)),
        ("lr 0.1, cosine", Schedule("cosine")),
        ("lr schedule: cosine", Schedule("cosine")),
    ],
)
def test_a_schedule_is_read_as_papers_state_it(line: str, expected: Schedule) -> None:
    assert setup_of(line).schedule == expected


def test_scheduled_rates() -> None:
    step = Schedule("step", 0.1, every=30)
    assert [scheduled_rate(step, 0.1, epoch, 90) for epoch in (0, 29, 30, 60)] == pytest.approx([0.1, 0.1, 0.01, 0.001])
    cosine = Schedule("cosine")
    assert [scheduled_rate(cosine, 0.2, epoch, 4) for epoch in (0, 2, 4)] == pytest.approx([0.2, 0.1, 0.0])


# ---- errors ---------------------------------------------------------------------------------


def only(found: list[Diagnostic]) -> Diagnostic:
    assert len(found) == 1, [d.message for d in found]
    return found[0]


def test_an_unknown_setting_is_p401_with_did_you_mean_at_its_column() -> None:
    text = "input 8x8x1\nFC-2, softmax\ntrain:\n  momentum 0.9, wieght decay 5e-4\n"
    found = only(papernet.parse(text, "t.pn").check())
    assert found.code == "P401" and found.is_error
    assert "`wieght`" in found.message
    assert found.help == ("did you mean `weight decay`?",)
    assert found.span is not None
    column = text.split("\n")[3].index("wieght") + 1
    assert (found.span.line, found.span.column, found.span.end_column) == (4, column, column + len("wieght"))


@pytest.mark.parametrize(
    ("line", "code", "words"),
    [
        ("momentum fast", "P402", ("`momentum` needs a number, found `fast`",)),
        ("batch 25.5", "P402", ("needs a whole number", "25.5")),
        ("optimizer sgdd", "P402", ("unknown optimizer `sgdd`", "did you mean `sgd`?")),
        ("loss crossentrpy", "P402", ("unknown loss", "did you mean `cross-entropy`?")),
        ("init normal(0.01)", "P402", ("normal(mean, standard deviation)",)),
        ("init he(0, 1)", "P402", ("no arguments",)),
        ("lr 0.1, divided by 10", "P402", ("learning-rate schedule", "every 30 epochs")),
        ("patience 3", "P402", ("plateau schedule",)),
        ("momentum 0.9 quickly", "P403", ("unexpected `quickly` after `momentum 0.9`",)),
        ("iterations 60×10⁴", "P401", ("unknown training setting `iterations`",)),
    ],
)
def test_a_bad_line_is_an_error_that_says_what_is_wrong(line: str, code: str, words: tuple[str, ...]) -> None:
    found = only(read(line)[1])
    assert (found.code, found.severity) == (code, Severity.ERROR)
    text = found.message + " " + " ".join(found.help)
    for word in words:
        assert word in text


def test_an_error_in_the_train_section_stops_a_build_and_a_warning_does_not() -> None:
    body = "input 4x4x1\nFC-3, softmax\ntrain:\n  "
    with pytest.raises(SpecError) as raised:
        papernet.parse(body + "lerning rate 0.01\n").to_source()
    assert "P401" in str(raised.value)
    assert "import keras" in papernet.parse(body + "learning rate 10e-2\n").to_source()


# ---- lint: one test each, and the rendered warning as a golden file ----------------------------


def lint(golden: Any, name: str, line: str) -> tuple[TrainingSetup, Diagnostic]:
    """The one warning `line` gets, checked against tests/golden/training/<name>.txt."""
    text = f"input 4x4x1\nFC-3, softmax\ntrain:\n  {line}\n"
    net = papernet.parse(text, f"{name}.pn")
    found = only(net.check())
    assert found.severity is Severity.WARNING
    golden.check(f"training/{name}.txt", render_all([found], net.sources) + "\n")
    return net.training(), found


def test_lint_ten_e_minus_two_is_not_ten_to_the_minus_two(golden: Any) -> None:
    setup, found = lint(golden, "ten_e", "learning rate 10e-2")
    assert found.code == "P410"
    assert "`10e-2` = 0.1" in found.message
    assert found.help == ("write 1e-2 for 10⁻² = 0.01",)
    assert setup.learning_rate == 0.1  # as written: a warning, not a correction


def test_lint_ten_e_inside_a_product_the_tutorial_copies(golden: Any) -> None:
    """The VGG-11 regression tutorial: `kernel_regularizer=l2(5*10e-4)`. 5·10e-4 = 5·0.001 =
    0.005, ten times the 5·10⁻⁴ = 0.0005 that VGG §3.1 states; before, it read as weight decay 5."""
    setup, found = lint(golden, "ten_e_product", "kernel_regularizer=l2(5*10e-4)")
    assert found.code == "P410"
    assert found.message == "`5*10e-4` = 0.005, ten times 5·10⁻⁴"
    assert found.help == ("write 5e-4 for 5·10⁻⁴ = 0.0005",)
    assert found.span is not None and found.span.column == len("  kernel_regularizer=l2(") + 1
    assert setup.weight_decay == 0.005  # as written, and as Keras's L2(0.005) would apply it


def test_a_product_without_the_slip_is_its_value() -> None:
    assert setup_of("weight decay 5*1e-4").weight_decay == 5 * 1e-4
    assert setup_of("weight decay 5 × 1e-4").weight_decay == 5 * 1e-4


def test_lint_ten_e_in_a_keras_optimizer_call(golden: Any) -> None:
    """`SGD(learning_rate=10e-2, momentum=0.9)` as tutorials write it: SGD, 0.1 (with the 10e
    warning: 10⁻² = 0.01 was probably meant), momentum 0.9."""
    setup, found = lint(golden, "ten_e_keras_call", "SGD(learning_rate=10e-2, momentum=0.9)")
    assert found.code == "P410" and found.message == "`10e-2` = 0.1, ten times 10⁻²"
    assert (setup.optimizer, setup.learning_rate, setup.momentum) == ("sgd", 0.1, 0.9)
    assert setup_of("optimizer = keras.optimizers.Adam(learning_rate=1e-3)").optimizer == "adam"


def test_lint_learning_rate_out_of_range(golden: Any) -> None:
    setup, found = lint(golden, "learning_rate", "learning rate 5")
    assert found.code == "P411"
    assert "`5` = 5" in found.message and "(10⁻⁶, 1]" in found.message
    assert setup.learning_rate == 5.0


def test_lint_weight_decay_out_of_range(golden: Any) -> None:
    setup, found = lint(golden, "weight_decay", "weight decay 0.5")
    assert found.code == "P412"
    assert "`0.5` = 0.5" in found.message and "[0, 0.1]" in found.message
    assert setup.weight_decay == 0.5


def test_lint_momentum_out_of_range_is_left_out_where_keras_rejects_it(golden: Any) -> None:
    setup, found = lint(golden, "momentum", "momentum 1.5")
    assert found.code == "P413"
    assert "`1.5` = 1.5" in found.message and "[0, 1)" in found.message
    assert "leaves it out" in found.help[0]
    assert "momentum" not in setup.stated and setup.momentum == 0.0


def test_lint_dropout_of_50_without_percent(golden: Any) -> None:
    setup, found = lint(golden, "dropout_percent", "dropout 50")
    assert found.code == "P414"
    assert "`50` = 50" in found.message
    assert "`dropout 50%` or `dropout 0.5`" in found.help[0]
    assert setup.dropout is None


def test_lint_dropout_out_of_range(golden: Any) -> None:
    setup, found = lint(golden, "dropout_range", "dropout 120%")
    assert found.code == "P415"
    assert "`120%` = 1.2" in found.message and "[0, 1)" in found.message
    assert setup.dropout is None


def test_lint_batch_size_not_positive(golden: Any) -> None:
    setup, found = lint(golden, "batch_zero", "batch 0")
    assert found.code == "P416" and "not positive" in found.message
    assert setup.batch_size is None


def test_lint_batch_size_huge(golden: Any) -> None:
    setup, found = lint(golden, "batch_huge", "batch 1e6")
    assert found.code == "P416"
    assert "`1e6` = 1,000,000" in found.message and "65,536" in found.message
    assert setup.batch_size == 1_000_000


def test_lint_zero_epochs(golden: Any) -> None:
    setup, found = lint(golden, "epochs", "epochs 0")
    assert found.code == "P417" and "not trained" in found.message
    assert setup.epochs == 0


def test_lint_momentum_with_adam(golden: Any) -> None:
    setup, found = lint(golden, "adam_momentum", "adam, momentum 0.9")
    assert found.code == "P418" and "adam" in found.message
    assert setup.optimizer == "adam" and "momentum" not in setup.stated


# ---- the shipped specs say what the papers say ------------------------------------------------


def test_vgg11_states_the_set_up_of_vgg_section_3_1() -> None:
    net = papernet.load("vgg11")
    setup = net.training()
    assert not [d for d in net.check() if d.code.startswith("P4")]
    assert (setup.optimizer, setup.momentum, setup.batch_size, setup.epochs) == ("sgd", 0.9, 256, 74)
    assert (setup.learning_rate, setup.weight_decay, setup.decoupled, setup.dropout) == (0.01, 5e-4, False, 0.5)
    assert setup.schedule == Schedule("plateau", 0.1, monitor="val_accuracy")
    assert setup.init == Initializer("normal", 0.0, 0.1)  # "10⁻² variance"
    assert setup.loss is None  # the head's
    # "dropout regularisation for the first two fully-connected layers"
    assert dropout_layers(net.graph, setup) == {
        index: f"{node.name}_dropout" for index, node in enumerate(net.graph.nodes) if node.name in ("fc1", "fc2")
    }


def test_alexnet_states_the_set_up_of_alexnet_section_5() -> None:
    net = papernet.load("alexnet")
    setup = net.training()
    assert (setup.batch_size, setup.momentum, setup.weight_decay, setup.learning_rate) == (128, 0.9, 0.0005, 0.01)
    assert (setup.epochs, setup.dropout, setup.init) == (90, 0.5, Initializer("normal", 0.0, 0.01))
    assert setup.schedule == Schedule("plateau", 0.1, monitor="val_accuracy")
    assert sorted(dropout_layers(net.graph, setup).values()) == ["fc6_dropout", "fc7_dropout"]


def test_resnet50_states_the_set_up_of_resnet_section_3_4() -> None:
    setup = papernet.load("resnet50").training()
    assert (setup.batch_size, setup.momentum, setup.weight_decay, setup.learning_rate) == (256, 0.9, 1e-4, 0.1)
    assert (setup.init, setup.dropout, setup.epochs) == (Initializer("he_normal"), None, None)
    assert setup.schedule == Schedule("plateau", 0.1, monitor="val_accuracy")


def test_a_spec_adapted_to_regression_watches_the_loss_not_accuracy() -> None:
    net = papernet.load("vgg11_regression")
    assert head_of(net.graph) == "regression"
    plateau = plateau_callback(net.training(), head_of(net.graph))
    assert plateau is not None and dict(plateau.kwargs)["monitor"] == "val_loss"


# ---- applied: the same set-up read back from both backends' Keras models ------------------------

SMALL_VGG = """\
network "small VGG"
input 32x32x3
defaults:
  conv: padding same
conv3-8, maxpool
conv3-16, maxpool
FC-64
FC-64
FC-10
soft-max
train:
  optimizer sgd, momentum 0.9
  learning rate 1e-2, divided by 10 when the validation accuracy stopped improving
  weight decay 5e-4
  batch 256
  epochs 74
  dropout 0.5
  init normal(0, 0.01)
"""
"""VGG's set-up (§3.1, with the Caffe-era stddev 0.01) on a VGG-like network small enough to build fast."""

BACKENDS = ["live", "source"]


@pytest.fixture(scope="module")
def keras() -> Iterator[Any]:
    keras = pytest.importorskip("keras")
    yield keras
    keras.backend.clear_session()


def import_source(source: str, directory: Path, name: str) -> Any:
    """The generated module, imported from a file as a user would."""
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop(name, None)
    return module


def build(net: papernet.Network, backend: str, directory: Path) -> Any:
    if backend == "live":
        return net.to_keras()
    module = import_source(net.to_source(), directory, f"generated_{abs(hash(net.to_source()))}")
    return next(getattr(module, n) for n in dir(module) if n.startswith("build_"))()


@pytest.fixture(scope="module")
def small_vgg(keras: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    directory = tmp_path_factory.mktemp("small_vgg")
    models: dict[str, Any] = {}

    def get(backend: str) -> Any:
        if backend not in models:
            models[backend] = build(papernet.parse(SMALL_VGG, "small_vgg.pn"), backend, directory)
        return models[backend]

    return get


def weighted_layers(model: Any) -> list[Any]:
    return [layer for layer in model.layers if type(layer).__name__ in ("Conv2D", "Dense")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_optimizer_is_the_papers(backend: str, small_vgg: Callable[[str], Any]) -> None:
    model = small_vgg(backend)
    assert type(model.optimizer).__name__ == "SGD"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-2)
    assert model.optimizer.momentum == pytest.approx(0.9)
    assert not model.optimizer.nesterov
    assert model.loss == "categorical_crossentropy"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_kernel_has_the_papers_l2_and_initialiser(backend: str, small_vgg: Callable[[str], Any]) -> None:
    layers = weighted_layers(small_vgg(backend))
    assert [layer.name for layer in layers] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    for layer in layers:
        assert type(layer.kernel_regularizer).__name__ == "L2", layer.name
        assert layer.kernel_regularizer.l2 == pytest.approx(5e-4, rel=1e-6), layer.name
        assert type(layer.kernel_initializer).__name__ == "RandomNormal", layer.name
        assert (layer.kernel_initializer.mean, layer.kernel_initializer.stddev) == (0.0, 0.01), layer.name
        assert type(layer.bias_initializer).__name__ == "Zeros", layer.name
        assert layer.bias_regularizer is None, layer.name


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_initial_weights_follow_the_initialiser(backend: str, small_vgg: Callable[[str], Any]) -> None:
    kernel = small_vgg(backend).get_layer("fc1").kernel.numpy()  # 1024×64 draws from N(0, 0.01²)
    assert abs(float(kernel.mean())) < 1e-3
    assert float(kernel.std()) == pytest.approx(0.01, rel=0.05)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_follows_the_first_two_fc_layers_only(backend: str, small_vgg: Callable[[str], Any]) -> None:
    model = small_vgg(backend)
    dropouts = [layer for layer in model.layers if type(layer).__name__ == "Dropout"]
    assert [(layer.name, layer.rate) for layer in dropouts] == [("fc1_dropout", 0.5), ("fc2_dropout", 0.5)]
    names = [layer.name for layer in model.layers]
    assert names[names.index("fc1") + 1] == "fc1_dropout"
    assert names[names.index("fc2") + 1] == "fc2_dropout"
    assert names[-1] == "fc3"  # not after the classifier
    assert model.get_layer("fc2").input is model.get_layer("fc1_dropout").output
    assert model.get_layer("fc3").input is model.get_layer("fc2_dropout").output


def test_both_backends_build_the_same_model(small_vgg: Callable[[str], Any]) -> None:
    def described(model: Any) -> list[tuple[str, str, dict[str, Any]]]:
        keys = ("kernel_initializer", "kernel_regularizer", "rate", "units", "filters")
        return [
            (layer.name, type(layer).__name__, {k: v for k, v in layer.get_config().items() if k in keys})
            for layer in model.layers
        ]

    live, source = small_vgg("live"), small_vgg("source")
    assert described(live) == described(source)
    assert live.get_compile_config()["optimizer"]["config"] | {"name": ""} == source.get_compile_config()["optimizer"][
        "config"
    ] | {"name": ""}
    assert (live.loss, live.count_params()) == (source.loss, source.count_params())


def test_layers_of_one_shape_get_different_initial_weights(keras: Any, tmp_path: Path) -> None:
    """Each layer gets its own initialiser object: a shared unseeded one gives the same draws."""
    net = papernet.parse("input 16\nFC-16, FC-16, FC-16\ntrain:\n  init normal(0, 0.01)\n")
    for backend in BACKENDS:
        model = build(net, backend, tmp_path)
        second, third = (model.get_layer(name).kernel.numpy() for name in ("fc2", "fc3"))
        assert (second != third).any(), backend


@pytest.mark.parametrize(
    ("line", "cls", "config"),
    [
        # He et al. 2015 §2.2: a Gaussian of std √(2/fan-in), not truncated
        ("init he", "VarianceScaling", {"scale": 2.0, "mode": "fan_in", "distribution": "untruncated_normal"}),
        ("init glorot", "GlorotUniform", {}),
        ("init he uniform", "HeUniform", {}),
        ("init uniform(-0.05, 0.05)", "RandomUniform", {"minval": -0.05, "maxval": 0.05}),
        ("init truncated normal(0, 0.02)", "TruncatedNormal", {"mean": 0.0, "stddev": 0.02}),
    ],
)
def test_each_initializer_reaches_every_kernel(
    line: str, cls: str, config: dict[str, float], keras: Any, tmp_path: Path
) -> None:
    net = papernet.parse(f"input 8x8x1\nconv3-4 padding same, FC-3, softmax\ntrain:\n  {line}\n")
    for backend in BACKENDS:
        for layer in weighted_layers(build(net, backend, tmp_path)):
            assert type(layer.kernel_initializer).__name__ == cls, (backend, layer.name)
            assert {k: layer.kernel_initializer.get_config()[k] for k in config} == config
            assert layer.kernel_regularizer is None  # no weight decay stated


def test_depthwise_kernels_take_the_set_up_too(keras: Any, tmp_path: Path) -> None:
    net = papernet.parse("input 8x8x4\nconv dw 3x3 padding same\ntrain:\n  weight decay 1e-4, init he\n")
    for backend in BACKENDS:
        layer = build(net, backend, tmp_path).get_layer("dwconv1")
        assert type(layer).__name__ == "DepthwiseConv2D"
        assert layer.depthwise_regularizer.l2 == pytest.approx(1e-4)
        assert layer.depthwise_initializer.get_config()["distribution"] == "untruncated_normal"


def test_adamw_decays_in_the_optimizer_not_in_the_loss(keras: Any, tmp_path: Path) -> None:
    net = papernet.parse("input 8\nFC-4, FC-2, softmax\ntrain:\n  adamw, learning rate 3e-4, weight decay 0.05\n")
    for backend in BACKENDS:
        model = build(net, backend, tmp_path)
        assert type(model.optimizer).__name__ == "AdamW"
        assert model.optimizer.weight_decay == pytest.approx(0.05)
        assert float(model.optimizer.learning_rate) == pytest.approx(3e-4)
        assert all(layer.kernel_regularizer is None for layer in weighted_layers(model))


def test_decoupled_weight_decay_with_sgd(keras: Any, tmp_path: Path) -> None:
    net = papernet.parse("input 8\nFC-2, softmax\ntrain:\n  sgd, weight decay 1e-4 decoupled\n")
    for backend in BACKENDS:
        model = build(net, backend, tmp_path)
        assert (type(model.optimizer).__name__, model.optimizer.weight_decay) == ("SGD", pytest.approx(1e-4))
        assert model.get_layer("fc1").kernel_regularizer is None


def test_a_regression_head_trains_on_mse_with_mae(keras: Any, tmp_path: Path) -> None:
    net = papernet.parse(SMALL_VGG, "small_vgg.pn").adapt(regression=(2, 2, 1))
    for backend in BACKENDS:
        model = build(net, backend, tmp_path)
        assert (model.loss, model.get_compile_config()["metrics"]) == ("mse", ["mae"])


def test_a_stated_loss_and_metrics_win_over_the_head(keras: Any, tmp_path: Path) -> None:
    net = papernet.parse("input 8\nFC-3, softmax\ntrain:\n  loss mse, metrics accuracy, top-5\n")
    for backend in BACKENDS:
        model = build(net, backend, tmp_path)
        config = model.get_compile_config()
        assert (config["loss"], config["metrics"]) == ("mse", ["accuracy", "top_k_categorical_accuracy"])


def test_without_a_train_section_the_model_is_compiled_with_defaults(keras: Any, tmp_path: Path) -> None:
    net = papernet.parse("input 8\nFC-4, FC-3, softmax\n")
    for backend in BACKENDS:
        model = build(net, backend, tmp_path)
        assert (type(model.optimizer).__name__, model.loss) == ("SGD", "categorical_crossentropy")
        assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
        assert [type(layer).__name__ for layer in model.layers].count("Dropout") == 0
        assert all(type(layer.kernel_initializer).__name__ == "GlorotUniform" for layer in weighted_layers(model))
        assert all(layer.kernel_regularizer is None for layer in weighted_layers(model))


def test_a_dropout_the_table_already_has_is_not_doubled(keras: Any) -> None:
    spec = "input 8\nFC-16, dropout 0.3, FC-16, batchnorm, relu, FC-2, softmax\ntrain:\n  dropout 0.5\n"
    model = papernet.parse(spec).to_keras()
    dropouts = [(layer.name, layer.rate) for layer in model.layers if type(layer).__name__ == "Dropout"]
    assert dropouts == [("dropout1", 0.3), ("fc2_dropout", 0.5)]
    # fc2's batch norm and ReLU are layers of their own: the dropout goes after them
    assert model.get_layer("fc2_dropout").input is model.get_layer("fc2_relu").output


# ---- schedules: live callbacks and the generated script agree ----------------------------------


def schedule_callbacks(setup: TrainingSetup, head: str | None = None) -> list[Any]:
    from papernet.backends.live import schedule_callbacks

    return schedule_callbacks(setup, head)  # type: ignore[arg-type]


def test_a_plateau_schedule_is_reduce_lr_on_plateau(keras: Any) -> None:
    setup = setup_of("lr 0.01, divided by 10 when the validation accuracy stopped improving, patience 3")
    (callback,) = schedule_callbacks(setup)
    assert type(callback).__name__ == "ReduceLROnPlateau"
    assert (callback.monitor, callback.factor, callback.patience) == ("val_accuracy", pytest.approx(0.1), 3)
    (regression,) = schedule_callbacks(setup, "regression")
    assert regression.monitor == "val_loss"
    assert schedule_callbacks(setup_of("lr 0.01")) == []


@pytest.mark.parametrize(
    "line",
    ["lr 0.1, divided by 10 every 2 epochs", "lr 0.1, multiplied by 0.5 every 1 epochs", "lr 0.1, cosine"],
)
def test_step_and_cosine_set_the_rate_each_epoch(line: str, keras: Any, tmp_path: Path) -> None:
    import numpy as np

    spec = f"input 4\nFC-2, softmax\ntrain:\n  sgd, {line}\n"
    setup = setup_of(f"sgd, {line}")
    assert setup.schedule is not None
    epochs = 5
    expected = [scheduled_rate(setup.schedule, 0.1, epoch, epochs) for epoch in range(epochs)]

    # the live callback, in a real fit: the rate each epoch ran with
    model = papernet.parse(spec).to_keras()
    seen: list[float] = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate))
    )
    x, y = np.zeros((4, 4), "float32"), np.eye(2, dtype="float32")[[0, 1, 0, 1]]
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[*schedule_callbacks(setup), record])
    assert seen == pytest.approx(expected, rel=1e-6)

    # the generated script's schedule, with the same epochs
    module = import_source(papernet.parse(spec).to_source(), tmp_path, "scheduled")
    (scheduler,) = module.schedule(epochs, True)
    assert [scheduler.schedule(epoch) for epoch in range(epochs)] == pytest.approx(expected, rel=1e-12)
    assert math.isclose(expected[0], 0.1)
