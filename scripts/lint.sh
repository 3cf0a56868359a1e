#!/usr/bin/env bash
# The project's lint, as `make lint` and the pre-commit hooks run it: ruff's rules (pyproject.toml [tool.ruff]),
# ruff's formatting, and mypy on the modules listed in pyproject.toml [tool.mypy].
# Usage: scripts/lint.sh            (from the repository root; uses .venv/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
status=0
"$BIN/ruff" check . || status=1
"$BIN/ruff" format --check . || status=1
"$BIN/mypy" || status=1
exit "$status"
