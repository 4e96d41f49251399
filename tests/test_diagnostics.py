"""Every bad input gets a clear, rendered diagnostic and the right exit code, never a traceback.

Each spec error is checked three ways: the exit code of `papernet check` (1), the headline
(`file:line:col: error[CODE]`) and the words the user needs (the arithmetic, the fix), and a
golden file of the whole of stderr (tests/golden/diagnostics/), which is how a change in wording
is reviewed. Usage errors (bad options, missing or unwritable files) exit 2 with one line.

Specs are written to a temporary directory that becomes the working directory, so the file
names in the diagnostics (and so in the golden files) are short and stable.
"""

from __future__ import annotations

import os
import random
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import papernet

RunCli = Callable[..., Any]


@dataclass(frozen=True)
class Case:
    name: str
    content: str | bytes
    code: str
    line: int
    column: int | None  # None: any column on that line
    needles: tuple[str, ...] = ()
    caret: int | None = None  # 1-based display column of the first caret, when it differs from `column`


CASES = [
    Case("empty", b"", "P005", 1, 1, ("empty",)),
    Case("only_comments", "# VGG-11, to be written\n# nothing here yet\n", "P005", 1, 1),
    Case("missing_input", "conv3-64\nmaxpool\nFC-10\n", "P101", 1, 1, ("input H×W×C",)),
    Case(
        "block_width_not_whole",
        "input 8x8x16\nblock b(c):\n  conv 1x1, c/2\nb(15)\n",
        "P124",
        3,
        13,
        ("c/2 with c = 15 gives 15/2 = 7.5, not a whole number", "used on line 4"),
    ),
    Case(
        "block_parameter_as_percent",
        "input 8x8x16\nblock b(p):\n  conv3-8, dropout p%\nb(50)\n",
        "P126",
        3,
        20,
        ("`p` stands where papernet cannot put a parameter's value",),
    ),
    Case(
        "block_body_with_a_total",
        "input 8x8x16\nblock b(c):\n  conv3-c\n  total params 1M\nb(8)\n",
        "P126",
        4,
        3,
        ("a block body holds layers only",),
    ),
    Case(
        "claim_collides_with_inner_claim",
        "input 8x8x16\nblock b(c):\n  conv3-c -> 8x8xc\nb(8) -> 8x8x8\n",
        "P125",
        4,
        6,
        ("both describe the output",),
    ),
    Case(
        "blocks_nest_too_deep",
        "input 8x8x3\n"
        + "".join(f"block b{i}():\n  b{i + 1}()\n" for i in range(40))
        + "block b40():\n  conv3-8\nb0()\n",
        "P104",
        65,  # the 33rd use: b32() in b31's body
        3,
        ("nest more than 32 deep",),
    ),
    Case("title_and_no_layers", 'network "VGG-11"\n', "P005", 1, 1, ("no layers",)),
    Case(
        "unknown_word_cnv",
        "input 224x224x3\ncnv3-64\n",
        "P002",
        2,
        1,
        ("unknown word 'cnv3-64'", "did you mean `conv3-64`?"),
    ),
    Case(
        "unknown_word_maxpol",
        "input 224x224x3\nconv3-64\nmaxpol\n",
        "P002",
        3,
        1,
        ("unknown word 'maxpol'", "did you mean `maxpool`?"),
    ),
    Case("zero_filters", "input 28x28\nconv3-0\n", "P102", 2, 1, ("got 0",)),
    Case("zero_units", "input 784\nFC-0\n", "P102", 2, 1, ("got 0",)),
    Case("zero_input", "input 0x0x3\nconv3-8\n", "P102", 1, 7, ("got 0",)),
    Case("zero_stride", "input 28x28\nconv3-8 stride 0\n", "P102", 2, 9, ("stride", "got 0")),
    Case("negative_stride", "input 28x28\nconv3-8 stride -1\n", "P102", 2, 16, ("-1", "negative")),
    # (2 + 2·1 − 5)/1 + 1 = 0: the output would have no pixels.
    Case("output_size_zero", "input 2x2x3\nconv 5x5, 8 pad 1\n", "P203", 2, 1, ("5-pixel window", "2×2×3")),
    # (1 + 2·0 − 7)/1 + 1 = −5
    Case("output_size_negative", "input 1x1x3\nconv7-8\n", "P203", 2, 1, ("7-pixel window", "1×1×3")),
    # 28 → 14 → 7 → 3 (floor) → 1 → a 2×2 window on 1×1
    Case(
        "pooled_away",
        "input 4x4x3\nmaxpool, maxpool, maxpool\n",
        "P203",
        2,
        19,
        ("2-pixel window", "1×1×3"),
    ),
    Case(
        "alexnet_224",
        "input 224x224x3\nconv11-96/4 padding valid\n",
        "P201",
        2,
        1,
        ("(224 + 2·0 − 11)/4 + 1 = 54.25", "not an integer", "227×227"),
    ),
    Case(
        "alexnet_224_declared",
        "input 224x224x3\nconv11-96/4 padding valid -> 55×55×96\n",
        "P201",
        2,
        1,
        ("(224 + 2·0 − 11)/4 + 1 = 54.25", "input 227×227 with pad 0", "224×224 with pad 2 (floor)"),
    ),
    Case("kernel_larger_than_input", "input 4x4x3\nconv5-8\n", "P203", 2, 1, ("5-pixel window", "4×4×3")),
    Case(
        "reshape_mismatch",
        "input 28x28\nflatten\nreshape 10x10\n",
        "P204",
        3,
        1,
        ("100", "784"),
    ),
    Case(
        "unterminated_bracket",
        "input 28x28\n[conv3-64, conv3-64 x2\n",
        "P003",
        2,
        1,
        ("unterminated '['",),
    ),
    Case("repeat_zero", "input 28x28\nconv3-64 x0\n", "P104", 2, 10, ("repetition count 0",)),
    Case(
        "repeat_absurd",
        "input 28x28\nconv3-64 x1000000000\n",
        "P104",
        2,
        10,
        ("1,000,000,000", "1 to 10,000"),
    ),
    # 1000 × 1000 = 1,000,000 layers and the input, each count within its own bound: the total is over.
    # The diagnostic belongs on line 2, where the repetition is, not on the input line.
    Case(
        "expansion_beyond_bound",
        "input 28x28\n[[conv3-8 pad 1] x1000] x1000\n",
        "P104",
        2,
        25,  # the outer x1000, where the running total crosses the bound
        ("1,000,001", "100,000"),
    ),
    Case("crlf_with_error", "input 224x224x3\r\ncnv3-64\r\n", "P002", 2, 1, ("did you mean `conv3-64`?",)),
    # "conv3-8,\t" is 9 characters, displayed as 16 with 8-column tabs: the caret goes under `cnv3-8`.
    Case("tab_before_error", "input 28x28\nconv3-8,\tcnv3-8\n", "P002", 2, 10, ("cnv3-8",), caret=17),
    # The BOM is not a character of the spec: the unknown word starts in column 1.
    Case("bom_with_error", "\ufeffinpt 28x28\nconv3-8\n", "P002", 1, 1, ("did you mean `input`?",)),
    # "input 28x28\n" is 12 bytes; the é (0xe9 in Latin-1) is byte 25, column 14 of line 2.
    Case(
        "not_utf8",
        b"input 28x28\nconv3-8  # caf\xe9\nFC-10\n",
        "P004",
        2,
        15,
        ("0xe9", "UTF-8"),
    ),
    Case(
        "dropout_percent_as_fraction",
        "input 784\nFC-128\ndropout 50\nFC-10\n",
        "P102",
        3,
        9,
        ("50", "dropout 50%", "dropout 0.5"),
    ),
    Case("conv_on_vector", "input 784\nconv3-64\n", "P205", 2, 1, ("784", "reshape")),
    Case("option_does_not_apply", "input 784\nFC-4096 stride 2\n", "P105", 2, 9, ("stride", "FC")),
    # The duplicated thing is the label, so the caret belongs under the second `c1`.
    Case(
        "duplicate_labels",
        "input 28x28\nc1: conv3-8\nc1: conv3-8\n",
        "P106",
        3,
        1,
        ("'c1'", "first on line 2"),
    ),
    Case("from_missing", "from nosuch\ninput 32x32x3\n", "P114", 1, 6, ("nosuch",)),
    Case("from_itself", "from from_itself\ninput 32x32x3\n", "P115", 1, 6, ("from_itself",)),
]


def _write(directory: Path, name: str, content: str | bytes) -> None:
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    (directory / name).write_bytes(data)


def _check(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, directory: Path, name: str) -> Any:
    monkeypatch.chdir(directory)
    return run_cli("check", name)


def _first_caret_column(stderr: str) -> int:
    """1-based display column of the first caret under the first source excerpt."""
    lines = stderr.split("\n")
    excerpt = next(i for i, line in enumerate(lines) if re.match(r"\d+ \| ", line))
    gutter = lines[excerpt].index("|") + 2
    return lines[excerpt + 1].index("^") - gutter + 1


def _assert_no_crash(result: Any) -> None:
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    assert result.code != 3, result.stderr


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_spec_error_is_rendered(
    case: Case, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, golden: Any
) -> None:
    name = f"{case.name}.pn"
    _write(tmp_path, name, case.content)
    result = _check(run_cli, monkeypatch, tmp_path, name)

    _assert_no_crash(result)
    assert result.code == 1, result.stderr
    assert result.stdout == "" or "the table's claims against the architecture" in result.stdout
    headline = result.stderr.split("\n", 1)[0]
    if case.column is None:
        assert headline.startswith(f"{name}:{case.line}:"), headline
        assert f" error[{case.code}]: " in headline, headline
    else:
        assert headline.startswith(f"{name}:{case.line}:{case.column}: error[{case.code}]: "), headline
    for needle in case.needles:
        assert needle in result.stderr, needle
    if case.content:
        assert _first_caret_column(result.stderr) == (case.caret or case.column or 1)
    # Nothing invisible or terminal-controlling reaches the terminal.
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", result.stderr)
    golden.check(f"diagnostics/{case.name}.txt", result.stderr)


def test_one_diagnostic_per_problem_on_a_square_input(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A square input fails the same way on both axes: that is one problem, one diagnostic."""
    _write(tmp_path, "alexnet.pn", "input 224x224x3\nconv11-96/4 -> 55×55×96\n")
    result = _check(run_cli, monkeypatch, tmp_path, "alexnet.pn")
    assert result.code == 1
    assert result.stderr.count("error[") == 1, result.stderr


def test_non_square_input_names_the_axis(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Height (227 − 11)/4 + 1 = 55 divides; width (224 − 11)/4 + 1 = 54.25 does not.
    _write(tmp_path, "wide.pn", "input 227x224x3\nconv11-96/4 padding valid\n")
    result = _check(run_cli, monkeypatch, tmp_path, "wide.pn")
    assert result.code == 1
    assert "(224 + 2·0 − 11)/4 + 1 = 54.25 (width)" in result.stderr
    assert result.stderr.count("error[P201]") == 1


@pytest.mark.parametrize(
    ("name", "text", "line", "column"),
    [
        ("negative_input", "input -28x28\nconv3-8\n", 1, 7),
        ("negative_dropout", "input 784\ndropout -0.5\n", 2, 9),
        ("repeat_twice", "input 28x28\nconv3-64 x2 x3\n", 2, 13),
    ],
    ids=["negative_input", "negative_dropout", "repeat_twice"],
)
def test_no_talk_of_brackets_where_there_is_none(
    name: str,
    text: str,
    line: int,
    column: int,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    golden: Any,
) -> None:
    """There is no bracket on these lines, so "expected ',' or ']'" would send the user looking for one."""
    _write(tmp_path, f"{name}.pn", text)
    result = _check(run_cli, monkeypatch, tmp_path, f"{name}.pn")
    _assert_no_crash(result)
    assert result.code == 1
    assert result.stderr.startswith(f"{name}.pn:{line}:{column}: error[P")
    assert "']'" not in result.stderr, result.stderr
    golden.check(f"diagnostics/{name}.txt", result.stderr)


@pytest.mark.parametrize(
    ("name", "text", "column", "suggestion"),
    [
        ("misspelt_option", "input 28x28\nconv3-64 strde 2\n", 10, "did you mean `stride`?"),
        ("nul_after_layer", "input 28x28\nconv3-8\x00\n", 8, None),
    ],
    ids=["misspelt_option", "nul_after_layer"],
)
def test_after_a_layer_an_option_or_separator_is_expected(
    name: str,
    text: str,
    column: int,
    suggestion: str | None,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    golden: Any,
) -> None:
    """Right after `conv3-64` a second layer cannot start (it needs a comma or a new line), so the
    help must not say that a layer is expected there."""
    _write(tmp_path, f"{name}.pn", text)
    result = _check(run_cli, monkeypatch, tmp_path, f"{name}.pn")
    _assert_no_crash(result)
    assert result.code == 1
    assert result.stderr.startswith(f"{name}.pn:2:{column}: error[P0")
    if suggestion:
        assert suggestion in result.stderr
    assert "\x00" not in result.stderr
    if "\x00" in text:
        assert "\\x00" in result.stderr  # shown escaped
    assert "expected a layer" not in result.stderr, result.stderr
    golden.check(f"diagnostics/{name}.txt", result.stderr)


# ---- specs that must work -------------------------------------------------------------

LENET_LF = "input 28x28\nconv5-6\nmaxpool\nconv5-16\nmaxpool\nFC-120\nFC-84\nFC-10\nsoftmax\n"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("crlf", LENET_LF.replace("\n", "\r\n").encode()),
        ("cr", LENET_LF.replace("\n", "\r").encode()),
        ("bom", b"\xef\xbb\xbf" + LENET_LF.encode()),
        ("bom_crlf", b"\xef\xbb\xbf" + LENET_LF.replace("\n", "\r\n").encode()),
        ("tabs", LENET_LF.replace("input 28x28", "input\t28x28").replace("FC-84\n", "FC-84,\tFC-10 # x\t\n").encode()),
        ("no_final_newline", LENET_LF.rstrip("\n").encode()),
    ],
)
def test_line_ends_tabs_and_bom_work(
    name: str, data: bytes, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "reference.pn").write_text(LENET_LF, encoding="utf-8")
    (tmp_path / "variant.pn").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    reference = run_cli("check", "reference.pn")
    result = run_cli("check", "variant.pn")
    assert reference.code == 0, reference.stderr
    assert result.code == 0, result.stderr
    assert "error[" not in result.stderr and "warning[" not in result.stderr  # LeNet keeps its padding note
    if name != "tabs":  # the tab variant has one more FC-10
        assert result.stdout == reference.stdout.replace("reference.pn", "variant.pn")


def test_binary_garbage_is_a_spec_error(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, golden: Any
) -> None:
    rng = random.Random(20240601)
    data = bytes(rng.randrange(256) for _ in range(200)) + b"\x00\x00\xff\xfe"
    (tmp_path / "garbage.pn").write_bytes(data)
    result = _check(run_cli, monkeypatch, tmp_path, "garbage.pn")
    _assert_no_crash(result)
    assert result.code == 1
    assert "error[P004]" in result.stderr
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", result.stderr)
    golden.check("diagnostics/binary_garbage.txt", result.stderr)


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_never_crash(seed: int, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rng = random.Random(seed)
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    (tmp_path / "noise.pn").write_bytes(data)
    result = _check(run_cli, monkeypatch, tmp_path, "noise.pn")
    _assert_no_crash(result)
    assert result.code == 1
    assert re.search(r"error\[P\d{3}\]", result.stderr)


def test_deeply_nested_brackets_are_a_spec_error(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    depth = 2_000
    _write(tmp_path, "deep.pn", "input 28x28\n" + "[" * depth + "conv3-8 pad 1" + "]" * depth + "\n")
    result = _check(run_cli, monkeypatch, tmp_path, "deep.pn")
    _assert_no_crash(result)
    assert result.code == 1
    assert result.stderr.startswith("deep.pn:2:"), result.stderr


def test_escape_sequences_in_a_spec_do_not_reach_the_terminal(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A spec from the internet must not be able to recolour or rewrite the user's terminal."""
    for name, text in {
        "layer.pn": "input 28x28\nconv3-8 \x1b[2J\n",
        "base.pn": 'from "\x1b[31mred"\n',
    }.items():
        _write(tmp_path, name, text)
        result = _check(run_cli, monkeypatch, tmp_path, name)
        _assert_no_crash(result)
        assert result.code == 1
        assert "\x1b" not in result.stderr, (name, result.stderr)


def test_a_network_title_is_shown_as_written_in_the_summary(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The title is text, not markup, and its control characters are not sent to the terminal."""
    _write(tmp_path, "title.pn", 'network "[bold]VGG[/bold] \x1b[31mred"\ninput 28x28\nconv3-8\nFC-10\n')
    monkeypatch.chdir(tmp_path)
    result = run_cli("summary", "title.pn")
    assert result.code == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "[bold]VGG[/bold]" in result.stdout


# ---- `from`: specs that start from another -------------------------------------------------


def test_from_cycle_is_reported_as_a_cycle(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, golden: Any
) -> None:
    _write(tmp_path, "ping.pn", "from pong\ninput 32x32x3\n")
    _write(tmp_path, "pong.pn", "from ping\ninput 64x64x3\n")
    result = _check(run_cli, monkeypatch, tmp_path, "ping.pn")
    _assert_no_crash(result)
    assert result.code == 1
    assert "error[P115]" in result.stderr
    # Neither spec starts from itself; the message must not say one does.
    assert "starts from itself" not in result.stderr, result.stderr
    assert "ping" in result.stderr and "pong" in result.stderr
    golden.check("diagnostics/from_cycle.txt", result.stderr)


def test_from_a_base_with_errors_points_into_the_base(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(tmp_path, "base.pn", "input 224x224x3\nconv11-96/4 padding valid\nFC-10\n")
    _write(tmp_path, "child.pn", "from base\ninput 227x227x3\n")
    result = _check(run_cli, monkeypatch, tmp_path, "base.pn")
    assert result.code == 1
    assert result.stderr.startswith("base.pn:2:1: error[P201]")
    # The child replaces the input by 227×227, where (227 − 11)/4 + 1 = 55 divides.
    child = run_cli("check", "child.pn")
    assert child.code == 0, child.stderr


def test_a_derived_spec_cannot_add_layers(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write(tmp_path, "child.pn", "from vgg11\ninput 224x224x3\nconv3-64\n")
    result = _check(run_cli, monkeypatch, tmp_path, "child.pn")
    _assert_no_crash(result)
    assert result.code == 1
    assert result.stderr.startswith("child.pn:3:1: error[P110]")


# ---- usage errors: exit 2, one line, nothing written -----------------------------------------

OK_SPEC = "input 28x28\nconv3-8\nmaxpool\nFC-10, softmax\n"
BAD_SPEC = "input 224x224x3\nconv11-96/4 padding valid\nFC-10\n"


@pytest.mark.parametrize(
    ("args", "needle", "from_argparse"),
    [
        (("check", "nosuch.pn"), "nosuch.pn", False),
        (("check", "a_directory"), "a_directory", False),
        (("compile", "ok.pn", "-o", "/nonexistent/dir/x.py"), "/nonexistent/dir", False),
        (("compile", "ok.pn", "-o", "a_directory"), "a_directory", False),
        (("summary", "ok.pn", "-o", "/nonexistent/dir/x.txt"), "/nonexistent/dir", False),
        (("summary", "ok.pn", "-o", "a_directory"), "a_directory", False),
        (("build", "ok.pn", "-o", "model.h5"), ".keras", False),
        (("check", "ok.pn", "--input", "2x"), "2x", True),
        (("check", "ok.pn", "--input", "0x0x3"), "0x0x3", True),
        (("compile", "ok.pn", "--regression", "axb"), "axb", True),
        (("check", "ok.pn", "--classes", "0"), "'0'", True),
        (("summary", "ok.pn", "--classes", "-3"), "-3", True),
        (("summary", "ok.pn", "--format", "xml"), "xml", True),
        (("summary", "ok.pn", "--convention", "caffe"), "caffe", True),
        (("check",), "SPEC", True),
        (("frobnicate", "ok.pn"), "frobnicate", True),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, tuple) else None,
)
def test_usage_error(
    args: tuple[str, ...],
    needle: str,
    from_argparse: bool,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _write(tmp_path, "ok.pn", OK_SPEC)
    (tmp_path / "a_directory").mkdir()
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())

    result = run_cli(*args)

    _assert_no_crash(result)
    assert result.code == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.rstrip("\n").split("\n")
    errors = [line for line in lines if line.startswith("papernet: error:")]
    assert len(errors) == 1, result.stderr
    assert lines[-1] == errors[0]
    assert needle in errors[0]
    if not from_argparse:  # argparse shows its usage first; papernet's own errors are one line
        assert len(lines) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list((tmp_path / "a_directory").iterdir()) == []


def test_failed_compile_does_not_touch_the_output(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(tmp_path, "bad.pn", BAD_SPEC)
    output = tmp_path / "model.py"
    output.write_text("# my own work, not to be overwritten\n", encoding="utf-8")
    os.utime(output, (1_000_000_000, 1_000_000_000))
    monkeypatch.chdir(tmp_path)

    result = run_cli("compile", "bad.pn", "-o", "model.py")

    assert result.code == 1
    assert "error[P201]" in result.stderr
    assert output.read_text(encoding="utf-8") == "# my own work, not to be overwritten\n"
    assert output.stat().st_mtime == 1_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pn", "model.py"]


def test_failed_compile_does_not_create_the_output(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(tmp_path, "bad.pn", BAD_SPEC)
    monkeypatch.chdir(tmp_path)
    result = run_cli("compile", "bad.pn", "-o", "model.py")
    assert result.code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pn"]


def test_failed_summary_to_a_file_still_reports(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(tmp_path, "bad.pn", BAD_SPEC)
    monkeypatch.chdir(tmp_path)
    result = run_cli("summary", "bad.pn", "--format", "json", "-o", "report.json")
    _assert_no_crash(result)
    assert result.code == 1
    assert "error[P201]" in result.stderr


def test_successful_compile_writes_the_whole_file(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _write(tmp_path, "ok.pn", OK_SPEC)
    output = tmp_path / "model.py"
    output.write_text("stale\n" * 10_000, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    to_stdout = run_cli("compile", "ok.pn")
    to_file = run_cli("compile", "ok.pn", "-o", "model.py")

    assert to_stdout.code == 0 and to_file.code == 0, to_file.stderr
    assert to_file.stdout == ""
    written = output.read_text(encoding="utf-8")
    assert written == to_stdout.stdout
    assert written.endswith("\n") and "stale" not in written
    compile(written, "model.py", "exec")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.py", "ok.pn"]


def test_compiled_file_gets_ordinary_permissions(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A generated .py is a normal file: mode 0666 minus the umask, like any editor would write."""
    _write(tmp_path, "ok.pn", OK_SPEC)
    monkeypatch.chdir(tmp_path)
    umask = os.umask(0o022)
    try:
        result = run_cli("compile", "ok.pn", "-o", "model.py")
    finally:
        os.umask(umask)
    assert result.code == 0
    assert stat.S_IMODE((tmp_path / "model.py").stat().st_mode) == 0o644


# ---- the Python API ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ("", "P005", 1, 1),
        ("# only a comment\n", "P005", 1, 1),
        ("input 224x224x3\ncnv3-64\n", "P002", 2, 1),
        ("input 28x28\n[conv3-64, conv3-64 x2\n", "P003", 2, 1),
        ("input 28x28\nconv3-8 stride -1\n", "P102", 2, 16),
    ],
    ids=["empty", "comment", "unknown_word", "unterminated", "negative"],
)
def test_syntax_errors_are_diagnostics_with_positions(text: str, code: str, line: int, column: int) -> None:
    """A spec with nothing to read raises; a line that does not parse is a diagnostic of the
    network built from the rest, and building Keras from it raises with the same diagnostic."""
    try:
        network = papernet.parse(text, "bad.pn")
    except papernet.SpecError as raised:
        diagnostics = list(raised.diagnostics)
        rendered = str(raised)
    else:
        diagnostics = [d for d in network.check() if d.is_error]
        with pytest.raises(papernet.SpecError) as raised_on_build:
            network.raise_for_errors()
        rendered = str(raised_on_build.value)
    assert [d.code for d in diagnostics] == [code]
    span = diagnostics[0].span
    assert span is not None
    assert (span.file, span.line, span.column) == ("bad.pn", line, column)
    assert f"bad.pn:{line}:{column}: error[{code}]" in rendered


def test_meaning_errors_are_diagnostics_and_block_code_generation() -> None:
    net = papernet.parse("input 28x28\nconv3-0\nFC-10\n", "bad.pn")
    assert [d.code for d in net.check()] == ["P102"]
    with pytest.raises(papernet.SpecError) as raised:
        net.to_source()
    assert [d.code for d in raised.value.diagnostics] == ["P102"]


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(papernet.SpecNotFound):
        papernet.load(tmp_path / "nosuch.pn")
    (tmp_path / "latin1.pn").write_bytes(b"input 28x28\n# caf\xe9\n")
    with pytest.raises(papernet.SpecError) as raised:
        papernet.load(tmp_path / "latin1.pn")
    assert [d.code for d in raised.value.diagnostics] == ["P004"]


def test_a_claim_failing_on_every_repetition_is_printed_three_times_and_counted(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `[conv3-8 params 1M] x10` fails ten times at one place: three in full, then a count, not ten
    # screens of the same excerpt (a ×10,000 line printed 70,000 lines)
    _write(tmp_path, "repeated.pn", "input 32x32x3\n[conv3-8 params 1M] x10\n")
    result = _check(run_cli, monkeypatch, tmp_path, "repeated.pn")
    assert result.code == 1
    assert result.stderr.count("error[P302]") == 3, result.stderr
    assert "and 7 more like this here (the line repeats)" in result.stderr
    assert result.stderr.rstrip().endswith("10 errors")  # the count is of all of them
    api = papernet.parse("input 32x32x3\n[conv3-8 params 1M] x10\n").check()
    assert len(api.errors) == 10 and str(api).count("error[P302]") == 3


def test_diagnostics_of_many_lines_each_print_their_own_line(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the spec's lines are split once for all its diagnostics; each excerpt is still its own line
    lines = [f"conv3-{n} params 1M" for n in range(8, 208)]
    _write(tmp_path, "many.pn", "input 32x32x3\n" + "\n".join(lines) + "\n")
    result = _check(run_cli, monkeypatch, tmp_path, "many.pn")
    assert result.code == 1 and result.stderr.count("error[P302]") == 200
    for number, line in enumerate(lines, start=2):
        assert f"\n{number} | {line}\n" in result.stderr
