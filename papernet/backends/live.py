"""The live backend: IR → compiled `keras.Model` (functional API). Imports TensorFlow/Keras.

The layers and the training set-up come from `papernet.backends.keras_args`, the mapping the
source backend writes out too. `build_model` compiles the model (with Keras-like defaults when
the spec has no `train:` section), so `model.fit` works at once; `papernet train` calls
`compile_model` again after freezing layers and passes `schedule_callbacks` to `fit`.

Step and cosine schedules are one callback, `EpochSchedule`, that sets the learning rate at the
start of each epoch from `papernet.training.scheduled_rate`; cosine decays over the epochs of
the run (`fit`'s `epochs`), which the callback learns when training starts.
"""

from __future__ import annotations

from typing import Any

import keras

from papernet import ir
from papernet.backends import layers as papernet_layers
from papernet.backends.keras_args import (
    Head,
    KerasObject,
    LayerCall,
    head_of,
    loss,
    metrics,
    model_name,
    node_calls,
    optimizer,
    plateau_callback,
    weight_arguments,
)
from papernet.infer import Inference
from papernet.ir import Graph
from papernet.training import Schedule, TrainingSetup, scheduled_rate


def build_model(graph: Graph, inference: Inference, training: TrainingSetup | None = None) -> keras.Model:
    """The network as a compiled Keras model, with the training set-up's initialisers, weight decay
    and dropout applied (Keras's defaults where the set-up is silent or None)."""
    setup = training or TrainingSetup()
    tensors: list[object] = []
    inputs = None
    for node, calls in zip(graph.nodes, node_calls(graph, inference, setup), strict=True):
        if isinstance(node, ir.Input):
            inputs = keras.Input(shape=node.shape, name=node.name)
            tensors.append(inputs)
            continue
        x = tensors[node.inputs[0]] if len(node.inputs) == 1 else [tensors[i] for i in node.inputs]
        for call in calls:
            x = instantiate(call, setup)(x)
        tensors.append(x)
    model = keras.Model(inputs, tensors[-1], name=model_name(graph.name))
    compile_model(model, setup, head_of(graph))
    return model


def instantiate(call: LayerCall, training: TrainingSetup | None = None) -> keras.layers.Layer:
    """The Keras layer for `call`; a conv or FC kernel gets fresh initialiser and regulariser objects
    (an initialiser object shared between layers would give them the same weights)."""
    cls = getattr(papernet_layers, call.cls) if call.custom else getattr(keras.layers, call.cls)
    kwargs = dict(call.kwargs)
    if call.weights and training is not None:
        kwargs |= {
            f"{prefix}_{suffix}": make(value)
            for prefix in call.weights.split()
            for suffix, value in weight_arguments(training)
        }
    return cls(*call.args, **kwargs, name=call.name)


def make(description: KerasObject) -> Any:
    """`keras.<path>(*args, **kwargs)`."""
    target: Any = keras
    for part in description.path.split("."):
        target = getattr(target, part)
    return target(*description.args, **dict(description.kwargs))


def compile_model(model: keras.Model, training: TrainingSetup, head: Head) -> None:
    """Compile with the set-up's optimizer, and its loss and metrics or the head's."""
    model.compile(optimizer=make(optimizer(training)), loss=loss(training, head), metrics=list(metrics(training, head)))


def schedule_callbacks(
    training: TrainingSetup, head: Head | None = None, validation: bool | None = None
) -> list[keras.callbacks.Callback]:
    """The learning-rate schedule as callbacks for `fit`: none, `ReduceLROnPlateau`, or `EpochSchedule`.
    A plateau schedule watches what the run reports (`keras_args.plateau_monitor`)."""
    schedule = training.schedule
    if schedule is None:
        return []
    plateau = plateau_callback(training, head, validation)
    if plateau is not None:
        return [make(plateau)]
    return [EpochSchedule(schedule, training.learning_rate)]


class EpochSchedule(keras.callbacks.Callback):  # type: ignore[misc]
    """Sets the learning rate at the start of each epoch: `scheduled_rate(schedule, initial, epoch,
    epochs)`, with `epochs` the run's, from `fit`."""

    def __init__(self, schedule: Schedule, initial: float) -> None:
        super().__init__()
        self.schedule, self.initial = schedule, initial

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        epochs = int(self.params.get("epochs") or epoch + 1)
        self.model.optimizer.learning_rate = scheduled_rate(self.schedule, self.initial, epoch, epochs)
