"""Keras layers that papernet defines because Keras has none. Imports Keras.

The source backend copies this file's class into generated code, so that the one
definition serves both the live model and the generated module.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="papernet")
class LocalResponseNormalization(keras.layers.Layer):
    """AlexNet's local response normalisation (Krizhevsky et al. 2012, §3.3):
    b = a / (k + alpha · Σ a²)^beta, the sum over `size` adjacent channels."""

    def __init__(self, size=5, k=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.size, self.k, self.alpha, self.beta = size, k, alpha, beta

    def call(self, inputs):
        squared = ops.square(inputs)
        half = self.size // 2
        padding = [[0, 0], [0, 0], [0, 0], [half, self.size - 1 - half]]
        padded = ops.pad(squared, padding)
        channels = ops.shape(inputs)[-1]
        window = sum(padded[..., i : i + channels] for i in range(self.size))
        return inputs / ops.power(self.k + self.alpha * window, self.beta)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, k=self.k, alpha=self.alpha, beta=self.beta)
        return config


@keras.saving.register_keras_serializable(package="papernet")
class ZeroPaddedShortcut(keras.layers.Layer):
    """ResNet's option-A shortcut (He et al. 2016, §3.3): the identity, subsampled by
    `strides` and zero-padded with extra channels up to `channels`. No parameters."""

    def __init__(self, strides=1, channels=None, **kwargs):
        super().__init__(**kwargs)
        self.strides, self.channels = strides, channels

    def call(self, inputs):
        subsampled = inputs[:, :: self.strides, :: self.strides, :]
        extra = self.channels - inputs.shape[-1]
        return ops.pad(subsampled, [[0, 0], [0, 0], [0, 0], [0, extra]])

    def get_config(self):
        config = super().get_config()
        config.update(strides=self.strides, channels=self.channels)
        return config
