"""Published errata: tables transcribed exactly as printed, with the verdict, the line and the fix.

Each test types a real table (or the text around it) the way the paper or the notes print it,
and asserts what a reviewer checking it by hand would conclude. Expected figures come from the
papers and from arithmetic done here, in the test, never from papernet:

- AlexNet (Krizhevsky et al. 2012), §3.5 and Fig. 2's neuron counts;
- ZFNet (Zeiler & Fergus 2014), Fig. 3;
- VGG (Simonyan & Zisserman 2015), Table 1 column A typed with no `defaults:`, Table 2's 133M;
- cs231n's VGG-16 breakdown (memory and weights per layer, "TOTAL memory: 24M * 4 bytes ~= 93MB");
- ResNet (He et al. 2016), Table 1 with §4.1 (3.8×10⁹ multiply-adds for ResNet-50; stage sizes);
- MobileNet (Howard et al. 2017), Table 1 ("Conv dw / s2" at 7×7) and Table 2 (1.19% of mult-adds).

Rendered diagnostics for the new messages are golden files (tests/golden/errata/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from networks import VGG11_TABLE1_A

import papernet
from papernet import ir

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def spec_text(name: str) -> str:
    return (SPECS / f"{name}.pn").read_text(encoding="utf-8")


def line_of(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def diagnostics(text: str, name: str = "table.pn") -> list[Any]:
    return papernet.parse(text, name).check()


def rendered(text: str, name: str) -> str:
    from papernet.diagnostics import render_all

    network = papernet.parse(text, name)
    return render_all(network.check(), network.sources) + "\n"


# ---- AlexNet, Fig. 2: "neurons 253,440–186,624–64,896–64,896–43,264–4096–4096–1000" ---------

ALEXNET_NEURONS = [253_440, 186_624, 64_896, 64_896, 43_264, 4096, 4096, 1000]


def alexnet_with_neurons() -> str:
    rows = ["conv1:", "conv2:", "conv3:", "conv4:", "conv5:", "fc6:", "fc7:", "fc8:"]
    lines = []
    for line in spec_text("alexnet").splitlines():
        for label, count in zip(rows, ALEXNET_NEURONS, strict=True):
            if line.startswith(label):
                head, _, _ = line.partition(", softmax") if label == "fc8:" else (line, "", "")
                line = f"{head}  neurons {count:,}" + (", softmax" if label == "fc8:" else "")
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_alexnet_fig2_first_neuron_count_is_not_55_55_96(golden: Any) -> None:
    """55·55·96 = 290,400, not Fig. 2's 253,440; 27·27·256 = 186,624, 13·13·384 = 64,896 and
    13·13·256 = 43,264 hold, as do the FC widths. 253,440 / 96 = 2,640, not a square."""
    text = alexnet_with_neurons()
    network = papernet.parse(text, "alexnet_neurons.pn")
    rows = [r for r in network.reconcile().rows if r.quantity == "neurons"]
    assert [r.verdict for r in rows] == ["fails"] + ["holds"] * 7
    problem = next(d for d in network.check() if d.code == "P306")
    assert problem.span.line == line_of(text, "conv1:")
    assert "55·55·96 = 290,400" in problem.message and problem.message.endswith("not 253,440")
    assert 253_440 // 96 == 2640 and 51 * 51 < 2640 < 52 * 52
    assert problem.help == ("253,440 is 2,640 values per channel, not a square: no H×H output gives it",)
    golden.check("errata/alexnet_neurons.txt", rendered(text, "alexnet_neurons.pn"))


def test_a_bare_count_after_the_arrow_is_an_element_count() -> None:
    """`-> 290400` on conv1: 55·55·96 = 290,400 values, the way Fig. 2 prints its sizes."""
    network = papernet.parse("input 227x227x3\nconv11-96/4 padding valid -> 290400\n", "count.pn")
    row = network.reconcile().rows[0]
    assert (row.verdict, row.note) == ("holds", "an element count: 55·55·96 = 290,400")
    wrong = papernet.parse("input 227x227x3\nconv11-96/4 padding valid -> 253440\n", "count.pn").check()
    assert [d.code for d in wrong if d.is_error] == ["P301"]
    assert "holds 55·55·96 = 290,400 values" in wrong[0].message


def test_alexnet_60_million_is_read_to_one_significant_figure() -> None:
    """§1: "60 million parameters". Two GPUs' grouped convs: conv2 5·5·48·256, conv4 3·3·192·384,
    conv5 3·3·192·256 (+ biases) give 60,965,224 — 61.0M, not 60M to the unit, but 60M to the one
    significant figure "60 million" has (±5M), and within 5% of it."""
    grouped = (
        (11 * 11 * 3 * 96 + 96)
        + (5 * 5 * 48 * 256 + 256)
        + (3 * 3 * 256 * 384 + 384)
        + (3 * 3 * 192 * 384 + 384)
        + (3 * 3 * 192 * 256 + 256)
        + (6 * 6 * 256 * 4096 + 4096)
        + (4096 * 4096 + 4096)
        + (4096 * 1000 + 1000)
    )
    assert grouped == 60_965_224
    network = papernet.parse(spec_text("alexnet_grouped") + "total params 60M\n", "alexnet60.pn")
    assert network.infer().total_params == grouped
    row = next(r for r in network.reconcile().rows if r.quantity == "total params")
    assert row.verdict == "holds"
    assert row.note == "read to 1 significant figure (its trailing zeros are not significant)"
    # A figure far off is not rescued by its trailing zero: 100M is 64% off.
    far = papernet.parse(spec_text("alexnet_grouped") + "total params 100M\n", "alexnet100.pn")
    assert any(d.code == "P304" for d in far.errors())


# ---- ZFNet, Fig. 3 -----------------------------------------------------------------------------

ZFNET_FIG3 = """\
network "ZFNet, Fig. 3"
input 224x224x3
conv 7x7/2, 96     -> 110x110x96
max pool 3x3/2     -> 55x55x96
conv 5x5/2, 256    -> 26x26x256
max pool 3x3/2     -> 13x13x256
conv 3x3, 384      -> 13x13x384
conv 3x3, 384      -> 13x13x384
conv 3x3, 256      -> 13x13x256
max pool 3x3/2     -> 6x6x256
FC-4096, FC-4096, FC-1000
"""


def test_zfnet_layer1_needs_pad_1_with_floor_and_the_rest_holds() -> None:
    """(224 − 7)/2 + 1 = 109.5 unpadded and 112 with `same`; 110 needs (224 + 2 − 7)//2 + 1 = 110
    (pad 1, floored) or a 225 input. Every later size follows: (55 − 5)/2 + 1 = 26, 13 → 6."""
    network = papernet.parse(ZFNET_FIG3, "zfnet.pn")
    outputs = [r for r in network.reconcile().rows if r.quantity == "output"]
    assert [r.verdict for r in outputs] == ["fails"] + ["holds"] * 7
    problem = next(d for d in network.errors() if d.code in ("P201", "P301"))
    assert problem.span.line == 3
    text = " ".join(problem.help)
    assert "pad 1" in text and "floor" in text
    # (110 − 1)·2 + 7 = 225: the input that gives 110 with no padding and no rounding
    assert "input 225×225×3: with pad 0 it gives 110×110 exactly" in text


# ---- SqueezeNet v1.0, Table 1 ------------------------------------------------------------------

SQUEEZENET_TABLE1 = """\
network "SqueezeNet v1.0, Table 1"
input 224x224x3
block fire(s, e):
  conv 1x1, s
  concat(conv 1x1, e | conv 3x3, e)
conv1: conv 7x7/2, 96 -> 111x111x96
maxpool1: maxpool 3x3/2 -> 55x55x96
fire2: fire(16, 64) -> 55x55x128 params 11920
fire3: fire(16, 64) -> 55x55x128 params 12432
fire4: fire(32, 128) -> 55x55x256 params 45344
maxpool4: maxpool 3x3/2 -> 27x27x256
fire5: fire(32, 128) -> 27x27x256 params 49440
fire6: fire(48, 192) -> 27x27x384 params 104880
fire7: fire(48, 192) -> 27x27x384 params 111024
fire8: fire(64, 256) -> 27x27x512 params 188992
maxpool8: maxpool 3x3/2 -> 13x13x512
fire9: fire(64, 256) -> 13x13x512 params 197184
conv10: conv 1x1, 1000 -> 13x13x1000
avgpool10: avgpool 13x13/1 -> 1x1x1000
total params 1248424
"""


def test_squeezenet_table1_holds_but_for_conv1_whose_input_is_227() -> None:
    """Every fire module's count is the paper's (fire2: 96·16 + 16, 16·64 + 64, 9·16·64 + 64 =
    11,920), and so is the 1,248,424 total; conv1's 111×111 is (227 − 7)/2 + 1, the input the
    reference implementation uses, not the 224 the table prints."""
    network = papernet.parse(SQUEEZENET_TABLE1, "squeezenet.pn")
    failing = [r for r in network.reconcile().rows if r.verdict != "holds"]
    assert [(r.span.line, r.quantity) for r in failing] == [(6, "output")]
    (problem,) = network.errors()
    assert "input 227×227×3: with pad 0 it gives 111×111 exactly" in " ".join(problem.help)


def test_squeezenet_fire_modules_concat_pins_their_padding_so_no_note_says_otherwise() -> None:
    # an unpadded 3×3 beside the 1×1 (55 − 3 + 1 = 53 against 55) could not be concatenated:
    # the `same` the fire module's 3×3 is assumed to have is the only reading, not a guess
    network = papernet.parse(SQUEEZENET_TABLE1, "squeezenet.pn")
    assert not [d for d in network.check() if d.code == "P312"]
    unpinned = papernet.parse("input 32x32x3\nconv3-8\nconv3-8\n", "plain.pn")
    assert [d.code for d in unpinned.check()] == ["P312"]


# ---- VGG, Table 1 column A typed with no `defaults:` ------------------------------------------

VGG11_AS_TYPED = f"""\
network "VGG-11, Table 1 column A"
{VGG11_TABLE1_A}FC-1000, soft-max
total params 133M
"""
VGG11_PARAMS = 132_863_336  # Table 2's 133M; the reference README's exact count


def test_vgg11_typed_without_defaults_names_the_assumed_padding() -> None:
    """§2.1: "the padding is 1 pixel for 3×3 conv. layers". With the convs unpadded the network
    is not VGG-11; with them size-preserving it has 132,863,336 parameters = 133M."""
    network = papernet.parse(VGG11_AS_TYPED, "vgg11_typed.pn")
    convs = [n for n in network.graph.nodes if isinstance(n, ir.Conv2D)]
    assert len(convs) == 8 and all(n.origin("padding") is ir.Origin.ASSUMED for n in convs)
    found = network.check()
    note = next(d for d in found if d.code == "P312")
    assert found[-1] is note, "the note about the whole spec comes last"
    if convs[0].padding == "same":
        # Every 3×3 conv changes size between same and valid; the 2×2/2 pools on even sizes do not.
        assert note.message.startswith("8 layers rest on the assumed `padding same`")
        assert "`conv: padding valid`" in note.help[0]
        assert network.infer().total_params == VGG11_PARAMS
        assert not network.errors()
    else:
        assert "rest on the assumed `padding valid`" in note.message
        assert "`conv: padding same`" in note.help[0]
        total = next(d for d in found if d.code == "P304")
        assert total.span.line == 9
        assert total.help[0].startswith("133M fits `padding same` on the ")
        assert f"({VGG11_PARAMS:,})" in total.help[0]
        shape_errors = [d for d in found if d.code == "P201"]
        assert shape_errors and all(d.help[0].startswith("the padding was assumed") for d in shape_errors)


# ---- cs231n, the VGG-16 breakdown ------------------------------------------------------------

# (row, output H, C, printed memory, printed weights) as the notes print them
CS231N_ROWS = [
    ("conv3-64", 224, 64, "3.2M", "1,728"),
    ("conv3-64", 224, 64, "3.2M", "36,864"),
    ("maxpool", 112, 64, "800K", ""),
    ("conv3-128", 112, 128, "1.6M", "73,728"),
    ("conv3-128", 112, 128, "1.6M", "147,456"),
    ("maxpool", 56, 128, "400K", ""),
    ("conv3-256", 56, 256, "800K", "294,912"),
    ("conv3-256", 56, 256, "800K", "589,824"),
    ("conv3-256", 56, 256, "800K", "589,824"),
    ("maxpool", 28, 256, "200K", ""),
    ("conv3-512", 28, 512, "400K", "1,179,648"),
    ("conv3-512", 28, 512, "400K", "2,359,296"),
    ("conv3-512", 28, 512, "400K", "2,359,296"),
    ("maxpool", 14, 512, "100K", ""),
    ("conv3-512", 14, 512, "100K", "2,359,296"),
    ("conv3-512", 14, 512, "100K", "2,359,296"),
    ("conv3-512", 14, 512, "100K", "2,359,296"),
    ("maxpool", 7, 512, "25K", ""),
]
CS231N_FC = [("FC-4096", 4096, "102,760,448"), ("FC-4096", 4096, "16,777,216"), ("FC-1000", 1000, "4,096,000")]


def cs231n_spec() -> str:
    lines = ['network "VGG-16 (cs231n)"', "input 224x224x3", "defaults:", "  conv: padding same"]
    for row, size, channels, memory, weights in CS231N_ROWS:
        claim = f"-> {size}x{size}x{channels}  memory {memory}" + (f"  params {weights}" if weights else "")
        lines.append(f"{row} {claim}")
    lines += [f"{row} memory {memory}  params {weights}" for row, memory, weights in CS231N_FC]
    lines += ["total memory 24M", "total memory 93MB", "total params 138M"]
    return "\n".join(lines) + "\n"


def cs231n_memory_by_hand() -> int:
    """The input and every row's output, as the notes count "memory"."""
    return 224 * 224 * 3 + sum(size * size * c for _, size, c, _, _ in CS231N_ROWS) + 4096 + 4096 + 1000


def test_cs231n_counts_weights_only_and_every_row_holds_under_it() -> None:
    """Weights only: (3·3·3)·64 = 1,728 … 4096·1000 = 4,096,000; their sum, 138,344,128, is the
    notes' "138M", and so is the column's own sum."""
    network = papernet.parse(cs231n_spec(), "cs231n_vgg16.pn")
    reconciliation = network.reconcile()
    params = [r for r in reconciliation.rows if r.quantity == "params"]
    assert len(params) == 16 and all(r.verdict == "holds" for r in params)
    assert reconciliation.reading is not None and reconciliation.reading.describe().startswith("weights without biases")
    assert reconciliation.verdict().startswith("this table counts weights without biases, K = 1000: 17 of 17")
    weights = sum(int(w.replace(",", "")) for *_, w in CS231N_ROWS if w) + 102_760_448 + 16_777_216 + 4_096_000
    assert weights == 138_344_128
    column = next(r for r in reconciliation.rows if r.quantity == "total params = the column's sum")
    assert (column.verdict, column.inferred) == ("holds", f"{weights:,} (138.3M)")


def test_cs231n_total_memory_24m_is_the_sum_of_nothing_printed(golden: Any) -> None:
    """The rows hold (3.2M = 224·224·64 = 3,211,264; "800K" for 802,816 to its one significant
    figure), but they sum to 15,237,608 values, not "24M"; at 4 bytes, 60,950,432 bytes, not 93MB."""
    values = cs231n_memory_by_hand()
    assert values == 15_237_608
    text = cs231n_spec()
    network = papernet.parse(text, "cs231n_vgg16.pn")
    memory = [r for r in network.reconcile().rows if r.quantity == "memory"]
    assert len(memory) == 21 and all(r.verdict == "holds" for r in memory)
    found = {d.span.line: d for d in network.errors()}
    values_line, bytes_line = line_of(text, "total memory 24M"), line_of(text, "total memory 93MB")
    assert set(found) == {values_line, bytes_line}
    assert found[values_line].message == (f"the network stores {values:,} activation values per image (15.2M), not 24M")
    # The printed column itself: 2·3.2M + 800K + 2·1.6M + 400K + 3·800K + 200K + 3·400K + 100K
    # + 3·100K + 25K + 4096 + 4096 + 1000 = 15,034,192, nowhere near 24M either.
    printed = 2 * 3.2e6 + 800e3 + 2 * 1.6e6 + 400e3 + 3 * 800e3 + 200e3 + 3 * 400e3 + 100e3 + 3 * 100e3 + 25e3 + 9192
    assert f"the table's own memory column sums to {round(printed):,} (15.0M)" in found[values_line].help[1]
    assert f"{values * 4:,} bytes at 4 a value, not 93MB" in found[bytes_line].message
    assert f"that is {values * 4 / 1e6:.1f}MB, or {values * 4 / 2**20:.1f}MB with MB = 1024² bytes" in (
        found[bytes_line].help
    )
    golden.check("errata/cs231n_memory.txt", rendered(text, "cs231n_vgg16.pn"))


# ---- ResNet, Table 1 with §4.1 ----------------------------------------------------------------


def test_resnet50_38_is_3858_truncated_and_the_help_says_so() -> None:
    """Table 1 prints 3.8×10⁹ for ResNet-50, whose multiply-adds are 3,857,973,248 = 3.86×10⁹:
    rounded that is 3.9, cut to one decimal 3.8. One figure cannot show which the table does."""
    text = spec_text("resnet50") + "total FLOPs 3.8G\n"
    problem = next(d for d in diagnostics(text, "resnet50.pn") if d.code == "P305")
    assert problem.message == "the network costs 3,857,973,248 FLOPs (3.86G), not 3.8G"
    assert problem.help[0] == "3.8G fits truncated rather than rounded (3,857,973,248)"


def test_resnet_flops_are_never_read_with_g_1024() -> None:
    """1024³ is a prefix for memory and parameters, never for multiply-adds: 3,857,973,248 / 1024³
    = 3.59, which must not make a "3.6G" claim hold."""
    assert round(3_857_973_248 / 1024**3, 1) == 3.6
    text = spec_text("resnet50") + "total FLOPs 3.6G\n"
    problem = next(d for d in diagnostics(text, "resnet50.pn") if d.code == "P305")
    assert problem.is_error and not any("1024" in line for line in problem.help)


def test_resnet_stage_without_its_stride_fails_once_and_names_the_missing_2() -> None:
    """conv3_x typed without its `/2` gives 56×56, not Table 1's 28×28; conv4_x and conv5_x
    still hold (14×14, 7×7: they continue from the declared 28×28), and the FLOPs total names
    the row to fix first."""
    text = spec_text("resnet18").replace("conv3_x: [3×3, 128; 3×3, 128] ×2 /2 ", "conv3_x: [3×3, 128; 3×3, 128] ×2    ")
    network = papernet.parse(text, "resnet18_typo.pn")
    outputs = {r.layer: r.verdict for r in network.reconcile().rows if r.quantity == "output"}
    assert outputs["conv3_x"] == "fails"
    assert outputs["conv4_x"] == outputs["conv5_x"] == "holds"
    errors = network.errors()
    shape = next(d for d in errors if d.code == "P301")
    assert shape.span.line == line_of(text, "conv3_x:")
    assert shape.message.startswith("conv3_x is declared to give 28×28")
    assert shape.help == ("28×28 is its input 56×56 downsampled by 2: is a `/2` missing?",)
    total = next(d for d in errors if d.code == "P305")
    assert total.help[0].startswith(f"first fix the row whose size does not hold: conv3_x (line {shape.span.line})")


# ---- MobileNet, Tables 1 and 2 -----------------------------------------------------------------

# Table 1 after the first conv: (depthwise output size, channels in, pointwise channels out)
MOBILENET_BODY = [
    (112, 32, 64),
    (56, 64, 128),
    (56, 128, 128),
    (28, 128, 256),
    (28, 256, 256),
    (14, 256, 512),
    *[(14, 512, 512)] * 5,
    (7, 512, 1024),
    (7, 1024, 1024),
]


def mobilenet_macs_by_hand() -> tuple[int, int]:
    """(first conv's multiply-adds, the network's): 112²·27·32, each dw H²·C·9 and pw H²·C·K, FC 1024·1000."""
    first = 112 * 112 * 3 * 3 * 3 * 32
    body = sum(size * size * c * 9 + size * size * c * k for size, c, k in MOBILENET_BODY)
    return first, first + body + 1024 * 1000


def test_mobilenet_table2_prints_1_19_percent_for_1_91(golden: Any) -> None:
    """Table 2: "Conv 3×3 … 1.19%" of the mult-adds. The only full conv is the first:
    10,838,016 of 568,740,352 multiply-adds = 1.906%, which is 1.91%: two digits swapped."""
    first, total = mobilenet_macs_by_hand()
    assert (first, total) == (10_838_016, 568_740_352)
    assert round(100 * first / total, 2) == 1.91
    text = spec_text("mobilenet").replace(
        "conv 3×3/2, 32              -> 112×112×32", "conv 3×3/2, 32 -> 112×112×32 ops 1.19%"
    )
    text += "total mult-adds 569M\n"
    network = papernet.parse(text, "mobilenet_table2.pn")
    problem = next(d for d in network.errors() if d.code == "P309")
    assert problem.span.line == line_of(text, "conv 3×3/2, 32")
    assert (
        problem.message == f"conv3-32/2 has 1.906% of the network's multiply-adds ({first:,} of {total:,}), not 1.19%"
    )
    assert problem.help == ("1.91% fits: are two digits of 1.19% swapped?",)
    assert next(r for r in network.reconcile().rows if r.quantity == "total mult-adds").verdict == "holds"
    golden.check("errata/mobilenet_share.txt", rendered(text, "mobilenet_table2.pn"))


def test_mobilenet_fc_share_of_the_mult_adds_holds() -> None:
    """Table 2: "Fully Connected 0.18%": 1,024,000 of 568,740,352 = 0.180%."""
    _, total = mobilenet_macs_by_hand()
    assert round(100 * 1_024_000 / total, 2) == 0.18
    text = spec_text("mobilenet").replace(
        "FC-1000 bias on             -> 1×1×1000", "FC-1000 bias on -> 1×1×1000 ops 0.18%"
    )
    row = next(r for r in papernet.parse(text, "m.pn").reconcile().rows if r.quantity == "ops share")
    assert row.verdict == "holds"


def test_mobilenet_table1_conv_dw_s2_at_7x7_is_a_stride_typo() -> None:
    """Table 1 prints "Conv dw / s2" on the 7×7×1024 row whose output stays 7×7: ⌈7/2⌉ = 4."""
    text = spec_text("mobilenet").replace(
        "conv dw 3×3                 -> 7×7×1024", "conv dw 3×3/2               -> 7×7×1024"
    )
    network = papernet.parse(text, "mobilenet_s2.pn")
    problem = next(d for d in network.errors())
    assert problem.code == "P301" and problem.span.line == line_of(text, "conv dw 3×3/2               -> 7×7×1024")
    assert "gives 4×4×1024" in problem.message
    assert problem.help[0] == "7×7 comes from stride 1, padding same"


# ---- messages ----------------------------------------------------------------------------------


def test_a_size_mismatch_on_a_conv_with_batch_norm_names_the_conv() -> None:
    found = next(d for d in diagnostics("input 32x32x3\nconv3-8 pad 0, batchnorm -> 32x32x8\n") if d.code == "P301")
    assert found.message == "conv3-8 is declared to give 32×32×8, but gives 30×30×8"


def test_figures_without_a_unit_print_as_whole_numbers() -> None:
    # 3·3·3·8 + 8 = 224 parameters
    found = next(d for d in diagnostics("input 8x8x3\nconv3-8 pad 1 params 230\n") if d.code == "P302")
    assert found.message == "conv3-8 has 224 parameters, not 230"


def test_a_layer_left_out_of_a_total_is_named_as_the_table_names_it() -> None:
    """GoogLeNet's 3a on 28×28×192: 163,696 parameters (test_check's by-hand count); FC-10 on its
    28·28·256 = 200,704 outputs: 2,007,050. A total of 2,007,050 leaves the module out."""
    text = "input 28x28x192\ninception(3a) 64 96 128 16 32 32\nFC-10\ntotal params 2,007,050\n"
    found = next(d for d in diagnostics(text) if d.code == "P304")
    assert found.message == "the network has 2,170,746 parameters, not 2,007,050"
    assert found.help[0] == "2,007,050 fits inception_3a left out (2,007,050)"


def test_an_inferred_padding_no_paper_uses_is_a_warning_that_blames_the_size() -> None:
    """56 → 58 with a 3×3 conv needs pad 2: (56 + 4 − 3)/1 + 1 = 58. Papers pad a 3×3 by 0 or 1."""
    found = [d for d in diagnostics("input 56x56x64\nconv3-64 -> 58x58x64\n") if d.code == "P313"]
    assert len(found) == 1 and found[0].severity.value == "warning"
    assert "pad 2, inferred from the table's 58×58×64" in found[0].message
    assert found[0].message.endswith("the printed size is more likely the error")


def test_a_stated_counting_convention_judges_every_row() -> None:
    """`defaults: params: weights only, K = 1024`: 3·3·3·4 = 108 weights hold; with biases (112) they would not."""
    text = "defaults:\n  params: weights only, K = 1024\ninput 8x8x3\nconv3-4 pad 1 params 108\n"
    network = papernet.parse(text, "stated.pn")
    assert not network.errors()
    reconciliation = network.reconcile()
    assert reconciliation.reading is not None and reconciliation.reading.source == "stated"
    assert reconciliation.verdict().startswith(
        "this table counts weights without biases, K = 1024, as its `defaults:` say"
    )


def test_lenet5_typed_without_defaults_is_explained_by_the_other_padding() -> None:
    """LeNet-5 (LeCun et al. 1998) has unpadded 5×5 convs: 32 → 28 → 14 → 10 → 5, so
    5·5·1·6 + 6 = 156, 5·5·6·16 + 16 = 2,416, 400·120 + 120 = 48,120, 120·84 + 84 = 10,164 and
    84·10 + 10 = 850: 61,706. With the padding assumed `same` the FC sees 8·8·16 = 1,024 inputs."""
    assert 156 + 2416 + 48_120 + 10_164 + 850 == 61_706
    text = "input 32x32x1\nconv5-6, maxpool\nconv5-16, maxpool\nFC-120, FC-84, FC-10\ntotal params 61,706\n"
    network = papernet.parse(text, "lenet5.pn")
    convs = [n for n in network.graph.nodes if isinstance(n, ir.Conv2D)]
    if convs[0].padding != "same":
        return  # papernet's default is then LeNet's own: nothing to explain
    total = next(d for d in network.errors() if d.code == "P304")
    assert total.help[0] == (
        "61,706 fits `padding valid` on the 4 layers whose padding was assumed (61,706): "
        "write under `defaults:` `conv: padding valid` and `maxpool: padding valid`"
    )
    note = network.check()[-1]
    assert note.code == "P312" and note.message.startswith("2 layers rest on the assumed `padding same`")
    assert note.help == (
        "if the paper means unpadded layers (the AlexNet/LeNet reading), write under `defaults:` `conv: padding valid`",
    )


# ---- residual layouts as explanations of a total (ResNet §3.3, §4.1) --------------------------

# keras.applications.ResNet50's projections (reference README, Keras convention): a 1×1 conv
# with bias and a batch norm (4C) where each stage starts. By hand: (in·out + out) + 4·out.
RESNET50_PROJECTIONS = sum(
    cin * cout + cout + 4 * cout for cin, cout in ((64, 256), (256, 512), (512, 1024), (1024, 2048))
)


def test_a_total_without_the_projections_is_explained_by_shortcut_a() -> None:
    """§4.1's option A (zero-padded identities) has no projection parameters: 25,636,712 −
    2,788,096 = 22,848,616 = 22.8M."""
    assert RESNET50_PROJECTIONS == 2_788_096
    expected = 25_636_712 - RESNET50_PROJECTIONS
    text = spec_text("resnet50") + "total params 22.8M\n"
    problem = next(d for d in diagnostics(text, "resnet50_a.pn") if d.code == "P304")
    assert problem.help[0] == f"22.8M fits shortcut A (zero-padded identities, no projections) ({expected:,})"


def test_torchvision_s_stride_placement_is_offered_for_table1_s_flops() -> None:
    """torchvision's "v1.5" strides the 3×3, so each stage's first 1×1 runs at 4× the positions:
    4,089,184,256 multiply-adds. With the stride on the 1×1, as the paper: 3,857,973,248, which
    Table 1 prints, cut, as 3.8."""
    text = spec_text("resnet50").replace("stride on first", "stride on 3x3") + "total FLOPs 3.8G\n"
    problem = next(d for d in diagnostics(text, "resnet50_v15.pn") if d.code == "P305")
    assert problem.message == "the network costs 4,089,184,256 FLOPs (4.09G), not 3.8G"
    assert problem.help[0] == (
        "3.8G fits the stride on each bottleneck's first 1×1 (v1, as the paper) and truncated rather than "
        "rounded (3,857,973,248)"
    )


def test_a_failing_total_is_traced_to_the_failing_rows_inside_it() -> None:
    """A table whose total is the sum of its own (wrong) column: conv 3·3·3·8 + 8 = 224 printed
    as 240; conv 3·3·8·16 + 16 = 1,168; total printed 1,408 = 240 + 1,168, not 1,392."""
    text = "input 8x8x3\nconv3-8 pad 1 params 240\nconv3-16 pad 1 params 1,168\ntotal params 1,408\n"
    network = papernet.parse(text, "traced.pn")
    total = next(d for d in network.errors() if d.code == "P304")
    assert total.message == "the network has 1,392 parameters, not 1,408"
    assert total.help[0] == (
        "1 row inside it fails: conv3-8 (line 2); with their printed figures the total is 1,408 (1,408), "
        "which fits 1,408"
    )
    column = next(r for r in network.reconcile().rows if r.quantity == "total params = the column's sum")
    assert column.verdict == "holds"  # the table agrees with itself; its conv3-8 row is the error


def test_the_new_messages_are_rendered(golden: Any) -> None:
    """One spec with each new message once: a memory figure (P307: 32·32·8 = 8,192 values, not
    9,000; its 32,768 bytes hold as 32KB with KB = 1024), an inferred padding no paper uses (P313:
    32 → 34 needs pad 2), a share (P309: 34·34·8·72 = 665,856 of the multiply-adds), a bare count
    (P301: unpadded on 34×34, 32·32·8 = 8,192, not 8,000) and the assumed-padding note (P312)."""
    text = (
        "input 32x32x3\n"
        "conv3-8 padding same -> 32x32x8  memory 9,000\n"
        "conv3-8 padding same -> 32x32x8  memory 32KB\n"
        "conv3-8 -> 34x34x8\n"
        "conv3-8 ops 50%\n"
        "conv3-8 padding valid -> 8000\n"
    )
    found = diagnostics(text, "new_messages.pn")
    assert [d.code for d in found] == ["P307", "P313", "P309", "P301", "P312"]
    assert found[0].message == "conv3-8's output 32×32×8 holds 32·32·8 = 8,192 values, not 9,000"
    assert f"({34 * 34 * 8 * 3 * 3 * 8:,} of " in found[2].message
    assert "holds 32·32·8 = 8,192 values" in found[3].message
    golden.check("errata/new_messages.txt", rendered(text, "new_messages.pn"))
