"""The source backend: IR → clean, runnable Keras 3 source: a module that builds and compiles the
model and, run as a script, trains it.

The module holds `build_<network>()` (the layers, then `compile_model`), `compile_model(model)`
(the `train:` section's optimizer, loss and metrics), `weights()` (its kernel initialiser and
weight decay, where it states them), `schedule(epochs, validation)` (its learning-rate schedule as
callbacks) and a command line::

    python vgg11.py                                   # build the model, print its summary
    python vgg11.py --data X.npy Y.npy [--val X.npy Y.npy | --val-split F] [--epochs E]
                    [--batch-size B] [--output DIR] [--distribute mirrored|multiworker]
    python vgg11.py --synthetic N ...                 # N random examples: a smoke test

Training checks the arrays' shapes against the model (exit 2 with a message if they differ),
fits, and saves DIR/model.keras. `--batch-size` is the global batch, as papers state it and as
`papernet train` takes it: it is split across the replicas of the `tf.distribute` strategy
(MirroredStrategy over the GPUs, or over the logical CPUs where there is none;
MultiWorkerMirroredStrategy, which needs TF_CONFIG), and the script prints the split.

Nothing from a spec can become code: names are validated by the grammar and passed as
string literals, every value goes through `repr()`, comments carry spec text with
control characters escaped, and the result is checked with `compile()`. The same
spec always gives the same bytes.
"""

from __future__ import annotations

import builtins
import keyword
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

from papernet import ir
from papernet.backends import keras_args
from papernet.backends.keras_args import Head, KerasObject, LayerCall, head_of, model_name, node_calls
from papernet.diagnostics import SpecError, printable
from papernet.infer import Inference, dims
from papernet.ir import Graph
from papernet.solve import inferred
from papernet.training import TrainingSetup

LINE_LENGTH = 88
INDENT = "    "

MODULE_NAMES = frozenset(
    {"argparse", "math", "os", "sys", "keras", "np", "layers", "ops", "model"}
    | {"weights", "compile_model", "schedule", "examples", "synthetic", "distribution", "main"}
    | {"LocalResponseNormalization", "ZeroPaddedShortcut"}
)
"""Names the generated module defines or imports: no variable, parameter or helper may shadow them."""

GENERATOR_LOCALS = frozenset({"x", "inputs", "i", "name"})
"""Names the generated functions use for their own purposes (the chain's tensor, the input, a loop's
counter, a helper's layer-name prefix): no label or block may take them either."""


def generate(
    graph: Graph, inference: Inference, sources: Mapping[str, str], training: TrainingSetup | None = None
) -> str:
    """The Python module for `graph`: a `build_<network>()` function and a `__main__`.

    Blocks (a ResNet bracket's repetitions, an inception module, a user-defined block) become
    one helper function per distinct structure, called once per use, in a loop where uses
    follow each other; everything else is one line per Keras layer.
    """
    setup = training or TrainingSetup()
    function = f"build_{model_name(graph.name)}"
    units = _units(graph)
    try:
        calls_of = node_calls(graph, inference, setup)
    except SpecError as error:  # a value Python cannot spell: quote the spec's line
        raise SpecError(error.diagnostics, sources) from None
    helpers, uses = _helpers(graph, calls_of, units, taken={function, *MODULE_NAMES, *GENERATOR_LOCALS})
    variables = _unit_variables(graph, units, {function, *MODULE_NAMES, *(helper.name for helper in helpers)})
    unit_of = {node: index for index, unit in enumerate(units) for node in range(*unit)}
    body: list[str] = []
    custom: set[str] = {call.cls for helper in helpers for call in helper.calls if call.custom}
    cited: tuple[str, int] | None = None
    index = 0
    while index < len(units):
        node = graph.nodes[units[index][0]]
        line = (node.span.file, node.span.line)
        if line != cited and node.span.line > 0:
            body.append(f"# {_citation(node.span.file, node.span.line, sources)}")
            cited = line
        body += _inferred_comment(node)
        if index in uses:
            source = variables[unit_of[_external_inputs(graph, units[index])[0]]]
            run = _loop_run(index, uses, variables) if source == "x" else [index]
            body += _use_lines(run, uses, variables, source)
            index += len(run)
            continue
        if isinstance(node, ir.Input):
            body.append(f"{variables[index]} = keras.Input(shape={py(node.shape)}, name={py(node.name)})")
            index += 1
            continue
        names = [variables[unit_of[i]] for i in node.inputs]
        argument = names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"
        calls = calls_of[units[index][0]]
        for position, call in enumerate(calls):
            target = variables[index] if position == len(calls) - 1 else "x"
            body += _call_lines(call, argument, target)
            argument = target
            if call.custom:
                custom.add(call.cls)
        index += 1
    body += [
        *_wrapped("model", "keras.Model", ["inputs", variables[-1], f"name={py(model_name(graph.name))}"], None),
        "compile_model(model)",
        "return model",
    ]

    total = inference.total_params
    output = inference.layers[-1].shape if inference.layers else None
    first_file = graph.nodes[0].span.file if graph.nodes else "<spec>"
    head = head_of(graph)
    weighted = any(call.weights for calls in calls_of for call in calls)
    lines = [
        docstring(f"{graph.name}: generated by papernet from {first_file}; regenerate rather than edit."),
        "",
        "import argparse",
        *(["import math"] if keras_args.schedule_expression(setup) else []),
        "import os",
        "import sys",
        "",
        "try:",
        INDENT + "import keras",
        INDENT + "import numpy as np",
        INDENT + "from keras import layers" + (", ops" if custom else ""),
        "except ModuleNotFoundError as error:  # Keras 3, a backend, or NumPy is not installed",
        INDENT + 'hint = "this model needs Keras 3 and a backend: pip install keras tensorflow"',
        INDENT + 'raise SystemExit(f"{error}; {hint}") from error',
        "",
    ]
    for cls in sorted(custom):
        lines += ["", _custom_layer_source(cls), ""]
    if weighted:
        lines += ["", *_weights_lines(setup), ""]
    for helper in helpers:
        lines += ["", *helper.lines, ""]
    lines += [
        "",
        f"def {function}():",
        INDENT + docstring(f"{graph.name}: {total:,} parameters, output {dims(output) if output else '?'}."),
        *(INDENT + line if line else "" for line in body),
        "",
        "",
        *_compile_lines(setup, head, graph, sources),
        "",
        "",
        *_schedule_lines(setup, head),
        "",
        "",
        _script(function, setup, head),
    ]
    source = "\n".join(lines)
    compile(source, f"<{function}>", "exec")
    return source


# ---- the training set-up ------------------------------------------------------------------


def _weights_argument(call: LayerCall) -> list[str]:
    """`**weights()` for a conv or FC layer that takes the set-up's initialiser and weight decay."""
    if not call.weights:
        return []
    return ["**weights()" if prefix == "kernel" else f"**weights({py(prefix)})" for prefix in call.weights.split()]


def _weights_lines(setup: TrainingSetup) -> list[str]:
    """`weights(kernel)`: fresh initialiser and regulariser objects for each layer (one object shared
    by several layers would give them the same initial weights)."""
    entries = [
        line
        for suffix, value in keras_args.weight_arguments(setup)
        for line in _call_lines_of(f'f"{{kernel}}_{suffix}": ', value, ",", depth=2)
    ]
    return [
        'def weights(kernel="kernel"):',
        INDENT + docstring("The paper's kernel initialisation and weight decay, for every conv and FC."),
        INDENT + "return {",
        *(INDENT * 2 + line for line in entries),
        INDENT + "}",
    ]


def _compile_lines(setup: TrainingSetup, head: Head, graph: Graph, sources: Mapping[str, str]) -> list[str]:
    cited = [f"# {_citation(line.span.file, line.span.line, sources)}" for line in graph.train]
    metrics = [py(metric) for metric in keras_args.metrics(setup, head)]
    return [
        "def compile_model(model):",
        INDENT + docstring("Compile the model as the paper trained it (Keras's defaults where it is silent)."),
        *(INDENT + line for line in cited),
        *(INDENT + line for line in _call_lines_of("optimizer = ", keras_args.optimizer(setup), "")),
        INDENT + "model.compile(",
        INDENT * 2 + "optimizer=optimizer,",
        INDENT * 2 + f"loss={py(keras_args.loss(setup, head))},",
        *(INDENT * 2 + line for line in _list_lines("metrics=", metrics, ",", depth=2)),
        INDENT + ")",
    ]


def _schedule_lines(setup: TrainingSetup, head: Head) -> list[str]:
    """`schedule(epochs, validation)`: the learning-rate schedule as callbacks for `fit`."""
    lines = [
        "def schedule(epochs, validation):",
        INDENT + docstring("The paper's learning-rate schedule, as callbacks for fit (none: a constant rate)."),
    ]
    plateau = keras_args.plateau_callback(setup, head)
    expression = keras_args.schedule_expression(setup)
    if plateau is not None:
        monitor = dict(plateau.kwargs)["monitor"]
        assert isinstance(monitor, str)
        alone = keras_args.plateau_monitor(monitor, head, validation=False)  # without validation data
        if alone != monitor:
            lines.append(f"{INDENT}monitor = {py(monitor)} if validation else {py(alone)}")
        else:
            lines.append(f"{INDENT}monitor = {py(monitor)}")
        watched = KerasObject(plateau.path, plateau.args, (("monitor", _Code("monitor")), *plateau.kwargs[1:]))
        lines += [INDENT + line for line in _call_lines_of("callback = ", watched, "")]
        lines.append(INDENT + "return [callback]")
    elif expression is not None:
        lines += [
            "",
            INDENT + "def rate(epoch):",
            INDENT * 2 + f"return {expression}",
            "",
            INDENT + "return [keras.callbacks.LearningRateScheduler(rate)]",
        ]
    else:
        lines.append(INDENT + "return []")
    return lines


@dataclass(frozen=True)
class _Code:
    """Code, not a value: written as is (`monitor`, a variable of the generated function)."""

    text: str


def _call_lines_of(prefix: str, value: KerasObject, suffix: str, depth: int = 1) -> list[str]:
    """`prefix keras.<path>(arguments) suffix`, wrapped as ruff wraps a call."""
    arguments = [_literal(arg) for arg in value.args] + [f"{key}={_literal(arg)}" for key, arg in value.kwargs]
    return _bracketed(f"{prefix}keras.{value.path}(", arguments, f"){suffix}", depth, hug=True)


def _list_lines(prefix: str, items: list[str], suffix: str, depth: int) -> list[str]:
    """`prefix[items]suffix`, wrapped as ruff wraps a list: on one line, or one item a line."""
    return _bracketed(f"{prefix}[", items, f"]{suffix}", depth, hug=False)


def _bracketed(opening: str, items: list[str], closing: str, depth: int, hug: bool) -> list[str]:
    """On one line if it fits; else (a call, `hug`) the items on one line of their own if they fit;
    else one item a line, with a trailing comma."""
    width = LINE_LENGTH - len(INDENT) * depth
    single = f"{opening}{', '.join(items)}{closing}"
    if len(single) <= width:
        return [single]
    if hug and len(INDENT + ", ".join(items)) <= width:
        return [opening, INDENT + ", ".join(items), closing]
    return [opening, *(f"{INDENT}{item}," for item in items), closing]


def _literal(value: object) -> str:
    return value.text if isinstance(value, _Code) else py(value)


def _script(function: str, setup: TrainingSetup, head: Head) -> str:
    """The data, distribution and command-line part of the module, from `_SCRIPT`."""
    epochs, batch = setup.epochs, setup.batch_size
    options = [
        ('"--epochs"', epochs, 1, "the paper's" if epochs is not None else "the paper does not say"),
        (
            '"--batch-size"',
            batch,
            32,
            "global; the paper's" if batch is not None else "global, split across replicas",
        ),
    ]
    arguments = [
        INDENT + line
        for flag, stated, default, help in options
        for line in _bracketed(
            "parser.add_argument(",
            [flag, "type=int", f"default={py(stated if stated is not None else default)}", f"help={py(help)}"],
            ")",
            depth=1,
            hug=True,
        )
    ]
    return Template(_SCRIPT).substitute(
        build=function,
        one_hot=_ONE_HOT if head == "softmax" else "",
        targets=_CLASS_TARGETS if head == "softmax" else _REGRESSION_TARGETS,
        epochs_and_batch="\n".join(arguments) + "\n",
    )


_ONE_HOT = """\
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):  # class ids
        y = keras.utils.to_categorical(y, model.output_shape[-1])
"""

_CLASS_TARGETS = """\
    classes = model.output_shape[-1]
    y = keras.utils.to_categorical(rng.integers(classes, size=count), classes)
"""

_REGRESSION_TARGETS = """\
    y = rng.normal(size=(count, *model.output_shape[1:])).astype("float32")
"""

_SCRIPT = '''\
def examples(paths, model):
    """Inputs and targets from two .npy files, checked against the model's shapes."""
    x, y = np.load(paths[0]), np.load(paths[1])
${one_hot}\
    shapes = (model.input_shape[1:], model.output_shape[1:])
    for path, array, shape in zip(paths, (x, y), shapes):
        if array.shape[1:] != shape:
            raise ValueError(f"{path}: examples of shape {array.shape[1:]} not {shape}")
    if len(x) != len(y):
        raise ValueError(f"{len(x)} inputs but {len(y)} targets")
    return x, y


def synthetic(count, model):
    """`count` random examples of the model's shapes: a smoke test, with nothing to learn."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(count, *model.input_shape[1:])).astype("float32")
${targets}\
    return x, y


def distribution(kind):
    """The tf.distribute strategy for --distribute; without it, TensorFlow's default."""
    import tensorflow as tf

    if kind == "mirrored":  # every GPU, or every logical CPU where there is no GPU
        devices = tf.config.list_logical_devices("GPU")
        devices = devices or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if kind == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--distribute multiworker needs TF_CONFIG on every worker")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def main(argv=None):
    """Print the model's summary; with --data or --synthetic, train it and save it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--data", nargs=2, metavar=("X.npy", "Y.npy"), help="to train on")
    data.add_argument("--synthetic", type=int, metavar="N", help="N random examples")
    held_out = parser.add_mutually_exclusive_group()
    held_out.add_argument("--val", nargs=2, metavar=("X.npy", "Y.npy"), help="held out")
    held_out.add_argument("--val-split", type=float, metavar="F", help="of --data")
${epochs_and_batch}\
    parser.add_argument("--output", default=".", metavar="DIR", help="for model.keras")
    parser.add_argument("--distribute", choices=["mirrored", "multiworker"])
    args = parser.parse_args(argv)
    if args.data is None and args.synthetic is None:
        ${build}().summary()
        return 0
    try:
        strategy = distribution(args.distribute)
        with strategy.scope():
            model = ${build}()
        if args.data:
            x, y = examples(args.data, model)
        else:
            x, y = synthetic(args.synthetic, model)
        validation = examples(args.val, model) if args.val else None
    except (OSError, ValueError) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    replicas = strategy.num_replicas_in_sync
    batch_size = args.batch_size
    if batch_size % replicas:
        print(f"error: {replicas} replicas cannot split {batch_size}", file=sys.stderr)
        return 2
    print(f"global batch {batch_size} = {batch_size // replicas} x {replicas} replicas")
    validating = validation is not None or bool(args.val_split)
    model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=args.epochs,
        validation_data=validation,
        validation_split=args.val_split or 0.0,
        callbacks=schedule(args.epochs, validating),
    )
    os.makedirs(args.output, exist_ok=True)
    path = os.path.join(args.output, "model.keras")
    model.save(path)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''
"""The module's data, distribution and command line: fixed text apart from `${...}`, which
`_script` fills with `py()` literals, the build function's (validated) name and fixed snippets."""


# ---- blocks as helper functions ------------------------------------------------------------

Unit = tuple[int, int]  # nodes start..end-1: one layer, or one use of a block


@dataclass(frozen=True)
class _Helper:
    name: str
    params: tuple[str, ...]
    calls: tuple[LayerCall, ...]
    lines: tuple[str, ...]


@dataclass(frozen=True)
class _Use:
    helper: _Helper
    values: tuple[object, ...]  # one per parameter
    instance: str  # the layer-name prefix of this use, `conv2_x_block1`


def _units(graph: Graph) -> list[Unit]:
    """Nodes grouped into block uses (consecutive nodes of one block, with one input and one
    output) and single layers."""
    units: list[Unit] = []
    nodes = graph.nodes
    index = 0
    while index < len(nodes):
        node = nodes[index]
        end = index + 1
        while (
            end < len(nodes)
            and node.template
            and (nodes[end].scope, nodes[end].template)
            == (
                node.scope,
                node.template,
            )
        ):
            end += 1
        if end - index > 1 and _is_closed(graph, (index, end)):
            units.append((index, end))
        else:
            units += [(i, i + 1) for i in range(index, end)]
        index = end
    return units


def _external_inputs(graph: Graph, unit: Unit) -> list[int]:
    start, end = unit
    found: list[int] = []
    for node in graph.nodes[start:end]:
        found += [i for i in node.inputs if i < start and i not in found]
    return found


def _is_closed(graph: Graph, unit: Unit) -> bool:
    """One tensor in, and only the last node's output used after the block."""
    start, end = unit
    if len(_external_inputs(graph, unit)) != 1:
        return False
    return all(i >= end - 1 or i < start for node in graph.nodes[end:] for i in node.inputs)


def _unit_variables(graph: Graph, units: list[Unit], module_names: set[str]) -> list[str]:
    """The Python variable that holds each unit's output.

    A chain reuses `x`; a tensor that is used again later (a shortcut, a branch point) or
    that is used by a unit other than the next one gets a name of its own, from its layer.
    """
    unit_of = {node: index for index, unit in enumerate(units) for node in range(*unit)}
    consumers: dict[int, set[int]] = {}
    for index, node in enumerate(graph.nodes):
        for source in node.inputs:
            if unit_of[source] != unit_of[index]:
                consumers.setdefault(unit_of[source], set()).add(unit_of[index])
    taken = {*GENERATOR_LOCALS, *module_names}
    variables = []
    for index, (_, end) in enumerate(units):
        node = graph.nodes[end - 1]
        if isinstance(node, ir.Input):
            variables.append("inputs")
        elif consumers.get(index, {index + 1}) == {index + 1}:
            variables.append("x")
        else:
            variables.append(_fresh_identifier(node.name, taken))
    return variables


_POSITIONAL = {
    "Conv2D": ("filters", "kernel_size"),
    "DepthwiseConv2D": ("kernel_size",),
    "Dense": ("units",),
    "MaxPooling2D": ("pool_size",),
    "AveragePooling2D": ("pool_size",),
    "Dropout": ("rate",),
    "Reshape": ("target_shape",),
    "Activation": ("activation",),
}


def _helpers(
    graph: Graph, calls_of: list[list[LayerCall]], units: list[Unit], taken: set[str]
) -> tuple[list[_Helper], dict[int, _Use]]:
    """One helper per block structure; the values that differ between its uses are parameters."""
    shapes: dict[tuple[object, ...], list[tuple[int, str, list[LayerCall], list[tuple[int, ...]]]]] = {}
    for index, unit in enumerate(units):
        start, end = unit
        if end - start < 2:
            continue
        names = [node.name for node in graph.nodes[start:end]]
        prefix = os.path.commonprefix(names)  # noqa: RUF071 - a common name prefix is what is wanted
        prefix = prefix[: prefix.rfind("_") + 1]
        calls: list[LayerCall] = []
        wiring: list[tuple[int, ...]] = []
        for index_in_graph in range(start, end):
            node, own = graph.nodes[index_in_graph], calls_of[index_in_graph]
            calls += own
            wiring += [tuple(i - start if i >= start else -1 for i in node.inputs)] + [(-2,)] * (len(own) - 1)
        if not prefix or not all(call.name.startswith(prefix) for call in calls):
            continue
        key = (
            graph.nodes[start].template,
            tuple((c.cls, len(c.args), tuple(k for k, _ in c.kwargs), c.weights, c.name[len(prefix) :]) for c in calls),
            tuple(wiring),
        )
        shapes.setdefault(key, []).append((index, prefix[:-1], calls, wiring))
    helpers: list[_Helper] = []
    uses: dict[int, _Use] = {}
    for (template, _, _), members in shapes.items():
        values = [_values(calls) for _, _, calls, _ in members]
        columns = [tuple(py(v[i]) for v in values) for i in range(len(values[0]))]
        # one parameter per distinct column of values that differ between uses
        distinct = list(dict.fromkeys(c for c in columns if len(set(c)) > 1))
        parameter_of = {i: distinct.index(c) for i, c in enumerate(columns) if c in distinct}
        firsts = [min(i for i, p in parameter_of.items() if p == k) for k in range(len(distinct))]
        params = _parameter_names(members[0][2], members[0][1] + "_", firsts)
        name = _fresh_identifier(re.sub(r"\W", "_", str(template), flags=re.ASCII) or "block", taken)
        argument_of = {i: params[p] for i, p in parameter_of.items()}
        lines = _helper_lines(name, params, argument_of, members[0], [member[1] for member in members])
        helper = _Helper(name, params, tuple(members[0][2]), tuple(lines))
        helpers.append(helper)
        for (index, instance, _, _), vals in zip(members, values, strict=True):
            uses[index] = _Use(helper, tuple(vals[i] for i in firsts), instance)
    return helpers, uses


def _values(calls: list[LayerCall]) -> list[object]:
    return [value for call in calls for value in (*call.args, *(v for _, v in call.kwargs))]


def _parameter_names(calls: list[LayerCall], prefix: str, varying: list[int]) -> tuple[str, ...]:
    """Names for the values that differ between a block's uses: the Keras argument's name,
    and where two would share one, the layer's name within the block (`filters_3x3`)."""
    labels: list[tuple[str, str]] = []
    for call in calls:
        positional = _POSITIONAL.get(call.cls, ())
        layer = call.name[len(prefix) :].removesuffix("_conv")
        labels += [(positional[i] if i < len(positional) else f"arg{i}", layer) for i in range(len(call.args))]
        labels += [(key, layer) for key, _ in call.kwargs]
    wanted = [labels[position] for position in varying]
    shared = {label for label, _ in wanted if sum(1 for other, _ in wanted if other == label) > 1}
    taken = {*GENERATOR_LOCALS, *MODULE_NAMES}
    return tuple(_fresh_identifier(f"{label}_{layer}" if label in shared else label, taken) for label, layer in wanted)


def _helper_lines(
    name: str,
    params: tuple[str, ...],
    argument_of: dict[int, str],
    member: tuple[int, str, list[LayerCall], list[tuple[int, ...]]],
    instances: list[str],
) -> list[str]:
    _, instance, calls, wiring = member
    prefix = instance + "_"
    node_wires = [wires for wires in wiring if wires != (-2,)]  # (-2,): another call of the same node
    uses_of: dict[int, int] = {}
    for wires in node_wires:
        for source in wires:
            uses_of[source] = uses_of.get(source, 0) + 1
    local: dict[int, str] = {-1: "inputs"}  # node → the variable that holds it; -1 is the block's input
    taken = {*GENERATOR_LOCALS, *params, *MODULE_NAMES}
    body: list[str] = []
    node_index, position, argument = -1, 0, ""
    for index, (call, wires) in enumerate(zip(calls, wiring, strict=True)):
        rendered = []
        for value in (*call.args, *(v for _, v in call.kwargs)):
            rendered.append(argument_of.get(position, py(value)))
            position += 1
        arguments = rendered[: len(call.args)] + [
            f"{key}={text}" for (key, _), text in zip(call.kwargs, rendered[len(call.args) :], strict=True)
        ]
        suffix = call.name[len(prefix) :]
        arguments += _weights_argument(call)
        arguments.append(f"name=name + {py('_' + suffix)}")
        if wires != (-2,):
            node_index += 1
            sources = [local[s] for s in wires]
            argument = sources[0] if len(sources) == 1 else "[" + ", ".join(sources) + "]"
        more_of_this_node = index + 1 < len(calls) and wiring[index + 1] == (-2,)
        only_the_next_uses_it = (
            uses_of.get(node_index, 0) == 1
            and node_index + 1 < len(node_wires)
            and (node_index in node_wires[node_index + 1])
        )
        last = node_index == len(node_wires) - 1
        target = "x" if more_of_this_node or last or only_the_next_uses_it else _fresh_identifier(suffix, taken)
        constructor = call.cls if call.custom else f"layers.{call.cls}"
        body += _wrapped(target, constructor, arguments, argument, depth=1)
        argument = target
        if not more_of_this_node:
            local[node_index] = target
    listed = ", ".join(instance.replace("_block", "/block") for instance in instances[:4])
    more = f" and {len(instances) - 4} more" if len(instances) > 4 else ""
    return [
        *_signature(name, ["inputs", *params, "name"]),
        INDENT + docstring(f"Used by {listed}{more}."),
        *(INDENT + line for line in body),
        INDENT + "return x",
    ]


def _signature(name: str, params: list[str]) -> list[str]:
    """`def name(params):`, wrapped as ruff wraps it."""
    single = f"def {name}({', '.join(params)}):"
    if len(single) <= LINE_LENGTH:
        return [single]
    if len(INDENT + ", ".join(params)) <= LINE_LENGTH:
        return [f"def {name}(", INDENT + ", ".join(params), "):"]
    return [f"def {name}(", *(f"{INDENT}{param}," for param in params), "):"]


def _loop_run(index: int, uses: dict[int, _Use], variables: list[str]) -> list[int]:
    """Consecutive uses of one helper with the same arguments and numbered names: one loop."""
    run = [index]
    first = uses[index]
    numbered = re.fullmatch(r"(.*?)(\d+)", first.instance)
    while numbered:
        following = run[-1] + 1
        use = uses.get(following)
        expected = f"{numbered.group(1)}{int(numbered.group(2)) + len(run)}"
        if use is None or use.helper is not first.helper or use.values != first.values or use.instance != expected:
            break
        if variables[run[-1]] != "x" or variables[following] != "x":
            break
        run.append(following)
    return run


def _use_lines(run: list[int], uses: dict[int, _Use], variables: list[str], source: str) -> list[str]:
    use = uses[run[0]]
    values = [py(value) for value in use.values]
    if len(run) == 1:
        return _wrapped(variables[run[0]], use.helper.name, [source, *values, f"name={py(use.instance)}"], None)
    numbered = re.fullmatch(r"(.*?)(\d+)", use.instance)
    assert numbered is not None
    first = int(numbered.group(2))
    header = f"for i in range({first}, {first + len(run)}):"
    call = _wrapped("x", use.helper.name, ["x", *values, f"name={py(numbered.group(1))} + str(i)"], None, depth=2)
    return [header, *(INDENT + line for line in call)]


def _wrapped(target: str, function: str, arguments: list[str], source: str | None, depth: int = 1) -> list[str]:
    """`target = function(arguments)(source)`, or `target = function(arguments)`, wrapped as ruff
    (black) wraps it: split the last brackets if what comes before them fits, else the arguments."""
    trailer = f"({source})" if source is not None else ""
    width = LINE_LENGTH - len(INDENT) * depth
    single = f"{target} = {function}({', '.join(arguments)}){trailer}"
    if len(single) <= width:
        return [single]
    if source is not None and len(f"{target} = {function}({', '.join(arguments)})(") <= width:
        return [f"{target} = {function}({', '.join(arguments)})(", INDENT + source, ")"]
    if len(INDENT + ", ".join(arguments)) <= width:
        return [f"{target} = {function}(", INDENT + ", ".join(arguments), f"){trailer}"]
    return [f"{target} = {function}(", *(f"{INDENT}{argument}," for argument in arguments), f"){trailer}"]


def py(value: object) -> str:
    """A Python literal for a value from a spec, double-quoted as ruff formats strings.

    >>> py("conv1"), py((224, 224, 3)), py(0.5), py('say "hi"'), py(((0, 1), (0, 1)))
    ('"conv1"', '(224, 224, 3)', '0.5', '\\'say "hi"\\'', '((0, 1), (0, 1))')
    """
    if isinstance(value, str):
        literal = repr(value)
        if literal.startswith("'") and '"' not in value:
            literal = '"' + literal[1:-1] + '"'
        return literal
    if isinstance(value, tuple):
        inner = ", ".join(py(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"no Python literal for {value}: a spec's values are checked to be finite")
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)
    raise TypeError(f"no literal for {type(value).__name__}")


def docstring(text: str) -> str:
    """A one-line docstring; text that cannot sit between triple quotes becomes a plain literal.

    >>> docstring("VGG-11") == 3 * '"' + "VGG-11" + 3 * '"'
    True
    >>> print(docstring('say "hi"'))
    'say "hi"'
    """
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"""{text}"""'
    return py(text)


def _fresh_identifier(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", name, flags=re.ASCII).strip("_") or "t"
    if base[0].isdigit():
        base = f"t{base}"
    if keyword.iskeyword(base) or hasattr(builtins, base):
        base = f"{base}_"
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}_{number}"
    taken.add(candidate)
    return candidate


def _call_lines(call: LayerCall, source_var: str, target: str = "x") -> list[str]:
    arguments = [py(arg) for arg in call.args] + [f"{key}={py(value)}" for key, value in call.kwargs]
    arguments += _weights_argument(call)
    arguments.append(f"name={py(call.name)}")
    constructor = call.cls if call.custom else f"layers.{call.cls}"
    return _wrapped(target, constructor, arguments, source_var)


def _inferred_comment(node: ir.Node) -> list[str]:
    """`# padding same: inferred from the table` where the spec left it to the table's sizes."""
    value = inferred(node)
    return [] if value is None else [f"# {value}: inferred from the table"]


def _citation(file: str, line: int, sources: Mapping[str, str]) -> str:
    text = sources.get(file, "").split("\n")
    spec_line = text[line - 1].strip() if 0 < line <= len(text) else ""
    return printable(f"{file}:{line}: {spec_line}".expandtabs(4)).rstrip()


def _custom_layer_source(cls: str) -> str:
    """The class `cls` as written in papernet/backends/layers.py, the one definition."""
    text = (Path(__file__).parent / "layers.py").read_text(encoding="utf-8")
    for chunk in text.split("\n\n\n"):
        if f"\nclass {cls}(" in chunk:
            return chunk.strip("\n")
    raise KeyError(cls)
