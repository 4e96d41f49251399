"""Output files, one rule for every command that writes one (`-o`; `train --output DIR`):

- the file is written if and only if the command exits 0, whole or not at all; on any other exit
  an existing file keeps its bytes and its time stamp, and a missing one is not created;
- a special file (a FIFO, a character device such as /dev/null) is written into, never replaced;
- a temporary lives only beside the target, named `.NAME.papernet-tmp-…`, and is gone after an
  error, Ctrl-C (SIGINT) or SIGTERM;
- `-o ''` and a name too long for the file system are usage errors (exit 2), not tracebacks.

The real /dev/null is never written with replace semantics here: the one test that names it
first makes `os.replace` refuse it, so a regression fails the test instead of replacing the device.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from papernet import files
from papernet.files import TEMPORARY_MARK, is_special, name_problem, replace_atomically, write_atomically

ROOT = Path(__file__).resolve().parent.parent
RunCli = Callable[..., Any]

OK_SPEC = "input 28x28\nconv3-8\nmaxpool\nFC-10, softmax\n"
SHAPE_ERROR = "input 224x224x3\nconv11-96/4 padding valid\nFC-10\n"  # (224 − 11)/4 + 1 is not whole: P201
CLAIM_ERROR = "input 28x28\nconv3-8 -> 28×28×9\nmaxpool\nFC-10, softmax\n"  # 8 channels, not 9: P301
TABLE = "layer,output size\ninput 28×28×1,28×28×1\nconv3-8,28×28×8\nFC-10,10\n"
BAD_TABLE = "type,patch/stride,output\nconvolutoin,7×7/2,112×112×64\n"
OLD = "my own work, not to be overwritten\n"
OLD_TIME = 1_000_000_000

# command → its arguments; `{spec}` is replaced by a spec file (or a table for import-table)
WRITERS: dict[str, tuple[str, ...]] = {
    "summary": ("summary", "{spec}", "-o"),
    "summary-json": ("summary", "{spec}", "--format", "json", "-o"),
    "check-json": ("check", "{spec}", "--format", "json", "-o"),
    "check-markdown": ("check", "{spec}", "--format", "markdown", "-o"),
    "compile": ("compile", "{spec}", "-o"),
    "build": ("build", "{spec}", "-o"),
    "import-table": ("import-table", "{spec}", "-o"),
}
SUFFIX = {"build": ".keras", "compile": ".py", "import-table": ".pn", "summary-json": ".json", "check-json": ".json"}
# A spec each command fails on (exit 1): compile and build still build a network whose table is
# wrong (a P3xx claim), so they need a shape error.
FAILING = {
    "summary": SHAPE_ERROR,
    "summary-json": SHAPE_ERROR,
    "check-json": CLAIM_ERROR,
    "check-markdown": CLAIM_ERROR,
    "compile": SHAPE_ERROR,
    "build": SHAPE_ERROR,
    "import-table": BAD_TABLE,
}
FAST = [name for name in WRITERS if name != "build"]  # build imports TensorFlow: once, below


def _arguments(command: str, source: str, output: str) -> list[str]:
    return [part.replace("{spec}", source) for part in WRITERS[command]] + [output]


def _source(tmp_path: Path, command: str, text: str | None = None) -> str:
    name = "table.csv" if command == "import-table" else "spec.pn"
    default = TABLE if command == "import-table" else OK_SPEC
    (tmp_path / name).write_text(default if text is None else text, encoding="utf-8")
    return name


def _old_file(path: Path) -> None:
    path.write_text(OLD, encoding="utf-8")
    os.utime(path, (OLD_TIME, OLD_TIME))


def _assert_untouched(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == OLD
    assert path.stat().st_mtime == OLD_TIME


def _no_temporaries(directory: Path) -> None:
    assert not [p.name for p in directory.iterdir() if TEMPORARY_MARK in p.name]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---- the rule: written if and only if the command exits 0 ------------------------------------------------


@pytest.mark.parametrize("command", FAST)
def test_a_command_that_exits_0_writes_the_whole_file(command: str, run_cli: RunCli, here: Path) -> None:
    source = _source(here, command)
    output = here / f"out{SUFFIX.get(command, '.txt')}"
    _old_file(output)
    result = run_cli(*_arguments(command, source, output.name))
    assert result.code == 0, result.stderr
    written = output.read_text(encoding="utf-8")
    assert written != OLD and written.strip()
    assert result.stdout == ""
    # the same bytes as the command prints without -o
    assert run_cli(*_arguments(command, source, "")[:-2]).stdout == written
    _no_temporaries(here)


@pytest.mark.parametrize("command", FAST)
def test_a_command_that_exits_1_leaves_an_existing_file_as_it_was(command: str, run_cli: RunCli, here: Path) -> None:
    source = _source(here, command, FAILING[command])
    output = here / f"out{SUFFIX.get(command, '.txt')}"
    _old_file(output)
    result = run_cli(*_arguments(command, source, output.name))
    assert result.code == 1, result.stderr
    assert "error[P" in result.stderr
    _assert_untouched(output)
    assert sorted(p.name for p in here.iterdir()) == sorted([source, output.name])


@pytest.mark.parametrize("command", FAST)
def test_a_command_that_exits_1_creates_no_file(command: str, run_cli: RunCli, here: Path) -> None:
    source = _source(here, command, FAILING[command])
    result = run_cli(*_arguments(command, source, f"out{SUFFIX.get(command, '.txt')}"))
    assert result.code == 1, result.stderr
    assert sorted(p.name for p in here.iterdir()) == [source]


def test_a_failing_check_says_its_report_was_not_written(run_cli: RunCli, here: Path) -> None:
    """The rule is visible: stderr says the file was not written and why."""
    source = _source(here, "check-json", CLAIM_ERROR)
    result = run_cli("check", source, "--format", "json", "-o", "report.json")
    assert result.code == 1
    assert "report.json not written: the spec has errors" in result.stderr


def test_the_report_of_a_failing_check_still_goes_to_stdout(run_cli: RunCli, here: Path) -> None:
    """Without -o nothing is lost: the reconciliation of a failing check is printed."""
    source = _source(here, "check-json", CLAIM_ERROR)
    result = run_cli("check", source, "--format", "json")
    assert result.code == 1
    report = json.loads(result.stdout)
    assert report["verdict"]["fail"] == 1


@pytest.mark.parametrize("command", FAST)
def test_a_usage_error_leaves_the_file_as_it_was(command: str, run_cli: RunCli, here: Path) -> None:
    output = here / f"out{SUFFIX.get(command, '.txt')}"
    _old_file(output)
    result = run_cli(*_arguments(command, "no_such_file.pn", output.name))
    assert result.code == 2, result.stderr
    _assert_untouched(output)


# ---- names: empty, too long -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", WRITERS)
def test_an_empty_output_name_is_a_usage_error(command: str, run_cli: RunCli, here: Path) -> None:
    source = _source(here, command)
    result = run_cli(*_arguments(command, source, ""))
    assert result.code == 2
    assert "the output file name is empty" in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in here.iterdir()) == [source]


@pytest.mark.parametrize("command", WRITERS)
def test_a_300_character_output_name_is_a_usage_error(command: str, run_cli: RunCli, here: Path) -> None:
    source = _source(here, command)
    name = "a" * 294 + SUFFIX.get(command, ".txt").ljust(6, "t")
    result = run_cli(*_arguments(command, source, name))
    assert result.code == 2, result.stderr
    assert "300 bytes long, longer than the 255 a file name can have" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize("command", ["check", "summary", "compile", "build", "train"])
def test_a_300_character_spec_name_is_a_usage_error(command: str, run_cli: RunCli, here: Path) -> None:
    extra = {"build": ["-o", "m.keras"], "train": ["--synthetic", "4"]}.get(command, [])
    result = run_cli(command, "s" * 300, *extra)
    assert result.code == 2, result.stderr
    assert "300 bytes long" in result.stderr
    assert "internal error" not in result.stderr


def test_a_300_character_table_name_is_a_usage_error(run_cli: RunCli, here: Path) -> None:
    result = run_cli("import-table", "t" * 296 + ".csv")
    assert result.code == 2
    assert "300 bytes long" in result.stderr


def test_a_name_of_255_bytes_is_written_its_temporary_fits_too(run_cli: RunCli, here: Path) -> None:
    """The temporary's name is longer than its target's: it keeps only part of the target's name."""
    source = _source(here, "compile")
    name = "m" * 252 + ".py"
    result = run_cli("compile", source, "-o", name)
    assert result.code == 0, result.stderr
    assert (here / name).read_text(encoding="utf-8").startswith('"""')


def test_name_problem_counts_bytes_not_characters() -> None:
    """ext4 and friends limit a name to 255 bytes: 128 two-byte characters are too many."""
    assert name_problem("é" * 127) is None
    assert name_problem("é" * 128) == "its name is 256 bytes long, longer than the 255 a file name can have"
    assert name_problem("d/" * 2100) is not None  # over PATH_MAX as a whole
    assert name_problem("a\0b") == "the name holds a NUL character"


# ---- special files: written into ---------------------------------------------------------------------


def _read_fifo(path: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with path.open("rb") as fifo:
            got.append(fifo.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader, got


@pytest.mark.parametrize("command", FAST)
def test_a_fifo_is_written_into_not_replaced(command: str, run_cli: RunCli, here: Path) -> None:
    source = _source(here, command)
    fifo = here / "pipe"
    os.mkfifo(fifo)
    reader, got = _read_fifo(fifo)
    result = run_cli(*_arguments(command, source, "pipe"))
    reader.join(timeout=30)
    assert result.code == 0, result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the FIFO was replaced by a regular file"
    assert got and got[0].decode("utf-8") == run_cli(*_arguments(command, source, "")[:-2]).stdout
    _no_temporaries(here)


def test_dev_null_is_written_into_and_stays_a_character_device(
    run_cli: RunCli, here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def refuse_devices(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        assert not str(target).startswith("/dev/"), f"would replace {target}"
        real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(files.os, "replace", refuse_devices)
    source = _source(here, "compile")
    for command in ("compile", "summary", "check-json"):
        result = run_cli(*_arguments(command, source, "/dev/null"))
        assert result.code == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not [p for p in Path("/dev").iterdir() if TEMPORARY_MARK in p.name]


def test_a_symbolic_link_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    """`-o /dev/stdout` is a link to the file or pipe behind standard output: replacing the link
    itself would break /dev/stdout for the whole system. A link here stands in for it."""
    (tmp_path / "real.txt").write_text("old", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    write_atomically(tmp_path / "link.txt", "new")
    replace_atomically(tmp_path / "link.txt", lambda name: Path(name).write_text("newer", encoding="utf-8"))
    assert (tmp_path / "link.txt").is_symlink()
    assert (tmp_path / "real.txt").read_text(encoding="utf-8") == "newer"
    _no_temporaries(tmp_path)


def test_special_files_are_recognised(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert is_special(Path("/dev/null")) and is_special(tmp_path / "fifo")
    assert not is_special(tmp_path / "file") and not is_special(tmp_path) and not is_special(tmp_path / "none")


def test_replace_into_a_fifo_copies_what_was_written(tmp_path: Path) -> None:
    """A writer that needs a path of its own (Keras's save, matplotlib's savefig) writes a
    temporary file; its bytes then go into the FIFO."""
    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)
    reader, got = _read_fifo(fifo)
    replace_atomically(fifo, lambda name: Path(name).write_bytes(b"\x00model bytes\xff"))
    reader.join(timeout=30)
    assert got == [b"\x00model bytes\xff"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    _no_temporaries(tmp_path)


def test_build_writes_a_model_into_a_fifo(run_cli: RunCli, here: Path) -> None:
    pytest.importorskip("keras")
    source = _source(here, "build")
    fifo = here / "model.keras"
    os.mkfifo(fifo)
    reader, got = _read_fifo(fifo)
    result = run_cli("build", source, "-o", "model.keras")
    reader.join(timeout=60)
    assert result.code == 0, result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert got and got[0].startswith(b"PK\x03\x04")  # a .keras file is a zip archive
    _no_temporaries(here)


def test_build_writes_a_model_file_and_on_failure_leaves_it(run_cli: RunCli, here: Path) -> None:
    pytest.importorskip("keras")
    _source(here, "build")
    result = run_cli("build", "spec.pn", "-o", "model.keras")
    assert result.code == 0, result.stderr
    assert (here / "model.keras").read_bytes().startswith(b"PK\x03\x04")
    _old_file(here / "old.keras")
    (here / "bad.pn").write_text(SHAPE_ERROR, encoding="utf-8")
    assert run_cli("build", "bad.pn", "-o", "old.keras").code == 1
    _assert_untouched(here / "old.keras")
    _no_temporaries(here)


# ---- temporaries: beside the target, named, removed --------------------------------------------------


def test_the_temporary_is_beside_the_target_with_a_recognisable_name(tmp_path: Path) -> None:
    seen: list[Path] = []

    def write(name: str) -> None:
        seen.append(Path(name))
        Path(name).write_text("new", encoding="utf-8")

    replace_atomically(tmp_path / "model.keras", write)
    (temporary,) = seen
    assert temporary.parent == tmp_path
    assert temporary.name.startswith(".model.keras" + TEMPORARY_MARK) and temporary.suffix == ".keras"
    assert (tmp_path / "model.keras").read_text(encoding="utf-8") == "new"
    _no_temporaries(tmp_path)


def test_a_writer_that_fails_leaves_the_target_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.keras"
    _old_file(target)

    def half_then_fail(name: str) -> None:
        Path(name).write_text("half a mod", encoding="utf-8")
        raise KeyboardInterrupt  # Ctrl-C mid-write

    with pytest.raises(KeyboardInterrupt):
        replace_atomically(target, half_then_fail)
    _assert_untouched(target)
    _no_temporaries(tmp_path)


def test_write_atomically_gives_an_ordinary_mode(tmp_path: Path) -> None:
    umask = os.umask(0o027)
    try:
        write_atomically(tmp_path / "a.txt", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640


SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from papernet.files import replace_atomically

    def slow(name):
        Path(name).write_bytes(b"x" * 1000)
        print("writing", flush=True)
        time.sleep(60)

    replace_atomically(Path(sys.argv[1]), slow)
    """
)


@pytest.fixture
def slow_writer(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, "-c", SLOW_WRITER, str(tmp_path / "model.keras")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        started.append(process)
        assert process.stdout is not None
        assert process.stdout.readline() == "writing\n"
        assert [p for p in tmp_path.iterdir() if TEMPORARY_MARK in p.name], "no temporary while writing"
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_mid_write_removes_the_temporary(
    number: int, tmp_path: Path, slow_writer: Callable[[], subprocess.Popen[str]]
) -> None:
    process = slow_writer()
    process.send_signal(number)
    process.wait(timeout=30)
    assert process.returncode == -number  # it still dies of the signal (Python re-raises SIGINT too)
    time.sleep(0.1)
    assert list(tmp_path.iterdir()) == []


def test_train_writes_its_run_directory_only_once_every_input_is_valid(run_cli: RunCli, here: Path) -> None:
    """train's outputs (DIR/model.keras, history.csv, history.png) follow the same rule: a bad
    input (exit 2) creates nothing; they are written with the same helpers as `-o` files."""
    _source(here, "compile")
    result = run_cli("train", "spec.pn", "--data", "x.npy", "y.npy", "--output", "run")
    assert result.code == 2
    assert sorted(p.name for p in here.iterdir()) == ["spec.pn"]
    assert run_cli("train", "spec.pn", "--synthetic", "4", "--output", "").code == 2
