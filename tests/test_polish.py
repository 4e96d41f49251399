"""Rough edges a newcomer meets in the first ten minutes (issue 11, polish): the table's width,
reprs, missing Keras, shipped spec names, exit codes, TensorFlow's noise, did-you-mean.

Expected figures come from the reports' own rows only where the test is about rendering (the
table must show what the report holds, whole); the rules themselves are written out here.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest

import papernet
from papernet.resources import shipped_specs

ROOT = Path(__file__).resolve().parent.parent


def display_width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


# ---- 1. the table fits the terminal without cutting a figure -----------------------------


@pytest.mark.parametrize("name", sorted(shipped_specs()))
@pytest.mark.parametrize("width", [80, 60])
def test_table_fits_the_width_and_shows_every_figure_whole(name: str, width: int) -> None:
    report = papernet.load(name).summary()
    text = report.to_text(width=width)
    lines = text.splitlines()
    assert max(display_width(line) for line in lines) <= width, text
    body = lines[3 : 3 + len(report.rows)]  # title, header, rule, then one line per layer
    assert len(body) == len(report.rows)
    for row, line in zip(report.rows, body, strict=True):
        tokens = line.split()
        for figure in (f"{row.params:,}", f"{row.macs:,}"):
            assert figure in tokens, (figure, line)
        shape = "×".join(map(str, row.output_shape)) if row.output_shape else "?"
        assert shape in tokens, (shape, line)


def test_a_wide_terminal_gets_every_column_in_full() -> None:
    report = papernet.load("resnet50").summary()
    text = report.to_text(width=250)
    assert "assumed / notes" in text and "left out" not in text
    assert "…" not in text
    assert text == report.to_text()  # no width: the natural width


def test_a_narrow_table_says_which_columns_it_left_out() -> None:
    text = papernet.load("vgg16").summary().to_text(width=80)
    assert "left out to fit 80 columns: assumed / notes" in text
    header = text.splitlines()[1].split()
    assert header == ["#", "name", "layer", "line", "output", "params", "MACs", "RF"]


def test_the_summary_command_follows_COLUMNS(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    narrow = run_cli("summary", "googlenet")
    assert max(display_width(line) for line in narrow.stdout.splitlines()) <= 72, narrow.stdout
    monkeypatch.setenv("COLUMNS", "300")
    wide = run_cli("summary", "googlenet")
    assert "assumed / notes" in wide.stdout and "left out" not in wide.stdout
    monkeypatch.delenv("COLUMNS")
    piped = run_cli("summary", "googlenet")  # not a terminal: nothing to fit
    assert piped.stdout == wide.stdout


def test_golden_80_column_summary(golden: Any) -> None:
    golden.check("summary/resnet50.80.txt", papernet.load("resnet50").summary(depth=2).to_text(width=80))
