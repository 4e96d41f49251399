"""Reading a user's files within a bound, and writing them whole or not at all, with the mode an
ordinary file would get.

A spec or table file larger than `MAX_INPUT_BYTES` is refused from its size (`fstat`) before a
byte of it is read; a file whose size the system does not know is read to one byte past the bound.

A regular file (or a name that does not exist yet) is written to a temporary file beside it,
`.NAME.papernet-tmp-XXXXXXXX[.suffix]`, which is then renamed over it: a reader, or an
interruption, sees the old file or the new one, never half of one. A special file (`/dev/null`,
a FIFO, a character device) is written *into*: renaming over it would replace the device with a
regular file. A symbolic link (`/dev/stdout`, a dotfile kept elsewhere) is followed, and stays a link.

A temporary is removed on every way out: an exception, Ctrl-C (SIGINT raises KeyboardInterrupt)
and SIGTERM or SIGHUP, for which `temporary_beside` installs a handler that removes the live
temporaries and then dies of the signal as it would have. Only `kill -9` can leave one, and
then only beside the target, under a name that says what it is.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

TEMPORARY_MARK = ".papernet-tmp-"
"""In every temporary's name: `.model.keras.papernet-tmp-1a2b3c4d.keras`."""

NAME_MAX = 255  # bytes in one path component, on every file system papernet runs on
PATH_MAX = 4096
_KEPT_OF_NAME = 100  # of the target's name, in its temporary's (whose name must fit NAME_MAX too)
_CLEANED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

MAX_INPUT_BYTES = 10_000_000
"""The largest spec or table file papernet reads (10 MB): a spec at the layer bound (100,000
layers) is under 2 MB, and every shipped spec under 10 kB."""

_live: set[Path] = set()
_lock = threading.Lock()
_handled: set[int] = set()


class TooLarge(Exception):
    """A file over `MAX_INPUT_BYTES`; `size` is its size in bytes where the system knows it."""

    def __init__(self, size: int | None, bound: int) -> None:
        self.size = size
        self.bound = bound
        super().__init__(self.describe())

    def describe(self) -> str:
        """`the file is 52,428,800 bytes; papernet's bound is 10,000,000 (10 MB)`."""
        size = f"{self.size:,} bytes" if self.size is not None else f"more than {self.bound:,} bytes"
        return f"the file is {size}; papernet's bound is {self.bound:,} ({self.bound / 1e6:g} MB)"


def read_bounded(path: Path, bound: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the file at `path`, or `TooLarge` without reading them if there are more than
    `bound` (from `fstat` for a regular file; otherwise at most `bound + 1` bytes are read).
    OSError as `open` raises it."""
    with path.open("rb") as handle:
        status = os.fstat(handle.fileno())
        if stat.S_ISREG(status.st_mode) and status.st_size > bound:
            raise TooLarge(status.st_size, bound)
        data = handle.read(bound + 1)
    if len(data) > bound:
        raise TooLarge(None, bound)  # a device or pipe, or a file that grew since fstat
    return data


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a file on this system, or None.

    >>> name_problem("model.keras"), name_problem("a" * 300)
    (None, 'its name is 300 bytes long, longer than the 255 a file name can have')
    """
    if not name:
        return "the name is empty"
    if "\0" in name:
        return "the name holds a NUL character"
    encoded = os.fsencode(name)
    if len(encoded) > PATH_MAX:
        return f"the path is {len(encoded):,} bytes long, longer than the {PATH_MAX:,} a path can have"
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > NAME_MAX:
        return f"its name is {len(longest):,} bytes long, longer than the {NAME_MAX} a file name can have"
    return None


def is_special(path: Path) -> bool:
    """True for an existing file that is neither a regular file nor a directory: a device, a FIFO, a socket."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` (UTF-8, `\\n` line ends) to `path`, whole or not at all."""
    data = text.encode("utf-8")
    path = _followed(path)
    if is_special(path):
        _write_into(path, data)
        return
    with temporary_beside(path, suffix="") as temporary:
        temporary.write_bytes(data)
        _commit(temporary, path)


def replace_atomically(path: Path, write: Callable[[str], object]) -> None:
    """`write(temporary)` a file beside `path` (same suffix, as Keras and matplotlib want one), then
    rename it over `path`; into a special file, the written bytes are copied instead."""
    path = _followed(path)
    special = is_special(path)
    with temporary_beside(path, suffix=path.suffix, elsewhere=special) as temporary:
        write(str(temporary))
        if special:
            with temporary.open("rb") as source, path.open("wb") as target:
                shutil.copyfileobj(source, target)
        else:
            _commit(temporary, path)


@contextmanager
def temporary_beside(path: Path, suffix: str, elsewhere: bool = False) -> Iterator[Path]:
    """A new, empty temporary file beside `path` (with `elsewhere`, where `path`'s directory is not
    writable, in the system's temporary directory), removed on the way out unless renamed."""
    _clean_on_signals()
    directory = path.parent if not elsewhere or os.access(path.parent, os.W_OK) else Path(tempfile.gettempdir())
    prefix = f".{path.name[:_KEPT_OF_NAME]}{TEMPORARY_MARK}"
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=suffix)
    os.close(descriptor)
    temporary = Path(name)
    with _lock:
        _live.add(temporary)
    try:
        yield temporary
    finally:
        with _lock:
            _live.discard(temporary)
        temporary.unlink(missing_ok=True)


def _followed(path: Path) -> Path:
    """Where a symbolic link points (`/dev/stdout` → the file or pipe behind it): the link stays a link."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _commit(temporary: Path, path: Path) -> None:
    give_ordinary_mode(temporary, path)
    os.replace(temporary, path)


def _write_into(path: Path, data: bytes) -> None:
    """Into a device or FIFO: opened for writing, never truncated or replaced (a FIFO waits for its reader)."""
    with path.open("wb", buffering=0) as handle:
        view = memoryview(data)
        while view:
            view = view[handle.write(view) or 0 :]


def give_ordinary_mode(temporary: Path, final: Path) -> None:
    """mkstemp makes files 0600; give the new file the old file's mode, or what the umask allows."""
    if final.exists():
        mode = final.stat().st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    temporary.chmod(mode)


def _clean_on_signals() -> None:
    """On SIGTERM and SIGHUP, remove the live temporaries and die of the signal. Only where the
    signal still has its default action (a program that handles it keeps its handler), and only
    from the main thread (the only one that may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for number in _CLEANED_SIGNALS:
        if number in _handled or signal.getsignal(number) is not signal.SIG_DFL:
            continue
        signal.signal(number, _remove_live_and_die)
        _handled.add(number)


def _remove_live_and_die(number: int, frame: FrameType | None) -> None:
    for temporary in list(_live):
        with suppress(OSError):
            temporary.unlink(missing_ok=True)
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
