#!/usr/bin/env bash
# The one test command (README): install everything the tests use, lint, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The browser tests drive Debian's Chromium (Playwright cannot download a browser offline).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
python -m pip install -q -r requirements-dev.txt
python -m pip install -q -r requirements-scale.txt  # --engine ray (issue 13)
# Training stack for the "real consumers" tests: torch first, pinned, so pip takes the CPU
# wheel instead of pulling a CUDA build; Unsloth/AutoTrain without their conflicting pins.
python -m pip install -q torch==2.13.0
python -m pip install -q -r requirements-train.txt
python -m pip install -q --no-deps -r requirements-train-nodeps.txt
python -m ruff check .
python -m pytest -q "$@"
