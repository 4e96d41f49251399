"""Generated source always runs (issue 12, item 5): for random small valid specs with random
labels and block names — among them names the generator itself uses (`x`, `inputs`, `i`,
`keras`, `layers`, `model`, `np`, `tf`, `Model`, `Input`), Python builtins and keywords —
`to_source()` compiles, executes, builds, and the built model's `count_params()` (Keras's own
count) is papernet's count.

Few examples, derandomized (a Keras build takes a second): a property over the generator's
namespace, not a fuzzer.
"""

from __future__ import annotations

import ast
import builtins
import keyword
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import papernet

GENERATOR_NAMES = ["x", "inputs", "i", "keras", "layers", "model", "np", "tf", "Model", "Input"]
GENERATOR_NAMES += ["compile_model", "schedule", "examples", "synthetic", "distribution", "main", "build_net"]
PYTHON_NAMES = ["list", "len", "print", "range", "str", "int", "type", "sum", "max", "None", "True", "False"]
PYTHON_NAMES += ["__name__", "__import__", "_", "x_2", "x1", "name", "self", "shape", "object", "super"]
PYTHON_NAMES += ["if", "for", "def", "class", "lambda", "return", "import", "while", "yield", "not", "and", "or"]
assert all(keyword.iskeyword(k) for k in ("if", "for", "def", "class", "lambda", "return", "import", "yield"))
assert all(hasattr(builtins, b) for b in ("list", "len", "print", "range", "str", "int", "type", "sum", "max"))

# what papernet's language keeps for itself: not a label (`block:`) or not a block name (`conv(f):`)
NOT_LABELS = {"block", "defaults", "train"}
NOT_BLOCKS = {"Input", "input", "conv", "relu", "block", "flatten", "add", "concat", "from", "global"}

_TAKEN = st.sampled_from(GENERATOR_NAMES + PYTHON_NAMES)
NAMES = st.one_of(_TAKEN, _TAKEN, _TAKEN, st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))  # mostly taken ones

# every name the generator writes, as a label and as a block name, in one spec each
EVERY_LABEL = "\n".join(
    [
        'network "net"',
        "input 8x8x3",
        *(f"{name}: conv3-{k % 4 + 1}" for k, name in enumerate(GENERATOR_NAMES)),
        "FC-3",
        "",
    ]
)
EVERY_BLOCK = "\n".join(
    [
        'network "net"',
        "input 8x8x3",
        *(f"block {name}(f):\n  conv3-f, BN" for name in GENERATOR_NAMES if name not in NOT_BLOCKS),
        *(f"{name}({k % 3 + 1})" for k, name in enumerate(GENERATOR_NAMES) if name not in NOT_BLOCKS),
        "i: concat(conv1-2 | x(2))",
        "inputs: FC-3",
        "",
    ]
)

LAYERS = st.sampled_from(["BN", "relu", "dropout 0.1", "leaky relu 0.1", "maxpool 1x1/1", "tanh"]) | st.builds(
    "conv{}-{}".format, st.sampled_from([1, 3]), st.integers(1, 6)
)


@st.composite
def specs(draw: st.DrawFn) -> str:
    names = iter(draw(st.lists(NAMES, min_size=12, max_size=12, unique=True)))
    lines = ['network "net"', f"input {draw(st.sampled_from([4, 6, 8]))}x{draw(st.sampled_from([4, 6]))}x3"]
    blocks = []
    for _ in range(draw(st.integers(0, 2))):
        name = next(n for n in names if n not in NOT_BLOCKS)
        body = draw(
            st.lists(st.sampled_from(["conv3-f", "conv1-f", "BN", "relu", "conv1-(f+1)"]), min_size=1, max_size=3)
        )
        lines += [f"block {name}(f):", *(f"  {layer}" for layer in body)]
        blocks.append(name)
    items = draw(st.lists(LAYERS | st.sampled_from(blocks or ["BN"]), min_size=1, max_size=6))
    for item in items:
        text = f"{item}({draw(st.integers(1, 4))})" if item in blocks else item
        if item.startswith("conv") and draw(st.booleans()):  # a merge: names for its branches too
            text = f"concat(conv1-2 | {text})"
        label = next(n for n in names if n not in NOT_LABELS) if draw(st.booleans()) else None
        lines.append(f"{label}: {text}" if label else text)
    head = next(n for n in names if n not in NOT_LABELS)
    lines.append(f"{head}: FC-{draw(st.integers(1, 5))}" if draw(st.booleans()) else f"FC-{draw(st.integers(1, 5))}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def keras() -> Iterator[Any]:
    keras = pytest.importorskip("keras")
    registered = dict(keras.saving.get_custom_objects())
    yield keras
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(registered)
    keras.backend.clear_session()


def _build_function(source: str) -> str:
    """`build_net` (the network is "net"), the one function with that name: a block of that name is renamed."""
    names = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    assert names.count("build_net") == 1, names
    return "build_net"


@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(specs())
@example(EVERY_LABEL)
@example(EVERY_BLOCK)
def test_generated_source_builds_the_counted_network(keras: Any, text: str) -> None:
    network = papernet.parse(text, "random.pn")
    errors = [d for d in network.check() if d.is_error]
    assert not errors, text + "\n" + "\n".join(d.message for d in errors)
    expected = network.summary().total_params
    source = network.to_source()
    namespace: dict[str, Any] = {"__name__": "papernet_generated"}
    exec(compile(source, "random.py", "exec"), namespace)
    model = namespace[_build_function(source)]()
    assert model.count_params() == expected, text
    keras.backend.clear_session()
