"""papernet's fuzz harness: grammar-aware generation and mutation of specs, each input run through
the public API and the command line under a time and a memory limit.

    .venv/bin/python bench/fuzz.py [--inputs N] [--minutes M] [--seed S] [--out DIR]
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
`--memory-limit`) and is killed after `--time-limit` seconds. It runs:

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
(and `--json`) gives inputs, inputs per second, crashes, slowest input, peak memory.

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
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TIME_LIMIT, MEMORY_LIMIT_MB, SLOW = 5.0, 1024, 2.0

# ---- the inputs ----------------------------------------------------------------------------------------

WORDS = [
    # layers, as papers and tutorials print them
    "conv3-64", "conv11-96/4", "conv1-256", "conv", "CONV", "convolution", "conv 3x3/2, 64", "3×3, 64",
    "3x3 conv, 64", "7x7 conv, 64, /2", "96 11x11 filters", "maxpool", "max pool", "avgpool", "average pool",
    "pool, /2", "global", "global avgpool", "3×3 max pool", "FC-4096", "FC-10", "fc", "dense", "1000-d fc",
    "relu", "leaky relu", "elu", "tanh", "sigmoid", "gelu", "linear", "softmax", "BN", "batch norm", "LRN",
    "dropout", "dropout (40%)", "Dropout(0.5)", "flatten", "reshape", "zeropad", "pad", "input", "INPUT",
    "inception(3a)", "conv dw 3×3/2", "separable conv 3×3, 728", "up-conv 2×2, 512", "upsample 2", "crop 4",
    "relu6", "swish", "se 0.25", "identity", "ſoftmax", "padding ſame",
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


def exercise(text: str, command: list[str], workdir: Path) -> str | None:
    """Run `text` through the API and the CLI; None if all is well, else the crash's description
    (its first line is the signature: kind, exception type and the innermost papernet frame)."""
    import papernet
    from papernet.cli import main

    try:
        network = papernet.parse(text)
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


def run_in_child(text: str, command: list[str], time_limit: float, memory_mb: int, workdir: Path) -> Outcome:
    """Fork, limit the child's address space and time, run `exercise`, and collect its verdict."""
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _limit_memory(memory_mb)
            try:
                verdict = exercise(text, command, workdir)
            except MemoryError:
                verdict = "\x00memory"
            except BaseException as error:  # the harness itself must report, not die
                verdict = _describe("harness", error)
            os.write(write_end, (verdict or "").encode("utf-8", errors="replace"))
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = started + time_limit
    killed = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            os.kill(pid, signal.SIGKILL)
            killed = True
            break
        ready, _, _ = select.select([read_end], [], [], remaining)
        if ready:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read_end)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.monotonic() - started
    verdict = b"".join(chunks).decode("utf-8", errors="replace")
    if killed:
        return Outcome(seconds, usage.ru_maxrss, limit="time")
    if verdict == "\x00memory":
        return Outcome(seconds, usage.ru_maxrss, limit="memory")
    if os.WIFSIGNALED(status):
        return Outcome(seconds, usage.ru_maxrss, crash=f"signal: {signal.Signals(os.WTERMSIG(status)).name}\n")
    return Outcome(seconds, usage.ru_maxrss, crash=verdict or None)


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
    findings: list[Finding] = field(default_factory=list)

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
) -> Report:
    """Run `count` inputs from `inputs(seed)`; distinct findings are minimized and, with `out`, written there."""
    import papernet.cli  # noqa: F401 - the server imports papernet (and lark) once; children inherit it

    seen: dict[tuple[str, str], Finding] = {}
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="papernet-fuzz-", dir=shm if shm.is_dir() else None) as scratch:
        workdir = Path(scratch)
        _warm_up(workdir)
        report = Report(baseline_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        started = time.monotonic()
        for number, (source, text) in zip(range(count), inputs(seed), strict=False):
            if minutes is not None and time.monotonic() - started > minutes * 60:
                break
            command = COMMANDS[number % len(COMMANDS)]
            outcome = run_in_child(text, command, time_limit, memory_mb, workdir)
            report.inputs += 1
            report.by_source[source] = report.by_source.get(source, 0) + 1
            peak = outcome.peak_kb / 1024
            if peak > report.peak_mb:
                report.peak_mb, report.peak_input = peak, text
            if outcome.seconds > report.slowest_seconds and outcome.limit is None:
                report.slowest_seconds, report.slowest_input = outcome.seconds, text
            kind, detail = _classify(outcome, slow)
            if kind is None:
                continue
            report.crashes += kind == "crash"
            report.hangs += kind == "time"
            report.over_memory += kind == "memory"
            report.slow += kind == "slow"
            key = (kind, signature(detail) if kind == "crash" else _shape_of(text))
            if key in seen:
                seen[key].count += 1
                continue
            finding = Finding(kind, key[1], source, outcome.seconds, peak, text, detail)
            seen[key] = finding
            report.findings.append(finding)
            finding.minimized = _minimized(finding, command, time_limit, memory_mb, slow, workdir, minimize_budget)
            if out is not None:
                _write_finding(out, finding, command)
            if progress is not None:
                progress(report)
            report.seconds = time.monotonic() - started
        report.seconds = time.monotonic() - started
    return report


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
    if outcome.seconds > slow:
        return "slow", f"{outcome.seconds:.2f} s"
    return None, ""


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
        f"{finding.seconds:.2f} s, peak {finding.peak_mb:.0f} MB; seen {finding.count}x\n\n{finding.detail}\n",
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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

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
    )
    if args.json:
        print(json.dumps({k: v for k, v in asdict(report).items() if k != "findings"}, indent=2))
    print(report.summary())
    bad = report.crashes or report.hangs or report.over_memory
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
