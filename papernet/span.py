"""Source positions: every node of the syntax tree and the IR remembers where it came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range of one source file, 1-based lines and columns.

    `end_column` is exclusive, so a span of one character has `end_column == column + 1`.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: Span) -> Span:
        """The span covering `self` through `other`.

        >>> Span("a.pn", 2, 1, 2, 4).to(Span("a.pn", 2, 8, 2, 12))
        Span(file='a.pn', line=2, column=1, end_line=2, end_column=12)
        """
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)


COMMAND_LINE = "<command line>"


def command_line_span() -> Span:
    """The span of a value that came from a command-line option, not from a spec."""
    return Span(COMMAND_LINE, 0, 0, 0, 0)
