"""Sizes as MobileNetV2 prints them, `224²` and `112² × 32`, in a spec's input line and shape claims."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import papernet

RunCli = Callable[..., Any]


@pytest.mark.parametrize(
    ("squared", "plain"),
    [
        ("input 224² × 3\nconv 3×3/2, 32 -> 112²×32\n", "input 224×224×3\nconv 3×3/2, 32 -> 112×112×32\n"),
        ("input 32²\nconv3-8 -> 32² × 8\n", "input 32×32\nconv3-8 -> 32×32×8\n"),
        ("input 7² × 1280\nglobal average pool -> 1 × 1 × 1280\n", "input 7x7x1280\nglobal average pool -> 1×1×1280\n"),
    ],
)
def test_squared_sizes_in_the_input_line_and_claims(squared: str, plain: str) -> None:
    ours, theirs = papernet.parse(squared), papernet.parse(plain)
    assert ours.infer().layers[0].shape == theirs.infer().layers[0].shape
    rows = [(r.quantity, r.declared, r.verdict) for r in ours.reconcile().rows]
    assert rows == [(r.quantity, r.declared, r.verdict) for r in theirs.reconcile().rows]
    assert rows and all(verdict == "holds" for _, _, verdict in rows)


def test_a_malformed_square_is_a_syntax_error(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "s.pn").write_text("input 224²² × 3\nconv3-8\n", encoding="utf-8")
    result = run_cli("check", str(tmp_path / "s.pn"))
    assert result.code == 1
    assert re.search(r"s\.pn:1:\d+: error\[P0\d\d\]", result.stderr), result.stderr
    assert "Traceback" not in result.stderr
