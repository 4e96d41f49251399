"""The paper's training set-up: the `train:` section, read and linted (placeholder)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from papernet.diagnostics import Diagnostic
from papernet.ir import TrainLine


@dataclass(frozen=True, slots=True)
class TrainingSetup:
    pass


def read_training(lines: Sequence[TrainLine]) -> tuple[TrainingSetup, list[Diagnostic]]:
    return TrainingSetup(), []
