#!/usr/bin/env bash
# Set up, then run every check: ruff (lint and format), mypy (strict) and the test suite.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k diagnostics`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest -q "$@"
