"""Long runs of one character on a line: `papernet check` finishes with a diagnostic or a result,
never a hang, a traceback or an internal error. Some terminals look ahead along runs of spaces
(quadratic in the run), so a line longer than papernet's bound is P104 before the lexer runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = 50_000

CASES = {
    "spaces after a layer": "input 8x8x3\nconv3-8" + " " * RUN + "\n",
    "tabs after a layer": "input 8x8x3\nconv3-8" + "\t" * RUN + "\n",
    "spaces after a word": "input 8x8x3\nconv" + " " * RUN + "x\n",
    "spaces at top level": "input 8x8x3\n" + " " * RUN + "conv3-8\n",
    "spaces after a defaults kind": "input 8x8x3\ndefaults:\n  conv" + " " * RUN + "\nconv3-8\n",
    "tabs after a defaults kind": "input 8x8x3\ndefaults:\n  conv" + "\t" * RUN + ": stride 1\nconv3-8\n",
    "[": "input 8x8x3\n" + "[" * RUN + "\n",
    "(": "input 8x8x3\nconcat" + "(" * RUN + "\n",
    "digits": "input 8x8x3\n" + "1" * RUN + "\n",
    "x": "input 8x8x3\n3" + "x" * RUN + "\n",
    "-": "input 8x8x3\nconv3" + "-" * RUN + "\n",
    ",": "input 8x8x3\nconv3-8" + "," * RUN + "\n",
    "letters": "input 8x8x3\n" + "a" * RUN + "\n",
    "@": "input 8x8x3\n" + "@" * RUN + "\n",
    "arrows": "input 8x8x3\nconv3-8" + " ->" * (RUN // 3) + "\n",
}


def _check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "long.pn"
    spec.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "papernet", "check", str(spec)],
        capture_output=True,
        text=True,
        timeout=20,  # a hang guard, not a timing assertion
        env=env,
        check=False,
    )


@pytest.mark.parametrize("text", CASES.values(), ids=list(CASES))
def test_a_long_run_finishes_with_a_diagnostic(tmp_path: Path, text: str) -> None:
    result = _check(tmp_path, text)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "error[P104]" in result.stderr + result.stdout
    assert "bound is 10,000" in result.stderr + result.stdout


def test_a_line_at_the_bound_is_still_read(tmp_path: Path) -> None:
    # 10,000 characters exactly: the layer is read (VGG's conv3-8 on 8x8x3 is 3*3*3*8 + 8 = 224 params).
    line = "conv3-8"
    text = "input 8x8x3\n" + line + " " * (10_000 - len(line)) + "\n"
    result = _check(tmp_path, text)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "P104" not in result.stderr + result.stdout


def test_the_diagnostic_points_past_the_bound(tmp_path: Path) -> None:
    text = "input 8x8x3\nconv3-8\n" + "[" * 10_001 + "\n"
    result = _check(tmp_path, text)
    assert result.returncode == 1
    assert ":3:10001: error[P104]: line 3 is 10,001 characters long" in result.stderr + result.stdout


@pytest.mark.parametrize("word", ["a" * 9_000, "conv3-8, " * 1_100 + "cnvv"])
def test_a_long_line_is_shown_around_its_span(word: str, run_cli: Any, tmp_path: Path) -> None:
    # a 1,000,000-character unknown word once printed 3 MB; an excerpt is at most about 120
    # characters of the line and a message at most 400
    spec = tmp_path / "long.pn"
    spec.write_text(f"input 8x8x3\n{word}\n", encoding="utf-8")
    result = run_cli("check", str(spec))
    assert result.code == 1 and "Traceback" not in result.stderr
    assert len(result.stderr) < 2_000, len(result.stderr)
    excerpt = next(line for line in result.stderr.split("\n") if line.startswith("2 | "))
    assert "…" in excerpt


# ---- file size: refused from its size, before a byte is read ------------------------

BOUND = 10_000_000  # README: a spec or table file over 10 MB is P104


def _sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk and no time to make (`truncate -s`)."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


@pytest.mark.parametrize("size", [BOUND + 1, 50 * 1024 * 1024, 4 * 1024**4])
def test_a_spec_over_the_size_bound_is_p104_at_its_first_line(size: int, run_cli: Any, tmp_path: Path) -> None:
    spec = _sparse(tmp_path / "big.pn", size)
    result = run_cli("check", str(spec))
    assert result.code == 1, result.stderr
    assert f"{spec}:1:1: error[P104]: the file is {size:,} bytes; papernet's bound is 10,000,000" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_spec_over_the_size_bound_is_not_read(tmp_path: Path) -> None:
    # a 50 MB spec once took minutes and 3.85 GB before P104: now it is refused from its size,
    # so loading it allocates nothing near its 52 MB (reading it would)
    import tracemalloc

    import papernet
    from papernet.diagnostics import SpecError

    spec = _sparse(tmp_path / "big.pn", 50 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(SpecError) as raised:
            papernet.load(spec)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [d.code for d in raised.value.diagnostics] == ["P104"]
    assert peak < 1_000_000, peak


def test_a_spec_at_the_size_bound_is_read(tmp_path: Path) -> None:
    # exactly 10,000,000 bytes: a layer, then comment lines up to the bound (conv3-8 on 8x8x3: 3*3*3*8 + 8 = 224)
    import papernet

    head = "input 8x8x3\nconv3-8\n"
    comment = "#" + " " * 98 + "\n"  # 100 bytes a line
    body = comment * ((BOUND - len(head)) // len(comment))
    text = head + body + "#" * (BOUND - len(head) - len(body))
    assert len(text.encode()) == BOUND
    spec = tmp_path / "edge.pn"
    spec.write_text(text, encoding="utf-8")
    assert papernet.load(spec).summary().total_params == 224


def test_a_base_spec_over_the_bound_is_p104(run_cli: Any, tmp_path: Path) -> None:
    _sparse(tmp_path / "base.pn", 20 * 1024 * 1024)
    derived = tmp_path / "derived.pn"
    derived.write_text("from base\ninput 32x32x3\n", encoding="utf-8")
    result = run_cli("check", str(derived))
    assert result.code == 1, result.stderr
    assert "base.pn:1:1: error[P104]: the file is 20,971,520 bytes" in result.stderr


def test_a_table_over_the_bound_is_p104(run_cli: Any, tmp_path: Path) -> None:
    table = _sparse(tmp_path / "big.md", 50 * 1024 * 1024)
    output = tmp_path / "out.pn"
    result = run_cli("import-table", str(table), "-o", str(output))
    assert result.code == 1, result.stderr
    assert f"{table}:1:1: error[P104]: the file is 52,428,800 bytes" in result.stderr
    assert not output.exists()


def test_a_device_is_read_only_to_the_bound(tmp_path: Path) -> None:
    # a character device has no size to stat: /dev/zero is read to one byte past the bound, no further
    from papernet.files import TooLarge, read_bounded

    with pytest.raises(TooLarge) as raised:
        read_bounded(Path("/dev/zero"), bound=1000)
    assert raised.value.size is None
    assert "more than 1,000 bytes" in str(raised.value)
