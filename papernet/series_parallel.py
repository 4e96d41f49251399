"""A network graph as chains and forks: the series–parallel structure papers draw.

`decompose(inputs)` takes each node's input indices (nodes in topological order, node 0 the
input, the last node the output) and returns the top-level chain: `Step(i)` for a node that reads
the element before it, `Fork(i, branches)` for a merge node `i` whose branches all start from the
element before it (an empty branch is the identity). Each merge's branches start at its nearest
dominator. A graph that cannot be written this way (a tensor read from two chains that are not
branches of one fork) raises `NotSeriesParallel`.

>>> decompose([(), (0,), (1,), (1, 2), (3,)])  # input, conv, conv, add(conv | identity), relu
(Step(node=0), Step(node=1), Fork(node=3, branches=((), (Step(node=2),))), Step(node=4))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Step:
    node: int


@dataclass(frozen=True, slots=True)
class Fork:
    """A merge node and its branches, each starting from the same tensor (empty: the identity)."""

    node: int
    branches: tuple[tuple[Element, ...], ...]


Element: TypeAlias = Step | Fork


class NotSeriesParallel(Exception):
    def __init__(self, node: int, reason: str) -> None:
        super().__init__(reason)
        self.node = node


def decompose(inputs: Sequence[tuple[int, ...]]) -> tuple[Element, ...]:
    dominators: list[frozenset[int]] = []
    for index, sources in enumerate(inputs):
        common = frozenset.intersection(*(dominators[i] for i in sources)) if sources else frozenset()
        dominators.append(common | {index})
    seen: set[int] = set()

    def chain(end: int, start: int | None) -> tuple[Element, ...]:
        items: list[Element] = []
        at = end
        while at != start:
            if at in seen:
                raise NotSeriesParallel(at, "its output is read from two places that are not branches of one merge")
            seen.add(at)
            sources = inputs[at]
            if len(sources) <= 1:
                items.append(Step(at))
                if not sources:
                    break
                at = sources[0]
            else:
                fork = max(dominators[at] - {at})
                items.append(Fork(at, tuple(chain(source, fork) for source in sources)))
                at = fork
        return tuple(reversed(items))

    walked = chain(len(inputs) - 1, None)
    if len(seen) != len(inputs):
        missing = min(set(range(len(inputs))) - seen)
        raise NotSeriesParallel(missing, "it does not lead to the output")
    consumers: dict[int, list[int]] = {}
    for index, sources in enumerate(inputs):
        for source in sources:
            consumers.setdefault(source, []).append(index)
    _check(walked, consumers)
    return walked


def _check(elements: Sequence[Element], consumers: Mapping[int, list[int]]) -> None:
    """Every node of a chain feeds only the element after it."""
    for position, element in enumerate(elements):
        if isinstance(element, Fork):
            for branch in element.branches:
                _check(branch, consumers)
        elif position + 1 < len(elements) and sorted(consumers.get(element.node, [])) != sorted(
            entries(elements[position + 1])
        ):
            raise NotSeriesParallel(element.node, "its output is read across branches")


def entries(element: Element) -> list[int]:
    """The nodes that read the tensor before `element`: itself, or each branch's first (the merge for an identity)."""
    if isinstance(element, Step):
        return [element.node]
    found: list[int] = []
    for branch in element.branches:
        found += entries(branch[0]) if branch else [element.node]
    return found


def nodes_of(elements: Sequence[Element]) -> list[int]:
    """Every node in a chain, branches included, in the chain's order."""
    found: list[int] = []
    for element in elements:
        if isinstance(element, Fork):
            for branch in element.branches:
                found += nodes_of(branch)
        found.append(element.node)
    return found
