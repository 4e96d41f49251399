"""The source backend: generated Keras code is stable, clean, safe and builds the live model.

Golden files: tests/golden/source/<spec>.py (the generated module) and
tests/golden/summary/<spec>.{txt,json,md,csv} (the report formats). Regenerate with
`pytest --update-golden` and review the diff.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import fields
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest
from networks import EVERY_LAYER, built_once

import papernet
from papernet.report import Row
from papernet.resources import data_dir, shipped_specs

SPECS = sorted(shipped_specs())

NETWORKS: dict[str, Callable[[], papernet.Network]] = {
    **{name: partial(papernet.load, name) for name in SPECS},
    "every_layer": partial(papernet.parse, EVERY_LAYER, "every_layer.pn"),
}


@cache
def generated(name: str) -> str:
    return NETWORKS[name]().to_source()


def portable(source: str) -> str:
    """The source with the machine's specs directory masked, so golden files hold in any checkout."""
    return source.replace(str(data_dir("specs")) + os.sep, "<specs dir>/")


def build_function(source: str) -> str:
    """The name of the module's one top-level `build_…` function."""
    names = [
        node.name
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("build_")
    ]
    assert len(names) == 1, names
    return names[0]


def ruff(*args: str, source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", "--isolated", "--stdin-filename", "generated.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )


# ---- golden, compile, lint, determinism -------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
def test_source_matches_golden(name: str, golden: Any) -> None:
    golden.check(f"source/{name}.py", portable(generated(name)))


@pytest.mark.parametrize("name", NETWORKS)
def test_source_compiles(name: str) -> None:
    code = compile(generated(name), f"{name}.py", "exec")
    assert code.co_filename == f"{name}.py"


@pytest.mark.parametrize("name", NETWORKS)
def test_source_passes_ruff_check(name: str) -> None:
    result = ruff("check", source=generated(name))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", NETWORKS)
def test_source_is_ruff_formatted(name: str) -> None:
    """Generated code is written for a line length of 88, ruff's default; ruff leaves it alone."""
    result = ruff("format", "--check", "--diff", source=generated(name))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", NETWORKS)
def test_source_is_deterministic(name: str) -> None:
    first = NETWORKS[name]().to_source()
    second = NETWORKS[name]().to_source()
    net = NETWORKS[name]()
    assert first.encode() == second.encode()
    assert net.to_source().encode() == net.to_source().encode() == first.encode()


def test_source_is_the_same_in_other_processes() -> None:
    """Same bytes whatever the hash seed (no set or dict order leaks into the output)."""
    script = (
        "import json, papernet\n"
        "from papernet.resources import shipped_specs\n"
        "print(json.dumps({n: papernet.load(n).to_source() for n in sorted(shipped_specs())}))\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {name: generated(name) for name in SPECS}


@pytest.mark.parametrize("name", NETWORKS)
def test_source_does_not_depend_on_where_papernet_is_installed(name: str) -> None:
    """Citations name spec files as the user would (`specs/vgg11.pn`), never by absolute path."""
    source = generated(name)
    assert str(data_dir("specs")) not in source
    cited = re.findall(r"^\s*# (.+?):\d+: ", source, flags=re.MULTILINE)
    assert cited, "the generated code cites no spec lines"
    absolute = sorted({file for file in cited if Path(file).is_absolute()})
    assert not absolute, f"absolute paths in the generated code: {absolute}"


SCRIPT_FUNCTIONS = ["compile_model", "schedule", "examples", "synthetic", "distribution", "main"]
"""The functions after the build function: the training set-up, the data and the command line."""


@pytest.mark.parametrize("name", NETWORKS)
def test_source_module_layout(name: str) -> None:
    """Module docstring, imports, papernet's own layers, `weights()` where the spec states an
    initialiser or weight decay, one helper per block structure, the build function, the script's
    functions, and a __main__ guard; nothing else at top level."""
    source = generated(name)
    tree = ast.parse(source)
    kinds = [type(node).__name__ for node in tree.body]
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    # the third-party imports sit in one `try` whose handler names the packages to install
    guards = [node for node in tree.body if isinstance(node, ast.Try)]
    assert len(guards) == 1
    imports += [node for node in guards[0].body if isinstance(node, ast.Import | ast.ImportFrom)]
    custom = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert functions[-len(SCRIPT_FUNCTIONS) :] == SCRIPT_FUNCTIONS
    assert functions[-len(SCRIPT_FUNCTIONS) - 1] == build_function(source)
    helpers = functions[: -len(SCRIPT_FUNCTIONS) - 1]
    weighted = bool(NETWORKS[name]().training().stated & {"init", "weight_decay"})
    assert (helpers[:1] == ["weights"]) == weighted
    assert len(set(helpers)) == len(helpers)
    # only papernet's own layers (papernet/backends/layers.py), each copied in once, by name
    assert len(set(custom)) == len(custom)
    assert set(custom) <= {"LocalResponseNormalization", "ZeroPaddedShortcut"}
    expected = [
        "Expr",
        *(type(node).__name__ for node in imports[: len(imports) - len(guards[0].body)]),
        "Try",
        *(["ClassDef"] * len(custom)),
        *(["FunctionDef"] * len(functions)),
        "If",
    ]
    assert kinds == expected
    imported = {alias.asname or alias.name for node in imports for alias in node.names}
    assert imported <= {"argparse", "math", "os", "sys", "keras", "np", "layers", "ops"}
    assert ast.get_docstring(tree) is not None
    net = NETWORKS[name]()
    assert ast.get_docstring(tree).startswith(f"{net.name}: generated by papernet")  # type: ignore[union-attr]
    assert build_function(source) == f"build_{re.sub(r'[^a-z0-9]+', '_', net.name.lower()).strip('_')}"


# ---- generated code builds the live model --------------------------------------------------


def measure(model: Any) -> tuple[int, list[tuple[str, str, tuple[int | None, ...], int]]]:
    layers = [
        (layer.name, type(layer).__name__, tuple(layer.output.shape), layer.count_params()) for layer in model.layers
    ]
    return model.count_params(), layers


@pytest.fixture(scope="module")
def keras() -> Iterator[Any]:
    keras = pytest.importorskip("keras")
    registered = dict(keras.saving.get_custom_objects())
    yield keras
    # executing generated code re-registers its LocalResponseNormalization; put papernet's back
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(registered)
    keras.backend.clear_session()


def execute(source: str, filename: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "papernet_generated"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def built(keras: Any) -> Callable[[str, str], Any]:
    """`built(name, "live")` or `built(name, "source")`: the measured model, built once."""
    once = built_once(measure)

    def from_source(name: str) -> Any:
        source = generated(name)
        return execute(source, f"{name}.py")[build_function(source)]()

    def get(name: str, backend: str) -> Any:
        if backend == "live":
            return once((name, backend), lambda: NETWORKS[name]().to_keras())
        return once((name, backend), lambda: from_source(name))

    return get


@pytest.mark.parametrize("name", NETWORKS)
def test_executed_source_builds_the_live_model(name: str, built: Callable[[str, str], Any]) -> None:
    source_total, source_layers = built(name, "source")
    live_total, live_layers = built(name, "live")
    assert source_total == live_total
    assert [layer[0] for layer in source_layers] == [layer[0] for layer in live_layers]
    mismatches = [f"{a} vs {b}" for a, b in zip(source_layers, live_layers, strict=True) if a != b]
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("name", NETWORKS)
def test_docstring_states_the_parameter_count(name: str, built: Callable[[str, str], Any]) -> None:
    total, _ = built(name, "source")
    source = generated(name)
    function = next(node for node in ast.parse(source).body if getattr(node, "name", "") == build_function(source))
    assert f"{total:,} parameters" in (ast.get_docstring(function) or "")


# ---- hostile text in a spec cannot become code ----------------------------------------------

LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
INVISIBLE = "\x00\u202e\u2066\u200b"
BODY = "input 8x8x1\nconv3-4 padding same\nFC-2, softmax\n"


def hostile_titles(marker: Path) -> list[str]:
    payload = f'open("{marker}", "w").close()'
    return [
        f'network \'x"""; {payload} #\'',
        f'network x""" + {payload} + """',
        f"network \\'); {payload}; (\\'",
        f"network 'nul\x00{payload}'",
        'network "ends with a backslash \\"',
        "network '{__import__(\"os\").getcwd()} %s %(x)s'",
        f"network 'a\u2028{payload}\u2029b\x0c\x0bc\x85d\u202eé'",
    ]


def hostile_spec(title_line: str, marker: Path) -> str:
    comment = f'# \u2028{{open("{marker}", "w")}}\u2029 \x85 \x0c \x00 """ \'\'\' \u202e'
    return f"{title_line}\n{comment}\ninput 8x8x1  {comment}\nconv3-4 padding same  {comment}\nFC-2, softmax\n"


def skeleton(source: str) -> str:
    """The module's syntax tree with every string literal blanked and the build function renamed."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("build_"):
            node.name = "build_"
        elif isinstance(node, ast.Name) and node.id.startswith("build_"):
            node.id = "build_"
    return ast.dump(tree)


def string_literals(source: str) -> list[str]:
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


@pytest.mark.parametrize("case", range(len(hostile_titles(Path("pwned")))))
def test_a_hostile_title_stays_a_string(case: int, tmp_path: Path, keras: Any) -> None:
    marker = tmp_path / "pwned"
    title_line = hostile_titles(marker)[case]
    net = papernet.parse(hostile_spec(title_line, marker))
    benign = papernet.parse('network "benign"\n' + BODY)
    source = net.to_source()

    compile(source, "hostile.py", "exec")
    assert skeleton(source) == skeleton(benign.to_source()), "spec text changed the code, not just its strings"
    assert any(net.name in literal for literal in string_literals(source)), "the title did not survive as data"
    assert not any(char in source for char in LINE_BREAKS + INVISIBLE), "an invisible or line-breaking character"
    assert source.splitlines() == source.split("\n")[:-1]

    function = build_function(source)
    assert re.fullmatch(r"build_[a-z0-9_]+", function), function
    namespace = execute(source, "hostile.py")
    imported = {"argparse", "os", "sys", "keras", "np", "layers"}
    assert set(namespace) == {"__builtins__", "__doc__", "__name__", *imported, *SCRIPT_FUNCTIONS, function}
    assert net.name in namespace["__doc__"]
    model = namespace[function]()
    try:
        assert model.count_params() == (3 * 3 * 1 * 4 + 4) + (8 * 8 * 4 * 2 + 2)
    finally:
        del model
        keras.backend.clear_session()
    assert not marker.exists(), "code from the spec ran"


def test_a_hostile_file_name_stays_a_string(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    file = f'evil"""\nopen("{marker}", "w").close()\n#\u2028.pn'
    net = papernet.parse(BODY, file=file)
    source = net.to_source()
    benign = papernet.parse(BODY, file="benign.pn").to_source()
    assert skeleton(source) == skeleton(benign)
    assert not any(char in source for char in LINE_BREAKS + INVISIBLE)
    assert source.splitlines() == source.split("\n")[:-1]
    execute(source, "hostile.py")
    assert not marker.exists()


# ---- the generated module is a training script ---------------------------------------------

TINY = """\
network "tiny"
input 8x8x1
conv3-4 padding same, maxpool 2x2/2
FC-8
FC-3, softmax
train:
  sgd with momentum 0.9, learning rate 0.05, divided by 2 every 1 epochs
  batch 4, epochs 2
  dropout 0.25
  init he
"""


@pytest.fixture(scope="module")
def tiny_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("script") / "tiny.py"
    path.write_text(papernet.parse(TINY, "tiny.pn").to_source(), encoding="utf-8")
    return path


def run_script(path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
        cwd=path.parent,
    )


@pytest.mark.parametrize("distribute", [[], ["--distribute", "mirrored"]], ids=["default", "mirrored"])
def test_the_generated_script_trains_and_saves_the_model(
    tiny_script: Path, tmp_path: Path, distribute: list[str]
) -> None:
    output = tmp_path / "trained"
    result = run_script(tiny_script, "--synthetic", "8", "--epochs", "1", "--output", str(output), *distribute)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (output / "model.keras").is_file()
    # the batch is the global one, split across replicas; one CPU (or GPU) is one replica
    assert "global batch 4 = 4 x 1 replicas" in result.stdout
    assert f"saved {output / 'model.keras'}" in result.stdout


BLOCK_KERAS = """
import runpy, sys
from importlib.abc import MetaPathFinder

class NoKeras(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "keras" or name.startswith("keras."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoKeras())
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_the_generated_script_without_keras_says_what_to_install(tiny_script: Path) -> None:
    """Where Keras cannot be imported, the script exits with the missing module and the install
    line, not a ModuleNotFoundError traceback."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_KERAS, str(tiny_script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip() == (
        "No module named 'keras'; this model needs Keras 3 and a backend: pip install keras tensorflow"
    )
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_the_generated_script_without_arguments_prints_the_summary(tiny_script: Path) -> None:
    result = run_script(tiny_script)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tiny" in result.stdout and "fc2" in result.stdout and "fc1_dropout" in result.stdout
    assert not list(tiny_script.parent.glob("*.keras")), "the summary path saved a model"


def script_main(tiny_script: Path, keras: Any) -> Any:
    return execute(tiny_script.read_text(encoding="utf-8"), str(tiny_script))["main"]


def test_the_generated_script_rejects_data_of_the_wrong_shape(
    tiny_script: Path, tmp_path: Path, keras: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    np.save(tmp_path / "x.npy", np.zeros((5, 8, 8, 3), dtype="float32"))  # 3 channels; the model takes 1
    np.save(tmp_path / "y.npy", np.zeros(5, dtype="int64"))
    main = script_main(tiny_script, keras)
    code = main(["--data", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--output", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'x.npy'}: examples of shape (8, 8, 3) not (8, 8, 1)" in error
    assert not (tmp_path / "model.keras").exists()


def test_the_generated_script_takes_class_ids_and_checks_the_count(
    tiny_script: Path, tmp_path: Path, keras: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    np.save(tmp_path / "x.npy", np.zeros((5, 8, 8, 1), dtype="float32"))
    np.save(tmp_path / "y.npy", np.array([0, 2, 1, 1], dtype="int64"))  # class ids, one-hot encoded; one short
    main = script_main(tiny_script, keras)
    assert main(["--data", str(tmp_path / "x.npy"), str(tmp_path / "y.npy")]) == 2
    assert "5 inputs but 4 targets" in capsys.readouterr().err


def test_the_generated_script_needs_tf_config_for_multiworker(
    tiny_script: Path, keras: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    main = script_main(tiny_script, keras)
    assert main(["--synthetic", "4", "--distribute", "multiworker"]) == 2
    assert "needs TF_CONFIG" in capsys.readouterr().err


# ---- summaries ------------------------------------------------------------------------------

SUMMARY_FORMATS = {"txt": "to_text", "json": "to_json", "md": "to_markdown", "csv": "to_csv"}


@pytest.mark.parametrize("name", ["vgg16", "alexnet"])
@pytest.mark.parametrize("extension", sorted(SUMMARY_FORMATS))
def test_summary_matches_golden(name: str, extension: str, golden: Any) -> None:
    report = papernet.load(name).summary()
    golden.check(f"summary/{name}.{extension}", getattr(report, SUMMARY_FORMATS[extension])())


DOCUMENTED_TOP = {"network", "input", "convention", "layers", "total"}
DOCUMENTED_LAYER = {
    "name",
    "kind",
    "line",
    "output_shape",
    "params",
    "trainable_params",
    "macs",
    "activations",
    "receptive_field",
    "effective_stride",
    "assumed",
}
DOCUMENTED_TOTAL = {"params", "trainable_params", "macs", "activations"}
EXTRA_LAYER_KEYS = {"layer", "notes", "block"}
"""Not in DESIGN.md's schema, but fields of `papernet.report.Row` (the paper's notation, notes)."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@pytest.mark.parametrize("name", SPECS)
def test_summary_json_has_the_documented_shape(name: str) -> None:
    report = json.loads(papernet.load(name).summary().to_json())
    assert set(report) == DOCUMENTED_TOP
    assert isinstance(report["network"], str) and report["network"]
    assert report["convention"] == "keras"
    assert isinstance(report["input"], list) and len(report["input"]) == 3
    assert all(_is_int(size) and size > 0 for size in report["input"])
    assert {field.name for field in fields(Row)} >= EXTRA_LAYER_KEYS
    assert isinstance(report["layers"], list) and report["layers"]
    for row in report["layers"]:
        assert set(row) - DOCUMENTED_LAYER <= EXTRA_LAYER_KEYS, sorted(set(row) - DOCUMENTED_LAYER)
        assert set(row) >= DOCUMENTED_LAYER, sorted(DOCUMENTED_LAYER - set(row))
        assert isinstance(row["name"], str) and isinstance(row["kind"], str)
        assert _is_int(row["line"]) and row["line"] >= 1
        assert isinstance(row["output_shape"], list) and all(_is_int(size) for size in row["output_shape"])
        for key in ("params", "trainable_params", "macs", "activations", "receptive_field", "effective_stride"):
            assert _is_int(row[key]) and row[key] >= 0, (row["name"], key, row[key])
        assert row["trainable_params"] <= row["params"]
        # what a forward pass stores (cs231n's memory): in-place and view layers store nothing
        in_place = row["kind"] in ("activation", "dropout", "drop_path", "batchnorm", "flatten", "reshape")
        assert row["activations"] == (0 if in_place else math.prod(row["output_shape"]))
        assert isinstance(row["assumed"], list) and all(isinstance(a, str) for a in row["assumed"])
    assert report["layers"][0]["output_shape"] == report["input"]
    assert set(report["total"]) == DOCUMENTED_TOTAL
    for key in DOCUMENTED_TOTAL:
        assert report["total"][key] == sum(row[key] for row in report["layers"]), key


def test_summary_json_on_the_command_line_is_the_api_report(run_cli: Any) -> None:
    result = run_cli("summary", "vgg16", "--format", "json")
    assert result.code == 0, result.stderr
    assert result.stdout == papernet.load("vgg16").summary().to_json()
