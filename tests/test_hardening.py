"""Inputs an adversary types: each is a positioned diagnostic and exit 1 or 2, never exit 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CASES = {
    "long s in same": ("input 8x8x3\nconv3-4 padding ſame\n", 0),
    "long s in softmax": ("input 8x8x3\nFC-10, ſoftmax\n", 0),
    "infinite width": ("input 8x8x3\ndefaults:\n  conv: width 1e999\nconv3-4\n", 1),
    "infinite slope": ("input 8x8x3\nleaky relu 1e999\n", 1),
    "huge input": ("input 1000000x1000000x3\nconv3-4\n", 1),
    "a title and no layers": ('network "only a title"\n', 1),
    "an empty block and no input": ("block b():\n a\n", 1),
    "from a file that is not a spec": ("from /etc/passwd\ninput 8x8x3\n", 1),
    "500 nested brackets": ("input 8x8x3\n" + "[" * 500 + "conv3-4" + "]" * 500 + "\n", 1),
}


@pytest.mark.parametrize(("text", "code"), CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("command", ["check", "compile"])
def test_no_internal_error(text: str, code: int, command: str, run_cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "spec.pn"
    spec.write_text(text, encoding="utf-8")
    result = run_cli(command, str(spec))
    assert result.code == code, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if code:
        assert "spec.pn:" in result.stderr  # positioned


def test_a_long_s_reads_as_the_word_it_stands_for() -> None:
    import papernet

    conv = papernet.parse("input 8x8x3\nconv3-4 padding ſame\n").graph.nodes[1]
    assert getattr(conv, "padding", None) == "same"
