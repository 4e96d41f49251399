"""Long runs of one character on a line: `papernet check` finishes with a diagnostic or a result,
never a hang, a traceback or an internal error. Some terminals look ahead along runs of spaces
(quadratic in the run), so a line longer than papernet's bound is P104 before the lexer runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = 50_000

CASES = {
    "spaces after a layer": "input 8x8x3\nconv3-8" + " " * RUN + "\n",
    "tabs after a layer": "input 8x8x3\nconv3-8" + "\t" * RUN + "\n",
    "spaces after a word": "input 8x8x3\nconv" + " " * RUN + "x\n",
    "spaces at top level": "input 8x8x3\n" + " " * RUN + "conv3-8\n",
    "spaces after a defaults kind": "input 8x8x3\ndefaults:\n  conv" + " " * RUN + "\nconv3-8\n",
    "tabs after a defaults kind": "input 8x8x3\ndefaults:\n  conv" + "\t" * RUN + ": stride 1\nconv3-8\n",
    "[": "input 8x8x3\n" + "[" * RUN + "\n",
    "(": "input 8x8x3\nconcat" + "(" * RUN + "\n",
    "digits": "input 8x8x3\n" + "1" * RUN + "\n",
    "x": "input 8x8x3\n3" + "x" * RUN + "\n",
    "-": "input 8x8x3\nconv3" + "-" * RUN + "\n",
    ",": "input 8x8x3\nconv3-8" + "," * RUN + "\n",
    "letters": "input 8x8x3\n" + "a" * RUN + "\n",
    "@": "input 8x8x3\n" + "@" * RUN + "\n",
    "arrows": "input 8x8x3\nconv3-8" + " ->" * (RUN // 3) + "\n",
}


def _check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    spec = tmp_path / "long.pn"
    spec.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "papernet", "check", str(spec)],
        capture_output=True,
        text=True,
        timeout=20,  # a hang guard, not a timing assertion
        env=env,
        check=False,
    )


@pytest.mark.parametrize("text", CASES.values(), ids=list(CASES))
def test_a_long_run_finishes_with_a_diagnostic(tmp_path: Path, text: str) -> None:
    result = _check(tmp_path, text)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "error[P104]" in result.stderr + result.stdout
    assert "bound is 10,000" in result.stderr + result.stdout


def test_a_line_at_the_bound_is_still_read(tmp_path: Path) -> None:
    # 10,000 characters exactly: the layer is read (VGG's conv3-8 on 8x8x3 is 3*3*3*8 + 8 = 224 params).
    line = "conv3-8"
    text = "input 8x8x3\n" + line + " " * (10_000 - len(line)) + "\n"
    result = _check(tmp_path, text)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "P104" not in result.stderr + result.stdout


def test_the_diagnostic_points_past_the_bound(tmp_path: Path) -> None:
    text = "input 8x8x3\nconv3-8\n" + "[" * 10_001 + "\n"
    result = _check(tmp_path, text)
    assert result.returncode == 1
    assert ":3:10001: error[P104]: line 3 is 10,001 characters long" in result.stderr + result.stdout


@pytest.mark.parametrize("word", ["a" * 9_000, "conv3-8, " * 1_100 + "cnvv"])
def test_a_long_line_is_shown_around_its_span(word: str, run_cli: Any, tmp_path: Path) -> None:
    # a 1,000,000-character unknown word once printed 3 MB; an excerpt is at most about 120
    # characters of the line and a message at most 400
    spec = tmp_path / "long.pn"
    spec.write_text(f"input 8x8x3\n{word}\n", encoding="utf-8")
    result = run_cli("check", str(spec))
    assert result.code == 1 and "Traceback" not in result.stderr
    assert len(result.stderr) < 2_000, len(result.stderr)
    excerpt = next(line for line in result.stderr.split("\n") if line.startswith("2 | "))
    assert "…" in excerpt


# ---- file size: refused from its size, before a byte is read ------------------------

BOUND = 10_000_000  # README: a spec or table file over 10 MB is P104


def _sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk and no time to make (`truncate -s`)."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


@pytest.mark.parametrize("size", [BOUND + 1, 50 * 1024 * 1024, 4 * 1024**4])
def test_a_spec_over_the_size_bound_is_p104_at_its_first_line(size: int, run_cli: Any, tmp_path: Path) -> None:
    spec = _sparse(tmp_path / "big.pn", size)
    result = run_cli("check", str(spec))
    assert result.code == 1, result.stderr
    assert f"{spec}:1:1: error[P104]: the file is {size:,} bytes; papernet's bound is 10,000,000" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_spec_over_the_size_bound_is_not_read(tmp_path: Path) -> None:
    # a 50 MB spec once took minutes and 3.85 GB before P104: now it is refused from its size,
    # so loading it allocates nothing near its 52 MB (reading it would)
    import tracemalloc

    import papernet
    from papernet.diagnostics import SpecError

    spec = _sparse(tmp_path / "big.pn", 50 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(SpecError) as raised:
            papernet.load(spec)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [d.code for d in raised.value.diagnostics] == ["P104"]
    assert peak < 1_000_000, peak


def test_a_spec_at_the_size_bound_is_read(tmp_path: Path) -> None:
    # exactly 10,000,000 bytes: a layer, then comment lines up to the bound (conv3-8 on 8x8x3: 3*3*3*8 + 8 = 224)
    import papernet

    head = "input 8x8x3\nconv3-8\n"
    comment = "#" + " " * 98 + "\n"  # 100 bytes a line
    body = comment * ((BOUND - len(head)) // len(comment))
    text = head + body + "#" * (BOUND - len(head) - len(body))
    assert len(text.encode()) == BOUND
    spec = tmp_path / "edge.pn"
    spec.write_text(text, encoding="utf-8")
    assert papernet.load(spec).summary().total_params == 224


def test_a_base_spec_over_the_bound_is_p104(run_cli: Any, tmp_path: Path) -> None:
    _sparse(tmp_path / "base.pn", 20 * 1024 * 1024)
    derived = tmp_path / "derived.pn"
    derived.write_text("from base\ninput 32x32x3\n", encoding="utf-8")
    result = run_cli("check", str(derived))
    assert result.code == 1, result.stderr
    assert "base.pn:1:1: error[P104]: the file is 20,971,520 bytes" in result.stderr


def test_a_table_over_the_bound_is_p104(run_cli: Any, tmp_path: Path) -> None:
    table = _sparse(tmp_path / "big.md", 50 * 1024 * 1024)
    output = tmp_path / "out.pn"
    result = run_cli("import-table", str(table), "-o", str(output))
    assert result.code == 1, result.stderr
    assert f"{table}:1:1: error[P104]: the file is 52,428,800 bytes" in result.stderr
    assert not output.exists()


def test_a_device_is_read_only_to_the_bound(tmp_path: Path) -> None:
    # a character device has no size to stat: /dev/zero is read to one byte past the bound, no further
    from papernet.files import TooLarge, read_bounded

    with pytest.raises(TooLarge) as raised:
        read_bounded(Path("/dev/zero"), bound=1000)
    assert raised.value.size is None
    assert "more than 1,000 bytes" in str(raised.value)


# ---- a summary at the layer bound: every row, right totals, in time linear in the rows --

ROWS = 99_999  # just under papernet's 100,000-layer bound
CYCLE = ("conv3-8 pad 1", "BN", "relu", "maxpool 1x1/1", "dropout 0.1")


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # input + 99,996 lines + the implicit flatten + FC-10 = 99,999 rows. Once 114 s and 754 MB
    # for the table; now seconds (bench/bench.py measures it; no clock here)
    import papernet

    body = [CYCLE[i % len(CYCLE)] for i in range(ROWS - 3)]
    spec = tmp_path_factory.mktemp("big") / "big.pn"
    spec.write_text("\n".join(['network "big"', "input 8x8x3", *body, "FC-10", ""]), encoding="utf-8")
    network = papernet.load(spec)
    assert not network.check()
    return network.summary()


def _big_totals() -> tuple[int, int]:
    # by hand: 20,000 convs (99,996 lines, every 5th from the first), the first on 3 channels
    # (3·3·3·8 + 8 = 224 params, 64 positions × 216 = 13,824 MACs), the rest on 8 (3·3·8·8 + 8 = 584,
    # 64 × 576 = 36,864); 19,999 BNs of 8 channels (4·8 = 32 params, Keras's count); FC-10 on
    # 8·8·8 = 512 values (5,130 params, 5,120 MACs)
    convs, bns = 20_000, 19_999
    params = 224 + (convs - 1) * 584 + bns * 32 + 5_130
    macs = 13_824 + (convs - 1) * 36_864 + 5_120
    return params, macs


def test_the_table_of_99999_layers_has_every_row_and_its_totals(big_report: Any) -> None:
    params, macs = _big_totals()
    lines = big_report.to_text().split("\n")
    rules = [i for i, line in enumerate(lines) if line.startswith("─")]
    assert len(rules) == 2 and rules[1] - rules[0] - 1 == ROWS
    rows = lines[rules[0] + 1 : rules[1]]
    assert rows[0].split()[:2] == ["0", "input"] and rows[-1].split()[:3] == [f"{ROWS - 1}", "fc1", "FC-10"]
    assert [int(row.split()[0]) for row in rows] == list(range(ROWS))
    assert f"params: {params:,} (trainable" in lines[rules[1] + 2]
    assert f"multiply-adds (MACs): {macs:,}" in lines[rules[1] + 3]


def test_the_json_and_html_of_99999_layers_have_every_row(big_report: Any) -> None:
    import json

    params, macs = _big_totals()
    text = big_report.to_json()
    assert text == json.dumps(big_report.to_dict(), indent=2, ensure_ascii=False) + "\n"  # json itself: the oracle
    data = json.loads(text)
    assert len(data["layers"]) == ROWS
    assert data["total"]["params"] == params == sum(layer["params"] for layer in data["layers"])
    assert data["total"]["macs"] == macs
    page = big_report.to_html()
    assert page.count('<tr class="pn-row">') == ROWS
    assert f"total · {ROWS} rows" in page


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "googlenet", "unet", "densenet121"])
def test_the_json_is_what_the_json_module_writes(name: str) -> None:
    # to_json writes a row at a time; json.dumps of the same dict is the oracle, byte for byte
    import json

    import papernet

    report = papernet.load(name).summary()
    assert report.to_json() == json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    collapsed = papernet.load(name).summary(depth=1)
    assert collapsed.to_json() == json.dumps(collapsed.to_dict(), indent=2, ensure_ascii=False) + "\n"


def test_the_json_of_odd_names_is_what_the_json_module_writes() -> None:
    import json

    import papernet

    spec = 'network "a \\\\ title\tü 漢字 \x07 %s"\ninput 8x8x3\nconv_ü1: conv3-8\n漢: FC-10\n'
    report = papernet.parse(spec).summary()
    assert report.to_json() == json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    assert report.to_dict()["network"].endswith("%s")
