"""`papernet import-table`: a table pasted from a paper becomes a spec whose claims are the table's.

The GoogLeNet table is tests/tables/googlenet_table1.md, a copy of the one in
../shared/reference/README.md (a test compares them where ../shared exists); what it must import to is fixed by the
hand-written specs/googlenet.pn: the same layers, so the same parameters and multiply-adds,
and the same claim mismatches. The VGG-16 table (tests/tables/vgg16.csv) was written by hand
from the paper, with per-layer parameter counts worked out by hand; its total is the one
keras.applications.VGG16 reports (138,357,544, from the reference README).

Every table that cannot be read gets a P5xx diagnostic at the cell or line at fault, exit 1, no
traceback, and no output file. Error tables are written to a temporary working directory so the
file names in stderr (and in the golden files, tests/golden/import_table/) are short and stable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import papernet
from papernet.diagnostics import SpecError
from papernet.tables import import_table

RunCli = Callable[..., Any]

ROOT = Path(__file__).resolve().parent.parent
TABLES = Path(__file__).resolve().parent / "tables"
REFERENCE = ROOT.parent / "shared" / "reference" / "README.md"
GOOGLENET_HEADING = "## GoogLeNet (Szegedy et al. 2015), Table 1 as printed"
SAME_PADDING = "\ndefaults:\n  conv: padding same\n  maxpool: padding same\n"
VGG16_PARAMS = 138_357_544  # keras.applications.VGG16(weights=None).count_params(), reference README


def googlenet_table() -> str:
    """The GoogLeNet Table 1 as the reference README prints it (a copy in tests/tables, so the
    suite runs in a checkout without ../shared; `test_the_table_file_is_the_readme_table`)."""
    return (TABLES / "googlenet_table1.md").read_text(encoding="utf-8")


def readme_table() -> str:
    """The README's GoogLeNet section, from its heading to the first blank line after the table."""
    if not REFERENCE.exists():
        pytest.skip(f"no reference README at {REFERENCE}")
    lines = REFERENCE.read_text(encoding="utf-8").split("\n")
    start = lines.index(GOOGLENET_HEADING)
    first_row = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    end = next(i for i in range(first_row, len(lines)) if not lines[i].strip())
    return "\n".join(lines[start:end]) + "\n"


def with_defaults(spec: str, defaults: str = SAME_PADDING) -> str:
    """The spec with a `defaults:` section after its `input` line."""
    return re.sub(r"^(input .*)$", lambda m: m.group(1) + "\n" + defaults, spec, count=1, flags=re.M)


def body(spec: str) -> str:
    """The spec without its first line, which names the file it came from."""
    return spec.split("\n", 1)[1]


@pytest.fixture(scope="module")
def googlenet_spec() -> str:
    return import_table(googlenet_table(), "tests/tables/googlenet_table1.md")


# ---- GoogLeNet, Table 1 -------------------------------------------------------------


def test_the_table_file_is_the_readme_table() -> None:
    assert googlenet_table() == readme_table()


def test_googlenet_golden(googlenet_spec: str, golden: Any) -> None:
    golden.check("import_table/googlenet.pn", googlenet_spec)


def test_googlenet_reads_like_the_hand_written_spec(googlenet_spec: str) -> None:
    """Line for line, layer and claims, the spec a person wrote from the same table."""

    def claim_lines(spec: str) -> list[list[str]]:
        return [line.split("#")[0].split() for line in spec.split("\n") if "-> " in line]

    hand = (ROOT / "specs" / "googlenet.pn").read_text(encoding="utf-8")
    assert claim_lines(googlenet_spec) == claim_lines(hand)
    assert len(claim_lines(googlenet_spec)) == 19
    assert "defaults" not in googlenet_spec


def test_googlenet_input_is_inferred_from_the_first_conv(googlenet_spec: str) -> None:
    assert "\ninput 224×224×3\n" in googlenet_spec
    assert "# input 224×224×3 inferred from row 1: 112×112 output × stride 2; pass --input" in googlenet_spec
    net = papernet.parse(googlenet_spec)
    assert net.infer().layers[0].shape == (224, 224, 3)


def test_googlenet_parses_and_only_shapes_and_claims_are_questioned(googlenet_spec: str) -> None:
    net = papernet.parse(googlenet_spec, "googlenet_table1.pn")
    found = net.check()
    assert found, "the printed table is not consistent with its own channel columns"
    assert {d.code[:2] for d in found} <= {"P2", "P3"}, [d.code for d in found]


def test_googlenet_imports_and_checks_without_hand_editing(googlenet_spec: str) -> None:
    """As imported, with no padding written: the check infers it from the output sizes, every
    output size holds, and the params and ops figures are judged as for the hand-written spec."""
    imported = papernet.parse(googlenet_spec, "imported.pn")
    hand = papernet.load("googlenet")
    outputs = [r for r in imported.reconcile().rows if r.quantity == "output"]
    # 19 rows with an output size; FC-1000 and the softmax after it become one Keras layer, one row
    assert len(outputs) == 18 and all(r.verdict == "holds" for r in outputs)
    assert [r.verdict for r in imported.reconcile().rows] == [r.verdict for r in hand.reconcile().rows]
    assert (imported.infer().total_params, imported.infer().total_macs) == (
        hand.infer().total_params,
        hand.infer().total_macs,
    )


def test_googlenet_with_same_padding_has_the_figures_of_the_hand_written_spec(googlenet_spec: str) -> None:
    imported = papernet.parse(with_defaults(googlenet_spec), "imported.pn")
    hand = papernet.load("googlenet")
    ours, theirs = imported.infer(), hand.infer()
    assert [(layer.params, layer.macs) for layer in ours.layers] == [
        (layer.params, layer.macs) for layer in theirs.layers
    ]
    assert (ours.total_params, ours.total_macs) == (theirs.total_params, theirs.total_macs)

    def claim_messages(net: papernet.Network) -> list[tuple[str, str, str]]:
        return [(d.code, d.severity.value, d.message) for d in net.check() if d.code in ("P302", "P303")]

    assert claim_messages(imported) == claim_messages(hand)
    assert claim_messages(imported), "the printed figures do not all fit the channel columns"


def test_googlenet_csv_gives_the_same_spec(googlenet_spec: str) -> None:
    text = (TABLES / "googlenet_table1.csv").read_text(encoding="utf-8")
    from_csv = import_table(text, "tests/tables/googlenet_table1.csv")
    assert from_csv.startswith("# Imported by `papernet import-table` from tests/tables/googlenet_table1.csv (CSV).\n")
    assert body(from_csv) == body(googlenet_spec)


def test_googlenet_from_the_command_line(run_cli: RunCli, googlenet_spec: str) -> None:
    result = run_cli("import-table", "tests/tables/googlenet_table1.md")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == googlenet_spec


def test_input_and_title_options(googlenet_spec: str) -> None:
    spec = import_table(googlenet_table(), "t.md", input_shape=(227, 227, 3), title="GoogLeNet")
    assert '\nnetwork "GoogLeNet"\ninput 227×227×3\n' in spec
    assert "inferred" not in spec


def test_import_is_deterministic() -> None:
    text = googlenet_table()
    assert import_table(text, "a.md") == import_table(text, "a.md")


# ---- VGG-16, configuration D, as CSV -------------------------------------------------


@pytest.fixture(scope="module")
def vgg_spec() -> str:
    return import_table((TABLES / "vgg16.csv").read_text(encoding="utf-8"), "tests/tables/vgg16.csv")


def test_vgg16_passes_notation_through_and_keeps_figures_as_printed(vgg_spec: str) -> None:
    assert "\ninput 224×224×3\n" in vgg_spec  # from the table's `input (224 × 224 RGB image)` row
    assert re.search(r"^conv3-64 +-> 224×224×64 +params 1,792 ", vgg_spec, re.M)
    assert re.search(r"^FC-4096 +-> 4096 +params 102,764,544 ", vgg_spec, re.M)
    assert re.search(r"^soft-max +-> 1000 ", vgg_spec, re.M)
    assert "\ntotal params 138,357,544" in vgg_spec


def test_vgg16_checks_clean_with_same_padding(vgg_spec: str, run_cli: RunCli, tmp_path: Path) -> None:
    spec = with_defaults(vgg_spec, "\ndefaults:\n  conv: padding same\n")
    net = papernet.parse(spec, "vgg16.pn")
    assert [d for d in net.check() if d.is_error] == []
    assert net.infer().total_params == VGG16_PARAMS
    (tmp_path / "vgg16.pn").write_text(spec, encoding="utf-8")
    result = run_cli("check", str(tmp_path / "vgg16.pn"))
    assert result.code == 0, result.stderr
    assert f"{VGG16_PARAMS:,} parameters" in result.stdout


# ---- columns ----------------------------------------------------------------------

SIZE_OUT_TABLE = """\
| layer | kernel | size out | params |
|---|---|---|---|
| input 32×32×3 | | | |
| conv3-16 | | 32×32×16 | 448 |
| max pool | 2×2/2 | 16×16×16 | |
| FC-10 | | 10 | 40,970 |
| softmax | | 10 | |
"""


def test_a_header_not_recognised_is_ignored_and_said_so(run_cli: RunCli, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    Path("net.md").write_text(SIZE_OUT_TABLE, encoding="utf-8")
    result = run_cli("import-table", "net.md")
    assert result.code == 0, result.stderr
    assert '# ignored columns: "size out"\n' in result.stdout
    assert "->" not in result.stdout


def test_column_option_names_the_output_column(run_cli: RunCli, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    Path("net.md").write_text(SIZE_OUT_TABLE, encoding="utf-8")
    result = run_cli("import-table", "net.md", "--column", "output=size out", "-o", "net.pn")
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    spec = Path("net.pn").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.md", "net.pn"]  # no temporary file left
    assert 'output ← "size out"' in spec
    assert "ignored" not in spec
    assert re.search(r"^max pool 2×2/2 +-> 16×16×16 ", spec, re.M)
    net = papernet.parse(spec, "net.pn")
    assert {d.code[:2] for d in net.check()} <= {"P2", "P3"}
    assert net.infer().total_params == 448 + 40_970  # 3·3·3·16 + 16, then 16·16·16·10 + 10


def test_ops_claims_keep_the_header_word_and_unit() -> None:
    table = "type,patch,output,Params (K),GFLOPs\nconv,7x7/2,112x112x64,9.5,0.12\nsoftmax,,,,\n"
    spec = import_table(table, "t.csv")
    assert re.search(r"^convolution 7×7/2, 64 +-> 112×112×64 +params 9\.5K +FLOPs 0\.12G +# row 1$", spec, re.M)
    papernet.parse(spec)


def test_a_separate_stride_column_and_ascii_sizes() -> None:
    table = "layer,filter size,stride,output size\nconvolution,3 x 3,2,16*16*8\nmax pool,2x2,2,8 x 8 x 8\n"
    spec = import_table(table, "t.csv")
    assert re.search(r"^convolution 3×3/2, 8 +-> 16×16×8 ", spec, re.M)
    assert re.search(r"^max pool 2×2/2 +-> 8×8×8 ", spec, re.M)
    assert "\ninput 32×32×3\n" in spec


# ---- tables that cannot be read ------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    name: str
    file: str
    content: str
    code: str
    where: str  # file:line:col, or "<command line>"
    needles: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


HEADER = "| type | patch/stride | output | params | ops |\n|---|---|---|---|---|\n"
BAD = [
    Bad("empty", "t.md", "", "P501", "t.md:1:1", ("empty",)),
    Bad("blank_csv", "t.csv", "\n  \n", "P501", "t.csv:1:1", ("empty",)),
    Bad("header_only", "t.csv", "type,output\n", "P501", "t.csv:1:1", ("no rows",)),
    Bad("no_delimiter_row", "t.md", "| type | output |\n| softmax | 10 |\n", "P502", "t.md:1:1", ("|---|",)),
    Bad("csv_without_header", "t.csv", "convolution,7×7/2,112×112×64\n", "P502", "t.csv:1:1", ("no header row",)),
    Bad(
        "short_row",
        "t.md",
        HEADER + "| convolution | 7×7/2 | 112×112×64 | 2.7K | 34M |\n| max pool | 3×3/2 |\n",
        "P503",
        "t.md:4:1",
        ("row 2 has 2 cells, but the header has 5",),
    ),
    Bad(
        "long_row",
        "t.csv",
        "type,output\nsoftmax,10,extra\n",
        "P503",
        "t.csv:2:12",
        ("row 1 has 3 cells, but the header has 2",),
    ),
    Bad("no_type_column", "t.csv", "name,output\nconv,1x1x3\n", "P504", "t.csv:1:1", ('"name", "output"', "--column")),
    Bad(
        "unknown_role",
        "t.csv",
        "type,output\nsoftmax,10\n",
        "P505",
        "<command line>",
        ("'outptu'", "did you mean `output`?", "type, patch, stride"),
        ("--column", "outptu=output"),
    ),
    Bad(
        "header_not_in_table",
        "t.csv",
        "type,output\nsoftmax,10\n",
        "P506",
        "t.csv:1:1",
        ("'size out'", 'the headers are: "type", "output"'),
        ("--column", "output=size out"),
    ),
    Bad(
        "bad_patch",
        "t.md",
        HEADER + "| convolution | 7x | 112×112×64 | 2.7K | 34M |\n",
        "P507",
        "t.md:3:17",
        ('row 1, column "patch/stride"', "'7x'", "7×7/2"),
    ),
    Bad(
        "bad_output",
        "t.md",
        HEADER + "| convolution | 7×7/2 | 112×abc | 2.7K | 34M |\n",
        "P507",
        "t.md:3:25",
        ('row 1, column "output"', "'112×abc'", "112×112×64"),
    ),
    Bad(
        "bad_figure",
        "t.csv",
        "type,patch/stride,output,params\nconvolution,7×7/2,112×112×64,2.7 thousand\n",
        "P507",
        "t.csv:2:30",
        ('column "params"', "2.7K"),
    ),
    Bad(
        "unknown_type",
        "t.csv",
        "type,patch/stride,output\nconvolutoin,7×7/2,112×112×64\n",
        "P508",
        "t.csv:2:1",
        ("unknown layer type 'convolutoin'", "did you mean `convolution`?"),
    ),
    Bad(
        "no_input",
        "t.csv",
        "type,patch/stride,output\nmax pool,3×3/2,56×56×64\n",
        "P509",
        "t.csv:2:1",
        ("input size", "--input 224x224x3"),
    ),
    Bad(
        "inception_without_pool_proj",
        "t.csv",
        "type,output,#1×1,#3×3 red,#3×3,#5×5 red,#5×5\ninception (3a),28×28×256,64,96,128,16,32\n",
        "P510",
        "t.csv:2:1",
        ("six channel counts", "pool_proj"),
    ),
    Bad(
        "conv_without_patch",
        "t.csv",
        "type,patch/stride,output\nconvolution,,112×112×64\n",
        "P510",
        "t.csv:2:13",
        ("needs a patch size",),
    ),
    Bad(
        "two_output_columns",
        "t.csv",
        "type,output,output size\nsoftmax,10,10\n",
        "P511",
        "t.csv:1:13",
        ('"output" and "output size"', "--column output=HEADER"),
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[case.name for case in BAD])
def test_bad_table(case: Bad, run_cli: RunCli, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    Path(case.file).write_text(case.content, encoding="utf-8")
    result = run_cli("import-table", case.file, *case.options, "-o", "out.pn")
    assert result.code == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stderr.startswith(f"{case.where}: error[{case.code}]: "), result.stderr
    for needle in case.needles:
        assert needle in result.stderr
    assert not Path("out.pn").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [case.file]


def test_a_failed_import_leaves_an_existing_output_alone(run_cli: RunCli, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    Path("t.csv").write_text("type,patch/stride,output\nconvolutoin,7×7/2,112×112×64\n", encoding="utf-8")
    Path("out.pn").write_text("input 28x28\nFC-10\n", encoding="utf-8")
    result = run_cli("import-table", "t.csv", "-o", "out.pn")
    assert result.code == 1
    assert Path("out.pn").read_text(encoding="utf-8") == "input 28x28\nFC-10\n"


def test_every_problem_is_reported_at_once() -> None:
    table = HEADER + "| convolution | 7x | 112×112×64 | 2.7K | 34M |\n| max pool | 3×3/2 | 112×abc | | |\n"
    with pytest.raises(SpecError) as caught:
        import_table(table, "t.md")
    assert [(d.code, d.span.line, d.span.column) for d in caught.value.diagnostics if d.span] == [
        ("P507", 3, 17),
        ("P507", 4, 22),
    ]
    assert caught.value.sources == {"t.md": table}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad_patch", HEADER + "| convolution | 7x | 112×112×64 | 2.7K | 34M |\n"),
        ("unknown_type", "type,patch/stride,output\nmax pol,3×3/2,56×56×64\n"),
    ],
)
def test_rendered_diagnostic_golden(
    name: str, content: str, run_cli: RunCli, tmp_path: Path, monkeypatch: Any, golden: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    file = "table.md" if content.startswith("|") else "table.csv"
    Path(file).write_text(content, encoding="utf-8")
    result = run_cli("import-table", file)
    assert result.code == 1
    golden.check(f"import_table/{name}.txt", result.stderr)


@pytest.mark.parametrize(
    "arguments",
    [
        ("import-table", "no_such_table.md"),
        ("import-table", "tests/tables/vgg16.csv", "--format", "xml"),
        ("import-table", "tests/tables/vgg16.csv", "--column", "output"),
        ("import-table", "tests/tables/vgg16.csv", "--input", "224xx3"),
        ("import-table", "tests/tables/vgg16.csv", "-o", "no_such_directory/out.pn"),
    ],
    ids=["missing_file", "bad_format", "bad_column", "bad_input", "unwritable_output"],
)
def test_usage_errors_exit_2(arguments: tuple[str, ...], run_cli: RunCli) -> None:
    result = run_cli(*arguments)
    assert result.code == 2, result.stderr
    assert "papernet: error:" in result.stderr
    assert "Traceback" not in result.stderr


# ---- no input crashes the importer -------------------------------------------------

_CELLS = st.sampled_from(
    ["", "convolution", "max pool", "inception (3a)", "linear", "softmax", "conv3-64", "7×7/2", "3x3", "7x",
     "112×112×64", "1×1×1000", "64", "2.7K", "138,357,544", "type", "output", "params", "#1×1", "|", '"', "\\|",
     "total", "input 224×224 RGB", "dropout (40%)", "x", "-", "→", "\t"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_CELLS, min_size=1, max_size=6), min_size=1, max_size=5), st.sampled_from(["|", ","]))
def test_any_table_imports_or_gives_p5xx(rows: list[list[str]], separator: str) -> None:
    if separator == "|":
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + "---|" * len(rows[0]))
    else:
        lines = [",".join(row) for row in rows]
    text = "\n".join(lines) + "\n"
    try:
        spec = import_table(text, "t")
    except SpecError as error:
        assert error.diagnostics
        assert all(re.fullmatch(r"P5\d\d", d.code) for d in error.diagnostics)
        return
    papernet.parse(spec)  # what the importer writes, the parser reads


# ---- MobileNet, Table 1 as printed -----------------------------------------------------------
#
# tests/tables/mobilenet_table1.md is Table 1 of Howard et al. 2017 as printed: "Type / Stride"
# cells (`Conv dw / s2`), "Filter Shape" cells (`3 × 3 × 3 × 32`, `3 × 3 × 512 dw`, `Pool 7 × 7`,
# `1024 × 1000`), an "Input Size" column (each row's input, so a row's output is the next row's
# input), and rows 14–15 printed once with "5×".


def mobilenet_table() -> str:
    return (TABLES / "mobilenet_table1.md").read_text(encoding="utf-8")


def test_mobilenet_table1_imports_as_printed() -> None:
    spec = import_table(mobilenet_table(), "mobilenet_table1.md")
    lines = [line for line in spec.splitlines() if line and not line.startswith("#")]
    assert "input 224×224×3" in lines  # row 1's input size is the network's input
    # row 1: 3×3×3×32 at stride 2, output = row 2's input, 112×112×32
    assert lines[2].startswith("conv 3×3/2, 32") and "-> 112×112×32" in lines[2]
    assert lines[3].startswith("conv dw 3×3 ") and "-> 112×112×32" in lines[3]
    # rows 14–15 ("5×"): ten layers, each with the 14×14×512 its next row's input gives
    group = [line for line in lines if line.endswith(("# row 14", "# row 15"))]
    assert len(group) == 10 and all("-> 14×14×512" in line for line in group)
    assert spec.count("printed once with 5×") == 5
    assert "avg pool 7×7/1" in spec and "FC-1000" in spec
    # the last row (Softmax) has no next row to give its output
    assert lines[-1].startswith("Softmax") and "->" not in lines[-1]


def test_mobilenet_table1_checks_with_one_error_the_stride_2_at_7x7() -> None:
    """Row 18 prints "Conv dw / s2" on 7×7×1024, but row 19's input is still 7×7×1024:
    ⌈7/2⌉ = 4 with `same` (3 unpadded), never 7. Every other size holds, the repeated rows'
    depthwise 3×3 convs too (pad 1 at stride 1 keeps 14×14)."""
    spec = import_table(mobilenet_table(), "mobilenet_table1.md")
    network = papernet.parse(spec, "mobilenet_table1.pn")
    errors = network.errors()
    assert [d.code for d in errors] == ["P301"]
    row18 = next(i for i, line in enumerate(spec.splitlines(), 1) if line.endswith("# row 18"))
    assert errors[0].span.line == row18
    assert errors[0].help[0].startswith("7×7 comes from stride 1")
    outputs = [r for r in network.reconcile().rows if r.quantity == "output"]
    assert len(outputs) == 21 + 8  # 21 rows with a next row, rows 14–15 four more times each
    assert [r.span.line for r in outputs if r.verdict == "fails"] == [row18]


def test_an_output_column_that_holds_input_sizes_is_warned_about() -> None:
    """The same table with its "Input Size" column headed "Output": its first row is 224×224×3,
    the network's input, so the column holds inputs."""
    from papernet.tables import import_table_with_warnings

    table = mobilenet_table().replace("| Input Size |", "| Output |", 1)
    _, warnings = import_table_with_warnings(table, "mobilenet_output.md", input_shape=(224, 224, 3))
    assert [w.code for w in warnings] == ["P512"]
    assert warnings[0].message == (
        "column \"Output\" seems to hold each row's input: row 1's 224×224×3 is the network's input"
    )
    assert warnings[0].help == ('read it as inputs with --column input="Output"',)
    spec, warnings = import_table_with_warnings(
        table, "mobilenet_output.md", input_shape=(224, 224, 3), columns={"input": "Output"}
    )
    assert warnings == [] and "conv 3×3/2, 32" in spec and "-> 112×112×32" in spec


def test_import_table_warning_is_rendered(run_cli: RunCli, tmp_path: Path, golden: Any) -> None:
    table = tmp_path / "mobilenet_output.md"
    table.write_text(mobilenet_table().replace("| Input Size |", "| Output |", 1), encoding="utf-8")
    result = run_cli("import-table", str(table), "--input", "224x224x3")
    assert result.code == 0
    golden.check("import_table/output_holds_inputs.txt", result.stderr.replace(str(tmp_path) + "/", ""))
