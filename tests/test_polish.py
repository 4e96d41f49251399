"""Rough edges a newcomer meets in the first ten minutes (issue 11, polish): the table's width,
reprs, missing Keras, shipped spec names, exit codes, TensorFlow's noise, did-you-mean.

Expected figures come from the reports' own rows only where the test is about rendering (the
table must show what the report holds, whole); the rules themselves are written out here.
"""

from __future__ import annotations

import re
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


# ---- 3. without Keras: papernet's error, with the install hint ----------------------------

TINY = "input 8x8x1\nconv3-2 padding same\nflatten\nFC-2\nsoftmax\n"


@pytest.fixture
def keras_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if Keras (and TensorFlow, its backend) were not installed: `import keras` fails."""
    for name in ("keras", "tensorflow"):
        monkeypatch.setitem(__import__("sys").modules, name, None)


def test_to_keras_without_keras_raises_papernets_error(keras_missing: None) -> None:
    with pytest.raises(papernet.KerasNotInstalled, match=re.escape("pip install 'papernet[keras]'")):
        papernet.parse(TINY).to_keras()
    with pytest.raises(ImportError):  # still an ImportError, for code that catches that
        papernet.parse(TINY).to_keras()


@pytest.mark.parametrize("args", [["import-keras", "keras:VGG16"], ["check", "vgg16", "--against", "keras:VGG16"]])
def test_reading_a_keras_model_without_keras_is_a_usage_error_with_the_hint(
    args: list[str], keras_missing: None, run_cli: Any
) -> None:
    result = run_cli(*args)
    assert result.code == 2
    assert "needs Keras: pip install 'papernet[keras]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_to_source_needs_no_keras(keras_missing: None) -> None:
    assert "import keras" in papernet.parse(TINY).to_source()


@pytest.mark.parametrize("command", ["build", "train"])
def test_commands_without_keras_are_a_usage_error_with_the_hint(
    command: str, keras_missing: None, run_cli: Any, tmp_path: Path
) -> None:
    spec = tmp_path / "tiny.pn"
    spec.write_text(TINY, encoding="utf-8")
    args = ["-o", str(tmp_path / "tiny.keras")] if command == "build" else ["--synthetic", "4"]
    result = run_cli(command, str(spec), *args)
    assert result.code == 2
    assert f"papernet {command} needs Keras 3" in result.stderr and "pip install 'papernet[keras]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "tiny.keras").exists()


# ---- 5. one rule for exit codes: 0 clean, 1 the spec has errors, 2 usage ------------------
# TINY's conv has 3·3·1·2 + 2 = 20 parameters: a claim of 99 is wrong, the architecture sound.

SPECS = {
    "clean": TINY,
    "claim": TINY.replace("conv3-2 padding same", "conv3-2 padding same  params 99"),
    "shape": TINY.replace("conv3-2 padding same", "conv9-2 padding valid"),  # a 9×9 kernel on 8×8
    "syntax": TINY.replace("conv3-2 padding same", "conv3-2 padding sideways"),
}
EXPECTED_CODE = {"clean": 0, "claim": 1, "shape": 1, "syntax": 1}
BUILDS = ("compile", "build", "train")  # a wrong claim is their warning, not their error


def command_args(command: str, tmp_path: Path) -> list[str]:
    return {
        "check": [],
        "summary": [],
        "compile": ["-o", str(tmp_path / "out.py")],
        "build": ["-o", str(tmp_path / "out.keras")],
        "train": ["--synthetic", "4", "--epochs", "1", "--batch-size", "2", "--output", str(tmp_path / "run")],
    }[command]


OUTPUT = {"compile": "out.py", "build": "out.keras", "train": "run/model.keras"}


@pytest.mark.parametrize("case", sorted(SPECS))
@pytest.mark.parametrize("command", ["check", "summary", "compile", "build", "train"])
def test_exit_codes_are_the_same_rule_for_every_command(command: str, case: str, run_cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "tiny.pn"
    spec.write_text(SPECS[case], encoding="utf-8")
    result = run_cli(command, str(spec), *command_args(command, tmp_path))
    expected = 0 if case == "claim" and command in BUILDS else EXPECTED_CODE[case]
    assert result.code == expected, result.stderr
    if case == "claim":
        assert ("warning[P302]" if command in BUILDS else "error[P302]") in result.stderr, result.stderr
    errors = result.stderr.count("error[")
    assert (errors > 0) == (result.code == 1), result.stderr  # exit 1 exactly when an error is printed
    if command in OUTPUT:
        # a wrong claim leaves the network defined: the output is made; errors stop it
        assert (tmp_path / OUTPUT[command]).exists() == (case in ("clean", "claim")), result.stderr


@pytest.mark.parametrize("command", ["check", "summary", "compile", "build", "train"])
def test_usage_errors_exit_2_on_every_command(command: str, run_cli: Any, tmp_path: Path) -> None:
    missing = run_cli(command, str(tmp_path / "no-such.pn"), *command_args(command, tmp_path))
    assert missing.code == 2 and "no spec file" in missing.stderr, missing.stderr
    misspelt = run_cli(command, "vgg11", "--fromat", "json", *command_args(command, tmp_path))
    assert misspelt.code == 2 and "unrecognized arguments: --fromat" in misspelt.stderr


def test_import_table_and_specs_follow_the_rule(run_cli: Any, tmp_path: Path) -> None:
    assert run_cli("specs").code == 0
    assert run_cli("import-table", str(ROOT / "tests" / "tables" / "vgg16.csv")).code == 0
    assert run_cli("import-table", str(tmp_path / "none.csv")).code == 2
    bad = tmp_path / "bad.md"
    bad.write_text("no table here\n", encoding="utf-8")
    result = run_cli("import-table", str(bad))
    assert result.code == 1 and "error[P5" in result.stderr, result.stderr


# ---- 6. TensorFlow's start-up lines are not shown by papernet's commands ---------------------


def papernet_process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    """`python -m papernet ARGS` in a fresh process (TensorFlow not yet loaded), this checkout first."""
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")])
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "papernet", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("command", ["build", "train"])
def test_commands_do_not_show_tensorflows_start_up_lines(command: str, tmp_path: Path) -> None:
    spec = tmp_path / "tiny.pn"
    spec.write_text(TINY, encoding="utf-8")
    result = papernet_process(command, str(spec), *command_args(command, tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for notice in ("absl::InitializeLog", "oneDNN", "cpu_feature_guard", "rebuild TensorFlow"):
        assert notice not in result.stderr, result.stderr
    if command == "build":
        # conv 3·3·1·2 + 2 = 20, then FC (8·8·2)·2 + 2 = 258: 278 in all, and nothing else said
        assert result.stderr == f"{tmp_path / 'out.keras'}: 278 parameters\n"


@pytest.mark.parametrize("command", ["import-keras", "check --against"])
def test_commands_that_read_a_keras_model_do_not_show_tensorflows_start_up_lines(command: str, tmp_path: Path) -> None:
    args = (
        ["import-keras", "keras:MobileNet"]
        if command == "import-keras"
        else ["check", "vgg16", "--against", "keras:VGG16"]
    )
    result = papernet_process(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for notice in ("absl::InitializeLog", "oneDNN", "cpu_feature_guard", "rebuild TensorFlow"):
        assert notice not in result.stderr, result.stderr


# ---- 2. reprs, strs and notebook HTML -----------------------------------------------------


def cli_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    """`papernet ARGS` in-process, from `tmp_path` (outside the checkout)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from papernet.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLUMNS", raising=False)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code) if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def test_network_repr_is_one_short_line() -> None:
    # VGG-16 (D): input, 13 convs, 5 pools, flatten, 3 FCs = 23 rows; Keras's VGG16 has 138,357,544 params
    text = repr(papernet.load("vgg16"))
    assert text == "<Network 'VGG-16' from vgg16: 23 layers, input 224×224×3, 138,357,544 parameters, no problems>"
    assert "errors" in repr(papernet.load("googlenet"))


def test_network_prints_as_the_summary_command_and_renders_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = papernet.load("resnet18")
    code, stdout, _ = cli_in(tmp_path, monkeypatch, "summary", "resnet18")
    assert code == 0 and str(net) == stdout
    assert net._repr_html_().startswith("<") and "<table" in net._repr_html_()


def test_diagnostics_are_a_list_that_prints_as_check_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = papernet.load("googlenet").check()
    assert isinstance(found, list) and found == list(found) and len(found) == len(list(found))
    assert [d.code for d in found[:2]] == [found[0].code, found[1].code]
    code, _, stderr = cli_in(tmp_path, monkeypatch, "check", "googlenet")
    assert code == 1 and stderr.startswith(str(found) + "\n\n"), stderr[:300]
    assert stderr.endswith(f"googlenet: {len(found.errors)} errors\n")
    short = repr(found)
    assert len(short) < 120 and short.startswith(f"<Diagnostics: {len(found.errors)} errors")
    assert "googlenet:12" in short
    html = found._repr_html_()
    assert html.startswith("<pre") and "error[P302]" in html and "->" not in html  # `->` escaped
    assert repr(papernet.load("vgg16").check()) == "<Diagnostics: no problems>"


def test_one_diagnostic_is_short_too() -> None:
    error = papernet.load("googlenet").check().errors[0]
    assert repr(error).startswith("<Diagnostic error[P302] at googlenet:12:54: ") and len(repr(error)) < 120
    assert str(error).startswith("googlenet:12:54: error[P302]: ") and "= help:" in str(error)


def test_reconciliation_prints_as_check_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reconciliation = papernet.load("googlenet").reconcile()
    _, stdout, _ = cli_in(tmp_path, monkeypatch, "check", "googlenet")
    assert str(reconciliation).splitlines()[1:] == stdout.splitlines()[1:]  # all but the title line
    assert repr(reconciliation) == f"<Reconciliation: {reconciliation.verdict()}>"
    assert reconciliation._repr_html_().startswith('<pre class="papernet-reconciliation">')


# ---- 4. shipped specs by name, and the README's examples outside the checkout --------------


def test_shipped_specs_are_cited_by_name_never_by_a_checkout_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, stdout, stderr = cli_in(tmp_path, monkeypatch, "check", "googlenet")
    assert code == 1 and "googlenet:12:54: error[P302]" in stderr
    assert "specs/" not in stdout + stderr
    checkout_path = re.compile(r"specs/\w+\.pn")
    for name in shipped_specs():
        source = papernet.load(name).to_source()
        assert not checkout_path.search(source), name
        assert f"# {name}:" in source or name == "vgg11_regression"
    derived = papernet.load("vgg11_regression").to_source()  # `from vgg11`: both cited by name
    assert "# vgg11_regression:" in derived and "# vgg11:12: conv3-64" in derived


def test_a_spec_beside_the_user_that_starts_from_a_shipped_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine.pn").write_text("from vgg11\nclasses 10\n", encoding="utf-8")
    code, stdout, stderr = cli_in(tmp_path, monkeypatch, "compile", "mine.pn")
    assert code == 0, stderr
    assert "# vgg11:12: conv3-64" in stdout and "# mine.pn:2: classes 10" in stdout


def test_spec_names_in_any_case_and_did_you_mean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert papernet.load("VGG16").file == "vgg16"
    code, stdout, _ = cli_in(tmp_path, monkeypatch, "check", "VGG16")
    assert code == 0 and stdout.splitlines()[-1].startswith("vgg16: ok: 23 layers")
    for typed, meant in (("vgg-16", "vgg16"), ("ResNet-50", "resnet50"), ("googlenett", "googlenet")):
        code, _, stderr = cli_in(tmp_path, monkeypatch, "summary", typed)
        assert code == 2 and f"did you mean '{meant}'?" in stderr, stderr
        with pytest.raises(papernet.SpecNotFound, match=f"did you mean '{meant}'"):
            papernet.load(typed)
    code, _, stderr = cli_in(tmp_path, monkeypatch, "summary", "transformer")
    assert code == 2 and "did you mean" not in stderr and "shipped: alexnet" in stderr


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["summary", "vgg16", "--fromat", "json"], "did you mean --format?"),
        (["summary", "vgg16", "--depht", "2"], "did you mean --depth?"),
        (["sumary", "vgg16"], "did you mean 'summary'?"),
        (["check", "vgg16", "--format", "jsno"], "did you mean 'json'?"),
    ],
)
def test_misspelt_options_and_commands_get_a_suggestion(
    argv: list[str], hint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, stderr = cli_in(tmp_path, monkeypatch, *argv)
    assert code == 2 and hint in stderr, stderr


def readme_blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_readme_python_examples_run_outside_the_checkout(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = "\n\n".join(readme_blocks("python"))
    assert "papernet.load(" in script and "specs/" not in script
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_readme_command_examples_on_shipped_specs_run_outside_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = set(shipped_specs())
    ran = 0
    for block in readme_blocks("console"):
        for line in block.splitlines():
            words = line.split("#")[0].split()
            if words[:2] and words[0] == "$" and words[1] == "papernet" and len(words) > 3:
                command, spec = words[2], words[3]
                if command in ("check", "summary", "compile") and spec in names and "--against" not in words:
                    code, _, stderr = cli_in(tmp_path, monkeypatch, *words[2:])
                    assert code == (1 if spec == "googlenet" and command != "compile" else 0), (line, stderr[-500:])
                    ran += 1
    assert ran >= 5
