"""No input crashes papernet: the only exception a spec can cause is `SpecError`, with diagnostics.

Inputs: random text, random sequences of the notation's own words (which get much deeper into
the grammar than random characters do), and random mutations of the shipped specs (characters
deleted, duplicated, swapped, inserted from all of Unicode, the text truncated). Each goes through
`papernet.parse(...)` and then `.check()` and `.summary()`; a smaller number goes through the
command line in-process, where the exit code must be 0 or 1 and stderr must never hold a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import papernet
from papernet.resources import shipped_specs

SPECS = {name: path.read_text(encoding="utf-8") for name, path in shipped_specs().items()}

API_SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
CLI_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

WORDS = [
    # layers
    "conv3-64", "conv11-96/4", "conv1-256", "conv", "CONV", "convolution", "conv 3x3/2, 64", "3×3, 64",
    "96 11x11 filters", "maxpool", "max pool", "avgpool", "average pool", "POOL", "global", "3×3 max pool",
    "FC-4096", "FC-10", "fc", "FC", "dense", "1000-d fc", "relu", "leaky relu", "elu", "tanh", "sigmoid", "gelu",
    "linear", "softmax", "soft-max", "BN", "batch norm", "LRN", "dropout", "dropout (40%)", "flatten",
    "reshape", "zeropad", "pad", "input", "INPUT", "inception(3a)", "conv dw 3×3/2",
    # options and claims
    "stride", "stride 2", "at stride 4", "pad 1", "padding same", "padding valid", "same", "valid", "dilation 2",
    "groups 2", "activation relu", "bias off", "no bias", "floor", "ceil", "filters 64", "units 10", "rate 0.5",
    "-> 55×55×96", "params 34,944", "ops 105M", "total params 138M", "total mult-adds 15.5G",
    # sizes and numbers
    "0", "1", "2", "3", "7", "64", "224", "1000000000", "999999999999999999999", "0.5", "50", "40%", "-1",
    "224x224x3", "224×224", "28x28", "784", "0x0x3", "1x1", "3x3", "11x11/4", "x2", "×3", "*2", "x0", "x10000",
    # structure
    ",", "->", "→", "–", "-", "[", "]", ";", "(", ")", ":", "conv1:", "fc6:", "#", "# comment", "\n", "\n  ",
    "\t", "\r\n", "\r", "defaults:\n  conv: 3x3, 16\n", "defaults:", "train:\n  epochs 74\n", "train:",
    'network "x"', "from vgg11", "from nosuch", "from itself", "classes 10", "regression 224x224x1",
    # the odd character
    "\x00", "\ufeff", "\u2028", "\u202e", "é", "\x1b[31m", "\\", '"', "'",
]  # fmt: skip


def assert_only_spec_errors(text: str) -> None:
    """Parse, check and summarise `text`; a `SpecError` is fine, anything else is a bug."""
    try:
        net = papernet.parse(text)
        found = net.check()
        report = net.summary()
        report.to_text()
        report.to_json()
    except papernet.SpecError as error:
        assert error.diagnostics, "a SpecError without diagnostics"
        for diagnostic in error.diagnostics:
            assert re.fullmatch(r"P\d{3}", diagnostic.code), diagnostic
            assert diagnostic.span is not None, diagnostic
            assert diagnostic.message.strip(), diagnostic
        str(error)  # rendering must not fail either
        return
    for diagnostic in found:
        assert re.fullmatch(r"P\d{3}", diagnostic.code), diagnostic
        assert diagnostic.message.strip(), diagnostic


@st.composite
def mutated_spec(draw: st.DrawFn) -> str:
    text = list(draw(st.sampled_from(sorted(SPECS.values()))))
    for _ in range(draw(st.integers(1, 8))):
        if not text:
            break
        index = draw(st.integers(0, len(text) - 1))
        operation = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "insert_word", "truncate"]))
        if operation == "delete":
            del text[index]
        elif operation == "duplicate":
            text.insert(index, text[index])
        elif operation == "swap":
            other = draw(st.integers(0, len(text) - 1))
            text[index], text[other] = text[other], text[index]
        elif operation == "insert":
            text.insert(index, draw(st.characters()))
        elif operation == "insert_word":
            text[index:index] = list(draw(st.sampled_from(WORDS)))
        else:
            text = text[:index]
    return "".join(text)


def word_soup() -> st.SearchStrategy[str]:
    separators = st.sampled_from([" ", " ", ", ", "\n", " -> ", ""])
    pieces = st.lists(st.tuples(st.sampled_from(WORDS), separators), max_size=25)
    body = pieces.map(lambda parts: "".join(word + sep for word, sep in parts))
    return st.tuples(st.sampled_from(["", "input 224x224x3\n", "input 32x32x3\n", "input 784\n"]), body).map("".join)


# ---- through the Python API ------------------------------------------------------------------------


@API_SETTINGS
@given(st.text())
@example("")
@example("\x00")
@example("\ufeff")
@example("\udcff")
@example("[" * 500)
@example("input 28x28\n" + "[" * 200 + "conv3-8" + "]" * 200)
@example("input 28x28\n" + "conv3-8 x10000\n" * 11)
@example("input 9999999999999x9999999999999\nconv3-8\n")
def test_random_text(text: str) -> None:
    assert_only_spec_errors(text)


@API_SETTINGS
@given(word_soup())
def test_random_notation(text: str) -> None:
    assert_only_spec_errors(text)


@API_SETTINGS
@given(mutated_spec())
def test_mutated_shipped_specs(text: str) -> None:
    assert_only_spec_errors(text)


@pytest.mark.parametrize("depth", [100, 1_000, 10_000])
def test_deeply_nested_brackets(depth: int) -> None:
    """Nesting is bounded like repetition: past the bound, a diagnostic, not a RecursionError."""
    assert_only_spec_errors("input 28x28\n" + "[" * depth + "conv3-8 pad 1" + "]" * depth + "\n")


def test_shipped_specs_themselves_are_clean() -> None:
    """The mutations start from specs that are themselves free of errors (the fuzzing baseline)."""
    for name in SPECS:
        net = papernet.load(name)
        # GoogLeNet ships with Table 1's printed figures as claims, which the table itself
        # contradicts (reference/README.md); those P3xx claim errors are the point of the spec.
        errors = [d for d in net.errors() if not (name == "googlenet" and d.code.startswith("P3"))]
        assert not errors, (name, errors)


# ---- through the command line ------------------------------------------------------------------


def _run_cli_on(run_cli: Callable[..., Any], path: Path, data: bytes, *command: str) -> Any:
    path.write_bytes(data)
    result = run_cli(*command, str(path))
    assert result.code in (0, 1), (result.code, result.stderr)
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    if result.code == 1:
        assert re.search(r"error\[P\d{3}\]", result.stderr), result.stderr
    return result


@CLI_SETTINGS
@given(data=mutated_spec(), command=st.sampled_from(["check", "summary"]))
def test_cli_on_mutated_specs(run_cli: Callable[..., Any], tmp_path: Path, data: str, command: str) -> None:
    _run_cli_on(run_cli, tmp_path / "mutant.pn", data.encode("utf-8", errors="surrogatepass"), command)


@CLI_SETTINGS
@given(data=st.binary(max_size=300))
def test_cli_on_random_bytes(run_cli: Callable[..., Any], tmp_path: Path, data: bytes) -> None:
    _run_cli_on(run_cli, tmp_path / "bytes.pn", data, "check")


@CLI_SETTINGS
@given(text=word_soup())
def test_cli_on_random_notation(run_cli: Callable[..., Any], tmp_path: Path, text: str) -> None:
    _run_cli_on(run_cli, tmp_path / "soup.pn", text.encode("utf-8"), "check")


# ---- the harness, bench/fuzz.py: children in parallel, each input's layer count ----------


def _harness() -> Any:
    import importlib.util
    import sys

    path = Path(__file__).resolve().parent.parent / "bench" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("papernet_bench_fuzz", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_harness_reports_each_inputs_layer_count(tmp_path: Path) -> None:
    harness = _harness()
    # input, conv, the implicit flatten, FC: 4 layers; a spec with errors counts what it lowered
    # to; one refused whole (empty: SpecError) none
    outcome = harness.run_in_child("input 8x8x3\nconv3-8\nFC-10\n", ["check"], 60.0, 1024, tmp_path)
    assert outcome.crash is None and outcome.layers == 4
    broken = harness.run_in_child("input 8x8x3\nconv3-0 x\n", ["check"], 60.0, 1024, tmp_path)
    assert broken.crash is None and broken.layers == 1
    refused = harness.run_in_child("", ["check"], 60.0, 1024, tmp_path)
    assert refused.crash is None and refused.layers == 0
    big = harness.run_in_child("input 8x8x3\nrelu x10000\nrelu x2000\n", ["check"], 120.0, 1024, tmp_path)
    assert big.crash is None and big.layers == 12_001


def test_a_child_killed_after_lowering_keeps_its_layer_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    harness = _harness()

    def lowered_then_stuck(text: str, command: list[str], workdir: Path, counted: Any = None) -> Any:
        counted(7)
        time.sleep(20)

    monkeypatch.setattr(harness, "exercise", lowered_then_stuck)  # the forked child runs this
    killed = harness.run_in_child("input 8x8x3\n", ["check"], 1.0, 1024, tmp_path)
    assert killed.limit == "time" and killed.layers == 7


def test_a_spec_of_many_layers_has_time_in_proportion_before_it_is_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # beyond 10,000 layers the promise is time linear in layers, not a fixed limit: a child that has
    # counted 20,000 layers gets 20,000 × PER_LAYER_S more; past that it is still killed
    import time

    harness = _harness()
    assert harness.PER_LAYER_S * 100_000 > harness.TIME_LIMIT  # the allowance is what a large spec needs
    monkeypatch.setattr(harness, "PER_LAYER_S", 100e-6)  # the server reads it; a smaller one keeps this quick
    extra = 20_000 * harness.PER_LAYER_S

    def lowered_then_working(text: str, command: list[str], workdir: Path, counted: Any = None) -> Any:
        counted(20_000)
        time.sleep(1.0 + extra / 2 if text.startswith("input") else 60)
        return None, 20_000

    monkeypatch.setattr(harness, "exercise", lowered_then_working)
    finished = harness.run_in_child("input 8x8x3\n", ["check"], 1.0, 1024, tmp_path)
    assert finished.limit is None and finished.layers == 20_000 and finished.seconds > 1.0
    killed = harness.run_in_child("conv3-8\n", ["check"], 1.0, 1024, tmp_path)
    assert killed.limit == "time" and killed.layers == 20_000
    assert 1.0 + extra <= killed.seconds < 1.0 + extra + 5


def test_a_child_done_while_the_server_was_busy_is_timed_by_its_own_clock(tmp_path: Path) -> None:
    # the server minimizing a crash does not poll the other children: one that finished meanwhile
    # is neither charged the server's time nor reported as past the time limit
    import time

    harness = _harness()
    child = harness.start_child("input 8x8x3\nconv3-8\n", ["check"], 1.0, 1024, tmp_path)
    time.sleep(2.5)  # the server is busy past the child's deadline
    [(_, outcome)] = harness.wait_for_children({child.pipe: child})
    assert outcome.limit is None and outcome.crash is None and outcome.layers == 2
    assert outcome.seconds < 1.0


def test_parallel_jobs_run_the_same_inputs(tmp_path: Path) -> None:
    # a bounded run of the harness: no crash, and --jobs 2 runs the inputs --jobs 1 does
    harness = _harness()
    one = harness.fuzz(40, seed=3, out=tmp_path / "one", jobs=1, minimize_budget=20)
    two = harness.fuzz(40, seed=3, out=tmp_path / "two", jobs=2, minimize_budget=20)
    assert one.crashes == two.crashes == 0, one.summary() + "\n" + two.summary()
    assert one.inputs == two.inputs == len(one.timings) == 40
    assert sorted(t.layers or -1 for t in one.timings) == sorted(t.layers or -1 for t in two.timings)
    assert {t.sha1 for t in one.timings} == {t.sha1 for t in two.timings}
    assert any(t.layers for t in one.timings)
    rows = (tmp_path / "two" / "timings.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "layers,seconds,source,sha1" and len(rows) == 41
    assert {row.split(",")[2] for row in rows[1:]} <= {"generated", "mutated", "bomb"}
    split = two.slow_split()
    assert split["small_inputs"] + split["large_inputs"] + split["unknown_inputs"] == 40
    assert "among inputs of <= 10,000 layers" in two.summary() and "2 jobs at once" in two.summary()


def test_a_spec_refused_for_expanding_past_the_bound_counts_as_past_it(tmp_path: Path) -> None:
    # papernet lowers up to the bound before it knows (the estimate counts a row's layers, not the
    # activations they add): such a spec is one of many layers, not a small slow one
    harness = _harness()
    from papernet.lower import MAX_LAYERS

    past = "input 28x28\nconv3-8 paramsm 1\n[[maxpool, FC-3, 1x1 conv, 3] x10000] x3\n"  # a typo too
    verdict, layers = harness.exercise(past, ["check"], tmp_path)
    assert verdict is None and layers == MAX_LAYERS + 1
    assert harness.exercise("input 28x28\nconv3-8 paramsm 1\n", ["check"], tmp_path)[1] == 1  # the input


def test_seconds_per_layer_are_given_by_band_of_layer_counts() -> None:
    # time linear in layers shows as the same median rate in every band; here the last band is
    # twice as slow a layer, as a quadratic cost would make it. A spec refused past the bound (counted
    # as MAX_LAYERS + 1 layers, and quick) is counted apart, not as a fast large one
    from papernet.lower import MAX_LAYERS

    harness = _harness()
    assert harness.LAYER_BANDS[-1][1] == MAX_LAYERS
    runs = [(20_000, 2.0), (25_000, 2.5), (40_000, 4.0), (80_000, 16.0), (500, 0.1), (MAX_LAYERS + 1, 0.01)]
    report = harness.Report(timings=[harness.Timing(n, t, "generated", "") for n, t in runs])
    split = report.slow_split()
    bands = split["large_median_s_per_1k_layers_by_band"]
    assert bands == {"10,001-30,000": [2, 0.1], "30,001-60,000": [1, 0.1], "60,001-100,000": [1, 0.2]}
    assert split["large_refused_past_the_bound"] == 1
    assert "60,001-100,000 layers: 1 input, median 0.200 s per 1,000" in report.summary()
    assert "refused past the bound: 1" in report.summary()
