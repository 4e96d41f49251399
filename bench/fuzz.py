"""papernet's fuzz harness: grammar-aware generation and mutation of specs, each input run through
the public API and the command line under a time and a memory limit.

    .venv/bin/python bench/fuzz.py [--inputs N] [--minutes M] [--seed S] [--out DIR] [--jobs N]
                                   [--time-limit S] [--memory-limit MB] [--slow S] [--json]

Inputs come from three sources, in turn: specs *generated* from the notation's own grammar
(input line, layers with options and claims, repetition, brackets, labels and references,
add/concat merges, user-defined blocks, `defaults:` and `train:` sections, all with random and
boundary numbers), *mutations* of the shipped specs and of the specs the tests write (characters
and lines deleted, duplicated, swapped, numbers replaced by boundary values, words of the
notation and any Unicode inserted, brackets nested, the text truncated), and *size bombs*
(long runs of one character class, deep nesting, huge repetition).

Each input is run in a child forked from a server that has papernet imported, so an input costs
a fork, not an interpreter start. The child gets `RLIMIT_AS` (its address space now plus
`--memory-limit`) and is killed after `--time-limit` seconds (10), plus 0.5 ms for each layer its spec
expands to once it has counted them (a large spec may take time linear in its layers). It runs:

- the API: `papernet.parse(text)`, `.check()`, `.summary()` as JSON (and, for one input in four,
  as a rich table, which costs more than all the rest), `.to_source()`
  (checked with `compile()`) when the spec has no errors; any exception but `SpecError` is a crash;
- the CLI, in-process, one of `check`, `summary --format json`, `compile -o FILE` in turn: exit 3,
  or `Traceback`/`internal error` on stderr, is a crash.

Findings: *crashes* (grouped by exception type and the innermost papernet frame), *hangs* (past the
time limit), *memory* (past the memory limit), *slow* inputs (over `--slow`, 2 s), and the peak
RSS of a child (`ru_maxrss` from `os.wait4`). Each distinct crash is minimized (delta debugging on
lines, then characters, keeping the same signature) and written to `DIR/crash-<id>.pn` with its
traceback in `DIR/crash-<id>.txt`; slow inputs and hangs likewise as `slow-<id>.pn`. The summary
(and `--json`) gives inputs, inputs per second, crashes, slowest input, peak memory, and the
slow inputs split by the layers each spec expands to (recorded per input, in `DIR/timings.csv`):
those of at most 10,000 layers (0 for a spec refused whole), where none may be slow, those
beyond, with their seconds per 1,000 layers (overall, and the median in bands of 10,001-30,000,
30,001-60,000 and 60,001-100,000 layers: flat from band to band is time linear in layers; a spec
refused for expanding past the bound is counted apart), and those stopped
before lowering finished (a parser or lowering hang). `--jobs N` runs N children at
once (the inputs are the same; each input's time is its own, on a machine N of them share).

The exit code is 0 when nothing crashed, hung or blew the memory limit, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import re
import resource
import select
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The time limit only decides when a child is killed as a hang; an input of at most LARGE_LAYERS
# layers is judged against SLOW whatever the limit. 10 s leaves room for a spec of ~100,000 layers
# to finish lowering (~3.5 s on a quiet machine) before its layers are counted.
TIME_LIMIT, MEMORY_LIMIT_MB, SLOW = 10.0, 1024, 2.0
LARGE_LAYERS = 10_000  # issue 12: no slow input up to this many layers; beyond, time linear in layers
# Once a child has counted its layers its limit grows by this much a layer: 4-10x the 40-110 µs a
# layer that the slowest large inputs take on a quiet machine (a run of `--jobs 2` measured up to
# 0.37 ms), so only a cost that grows faster than the layers is killed.
PER_LAYER_S = 500e-6
# Linear: the same seconds a layer in each band. The last ends at papernet's bound (lower.MAX_LAYERS);
# a spec refused for expanding past it counts as one layer more, and is left out of the bands.
LAYER_BANDS = ((10_001, 30_000), (30_001, 60_000), (60_001, 100_000))

# ---- the inputs ----------------------------------------------------------------------------------------

WORDS = [
    # layers, as papers and tutorials print them
    "conv3-64", "conv11-96/4", "conv1-256", "conv", "CONV", "convolution", "conv 3x3/2, 64", "3×3, 64",
    "3x3 conv, 64", "7x7 conv, 64, /2", "96 11x11 filters", "maxpool", "max pool", "avgpool", "average pool",
    "pool, /2", "global", "global avgpool", "3×3 max pool", "FC-4096", "FC-10", "fc", "dense", "1000-d fc",
    "relu", "leaky relu", "elu", "tanh", "sigmoid", "gelu", "linear", "softmax", "BN", "batch norm", "LRN",
    "dropout", "dropout (40%)", "Dropout(0.5)", "flatten", "reshape", "zeropad", "pad", "input", "INPUT",
    "inception(3a)", "conv dw 3×3/2", "separable conv 3×3, 728", "up-conv 2×2, 512", "upsample 2", "crop 4",
    "relu6", "swish", "se 0.25", "identity", "ſoftmax", "padding ſame", "LeakyReLU(0.1)", "ReLU()",
    "LeakyReLU(alpha=0.2)", "max pool /2", "maxpool/2", "conv 1x1, 64 /2",
    # options and claims
    "stride", "stride 2", "at stride 4", "pad 1", "padding same", "padding valid", "same", "valid",
    "dilation 2", "groups 2", "activation relu", "bias off", "no bias", "floor", "ceil", "filters 64",
    "units 10", "rate 0.5", "-> 55×55×96", "params 34,944", "ops 105M", "total params 138M",
    "total mult-adds 15.5G", "flops: 2 multiply-adds",
    # numbers and sizes
    "0", "1", "2", "3", "7", "64", "224", "1000000000", "999999999999999999999", "0.5", "1e999", "-1", "nan",
    "224x224x3", "224×224", "28x28", "784", "0x0x3", "1x1", "3x3", "11x11/4", "x2", "×3", "*2", "x0",
    "x10000", "1000000x1000000x3",
    # structure
    ",", "->", "→", "–", "-", "[", "]", ";", "(", ")", "|", ":", "@", "conv1:", "fc6:", "#", "# c", "\n",
    "\n  ", "\t", "\r\n", "\r", "defaults:\n  conv: 3x3, 16\n", "defaults:", "train:\n  epochs 74\n",
    "train:", 'network "x"', "from vgg11", "from nosuch", "from /etc/passwd", "classes 10",
    "regression 224x224x1", "add(", "concat(", "block b(f):\n  conv3-f\n", "b(8)", "residual: stride on last",
    # the odd character
    "\x00", "\ufeff", "\u2028", "\u202e", "é", "\x1b[31m", "\\", '"', "'", "\udcff",
]  # fmt: skip

NUMBERS = ["0", "1", "2", "3", "7", "16", "64", "224", "1000", "65536", "1000000", "10000000000", "1e999",
           "-1", "0.5", "1.5", "999999999999999999999999"]  # fmt: skip
SMALL = ["1", "2", "3", "4", "8", "16"]
ACTIVATIONS = ["relu", "linear", "tanh", "sigmoid", "elu", "gelu", "leaky relu", "softmax", "relu6", "swish"]
TRAIN_LINES = [
    "optimizer sgd, momentum 0.9", "learning rate 1e-2", "lr 1e999", "weight decay 5e-4", "batch 256",
    "epochs 74", "dropout 0.5", "init normal(0, 0.01)", "init normal(0, 1e999)", "loss categorical crossentropy",
    "divided by 10 when the validation accuracy stopped improving", "cosine", "metrics accuracy, top-5",
    "adam", "batch 0", "epochs -1", "10e-2", "init uniform(0.05)",
]  # fmt: skip


@dataclass
class Generator:
    """Random specs from the notation's grammar: mostly valid, with random and boundary values."""

    rng: random.Random
    labels: list[str] = field(default_factory=list)
    blocks: list[tuple[str, int]] = field(default_factory=list)

    def number(self) -> str:
        return self.rng.choice(NUMBERS) if self.rng.random() < 0.1 else self.rng.choice(SMALL)

    def label(self) -> str:
        name = self.rng.choice(["x", "i", "inputs", "model", "conv1", "stem", "a", "b_2", "keras", "name"])
        name = name if self.rng.random() < 0.7 else f"{name}{self.rng.randint(1, 99)}"
        self.labels.append(name)
        return name

    def layer(self, depth: int = 0) -> str:
        r = self.rng.random()
        size = self.number()
        kind = self.rng.choice(
            [
                f"conv{self.rng.choice(['1', '3', '5'])}-{size}",
                f"conv {self.rng.choice(['1x1', '3x3', '3×3/2'])}, {size}",
                f"{self.rng.choice(['3x3', '1x1'])} conv, {size}",
                "maxpool",
                "max pool 3×3/2",
                "avgpool",
                "BN",
                "relu",
                f"dropout {self.rng.choice(['0.5', '(40%)', '1e999', '0'])}",
                "flatten",
                f"FC-{size}",
                "conv dw 3×3",
                "identity",
            ]
        )
        options = []
        for _ in range(self.rng.randint(0, 2)):
            options.append(
                self.rng.choice(
                    [
                        f"stride {self.rng.choice(SMALL[:2])}",
                        f"pad {self.rng.choice(['0', '1', '2'])}",
                        "padding same",
                        "padding valid",
                        self.rng.choice(ACTIVATIONS),
                        "bias off",
                        "floor",
                        "ceil",
                    ]
                )
            )
        text = ", ".join([kind, *options]) if options else kind
        if self.rng.random() < 0.1:
            text += f" -> {self.rng.choice(['28×28×8', '1×1×10', '55×55×96', '7x7x512'])}"
        if self.rng.random() < 0.08:
            text += f" params {self.rng.choice(['1,792', '138M', '0', '2.7K'])}"
        if r < 0.12 and depth < 3:
            inner = ", ".join(self.layer(depth + 1) for _ in range(self.rng.randint(1, 3)))
            text = f"[{inner}] x{self.rng.choice(['1', '2', '3', '0', '10000'])}"
        elif r < 0.2 and depth < 3:
            branches = " | ".join(
                " -> ".join(self.layer(depth + 1) for _ in range(self.rng.randint(1, 2)))
                for _ in range(self.rng.randint(1, 3))
            )
            if self.rng.random() < 0.5:
                branches += " | identity"
            if self.labels and self.rng.random() < 0.4:
                branches += f" | @{self.rng.choice(self.labels)}"
            text = f"{self.rng.choice(['add', 'concat'])}({branches})"
        elif r < 0.26 and self.blocks:
            name, arity = self.rng.choice(self.blocks)
            text = f"{name}({', '.join(self.number() for _ in range(arity))})"
        elif r < 0.3 and depth == 0:
            text += f" x{self.rng.choice(['2', '3', '×2', '*2', '100'])}"
        if depth == 0 and self.rng.random() < 0.2:
            text = f"{self.label()}: {text}"
        return text

    def block(self) -> str:
        name = self.rng.choice(["x", "inputs", "i", "basic", "down", "model", "b", "conv", "main"])
        params = self.rng.sample(["f", "s", "c", "t"], self.rng.randint(0, 2))
        self.blocks.append((name, len(params)))
        body = [f"  {self.rng.choice(['conv', 'conv 3x3'])} 3x3, {params[0] if params else '8'}, padding same"]
        body += [f"  {self.layer(1)}" for _ in range(self.rng.randint(0, 2))]
        if self.rng.random() < 0.5:
            body = [
                "  add(conv3-"
                + (params[0] if params else "8")
                + " padding same -> conv3-"
                + (params[0] if params else "8")
                + " padding same | identity)"
            ]
        return f"block {name}({', '.join(params)}):\n" + "\n".join(body)

    def spec(self) -> str:
        lines: list[str] = []
        if self.rng.random() < 0.7:
            title = self.rng.choice(['"net"', '"say \\"hi\\""', "'say \"hi\"'", '"VGG-11 (A)"', '"x"', '"i"'])
            lines.append(f"network {title}")
        if self.rng.random() < 0.2:
            lines.append("defaults:\n  conv: stride 1, padding same, activation relu\n  maxpool: 2x2, stride 2")
        for _ in range(self.rng.randint(0, 2)):
            lines.append(self.block())
        shape = self.rng.choice(["28x28", "32x32x3", "16x16x8", "224x224x3", "8x8x1", "784", "0x0x3"])
        lines.append(f"input {shape}")
        for _ in range(self.rng.randint(0, 8)):
            lines.append(self.layer())
        if self.rng.random() < 0.7:
            lines += [self.rng.choice(["global avgpool", "flatten"]), f"FC-{self.rng.choice(SMALL)}", "softmax"]
        if self.rng.random() < 0.15:
            lines.append(self.rng.choice(["total params 138M", "total mult-adds 15.5G"]))
        if self.rng.random() < 0.3:
            lines.append("train:")
            lines += [f"  {line}" for line in self.rng.sample(TRAIN_LINES, self.rng.randint(1, 4))]
        return "\n".join(lines) + "\n"


def corpus() -> list[str]:
    """The shipped specs, and the specs the tests write (string literals that look like specs)."""
    from papernet.resources import shipped_specs

    texts = [path.read_text(encoding="utf-8") for path in shipped_specs().values()]
    literal = re.compile(r'"""\\?\n?(.*?)"""|"((?:[^"\\\n]|\\.)*\\n(?:[^"\\\n]|\\.)*)"', re.S)
    for test in sorted((ROOT / "tests").glob("test_*.py")):
        for match in literal.finditer(test.read_text(encoding="utf-8")):
            text = match.group(1) if match.group(1) is not None else match.group(2)
            if match.group(2) is not None:
                with contextlib.suppress(Exception):
                    text = json.loads(f'"{text}"')
            if re.search(r"^\s*(input|network)\b", text, re.M | re.I):
                texts.append(text)
    return sorted(set(texts))


def mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        if not chars:
            chars = list(rng.choice(WORDS))
        index = rng.randrange(len(chars))
        operation = rng.choice(
            ["delete", "duplicate", "swap", "unicode", "word", "word", "number", "line", "nest", "truncate"]
        )
        if operation == "delete":
            del chars[index : index + rng.randint(1, 8)]
        elif operation == "duplicate":
            chars[index:index] = chars[index : index + rng.randint(1, 20)]
        elif operation == "swap":
            other = rng.randrange(len(chars))
            chars[index], chars[other] = chars[other], chars[index]
        elif operation == "unicode":
            chars.insert(index, chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x2FFF), 0x17F, 0xFEFF])))
        elif operation == "word":
            chars[index:index] = list(rng.choice(WORDS))
        elif operation == "number":
            joined = "".join(chars)
            numbers = list(re.finditer(r"\d+", joined))
            if numbers:
                chosen = rng.choice(numbers)
                joined = joined[: chosen.start()] + rng.choice(NUMBERS) + joined[chosen.end() :]
                chars = list(joined)
        elif operation == "line":
            lines = "".join(chars).split("\n")
            line = rng.randrange(len(lines))
            lines[line:line] = [lines[line]] * rng.randint(1, 5)
            chars = list("\n".join(lines))
        elif operation == "nest":
            depth = rng.choice([2, 10, 40, 200])
            chars[index:index] = list("[" * depth + "conv3-8 pad 1" + "]" * depth + " ")
        else:
            chars = chars[:index]
    return "".join(chars)


def bomb(rng: random.Random) -> str:
    """Small inputs that ask for a lot: long runs of one character class, deep nesting, huge repetition."""
    n = rng.choice([1_000, 10_000, 100_000])
    run = rng.choice([" ", "\t", "[", "(", "a", "9", "-", ",", "é", "#", "x", "\n"]) * n
    return rng.choice(
        [
            f"input 28x28\n{run}\n",
            f"input 28x28\nconv3-8{run}\n",
            f"defaults:{run}\n  conv: 3x3\ninput 8x8\n",
            f"input 8x8\n{'[' * (n // 1000)}conv3-8 pad 1{']' * (n // 1000)}\n",
            f"input 8x8\nx: @x x{n}\n",
            f"input 8x8\n[[conv3-8 pad 1]x{n}]x{n}\n",
            f"input 8x8\nblock b(f):\n  {'add(' * (n // 1000)}conv3-8 pad 1{')' * (n // 1000)}\nb(1)\n",
            f"input {n}x{n}x3\nconv3-8\n",
            "input 8x8\n" + "".join(f"block b{i}():\n  b{i + 1}()\n" for i in range(n // 1000)) + "b0()\n",
            f"input 28x28\n{'w' * n}\n",
        ]
    )


def inputs(seed: int) -> Iterator[tuple[str, str]]:
    """(source, text), endlessly: generated, mutated, and now and then a bomb."""
    rng = random.Random(seed)
    seeds = corpus()
    while True:
        roll = rng.random()
        if roll < 0.4:
            yield "generated", Generator(rng).spec()
        elif roll < 0.97:
            base = rng.choice(seeds) if rng.random() < 0.7 else Generator(rng).spec()
            yield "mutated", mutate(base, rng)
        else:
            yield "bomb", bomb(rng)


# ---- running one input ---------------------------------------------------------------------------------

COMMANDS = (["check"], ["summary", "--format", "json"], ["compile", "-o", "out.py"])


def exercise(
    text: str, command: list[str], workdir: Path, counted: Callable[[int], None] | None = None
) -> tuple[str | None, int | None]:
    """Run `text` through the API and the CLI: (None if all is well, else the crash's description,
    whose first line is the signature: kind, exception type and the innermost papernet frame;
    the layers the spec expands to, 0 where it is refused whole, None where the run did not get
    that far). `counted` hears the layer count as soon as it is known, before the rest runs."""
    layers: list[int] = []

    def count(number: int) -> None:
        layers.append(number)
        if counted is not None:
            counted(number)

    verdict = _exercise(text, command, workdir, count)
    return verdict, layers[0] if layers else None


def _exercise(text: str, command: list[str], workdir: Path, count: Callable[[int], None]) -> str | None:
    import papernet
    from papernet.cli import main

    try:
        try:
            network = papernet.parse(text)
        except papernet.SpecError as refused:
            count(_refused_size(refused.diagnostics))
            raise
        count(len(network.graph.nodes) or _refused_size(network.diagnostics))
        found = network.check()
        report = network.summary()
        if len(text) % 4 == 0:  # rich's table costs more than all the rest: one input in four
            report.to_text()
        report.to_json()
        if not any(d.is_error and not d.code.startswith("P3") for d in found):
            compile(network.to_source(), "<generated>", "exec")
    except papernet.SpecError as error:
        str(error)
    except (MemoryError, RecursionError) as error:
        return _describe("api", error)
    except Exception as error:
        return _describe("api", error)
    spec = workdir / "fuzz.pn"
    spec.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            arguments = [str(workdir / part) if part.endswith(".py") else part for part in command[1:]]
            code = main([command[0], str(spec), *arguments])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    stderr = err.getvalue()
    if code == 3 or "Traceback" in stderr or "internal error" in stderr:
        first = next((line for line in stderr.splitlines() if "internal error" in line), stderr[-200:])
        return f"cli {command[0]}: exit {code}: {first[:200]}\n{stderr[-4000:]}"
    if code not in (0, 1):
        return f"cli {command[0]}: exit {code} on a spec\n{stderr[-4000:]}"
    return None


def _banded(large: Sequence[tuple[int, float]]) -> dict[str, list[float]]:
    """Per band of layer counts: the inputs in it and their median seconds per 1,000 layers. Time
    linear in layers keeps the median flat from band to band; a quadratic cost doubles it or more."""
    banded: dict[str, list[float]] = {}
    for low, high in LAYER_BANDS:
        rates = [t / n * 1000 for n, t in large if low <= n <= high]
        if rates:
            banded[f"{low:,}-{high:,}"] = [len(rates), round(statistics.median(rates), 4)]
    return banded


def _refused_size(diagnostics: Sequence[Any]) -> int:
    """The layers a spec lowered to none counts as: past the bound where it was refused for
    expanding past it (papernet lowers up to the bound before it can know), else none."""
    from papernet.lower import MAX_LAYERS

    expanded = any(d.code == "P104" and "expands to" in d.message for d in diagnostics)
    return MAX_LAYERS + 1 if expanded else 0


def _describe(where: str, error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/papernet/" in f.filename.replace(os.sep, "/")]
    frame = ours[-1] if ours else (frames[-1] if frames else None)
    place = f"{Path(frame.filename).name}:{frame.lineno} {frame.name}" if frame else "?"
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"{where}: {type(error).__name__} at {place}\n{trace[-6000:]}"


@dataclass
class Outcome:
    seconds: float
    peak_kb: int
    crash: str | None = None  # description; first line is the signature
    limit: str | None = None  # "time" or "memory"
    layers: int | None = None  # the layers the spec expands to; None: refused, or not reached


@dataclass
class Child:
    """A forked child running one input: its pid, the read end of its verdict pipe, its deadline."""

    pid: int
    pipe: int
    started: float
    deadline: float
    chunks: list[bytes] = field(default_factory=list)
    counted: bool = False  # its deadline has been moved for its layer count

    def heard(self, chunk: bytes) -> None:
        """Keep what the child wrote; once it has counted its layers, a spec of many layers (which
        may take time linear in them) gets that much more time before it is judged a hang."""
        self.chunks.append(chunk)
        if not self.counted and b"\n" in (written := b"".join(self.chunks)) and written.startswith(b"L"):
            self.counted = True
            self.deadline += int(written[1 : written.index(b"\n")]) * PER_LAYER_S


def start_child(text: str, command: list[str], time_limit: float, memory_mb: int, workdir: Path) -> Child:
    """Fork a child that limits its address space, runs `exercise` and writes back what it finds:
    `L<layers>\n` as soon as the spec is lowered (so a child killed later has its count), then
    `T<seconds>\n`, the time it took by its own clock, and `V` and the crash's description, if any."""
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _limit_memory(memory_mb)

            def counted(layers: int) -> None:
                os.write(write_end, f"L{layers}\n".encode("ascii"))

            begun = time.monotonic()
            try:
                verdict, _ = exercise(text, command, workdir, counted)
            except MemoryError:
                verdict = "\x00memory"
            except BaseException as error:  # the harness itself must report, not die
                verdict = _describe("harness", error)
            # The child's own clock: the server may be busy (minimizing) when the child ends.
            os.write(write_end, f"T{time.monotonic() - begun:.6f}\n".encode("ascii"))
            os.write(write_end, ("V" + (verdict or "")).encode("utf-8", errors="replace"))
        finally:
            os._exit(code)
    os.close(write_end)
    return Child(pid, read_end, started, started + time_limit)


def finish_child(child: Child, killed: bool) -> Outcome:
    """Reap the child (killing it first if it ran out of time) and read its verdict."""
    if killed:
        os.kill(child.pid, signal.SIGKILL)
    os.close(child.pipe)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - child.started
    message = b"".join(child.chunks).decode("utf-8", errors="replace")
    layers = None
    while message[:1] in ("L", "T"):
        field_, _, message = message.partition("\n")
        if field_[0] == "L":
            layers = int(field_[1:])
        else:
            seconds = float(field_[1:])
    verdict = message.removeprefix("V")
    if killed:
        return Outcome(seconds, usage.ru_maxrss, limit="time", layers=layers)
    if verdict == "\x00memory":
        return Outcome(seconds, usage.ru_maxrss, limit="memory", layers=layers)
    if os.WIFSIGNALED(status):
        crash = f"signal: {signal.Signals(os.WTERMSIG(status)).name}\n"
        return Outcome(seconds, usage.ru_maxrss, crash=crash, layers=layers)
    return Outcome(seconds, usage.ru_maxrss, crash=verdict or None, layers=layers)


def wait_for_children(children: dict[int, Child]) -> list[tuple[int, Outcome]]:
    """Wait until at least one of `children` (by pipe) has finished or run out of time; reap those."""
    now = time.monotonic()
    timeout = max(0.0, min(child.deadline for child in children.values()) - now)
    ready, _, _ = select.select(list(children), [], [], timeout)
    done: list[tuple[int, Outcome]] = []
    for pipe in ready:
        chunk = os.read(pipe, 65536)
        if chunk:
            children[pipe].heard(chunk)
        else:
            done.append((pipe, finish_child(children.pop(pipe), killed=False)))
    now = time.monotonic()
    for pipe in [p for p, child in children.items() if child.deadline <= now]:
        finished = _drain(children[pipe])  # it may have ended, or counted, while the server was busy
        if finished is not None:
            done.append((pipe, finish_child(children.pop(pipe), killed=not finished)))
    return done


def _drain(child: Child) -> bool | None:
    """Read what `child` has written without waiting: True if it has closed its pipe (it is done),
    None if it is running and its deadline moved past now, else False."""
    while select.select([child.pipe], [], [], 0)[0]:
        chunk = os.read(child.pipe, 65536)
        if not chunk:
            return True
        child.heard(chunk)
    return None if child.deadline > time.monotonic() else False


def run_in_child(text: str, command: list[str], time_limit: float, memory_mb: int, workdir: Path) -> Outcome:
    """One input in one child, waited for."""
    child = start_child(text, command, time_limit, memory_mb, workdir)
    children = {child.pipe: child}
    while True:
        done = wait_for_children(children)
        if done:
            return done[0][1]


def _limit_memory(megabytes: int) -> None:
    with open("/proc/self/statm", encoding="ascii") as statm:
        current = int(statm.read().split()[0]) * resource.getpagesize()
    limit = current + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def signature(crash: str) -> str:
    return crash.splitlines()[0] if crash else ""


# ---- minimizing ----------------------------------------------------------------------------------------


def minimize(text: str, still_fails: Callable[[str], bool], budget: int = 300) -> str:
    """Delta debugging: drop chunks of lines, then of characters, while `still_fails` holds."""
    tries = 0
    for unit in ("lines", "chars"):
        pieces = text.splitlines(keepends=True) if unit == "lines" else list(text)
        size = max(1, len(pieces) // 2)
        while size >= 1 and tries < budget:
            index, changed = 0, False
            while index < len(pieces) and tries < budget:
                candidate = pieces[:index] + pieces[index + size :]
                tries += 1
                if candidate and still_fails("".join(candidate)):
                    pieces, changed = candidate, True
                else:
                    index += size
            if not changed:
                size //= 2
        text = "".join(pieces)
    return text


# ---- the run -------------------------------------------------------------------------------------------


class Timing(NamedTuple):
    """One input's run: the layers its spec expands to (None: not reached), its seconds, its source
    and the sha1 of its text."""

    layers: int | None
    seconds: float
    source: str
    sha1: str


@dataclass
class Finding:
    kind: str  # crash, time, memory, slow
    signature: str
    source: str
    seconds: float
    peak_mb: float
    text: str
    detail: str
    count: int = 1
    minimized: str = ""
    layers: int | None = None


@dataclass
class Report:
    inputs: int = 0
    seconds: float = 0.0
    by_source: dict[str, int] = field(default_factory=dict)
    crashes: int = 0
    hangs: int = 0
    over_memory: int = 0
    slow: int = 0
    slowest_seconds: float = 0.0
    slowest_input: str = ""
    peak_mb: float = 0.0
    peak_input: str = ""
    baseline_mb: float = 0.0
    jobs: int = 1
    findings: list[Finding] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)  # one per input, in the order they ran

    def slow_split(self, slow: float = SLOW) -> dict[str, Any]:
        """The slow inputs (over `slow` s) among those expanding to ≤ 10,000 layers (a spec refused
        whole expands to none) and those beyond, with seconds per 1,000 layers (a flat figure is
        time linear in layers); and those stopped before their layers were counted."""
        small = [(n, t.seconds) for t in self.timings if (n := t.layers) is not None and n <= LARGE_LAYERS]
        large = [(n, t.seconds) for t in self.timings if (n := t.layers) is not None and n > LARGE_LAYERS]
        unknown = [t.seconds for t in self.timings if t.layers is None]
        per_k = [t / n * 1000 for n, t in large if n]
        return {
            "unknown_inputs": len(unknown),
            "unknown_slow": sum(t > slow for t in unknown),
            "small_inputs": len(small),
            "small_slow": sum(t > slow for _, t in small),
            "small_slowest_s": max((t for _, t in small), default=0.0),
            "large_inputs": len(large),
            "large_slow": sum(t > slow for _, t in large),
            "large_slowest_s": max((t for _, t in large), default=0.0),
            "large_most_layers": max((n for n, _ in large if n is not None), default=0),
            "large_s_per_1k_layers": [min(per_k), statistics.median(per_k), max(per_k)] if per_k else [],
            "large_median_s_per_1k_layers_by_band": _banded(large),
            "large_refused_past_the_bound": sum(n > LAYER_BANDS[-1][1] for n, _ in large),
        }

    def summary(self) -> str:
        rate = self.inputs / self.seconds if self.seconds else 0.0
        lines = [
            f"inputs {self.inputs:,} in {self.seconds:.0f} s ({rate:.1f}/s): "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(self.by_source.items())),
            f"crashes {self.crashes:,} ({len({f.signature for f in self.findings if f.kind == 'crash'})} distinct), "
            f"hangs {self.hangs:,}, over memory {self.over_memory:,}, over {SLOW:g} s {self.slow:,}",
            f"slowest {self.slowest_seconds:.2f} s: {self.slowest_input[:100]!r}",
            f"peak RSS {self.peak_mb:.0f} MB (server {self.baseline_mb:.0f} MB): {self.peak_input[:100]!r}",
        ]
        split = self.slow_split()
        lines.append(
            f"over {SLOW:g} s among inputs of <= {LARGE_LAYERS:,} layers: {split['small_slow']:,} "
            f"of {split['small_inputs']:,} (slowest {split['small_slowest_s']:.2f} s); beyond: "
            f"{split['large_slow']:,} of {split['large_inputs']:,}"
            + (
                " (s per 1,000 layers min/median/max {:.3f}/{:.3f}/{:.3f}, up to {:,} layers)".format(
                    *split["large_s_per_1k_layers"], split["large_most_layers"]
                )
                if split["large_s_per_1k_layers"]
                else ""
            )
            + "".join(
                f"; {band} layers: {int(n):,} input{'s' if n != 1 else ''}, median {rate:.3f} s per 1,000"
                for band, (n, rate) in split["large_median_s_per_1k_layers_by_band"].items()
            )
            + f"; refused past the bound: {split['large_refused_past_the_bound']:,}"
            + f"; stopped before lowering: {split['unknown_slow']:,} of {split['unknown_inputs']:,}"
            + (f"; {self.jobs} jobs at once" if self.jobs > 1 else "")
        )
        for finding in self.findings:
            lines.append(
                f"  {finding.kind} x{finding.count}: {finding.signature}  ({finding.seconds:.2f} s) "
                f"minimized: {finding.minimized[:120]!r}"
            )
        return "\n".join(lines)


def fuzz(
    count: int,
    seed: int = 0,
    out: Path | None = None,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_LIMIT_MB,
    slow: float = SLOW,
    minimize_budget: int = 200,
    progress: Callable[[Report], None] | None = None,
    minutes: float | None = None,
    jobs: int = 1,
) -> Report:
    """Run `count` inputs from `inputs(seed)`, `jobs` children at once; distinct findings are
    minimized (one child at a time) and, with `out`, written there with every input's layers and
    seconds (`timings.csv`)."""
    import papernet.cli  # noqa: F401 - the server imports papernet (and lark) once; children inherit it

    seen: dict[tuple[str, str], Finding] = {}
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="papernet-fuzz-", dir=shm if shm.is_dir() else None) as scratch:
        slots = [Path(scratch) / f"job{k}" for k in range(max(1, jobs))]  # a child's files: one directory a job
        for slot in slots:
            slot.mkdir()
        minimizing = Path(scratch) / "minimize"
        minimizing.mkdir()
        _warm_up(minimizing)
        report = Report(baseline_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, jobs=len(slots))
        started = time.monotonic()
        feed = zip(range(count), inputs(seed), strict=False)
        running: dict[int, tuple[Child, Path, str, str, list[str]]] = {}
        free = list(reversed(slots))
        exhausted = False
        while True:
            while free and not exhausted:
                if minutes is not None and time.monotonic() - started > minutes * 60:
                    exhausted = True
                    break
                item = next(feed, None)
                if item is None:
                    exhausted = True
                    break
                number, (source, text) = item
                command = COMMANDS[number % len(COMMANDS)]
                slot = free.pop()
                child = start_child(text, command, time_limit, memory_mb, slot)
                running[child.pipe] = (child, slot, source, text, command)
            if not running:
                break
            children = {pipe: entry[0] for pipe, entry in running.items()}
            for pipe, outcome in wait_for_children(children):
                _, slot, source, text, command = running.pop(pipe)
                free.append(slot)
                finding = _record(report, seen, outcome, source, text, slow)
                if finding is None:
                    continue
                finding.minimized = _minimized(
                    finding, command, time_limit, memory_mb, slow, minimizing, minimize_budget
                )
                if out is not None:
                    _write_finding(out, finding, command)
                if progress is not None:
                    progress(report)
            report.seconds = time.monotonic() - started
        report.seconds = time.monotonic() - started
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        rows = "".join(
            f"{'' if t.layers is None else t.layers},{t.seconds:.4f},{t.source},{t.sha1}\n" for t in report.timings
        )
        (out / "timings.csv").write_text("layers,seconds,source,sha1\n" + rows, encoding="utf-8")
    return report


def _record(
    report: Report, seen: dict[tuple[str, str], Finding], outcome: Outcome, source: str, text: str, slow: float
) -> Finding | None:
    """Count one input's outcome; a finding not seen before is returned (to minimize and write)."""
    report.inputs += 1
    report.by_source[source] = report.by_source.get(source, 0) + 1
    report.timings.append(Timing(outcome.layers, outcome.seconds, source, _digest(text)))
    peak = outcome.peak_kb / 1024
    if peak > report.peak_mb:
        report.peak_mb, report.peak_input = peak, text
    if outcome.seconds > report.slowest_seconds and outcome.limit is None:
        report.slowest_seconds, report.slowest_input = outcome.seconds, text
    kind, detail = _classify(outcome, slow)
    if kind is None:
        return None
    report.crashes += kind == "crash"
    report.hangs += kind == "time"
    report.over_memory += kind == "memory"
    report.slow += kind == "slow"
    key = (kind, signature(detail) if kind == "crash" else _shape_of(text))
    if key in seen:
        seen[key].count += 1
        return None
    finding = Finding(kind, key[1], source, outcome.seconds, peak, text, detail, layers=outcome.layers)
    seen[key] = finding
    report.findings.append(finding)
    return finding


def _warm_up(workdir: Path) -> None:
    """Run a spec through every path once in the server, so that what papernet imports lazily
    (rich, the report, the source backend) and the parser are there before the first fork."""
    from papernet.resources import shipped_specs

    text = shipped_specs()["resnet18"].read_text(encoding="utf-8")
    for command in COMMANDS:
        exercise(text, command, workdir)
        exercise("input 28x28\nconv3-8 pad 9\n", command, workdir)


def _classify(outcome: Outcome, slow: float) -> tuple[str | None, str]:
    if outcome.crash:
        return "crash", outcome.crash
    if outcome.limit is not None:
        return outcome.limit, f"past the {outcome.limit} limit"
    if outcome.seconds > slow and (outcome.layers or 0) <= LARGE_LAYERS:  # beyond: judged per layer
        return "slow", f"{outcome.seconds:.2f} s"
    return None, ""


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:12]


def _shape_of(text: str) -> str:
    """Slow inputs are grouped by their text with digits and runs collapsed: one reproducer a pattern."""
    return re.sub(r"(.)\1{3,}", r"\1…", re.sub(r"\d+", "N", text))[:80]


def _minimized(
    finding: Finding, command: list[str], time_limit: float, memory_mb: int, slow: float, workdir: Path, budget: int
) -> str:
    def still_fails(candidate: str) -> bool:
        outcome = run_in_child(candidate, command, time_limit, memory_mb, workdir)
        kind, detail = _classify(outcome, slow)
        if finding.kind == "crash":
            return kind == "crash" and signature(detail) == finding.signature
        return kind == finding.kind or (finding.kind == "slow" and kind in ("time", "memory"))

    if finding.kind != "crash":
        return finding.text  # each try of a slow input costs seconds: its pattern (`_shape_of`) is enough
    return minimize(finding.text, still_fails, budget)


def _write_finding(out: Path, finding: Finding, command: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    name = f"{finding.kind}-{hashlib.sha1(finding.signature.encode()).hexdigest()[:10]}"
    (out / f"{name}.pn").write_bytes(finding.minimized.encode("utf-8", errors="surrogatepass"))
    (out / f"{name}.original.pn").write_bytes(finding.text.encode("utf-8", errors="surrogatepass"))
    (out / f"{name}.txt").write_text(
        f"{finding.signature}\nsource: {finding.source}; CLI command: papernet {' '.join(command)}; "
        f"{finding.seconds:.2f} s, peak {finding.peak_mb:.0f} MB, layers {finding.layers}; seen {finding.count}x\n\n"
        f"{finding.detail}\n",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"), help="where reproducers go")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="seconds an input may take")
    parser.add_argument("--memory-limit", type=int, default=MEMORY_LIMIT_MB, help="MB an input may add")
    parser.add_argument("--slow", type=float, default=SLOW, help="report inputs slower than this (s)")
    parser.add_argument("--minutes", type=float, help="stop after this long, whatever --inputs says")
    parser.add_argument("--jobs", type=int, default=1, help="children run at once (each input's time is its own)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")

    def progress(report: Report) -> None:
        print(f"[{report.inputs:,} inputs] {report.findings[-1].kind}: {report.findings[-1].signature}", flush=True)

    report = fuzz(
        args.inputs,
        args.seed,
        args.out,
        args.time_limit,
        args.memory_limit,
        args.slow,
        progress=progress,
        minutes=args.minutes,
        jobs=args.jobs,
    )
    if args.json:
        figures = {k: v for k, v in asdict(report).items() if k not in ("findings", "timings")}
        print(json.dumps({**figures, "slow_split": report.slow_split(args.slow)}, indent=2))
    print(report.summary())
    bad = report.crashes or report.hangs or report.over_memory
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
