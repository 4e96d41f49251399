"""Explicit graphs: add/concat merges, @label references and user-defined blocks.

Meaning is checked through the IR and hand arithmetic; the live Keras model of a graph spec must
agree with papernet's inference node by node; bad graphs get golden diagnostics and exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import papernet
from papernet import ir

GRAPH = """\
network "graph"
input 32x32x16
block basic(f, s):
  conv 3x3, f, stride s, padding same, BN, relu
  conv 3x3, f, padding same, BN, linear
block pair(f):
  basic(f, 1)
  basic(f, 1)
stem: conv3-16 padding same
add(conv3-16 padding same -> conv3-16 padding same | identity), relu
add(conv3-16 padding same | @stem)
concat(conv1-8 | conv1-8 -> conv3-16 padding same | max pool 3x3/1 same -> conv1-8)
pair(32)
global avgpool, FC-10
"""


def nodes_named(net: papernet.Network) -> dict[str, ir.Node]:
    return {node.name: node for node in net.graph.nodes}


def test_identity_branch_adds_the_merge_input_itself() -> None:
    net = papernet.parse(GRAPH)
    names = nodes_named(net)
    add = next(n for n in net.graph.nodes if isinstance(n, ir.Add))
    stem_index = list(names).index("stem")
    # add(a -> b | identity): the second input is the tensor the merge started from, the stem
    assert add.inputs[1] == stem_index
    assert net.graph.nodes[add.inputs[0]].name != "stem"


def test_reference_goes_back_to_the_labelled_layer() -> None:
    net = papernet.parse(GRAPH)
    adds = [n for n in net.graph.nodes if isinstance(n, ir.Add)]
    assert len(adds) == 2
    assert net.graph.nodes[adds[1].inputs[1]].name == "stem"


def test_concat_adds_up_the_branch_channels() -> None:
    net = papernet.parse(GRAPH)
    inference = net.infer()
    index = next(i for i, n in enumerate(net.graph.nodes) if isinstance(n, ir.Concat))
    # conv1-8 | conv1-8 -> conv3-16 | pool -> conv1-8: 8 + 16 + 8 channels at 32×32
    assert inference.layers[index].shape == (32, 32, 32)
    assert len(net.graph.nodes[index].inputs) == 3


def test_every_use_of_a_block_expands_to_fresh_nodes() -> None:
    net = papernet.parse(GRAPH)
    convs = [n for n in net.graph.nodes if isinstance(n, ir.Conv2D) and n.scope]
    # pair(32) uses basic twice, each with two convs: four convs, four distinct names and nodes
    assert len(convs) == 4
    assert len({c.name for c in convs}) == 4
    assert {c.scope[:1] for c in convs} == {("pair1",)}
    assert {c.scope for c in convs} == {("pair1", "pair1_basic1"), ("pair1", "pair1_basic2")}
    assert all(c.filters == 32 for c in convs)


def test_block_arguments_take_the_place_of_the_parameters() -> None:
    text = "input 16x16x8\nblock down(f, s):\n  conv 3x3, f, stride s, padding same\ndown(24, 2)\n"
    (conv,) = [n for n in papernet.parse(text).graph.nodes if isinstance(n, ir.Conv2D)]
    assert (conv.filters, conv.strides) == (24, (2, 2))
    # 3·3·8·24 + 24 parameters, 8×8 output (same padding, stride 2)
    info = papernet.parse(text).infer().layers[-1]
    assert (info.params, info.shape) == (3 * 3 * 8 * 24 + 24, (8, 8, 24))


def test_graph_totals_by_hand() -> None:
    text = "input 8x8x4\nadd(conv3-4 padding same | identity)\n"
    net = papernet.parse(text)
    assert net.check() == []
    # one conv, 3·3·4·4 + 4; the add has none; MACs 8·8·4·(3·3·4)
    assert net.infer().total_params == 3 * 3 * 4 * 4 + 4
    assert net.infer().total_macs == 8 * 8 * 4 * 3 * 3 * 4


def test_live_keras_model_agrees_with_inference_node_by_node() -> None:
    keras = pytest.importorskip("keras")
    net = papernet.parse(GRAPH)
    inference = net.infer()
    model = net.to_keras()
    by_name = {layer.name: layer for layer in model.layers}
    for node, info in zip(net.graph.nodes, inference.layers, strict=True):
        layer = by_name[node.name]
        assert tuple(layer.output.shape[1:]) == info.shape, node.name
        assert layer.count_params() + _pad_params(by_name, node.name) == info.params, node.name
    assert model.count_params() == inference.total_params
    keras.backend.clear_session()


def _pad_params(by_name: dict[str, Any], name: str) -> int:
    pad = by_name.get(f"{name}_pad")
    return int(pad.count_params()) if pad is not None else 0


def test_generated_source_of_a_graph_builds_the_same_model() -> None:
    keras = pytest.importorskip("keras")
    net = papernet.parse(GRAPH)
    source = net.to_source()
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(source, "<graph>", "exec"), namespace)
    model = namespace["build_graph"]()
    live = net.to_keras()
    assert [(layer.name, tuple(layer.output.shape)) for layer in model.layers] == [
        (layer.name, tuple(layer.output.shape)) for layer in live.layers
    ]
    assert model.count_params() == live.count_params()
    keras.backend.clear_session()


# ---- bad graphs ---------------------------------------------------------------------------------

BAD = {
    # (32 + 2 − 3)/1 + 1 = 32 with padding same, (32 − 3)/1 + 1 = 30 without: the branches disagree
    "concat_spatial_mismatch": ("input 32x32x16\nconcat(conv3-8 padding same | conv3-8 padding valid)\n", "P210", 2, 1),
    "undefined_block": ("input 32x32x16\nblock basic(f):\n  conv3-8\nbsic(3)\n", "P118", 4, 1),
    "wrong_argument_count": ("input 32x32x16\nblock b(f):\n  conv3-8\nb(1, 2)\n", "P119", 4, 1),
    "block_uses_itself": ("input 32x32x16\nblock b(f):\n  b(f)\nb(1)\n", "P120", 3, 3),
    "blocks_use_each_other": ("input 32x32x16\nblock a(f):\n  c(f)\nblock c(f):\n  a(f)\na(1)\n", "P120", 5, 3),
    "reference_to_a_later_layer": (
        "input 32x32x16\nadd(conv3-16 padding same | @stem)\nstem: conv3-16 padding same\n",
        "P121",
        2,
        29,
    ),
    "undefined_label": ("input 32x32x16\nstem: conv3-16\nadd(conv3-14 | @stme)\n", "P118", 3, 16),
    "parameter_named_like_a_keyword": ("input 32x32x16\nblock b(pad):\n  conv3-8\nb(1)\n", "P122", 2, 1),
    "error_inside_a_block": ("input 32x32x16\nblock b(f):\n  conv3-f padding same, cnv\nb(8)\n", "P002", 3, 25),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_graph_is_reported(name: str, run_cli: Any, tmp_path: Path, golden: Any, monkeypatch: Any) -> None:
    text, code, line, column = BAD[name]
    (tmp_path / f"{name}.pn").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", f"{name}.pn")
    assert result.code == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{name}.pn:{line}:{column}: error[{code}]: "), result.stderr
    assert result.stderr.count("error[") == 1, result.stderr
    golden.check(f"graphs/{name}.txt", result.stderr)


def test_did_you_mean_for_a_misspelt_block_and_label(run_cli: Any, tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "a.pn").write_text(BAD["undefined_block"][0], encoding="utf-8")
    (tmp_path / "b.pn").write_text(BAD["undefined_label"][0], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert "did you mean `basic`?" in run_cli("check", "a.pn").stderr
    monkeypatch.chdir(tmp_path)
    assert "did you mean `@stem`?" in run_cli("check", "b.pn").stderr


@pytest.mark.parametrize("uses", ["", "b(8)\n", "b(8)\nb(16)\nb(8)\n"])
def test_an_error_inside_a_block_is_reported_once_where_it_is_written(uses: str) -> None:
    # the body is read once, when the spec is, whether the block is used never or three times
    text = "input 32x32x16\nblock b(f):\n  conv3-f padding same, cnv\n" + uses + "conv3-8\n"
    (problem,) = papernet.parse(text).check()
    assert (problem.code, problem.span.line, problem.span.column) == ("P002", 3, 25)
    assert "'cnv'" in problem.message


def test_a_merge_says_where_its_paths_see_different_windows() -> None:
    # identity path: the stem's 3×3 window; conv path: two more 3×3 convs, 3 + 2 + 2 = 7 pixels
    text = "input 16x16x4\nstem: conv3-4 padding same\nadd(conv3-4 padding same -> conv3-4 padding same | identity)\n"
    report = papernet.parse(text).summary()
    add = next(row for row in report.rows if row.kind == "add")
    assert add.receptive_field == 7
    assert add.notes == ("paths see 3 to 7 px; receptive field is the largest",)


def test_width_multiplier_matches_keras_mobilenet() -> None:
    """MobileNet's α (§4.2) as a setting: `conv: width 0.75` thins every conv to int(0.75·N)."""
    keras = pytest.importorskip("keras")
    from papernet.resources import shipped_specs

    text = shipped_specs()["mobilenet"].read_text(encoding="utf-8")
    text = text.replace(
        "conv: padding same, batchnorm, bias off", "conv: padding same, batchnorm, bias off, width 0.75"
    )
    text = "\n".join(line.split("->")[0] for line in text.splitlines())  # Table 1's sizes are for α = 1
    net = papernet.parse(text)
    assert net.errors() == []  # the spec keeps one note: its avg pool rests on the assumed padding
    reference = keras.applications.MobileNet(alpha=0.75, weights=None)
    assert net.infer().total_params == reference.count_params()
    non_trainable = sum(int(keras.ops.size(w)) for w in reference.non_trainable_weights)
    assert net.infer().total_params - net.infer().total_trainable == non_trainable
    keras.backend.clear_session()


def test_preactivation_places_batch_norm_before_each_conv() -> None:
    """`residual: preactivation` (He et al. 2016b): BN → ReLU → conv, the last conv into the add,
    no ReLU after it, the projection taken from the pre-activated input and without BN."""
    keras = pytest.importorskip("keras")
    text = "input 8x8x16\ndefaults:\n  conv: padding same\n  residual: shortcut B, preactivation\n"
    text += "[3×3, 32; 3×3, 32] ×2 /2\n"
    net = papernet.parse(text)
    assert net.check() == []
    kinds = [ir.kind_of(node) for node in net.graph.nodes]
    block = ["batchnorm", "activation", "conv", "batchnorm", "activation", "conv"]
    assert kinds == ["input", *block, "conv", "add", *block, "add"]
    projection = net.graph.nodes[7]
    assert isinstance(projection, ir.Conv2D) and projection.kernel_size == (1, 1)
    assert net.graph.nodes[projection.inputs[0]].name.endswith("_preact_relu")
    # by hand: BN 4·16; convs 3·3·16·32+32 and 3·3·32·32+32; BN 4·32; projection 16·32+32;
    # second block: BN 4·32, two convs 3·3·32·32+32, BN 4·32
    first = 4 * 16 + (3 * 3 * 16 * 32 + 32) + 4 * 32 + (3 * 3 * 32 * 32 + 32) + (16 * 32 + 32)
    second = 4 * 32 + 2 * (3 * 3 * 32 * 32 + 32) + 4 * 32
    assert net.infer().total_params == first + second
    assert net.to_keras().count_params() == first + second
    keras.backend.clear_session()
