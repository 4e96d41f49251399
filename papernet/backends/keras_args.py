"""The one mapping from IR nodes and the training set-up to Keras, shared by the live and
source backends.

A node becomes one or more `LayerCall`s: a class name, its arguments as plain Python
values, and a layer name. Keras defaults are left out so generated code reads like
hand-written Keras. Keras has no explicit padding on convs and pools and no ceil
rounding, so those become a `ZeroPadding2D` before a `valid` layer, unless the padding
is exactly what `same` does. Pure: this module never imports TensorFlow or Keras.

The training set-up (`papernet.training`) changes the layers and compiles the model:

- `init` and weight decay go on every conv and FC kernel (`LayerCall.weights`, made from
  `weight_arguments`); biases start at zero, Keras's default.
- Weight decay λ becomes `keras.regularizers.L2(λ)`, the paper's number unchanged (VGG's
  "L2 penalty multiplier 5·10⁻⁴" is `L2(5e-4)`). Keras's L2(λ) adds λ·Σw² to the loss, so its
  gradient is 2λw: twice the update of Caffe's `weight_decay: λ` (gradient λw, penalty ½λΣw²),
  which the papers of that era used. For Caffe's update write half the value
  (`weight decay 2.5e-4`); for a decay outside the loss write `weight decay 5e-4 decoupled`
  (or use AdamW): the optimizer then subtracts learning-rate·λ·w from each weight every step.
- `dropout r` adds `Dropout(r)` after every hidden FC layer (every Dense but the last) and its
  activation (and batch norm), unless the table already follows it with a dropout. VGG §3.1:
  "dropout regularisation for the first two fully-connected layers (dropout ratio set to 0.5)".
  The layer is named `<fc>_dropout`.
- The model is compiled with the set-up's optimizer, and its loss and metrics, or the head's:
  a softmax head trains on categorical cross-entropy with accuracy, any other on MSE with MAE.
- Schedules: plateau → `ReduceLROnPlateau` (watching the loss instead of accuracy under a
  regression head); step and cosine set the rate at the start of each epoch from
  `papernet.training.scheduled_rate` (`schedule_expression` writes the same formula).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias, assert_never

from papernet import diagnostics as diag
from papernet import ir, shapes
from papernet.diagnostics import SpecError
from papernet.infer import Inference
from papernet.ir import Graph, Node
from papernet.training import Initializer, TrainingSetup

Head: TypeAlias = Literal["softmax", "regression"]

CUSTOM_LAYERS = frozenset({"LocalResponseNormalization", "ZeroPaddedShortcut"})
"""Layers papernet defines itself (in `papernet.backends.layers`), as Keras has none."""


@dataclass(frozen=True, slots=True)
class LayerCall:
    cls: str
    args: tuple[object, ...]
    kwargs: tuple[tuple[str, object], ...]
    name: str
    weights: str = ""
    """`kernel`, `depthwise` or `depthwise pointwise`: the layer takes the set-up's `<weights>_initializer` and
    `<weights>_regularizer` (`weight_arguments`); empty: Keras's defaults."""

    @property
    def custom(self) -> bool:
        return self.cls in CUSTOM_LAYERS


def layer_calls(
    node: Node, input_shape: tuple[int, ...], partner_shape: tuple[int, ...] | None = None
) -> list[LayerCall]:
    """The Keras layers for `node`, whose input has `input_shape` (without the batch axis);
    a crop to a partner (`Crop2D.match`) also needs the partner's shape.

    >>> from papernet.span import Span
    >>> conv = ir.Conv2D(name="conv1", inputs=(0,), span=Span("a", 1, 1, 1, 2), filters=64,
    ...                  kernel_size=(7, 7), strides=(2, 2), padding=((3, 3), (3, 3)), rounding="floor")
    >>> [(c.cls, c.args, c.kwargs) for c in layer_calls(conv, (224, 224, 3))]
    [('ZeroPadding2D', (), (('padding', 3),)), ('Conv2D', (64, 7), (('strides', 2),))]
    """
    match node:
        case ir.Conv2D():
            return _conv(node, input_shape)
        case ir.DepthwiseConv2D():
            return _depthwise(node, input_shape)
        case ir.SeparableConv2D():
            return _separable(node, input_shape)
        case ir.Conv2DTranspose():
            kwargs = _drop_defaults(
                (
                    ("strides", _compact(node.strides)),
                    ("padding", node.padding),
                    ("use_bias", node.use_bias),
                    ("activation", _activation(node.activation)),
                ),
                strides=1,
                padding="valid",
                use_bias=True,
                activation=None,
            )
            return [LayerCall("Conv2DTranspose", (node.filters, _compact(node.kernel_size)), kwargs, node.name)]
        case ir.Rescaling():
            kwargs = _drop_defaults((("offset", node.offset),), offset=0.0)
            return [LayerCall("Rescaling", (node.scale,), kwargs, node.name)]
        case ir.Normalization():
            return [LayerCall("Normalization", (), (), node.name)]
        case ir.Crop2D():
            cropping = node.cropping or _cropping_to(input_shape, partner_shape)
            return [LayerCall("Cropping2D", (), (("cropping", _compact_padding(cropping)),), node.name)]
        case ir.UpSample2D():
            kwargs = _drop_defaults((("interpolation", node.interpolation),), interpolation="nearest")
            return [LayerCall("UpSampling2D", (_compact(node.size),), kwargs, node.name)]
        case ir.Add():
            return [LayerCall("Add", (), (), node.name)]
        case ir.Concat():
            return [LayerCall("Concatenate", (), (), node.name)]
        case ir.Multiply():
            return [LayerCall("Multiply", (), (), node.name)]
        case ir.ShortcutPad():
            shortcut = (("strides", _compact(node.strides)), ("channels", node.channels))
            return [LayerCall("ZeroPaddedShortcut", (), shortcut, node.name)]
        case ir.Pool2D():
            return _pool(node, input_shape)
        case ir.GlobalPool2D(op=op):
            cls = "GlobalAveragePooling2D" if op == "avg" else "GlobalMaxPooling2D"
            return [LayerCall(cls, (), (), node.name)]
        case ir.Dense():
            kwargs = _drop_defaults(
                (("activation", _activation(node.activation)), ("use_bias", node.use_bias)),
                activation=None,
                use_bias=True,
            )
            return [LayerCall("Dense", (node.units,), kwargs, node.name)]
        case ir.ActivationLayer(activation=activation):
            if activation.name == "leaky_relu":
                return [LayerCall("LeakyReLU", (), (("negative_slope", activation.alpha),), node.name)]
            if activation.name == "relu6":  # as MobileNetV2 writes it in Keras
                return [LayerCall("ReLU", (6.0,), (), node.name)]
            return [LayerCall("Activation", (activation.name,), (), node.name)]
        case ir.BatchNorm():
            kwargs = _drop_defaults(
                (
                    ("epsilon", node.epsilon),
                    ("momentum", node.momentum),
                    ("center", node.center),
                    ("scale", node.scale),
                ),
                epsilon=1e-3,
                momentum=0.99,
                center=True,
                scale=True,
            )
            return [LayerCall("BatchNormalization", (), kwargs, node.name)]
        case ir.LRN():
            kwargs = _drop_defaults(
                (("size", node.size), ("k", node.k), ("alpha", node.alpha), ("beta", node.beta)),
                size=5,
                k=2.0,
                alpha=1e-4,
                beta=0.75,
            )
            return [LayerCall("LocalResponseNormalization", (), kwargs, node.name)]
        case ir.Dropout():
            return [LayerCall("Dropout", (node.rate,), (), node.name)]
        case ir.DropPath():  # one draw per sample: the noise is broadcast over every other axis
            noise_shape = (None, *(1 for _ in input_shape))
            return [LayerCall("Dropout", (node.rate,), (("noise_shape", noise_shape),), node.name)]
        case ir.Flatten():
            return [LayerCall("Flatten", (), (), node.name)]
        case ir.Reshape():
            return [LayerCall("Reshape", (node.target_shape,), (), node.name)]
        case ir.ZeroPad2D():
            return [LayerCall("ZeroPadding2D", (), (("padding", _compact_padding(node.padding)),), node.name)]
        case ir.Input() | ir.Invalid():
            raise ValueError(f"{type(node).__name__} nodes have no Keras layer")
        case _:
            assert_never(node)


def _cropping_to(shape: tuple[int, ...], partner: tuple[int, ...] | None) -> tuple[ir.Pair, ir.Pair]:
    if partner is None:
        raise ValueError("a crop to its partner needs the partner's shape")
    return shapes.center_crop(shape[0], partner[0]), shapes.center_crop(shape[1], partner[1])


def _conv(node: ir.Conv2D, input_shape: tuple[int, ...]) -> list[LayerCall]:
    calls, padding = _padding_calls(node, node.kernel_size, node.strides, node.dilation, input_shape)
    kwargs = _drop_defaults(
        (
            ("strides", _compact(node.strides)),
            ("padding", padding),
            ("dilation_rate", _compact(node.dilation)),
            ("groups", node.groups),
            ("use_bias", node.use_bias),
            ("activation", _activation(node.activation)),
        ),
        strides=1,
        padding="valid",
        dilation_rate=1,
        groups=1,
        use_bias=True,
        activation=None,
    )
    return [*calls, LayerCall("Conv2D", (node.filters, _compact(node.kernel_size)), kwargs, node.name)]


def _depthwise(node: ir.DepthwiseConv2D, input_shape: tuple[int, ...]) -> list[LayerCall]:
    calls, padding = _padding_calls(node, node.kernel_size, node.strides, (1, 1), input_shape)
    kwargs = _drop_defaults(
        (
            ("strides", _compact(node.strides)),
            ("padding", padding),
            ("depth_multiplier", node.depth_multiplier),
            ("use_bias", node.use_bias),
            ("activation", _activation(node.activation)),
        ),
        strides=1,
        padding="valid",
        depth_multiplier=1,
        use_bias=True,
        activation=None,
    )
    return [*calls, LayerCall("DepthwiseConv2D", (_compact(node.kernel_size),), kwargs, node.name)]


def _separable(node: ir.SeparableConv2D, input_shape: tuple[int, ...]) -> list[LayerCall]:
    calls, padding = _padding_calls(node, node.kernel_size, node.strides, node.dilation, input_shape)
    kwargs = _drop_defaults(
        (
            ("strides", _compact(node.strides)),
            ("padding", padding),
            ("dilation_rate", _compact(node.dilation)),
            ("depth_multiplier", node.depth_multiplier),
            ("use_bias", node.use_bias),
            ("activation", _activation(node.activation)),
        ),
        strides=1,
        padding="valid",
        dilation_rate=1,
        depth_multiplier=1,
        use_bias=True,
        activation=None,
    )
    return [*calls, LayerCall("SeparableConv2D", (node.filters, _compact(node.kernel_size)), kwargs, node.name)]


def _pool(node: ir.Pool2D, input_shape: tuple[int, ...]) -> list[LayerCall]:
    calls, padding = _padding_calls(node, node.pool_size, node.strides, (1, 1), input_shape)
    cls = "MaxPooling2D" if node.op == "max" else "AveragePooling2D"
    strides = None if node.strides == node.pool_size else _compact(node.strides)
    kwargs = _drop_defaults((("strides", strides), ("padding", padding)), strides=None, padding="valid")
    return [*calls, LayerCall(cls, (_compact(node.pool_size),), kwargs, node.name)]


def _padding_calls(
    node: ir.Conv2D | ir.DepthwiseConv2D | ir.SeparableConv2D | ir.Pool2D,
    kernel: ir.Pair,
    strides: ir.Pair,
    dilation: ir.Pair,
    input_shape: tuple[int, ...],
) -> tuple[list[LayerCall], str]:
    """Explicit and ceil-mode padding as a ZeroPadding2D, or the Keras padding string."""
    if node.padding == "same":
        return [], "same"
    pads = ((0, 0), (0, 0)) if node.padding == "valid" else node.padding
    if node.rounding == "ceil":
        pads = tuple(  # type: ignore[assignment]
            (before, after + shapes.ceil_extra_padding(input_shape[axis], kernel[axis], strides[axis], before + after))
            for axis, (before, after) in enumerate(pads)
        )
    if all(shapes.is_same_equivalent(kernel[a], strides[a], *pads[a], dilation=dilation[a]) for a in (0, 1)):
        return [], "same"
    if pads == ((0, 0), (0, 0)):
        return [], "valid"
    return [LayerCall("ZeroPadding2D", (), (("padding", _compact_padding(pads)),), f"{node.name}_pad")], "valid"


def _compact(pair: ir.Pair) -> int | ir.Pair:
    return pair[0] if pair[0] == pair[1] else pair


def _compact_padding(padding: tuple[ir.Pair, ir.Pair]) -> object:
    (top, bottom), (left, right) = padding
    if top == bottom and left == right:
        return top if top == left else (top, left)
    return padding


def _activation(activation: ir.Activation) -> str | None:
    return None if activation.name == "linear" else activation.name


def _drop_defaults(pairs: tuple[tuple[str, object], ...], **defaults: object) -> tuple[tuple[str, object], ...]:
    return tuple((key, value) for key, value in pairs if value != defaults.get(key, object()))


def model_name(title: str) -> str:
    """A network's title as an ASCII Python identifier, for model and function names.

    >>> model_name("VGG-11 (regression)"), model_name("3D net")
    ('vgg_11_regression', 'net_3d_net')
    """
    name = re.sub(r"\W+", "_", title.lower(), flags=re.ASCII).strip("_")
    return f"net_{name}" if not name or name[0].isdigit() else name


# ---- the training set-up ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KerasObject:
    """`keras.<path>(*args, **kwargs)` as data, e.g. `KerasObject("optimizers.SGD", (), (("momentum", 0.9),))`:
    the live backend makes it, the source backend writes it."""

    path: str
    args: tuple[object, ...] = ()
    kwargs: tuple[tuple[str, object], ...] = ()


_WEIGHTED = {
    "Conv2D": "kernel",
    "Dense": "kernel",
    "DepthwiseConv2D": "depthwise",
    "SeparableConv2D": "depthwise pointwise",
    "Conv2DTranspose": "kernel",
}
"""Layers whose weights the set-up's `init` and weight decay apply to, by the prefixes of their Keras
arguments (`kernel_initializer`; a separable conv has two kernels)."""


def node_calls(graph: Graph, inference: Inference, training: TrainingSetup | None = None) -> list[list[LayerCall]]:
    """Each node's Keras layers (none for the input), with the set-up's kernel initialiser, weight
    decay and extra dropout layers applied."""
    weighted = training is not None and bool(weight_arguments(training))
    dropouts = dropout_layers(graph, training) if training is not None else {}
    calls: list[list[LayerCall]] = []
    for index, node in enumerate(graph.nodes):
        if isinstance(node, ir.Input):
            calls.append([])
            continue
        input_shape = inference.layers[node.inputs[0]].shape
        assert input_shape is not None
        partner = inference.layers[node.match].shape if isinstance(node, ir.Crop2D) and node.match is not None else None
        own = layer_calls(node, input_shape, partner)
        _check_finite(node, own)
        if weighted:
            own = [replace(call, weights=_WEIGHTED.get(call.cls, "")) for call in own]
        if index in dropouts:
            assert training is not None and training.dropout is not None
            own.append(LayerCall("Dropout", (training.dropout,), (), dropouts[index]))
        calls.append(own)
    return calls


def _check_finite(node: Node, calls: list[LayerCall]) -> None:
    """Every value a layer gets is a finite number: Keras cannot use `inf` or `nan`, and Python
    source cannot even spell them. A spec value too large for a float stops with a diagnostic."""
    for call in calls:
        for value in (*call.args, *(v for _, v in call.kwargs)):
            if isinstance(value, float) and not math.isfinite(value):
                problem = diag.error(
                    "P102", f"{call.cls} would get {value}: a value here is too large for a float", node.span
                )
                raise SpecError([problem], {})


def dropout_layers(graph: Graph, training: TrainingSetup) -> dict[int, str]:
    """Node index → the name of a `Dropout` the set-up adds after it: after each hidden FC layer
    (every Dense but the last) and the activation and batch norm that follow it, unless the
    table already follows them with a dropout.

    >>> from papernet.api import parse
    >>> net = parse("input 8\\nFC-16, FC-16, dropout 0.2, FC-4, softmax\\ntrain:\\n  dropout 0.5\\n")
    >>> dropout_layers(net.graph, net.training())
    {1: 'fc1_dropout'}
    """
    if "dropout" not in training.stated or training.dropout is None:
        return {}
    nodes = graph.nodes
    consumers: dict[int, list[int]] = {}
    for index, node in enumerate(nodes):
        for source in node.inputs:
            consumers.setdefault(source, []).append(index)
    taken = {node.name for node in nodes} | {f"{node.name}_pad" for node in nodes}
    dense = [index for index, node in enumerate(nodes) if isinstance(node, ir.Dense)]
    placed: dict[int, str] = {}
    for index in dense[:-1]:
        end = index
        while consumers.get(end, []) == [end + 1] and isinstance(nodes[end + 1], ir.ActivationLayer | ir.BatchNorm):
            end += 1
        if any(isinstance(nodes[after], ir.Dropout) for after in consumers.get(end, [])):
            continue
        name, number = f"{nodes[index].name}_dropout", 1
        while name in taken:
            number += 1
            name = f"{nodes[index].name}_dropout{number}"
        taken.add(name)
        placed[end] = name
    return placed


def head_of(graph: Graph) -> Head:
    """`softmax` when the network ends in a softmax (the last layer with an activation), else `regression`."""
    for node in reversed(graph.nodes):
        match node:
            case (
                ir.Dense()
                | ir.ActivationLayer()
                | ir.Conv2D()
                | ir.DepthwiseConv2D()
                | ir.SeparableConv2D()
                | ir.Conv2DTranspose()
            ):
                return "softmax" if node.activation.name == "softmax" else "regression"
    return "regression"


def weight_arguments(training: TrainingSetup) -> tuple[tuple[str, KerasObject], ...]:
    """(`initializer`, …) and (`regularizer`, …) for every conv and FC kernel, as far as the set-up states them.

    >>> from papernet.training import Initializer
    >>> weight_arguments(TrainingSetup(weight_decay=5e-4, init=Initializer("normal", stddev=0.01),
    ...                                stated=frozenset({"weight_decay", "init"})))  # doctest: +NORMALIZE_WHITESPACE
    (('initializer', KerasObject(path='initializers.RandomNormal', args=(), kwargs=(('stddev', 0.01),))),
     ('regularizer', KerasObject(path='regularizers.L2', args=(0.0005,), kwargs=())))
    """
    found: list[tuple[str, KerasObject]] = []
    if training.init is not None and "init" in training.stated:
        found.append(("initializer", initializer(training.init)))
    if training.weight_decay is not None and "weight_decay" in training.stated and not training.decoupled:
        found.append(("regularizer", KerasObject("regularizers.L2", (training.weight_decay,))))
    return tuple(found)


HE_NORMAL = KerasObject(
    "initializers.VarianceScaling", (), (("scale", 2.0), ("mode", "fan_in"), ("distribution", "untruncated_normal"))
)
"""He et al. 2015 (§2.2): "a zero-mean Gaussian distribution whose standard deviation is √(2/n_l)",
n_l the fan-in. Keras's `HeNormal` truncates that Gaussian at two standard deviations; the paper
does not, and drawing untruncated is also four times cheaper (ResNet-50's `to_keras()`)."""


def initializer(init: Initializer) -> KerasObject:
    """The Keras initializer for the set-up's `init`.

    >>> initializer(Initializer("he_normal")).kwargs
    (('scale', 2.0), ('mode', 'fan_in'), ('distribution', 'untruncated_normal'))
    """
    match init.kind:
        case "normal" | "truncated_normal":
            cls = "RandomNormal" if init.kind == "normal" else "TruncatedNormal"
            mean = (("mean", init.mean),) if init.mean else ()
            return KerasObject(f"initializers.{cls}", (), (*mean, ("stddev", init.stddev)))
        case "uniform":
            assert init.limit is not None
            return KerasObject("initializers.RandomUniform", (), (("minval", -init.limit), ("maxval", init.limit)))
        case "he_normal":
            return HE_NORMAL
        case "glorot_uniform" | "glorot_normal" | "he_uniform":
            return KerasObject("initializers." + "".join(part.title() for part in init.kind.split("_")))
        case _:
            assert_never(init.kind)


_OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adamw": "AdamW"}


def optimizer(training: TrainingSetup) -> KerasObject:
    """The optimizer, with the learning rate always written out and other Keras defaults left out.

    >>> optimizer(TrainingSetup(momentum=0.9, nesterov=True))
    KerasObject(path='optimizers.SGD', args=(), kwargs=(('learning_rate', 0.01), ('momentum', 0.9), ('nesterov', True)))
    """
    kwargs: list[tuple[str, object]] = [("learning_rate", training.learning_rate)]
    if training.optimizer in ("sgd", "rmsprop") and training.momentum:
        kwargs.append(("momentum", training.momentum))
    if training.optimizer == "sgd" and training.nesterov:
        kwargs.append(("nesterov", True))
    if training.decoupled and training.weight_decay is not None:
        kwargs.append(("weight_decay", training.weight_decay))
    return KerasObject(f"optimizers.{_OPTIMIZER_CLASSES[training.optimizer]}", (), tuple(kwargs))


def loss(training: TrainingSetup, head: Head) -> str:
    return training.loss or ("categorical_crossentropy" if head == "softmax" else "mse")


def metrics(training: TrainingSetup, head: Head) -> tuple[str, ...]:
    return training.metrics or (("accuracy",) if head == "softmax" else ("mae",))


def plateau_callback(
    training: TrainingSetup, head: Head | None = None, validation: bool | None = None
) -> KerasObject | None:
    """`ReduceLROnPlateau` for a plateau schedule; None for the others (see `schedule_expression`)."""
    schedule = training.schedule
    if schedule is None or schedule.kind != "plateau":
        return None
    monitor = plateau_monitor(schedule.monitor, head, validation)
    kwargs = (("monitor", monitor), ("factor", schedule.factor), ("patience", schedule.patience))
    return KerasObject("callbacks.ReduceLROnPlateau", (), kwargs)


def plateau_monitor(monitor: str, head: Head | None, validation: bool | None) -> str:
    """The figure a plateau schedule watches in a run: a regression head has no accuracy, so a
    schedule that watches accuracy (VGG's, inherited by a spec adapted to regression) watches the
    loss; without validation data (`validation` False), the training figure.

    >>> plateau_monitor("val_accuracy", "regression", None), plateau_monitor("val_accuracy", "softmax", False)
    ('val_loss', 'accuracy')
    """
    if head == "regression" and monitor.endswith("accuracy"):
        monitor = monitor.removesuffix("accuracy") + "loss"
    return monitor.removeprefix("val_") if validation is False else monitor


def schedule_expression(training: TrainingSetup) -> str | None:
    """A step or cosine schedule as a Python expression in `epoch` (0-based) and `epochs` (of the
    run), the formula of `papernet.training.scheduled_rate`; None for no schedule or a plateau.

    >>> from papernet.training import Schedule
    >>> schedule_expression(TrainingSetup(learning_rate=0.1, schedule=Schedule("step", 0.1, every=30)))
    '0.1 * 0.1 ** (epoch // 30)'
    """
    schedule, rate = training.schedule, repr(training.learning_rate)
    if schedule is None or schedule.kind == "plateau":
        return None
    if schedule.kind == "step":
        return f"{rate} * {schedule.factor!r} ** (epoch // {schedule.every!r})"
    return f"{rate} * (1 + math.cos(math.pi * epoch / epochs)) / 2"
