"""`papernet train` (placeholder)."""

from __future__ import annotations

import argparse

from papernet.api import Network
from papernet.diagnostics import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(network: Network, args: argparse.Namespace) -> int:
    raise UsageError("training is not implemented yet")
