"""Keras 3 everywhere: the generated source builds and runs under the JAX backend.

`papernet compile` writes Keras 3 code; nothing in a model's construction or forward pass may
need TensorFlow. One fresh process with `KERAS_BACKEND=jax` builds the generated models of
shipped specs, runs one forward pass on random inputs and reports each model's parameter count,
output shape and whether TensorFlow got imported. The expected counts are keras.applications'
own (ResNet50 25,636,712; MobileNet 4,253,864) and AlexNet's two-tower network as Keras counts
it under TensorFlow (tests/test_differential.py checks papernet's inference against that).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import papernet

ROOT = Path(__file__).resolve().parent.parent

EXPECTED_PARAMS = {"resnet50": 25_636_712, "mobilenet": 4_253_864, "alexnet_grouped": 60_965_224}
OUTPUTS = {"resnet50": [2, 1000], "mobilenet": [2, 1000], "alexnet_grouped": [2, 1000]}

FORWARD = """
import importlib.util, json, sys
import numpy as np
import keras

found = {"backend": keras.backend.backend()}
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("generated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    build = [getattr(module, name) for name in dir(module) if name.startswith("build_")]
    assert len(build) == 1, path
    model = build[0]()
    x = np.random.default_rng(0).normal(size=(2, *model.input_shape[1:])).astype("float32")
    y = np.asarray(model(x, training=False))
    found[path] = {"params": model.count_params(), "output": list(y.shape), "finite": bool(np.isfinite(y).all())}
found["tensorflow"] = "tensorflow" in sys.modules
print(json.dumps(found))
"""

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")


@pytest.fixture(scope="module")
def under_jax(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    directory = tmp_path_factory.mktemp("jax")
    paths = []
    for name in EXPECTED_PARAMS:
        path = directory / f"{name}.py"
        path.write_text(papernet.load(name).to_source(), encoding="utf-8")
        paths.append(str(path))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_")}
    env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", FORWARD, *paths],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return {Path(key).stem if key.endswith(".py") else key: value for key, value in found.items()}


def test_the_backend_is_jax_and_tensorflow_is_not_needed(under_jax: dict[str, object]) -> None:
    assert under_jax["backend"] == "jax"
    assert under_jax["tensorflow"] is False


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_generated_model_runs_a_forward_pass_under_jax(name: str, under_jax: dict[str, object]) -> None:
    model = under_jax[name]
    assert isinstance(model, dict)
    assert model["params"] == EXPECTED_PARAMS[name]
    assert model["output"] == OUTPUTS[name]
    assert model["finite"] is True
