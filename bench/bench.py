"""papernet benchmarks: the budgets in DESIGN.md, measured and reported (never asserted).

    .venv/bin/python bench/bench.py [--quick] [--json] [--profile]

1. Cold `papernet summary vgg16` against a cold process that builds
   `keras.applications.VGG16(weights=None)` and prints its summary: wall time and peak RSS.
2. Cold `papernet check vgg16` (budget 2×) / `summary --format json` and table `summary` (2.5×)
   against cold `python -c "import lark"`, and whether TensorFlow (or Keras) gets imported.
3. In-process parse + lower + infer + check of generated 1,000- and 10,000-layer specs.
4. Linearity: time(10k) / time(1k).
5. `papernet.load("resnet50").to_keras()` against `keras.applications.ResNet50(weights=None)`, built
   alternately in one process after a warm-up: the best wall and CPU seconds of each (≤ 1.10×), and
   for reference the same network without the spec's `train:` set-up (He init, weight decay), which
   keras.applications does not apply.

Every cold figure is the median over fresh processes (after one unrecorded warm-up run, so the
files are in the page cache: "cold" means a new interpreter, not a cold disk). Peak RSS is the
child's own `ru_maxrss`, from `os.wait4` on its pid. The script only reports: it exits 0 whatever
the timings, and 1 only if a child process or a pipeline stage fails.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import importlib.util
import io
import json
import math
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

PYTHON = sys.executable
_SCRIPT = Path(sys.executable).parent / "papernet"
_ENTRY_POINT = "papernet.cli:entry_point"  # pyproject.toml [project.scripts]


def papernet_command(script: Path = _SCRIPT) -> list[str]:
    """How a user starts papernet: the installed console script, if it runs the current entry
    point; else (an install older than the checkout) what that script would run."""
    module, function = _ENTRY_POINT.split(":")
    try:
        current = f"from {module} import {function}" in script.read_text(encoding="utf-8")
    except OSError:
        current = False
    return [str(script)] if current else [PYTHON, "-c", f"from {module} import {function}; {function}()"]


PAPERNET: list[str] = papernet_command()

KERAS_VGG16 = "import keras\nmodel = keras.applications.VGG16(weights=None)\nmodel.summary()\n"
HEAVY_MODULES = ("tensorflow", "keras", "numpy", "rich")

# Budgets (DESIGN.md "Budgets", and the brief for this benchmark).
KERAS_SPEEDUP_MIN = 30.0  # issue 12: Keras VGG16 build+summary ÷ papernet summary, wall
KERAS_MEMORY_MIN = 50.0  # and peak memory
LARK_RATIO_MAX = {"check": 2.0, "summary_json": 2.5, "summary": 2.5}  # issue 12: check 2×, table summary 2.5×
TEN_K_SECONDS_MAX = 0.5  # issue 12: parse+lower+infer+check of 10,000 layers
LINEARITY_MAX = 11.0  # 10 is exactly linear; issue 12 allows 10% for fixed costs and noise
SIZES = (1_000, 10_000)


# ---- cold processes ------------------------------------------------------------------


@dataclass
class ColdRun:
    wall_s: float
    max_rss_mb: float
    exit_code: int


@dataclass
class ColdResult:
    label: str
    argv: list[str]
    runs: list[ColdRun] = field(default_factory=list)
    error: str | None = None

    @property
    def wall_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs) if self.runs else float("nan")

    @property
    def max_rss_mb(self) -> float:
        return statistics.median(r.max_rss_mb for r in self.runs) if self.runs else float("nan")


def child_env(pycache_prefix: str | None) -> dict[str, str]:
    """The environment of every child. With a `pycache_prefix`, bytecode is cached there (and
    `PYTHONDONTWRITEBYTECODE` dropped), so after the warm-up run papernet starts the way an
    installed wheel does (pip compiles bytecode at install), without writing into the checkout."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    if pycache_prefix is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache_prefix
    return env


def run_cold(argv: Sequence[str], cwd: str, env: dict[str, str]) -> tuple[ColdRun, bytes, bytes]:
    """One fresh process: wall time, its own peak RSS (from wait4), exit code, stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        out.seek(0)
        err.seek(0)
        rss_kib = usage.ru_maxrss / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB elsewhere
        return ColdRun(wall, rss_kib / 1024, proc.returncode), out.read(), err.read()


def measure_cold(
    commands: dict[str, tuple[str, list[str]]], reps: int, cwd: str, env: dict[str, str]
) -> dict[str, ColdResult]:
    """Every command `reps` times (plus one warm-up), interleaved so drift hits them all alike.

    A papernet or Keras command that exits non-zero or prints nothing is an error, not a figure.
    """
    results = {key: ColdResult(label, argv) for key, (label, argv) in commands.items()}
    silent = {"python", "lark"}
    for rep in range(reps + 1):
        for key, result in results.items():
            if result.error is not None:
                continue
            run, stdout, stderr = run_cold(result.argv, cwd, env)
            if run.exit_code != 0 or (key not in silent and not stdout.strip()):
                tail = stderr.decode(errors="replace").strip().splitlines()[-3:]
                result.error = f"exit {run.exit_code}: " + (" | ".join(tail) or "no output")
            elif rep > 0:
                result.runs.append(run)
    return results


@dataclass
class ImportReport:
    label: str
    heavy: list[str]
    modules: int
    error: str | None = None
    top_cumulative: list[tuple[str, float]] = field(default_factory=list)  # top-level imports, ms
    top_self: list[tuple[str, float]] = field(default_factory=list)  # any import, ms

    @property
    def tensorflow(self) -> bool:
        return "tensorflow" in self.heavy or "keras" in self.heavy


def import_report(label: str, argv: Sequence[str], cwd: str, env: dict[str, str]) -> ImportReport:
    """Which modules a fresh process imports, from `PYTHONPROFILEIMPORTTIME` (`-X importtime`)."""
    run, _, stderr = run_cold(argv, cwd, {**env, "PYTHONPROFILEIMPORTTIME": "1"})
    entries: list[tuple[int, str, float, float]] = []  # depth, module, self ms, cumulative ms
    for line in stderr.decode(errors="replace").splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        module = name.strip()
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append((depth, module, int(self_us) / 1000, int(cumulative_us) / 1000))
    roots = {module.split(".")[0] for _, module, _, _ in entries}
    report = ImportReport(label, [m for m in HEAVY_MODULES if m in roots], len(entries))
    if run.exit_code != 0 or not entries:
        report.error = f"exit {run.exit_code}, {len(entries)} imports seen"
    top = sorted((e for e in entries if e[0] == 0), key=lambda e: -e[3])
    report.top_cumulative = [(module, cumulative) for _, module, _, cumulative in top[:8]]
    report.top_self = [(module, own) for _, module, own, _ in sorted(entries, key=lambda e: -e[2])[:8]]
    return report


# ---- in-process pipeline ---------------------------------------------------------------

LINE_CYCLE = (
    "block{i}: conv3-64",
    "BN",
    "relu",
    "conv 3x3, 64, stride 1",
    "3×3, 64 -> 224×224×64",
    "maxpool 1x1/1",
    "max pool 3×3, stride 1, pad 1",
    "conv3-64 x2",
    "leaky relu 0.1",
    "dropout 0.1",
    "conv3-64, BN, relu",
    "avg pool 1×1, stride 1",
)


def generate_spec(layers: int, distinct: bool = False) -> str:
    """A sequential spec of `layers` layer lines in the spellings papers use; every line valid.

    Everything keeps 224×224×64 (stride 1, same padding), so the whole pipeline runs to the end.
    The lines cycle through `LINE_CYCLE`, so the parser reads most of them once and reuses the
    reading; `distinct` labels every line, so that no two lines are alike (a table typed row by row).
    """
    lines = [
        f'network "bench-{layers}"',
        "input 224×224 RGB",
        "",
        "defaults:",
        "  conv: stride 1, padding same",
        "",
    ]
    for i in range(layers):
        line = LINE_CYCLE[i % len(LINE_CYCLE)].format(i=i)
        lines.append(f"row{i}: {line}" if distinct and ":" not in line else line)
    lines += ["flatten", "FC-10", "softmax", ""]
    return "\n".join(lines)


@dataclass
class PipelineResult:
    layers: int
    spec_lines: int
    ir_nodes: int
    diagnostics: list[str]
    parse_s: float
    lower_s: float
    infer_s: float
    check_s: float
    total_s: float  # papernet.parse(text).check(), end to end through the API
    total_gc_off_s: float  # the same with the cyclic garbage collector off: how much of it is GC
    peak_traced_mb: float


def best_of(reps: int, fn: Callable[[], object], gc_off: bool = False) -> float:
    best = float("inf")
    for _ in range(reps):
        gc.collect()
        if gc_off:
            gc.disable()
        try:
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best


def _api(papernet: ModuleType, text: str) -> object:
    return papernet.parse(text, "<bench>").check()


def measure_totals(sizes: Sequence[int], reps: int) -> dict[tuple[int, bool], float]:
    """Best time of papernet.parse(text).check() per (size, GC off), the sizes interleaved so that
    drift in the machine's speed hits them alike (their ratio is the linearity figure)."""
    import papernet

    texts = {size: generate_spec(size) for size in sizes}
    for text in texts.values():
        papernet.parse(text, "<bench>").check()  # warm-up: lexer scanners, allocator
    best: dict[tuple[int, bool], float] = {}
    for _ in range(reps):
        for size, text in texts.items():
            for gc_off in (False, True):
                taken = best_of(1, functools.partial(_api, papernet, text), gc_off=gc_off)
                best[size, gc_off] = min(best.get((size, gc_off), taken), taken)
    return best


def measure_pipeline(layers: int, reps: int, totals: dict[tuple[int, bool], float]) -> PipelineResult:
    """The stages of one size, each timed separately, plus its totals and its tracemalloc peak."""
    import papernet
    from papernet.check import check
    from papernet.infer import infer
    from papernet.lower import lower
    from papernet.parse import parse

    text = generate_spec(layers)
    found = [f"{d.code}: {d.message}" for d in papernet.parse(text, "<bench>").check()]
    tracemalloc.start()
    papernet.parse(text, "<bench>").check()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # Each stage is timed with only its inputs alive, as in the real pipeline.
    parse_s = best_of(reps, lambda: parse(text, "<bench>"))
    spec = parse(text, "<bench>")
    lower_s = best_of(reps, lambda: lower(spec, "bench"))
    graph, _ = lower(spec, "bench")
    infer_s = best_of(reps, lambda: infer(graph, "keras"))
    inference = infer(graph, "keras")
    return PipelineResult(
        layers=layers,
        spec_lines=text.count("\n"),
        ir_nodes=len(graph.nodes),
        diagnostics=found,
        parse_s=parse_s,
        lower_s=lower_s,
        infer_s=infer_s,
        check_s=best_of(reps, lambda: check(graph, inference)),
        total_s=totals[layers, False],
        total_gc_off_s=totals[layers, True],
        peak_traced_mb=peak / 2**20,
    )


def measure_distinct(layers: int, reps: int) -> float:
    """papernet.parse(text).check() of `layers` lines no two alike: the figure without the reuse
    of a line's reading (a reference, not a budget)."""
    import papernet

    text = generate_spec(layers, distinct=True)
    papernet.parse(text, "<bench>").check()
    return best_of(reps, functools.partial(_api, papernet, text))


def profile_gc(layers: int) -> str:
    """How often the cyclic collector runs during papernet.parse(text).check(), and for how long."""
    import papernet

    text = generate_spec(layers)
    papernet.parse(text, "<bench>").check()
    counts, seconds, started = [0, 0, 0], [0.0, 0.0, 0.0], [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            counts[info["generation"]] += 1
            seconds[info["generation"]] += time.perf_counter() - started[0]

    gc.collect()
    gc.callbacks.append(callback)
    try:
        start = time.perf_counter()
        papernet.parse(text, "<bench>").check()
        total = time.perf_counter() - start
    finally:
        gc.callbacks.remove(callback)
    per_generation = ", ".join(f"gen{g}: {counts[g]} in {seconds[g]:.3f} s" for g in range(3))
    return (
        f"Profile: cyclic GC during papernet.parse(text).check() on {layers:,} layers: {total:.3f} s in all, "
        f"{sum(seconds):.3f} s collecting ({per_generation}); "
        f"{len(gc.get_objects()):,} tracked objects alive afterwards, thresholds {gc.get_threshold()}"
    )


def profile_pipeline(layers: int, limit: int = 20) -> str:
    import papernet

    text = generate_spec(layers)
    profiler = cProfile.Profile()
    profiler.enable()
    papernet.parse(text, "<bench>").check()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    return stream.getvalue()


# ---- report ------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    value: str
    target: str
    passed: bool | None  # None: cannot tell (a measurement failed)
    number: float | None = None  # the value as a number, for --json


def _ratio(a: float, b: float) -> float:
    return a / b if b and b == b and a == a else float("nan")


def _status(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[passed]


def _ok(value: float, good: Callable[[float], bool]) -> bool | None:
    return None if value != value else good(value)


def budget_checks(
    cold: dict[str, ColdResult], imports: list[ImportReport], pipeline: list[PipelineResult]
) -> list[Check]:
    checks: list[Check] = []

    def at_least(name: str, value: float, minimum: float) -> None:
        checks.append(Check(name, f"{value:.1f}x", f">= {minimum:g}x", _ok(value, lambda v: v >= minimum), value))

    def at_most(name: str, value: float, maximum: float, text: str, target: str) -> None:
        checks.append(Check(name, text, target, _ok(value, lambda v: v <= maximum), value))

    summary, keras = cold["summary"], cold.get("keras")
    if keras is not None:
        at_least("1. keras VGG16 / papernet summary, wall", _ratio(keras.wall_s, summary.wall_s), KERAS_SPEEDUP_MIN)
        at_least(
            "1. keras VGG16 / papernet summary, peak RSS",
            _ratio(keras.max_rss_mb, summary.max_rss_mb),
            KERAS_MEMORY_MIN,
        )
    for key, limit in LARK_RATIO_MAX.items():
        ratio = _ratio(cold[key].wall_s, cold["lark"].wall_s)
        at_most(f"2. {cold[key].label} / import lark", ratio, limit, f"{ratio:.2f}x", f"<= {limit:g}x")
    for report in imports:
        heavy = ", ".join(report.heavy)
        text = f"yes: {heavy}" if report.tensorflow else f"no ({heavy})" if heavy else "no"
        if report.error:
            text = "error"
        passed = None if report.error else not report.tensorflow
        checks.append(Check(f"2. TF/Keras imported by {report.label}", text, "no", passed))
    by_size = {p.layers: p for p in pipeline}
    for p in pipeline:
        count = len(p.diagnostics)
        text = "yes" if not count else f"{count} diagnostics"
        checks.append(Check(f"3. generated {p.layers:,}-layer spec is clean", text, "0 diagnostics", not count, count))
    if SIZES[-1] in by_size:
        big = by_size[SIZES[-1]].total_s
        name = f"3. parse+lower+infer+check, {SIZES[-1]:,} layers"
        at_most(name, big, TEN_K_SECONDS_MAX, f"{big:.3f} s", f"<= {TEN_K_SECONDS_MAX:g} s")
    if all(size in by_size for size in SIZES):
        linear = _ratio(by_size[SIZES[1]].total_s, by_size[SIZES[0]].total_s)
        at_most(
            "4. linearity: time(10k) / time(1k)",
            linear,
            LINEARITY_MAX,
            f"{linear:.1f}",
            f"<= {LINEARITY_MAX:g} (10 = linear)",
        )
    return checks


def render_table(
    meta: dict[str, Any],
    cold: dict[str, ColdResult],
    imports: list[ImportReport],
    pipeline: list[PipelineResult],
    checks: list[Check],
) -> str:
    out: list[str] = []
    out.append("papernet bench")
    out.append(
        f"  {meta['cpus']} CPUs, Python {meta['python']}, {meta['platform']}; cold: median of {meta['cold_reps']} "
        f"fresh processes (+1 warm-up); in-process: best of {meta['inprocess_reps']}"
    )
    out.append(f"  children: {' '.join(meta['papernet'])}; bytecode: {meta['bytecode']}")
    if meta["other_cpu_s"] is not None:
        share = meta["other_cpu_s"] / meta["elapsed_s"] if meta["elapsed_s"] else 0.0
        out.append(
            f"  other processes used {meta['other_cpu_s']:.1f} CPU-s during the {meta['elapsed_s']:.0f} s run "
            f"({share:.0%} of one core){'' if share < 0.05 else ': the machine was not quiet, expect noise'}"
        )
    out.append("")
    out.append("Cold processes (VGG-16)                        wall (median)   peak RSS    runs (s)")
    for result in cold.values():
        if result.error:
            out.append(f"  {result.label:<44} ERROR {result.error}")
            continue
        runs = " ".join(f"{r.wall_s:.2f}" for r in result.runs)
        out.append(f"  {result.label:<44} {result.wall_s:>8.3f} s {result.max_rss_mb:>9.1f} MB   {runs}")
    out.append("")
    out.append("In-process pipeline (best of runs, seconds)")
    out.append("  layers  IR nodes   parse   lower   infer   check     sum   api total  (GC off)  peak traced")
    for p in pipeline:
        stages = p.parse_s + p.lower_s + p.infer_s + p.check_s
        out.append(
            f"  {p.layers:>6,} {p.ir_nodes:>9,} {p.parse_s:>7.3f} {p.lower_s:>7.3f} {p.infer_s:>7.3f} "
            f"{p.check_s:>7.3f} {stages:>7.3f} {p.total_s:>11.3f} {p.total_gc_off_s:>9.3f}  {p.peak_traced_mb:>8.1f} MB"
        )
    out.append("  (stages timed separately; api total = papernet.parse(text).check(), the sum plus API glue)")
    if len(pipeline) == 2 and pipeline[0].layers:
        a, b = pipeline
        scale = b.layers / a.layers
        growth = [
            f"{name} {_ratio(getattr(b, attr), getattr(a, attr)):.1f}"
            for name, attr in (
                ("parse", "parse_s"),
                ("lower", "lower_s"),
                ("infer", "infer_s"),
                ("check", "check_s"),
                ("api", "total_s"),
                ("api GC off", "total_gc_off_s"),
            )
        ]
        out.append(f"  growth {b.layers:,}/{a.layers:,} (x{scale:.0f} = linear): " + ", ".join(growth))
    if pipeline and math.isfinite(meta.get("distinct_lines_s", float("nan"))):
        out.append(
            f"  {pipeline[-1].layers:,} lines no two alike (each labelled, no reading reused): api total "
            f"{meta['distinct_lines_s']:.3f} s (a reference, not a budget)"
        )
    out.append("")
    out.append(f"  {'Budget':<60} {'value':>12}  {'target':<20} status")
    for c in checks:
        out.append(f"  {c.name:<60} {c.value:>12}  {c.target:<20} {_status(c.passed)}")
    failed = [c for c in checks if c.passed is False]
    out.append("")
    out.append(
        f"{len(checks) - len(failed)}/{len(checks)} budgets met"
        + (": missed " + "; ".join(c.name for c in failed) if failed else "")
    )
    if meta.get("profile"):
        out.append("")
        out.append(meta["profile"])
    return "\n".join(out)


def render_profile(imports: list[ImportReport], pipeline_profile: str) -> str:
    out = ["Profile: start-up imports (PYTHONPROFILEIMPORTTIME, ms)"]
    for report in imports:
        out.append(f"  {report.label}: {report.modules} modules")
        out.append("    top-level, cumulative: " + ", ".join(f"{m} {t:.1f}" for m, t in report.top_cumulative))
        out.append("    any, self:             " + ", ".join(f"{m} {t:.1f}" for m, t in report.top_self))
    out.append("")
    out.append(f"Profile: papernet.parse(text).check() on {SIZES[-1]:,} layers (cProfile)")
    out.append(pipeline_profile.rstrip())
    return "\n".join(out)


def _finite(value: Any) -> Any:
    """The figures with NaN (a measurement that failed) as null, so the output is strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def machine_cpu_seconds() -> float | None:
    """CPU time all processes on the machine have used since boot (Linux), or None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time this process and its finished children have used."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


# ---- to_keras() against keras.applications --------------------------------------------------

TO_KERAS_RATIO_MAX = 1.10
TO_KERAS = """\
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras, papernet
net = papernet.load("resnet50")
from papernet.backends.live import build_model
builders = {
    "papernet": net.to_keras,
    "keras": lambda: keras.applications.ResNet50(weights=None),
    "plain": lambda: build_model(net.graph, net.infer(), None),  # without the spec's train: set-up
}
runs = {name: [] for name in builders}
for repetition in range(int(sys.argv[1]) + 1):  # the first round warms up, unrecorded
    for name, build in builders.items():
        keras.backend.clear_session()
        wall, cpu = time.perf_counter(), time.process_time()
        model = build()
        if repetition:
            runs[name].append((time.perf_counter() - wall, time.process_time() - cpu, model.count_params()))
print(json.dumps(runs))
"""


@dataclass
class ToKeras:
    """`papernet.load("resnet50").to_keras()` and `keras.applications.ResNet50(weights=None)`, built
    alternately in one process: the best wall and CPU seconds of each, and the parameter counts."""

    papernet_wall_s: float = float("nan")
    keras_wall_s: float = float("nan")
    papernet_cpu_s: float = float("nan")
    keras_cpu_s: float = float("nan")
    papernet_params: int = 0
    keras_params: int = 0
    plain_wall_s: float = float("nan")  # the architecture alone: Keras's default initialiser, no weight decay
    error: str | None = None


def measure_to_keras(reps: int, env: dict[str, str]) -> ToKeras:
    """The best of `reps` (CPU time is steadier than wall time on a shared machine; both are shown)."""
    done = subprocess.run(
        [PYTHON, "-c", TO_KERAS, str(reps)], capture_output=True, text=True, env=env, timeout=1800, check=False
    )
    if done.returncode != 0:
        return ToKeras(error=done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    best = {name: (min(r[0] for r in rows), min(r[1] for r in rows), rows[0][2]) for name, rows in runs.items()}
    return ToKeras(*(best[n][0] for n in ("papernet", "keras")), *(best[n][1] for n in ("papernet", "keras")),
                   best["papernet"][2], best["keras"][2], best["plain"][0])  # fmt: skip


def to_keras_checks(result: ToKeras) -> list[Check]:
    wall, cpu = _ratio(result.papernet_wall_s, result.keras_wall_s), _ratio(result.papernet_cpu_s, result.keras_cpu_s)
    return [
        Check(
            "5. to_keras() ResNet-50 / keras.applications.ResNet50, wall",
            f"{wall:.2f}x ({result.papernet_wall_s:.2f}/{result.keras_wall_s:.2f} s)",
            f"<= {TO_KERAS_RATIO_MAX:g}x",
            _ok(wall, lambda v: v <= TO_KERAS_RATIO_MAX),
            wall,
        ),
        Check(
            "5. to_keras() ResNet-50 / keras.applications.ResNet50, CPU",
            f"{cpu:.2f}x ({result.papernet_cpu_s:.2f}/{result.keras_cpu_s:.2f} s)",
            f"<= {TO_KERAS_RATIO_MAX:g}x",
            _ok(cpu, lambda v: v <= TO_KERAS_RATIO_MAX),
            cpu,
        ),
        Check(
            "5. the same without the spec's train: set-up (He init, L2), wall",
            f"{_ratio(result.plain_wall_s, result.keras_wall_s):.2f}x",
            "(for reference)",
            None,
            _ratio(result.plain_wall_s, result.keras_wall_s),
        ),
    ]


# ---- a summary at the layer bound -------------------------------------------------------

BIG_SUMMARY_ROWS = 99_999  # issue 12: the table summary of 99,999 layers took 114 s and 754 MB
_BIG_CYCLE = ("conv3-8 pad 1", "BN", "relu", "maxpool 1x1/1", "dropout 0.1")


def measure_big_summary(env: dict[str, str], rows: int = BIG_SUMMARY_ROWS) -> dict[str, dict[str, Any]]:
    """One cold `papernet summary big.pn` per format on a sequential spec of `rows` rows (input,
    rows − 3 layers, the implicit flatten, FC-10): wall seconds, peak RSS, exit code, output bytes."""
    body = [_BIG_CYCLE[i % len(_BIG_CYCLE)] for i in range(rows - 3)]
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="papernet-bench-big-") as cwd:
        spec = Path(cwd) / "big.pn"
        spec.write_text("\n".join([f'network "big-{rows}"', "input 8x8x3", *body, "FC-10", ""]), encoding="utf-8")
        for fmt in ("table", "json", "html"):
            run, out, _ = run_cold([*PAPERNET, "summary", str(spec), "--format", fmt], cwd, env)
            figures[fmt] = {**asdict(run), "output_bytes": len(out)}
    return figures


def render_big_summary(figures: dict[str, dict[str, Any]], rows: int = BIG_SUMMARY_ROWS) -> str:
    parts = [
        f"{fmt} {f['wall_s']:.1f} s {f['max_rss_mb']:.0f} MB" + (f" (exit {f['exit_code']})" if f["exit_code"] else "")
        for fmt, f in figures.items()
    ]
    return f"Cold `papernet summary` of {rows:,} layers (one run each): " + ", ".join(parts)


# ---- main --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (3 cold, 2 in-process)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--profile", action="store_true", help="also show import times and a cProfile of 10k layers")
    parser.add_argument("--no-keras", action="store_true", help="skip the (slow) Keras VGG16 comparison")
    parser.add_argument(
        "--env-as-is",
        action="store_true",
        help="run children in this environment as it is (by default: with a private, warmed bytecode cache)",
    )
    args = parser.parse_args(argv)

    cold_reps, inprocess_reps = (3, 2) if args.quick else (5, 5)
    have_keras = importlib.util.find_spec("keras") is not None and not args.no_keras

    commands: dict[str, tuple[str, list[str]]] = {
        "python": ("python -c pass", [PYTHON, "-c", "pass"]),
        "lark": ('python -c "import lark"', [PYTHON, "-c", "import lark"]),
        "check": ("papernet check vgg16", [*PAPERNET, "check", "vgg16"]),
        "summary_json": ("papernet summary vgg16 --format json", [*PAPERNET, "summary", "vgg16", "--format", "json"]),
        "summary": ("papernet summary vgg16", [*PAPERNET, "summary", "vgg16"]),
    }
    heavy_commands: dict[str, tuple[str, list[str]]] = {}
    if have_keras:
        heavy_commands["keras"] = ("keras VGG16(weights=None) + summary()", [PYTHON, "-c", KERAS_VGG16])
    started, machine_before, own_before = time.perf_counter(), machine_cpu_seconds(), own_cpu_seconds()

    with tempfile.TemporaryDirectory(prefix="papernet-bench-") as cwd:
        env = child_env(None if args.env_as_is else str(Path(cwd) / "pycache"))
        # The light commands interleaved with each other, then Keras on its own: a 2 GB TensorFlow
        # process exiting between two 0.1 s runs would perturb them.
        cold = measure_cold(commands, cold_reps, cwd, env)
        cold.update(measure_cold(heavy_commands, cold_reps, cwd, env))
        imports = [
            import_report(label, argv, cwd, env)
            for label, argv in (
                ("import papernet, papernet.cli", [PYTHON, "-c", "import papernet, papernet.cli"]),
                ("papernet check vgg16", [*PAPERNET, "check", "vgg16"]),
                ("papernet summary vgg16 --format json", [*PAPERNET, "summary", "vgg16", "--format", "json"]),
                ("papernet summary vgg16", [*PAPERNET, "summary", "vgg16"]),
            )
        ]

    pipeline: list[PipelineResult] = []
    errors = [f"{r.label}: {r.error}" for r in cold.values() if r.error]
    errors += [f"{r.label}: {r.error}" for r in imports if r.error]
    distinct_s = float("nan")
    try:
        totals = measure_totals(SIZES, inprocess_reps)
        pipeline = [measure_pipeline(size, inprocess_reps, totals) for size in SIZES]
        distinct_s = measure_distinct(SIZES[-1], inprocess_reps)
    except Exception as exc:  # report it and carry on with what was measured
        errors.append(f"in-process pipeline: {type(exc).__name__}: {exc}")

    meta: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "other_cpu_s": None,
        "cold_reps": cold_reps,
        "inprocess_reps": inprocess_reps,
        "papernet": PAPERNET,
        "distinct_lines_s": distinct_s,
        "bytecode": "as the environment has it"
        if args.env_as_is
        else "private cache (PYTHONPYCACHEPREFIX), warmed by the first run",
    }
    machine_after = machine_cpu_seconds()
    if machine_before is not None and machine_after is not None:
        meta["other_cpu_s"] = round(max(0.0, machine_after - machine_before - (own_cpu_seconds() - own_before)), 1)
    if args.profile:
        meta["profile"] = render_profile(imports, profile_pipeline(SIZES[-1])) + "\n\n" + profile_gc(SIZES[-1])
    checks = budget_checks(cold, imports, pipeline)
    to_keras = measure_to_keras(3 if args.quick else 5, child_env(None)) if have_keras else None
    if to_keras is not None:
        checks += to_keras_checks(to_keras)
        if to_keras.error:
            errors.append(f"to_keras: {to_keras.error}")

    big = measure_big_summary(child_env(None))
    if args.json:
        figures = {
            "meta": meta,
            "cold": {
                key: {
                    "label": r.label,
                    "argv": r.argv,
                    "median_wall_s": r.wall_s,
                    "median_max_rss_mb": r.max_rss_mb,
                    "runs": [asdict(run) for run in r.runs],
                    "error": r.error,
                }
                for key, r in cold.items()
            },
            "imports": [
                {
                    "label": r.label,
                    "tensorflow_imported": r.tensorflow,
                    "heavy_modules": r.heavy,
                    "modules": r.modules,
                    "top_cumulative_ms": r.top_cumulative,
                    "error": r.error,
                }
                for r in imports
            ],
            "pipeline": [asdict(p) for p in pipeline],
            "to_keras": asdict(to_keras) if to_keras is not None else None,
            "budgets": [asdict(c) for c in checks],
            "errors": errors,
            "big_summary": big,
        }
        print(json.dumps(_finite(figures), indent=2, allow_nan=False))
    else:
        print(render_table(meta, cold, imports, pipeline, checks))
        print("\n" + render_big_summary(big))
        if errors:
            print("\nErrors:\n  " + "\n  ".join(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
