#!/usr/bin/env bash
# The one test command (README): install the dev requirements, lint, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements-dev.txt
python -m ruff check .
python -m pytest -q "$@"
