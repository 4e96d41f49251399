"""Writing a user's files: whole or not at all, with the mode an ordinary file would get."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file beside it, then a rename."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        give_ordinary_mode(Path(temporary), path)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def give_ordinary_mode(temporary: Path, final: Path) -> None:
    """mkstemp makes files 0600; give the new file the old file's mode, or what the umask allows."""
    if final.exists():
        mode = final.stat().st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    temporary.chmod(mode)


def replace_atomically(path: Path, write: Callable[[str], object]) -> None:
    """`write(temporary)` a file beside `path` (same suffix), then rename it over `path`: a reader,
    or an interruption, sees the old file or the new one, never half of one."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(descriptor)
    try:
        write(temporary)
        give_ordinary_mode(Path(temporary), path)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
