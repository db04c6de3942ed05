#!/usr/bin/env bash
# Runs the whole test suite: unit, kernel integration (root), end-to-end. Files run one at a time
# because kernel tests share the machine's network stack and BPF programs see all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find dist -name '*.test.js' -not -path '*/node_modules/*' | sort)
if ((${#files[@]} == 0)); then
  echo "test: no test files under dist/ (did the build run?)" >&2
  exit 1
fi
exec node --test --test-concurrency=1 --test-timeout=120000 "$@" "${files[@]}"
