"""Checking a paper's table: every claim reconciled, mismatches explained, unstated values inferred.

Expected figures come from the papers' tables (../shared/reference/README.md), from the
formulas done by hand here ((W + 2P − F)/S + 1, K·F·F·D + K), or from Keras. Golden files
hold the rendered reconciliations and their JSON (tests/golden/check/).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import papernet
from papernet import ir
from papernet.ir import Origin

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def spec_text(name: str) -> str:
    return (SPECS / f"{name}.pn").read_text(encoding="utf-8")


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return name


def check_files(run_cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, *options: str) -> Any:
    """`papernet check` run from the spec's directory, so paths in the output are stable."""
    from papernet.cli import main

    monkeypatch.chdir(tmp_path)
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["check", name, *options])
    return code, out.getvalue(), err.getvalue()


def rows(network: papernet.Network, quantity: str | None = None) -> list[Any]:
    found = network.reconcile().rows
    return [r for r in found if quantity is None or r.quantity == quantity]


# ---- AlexNet, §3.5 as printed ------------------------------------------------------

ALEXNET_AS_PRINTED = spec_text("alexnet").replace("input 227×227 RGB", "input 224×224×3")


def test_alexnet_as_printed_fails_with_the_arithmetic_and_both_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any, golden: Any
) -> None:
    assert "input 224×224×3" in ALEXNET_AS_PRINTED
    name = write(tmp_path, "alexnet_224.pn", ALEXNET_AS_PRINTED)
    code, out, err = check_files(run_cli, monkeypatch, tmp_path, name)
    assert code == 1
    # (224 + 2·0 − 11)/4 + 1 = 213/4 + 1 = 54.25, by hand
    assert "(224 + 2·0 − 11)/4 + 1 = 54.25" in err
    # 227 − 11 = 216 = 4·54 → 55 exactly; (224 + 4 − 11)/4 + 1 = 55.25 → 55 floored
    assert "input 227×227 with pad 0" in err
    assert "224×224 with pad 2 (floor)" in err
    assert err.count("error[") == 1, "one wrong row must not turn the later rows red"
    golden.check("check/alexnet_224.diagnostics.txt", err)
    golden.check("check/alexnet_224.report.txt", out)


def test_alexnet_as_printed_later_rows_continue_from_the_declared_size() -> None:
    network = papernet.parse(ALEXNET_AS_PRINTED, "alexnet_224.pn")
    outputs = rows(network, "output")
    assert [r.verdict for r in outputs] == ["fails"] + ["holds"] * (len(outputs) - 1)
    assert outputs[0].inferred == "54.25×54.25×96"
    assert "continue from the declared 55×55×96" in outputs[0].note


def test_alexnet_as_printed_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any, golden: Any) -> None:
    name = write(tmp_path, "alexnet_224.pn", ALEXNET_AS_PRINTED)
    code, out, _ = check_files(run_cli, monkeypatch, tmp_path, name, "--format", "json")
    assert code == 1
    report = json.loads(out)
    first = report["claims"][0]
    conv1_line = ALEXNET_AS_PRINTED.splitlines().index("conv1: conv11-96/4 -> 55×55×96") + 1
    assert (first["line"], first["declared"], first["holds"]) == (conv1_line, "55×55×96", False)
    assert report["verdict"]["fail"] == 1
    assert report["verdict"]["hold"] == report["verdict"]["claims"] - 1
    golden.check("check/alexnet_224.json", out)


def test_alexnet_with_input_227_passes(run_cli: Any) -> None:
    result = run_cli("check", "specs/alexnet.pn")
    assert result.code == 0, result.stderr
    assert "error" not in result.stderr
    declared = sum("->" in line for line in spec_text("alexnet").splitlines() if not line.startswith("#"))
    assert declared == 8  # conv1–conv5 and the three pools
    assert re.search(rf"verdict: {declared} of {declared} claims hold", result.stdout)


# ---- GoogLeNet, Table 1 as printed ----------------------------------------------

# (name, #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj, output H, printed params K, printed ops M)
GOOGLENET_MODULES = [
    ("3a", 64, 96, 128, 16, 32, 32, 28, 159, 128),
    ("3b", 128, 128, 192, 32, 96, 64, 28, 380, 304),
    ("4a", 192, 96, 208, 16, 48, 64, 14, 364, 73),
    ("4b", 160, 112, 224, 24, 64, 64, 14, 437, 88),
    ("4c", 128, 128, 256, 24, 64, 64, 14, 463, 100),
    ("4d", 112, 144, 288, 32, 64, 64, 14, 580, 119),
    ("4e", 256, 160, 320, 32, 128, 128, 14, 840, 170),
    ("5a", 256, 160, 320, 32, 128, 128, 7, 1072, 54),
    ("5b", 384, 192, 384, 48, 128, 128, 7, 1388, 71),
]


def inception_by_hand(depth: int, c1: int, r3: int, c3: int, r5: int, c5: int, pp: int, size: int) -> tuple[int, int]:
    """Params (with biases) and multiply-adds of one module: 1×1 convs K·D + K, 3×3 9·K·D + K, 5×5 25·K·D + K."""
    weights = depth * c1 + depth * r3 + 9 * r3 * c3 + depth * r5 + 25 * r5 * c5 + depth * pp
    biases = c1 + r3 + c3 + r5 + c5 + pp
    return weights + biases, weights * size * size


def rounds_to(printed: float, value: int, base: int) -> bool:
    return abs(value / base - printed) <= 0.5


def googlenet_expectations() -> dict[str, tuple[int, int, int, bool]]:
    """Per module: params as Keras counts them (with biases), weights alone (the table's count),
    MACs, and whether the printed ops fit (multiply-adds, M = 10⁶)."""
    expected = {}
    depth = 192
    for name, c1, r3, c3, r5, c5, pp, size, _, ops_m in GOOGLENET_MODULES:
        params, macs = inception_by_hand(depth, c1, r3, c3, r5, c5, pp, size)
        biases = c1 + r3 + c3 + r5 + c5 + pp
        expected[f"inception_{name}"] = (params, params - biases, macs, rounds_to(ops_m, macs, 1_000_000))
        depth = c1 + c3 + c5 + pp
    return expected


# The stem and the classifier, by hand: conv1 7·7·3·64 weights; conv2 its 1×1 reduce 64·64 and
# 3·3·64·192; the FC 1024·1000 weights. (name, weights, biases, printed K)
GOOGLENET_OTHER_PARAMS = [
    ("conv7-64/2", 7 * 7 * 3 * 64, 64, 2.7),
    ("conv3-192", 64 * 64 + 9 * 64 * 192, 64 + 192, 112),
    ("FC-1000", 1024 * 1000, 1000, 1000),
]


def test_googlenet_is_judged_by_its_own_count_weights_without_biases_k_1024() -> None:
    """Every params figure the table's convention reproduces holds; every other fails with its
    figure in that convention (weights only, K = 1024), recomputed here from the channel columns."""
    network = papernet.load("googlenet")
    reconciliation = network.reconcile()
    by_layer = {(r.layer, r.quantity): r for r in reconciliation.rows}
    messages = {d.span.line: d for d in network.check() if d.code == "P302"}
    printed_k = {f"inception_{m[0]}": m[8] for m in GOOGLENET_MODULES}
    weights_by_row = {name: (w, w + b, k) for name, w, b, k in GOOGLENET_OTHER_PARAMS}
    for layer, (params, weights, _, _) in googlenet_expectations().items():
        weights_by_row[layer] = (weights, params, printed_k[layer])
    held = 0
    for layer, (weights, params, printed) in weights_by_row.items():
        row = by_layer[(layer, "params")]
        fits = rounds_to(printed, weights, 1024) if printed >= 10 else abs(weights / 1024 - printed) <= 0.05
        held += fits
        assert row.inferred == f"{params:,}", layer  # papernet's own count, with biases
        assert row.counted.startswith(f"{weights:,} ("), layer  # the table's
        assert row.verdict == ("holds" if fits else "fails"), layer
        if not fits:
            problem = messages[row.span.line]
            assert f"{layer} has {weights:,} parameters as this table counts them" in problem.message
            finer = 2 if printed < 10 else 1  # one decimal finer than printed: 2.7K → 9.19K, 463K → 497.5K
            assert f"{weights / 1024:.{finer}f}K at K = 1024" in problem.message
            assert problem.notes == (f"papernet's count (weights and biases): {params:,}",)
    # Only conv2 (114,688 = 112.0K), 3a (163,328 = 159.5K) and the FC (1,024,000 = 1000K) hold.
    assert held == 3
    assert reconciliation.reading is not None
    assert reconciliation.reading.describe() == "weights without biases, K = 1024"
    assert reconciliation.verdict().startswith(
        "this table counts weights without biases, K = 1024: 3 of 12 params figures hold under it; "
    )


def test_googlenet_4c_fails_with_the_table_s_figure_not_papernet_s() -> None:
    """4c: 512·128 + 512·128 + 9·128·256 + 512·24 + 25·24·64 + 512·64 = 509,440 weights = 497.5K
    at K = 1024 (not the 510.1K papernet's own count with biases would print)."""
    network = papernet.load("googlenet")
    problem = next(d for d in network.check() if d.code == "P302" and "inception_4c" in d.message)
    assert problem.message == (
        "inception_4c has 509,440 parameters as this table counts them (497.5K at K = 1024), not 463K"
    )


def test_googlenet_3b_holds_only_with_biases_and_says_the_rest_of_the_table_counts_otherwise() -> None:
    """3b: 388,096 weights = 379.0K ≠ 380K; with its 640 biases 388,736 = 379.6K → 380K."""
    network = papernet.load("googlenet")
    problem = next(d for d in network.check() if d.code == "P302" and "inception_3b" in d.message)
    assert problem.is_error
    assert problem.help[0] == "380K fits biases counted (388,736) — not how the rest of this table counts"


def test_googlenet_ops_are_rounded_multiply_adds_at_m_1000() -> None:
    network = papernet.load("googlenet")
    ops = {r.layer: r for r in rows(network, "ops")}
    for layer, (_, _, macs, ops_fit) in googlenet_expectations().items():
        assert ops[layer].inferred == f"{macs:,}"
        assert ops[layer].verdict == ("holds" if ops_fit else "fails"), layer
    # conv1: 112·112·64·147 = 118,013,952 multiply-adds, not 34M
    messages = "\n".join(d.message for d in network.check())
    assert "costs 118,013,952 multiply-adds" in messages


def test_googlenet_output_sizes_hold_only_with_same_or_ceil_pooling() -> None:
    network = papernet.load("googlenet")
    assert all(r.verdict == "holds" for r in rows(network, "output"))
    pools = [n for n in network.graph.nodes if isinstance(n, ir.Pool2D) and n.op == "max"]
    assert len(pools) == 4 + 0 or len(pools) >= 4
    strided = [p for p in pools if p.strides == (2, 2) and p.scope == ()]
    assert len(strided) == 4
    assert all(p.padding == "same" and p.origin("padding") is Origin.INFERRED for p in strided)
    inferred = network.reconcile().inferred
    assert sum(i.value == "padding same" for i in inferred) >= 4
    notes = [d for d in network.check() if d.code == "P311" and "maxpool" in d.message]
    assert notes and all("pad 0 with ceil" in d.notes[0] for d in notes)

    # With the padding stated as valid and floor, 112 → (112 − 3)//2 + 1 = 55, not 56.
    text = spec_text("googlenet").replace(
        "input 224×224 RGB", "input 224×224 RGB\ndefaults:\n  maxpool: pad 0, floor\n"
    )
    stated = papernet.parse(text, "googlenet_floor.pn")
    wrong = [d for d in stated.check() if d.code == "P301"]
    assert len(wrong) == 4
    assert "gives 55×55×64" in wrong[0].message
    assert "padding same" in wrong[0].help[0] and "ceil" in wrong[0].help[0]


def test_googlenet_report_and_json(run_cli: Any, golden: Any) -> None:
    result = run_cli("check", "googlenet")
    assert result.code == 1
    golden.check("check/googlenet.report.txt", result.stdout)
    golden.check("check/googlenet.diagnostics.txt", result.stderr)
    as_json = run_cli("check", "googlenet", "--format", "json")
    report = json.loads(as_json.stdout)
    assert report["verdict"]["claims"] == len(report["claims"])
    golden.check("check/googlenet.json", as_json.stdout)
    as_markdown = run_cli("check", "googlenet", "--format", "markdown")
    assert as_markdown.stdout.startswith("## GoogLeNet: the table's claims")
    golden.check("check/googlenet.md", as_markdown.stdout)


# ---- ResNet, Table 1 ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_resnet_table1_output_sizes_hold_with_the_max_pool_padding_inferred(depth: int) -> None:
    network = papernet.load(f"resnet{depth}")
    outputs = rows(network, "output")
    # Table 1: conv1 112, conv2_x 56 (after the pool, also 56), conv3_x 28, conv4_x 14, conv5_x 7, head 1
    assert [r.declared for r in outputs] == ["112×112", "56×56", "56×56", "28×28", "14×14", "7×7", "1×1"]
    assert all(r.verdict == "holds" for r in outputs)
    pool = next(n for n in network.graph.nodes if isinstance(n, ir.Pool2D))
    assert pool.origin("padding") is Origin.INFERRED
    assert "inferred from the table" in outputs[1].note
    summary = network.summary().to_dict()
    pool_row = next(layer for layer in summary["layers"] if layer["name"] == pool.name)
    assert any("inferred from the table" in a for a in pool_row["assumed"])


def test_resnet_pool_left_as_valid_does_not_divide() -> None:
    text = spec_text("resnet18").replace("3×3 max pool, stride 2", "3×3 max pool, stride 2, pad 0")
    found = papernet.parse(text, "resnet18_pad0.pn").check()
    problem = next(d for d in found if d.code == "P201")
    # (112 − 3)/2 + 1 = 55.5
    assert "(112 + 2·0 − 3)/2 + 1 = 55.5" in problem.message


# ---- VGG, Table 2 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "printed"),
    [("vgg11", "133M"), ("vgg13", "133M"), ("vgg16_c", "134M"), ("vgg16", "138M"), ("vgg19", "144M")],
)
def test_vgg_table2_totals_hold(spec: str, printed: str, run_cli: Any) -> None:
    assert f"total params {printed}" in spec_text(spec)
    result = run_cli("check", spec)
    assert result.code == 0, result.stderr
    assert "the claim holds" in result.stdout or "claims hold" in result.stdout


def test_vgg16_claimed_at_135m_is_flagged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any, golden: Any
) -> None:
    name = write(tmp_path, "vgg16_135m.pn", spec_text("vgg16").replace("total params 138M", "total params 135M"))
    code, out, err = check_files(run_cli, monkeypatch, tmp_path, name)
    assert code == 1
    assert "error[P304]: the network has 138,357,544 parameters (138.4M), not 135M" in err
    golden.check("check/vgg16_135m.diagnostics.txt", err)
    golden.check("check/vgg16_135m.report.txt", out)


# ---- the fixes search --------------------------------------------------------------


def problem(text: str, code: str) -> Any:
    network = papernet.parse(text, "fix.pn")
    return next(d for d in network.check() if d.code == code)


def test_fix_biases_not_counted() -> None:
    # 3·3·3·4 = 108 weights + 4 biases
    found = problem("input 8x8x3\nconv3-4 pad 1 params 108\n", "P302")
    assert "has 112 parameters" in found.message
    assert found.help[0] == "108 fits biases not counted (108)"


def test_fix_batch_norm_counted_as_2c() -> None:
    # conv 112 + BN 4·4 = 128 (Keras); with BN as 2·4: 120 (PyTorch)
    found = problem("input 8x8x3\nconv3-4 pad 1, batchnorm params 120\n", "P302")
    assert "has 128 parameters" in found.message
    assert "batch norm counted as 2C (120)" in found.help[0]


def test_fix_grouped_convolution() -> None:
    # ungrouped 3·3·4·8 + 8 = 296; in two groups 3·3·2·8 + 8 = 152
    found = problem("input 8x8x4\nconv3-8 pad 1 params 152\n", "P302")
    assert "has 296 parameters" in found.message
    assert "convs grouped in 2" in found.help[0]


def test_k_1024_holds_with_a_note() -> None:
    # 1023·1024 + 1024 = 1,048,576 = 1.00 M with M = 1024², 1.05 M with M = 10⁶
    network = papernet.parse("input 1023\nFC-1024 params 1.00M\n", "k.pn")
    assert not network.errors()
    note = next(d for d in network.check() if d.code == "P302")
    assert "only with M = 1024²" in note.message


def test_flops_convention_is_the_spec_s_and_the_other_is_offered() -> None:
    # conv 3·3·3·4 at 8×8 (pad 1): 64·4·27 = 6,912 multiply-adds = 13,824 FLOPs at 2 per multiply-add
    body = "input 8x8x3\nconv3-4 pad 1\ntotal FLOPs 13,824\n"
    silent = problem(body, "P305")
    assert "costs 6,912 FLOPs" in silent.message
    assert "FLOPs taken as multiply-adds" in silent.notes[0]
    assert "13,824 fits FLOPs = 2 × multiply-adds (13,824)" in silent.help
    stated = papernet.parse("defaults:\n  flops: 2 multiply-adds\n" + body, "flops.pn")
    assert not stated.errors()
    row = rows(stated)[0]
    assert (row.verdict, row.note) == ("holds", "FLOPs = 2 × multiply-adds (the spec's convention)")
    wrong = problem("defaults:\n  flops: multiply-adds\n" + body, "P305")
    assert "13,824 fits FLOPs = 2 × multiply-adds (13,824)" in wrong.help


def test_fix_a_layer_left_out_of_a_total() -> None:
    # conv1: 3·3·3·8 + 8 = 224, conv2: 3·3·8·16 + 16 = 1,168, FC: 16·10 + 10 = 170 → 1,562
    text = "input 1x1x3\nconv3-8 pad 1\nconv3-16 pad 1\nFC-10\ntotal params 1,338\n"
    found = problem(text, "P304")
    assert "has 1,562 parameters" in found.message
    assert "conv3-8 left out (1,338)" in found.help[0]


def test_fix_for_a_wrong_output_size_names_the_padding() -> None:
    # (224 + 2·0 − 3)/1 + 1 = 222; pad 1 gives 224
    found = problem("input 224x224x3\nconv3-64 pad 0 -> 224×224×64\n", "P301")
    assert "gives 222×222×64" in found.message
    assert found.help[0].startswith("224×224 comes from pad 1")
    assert "later rows continue from the declared 224×224×64" in found.notes[0]


def test_fix_for_a_size_that_two_such_layers_give() -> None:
    found = problem("input 8x8x1\nmaxpool 2x2/2 -> 2×2×1\n", "P301")
    assert any("two of these layers" in line for line in found.help)


def test_unstated_stride_and_padding_are_inferred_from_the_table() -> None:
    network = papernet.parse("input 32x32x3\nconv3-8 -> 16x16x8\nconv3-8 -> 16x16x8\n", "s.pn")
    assert not network.errors()
    first, second = (n for n in network.graph.nodes if isinstance(n, ir.Conv2D))
    # 32 → 16 needs stride 2; no symmetric pad divides (32 + 2P − 3)/2 exactly, `same` gives ⌈32/2⌉
    assert (first.strides, first.padding) == ((2, 2), "same")
    assert first.origin("strides") is Origin.INFERRED
    # 16 → 16 at stride 1: the assumed `same` (pad 1 for a 3×3), which the table pins: pad 0 gives 14
    assert (second.strides, second.padding) == ((1, 1), "same")
    assert second.origin("padding") is Origin.INFERRED
    model_shapes = [layer.shape for layer in network.infer().layers]
    assert model_shapes[-1] == (16, 16, 8)


def test_a_stated_padding_is_never_changed() -> None:
    network = papernet.parse("input 32x32x3\nconv3-8 pad 0 -> 32x32x8\n", "p.pn")
    conv = next(n for n in network.graph.nodes if isinstance(n, ir.Conv2D))
    assert conv.padding == ((0, 0), (0, 0))
    assert any(d.code == "P301" for d in network.errors())


def test_the_rounding_is_not_inferred() -> None:
    """AlexNet's case: only `floor` would give 55, and rounding is a convention to state."""
    network = papernet.parse("input 224x224x3\nconv11-96/4 -> 55x55x96\n", "r.pn")
    # assumed `same`: ⌈224/4⌉ = 56, not 55, and no padding divides exactly
    assert [d.code for d in network.errors()] == ["P301"]
    assert "gives 56×56×96" in network.errors()[0].message
    stated = papernet.parse("defaults:\n  conv: floor\ninput 224x224x3\nconv11-96/4 -> 55x55x96\n", "r.pn")
    assert not stated.errors()
    conv = next(n for n in stated.graph.nodes if isinstance(n, ir.Conv2D))
    assert conv.padding == ((2, 2), (2, 2))  # (224 + 4 − 11)//4 + 1 = 55


def test_inferred_padding_reaches_keras() -> None:
    pytest.importorskip("keras")
    network = papernet.parse("input 16x16x3\nconv3-4 -> 16x16x4\nmax pool 3x3/2 -> 8x8x4\n", "k.pn")
    model = network.to_keras()
    assert tuple(model.output_shape[1:]) == (8, 8, 4)
    assert model.count_params() == 3 * 3 * 3 * 4 + 4


def test_check_writes_its_report_to_a_file(tmp_path: Path, run_cli: Any) -> None:
    out = tmp_path / "report.md"
    result = run_cli("check", "resnet18", "--format", "markdown", "-o", str(out))
    assert result.code == 0
    assert out.read_text(encoding="utf-8").startswith("## ResNet-18: the table's claims")


def test_resnet50_report_and_json(run_cli: Any, golden: Any) -> None:
    result = run_cli("check", "resnet50")
    assert result.code == 0, result.stderr
    golden.check("check/resnet50.report.txt", result.stdout)
    as_json = run_cli("check", "resnet50", "--format", "json")
    report = json.loads(as_json.stdout)
    assert report["inferred"] == [
        {"line": report["inferred"][0]["line"], "layer": "maxpool 3×3/2", "value": "padding same"}
    ]
    assert report["verdict"]["fail"] == 0
    golden.check("check/resnet50.json", as_json.stdout)


def test_vgg16_claimed_at_135m_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any, golden: Any) -> None:
    name = write(tmp_path, "vgg16_135m.pn", spec_text("vgg16").replace("total params 138M", "total params 135M"))
    code, out, _ = check_files(run_cli, monkeypatch, tmp_path, name, "--format", "json")
    assert code == 1
    claim = json.loads(out)["claims"][0]
    assert (claim["claim"], claim["declared"], claim["inferred"], claim["holds"]) == (
        "total params",
        "135M",
        "138,357,544",
        False,
    )
    golden.check("check/vgg16_135m.json", out)
