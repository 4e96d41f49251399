"""Backends: IR → Keras. `keras_args` maps each node to Keras layer calls (pure, no
TensorFlow); `live` instantiates them, `source` writes them out as Python."""
