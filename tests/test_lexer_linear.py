"""Terminals that look ahead along a run of spaces do it once, not from every space of the run:
matching stays linear in the line's length (the lazy `defaults:` kind took 0.5 s on a line of
10,000 spaces, within papernet's line bound), and matches what it matched before."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

from papernet.resources import grammar_path

LAZY_DEFAULT_KIND = r"[A-Za-z][A-Za-z0-9_\- \t]*?(?=[ \t]*:)"  # the terminal as it was first written


def terminal(name: str) -> re.Pattern[str]:
    text = grammar_path().read_text(encoding="utf-8")
    match = re.search(rf"^{name}(?:\.\d+)?: /(.*)/(i?)(?:\s*//.*)?$", text, re.MULTILINE)
    assert match is not None, name
    return re.compile(match.group(1), re.IGNORECASE if match.group(2) else 0)


def slowest(function: Callable[[], object], reps: int = 3) -> float:
    best = float("inf")
    for _ in range(reps):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def test_default_kind_matches_what_the_lazy_terminal_matched() -> None:
    lazy, linear = re.compile(LAZY_DEFAULT_KIND), terminal("DEFAULT_KIND")
    rng = random.Random(12)
    for _ in range(20_000):
        text = "".join(rng.choice("aZ09_- \t:#=x\n") for _ in range(rng.randint(0, 14)))
        for start in range(len(text)):
            old, new = lazy.match(text, start), linear.match(text, start)
            assert (old and old.group()) == (new and new.group()), (text, start)
    assert linear.match("conv  layer \t: stride 1").group() == "conv  layer"  # type: ignore[union-attr]


def test_default_kind_is_linear_in_a_run_of_spaces() -> None:
    """Quadratic matching takes 16 times as long for a run 4 times as long; linear, 4 times."""
    pattern = terminal("DEFAULT_KIND")
    short, long = "conv" + " " * 10_000 + "x", "conv" + " " * 40_000 + "x"
    ratio = slowest(lambda: [pattern.match(long) for _ in range(5)]) / max(
        slowest(lambda: [pattern.match(short) for _ in range(5)]), 1e-6
    )
    assert ratio < 10, ratio
