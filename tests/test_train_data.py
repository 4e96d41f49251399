"""`papernet train`'s data checks: numbers checked as the model sees them (float32), memory-mapped
files checked a chunk at a time, hostile .npy headers refused with exit 2; the batch warning and
the history plot's epoch ticks.

Expected figures are by hand: float32's largest finite value is about 3.4e38, so 1e300 (finite in
float64) is infinite once converted, and 3e38 is not.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import papernet.train as train
from papernet.diagnostics import UsageError
from papernet.train import History, history_figure, load_array

RunCli = Callable[..., Any]
SPEC = "input 8x8x1\nconv3-4 padding same\nglobal avgpool\nFC-2 softmax\n"


def _npy_with_header(path: Path, shape: str, dtype: str = "<f4", body: int = 0, sparse: int = 0) -> Path:
    """A .npy file whose header says `shape`, followed by `body` zero bytes (or a sparse hole)."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}".ljust(117) + "\n"
    with path.open("wb") as handle:
        handle.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("ascii"))
        handle.write(b"\0" * body)
        if sparse:
            handle.truncate(handle.tell() + sparse)
    return path


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.pn").write_text(SPEC, encoding="utf-8")
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1]))
    return tmp_path


def test_float64_values_beyond_float32_are_refused(run_cli: RunCli, here: Path) -> None:
    x = np.zeros((4, 8, 8, 1))
    x[2, 3, 4, 0] = 1e300
    np.save(here / "x.npy", x)
    result = run_cli("train", "spec.pn", "--data", "x.npy", "y.npy", "--output", "run")
    assert result.code == 2
    assert "'x.npy' holds 1 NaN or infinite value, the first in sample 2, counted in float32" in result.stderr
    assert not (here / "run").exists()


def test_float64_values_within_float32_pass(here: Path) -> None:
    np.save(here / "x.npy", np.full((4, 8, 8, 1), 3e38))
    assert load_array("x.npy").shape == (4, 8, 8, 1)
    np.save(here / "x.npy", np.full((4, 8, 8, 1), -3.5e38))
    with pytest.raises(UsageError, match="256 NaN or infinite values"):
        load_array("x.npy")


def test_a_memory_mapped_file_is_checked_a_chunk_at_a_time(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No array of the file's size is made: every array np.isfinite sees is one chunk; the bad
    value in the last chunk is still found, in the right sample."""
    monkeypatch.setattr(train, "CHECK_CHUNK", 64 * 10)  # ten samples of 8×8×1 a chunk
    x = np.zeros((100, 8, 8, 1), dtype=np.float64)
    x[97, 0, 0, 0] = np.nan
    np.save(here / "x.npy", x)
    sizes: list[int] = []
    real = np.isfinite

    def recording(array: Any, *args: Any, **kwargs: Any) -> Any:
        sizes.append(np.size(array))
        return real(array, *args, **kwargs)

    monkeypatch.setattr(np, "isfinite", recording)
    with pytest.raises(UsageError, match="the first in sample 97"):
        load_array("x.npy")
    assert sizes and max(sizes) <= 640 < x.size


def test_the_array_returned_is_the_mapping_not_a_copy(here: Path) -> None:
    np.save(here / "x.npy", np.zeros((4, 8, 8, 1), dtype=np.float32))
    array = load_array("x.npy")
    assert isinstance(array, np.memmap) or isinstance(array.base, np.memmap)


def test_a_negative_dimension_is_a_usage_error(run_cli: RunCli, here: Path) -> None:
    _npy_with_header(here / "x.npy", "(-1, 8, 8, 1)")
    result = run_cli("train", "spec.pn", "--data", "x.npy", "y.npy")
    assert result.code == 2, result.stderr
    assert "the shape (-1, 8, 8, 1), which has a negative dimension" in result.stderr
    assert "internal error" not in result.stderr


def test_a_sparse_4_tb_file_is_a_usage_error(run_cli: RunCli, here: Path) -> None:
    """Header and file size agree (a sparse hole of 4·10¹² bytes), so it is not truncated: it is
    more than any machine running these tests can hold in memory."""
    samples = 4 * 10**12 // (8 * 8 * 4)
    _npy_with_header(here / "x.npy", f"({samples}, 8, 8, 1)", sparse=samples * 8 * 8 * 4)
    result = run_cli("train", "spec.pn", "--data", "x.npy", "y.npy")
    assert result.code == 2, result.stderr
    assert "(4.0 TB as float32), more than this machine's memory" in result.stderr
    assert "MemoryError" not in result.stderr and "internal error" not in result.stderr


def test_a_truncated_body_is_a_usage_error(here: Path) -> None:
    _npy_with_header(here / "x.npy", "(4, 8, 8, 1)", body=100)  # 4·8·8·4 = 1,024 bytes promised
    with pytest.raises(UsageError, match="truncated"):
        load_array("x.npy")


def test_an_object_array_is_refused_without_unpickling(here: Path) -> None:
    _npy_with_header(here / "x.npy", "(4,)", dtype="|O", body=64)
    with pytest.raises(UsageError, match="Python objects"):
        load_array("x.npy")


def test_a_batch_larger_than_the_data_is_warned_about(run_cli: RunCli, here: Path) -> None:
    pytest.importorskip("keras")
    result = run_cli("train", "spec.pn", "--synthetic", "8", "--batch-size", "32", "--epochs", "1", "--output", "r")
    assert result.code == 0, result.stderr
    assert (
        "warning: the batch (32, from --batch-size) is larger than the 8 training samples: "
        "each epoch is one step on all 8"
    ) in result.stderr
    quiet = run_cli("train", "spec.pn", "--synthetic", "8", "--batch-size", "8", "--epochs", "1", "--output", "r")
    assert quiet.code == 0 and "larger than" not in quiet.stderr


@pytest.mark.parametrize("epochs", [1, 2, 3, 74])
def test_the_history_plot_has_whole_number_epoch_ticks(epochs: int) -> None:
    figure = history_figure(History([{"epoch": e, "loss": 1 / e} for e in range(1, epochs + 1)]))
    axes = figure.axes[0]
    low, high = axes.get_xlim()
    shown = [tick for tick in axes.get_xticks() if low <= tick <= high]
    assert shown and all(tick == int(tick) for tick in shown)
    assert shown[0] >= 1 and shown[-1] <= epochs
    if epochs == 1:
        assert shown == [1]
