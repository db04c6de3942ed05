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
# The kernel matrix (scripts/kernel-matrix.sh): the agent on each Debian kernel line under qemu,
# one guest after another. It rewrites no file here (--check-docs): it fails when README.md's
# tested kernels table is not this run's (npm run test:kernels rewrites both). Its failure (a kernel that cannot be
# fetched included) fails the run after the other tests have run too. TCPSCOPE_KERNEL_MATRIX=0
# leaves it out of a developer's run, never out of CI's.
# CI as the tests read it (test/support/kernel.ts isCi): unset, empty, 0, false, no, off are not CI.
is_ci() { case "$(echo "${CI:-}" | tr '[:upper:]' '[:lower:]' | xargs)" in '' | 0 | false | no | off) return 1 ;; *) return 0 ;; esac; }
matrix_status=0
if [[ "${TCPSCOPE_KERNEL_MATRIX:-1}" == 0 ]] && ! is_ci; then
  echo "test: TCPSCOPE_KERNEL_MATRIX=0: the kernel matrix is left out" >&2
elif [[ $(id -u) -ne 0 ]] && ! is_ci; then
  echo "test: *** SKIPPING the kernel matrix: it needs root (as the kernel tests do) ***" >&2
else
  echo "test: the kernel matrix (scripts/kernel-matrix.sh)" >&2
  bash scripts/kernel-matrix.sh --check-docs || matrix_status=$?
fi
status=0
node --test --test-concurrency=1 --test-timeout=120000 "$@" "${files[@]}" || status=$?
if ((matrix_status != 0)); then
  echo "test: the kernel matrix FAILED (exit $matrix_status): its table and the guests' consoles are above" >&2
  ((status != 0)) || status=$matrix_status
fi
exit "$status"
