"""`papernet train SPEC`: from a paper's table to a running training job.

    papernet train SPEC (--data X.npy Y.npy | --synthetic N) [--val X.npy Y.npy | --val-split F]
        [--epochs E] [--batch-size B] [--output DIR] [--weights FILE] [--freeze LABEL]
        [--distribute mirrored|multiworker] [--seed N]

Every input is checked before training starts and before anything is written: the data files
(.npy arrays of finite numbers, X of the network's input shape, Y of its output shape, as many
targets as samples), the options, the weights file and the layer to freeze. A bad one is a
`UsageError` (exit 2), and the output directory is not even created.

Then Keras trains the network. After every epoch `DIR/model.keras` and `DIR/history.csv` are
replaced atomically, so Ctrl-C leaves the last completed epoch's model on disk (exit 130);
`DIR/history.png` is drawn at the end, or at the interruption.

Choices this module makes:

- Epochs: `--epochs`, else the `train:` section's, else 10. Batch: `--batch-size`, else the
  section's, else 32; with `--distribute` it is the global batch, split across replicas.
- A softmax head takes one-hot targets (N, C) or class ids (N,). Ids are turned into one-hot
  rows, so the loss the model was compiled with (categorical crossentropy) applies unchanged;
  if the `train:` section asks for a sparse loss, one-hot rows become ids instead.
- `--synthetic N`: standard-normal inputs, seeded by `--seed`. A softmax head gets random class
  ids; a regression head gets Y = X·A·B, a fixed random linear map of rank ≤ 16 (the same for
  every run), so the network has something it can learn.
- `--weights FILE`: weights are copied layer by layer, matched by layer name (`transfer_weights`).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import difflib
import io
import itertools
import json
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papernet import ir
from papernet.api import Network
from papernet.cli import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS
from papernet.diagnostics import UsageError
from papernet.files import replace_atomically, write_atomically
from papernet.infer import dims

if TYPE_CHECKING:
    import keras
    from matplotlib.figure import Figure
    from numpy.typing import NDArray

    from papernet.backends.keras_args import Head
    from papernet.training import TrainingSetup

    Array = NDArray[Any]

SYNTHETIC_RANK = 16
SYNTHETIC_MAP_SEED = 20_240_601  # the regression map is the same for every run and every --seed
MAX_SYNTHETIC_VALUES = 500_000_000  # 2 GB of float32: past this, --synthetic would eat memory
EXIT_OK, EXIT_INTERRUPTED = 0, 130
NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK\x03\x04"


# ---- the command ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """What will run, and where each figure came from (for the output)."""

    epochs: int
    epochs_from: str
    batch_size: int
    batch_from: str
    output: Path


@dataclass(frozen=True, slots=True)
class Dataset:
    x: Array
    y: Array
    validation: tuple[Array, Array] | None
    description: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """The outcome of `transfer_weights`: layer names, and (name, file shape, network shape)."""

    matched: tuple[str, ...]
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    missing: tuple[str, ...]

    def describe(self) -> str:
        mismatches = ", ".join(f"{name}: {_tuple(theirs)} vs {_tuple(ours)}" for name, theirs, ours in self.mismatched)
        missing = f" ({', '.join(self.missing)})" if self.missing else ""
        return (
            f"matched {_plural(len(self.matched), 'layer')}, shape-mismatched {len(self.mismatched)}"
            f"{f' ({mismatches})' if mismatches else ''}, not in file {len(self.missing)}{missing}"
        )


def run(network: Network, args: argparse.Namespace) -> int:
    """Check every input, then train; returns the exit code (130 after Ctrl-C)."""
    from papernet.backends.keras_args import head_of, loss

    head = head_of(network.graph)
    input_shape, output_shape = _shapes(network)
    training = network.training()
    plan = _plan(network, args, training)
    _check_environment(args)
    sparse = "sparse" in loss(training, head)
    dataset = _dataset(args, input_shape, output_shape, head, sparse)
    keras = _import_keras()
    keras.utils.set_random_seed(args.seed)
    source = read_weights(args.weights) if args.weights else None
    strategy = _strategy(args.distribute)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = network.to_keras()
        transfer = transfer_weights(model, source, args.weights) if source is not None else None
        frozen = freeze(model, args.freeze, layer_order(network), training, head) if args.freeze else None
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    if plan.batch_size % replicas:
        raise UsageError(f"the global batch {plan.batch_size} does not split evenly over {replicas} replicas")
    if args.distribute == "multiworker":
        _build_before_fit(model, strategy, dataset, plan.batch_size // replicas)
    # Every input is valid: from here on, files are written.
    _print_plan(network, model, dataset, plan, args, replicas, strategy, transfer, frozen)
    warning = batch_warning(plan, len(dataset.x))
    if warning:
        print(f"papernet: warning: {warning}", file=sys.stderr)
    note = schedule_note(training, head, dataset.validation is not None)
    if note:
        print(f"papernet: note: {note}", file=sys.stderr)
    if not _writes_files(args.distribute):
        with tempfile.TemporaryDirectory(prefix="papernet-worker-") as scratch:
            return _fit(model, dataset, plan, training, Path(scratch), head)
    created = not plan.output.exists()
    plan.output.mkdir(parents=True, exist_ok=True)
    code = _fit(model, dataset, plan, training, plan.output, head)
    if created and not any(plan.output.iterdir()):  # interrupted before the first epoch ended
        plan.output.rmdir()
    return code


def _shapes(network: Network) -> tuple[tuple[int, ...], tuple[int, ...]]:
    first = network.graph.nodes[0]
    output = network.infer().layers[-1].shape
    assert isinstance(first, ir.Input) and output is not None  # the spec has no errors
    return first.shape, output


def _plan(network: Network, args: argparse.Namespace, training: TrainingSetup) -> Plan:
    epochs, epochs_from = _setting(args.epochs, "--epochs", training.epochs, DEFAULT_EPOCHS)
    batch, batch_from = _setting(args.batch_size, "--batch-size", training.batch_size, DEFAULT_BATCH_SIZE)
    return Plan(epochs, epochs_from, batch, batch_from, _output_directory(args.output, network))


def _setting(option: int | None, flag: str, stated: int | None, default: int) -> tuple[int, str]:
    if option is not None:
        return option, flag
    if stated is not None:
        return stated, "the spec's train: section"
    return default, "the default"


def _output_directory(name: str | None, network: Network) -> Path:
    """The output directory, checked but not created: it must be creatable and writable."""
    if name is not None and not name.strip():
        raise UsageError("the output directory name is empty")
    path = Path(name) if name is not None else Path("runs") / run_name(network.file, network.name)
    if path.exists() and not path.is_dir():
        raise UsageError(f"cannot write to '{path}': it is a file, not a directory")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"cannot create '{path}': '{existing}' is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to '{path}': permission denied")
    return path


def run_name(file: str, title: str) -> str:
    """The default run directory's name: the spec file's stem, else the network's title.

    >>> run_name("specs/vgg11_regression.pn", "VGG-11 regression"), run_name("<string>", "VGG-11 (A)")
    ('vgg11_regression', 'VGG-11_A')
    """
    stem = title if file.startswith("<") else Path(file).stem
    return re.sub(r"[^\w.-]+", "_", stem).strip("_.") or "network"


def _check_environment(args: argparse.Namespace) -> None:
    if args.distribute != "multiworker":
        return
    config = os.environ.get("TF_CONFIG")
    if not config:
        raise UsageError(
            "--distribute multiworker needs TF_CONFIG in the environment, the cluster and this worker's task: "
            """TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]}, """
            """"task": {"type": "worker", "index": 0}}'"""
        )
    try:
        parsed = json.loads(config)
    except json.JSONDecodeError as exc:
        raise UsageError(f"TF_CONFIG is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict) or "cluster" not in parsed or "task" not in parsed:
        raise UsageError("TF_CONFIG must be a JSON object with a 'cluster' and a 'task'")


def _writes_files(distribute: str | None) -> bool:
    """With several workers, only the chief writes the run directory (worker 0 if none is chief)."""
    if distribute != "multiworker":
        return True
    config = json.loads(os.environ["TF_CONFIG"])
    task, cluster = config.get("task", {}), config.get("cluster", {})
    if "chief" in cluster:
        return bool(task.get("type") == "chief")
    return bool(task.get("type") == "worker" and int(task.get("index", 0)) == 0)


# ---- data -------------------------------------------------------------------------


def _dataset(
    args: argparse.Namespace, input_shape: tuple[int, ...], output_shape: tuple[int, ...], head: Head, sparse: bool
) -> Dataset:
    if args.synthetic is not None:
        x, y = synthetic(args.synthetic, input_shape, output_shape, head, args.seed)
        description = f"{args.synthetic:,} synthetic samples"
    else:
        x, y = _checked_pair(args.data[0], args.data[1], input_shape, output_shape, head)
        description = f"{len(x):,} samples from {args.data[0]}"
    validation = None
    if args.val is not None:
        validation = _checked_pair(args.val[0], args.val[1], input_shape, output_shape, head)
        description += f", {len(validation[0]):,} validation samples from {args.val[0]}"
    elif args.val_split is not None:
        x, y, validation = _split(x, y, args.val_split, args.seed)
        description += f", of which {len(validation[0]):,} held out for validation (--val-split {args.val_split:g})"
    y = _targets(y, output_shape, head, sparse)
    validation = (validation[0], _targets(validation[1], output_shape, head, sparse)) if validation else None
    return Dataset(x, y, validation, description)


def synthetic(
    count: int, input_shape: tuple[int, ...], output_shape: tuple[int, ...], head: Head, seed: int
) -> tuple[Array, Array]:
    """Random inputs and targets: class ids for a softmax head, a fixed linear map of X otherwise."""
    import numpy as np

    values = count * (math.prod(input_shape) + math.prod(output_shape))
    if values > MAX_SYNTHETIC_VALUES:
        raise UsageError(
            f"--synthetic {count:,} would hold {values * 4 / 1e9:.1f} GB of samples; "
            f"give at most {MAX_SYNTHETIC_VALUES // (values // count):,}"
        )
    data = np.random.default_rng(seed)
    x = data.standard_normal((count, *input_shape), dtype=np.float32)
    if head == "softmax":
        return x, data.integers(0, output_shape[-1], size=count)
    fixed = np.random.default_rng(SYNTHETIC_MAP_SEED)
    inputs, outputs = math.prod(input_shape), math.prod(output_shape)
    rank = min(SYNTHETIC_RANK, inputs, outputs)
    a = fixed.standard_normal((inputs, rank), dtype=np.float32) / np.sqrt(inputs)
    b = fixed.standard_normal((rank, outputs), dtype=np.float32) / np.sqrt(rank)
    y = (x.reshape(count, inputs) @ a) @ b
    return x, y.reshape(count, *output_shape)


def _checked_pair(
    x_name: str, y_name: str, input_shape: tuple[int, ...], output_shape: tuple[int, ...], head: Head
) -> tuple[Array, Array]:
    import numpy as np

    x, y = load_array(x_name), load_array(y_name)
    if x.shape[1:] != input_shape:
        raise UsageError(
            f"{x_name} holds {_plural(len(x), 'sample')} of {_dims(x.shape[1:])}, "
            f"but the network's input is {_dims(input_shape)}"
        )
    _check_targets(y, y_name, output_shape, head)
    if len(x) != len(y):
        raise UsageError(
            f"{x_name} holds {_plural(len(x), 'sample')} but {y_name} holds {_plural(len(y), 'target')}: "
            "give one target per sample"
        )
    return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)


def load_array(name: str) -> Array:
    """A .npy file's array, memory-mapped, or a `UsageError` that says what is wrong with the file.

    The header is read first: a negative dimension, a body shorter than the header promises, or
    more data than this machine's memory could hold for training is refused before anything is
    mapped; nothing is unpickled. The numbers are then checked in chunks, in float32 (what the
    model sees), so a mapped file is never read into a second array of its size."""
    import numpy as np

    path = Path(name)
    if path.is_dir():
        raise UsageError(f"'{name}' is a directory, not a .npy file")
    if not path.is_file():
        raise UsageError(f"no such file: '{name}'")
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(NPY_MAGIC))
            if magic.startswith(ZIP_MAGIC):
                raise UsageError(f"'{name}' is an .npz archive; save each array on its own with numpy.save")
            if magic != NPY_MAGIC:
                raise UsageError(f"'{name}' is not a .npy file (it lacks NumPy's header); save arrays with numpy.save")
            handle.seek(0)
            shape, dtype = _npy_header(handle)
            body = path.stat().st_size - handle.tell()
        _check_size(name, shape, dtype, body)
        array: Array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError, OverflowError) as exc:
        raise UsageError(f"'{name}' is not a readable .npy array: {_npy_problem(exc)}") from None
    _check_numbers(array, name)
    return array


def _npy_header(handle: io.BufferedReader) -> tuple[tuple[int, ...], Any]:
    """(shape, dtype) from a .npy header, which must describe a plain array of numbers."""
    import numpy as np

    version = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(handle, max_header_size=10_000)
    if dtype.hasobject:
        raise ValueError("object")
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise ValueError(f"its header gives the shape {_tuple(shape)}, which has a negative dimension")
    return tuple(shape), dtype


def _check_size(name: str, shape: tuple[int, ...], dtype: Any, body: int) -> None:
    """The header's promise against the file and the memory: training holds the samples in memory."""
    values = math.prod(shape)
    if values * dtype.itemsize > body:
        raise EOFError("truncated")
    memory = _physical_memory()
    needed = values * 4  # float32, as the model sees them
    if memory is not None and needed > memory:
        raise UsageError(
            f"'{name}' holds {_plural(values, 'number')} ({_bytes(needed)} as float32), more than this machine's "
            f"memory ({_bytes(memory)}); papernet train holds the samples in memory: give a part of them"
        )


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def _bytes(count: int) -> str:
    """
    >>> _bytes(4 * 10**12), _bytes(2_500_000)
    ('4.0 TB', '2.5 MB')
    """
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _npy_problem(exc: Exception) -> str:
    text = str(exc)
    if "object" in text.lower() or "pickle" in text.lower():
        return "it holds Python objects (pickled), which papernet does not load; save a numeric array"
    if isinstance(exc, EOFError) or "mmap length" in text or "larger than" in text:
        return "it is truncated: its header promises more data than the file holds"
    return text


CHECK_CHUNK = 1 << 22  # numbers converted and checked at a time: 16 MB of float32


def _check_numbers(array: Array, name: str) -> None:
    if array.dtype.kind not in "biuf":
        what = {"c": "complex numbers", "U": "text", "S": "bytes", "M": "dates", "m": "time spans"}
        raise UsageError(f"'{name}' holds {what.get(array.dtype.kind, f'{array.dtype} values')}, not real numbers")
    if array.ndim == 0:
        raise UsageError(f"'{name}' holds a single number; give an array with one sample per row")
    if array.size == 0:
        raise UsageError(f"'{name}' is empty: its shape is {_tuple(array.shape)}")
    if array.dtype.kind == "f":  # integers always fit float32; floats may not (1e300 → inf)
        bad, first = _non_finite_in_float32(array)
        if bad:
            raise UsageError(
                f"'{name}' holds {_plural(bad, 'NaN or infinite value')}, the first in sample {first}, "
                "counted in float32, what the model sees (float32 reaches ±3.4e38)"
            )


def _non_finite_in_float32(array: Array) -> tuple[int, int]:
    """How many values are not finite once converted to float32, and the first such sample;
    read a chunk of rows at a time."""
    import numpy as np

    per_row = max(1, math.prod(array.shape[1:]))
    rows = max(1, CHECK_CHUNK // per_row)
    count, first = 0, -1
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(array), rows):
            chunk = np.asarray(array[start : start + rows], dtype=np.float32)
            finite = np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
            if not finite.all():
                count += int((~np.isfinite(chunk)).sum())
                if first < 0:
                    first = start + int(np.argmin(finite))
    return count, first


def _check_targets(y: Array, name: str, output_shape: tuple[int, ...], head: Head) -> None:
    import numpy as np

    if y.shape[1:] == output_shape:
        return
    if head == "softmax" and y.ndim == 1:
        classes = output_shape[-1]
        whole = y.dtype.kind in "biu" or bool(np.all(np.mod(y, 1) == 0))
        low, high = float(y.min()), float(y.max())
        if not whole or low < 0 or high >= classes:
            raise UsageError(
                f"{name} holds class ids, but not all are whole numbers from 0 to {classes - 1} "
                f"(the network has {classes} classes): found {low:g} to {high:g}"
            )
        return
    if head == "regression" and output_shape == (1,) and y.ndim == 1:
        return
    expected = (
        f"{output_shape[-1]} classes: give one-hot targets of shape (N, {output_shape[-1]}) or class ids (N,)"
        if head == "softmax"
        else _dims(output_shape)
    )
    raise UsageError(
        f"{name} holds {_plural(len(y), 'target')} of {_dims(y.shape[1:])}, but the network's output is {expected}"
    )


def _split(x: Array, y: Array, fraction: float, seed: int) -> tuple[Array, Array, tuple[Array, Array]]:
    """Hold out `fraction` of the samples, chosen at random (seeded): files are often sorted by class."""
    import numpy as np

    held = round(fraction * len(x))
    if held < 1 or held >= len(x):
        raise UsageError(
            f"--val-split {fraction:g} of {_plural(len(x), 'sample')} leaves "
            f"{'no validation sample' if held < 1 else 'no training sample'}"
        )
    order = np.random.default_rng(seed).permutation(len(x))
    kept, out = order[:-held], order[-held:]
    return x[kept], y[kept], (x[out], y[out])


def _targets(y: Array, output_shape: tuple[int, ...], head: Head, sparse: bool) -> Array:
    """Targets as the compiled loss wants them: for a softmax head, class ids become one-hot rows
    (or, for a sparse loss, one-hot rows become ids); for a regression head, the output's shape."""
    import numpy as np

    converted: Array
    if head == "regression":
        converted = y.reshape(len(y), *output_shape)
    elif y.ndim == 1 and not sparse:
        converted = np.eye(output_shape[-1], dtype=np.float32)[y.astype(np.int64)]
    elif y.ndim > 1 and sparse:
        converted = np.argmax(y, axis=-1).astype(np.int64)
    else:
        converted = y
    return converted


# ---- the model --------------------------------------------------------------------


def _build_before_fit(model: keras.Model, strategy: Any, dataset: Dataset, batch: int) -> None:
    """Build the model's metrics and optimizer from one local batch's shapes, and skip the build
    `fit` would do. Keras 3's `fit` builds them from the first distributed batch, reduced across
    the workers, and under MultiWorkerMirroredStrategy that reduction of an (x, y) tuple fails
    ("Attempt to convert a value (PerReplica…)", keras-team/keras#20585); the shapes are all the
    build needs, and every worker has them."""
    with strategy.scope():
        model._symbolic_build(data_batch=(dataset.x[:batch], dataset.y[:batch]))
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    _reduce_scalars_across_workers()


def _reduce_scalars_across_workers() -> None:
    """Keras 3's train step averages each logged figure across workers with `reduce("MEAN", v,
    axis=0)`, which fails for a scalar such as the loss ("Invalid reduction dimension 0 for input
    with 0 dimensions"); average them with `axis=None` instead. Only under multi-worker
    collectives; every other strategy keeps Keras's own reduction."""
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "papernet", False):
        return

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None) if trainer._is_per_replica_instance(v) else v, values
            )
        return original(values, strategy, reduction)

    reduce_per_replica.papernet = True  # type: ignore[attr-defined]
    trainer.reduce_per_replica = reduce_per_replica


def _import_keras() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except ImportError:
        raise UsageError("`papernet train` needs Keras: pip install 'papernet[keras]'") from None
    return keras


def _strategy(kind: str | None) -> Any:
    """A `tf.distribute` strategy, or None to train on the default device."""
    if kind is None:
        return None
    import keras

    if keras.backend.backend() != "tensorflow":
        raise UsageError(f"--distribute needs Keras's TensorFlow backend, not {keras.backend.backend()}")
    import tensorflow as tf

    if kind == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy(devices=[device.name for device in devices])


def read_weights(name: str) -> dict[str, list[Array]]:
    """Layer name → that layer's weights, from a `.keras` model or a `.weights.h5` file."""
    path = Path(name)
    if path.is_dir():
        raise UsageError(f"--weights '{name}' is a directory; give a .keras or .weights.h5 file")
    if not path.is_file():
        raise UsageError(f"no such weights file: '{name}'")
    if not os.access(path, os.R_OK):
        raise UsageError(f"cannot read weights from '{name}': permission denied")
    if name.endswith(".weights.h5"):
        return _weights_from_h5(path)
    if path.suffix == ".keras":
        return _weights_from_model(path)
    raise UsageError(f"--weights '{name}': give a .keras model or a .weights.h5 file")


def _weights_from_model(path: Path) -> dict[str, list[Array]]:
    import keras

    from papernet.backends import layers as custom_layers
    from papernet.backends.keras_args import CUSTOM_LAYERS

    custom = {name: getattr(custom_layers, name) for name in CUSTOM_LAYERS}
    try:
        source = keras.models.load_model(path, compile=False, custom_objects=custom)
    except Exception as exc:  # Keras raises anything from ValueError to BadZipFile for a bad file
        raise UsageError(f"cannot read weights from '{path}': {_first_line(exc)}") from None
    return {layer.name: list(layer.get_weights()) for layer in source.layers if layer.weights}


def _weights_from_h5(path: Path) -> dict[str, list[Array]]:
    """Keras 3 stores a layer's variables at `layers/<class name>_<i>/vars/<j>`, addressed by
    position, not name, and keeps the layer's name as the `name` attribute of `vars`; read that."""
    import h5py  # type: ignore[import-untyped]
    import numpy as np

    found: dict[str, list[Array]] = {}

    def visit(key: str, item: object) -> None:
        named = isinstance(item, h5py.Group) and "name" in item.attrs and len(item) > 0
        if named and key.startswith("layers/") and key.endswith("/vars"):
            assert isinstance(item, h5py.Group)
            found[str(item.attrs["name"])] = [np.asarray(item[j]) for j in sorted(item, key=int)]

    try:
        with h5py.File(path, "r") as file:
            file.visititems(visit)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"cannot read weights from '{path}': {_first_line(exc)}") from None
    if not found:
        raise UsageError(
            f"'{path}' names no layers (an older Keras wrote it, or it holds no weights); "
            "give the .keras model file instead"
        )
    return found


def transfer_weights(model: keras.Model, source: dict[str, list[Array]], file: str) -> Transfer:
    """Copy weights into each layer of `model` that has a same-named layer in `source` whose
    weights have the same shapes. A new head (`--classes`, `--regression`) keeps its name and
    changes shape, so it is reported as shape-mismatched and keeps its fresh initialisation."""
    matched: list[str] = []
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    missing: list[str] = []
    for layer in model.layers:
        if not layer.weights:
            continue
        theirs = source.get(layer.name)
        ours = [tuple(weight.shape) for weight in layer.weights]
        if theirs is None:
            missing.append(layer.name)
        elif [array.shape for array in theirs] != ours:
            mismatched.append((layer.name, *_first_difference([a.shape for a in theirs], ours)))
        else:
            layer.set_weights(theirs)
            matched.append(layer.name)
    transfer = Transfer(tuple(matched), tuple(mismatched), tuple(missing))
    if not matched:
        raise UsageError(f"no layer of the network could take its weights from '{file}': {transfer.describe()}")
    return transfer


def _first_difference(
    theirs: list[tuple[int, ...]], ours: list[tuple[int, ...]]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The first pair of weight shapes that differ (the kernel's, as a rule).

    >>> _first_difference([(3, 3, 3, 4), (4,)], [(3, 3, 3, 4), (8,)]), _first_difference([(4, 2), (2,)], [(4, 2)])
    (((4,), (8,)), ((2,), ()))
    """
    for a, b in itertools.zip_longest(theirs, ours, fillvalue=()):
        if a != b:
            return a, b
    return (), ()


def freeze(
    model: keras.Model, label: str, order: Sequence[str], training: TrainingSetup, head: Head
) -> tuple[str, int]:
    """Make `label` and the layers before it non-trainable, and recompile. `order` is the layers'
    order in the spec (as `papernet summary` lists them; Keras's `model.layers` sorts a branching
    network by depth instead). Returns `label` and the number of parameters that no longer train."""
    names = [layer.name for layer in model.layers]
    if label not in names:
        close = difflib.get_close_matches(label, names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; the layers are {', '.join(order)}"
        raise UsageError(f"--freeze {label}: the network has no layer named '{label}'{hint}")
    frozen = set(order[: order.index(label) + 1])
    if not any(layer.trainable_weights for layer in model.layers if layer.name not in frozen):
        raise UsageError(f"--freeze {label} would freeze every layer with weights: nothing would train")
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    for layer in model.layers:
        if layer.name in frozen:
            layer.trainable = False
    from papernet.backends.live import compile_model

    compile_model(model, training, head)
    return label, trainable - sum(math.prod(w.shape) for w in model.trainable_weights)


def layer_order(network: Network) -> list[str]:
    """The Keras layers' names in the spec's order: each node's layers, node by node."""
    from papernet.backends.keras_args import node_calls

    calls = node_calls(network.graph, network.infer(), network.training())
    return [network.graph.nodes[0].name, *(call.name for node in calls for call in node)]


# ---- training ---------------------------------------------------------------------


@dataclass
class History:
    """One row per completed epoch: 'epoch' and the logs Keras reports."""

    rows: list[dict[str, float]] = field(default_factory=list)

    @property
    def diverged(self) -> bool:
        return bool(self.rows) and not math.isfinite(self.rows[-1].get("loss", 0.0))

    def columns(self) -> list[str]:
        keys = {key for row in self.rows for key in row} - {"epoch"}
        ordered = sorted(keys, key=lambda k: (k.startswith("val_"), k != "loss" and k != "val_loss", k))
        return ["epoch", *ordered]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, self.columns(), lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({key: (int(v) if key == "epoch" else f"{v:.8g}") for key, v in row.items()})
        return out.getvalue()


def batch_warning(plan: Plan, samples: int) -> str | None:
    """A batch larger than the training data: every epoch is one step on all of it.

    >>> print(batch_warning(Plan(1, "", 256, "--batch-size", Path(".")), 32))
    the batch (256, from --batch-size) is larger than the 32 training samples: each epoch is one step on all 32
    """
    if plan.batch_size <= samples:
        return None
    return (
        f"the batch ({plan.batch_size}, from {plan.batch_from}) is larger than the {samples:,} training samples: "
        f"each epoch is one step on all {samples:,}"
    )


def schedule_note(training: TrainingSetup, head: Head, validation: bool) -> str | None:
    """What the `train:` section's plateau schedule watches in this run, where that is not what
    the spec says: the loss under a regression head (no accuracy), the training figure without
    validation data. The generated script does the same."""
    from papernet.backends.keras_args import plateau_monitor

    schedule = training.schedule
    if schedule is None or schedule.kind != "plateau":
        return None
    watched = plateau_monitor(schedule.monitor, head, validation)
    if watched == schedule.monitor:
        return None
    reasons = [
        *(["a regression head has no accuracy"] if head == "regression" and "accuracy" in schedule.monitor else []),
        *(["there is no --val or --val-split data"] if not validation and schedule.monitor.startswith("val_") else []),
    ]
    return (
        f"the spec lowers the learning rate when {schedule.monitor} stops improving; this run watches "
        f"{watched} instead ({'; '.join(reasons)})"
    )


def _fit(model: keras.Model, dataset: Dataset, plan: Plan, training: TrainingSetup, output: Path, head: Head) -> int:
    from papernet.backends.live import schedule_callbacks

    history = History()
    schedule = schedule_callbacks(training, head, dataset.validation is not None)
    callbacks = [*schedule, _epoch_end_callback(output, history)]
    started = time.monotonic()
    try:
        model.fit(
            dataset.x,
            dataset.y,
            batch_size=plan.batch_size,
            epochs=plan.epochs,
            validation_data=dataset.validation,
            shuffle=True,
            verbose=1 if sys.stdout.isatty() else 2,
            callbacks=callbacks,
        )
    except KeyboardInterrupt:
        return _interrupted(history, plan, output)
    _plot(history, output / "history.png")
    _print_summary(history, time.monotonic() - started, output)
    if history.diverged:
        print(
            f"papernet: warning: the loss is {history.rows[-1]['loss']} after epoch {len(history.rows)}, so training "
            "stopped: it diverged (is the learning rate, or the initial weights' scale, too large for this network?)",
            file=sys.stderr,
        )
    return EXIT_OK


def _epoch_end_callback(output: Path, history: History) -> Any:
    import keras

    class EpochEnd(keras.callbacks.Callback):  # type: ignore[misc]
        """After each epoch: model.keras, then the history row and history.csv, each replaced whole.
        A row is kept only once its model is saved, so an interruption anywhere in here leaves
        `history.rows` equal to the epochs saved (`_interrupted` writes the CSV from it again)."""

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
            replace_atomically(output / "model.keras", self.model.save)
            history.rows.append(row)
            write_atomically(output / "history.csv", history.to_csv())
            if history.diverged:  # NaN or infinity: more epochs cannot bring it back
                self.model.stop_training = True

    return EpochEnd()


def _interrupted(history: History, plan: Plan, output: Path) -> int:
    done = len(history.rows)
    if not done:
        print("papernet: interrupted before the first epoch finished; nothing was saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    write_atomically(output / "history.csv", history.to_csv())
    _plot(history, output / "history.png")
    print(
        f"papernet: interrupted after {done} of {_plural(plan.epochs, 'epoch')}; the model of epoch {done} "
        f"is in {output / 'model.keras'}, the history in {output / 'history.csv'} and {output / 'history.png'}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def _plot(history: History, path: Path) -> None:
    figure = history_figure(history)
    replace_atomically(path, lambda temporary: figure.savefig(temporary, format="png", dpi=100))


def history_figure(history: History) -> Figure:
    """Loss and each metric per epoch, training and validation, one panel each (headless). The
    epoch axis has whole-number ticks only, also for a run of one or two epochs."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = [c for c in history.columns()[1:] if not c.startswith("val_") and c not in ("learning_rate", "lr")]
    epochs = [row["epoch"] for row in history.rows]
    figure = Figure(figsize=(4.5 * max(1, len(names)), 3.5), layout="constrained")
    for axes, name in zip(figure.subplots(1, max(1, len(names)), squeeze=False)[0], names, strict=False):
        axes.plot(epochs, [row.get(name, math.nan) for row in history.rows], marker="o", label="training")
        if any(f"val_{name}" in row for row in history.rows):
            axes.plot(
                epochs, [row.get(f"val_{name}", math.nan) for row in history.rows], marker="o", label="validation"
            )
        axes.set_title(name)
        axes.set_xlabel("epoch")
        if epochs:
            axes.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True, min_n_ticks=1))
        axes.legend()
    return figure


# ---- output -----------------------------------------------------------------------


def _print_plan(
    network: Network,
    model: keras.Model,
    dataset: Dataset,
    plan: Plan,
    args: argparse.Namespace,
    replicas: int,
    strategy: Any,
    transfer: Transfer | None,
    frozen: tuple[str, int] | None,
) -> None:
    lines = [
        f"training {network.name}: {model.count_params():,} parameters on {dataset.description}",
        f"  epochs {plan.epochs} ({plan.epochs_from}), batch {plan.batch_size} ({plan.batch_from}), seed {args.seed}",
    ]
    if strategy is not None:
        devices = ", ".join(
            device.rsplit("/", 1)[-1].removeprefix("device:") for device in strategy.extended.worker_devices
        )
        lines.append(
            f"  distribute {args.distribute}: {_plural(replicas, 'replica')} ({devices}), "
            f"global batch {plan.batch_size} = {plan.batch_size // replicas} per replica"
        )
    if transfer is not None:
        lines.append(f"  weights from {args.weights}: {transfer.describe()}")
    if frozen is not None:
        label, parameters = frozen
        lines.append(f"  frozen: the layers up to and including {label}, {parameters:,} parameters")
    lines.append(f"  output: {plan.output}")
    print("\n".join(lines), flush=True)


def _print_summary(history: History, seconds: float, output: Path) -> None:
    last = history.rows[-1] if history.rows else {}
    figures = ", ".join(f"{key} {last[key]:.4g}" for key in history.columns()[1:] if key in last)
    print(
        f"trained {_plural(len(history.rows), 'epoch')} in {seconds:.1f} s: {figures}\n"
        f"  model    {output / 'model.keras'}\n"
        f"  history  {output / 'history.csv'}, {output / 'history.png'}"
    )


def _dims(shape: Sequence[int]) -> str:
    """A shape as the notation writes it.

    >>> _dims((28, 28, 1)), _dims(())
    ('28×28×1', 'one number')
    """
    return dims(shape) or "one number"


def _tuple(shape: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
