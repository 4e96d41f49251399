"""Shared test fixtures: golden files and a CLI runner.

Golden files live in tests/golden/. Regenerate them with
`pytest --update-golden` (or PAPERNET_UPDATE_GOLDEN=1) and review the diff.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from the current output")


@dataclass
class Golden:
    update: bool

    def check(self, name: str, actual: str) -> None:
        path = GOLDEN / name
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        assert path.exists(), f"no golden file {path}; run pytest --update-golden and review it"
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from {path}; run pytest --update-golden and review the diff"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    update = bool(request.config.getoption("--update-golden")) or os.environ.get("PAPERNET_UPDATE_GOLDEN") == "1"
    return Golden(update)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Run `papernet ARGS` in-process from the repository root; returns exit code and output."""
    from papernet.cli import main

    monkeypatch.chdir(ROOT)

    def run(*args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse usage errors
                code = int(exc.code) if isinstance(exc.code, int) else 2
        return Result(code, out.getvalue(), err.getvalue())

    yield run
    sys.stdout.flush()
