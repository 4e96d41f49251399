"""Specs and helpers that several test modules share."""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

VGG11_TABLE1_A = """\
input 224x224x3
conv3-64, maxpool
conv3-128, maxpool
conv3-256, conv3-256, maxpool
conv3-512, conv3-512, maxpool
conv3-512, conv3-512, maxpool
FC-4096, FC-4096
"""
"""VGG Table 1, column A, as a new user types it: no `defaults:` block, no head."""

EVERY_LAYER = """\
network "every layer"
input 33x31 grey
defaults:
  residual: shortcut A
zero pad 1x2x3x4
conv 7x5, 12, stride 2, pad 3, floor
LRN
batchnorm
leaky relu 0.2
max pool 3x3, stride 2, ceil
conv 3x3, 12, groups 3, padding same, no bias
conv 3x3, 16, dilation 2, valid, bn
avg pool 2x2, stride 1, pad 1, floor
dropout 30%
conv 1x1, 8, elu
conv dw 3x3, padding same
add(conv 3x3, 8, padding same | identity)
concat(conv1-4 | max pool 3x3/1 same)
[3×3, 16; 3×3, 16] ×1 /2
global average pool
FC-64 bn
dropout 0.5
FC-48, tanh
reshape 4x4x3
flatten
FC-10, softmax
"""
"""Every node kind: explicit and ceil-mode padding (auxiliary ZeroPadding2D layers), groups,
dilation, papernet's own LRN and option-A shortcut layers, merges, a residual block."""


def built_once(measure: Callable[[Any], T]) -> Callable[[Hashable, Callable[[], Any]], T]:
    """`get(key, make)`: build a Keras model with `make()` the first time `key` is asked for, keep
    only `measure(model)`, and free the model (ResNet-152 and VGG are large; the suite builds many)."""
    cache: dict[Hashable, T] = {}

    def get(key: Hashable, make: Callable[[], Any]) -> T:
        if key not in cache:
            import keras

            model = make()
            cache[key] = measure(model)
            del model
            keras.backend.clear_session()
            gc.collect()
        return cache[key]

    return get
