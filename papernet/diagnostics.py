"""Diagnostics: one per problem, found by any stage, rendered GCC/ruff style.

A stage reports `Diagnostic(code, message, span, help)`; rendering is separate and needs
the source text, which `render` gets from a mapping of file name to text::

    specs/alexnet.pn:4:1: error[P201]: conv11-96/4 on 224×224×3 gives ... not an integer
      |
    4 | conv11-96/4 -> 55×55×96
      | ^^^^^^^^^^^
      = help: ...

Codes: P0xx syntax and encoding, P1xx meaning (lowering, adaptation), P2xx shapes,
P3xx claims. Warnings share the numbering of the stage that finds them.
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from papernet.span import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None
    help: tuple[str, ...] = ()
    severity: Severity = Severity.ERROR
    notes: tuple[str, ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __repr__(self) -> str:
        where = " " + _where(self) if self.span is not None else ""
        message = printable(self.message)
        short = message if len(message) <= 72 else message[:71] + "…"
        return f"<Diagnostic {self.severity.value}[{self.code}]{where}: {short}>"

    def __str__(self) -> str:
        """The headline and help lines, as the command line prints them (the source line with its
        carets needs the spec's text: `render(diagnostic, sources)`)."""
        return render(self, {})


class Diagnostics(list[Diagnostic]):
    """The diagnostics of a network, in source order: a list, which also keeps the spec texts
    they point into, so it prints as `papernet check` does (`print(net.check())`)."""

    def __init__(self, diagnostics: Iterable[Diagnostic] = (), sources: Mapping[str, str] | None = None) -> None:
        super().__init__(diagnostics)
        self.sources: dict[str, str] = dict(sources or {})

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self if d.is_error]

    def summary(self) -> str:
        """`2 errors, 1 warning` (notes are counted too), or `no problems`."""
        counts = [(sum(d.severity is s for d in self), s.value) for s in Severity]
        parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in counts if n]
        return ", ".join(parts) or "no problems"

    def __repr__(self) -> str:
        first = f": {self[0].severity.value}[{self[0].code}] {_where(self[0])}" if self else ""
        more = ", …" if len(self) > 1 else ""
        return f"<Diagnostics: {self.summary()}{first}{more}>"

    def __str__(self) -> str:
        return render_all(self, self.sources) if self else "no problems"

    def _repr_html_(self) -> str:
        return preformatted_html(str(self), "papernet-diagnostics")


def preformatted_html(text: str, css_class: str) -> str:
    """Text as the terminal shows it, for a notebook: `<pre>`, escaped."""
    import html

    return f'<pre class="{css_class}">{html.escape(text)}</pre>'


def _where(d: Diagnostic) -> str:
    return "" if d.span is None else f"at {printable(d.span.file)}:{d.span.line}:{d.span.column}"


def error(code: str, message: str, span: Span | None, *help: str) -> Diagnostic:
    return Diagnostic(code, message, span, tuple(help))


def warning(code: str, message: str, span: Span | None, *help: str) -> Diagnostic:
    return Diagnostic(code, message, span, tuple(help), Severity.WARNING)


class UsageError(Exception):
    """A bad option, a missing or unreadable file: the command line's fault, exit code 2."""


class KerasNotInstalled(ImportError):
    """Building or running a model needs Keras 3 (and a backend for it), which papernet's core
    install leaves out; the message says how to install it."""

    INSTALL = "pip install 'papernet[keras]'"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} needs Keras 3, which is not installed: {self.INSTALL}")


class SpecError(Exception):
    """Raised by the Python API when a spec cannot be turned into a network."""

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: Mapping[str, str]) -> None:
        self.diagnostics = tuple(diagnostics)
        self.sources = dict(sources)
        super().__init__(render_all(self.diagnostics, self.sources))


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def printable(text: str) -> str:
    r"""The text with control and other invisible characters escaped, safe to print.

    >>> printable("conv3-64\x00 ok")
    'conv3-64\\x00 ok'
    """
    if text.isprintable():  # no C or Z character but the space: nothing to escape (most text, fast)
        return text
    out = []
    for char in text:
        if char == "\t" or unicodedata.category(char)[0] not in "CZ" or char == " ":
            out.append(char)
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def render(diagnostic: Diagnostic, sources: Mapping[str, str]) -> str:
    """One diagnostic as text: the headline, the source line with carets, help lines."""
    d = diagnostic
    kind = f"{d.severity.value}[{d.code}]"
    message = _cut(printable(d.message))
    if d.span is None or d.span.line == 0:
        where = d.span.file + ": " if d.span is not None else ""
        lines = [f"{printable(where)}{kind}: {message}"]
    else:
        lines = [f"{printable(d.span.file)}:{d.span.line}:{d.span.column}: {kind}: {message}"]
        lines += _source_excerpt(d.span, sources.get(d.span.file))
    lines += [f"  = note: {_cut(printable(note))}" for note in d.notes]
    lines += [f"  = help: {_cut(printable(text))}" for text in d.help]
    return "\n".join(lines)


def render_all(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str]) -> str:
    return "\n\n".join(render(d, sources) for d in fold_repeats(diagnostics))


SAME_PLACE_SHOWN = 3
"""The most diagnostics of one code at one place printed in full: a claim on a line repeated
×10,000 fails 10,000 times; the rest are counted in a note on the last one shown."""


def fold_repeats(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics to print: past `SAME_PLACE_SHOWN` of one code at one span, a count instead.

    >>> here = Span("net.pn", 5, 14, 5, 25)
    >>> folded = fold_repeats([error("P302", f"conv3-8 has {n} parameters, not 138M", here) for n in range(5)])
    >>> len(folded), folded[-1].notes
    (3, ('and 2 more like this here (the line repeats)',))
    """
    diagnostics = list(diagnostics)
    places = Counter((d.code, d.span) for d in diagnostics)
    shown: Counter[tuple[str, Span | None]] = Counter()
    folded = []
    for d in diagnostics:
        place = (d.code, d.span)
        shown[place] += 1
        if shown[place] < SAME_PLACE_SHOWN or places[place] <= SAME_PLACE_SHOWN:
            folded.append(d)
        elif shown[place] == SAME_PLACE_SHOWN:
            more = places[place] - SAME_PLACE_SHOWN
            folded.append(replace(d, notes=(*d.notes, f"and {more:,} more like this here (the line repeats)")))
    return folded


def _source_excerpt(span: Span, text: str | None) -> list[str]:
    if text is None:
        return []
    source_lines = _lines(text)
    if not 1 <= span.line <= len(source_lines):
        return []
    raw = source_lines[span.line - 1].rstrip("\r")
    gutter = " " * len(str(span.line))
    line = printable(raw.expandtabs(8))
    start = _display_column(raw, span.column)
    if span.end_line == span.line and span.end_column > span.column:
        end = _display_column(raw, span.end_column)
    else:
        end = max(len(line), start + 1)
    if len(line) > EXCERPT_WIDTH:  # a long line is shown around its span, cut with ellipses
        first = max(0, min(start - EXCERPT_WIDTH // 4, len(line) - EXCERPT_WIDTH))
        last = first + EXCERPT_WIDTH
        shown = ("…" if first else "") + line[first:last] + ("…" if last < len(line) else "")
        start, end = start - first + (1 if first else 0), min(end, last) - first + (1 if first else 0)
        line = shown
    carets = " " * start + "^" * max(1, end - start)
    return [f"{gutter} |", f"{span.line} | {line}", f"{gutter} | {carets}"]


@functools.lru_cache(maxsize=8)
def _lines(text: str) -> list[str]:
    """A spec's lines, split once for all its diagnostics (a str keeps its hash: the lookup is cheap)."""
    return text.split("\n")


EXCERPT_WIDTH = 120
"""The most characters of a source line a diagnostic shows; a longer line is cut around the span."""

MESSAGE_WIDTH = 400
"""The most characters of a message or help line printed (a 10,000-letter unknown word is cut)."""


def _cut(text: str) -> str:
    """`text` cut to MESSAGE_WIDTH characters and an ellipsis.

    >>> _cut("a" * 500)[-3:], len(_cut("a" * 500))
    ('aa…', 401)
    """
    return text if len(text) <= MESSAGE_WIDTH else text[:MESSAGE_WIDTH] + "…"


def _display_column(raw: str, column: int) -> int:
    """The 0-based column at which 1-based `column` of `raw` is displayed."""
    prefix = raw[: max(0, column - 1)]
    return len(printable(prefix.expandtabs(8)))
