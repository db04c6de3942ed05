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
# The container tests (test/deploy/) run the image of this checkout. The runner's --test-timeout
# bounds each test file as a whole, its before() hooks included, and a cold image build takes
# minutes: build it here, so that the build inside each container test is a layer-cache hit of
# seconds. A failure here is left to those tests to report (they build again and say why).
if [[ $(id -u) -eq 0 ]] && command -v podman >/dev/null; then
  echo "test: building the container image for test/deploy/ (scripts/build-image.sh)" >&2
  image_log=$(mktemp "${TMPDIR:-/tmp}/tcpscope-test-image.XXXXXX")
  if scripts/build-image.sh localhost/tcpscope:test >/dev/null 2>"$image_log"; then
    rm -f "$image_log"
  else
    echo "test: the image build failed (log: $image_log); test/deploy/ will fail" >&2
  fi
fi
exec node --test --test-concurrency=1 --test-timeout=120000 "$@" "${files[@]}"
