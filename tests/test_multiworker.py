"""`papernet train --distribute multiworker` for real: two worker processes on 127.0.0.1 (CPU only),
a TF_CONFIG naming two free local ports, one epoch each on its shard of the data.

Expected: both workers end with the same weights (MultiWorkerMirroredStrategy all-reduces every
gradient, so each applies the same update), only worker 0 (the chief) writes the run directory,
and the loss equals a single-process run's on the same data and the same global batch: within a
relative 1e-3, which allows for the all-reduce summing the two halves of a batch in another order.

Each worker is the real command line in a fresh interpreter; a small wrapper around
`papernet.train._fit` saves that worker's final weights to an .npz file, so they can be compared.
Every child has a timeout; traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

pytest.importorskip("tensorflow")

SPEC = """\
network "two workers"
input 8x8x1
conv3-4 padding same, relu
global avgpool
FC-3
train:
  optimizer sgd, lr 0.05
  batch 16
"""
SAMPLES, TIMEOUT = 256, 300
LOSS_TOLERANCE = 1e-3  # relative

WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import papernet.train as train

    keep = sys.argv[1]
    fit = train._fit

    def fit_and_keep(model, *args, **kwargs):
        code = fit(model, *args, **kwargs)
        np.savez(keep, *model.get_weights())
        return code

    train._fit = fit_and_keep
    from papernet.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(tf_config: dict[str, object] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env |= {"PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _start(tmp_path: Path, name: str, tf_config: dict[str, object] | None, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-c",
        WORKER,
        str(tmp_path / f"{name}.npz"),
        "train",
        str(tmp_path / "spec.pn"),
        "--synthetic",
        str(SAMPLES),
        "--epochs",
        "1",
        "--output",
        str(tmp_path / f"run-{name}"),
        *extra,
    ]
    return subprocess.Popen(
        command, cwd=tmp_path, env=_environment(tf_config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"a worker took over {TIMEOUT} s:\n{out[-2000:]}\n{err[-3000:]}")
    assert process.returncode == 0, f"{out[-2000:]}\n{err[-4000:]}"
    return out, err


def _weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as archive:
        return [archive[f"arr_{i}"] for i in range(len(archive.files))]


def _loss(run: Path) -> float:
    with (run / "history.csv").open(encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    return float(row["loss"])


def test_two_workers_train_one_model(tmp_path: Path) -> None:
    (tmp_path / "spec.pn").write_text(SPEC, encoding="utf-8")
    workers = [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]
    processes = [
        _start(
            tmp_path,
            f"worker{index}",
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}},
            "--distribute",
            "multiworker",
        )
        for index in range(2)
    ]
    outputs = [_finish(process) for process in processes]
    single_out, _ = _finish(_start(tmp_path, "single", None))

    chief, other = _weights(tmp_path / "worker0.npz"), _weights(tmp_path / "worker1.npz")
    assert [w.shape for w in chief] == [(3, 3, 1, 4), (4,), (4, 3), (3,)]  # conv kernel, bias; FC kernel, bias
    for mine, theirs in zip(chief, other, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-6)

    # both workers joined one cluster of two replicas, one per worker, each its half of a global batch of 16
    for out, _ in outputs:
        assert "distribute multiworker: 2 replicas" in out, out
        assert "global batch 16 = 8 per replica" in out, out
    # each worker saw its shard: 16 steps of 8 samples, 128 of the 256 (the single run: 16 steps of 16)
    for out, _ in outputs:
        assert "16/16" in out, out
    assert (tmp_path / "run-worker0" / "model.keras").is_file()
    assert not (tmp_path / "run-worker1").exists(), "only the chief writes the run directory"

    multi, single = _loss(tmp_path / "run-worker0"), _loss(tmp_path / "run-single")
    assert abs(multi - single) <= LOSS_TOLERANCE * abs(single), (multi, single)
    assert "trained 1 epoch" in single_out
