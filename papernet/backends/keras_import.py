"""Keras, imported for papernet: papernet's own error when it is missing, and, for papernet's
commands, without TensorFlow's start-up lines.

TensorFlow's C++ runtime logs at load time (oneDNN, CPU features), once per shared library
that carries the logger, so the lines came twice; some ignore `TF_CPP_MIN_LOG_LEVEL`. The
commands set that variable before TensorFlow loads and drop the lines that match its start-up
notices from what the import writes to stderr; anything else it writes is passed on.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

from papernet.diagnostics import KerasNotInstalled

_START_UP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] .*"  # absl INFO/WARNING lines (errors pass)
    r"|\d{4}-\d\d-\d\d [\d:.]+: [IW] (?:tensorflow|external)/.*"  # the older TensorFlow format
    r"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\."
)


def import_keras(what: str, quiet: bool = False) -> ModuleType:
    """`keras`, or `KerasNotInstalled` naming `what` needed it. `quiet` (the command line):
    TensorFlow's start-up notices are not shown."""
    loaded: ModuleType | None = sys.modules.get("keras")
    if loaded is not None:
        return loaded
    if quiet:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with _start_up_noise_dropped() if quiet else contextlib.nullcontext():
            import keras
    except ImportError as exc:
        raise KerasNotInstalled(what) from exc
    if quiet:
        _quiet_absl()
    module: ModuleType = keras
    return module


def is_start_up_noise(line: str) -> bool:
    """
    >>> is_start_up_noise("I0000 00:00:1796193729.770801   22041 port.cc:153] oneDNN custom operations are on.")
    True
    >>> is_start_up_noise("E0000 00:00:1796193729.770801   22041 cuda.cc:1] failed"), is_start_up_noise("Error")
    (False, False)
    """
    return _START_UP_NOISE.fullmatch(line.rstrip("\r\n")) is not None


@contextlib.contextmanager
def _start_up_noise_dropped() -> Iterator[None]:
    """Standard error (the file descriptor, which C++ writes to) captured while the block runs,
    then written back without TensorFlow's start-up notices."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's StringIO)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not is_start_up_noise(line)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()


def _quiet_absl() -> None:
    """Python-side absl logging (Keras uses it for some notices) at errors only."""
    absl_logging = sys.modules.get("absl.logging")
    if absl_logging is not None:
        absl_logging.set_verbosity(absl_logging.ERROR)
