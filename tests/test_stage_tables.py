"""`papernet import-table` on stage tables: MobileNetV2's Table 2 (`Input | Operator | t | c | n | s`)
and EfficientNet-B0's Table 1 (`Stage | Operator | Resolution | #Channels | #Layers`).

The tables are tests/tables/mobilenet_v2_table2.md and tests/tables/efficientnet_b0_table1.md,
typed from the papers as printed (`224² × 3`, `112 × 112`, `MBConv6, k3x3`, a `k` for the
classes, `-` for what a row does not have). What they must import to is fixed three ways, none
from the importer's output: keras.applications builds both networks (counted here with
`count_params()`), the hand-written specs/mobilenet_v2.pn and specs/efficientnet_b0.pn have
the same block lines, and every size the table prints must hold under `papernet check`.
The imported specs are golden files (tests/golden/import_table/), regenerated with
`pytest --update-golden`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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
MOBILENET_V2 = "tests/tables/mobilenet_v2_table2.md"
EFFICIENTNET_B0 = "tests/tables/efficientnet_b0_table1.md"


def imported(path: str, **options: Any) -> str:
    return import_table((ROOT / path).read_text(encoding="utf-8"), path, **options)


@pytest.fixture(scope="module")
def mobilenet_v2() -> str:
    return imported(MOBILENET_V2)


@pytest.fixture(scope="module")
def efficientnet_b0() -> str:
    return imported(EFFICIENTNET_B0)


def claim_lines(spec: str) -> list[str]:
    """The spec's top-level lines with a shape claim, without comments, spaces collapsed."""
    lines = (" ".join(line.split("#")[0].split()) for line in spec.split("\n") if not line.startswith(" "))
    return [line for line in lines if re.search(r"-> [\d×]+$", line)]


def row_lines(spec: str) -> list[str]:
    """The lines written for the table's rows (they end in `# row N: …`), without the comment."""
    return [" ".join(line.split("#")[0].split()) for line in spec.split("\n") if re.search(r"  # row \d+: ", line)]


def block_definitions(spec: str) -> list[str]:
    """Each `block` definition with its body, as one string."""
    lines = spec.split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.startswith("block "):
            body = [" ".join(b.split()) for b in indented_lines(lines[i + 1 :])]
            out.append(" ".join(line.split()) + " | " + " / ".join(body))
    return sorted(out)


def indented_lines(lines: list[str]) -> list[str]:
    body = []
    for line in lines:
        if not line.startswith("  "):
            break
        body.append(line)
    return body


@pytest.fixture(scope="module")
def keras_model() -> Iterator[Callable[[str], Any]]:
    """`keras_model("MobileNetV2")`: keras.applications' model (weights=None), built once."""
    keras = pytest.importorskip("keras")
    built: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in built:
            keras.backend.clear_session()
            built[name] = getattr(keras.applications, name)(weights=None)
        return built[name]

    yield get
    keras.backend.clear_session()


# ---- MobileNetV2, Table 2 ---------------------------------------------------------------------


def test_mobilenet_v2_golden(mobilenet_v2: str, golden: Any) -> None:
    golden.check("import_table/mobilenet_v2_table2.pn", mobilenet_v2)


def test_mobilenet_v2_reads_like_the_hand_written_spec(mobilenet_v2: str) -> None:
    """The bottleneck defined once, and rows 1–9 line for line as specs/mobilenet_v2.pn writes them."""
    hand = (ROOT / "specs" / "mobilenet_v2.pn").read_text(encoding="utf-8")
    assert block_definitions(mobilenet_v2) == block_definitions(hand)
    assert len(block_definitions(mobilenet_v2)) == 2  # bottleneck(e, c, s), bottleneck_residual(e, c)
    hand_rows = claim_lines(hand)[:9]
    assert row_lines(mobilenet_v2)[:9] == hand_rows
    assert len(row_lines(mobilenet_v2)) == 11  # one line per table row
    assert "conv: bias off, batchnorm, relu6, padding same" in mobilenet_v2


def test_mobilenet_v2_every_printed_size_holds(mobilenet_v2: str) -> None:
    """Rows 2–11 print their input: ten claims on rows 1–10's outputs, all of which hold."""
    net = papernet.parse(mobilenet_v2, "mobilenet_v2.pn")
    assert net.errors() == []
    outputs = [r for r in net.reconcile().rows if r.quantity == "output"]
    assert len(outputs) == 10
    assert [r.verdict for r in outputs] == ["holds"] * 10
    assert "-> 1×1×1280" in mobilenet_v2  # row 11's `1 × 1 × 1280`, on the avgpool of row 10
    assert net.infer().layers[0].shape == (224, 224, 3)  # row 1's `224² × 3`


def test_mobilenet_v2_equals_keras(mobilenet_v2: str, keras_model: Callable[[str], Any]) -> None:
    model = keras_model("MobileNetV2")
    net = papernet.parse(mobilenet_v2, "mobilenet_v2.pn")
    assert net.infer().total_params == model.count_params() == 3_538_984
    comparison = net.against(model)
    assert not comparison.differs, comparison


def test_mobilenet_v2_says_what_it_assumed(mobilenet_v2: str) -> None:
    assert '# row 1: conv2d prints no kernel size: 3×3 assumed (MobileNetV2 §4: "we always use kernel size 3 × 3")' in (
        mobilenet_v2
    )
    assert "# row 2: a bottleneck with t = 1: the expansion is the identity" in mobilenet_v2
    assert "# row 10: avgpool 7x7 (7×7 on its 7×7 input): a global average pool" in mobilenet_v2
    assert "k = 1000 units (ImageNet)" in mobilenet_v2


def test_mobilenet_v2_as_csv_gives_the_same_spec(mobilenet_v2: str) -> None:
    markdown = (ROOT / MOBILENET_V2).read_text(encoding="utf-8")
    rows = [line.strip().strip("|").split("|") for line in markdown.splitlines() if not line.startswith("|---")]
    csv_text = "\n".join(",".join(cell.strip() for cell in row) for row in rows) + "\n"
    spec = import_table(csv_text, "mobilenet_v2_table2.csv")
    spec_md = import_table(markdown, "mobilenet_v2_table2.md")
    assert spec.split("\n", 1)[1] == spec_md.split("\n", 1)[1]  # all but the provenance line
    assert "(CSV)" in spec.split("\n", 1)[0]


# ---- EfficientNet-B0, Table 1 -----------------------------------------------------------------


def test_efficientnet_b0_golden(efficientnet_b0: str, golden: Any) -> None:
    golden.check("import_table/efficientnet_b0_table1.pn", efficientnet_b0)


def without_drop_path(spec: str) -> str:
    """The hand-written spec without Keras's stochastic depth (§5.2 of the paper, not its table):
    no `drop path` in the bodies, and no block-index parameter `b` that sets its rate."""
    spec = spec.replace(" -> drop path 0.2*b/16", "").replace("(e, c, b):", "(e, c):")
    return re.sub(r"(_residual\(\d+, \d+), \d+\)", r"\1)", spec)


def test_efficientnet_b0_reads_like_the_hand_written_spec(efficientnet_b0: str) -> None:
    hand = without_drop_path((ROOT / "specs" / "efficientnet_b0.pn").read_text(encoding="utf-8"))
    assert "drop path" not in hand
    assert block_definitions(efficientnet_b0) == block_definitions(hand)
    # rows 1 and 2 as the hand spec writes them; from row 3 the hand spec gives each block its own
    # drop-path rate, so its rows differ in form (the layers are compared one by one below)
    assert row_lines(efficientnet_b0)[:2] == claim_lines(hand)[:2]
    assert row_lines(efficientnet_b0)[8] == "conv 1×1, 1280, global average pool, FC-1000, softmax"  # row 9
    assert "conv: bias off, batchnorm, swish, padding same" in efficientnet_b0


def test_efficientnet_b0_strides_are_inferred_and_said(efficientnet_b0: str) -> None:
    """No stride is printed: where the resolution halves at the next row, stride 2, in a note."""
    inferred = re.findall(r"^# row (\d+): stride 2 inferred \(not printed\)", efficientnet_b0, re.M)
    assert inferred == ["1", "3", "4", "5", "7"]  # 224→112, 112→56, 56→28, 28→14, 14→7
    assert "# row 1: stride 2 inferred (not printed): its resolution 224 × 224 → row 2's 112 × 112" in efficientnet_b0
    assert "# row 9: stride 1 assumed: no row after it" in efficientnet_b0
    assert "# input: row 1's resolution, 224 × 224, with 3 channels (RGB) assumed" in efficientnet_b0


def test_efficientnet_b0_every_printed_size_holds(efficientnet_b0: str) -> None:
    net = papernet.parse(efficientnet_b0, "efficientnet_b0.pn")
    assert net.errors() == []
    outputs = [r for r in net.reconcile().rows if r.quantity == "output"]
    assert len(outputs) == 8  # rows 2–9 print a resolution: claims on rows 1–8 (with their channels)
    assert [r.verdict for r in outputs] == ["holds"] * 8


def test_efficientnet_b0_params_equal_keras_but_its_normalization(
    efficientnet_b0: str, keras_model: Callable[[str], Any]
) -> None:
    """Keras's stem rescales and normalizes the pixels (its Normalization holds mean, variance and
    count, 7 weights, none trained); the paper's table has no such layer, so the import has every
    other parameter of Keras's, and written in, `rescale 1/255, normalize` makes it Keras's own."""
    model = keras_model("EfficientNetB0")
    normalization = sum(layer.count_params() for layer in model.layers if type(layer).__name__ == "Normalization")
    assert (model.count_params(), normalization) == (5_330_571, 7)
    net = papernet.parse(efficientnet_b0, "efficientnet_b0.pn")
    assert net.infer().total_params == model.count_params() - normalization
    with_stem = efficientnet_b0.replace("\ninput 224×224×3\n", "\ninput 224×224×3\nrescale 1/255, normalize\n", 1)
    assert papernet.parse(with_stem, "b0.pn").infer().total_params == model.count_params()


def test_efficientnet_b0_layers_equal_the_hand_written_spec(efficientnet_b0: str) -> None:
    """Layer for layer (output shape, params), the hand spec without its stem rescale/normalize and
    its dropout and drop paths, none of which the table prints."""
    text = (ROOT / "specs" / "efficientnet_b0.pn").read_text(encoding="utf-8")
    text = text.replace("\nrescale 1/255, normalize\n", "\n").replace(", dropout 0.2", "")
    hand = papernet.parse(text, "efficientnet_b0.pn")
    ours = papernet.parse(efficientnet_b0).infer()
    kept = [
        info
        for node, info in zip(hand.graph.nodes, hand.infer().layers, strict=True)
        if type(node).__name__ != "DropPath"
    ]
    assert len(kept) < len(hand.graph.nodes)  # the hand spec's drop paths, which change only training
    assert [(layer.shape, layer.params) for layer in ours.layers] == [(layer.shape, layer.params) for layer in kept]


# ---- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "params"), [(MOBILENET_V2, "3,538,984"), (EFFICIENTNET_B0, "5,330,564")])
def test_import_then_check_from_the_command_line(
    table: str, params: str, run_cli: RunCli, tmp_path: Path, golden: Any
) -> None:
    out = tmp_path / "spec.pn"
    result = run_cli("import-table", table, "-o", str(out))
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    assert out.read_text(encoding="utf-8") == imported(table)
    result = run_cli("check", str(out))
    assert result.code == 0, result.stderr
    assert f"{params} parameters" in result.stdout
    assert re.search(r"verdict: (\d+) of \1 claims hold", result.stdout)


def test_input_option_overrides_the_table(run_cli: RunCli) -> None:
    result = run_cli("import-table", EFFICIENTNET_B0, "--input", "240x240x3")
    assert result.code == 0, result.stderr
    assert "\ninput 240×240×3\n" in result.stdout
    net = papernet.parse(result.stdout)
    assert any(r.verdict == "fails" for r in net.reconcile().rows)  # 240 is not the table's 224: the claims say so


# ---- tables that cannot be read ------------------------------------------------------------------

V2_HEADER = "| Input | Operator | t | c | n | s |\n|---|---|---|---|---|---|\n"
B0_HEADER = "| Stage | Operator | Resolution | #Channels | #Layers |\n|---|---|---|---|---|\n"


@dataclass(frozen=True)
class Bad:
    name: str
    content: str
    code: str
    where: str  # line:col in t.md
    needles: tuple[str, ...] = ()


BAD = [
    Bad(
        "mbconv_without_comma",
        B0_HEADER + "| 1 | Conv3x3 | 224 × 224 | 32 | 1 |\n| 2 | MBConv6 k3×3 | 112 × 112 | 24 | 2 |\n",
        "P508",
        "4:7",
        ("unknown operator 'MBConv6 k3×3'", "did you mean `MBConv6, k3x3`?"),
    ),
    Bad(
        "mbconv_without_k",
        B0_HEADER + "| 1 | Conv3x3 | 224 × 224 | 32 | 1 |\n| 2 | mbconv6 3x3 | 112 × 112 | 24 | 2 |\n",
        "P508",
        "4:7",
        ("unknown operator 'mbconv6 3x3'", "did you mean `MBConv6, k3x3`?"),
    ),
    Bad(
        "misspelt_part",
        B0_HEADER + "| 1 | Conv3x3 | 224 × 224 | 32 | 1 |\n| 9 | Conv1x1 & Poling & FC | 112 × 112 | 1280 | 1 |\n",
        "P508",
        "4:7",
        ("unknown operator 'Poling'", "did you mean `Pooling`?"),
    ),
    Bad(
        "bottleneck_without_t",
        V2_HEADER + "| 224² × 3 | conv2d | - | 32 | 1 | 2 |\n| 112² × 32 | bottleneck | - | 16 | 1 | 1 |\n",
        "P510",
        "4:15",
        ("row 2: 'bottleneck' needs its expansion factor t",),
    ),
    Bad(
        "bad_size",
        V2_HEADER + "| 224² × 3 | conv2d | - | 32 | 1 | 2 |\n| 112²× | bottleneck | 1 | 16 | 1 | 1 |\n",
        "P507",
        "4:3",
        ("row 2, column \"Input\": cannot read '112²×'", "112² × 16"),
    ),
    Bad(
        "zero_repeats",
        V2_HEADER + "| 224² × 3 | conv2d | - | 32 | 0 | 2 |\n",
        "P507",
        "3:32",
        ('column "n"', "from 1 to 1,000"),
    ),
    Bad(
        "t_on_a_conv",
        V2_HEADER + "| 224² × 3 | conv2d | 6 | 32 | 1 | 2 |\n",
        "P507",
        "3:23",
        ('row 1, column "t": t = 6, but only a bottleneck or MBConv has an expansion',),
    ),
    Bad(
        "t_against_mbconv",
        V2_HEADER + "| 224² × 3 | conv2d | - | 32 | 1 | 2 |\n| 112² × 32 | MBConv6, k3x3 | 4 | 16 | 1 | 1 |\n",
        "P507",
        "4:31",
        ("t = 4, but the operator is MBConv6",),
    ),
    Bad(
        "resolution_no_stride_gives",
        B0_HEADER + "| 1 | Conv3x3 | 224 × 224 | 32 | 1 |\n| 2 | MBConv1, k3x3 | 300 × 300 | 16 | 1 |\n",
        "P513",
        "4:23",
        ("row 2's 300 × 300 cannot follow row 1's 224 × 224",),
    ),
    Bad(
        "two_families",
        V2_HEADER + "| 224² × 3 | conv2d | - | 32 | 1 | 2 |\n| 112² × 32 | bottleneck | 6 | 16 | 1 | 1 |\n"
        "| 112² × 16 | MBConv6, k3x3 | - | 24 | 1 | 2 |\n",
        "P513",
        "5:15",
        ("bottleneck (ReLU6) and MBConv (swish)",),
    ),
    Bad(
        "classifier_conv_on_7x7",
        V2_HEADER + "| 224² × 3 | conv2d | - | 32 | 1 | 2 |\n| 112² × 32 | conv2d 1x1 | - | k | - | - |\n",
        "P510",
        "4:15",
        ("to k classes on a 112×112 input",),
    ),
    Bad(
        "no_input_size",
        B0_HEADER + "| 1 | Conv3x3 | | 32 | 1 |\n",
        "P509",
        "3:1",
        ("--input 224x224x3",),
    ),
    Bad(
        "no_channels_column",
        "| Operator | t | n | s |\n|---|---|---|---|\n| conv2d | - | 1 | 2 |\n",
        "P504",
        "1:1",
        ("channels",),
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[case.name for case in BAD])
def test_bad_stage_table(case: Bad, run_cli: RunCli, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    Path("t.md").write_text(case.content, encoding="utf-8")
    result = run_cli("import-table", "t.md", "-o", "out.pn")
    assert result.code == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stderr.startswith(f"t.md:{case.where}: error[{case.code}]: "), result.stderr
    for needle in case.needles:
        assert needle in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.md"]


def test_unknown_operator_is_rendered(run_cli: RunCli, tmp_path: Path, monkeypatch: Any, golden: Any) -> None:
    monkeypatch.chdir(tmp_path)
    Path("t.md").write_text(BAD[0].content, encoding="utf-8")
    result = run_cli("import-table", "t.md")
    assert result.code == 1
    golden.check("import_table/unknown_operator.txt", result.stderr)


def test_every_row_problem_is_reported_at_once() -> None:
    table = V2_HEADER + "| 224² × 3 | conv2d | - | 32 | 1 | 2 |\n| 112² × 32 | botleneck | 1 | 16 | 1 | 1 |\n"
    table += "| 112² × 16 | bottleneck | 6 | 24 | two | 2 |\n"
    with pytest.raises(SpecError) as caught:
        import_table(table, "t.md")
    assert [(d.code, d.span.line) for d in caught.value.diagnostics if d.span] == [("P508", 4), ("P507", 5)]


# ---- sizes as papers print them, in per-layer tables too ------------------------------------------


def test_squared_sizes_in_a_per_layer_table() -> None:
    """MobileNet v1's Table 1 with its Input Size column written `112² × 32`: the same spec."""
    text = (TABLES / "mobilenet_table1.md").read_text(encoding="utf-8")
    squared = re.sub(r"\| (\d+) × \1 × (\d+) \|", r"| \1² × \2 |", text)
    assert squared != text and "| 112² × 32 |" in squared
    assert import_table(squared, "m.md") == import_table(text, "m.md")


# ---- no input crashes the importer ------------------------------------------------------------

_CELLS = st.sampled_from(
    ["", "-", "k", "0", "1", "2", "6", "24", "99999999", "224² × 3", "112²", "7 × 7", "1 × 1 × 1280", "112²×",
     "conv2d", "conv2d 1x1", "Conv3x3", "bottleneck", "MBConv6, k3x3", "MBConv1, k5x5", "MBConv6 k3×3",
     "avgpool 7x7", "Pooling", "FC", "Conv1x1 & Pooling & FC", "&", "|", "x"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(
        [["Input", "Operator", "t", "c", "n", "s"], ["Stage", "Operator", "Resolution", "#Channels", "#Layers"]]
    ),
    st.lists(st.lists(_CELLS, min_size=6, max_size=6), min_size=1, max_size=4),
)
def test_any_stage_table_imports_or_gives_p5xx(header: list[str], rows: list[list[str]]) -> None:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[: len(header)]) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    try:
        spec = import_table(text, "t.md")
    except SpecError as error:
        assert error.diagnostics
        assert all(re.fullmatch(r"P5\d\d", d.code) for d in error.diagnostics), error.diagnostics
        return
    papernet.parse(spec)  # what the importer writes, the parser reads


def test_column_option_names_a_stage_role(run_cli: RunCli, tmp_path: Path, monkeypatch: Any) -> None:
    text = (ROOT / EFFICIENTNET_B0).read_text(encoding="utf-8").replace("Operator F̂i", "Block kind", 1)
    monkeypatch.chdir(tmp_path)
    Path("b0.md").write_text(text, encoding="utf-8")
    result = run_cli("import-table", "b0.md")
    assert result.code == 1 and "error[P504]" in result.stderr and "--column operator=HEADER" in result.stderr
    result = run_cli("import-table", "b0.md", "--column", "operator=Block kind")
    assert result.code == 0, result.stderr
    assert row_lines(result.stdout) == row_lines(imported(EFFICIENTNET_B0))
    result = run_cli("import-table", "b0.md", "--column", "operatr=Block kind")
    assert result.code == 1 and "error[P505]" in result.stderr and "did you mean `operator`?" in result.stderr


def test_command_line_exit_codes(run_cli: RunCli) -> None:
    """0 imported; 1 a table (or an --input) that cannot be imported, with a P5xx; 2 a usage error."""
    assert run_cli("import-table", MOBILENET_V2).code == 0
    result = run_cli("import-table", EFFICIENTNET_B0, "--input", "784")
    assert result.code == 1
    assert result.stderr.startswith("<command line>: error[P509]: a stage table's network takes an image"), (
        result.stderr
    )
    result = run_cli("import-table", MOBILENET_V2, "-o", "no_such_directory/spec.pn")
    assert result.code == 2 and "papernet: error:" in result.stderr
