"""The live backend: IR → `keras.Model` (functional API). Imports TensorFlow/Keras."""

from __future__ import annotations

import keras

from papernet import ir
from papernet.backends import layers as papernet_layers
from papernet.backends.keras_args import LayerCall, layer_calls, model_name
from papernet.infer import Inference
from papernet.ir import Graph
from papernet.training import TrainingSetup


def build_model(graph: Graph, inference: Inference, training: TrainingSetup | None = None) -> keras.Model:
    tensors: list[object] = []
    inputs = None
    for node in graph.nodes:
        if isinstance(node, ir.Input):
            inputs = keras.Input(shape=node.shape, name=node.name)
            tensors.append(inputs)
            continue
        x = tensors[node.inputs[0]] if len(node.inputs) == 1 else [tensors[i] for i in node.inputs]
        input_shape = inference.layers[node.inputs[0]].shape
        assert input_shape is not None
        for call in layer_calls(node, input_shape):
            x = instantiate(call)(x)
        tensors.append(x)
    return keras.Model(inputs, tensors[-1], name=model_name(graph.name))


def instantiate(call: LayerCall) -> keras.layers.Layer:
    cls = getattr(papernet_layers, call.cls) if call.custom else getattr(keras.layers, call.cls)
    return cls(*call.args, **dict(call.kwargs), name=call.name)
