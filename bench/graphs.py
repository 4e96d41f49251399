"""Parse + lower + infer time for branching networks: ResNet-152 and generated residual networks.

    .venv/bin/python bench/graphs.py

Reports, never asserts. A residual block `[3×3, 64; 3×3, 64]` on 64 channels lowers to 7 IR
nodes (2 convs, 2 batch norms, a ReLU, the add and the output ReLU), so 10,000 blocks are 70,000.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import papernet
from papernet.resources import shipped_specs

HEADER = "input 32x32x64\ndefaults:\n  conv: padding same\n"


def residual_spec(blocks: int) -> str:
    """A network of `blocks` basic residual blocks, written as ResNet's Table 1 writes them."""
    lines = [HEADER]
    per_line = 100
    for start in range(0, blocks, per_line):
        lines.append(f"[3×3, 64; 3×3, 64] ×{min(per_line, blocks - start)}\n")
    lines.append("global avgpool, FC-10\n")
    return "".join(lines)


def best_of(reps: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(reps):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print("branching networks: parse + lower + infer + check, best of 3 (seconds)")
    resnet = shipped_specs()["resnet152"].read_text(encoding="utf-8")
    net = papernet.parse(resnet)
    seconds = best_of(3, lambda: papernet.parse(resnet).check())
    print(f"  ResNet-152            {len(net.graph.nodes):>7,} nodes  {seconds:.3f} s")
    timings = {}
    for blocks in (1_000, 10_000):
        text = residual_spec(blocks)
        nodes = len(papernet.parse(text).graph.nodes)
        timings[blocks] = best_of(3, lambda text=text: papernet.parse(text).check())  # type: ignore[misc]
        print(f"  {blocks:>6,} residual blocks {nodes:>7,} nodes  {timings[blocks]:.3f} s")
    print(f"  growth 10,000/1,000 blocks: {timings[10_000] / timings[1_000]:.1f} (10 = linear)")


if __name__ == "__main__":
    main()
