"""Source positions: every node of the syntax tree and the IR remembers where it came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, init=False)
class Span:
    """A half-open range of one source file, 1-based lines and columns.

    `end_column` is exclusive, so a span of one character has `end_column == column + 1`.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __init__(self, file: str, line: int, column: int, end_line: int, end_column: int) -> None:
        # Set through the slots themselves: half the time of the frozen dataclass's own
        # `object.__setattr__` by name, for the object parsing makes most of.
        _set_file(self, file)
        _set_line(self, line)
        _set_column(self, column)
        _set_end_line(self, end_line)
        _set_end_column(self, end_column)

    def to(self, other: Span) -> Span:
        """The span covering `self` through `other`.

        >>> Span("a.pn", 2, 1, 2, 4).to(Span("a.pn", 2, 8, 2, 12))
        Span(file='a.pn', line=2, column=1, end_line=2, end_column=12)
        """
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)


_set_file = vars(Span)["file"].__set__
_set_line = vars(Span)["line"].__set__
_set_column = vars(Span)["column"].__set__
_set_end_line = vars(Span)["end_line"].__set__
_set_end_column = vars(Span)["end_column"].__set__

COMMAND_LINE = "<command line>"


def command_line_span() -> Span:
    """The span of a value that came from a command-line option, not from a spec."""
    return Span(COMMAND_LINE, 0, 0, 0, 0)
