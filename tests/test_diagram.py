"""`papernet diagram`: golden SVGs, one box per layer (or per collapsed block), the figures in
each box's tooltip, XML-safe text, Graphviz DOT, and the same bytes whatever the hash seed.

Expected counts come from the papers (VGG-16's 13 convs, ResNet-50's 53 and 16 adds,
GoogLeNet's 57 and 9 concats) or from the IR counted here; expected figures are arithmetic
done by hand in the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN, ROOT

import papernet
from papernet.diagram import draw

SVG = "{http://www.w3.org/2000/svg}"
GOLDENS = {  # golden file: (spec, extra arguments)
    "vgg16.svg": ("vgg16", ()),
    "resnet50.svg": ("resnet50", ()),
    "resnet50_depth1.svg": ("resnet50", ("--depth", "1")),
    "googlenet.svg": ("googlenet", ()),
}


def boxes(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


def labels(svg: str) -> list[str]:
    """Each box's first line: the layer in the paper's notation, or the block's name."""
    return [box.findall(f"{SVG}text")[0].text or "" for box in boxes(svg)]


def tooltip(box: ET.Element) -> str:
    title = box.find(f"{SVG}title")
    assert title is not None
    return title.text or ""


def runs(spec: str, depth: int) -> int:
    """Boxes at `depth`, counted from the IR: a layer outside any block nested `depth` deep is a
    box; consecutive layers of one such block are one box."""
    count, previous = 0, None
    for node in papernet.load(spec).graph.nodes:
        key = node.scope[:depth] if len(node.scope) >= depth else None
        count += key is None or key != previous
        previous = key
    return count


@pytest.mark.parametrize("name", GOLDENS)
def test_golden_svg(name: str, run_cli: Any, golden: Any) -> None:
    spec, extra = GOLDENS[name]
    result = run_cli("diagram", spec, *extra)
    assert result.code == 0, result.stderr
    golden.check(f"diagram/{name}", result.stdout)


@pytest.mark.parametrize("name", GOLDENS)
def test_golden_svg_is_xml_with_one_box_per_layer_or_block(name: str) -> None:
    spec, extra = GOLDENS[name]
    svg = (GOLDEN / "diagram" / name).read_text(encoding="utf-8")
    depth = int(extra[1]) if extra else None
    expected = len(papernet.load(spec).graph.nodes) if depth is None else runs(spec, depth)
    assert len(boxes(svg)) == expected


def test_boxes_say_what_the_papers_count() -> None:
    vgg = labels(papernet.load("vgg16").diagram())
    assert sum(label.startswith("conv") for label in vgg) == 13  # Table 1, column D
    assert sum(label.startswith("FC-") for label in vgg) == 3
    assert sum(label.startswith("maxpool") for label in vgg) == 5
    resnet = labels(papernet.load("resnet50").diagram())
    assert sum(label.startswith("conv") for label in resnet) == 1 + 16 * 3 + 4  # stem, 16 bottlenecks, 4 projections
    assert resnet.count("add") == 16
    googlenet = labels(papernet.load("googlenet").diagram())
    assert sum(label.startswith("conv") for label in googlenet) == 3 + 9 * 6  # stem, nine modules of six convs
    assert googlenet.count("concat") == 9


def test_resnet50_depth1_is_the_stem_the_four_stages_and_the_head() -> None:
    svg = papernet.load("resnet50").diagram(depth=1)
    blocks = [box for box in boxes(svg) if box.get("data-kind") == "block"]
    assert [b.findall(f"{SVG}text")[0].text for b in blocks] == ["conv2_x", "conv3_x", "conv4_x", "conv5_x"]
    # conv2_x: three bottlenecks of 3 convs, 3 BNs, 3 ReLUs and an add, plus block 1's projection and its BN
    assert blocks[0].findall(f"{SVG}text")[1].text == "56×56×256 · 32 layers · 220K params"
    # Keras's counts by hand: block 1 = (64·64+64) + (9·64·64+64) + (64·256+256) + projection (64·256+256)
    # + BNs 4·(64+64+256+256); blocks 2 and 3 = (256·64+64) + (9·64·64+64) + (64·256+256) + 4·(64+64+256)
    first = 4160 + 36928 + 16640 + 16640 + 4 * 640
    other = 16448 + 36928 + 16640 + 4 * 384
    assert f"params {first + 2 * other:,}" in tooltip(blocks[0])


def test_tooltip_has_params_macs_and_receptive_field() -> None:
    first_conv = boxes(papernet.load("vgg16").diagram())[1]
    text = tooltip(first_conv)
    assert f"params {3 * 3 * 3 * 64 + 64:,}" in text
    assert f"MACs {224 * 224 * 64 * 3 * 3 * 3:,}" in text
    assert "receptive field 3 px" in text
    third_conv = boxes(papernet.load("vgg16").diagram())[4]  # after conv, conv, pool: 3 + 2 + 2·2 = 10
    assert "receptive field 10 px, effective stride 2" in tooltip(third_conv)


def test_residual_block_is_drawn_as_branches_side_by_side() -> None:
    """The projection shortcut sits beside the main path, not below it."""
    svg = papernet.load("resnet50").diagram()
    by_name = {tooltip(box).split(" ·")[0]: box.find(f"{SVG}rect") for box in boxes(svg)}
    main, shortcut = by_name["conv2_x_block1_1_conv"], by_name["conv2_x_block1_0_conv"]
    add = by_name["conv2_x_block1_add"]
    assert main is not None and shortcut is not None and add is not None
    assert main.get("y") == shortcut.get("y")
    assert int(shortcut.get("x") or 0) > int(main.get("x") or 0)
    assert int(add.get("y") or 0) > int(main.get("y") or 0)


def test_user_text_is_escaped_for_xml_and_dot(tmp_path: Path) -> None:
    """Any name the spec or the API gives, markup and control characters included."""
    net = papernet.parse("input 8x8x3\nconv3-4 padding same\n")
    net = replace(net, graph=replace(net.graph, name='a <b> & "c" \\ d\x07'))
    root = ET.fromstring(net.diagram())
    assert root.findtext(f"{SVG}title") == 'a <b> & "c" \\ d\\x07'  # the bell shown, not sent
    dot = net.diagram(format="dot")
    assert dot.startswith('digraph "a <b> & \\"c\\" \\\\ d\\\\x07" {')


def test_depth_and_format_are_checked() -> None:
    net = papernet.load("vgg11")
    with pytest.raises(ValueError, match="depth"):
        net.diagram(depth=0)
    with pytest.raises(ValueError, match="format"):
        net.diagram(format="png")  # type: ignore[arg-type]


def test_dot_has_a_node_per_box_and_the_graphs_edges() -> None:
    net = papernet.load("googlenet")
    dot = net.diagram(format="dot")
    edges = {(i, n) for n, node in enumerate(net.graph.nodes) for i in node.inputs}
    assert dot.count(" -> ") == len(edges)
    assert dot.count("[label=") == len(net.graph.nodes)
    assert dot.count("subgraph cluster_") == 9
    collapsed = papernet.load("resnet50").diagram(depth=1, format="dot")
    assert collapsed.count("[label=") == runs("resnet50", 1)
    assert "subgraph" not in collapsed


def test_a_graph_that_is_not_series_parallel_is_one_column_with_every_edge() -> None:
    """A skip from the stem across a residual block: the block's fork no longer ends at one join."""
    text = (
        "input 16x16x8\nstem: conv3-8 padding same\n"
        "add(conv3-8 padding same -> conv3-8 padding same | identity), relu\n"
        "add(conv3-8 padding same | @stem)\n"
    )
    net = papernet.parse(text)
    svg = net.diagram()
    root = ET.fromstring(svg)
    assert len(boxes(svg)) == len(net.graph.nodes)
    edges = {(i, n) for n, node in enumerate(net.graph.nodes) for i in node.inputs}
    drawn = [p for p in root.iter(f"{SVG}path")]
    assert len(drawn) == len(edges)
    xs = {box.find(f"{SVG}rect").get("x") for box in boxes(svg)}  # type: ignore[union-attr]
    assert len(xs) == 1


def test_command_line(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "vgg.svg"
    result = run_cli("diagram", "vgg16", "--classes", "10", "--input", "32x32x3", "-o", str(out))
    assert result.code == 0, result.stderr
    svg = out.read_text(encoding="utf-8")
    assert labels(svg)[-1] == "FC-10"
    assert boxes(svg)[0].findall(f"{SVG}text")[1].text == "32×32×3"
    assert run_cli("diagram", "vgg16", "--format", "dot").stdout.startswith('digraph "VGG-16"')
    assert run_cli("diagram", "vgg16", "--depth", "0").code == 2
    assert run_cli("diagram", "vgg16", "--format", "png").code == 2
    assert run_cli("diagram", "no_such_spec").code == 2


def test_a_spec_with_errors_is_drawn_with_unknown_shapes_and_exits_1(
    run_cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    spec = tmp_path / "bad.pn"
    spec.write_text("input 8x8x3\nconv9-4 padding valid\nFC-10\n", encoding="utf-8")  # a 9×9 kernel on 8×8
    result = run_cli("diagram", str(spec))
    assert result.code == 1
    assert "error[" in result.stderr
    assert [box.findall(f"{SVG}text")[1].text for box in boxes(result.stdout)][-1] == "?"


def test_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    for name, (spec, extra) in GOLDENS.items():
        outputs = []
        for seed in ("0", "4242"):
            env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
            done = subprocess.run(
                [sys.executable, "-m", "papernet", "diagram", spec, *extra],
                capture_output=True,
                env=env,
                cwd=tmp_path,
                check=True,
            )
            outputs.append(done.stdout)
        assert outputs[0] == outputs[1], name
        assert outputs[0] == (GOLDEN / "diagram" / name).read_bytes(), name


README_PICTURES = {"resnet50_depth2.svg": ("resnet50", ("--depth", "2")), "resnet50.svg": ("resnet50", ())}


@pytest.mark.parametrize("name", README_PICTURES)
def test_readme_pictures_are_what_the_command_draws(name: str, run_cli: Any, golden: Any) -> None:
    spec, extra = README_PICTURES[name]
    drawn = run_cli("diagram", spec, *extra).stdout
    path = ROOT / "docs" / name
    if golden.update:
        path.write_text(drawn, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == drawn, f"{path} is out of date; run pytest --update-golden"


def test_an_input_that_is_not_before_its_node_still_draws_every_box() -> None:
    """The IR never makes one, but the drawing must not fall over if it did."""
    net = papernet.parse("input 8x8x3\nconv3-4 padding same\nconv3-4 padding same\n")
    nodes = list(net.graph.nodes)
    nodes[1] = replace(nodes[1], inputs=(2,))
    graph = replace(net.graph, nodes=tuple(nodes))
    assert len(boxes(draw(graph, net.infer()))) == 3
    assert draw(graph, net.infer(), format="dot").count("[label=") == 3
