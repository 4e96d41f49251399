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
