"""`papernet train`: real TensorFlow, real (tiny) training runs, every bad input refused.

The networks are small (16×16 and 8×8 inputs, a few filters) so that the whole file runs in a
couple of minutes on two CPU cores. Runs are in-process through the `run_cli` fixture, except
where a fresh interpreter is needed: two logical CPU devices must be configured before
TensorFlow initialises, and Ctrl-C is a real SIGINT sent to a child process.
"""

from __future__ import annotations

import csv
import math
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT

keras = pytest.importorskip("keras")

import papernet.backends.live as live  # noqa: E402
from papernet.training import TrainingSetup  # noqa: E402


def _missing_interface() -> list[str]:
    missing = [name for name in ("compile_model", "schedule_callbacks") if not hasattr(live, name)]
    fields = getattr(TrainingSetup, "__dataclass_fields__", {})
    missing += [f"TrainingSetup.{name}" for name in ("epochs", "batch_size", "loss") if name not in fields]
    return missing


pytestmark = pytest.mark.skipif(
    bool(_missing_interface()),
    reason=f"the training interface has not landed yet: {', '.join(_missing_interface())}",
)

TINY = """\
network "tiny"
input 16x16x3
conv1: conv3-4 padding same, relu
maxpool
conv2: conv3-8 padding same, relu
maxpool
fc1: FC-16, relu
fc_out: FC-10
softmax
"""
# conv1 3·3·3·4 + 4, conv2 3·3·4·8 + 8, fc1 (4·4·8)·16 + 16, fc_out 16·10 + 10
TINY_PARAMS = (3 * 3 * 3 * 4 + 4) + (3 * 3 * 4 * 8 + 8) + (4 * 4 * 8 * 16 + 16) + (16 * 10 + 10)

LINEAR = """\
network "linear"
input 8x8x1
conv3-4 padding same
FC-4

train:
  optimizer adam
  learning rate 1e-2
  batch 32
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.pn"
    path.write_text(TINY, encoding="utf-8")
    return path


def history(directory: Path) -> list[dict[str, str]]:
    with (directory / "history.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def save(path: Path, array: Any) -> str:
    np.save(path, array)
    return str(path)


def weights(model: Any, name: str) -> list[Any]:
    return [np.asarray(w) for w in model.get_layer(name).get_weights()]


# ---- training runs ----------------------------------------------------------------


def test_synthetic_run_writes_model_history_and_plot(run_cli: Any, tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("train", str(tiny), "--synthetic", "64", "--epochs", "2", "--output", str(out))
    assert result.code == 0, result.stderr
    assert "epochs 2 (--epochs), batch 32 (the default)" in result.stdout
    assert f"{TINY_PARAMS:,} parameters" in result.stdout
    assert "trained 2 epochs" in result.stdout
    model = keras.models.load_model(out / "model.keras")
    assert model.count_params() == TINY_PARAMS == 2642
    rows = history(out)
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert all(float(row["loss"]) > 0 for row in rows)
    assert (out / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "a temporary file was left behind"


def test_learns_a_linear_map(run_cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "linear.pn"
    spec.write_text(LINEAR, encoding="utf-8")
    data = np.random.default_rng(1)
    x = data.standard_normal((256, 8, 8, 1)).astype(np.float32)
    w = data.standard_normal((64, 4)).astype(np.float32) / 8
    y = x.reshape(256, 64) @ w
    out = tmp_path / "run"
    args = ("--data", save(tmp_path / "X.npy", x), save(tmp_path / "Y.npy", y), "--epochs", "10")
    result = run_cli("train", str(spec), *args, "--output", str(out))
    assert result.code == 0, result.stderr
    assert "batch 32 (the spec's train: section)" in result.stdout
    losses = [float(row["loss"]) for row in history(out)]
    assert len(losses) == 10
    assert losses[-1] <= losses[0] / 2, losses


def test_vgg11_regressor_trains_from_the_command_line(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "vgg"
    result = run_cli(
        "train", "specs/vgg11_regression.pn", "--input", "32x32x3", "--regression", "32x32x1",
        "--synthetic", "8", "--batch-size", "4", "--epochs", "1", "--output", str(out),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    convs = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512), (512, 512), (512, 512)]
    fcs = [(512, 4096), (4096, 4096), (4096, 32 * 32)]  # five 2×2 pools take 32×32 to 1×1×512
    params = sum(3 * 3 * a * b + b for a, b in convs) + sum(a * b + b for a, b in fcs)
    assert f"{params:,} parameters" in result.stdout  # 32,298,368
    rows = history(out)
    assert [row["epoch"] for row in rows] == ["1"]
    assert math.isfinite(float(rows[0]["loss"])), "the spec's He initialisation keeps the regressor's loss finite"
    assert "diverged" not in result.stderr
    assert (out / "model.keras").stat().st_size > params * 4


MIRRORED = """\
import sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
from papernet.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_defaults_come_from_the_spec_then_papernet(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "tiny.pn"
    spec.write_text(TINY + "\ntrain:\n  epochs 2\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli("train", str(spec), "--synthetic", "8")
    assert result.code == 0, result.stderr
    assert "epochs 2 (the spec's train: section), batch 32 (the default), seed 0" in result.stdout
    assert len(history(tmp_path / "runs" / "tiny")) == 2


def test_a_diverging_run_stops_with_a_warning(run_cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "linear.pn"
    spec.write_text(
        LINEAR.replace("optimizer adam\n  learning rate 1e-2", "optimizer sgd\n  learning rate 1e8"), encoding="utf-8"
    )
    out = tmp_path / "run"
    result = run_cli("train", str(spec), "--synthetic", "64", "--epochs", "50", "--output", str(out))
    assert result.code == 0, result.stderr
    assert "so training stopped: it diverged" in result.stderr
    rows = history(out)
    assert len(rows) < 50 and rows[-1]["loss"] in ("inf", "nan")


def test_a_plateau_schedule_watches_what_the_run_reports(run_cli: Any, tiny: Path, tmp_path: Path) -> None:
    tiny.write_text(
        TINY + "\ntrain:\n  lr 0.01, divided by 10 when the validation accuracy stopped improving\n", encoding="utf-8"
    )
    alone = run_cli("train", str(tiny), "--synthetic", "32", "--epochs", "1", "--output", str(tmp_path / "a"))
    assert alone.code == 0, alone.stderr
    assert "when val_accuracy stops improving; this run watches accuracy instead (there is no --val" in alone.stderr
    assert "learning_rate" in history(tmp_path / "a")[0]  # ReduceLROnPlateau runs, and logs the rate
    regression = run_cli(
        "train", str(tiny), "--synthetic", "32", "--epochs", "1", "--val-split", "0.25", "--regression", "2",
        "--output", str(tmp_path / "b"),
    )  # fmt: skip
    assert regression.code == 0, regression.stderr
    assert "this run watches val_loss instead (a regression head has no accuracy)" in regression.stderr
    assert "learning_rate" in history(tmp_path / "b")[0]
    watched = run_cli(
        "train", str(tiny), "--synthetic", "32", "--epochs", "2", "--val-split", "0.25", "--output", str(tmp_path / "c")
    )
    assert watched.code == 0, watched.stderr
    assert "note:" not in watched.stderr
    assert {"val_accuracy", "learning_rate"} <= set(history(tmp_path / "c")[0])  # ReduceLROnPlateau logs the rate


def test_mirrored_over_two_cpu_devices_matches_one_device(run_cli: Any, tiny: Path, tmp_path: Path) -> None:
    common = ("train", str(tiny), "--synthetic", "64", "--epochs", "1", "--batch-size", "16", "--seed", "3")
    mirrored = subprocess.run(
        [sys.executable, "-c", MIRRORED, *common, "--distribute", "mirrored", "--output", str(tmp_path / "two")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert mirrored.returncode == 0, mirrored.stderr
    assert "2 replicas (CPU:0, CPU:1), global batch 16 = 8 per replica" in mirrored.stdout
    single = run_cli(*common, "--output", str(tmp_path / "one"))
    assert single.code == 0, single.stderr
    two, one = float(history(tmp_path / "two")[0]["loss"]), float(history(tmp_path / "one")[0]["loss"])
    # Same seed, so the same initial weights and the same shuffled batches; the replicas' gradients
    # are summed in another order than one device sums the batch, which changes float32 rounding
    # only. Measured: 2.4697099 vs 2.4697096 (1.2e-7 relative); a batch not split across the replicas,
    # or a different initialisation, moves the loss by a percent or more.
    assert two == pytest.approx(one, rel=1e-4)


# A shell that starts pytest in the background makes its children ignore SIGINT; undo that.
INTERRUPTIBLE = """\
import signal
import sys

signal.signal(signal.SIGINT, signal.default_int_handler)
from papernet.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_keeps_the_last_completed_epoch(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    child = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTIBLE, "train", str(tiny), "--synthetic", "256", "--epochs", "100000",
         "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out / "model.keras").exists():
            assert child.poll() is None, child.communicate()[1]
            assert time.monotonic() < deadline, "no epoch finished in 120 s"
            time.sleep(0.2)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 130, stderr
    match = re.search(r"interrupted after (\d+) of 100,000 epochs", stderr)
    assert match, stderr
    assert "Traceback" not in stderr
    assert keras.models.load_model(out / "model.keras").count_params() == TINY_PARAMS
    assert len(history(out)) == int(match[1])
    assert (out / "history.png").read_bytes()[:4] == b"\x89PNG"


# ---- transfer ---------------------------------------------------------------------


@pytest.fixture
def trained(run_cli: Any, tiny: Path, tmp_path: Path) -> Path:
    """A tiny 10-class model trained for one epoch: tmp/first/model.keras."""
    result = run_cli("train", str(tiny), "--synthetic", "32", "--epochs", "1", "--output", str(tmp_path / "first"))
    assert result.code == 0, result.stderr
    return tmp_path / "first" / "model.keras"


def test_weights_from_a_keras_file_with_a_new_head_and_frozen_convs(
    run_cli: Any, tiny: Path, trained: Path, tmp_path: Path
) -> None:
    out = tmp_path / "second"
    result = run_cli(
        "train", str(tiny), "--weights", str(trained), "--classes", "5", "--freeze", "conv2",
        "--synthetic", "32", "--epochs", "1", "--output", str(out),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    expected = "matched 3 layers, shape-mismatched 1 (fc_out: (16, 10) vs (16, 5)), not in file 0"
    assert expected in result.stdout
    assert f"frozen: the layers up to and including conv2, {112 + 296:,} parameters" in result.stdout
    before, after = keras.models.load_model(trained), keras.models.load_model(out / "model.keras")
    for name in ("conv1", "conv2"):  # copied, then frozen through an epoch of training
        assert all(np.array_equal(a, b) for a, b in zip(weights(before, name), weights(after, name), strict=True))
        assert after.get_layer(name).trainable is False
    assert after.get_layer("fc1").trainable is True
    assert not np.array_equal(weights(before, "fc1")[0], weights(after, "fc1")[0]), "fc1 should have trained"
    assert after.get_layer("fc_out").get_weights()[0].shape == (16, 5)


def test_weights_h5_match_by_name_not_by_position(run_cli: Any, trained: Path, tmp_path: Path) -> None:
    # An extra first conv shifts every conv's position: Keras's own load_weights, which addresses
    # layers as conv2d, conv2d_1, …, would pair conv0 with conv1; matching by name must not.
    source = keras.models.load_model(trained)
    h5 = tmp_path / "tiny.weights.h5"
    source.save_weights(h5)
    spec = tmp_path / "deeper.pn"
    spec.write_text(TINY.replace("conv1:", "conv0: conv1-3\nconv1:"), encoding="utf-8")
    out = tmp_path / "third"
    result = run_cli(
        "train", str(spec), "--weights", str(h5), "--freeze", "conv2",
        "--synthetic", "32", "--epochs", "1", "--output", str(out),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "matched 4 layers, shape-mismatched 0, not in file 1 (conv0)" in result.stdout
    after = keras.models.load_model(out / "model.keras")
    for name in ("conv1", "conv2"):
        assert all(np.array_equal(a, b) for a, b in zip(weights(source, name), weights(after, name), strict=True))


RESIDUAL = """\
input 8x8x4
stem: conv3-4 padding same
stage: [3×3, 8; 3×3, 8] ×1
global avgpool
head: FC-3, softmax
"""


def test_freeze_follows_the_spec_order_in_a_branching_network(run_cli: Any, tmp_path: Path) -> None:
    # `papernet summary` lists the block's projection shortcut (stage_block1_0_conv) after its
    # second conv; Keras's model.layers, sorted by depth, puts it before.
    spec = tmp_path / "residual.pn"
    spec.write_text(RESIDUAL, encoding="utf-8")
    out = tmp_path / "run"
    freeze = "stage_block1_2_conv"
    result = run_cli("train", str(spec), "--synthetic", "8", "--epochs", "1", "--freeze", freeze, "--output", str(out))
    assert result.code == 0, result.stderr
    model = keras.models.load_model(out / "model.keras")
    trainable = {layer.name for layer in model.layers if layer.weights and layer.trainable}
    assert trainable == {"stage_block1_2_bn", "stage_block1_0_conv", "stage_block1_0_bn", "head"}


# ---- bad input: exit 2, a clear message, no traceback, nothing written ------------


def arrays(tmp_path: Path, x: Any, y: Any) -> tuple[str, str]:
    return save(tmp_path / "X.npy", x), save(tmp_path / "Y.npy", y)


def good(n: int = 16) -> tuple[Any, Any]:
    data = np.random.default_rng(0)
    return data.standard_normal((n, 16, 16, 3)).astype(np.float32), data.integers(0, 10, n)


def with_nan(x: Any) -> Any:
    x = x.copy()
    x[3, 0, 0, 0] = np.nan
    return x


BAD_ARRAYS = {
    "x of the wrong shape": (
        lambda: (np.zeros((10, 28, 28, 1), np.float32), np.zeros(10, np.int64)),
        "X.npy holds 10 samples of 28×28×1, but the network's input is 16×16×3",
    ),
    "y of the wrong shape": (
        lambda: (good()[0], np.zeros((16, 7), np.float32)),
        "Y.npy holds 16 targets of 7, but the network's output is 10 classes",
    ),
    "class id out of range": (lambda: (good()[0], np.full(16, 10)), "whole numbers from 0 to 9"),
    "fractional class ids": (lambda: (good()[0], np.full(16, 2.5)), "whole numbers from 0 to 9"),
    "lengths differ": (lambda: (good()[0], good(12)[1]), "holds 16 samples but"),
    "nan": (lambda: (with_nan(good()[0]), good()[1]), "1 NaN or infinite value, the first in sample 3"),
    "infinity in y": (lambda: (good()[0], np.full((16, 10), np.inf)), "NaN or infinite"),
    "empty": (lambda: (np.zeros((0, 16, 16, 3), np.float32), np.zeros(0)), "is empty"),
    "text": (lambda: (np.full((16, 16, 16, 3), "a"), good()[1]), "holds text, not real numbers"),
    "complex": (lambda: (good()[0] * 1j, good()[1]), "complex numbers"),
    "a single number": (lambda: (np.float32(1), good()[1]), "holds a single number"),
}


@pytest.mark.parametrize("case", BAD_ARRAYS, ids=list(BAD_ARRAYS))
def test_bad_arrays_are_refused_before_anything_is_written(run_cli: Any, tiny: Path, tmp_path: Path, case: str) -> None:
    make, phrase = BAD_ARRAYS[case]
    x, y = arrays(tmp_path, *make())
    refused(run_cli, tmp_path, phrase, "train", str(tiny), "--data", x, y)


def corrupt_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    whole = (tmp_path / "whole.npy", "")
    np.save(whole[0], good()[0])
    data = whole[0].read_bytes()
    cases = {
        "truncated": data[: len(data) // 2],
        "not npy": b"x,y\n1,2\n",
        "zero bytes": b"",
        "header only": data[:64],
    }
    found = {}
    for name, content in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.npy"
        path.write_bytes(content)
        found[name] = (path, "")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "archive.npz", x=good()[0])
    return {
        "truncated": (found["truncated"][0], "truncated"),
        "not npy": (found["not npy"][0], "is not a .npy file"),
        "zero bytes": (found["zero bytes"][0], "is not a .npy file"),
        "header only": (found["header only"][0], "is not a readable .npy array"),
        "pickled objects": (tmp_path / "objects.npy", "Python objects (pickled)"),
        "npz archive": (tmp_path / "archive.npz", ".npz archive"),
        "missing": (tmp_path / "nonexistent.npy", "no such file"),
        "a directory": (tmp_path, "is a directory"),
    }


@pytest.mark.parametrize(
    "case",
    ["truncated", "not npy", "zero bytes", "header only", "pickled objects", "npz archive", "missing", "a directory"],
)
def test_unreadable_files_are_refused(run_cli: Any, tiny: Path, tmp_path: Path, case: str) -> None:
    path, phrase = corrupt_files(tmp_path)[case]
    y = save(tmp_path / "Y.npy", good()[1])
    refused(run_cli, tmp_path, phrase, "train", str(tiny), "--data", str(path), y)


def test_bad_options_are_refused(run_cli: Any, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = arrays(tmp_path, *good())
    bad_keras = tmp_path / "bad.keras"
    bad_keras.write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "file").write_text("", encoding="utf-8")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    spec = str(tiny)
    cases = [
        (["--synthetic", "16", "--val-split", "1.5"], "not a fraction between 0 and 1"),
        (["--synthetic", "16", "--val-split", "0.01"], "leaves no validation sample"),
        (["--synthetic", "16", "--val", x, str(tmp_path / "nonexistent.npy")], "no such file"),
        (["--synthetic", "16", "--val", save(tmp_path / "V.npy", np.zeros((4, 8, 8, 3))), y], "input is 16×16×3"),
        (["--synthetic", "16", "--freeze", "conv_2"], "no layer named 'conv_2'; did you mean 'conv2'?"),
        (["--synthetic", "16", "--freeze", "fc_out"], "would freeze every layer with weights"),
        (["--synthetic", "16", "--weights", str(tmp_path / "nonexistent.keras")], "no such weights file"),
        (["--synthetic", "16", "--weights", str(bad_keras)], "cannot read weights from"),
        (["--synthetic", "16", "--weights", x], "give a .keras model or a .weights.h5 file"),
        (["--synthetic", "16", "--distribute", "multiworker"], "needs TF_CONFIG in the environment"),
        (["--synthetic", "16", "--epochs", "0"], "not a whole number"),
        (["--data", x, y, "--synthetic", "16"], "not allowed with argument"),
        ([], "one of the arguments --data --synthetic is required"),
    ]
    for options, phrase in cases:
        refused(run_cli, tmp_path, phrase, "train", spec, *options)
    result = run_cli("train", spec, "--synthetic", "16", "--output", str(tmp_path / "file"))
    assert result.code == 2 and "it is a file, not a directory" in result.stderr


def test_a_weights_file_that_matches_nothing_is_refused(run_cli: Any, trained: Path, tmp_path: Path) -> None:
    spec = tmp_path / "other.pn"
    spec.write_text("input 16x16x3\nfirst: conv3-4 padding same\nhead: FC-3\n", encoding="utf-8")
    refused(run_cli, tmp_path, "no layer of the network could take its weights", "train", str(spec),
            "--synthetic", "16", "--weights", str(trained))  # fmt: skip


def refused(run_cli: Any, tmp_path: Path, phrase: str, *args: str) -> None:
    out = tmp_path / "never"
    result = run_cli(*args, "--output", str(out))
    assert result.code == 2, (args, result.stdout, result.stderr)
    assert phrase in result.stderr, (args, result.stderr)
    assert "papernet: error:" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists(), f"{args} created the output directory"
    assert result.stdout == ""


def test_other_commands_do_not_import_tensorflow() -> None:
    """cli.py imports papernet.train for every command, to add its options."""
    program = "import sys; from papernet.cli import main; main(['check', 'vgg11']); print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


@pytest.fixture
def strategies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The `tf.distribute` strategies constructed while the test runs, by class name. TensorFlow's
    default strategy (what Keras's `fit` runs under without one) is made first, so it is not counted."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.distribute is TensorFlow's; this backend trains without it")
    import tensorflow as tf
    from tensorflow.python.distribute import distribute_lib

    tf.distribute.get_strategy()
    made: list[str] = []
    original = distribute_lib.StrategyBase.__init__

    def recording(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(distribute_lib.StrategyBase, "__init__", recording)
    return made


def test_training_without_distribute_makes_no_strategy(
    run_cli: Any, tiny: Path, tmp_path: Path, strategies: list[str]
) -> None:
    """Without `--distribute`, `train` builds and fits on the default device: no MirroredStrategy
    (or any other) is constructed. Which modules are loaded cannot tell: with the TensorFlow backend
    `import keras` already loads all of tf.distribute's (124 modules, mirrored_strategy among them),
    so the test watches what is made. With `--distribute mirrored` the same probe sees the strategy."""
    result = run_cli("train", str(tiny), "--synthetic", "16", "--epochs", "1", "--output", str(tmp_path / "one"))
    assert result.code == 0, result.stderr
    assert strategies == []
    mirrored = run_cli(
        "train", str(tiny), "--synthetic", "16", "--epochs", "1", "--distribute", "mirrored",
        "--output", str(tmp_path / "mirrored"),
    )  # fmt: skip
    assert mirrored.code == 0, mirrored.stderr
    assert strategies == ["MirroredStrategy"]


def test_help_documents_the_defaults() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "papernet", "train", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option in ("--data", "--synthetic", "--val-split", "--epochs", "--batch-size", "--output", "--freeze",
                   "--weights", "--distribute", "--seed", "runs/<spec name>"):  # fmt: skip
        assert option in text
