#!/usr/bin/env bash
# Runs inside a kernel matrix guest (scripts/kernel-matrix-init.sh starts it in a chroot of the
# host's root, read-only, with tmpfs on /tmp, /run, /var/tmp and /root): the kernel smoke suite
# (dist/test/kernel_matrix/*.kernel.js) against the real agent of this checkout. Results, one JSON line
# per check prefixed "KMATRIX ", go to ttyS1 (the host reads them); the spec report goes to the
# console.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp
ci=$(sed -n 's/.*tcpscope\.ci=\([^ ]*\).*/\1/p' /proc/cmdline)
export CI=${ci:-true}
results=/dev/ttyS1

# The guest is ours alone: settings the suite relies on can be set machine-wide here.
# A SYN that is never answered gives ETIMEDOUT after 1 s + 2 s instead of ~2 minutes.
sysctl -qw net.ipv4.tcp_syn_retries=1

suite=(dist/test/kernel_matrix/*.kernel.js)
# Never let node --test fall back to finding every test file of the checkout.
if [[ ! -f "${suite[0]}" ]]; then
  echo "KMATRIX {\"check\":\"suite\",\"ok\":false,\"error\":\"no dist/test/kernel_matrix/*.kernel.js in $PWD: build first\"}" >"$results"
  exit 1
fi
node --test --test-concurrency=1 --test-timeout=300000 \
  --test-reporter=./dist/test/kernel_matrix/matrix_reporter.js --test-reporter-destination="$results" \
  --test-reporter=spec --test-reporter-destination=stdout \
  "${suite[@]}"
status=$?
echo "KMATRIX {\"check\":\"suite\",\"ok\":$([[ $status == 0 ]] && echo true || echo false),\"guest_s\":$(cut -d' ' -f1 /proc/uptime)}" >"$results"
