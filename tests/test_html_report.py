"""The HTML report in a real browser: headless Chromium renders it, with the diagram, and a small
script writes what the page measures into the DOM, which `--dump-dom` hands back.

Checked: a row per layer, the totals Keras counts (`keras.applications` VGG16 and ResNet50,
`count_params()`), a box per layer in the diagram, nothing wider than the page, and block rows
that fold their layers away without script of the report's own. Skipped only where Chromium is
missing and CI is not set; in CI (`.ci/run` installs Debian's chromium) it must run.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import papernet

KERAS_PARAMS = {"vgg16": 138_357_544, "resnet50": 25_636_712}  # keras.applications …(weights=None).count_params()

MEASURE = """
<script>
const visible = () => [...document.querySelectorAll("tr.pn-row")].filter(r => r.offsetParent !== null).length;
const page = document.documentElement.clientWidth;
const outside = [...document.querySelectorAll("body *")].filter(
  e => !e.closest(".pn-scroll") && e.getBoundingClientRect().right > page + 0.5);
const block = document.querySelector("tr.pn-block");
const before = visible();
if (block) block.querySelector("label").click();
const folded = visible();
if (block) block.querySelector("label").click();
const out = document.createElement("pre");
out.id = "pn-measure";
out.textContent = JSON.stringify({
  rows: document.querySelectorAll("tr.pn-row").length,
  total: document.querySelector("tr.pn-total td.num").textContent,
  boxes: document.querySelectorAll("svg g.node").length,
  scrollWidth: document.documentElement.scrollWidth,
  clientWidth: page,
  outside: outside.map(e => e.tagName + "." + e.className),
  firstBlock: block ? block.querySelector("label").textContent : null,
  before, folded, unfolded: visible(),
});
document.body.appendChild(out);
</script>
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must run the browser test (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")
    return found


def render(page: str, tmp_path: Path, width: int) -> dict[str, Any]:
    """Load `page` in headless Chromium `width` pixels wide; what MEASURE wrote."""
    path = tmp_path / "report.html"
    path.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={width},900",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    found = re.search(r'<pre id="pn-measure">(.*?)</pre>', done.stdout, re.S)
    assert found, f"chromium exited {done.returncode} without the measurements:\n{done.stderr[-2000:]}"
    measured: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return measured


def test_summary_page_in_a_browser(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("summary", "resnet50", "--format", "html")
    assert result.code == 0, result.stderr
    layers = len(papernet.load("resnet50").graph.nodes)
    measured = render(result.stdout, tmp_path, 800)
    assert measured["rows"] == layers
    assert measured["total"] == f"{KERAS_PARAMS['resnet50']:,}"
    assert measured["boxes"] == layers
    assert measured["scrollWidth"] <= measured["clientWidth"], measured
    assert measured["outside"] == []
    # conv2_x: 3 bottlenecks of 10 layers, and block 1's projection and its batch norm
    assert measured["firstBlock"].split() == ["conv2_x", "·", "32", "layers"]
    assert measured["before"] == layers
    assert measured["folded"] == layers - 32
    assert measured["unfolded"] == layers


def test_notebook_html_in_a_narrow_page(tmp_path: Path) -> None:
    """What `_repr_html_` gives, inside a notebook-like output area narrower than the table."""
    fragment = papernet.load("vgg16").summary()._repr_html_()
    assert not fragment.lstrip().startswith("<!DOCTYPE")
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f'<div style="max-width:480px;margin:0 auto">{fragment}</div></body></html>'
    )
    measured = render(page, tmp_path, 520)
    assert measured["rows"] == len(papernet.load("vgg16").graph.nodes)
    assert measured["total"] == f"{KERAS_PARAMS['vgg16']:,}"
    assert measured["boxes"] == measured["rows"]
    assert measured["scrollWidth"] <= measured["clientWidth"], measured
    assert measured["outside"] == []
    assert measured["firstBlock"] is None  # VGG has no blocks


def test_collapsed_summary_has_a_row_and_a_box_per_block(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("summary", "resnet50", "--format", "html", "--depth", "1")
    measured = render(result.stdout, tmp_path, 800)
    # the stem's input, conv, batch norm, ReLU and pool; the four stages; the pool and the FC
    assert measured["rows"] == 5 + 4 + 2
    assert measured["boxes"] == 5 + 4 + 2
    assert measured["total"] == f"{KERAS_PARAMS['resnet50']:,}"
    assert measured["scrollWidth"] <= measured["clientWidth"]


@pytest.mark.parametrize("spec", ["vgg16", "resnet18"])
def test_golden_html(spec: str, run_cli: Any, golden: Any) -> None:
    result = run_cli("summary", spec, "--format", "html")
    assert result.code == 0, result.stderr
    golden.check(f"diagram/{spec}_report.html", result.stdout)


def test_html_block_rows_carry_the_blocks_totals() -> None:
    """ResNet-18's conv2_x: two basic blocks of two 3×3, 64 convs with their batch norms (Keras
    counts 4C per BN), identity shortcuts; 7 layers a block (conv, BN, ReLU, conv, BN, add, ReLU)."""
    page = papernet.load("resnet18").summary().to_html()
    block = re.search(r'<tr class="pn-block pn-b1">(.*?)</tr>', page)
    assert block is not None
    conv, bn = 3 * 3 * 64 * 64 + 64, 4 * 64
    assert f'<td class="num">{4 * (conv + bn):,}</td>' in block.group(1)
    assert "· 14 layers" in block.group(1)
    assert page.count('<tr class="pn-block') == 4 + 8  # four stages of two blocks


def test_html_escapes_user_text() -> None:
    from dataclasses import replace

    net = papernet.parse("input 8x8x3\nconv3-4 padding same\n")
    net = replace(net, graph=replace(net.graph, name="<script>alert(1)</script>\x1b"))
    page = net.summary().to_html()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b" in page
