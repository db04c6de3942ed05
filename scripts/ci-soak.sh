#!/usr/bin/env bash
# CI soak: runs .ci/run N times in a row, each time from a fresh `git clone` into a new
# `mktemp -d` directory (mode 0700, on purpose: tests must not depend on where the clone lives),
# K of the runs with a CPU hog busy on one core beside them. Prints one table row per run and
# keeps the full log of every failed run. It stops nothing but the hog it started itself.
#
#   scripts/ci-soak.sh [-n RUNS] [-k HOG_RUNS] [--hog-first] [-l LOG_DIR] [REPO [BRANCH]]
#
#   REPO      what to clone (a path or URL); default: the repository this script is in
#   BRANCH    what to check out; default: that repository's current branch
#   -n RUNS   consecutive runs, default 10
#   -k HOG    how many of them run beside the hog, default 5: the last K (--hog-first: the first K)
#   -l DIR    where logs and the table go, default ${TMPDIR:-/tmp}/tcpscope-soak-<UTC time>
#
# The hog is `timeout <bound> taskset -c <last cpu> sh -c 'while :; do :; done'`: one core, ended
# when its run ends (and by `timeout` at the latest, should this script die first).
#
# Leftovers: each run gets a TMPDIR of its own (world-enterable, as /tmp is), and what is still in
# it after the run is a leftover; so are test network namespaces and cgroups (named
# tcpscope-<kind>-<pid>-<random>, see test/support/names.ts) whose creating process has exited
# (those of other work on the machine, still running, are not). They are counted in the table
# ("left") and listed in the log directory; a run that leaves something behind fails.
#
# Exit status: 0 when every run passed.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

runs=10
hog_runs=5
hog_first=0
log_dir=''
while (($#)); do
  case "$1" in
    -n) runs="${2:?-n needs a number}"; shift 2 ;;
    -k) hog_runs="${2:?-k needs a number}"; shift 2 ;;
    --hog-first) hog_first=1; shift ;;
    -l) log_dir="${2:?-l needs a directory}"; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "ci-soak: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 ]] || { echo "ci-soak: -n must be a positive number, got $runs" >&2; exit 2; }
[[ "$hog_runs" =~ ^[0-9]+$ && "$hog_runs" -le "$runs" ]] || { echo "ci-soak: -k must be a number from 0 to $runs, got $hog_runs" >&2; exit 2; }

here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${1:-$here}"
branch="${2:-$(git -C "$here" rev-parse --abbrev-ref HEAD)}"
log_dir="${log_dir:-${TMPDIR:-/tmp}/tcpscope-soak-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$log_dir"
table="$log_dir/table.txt"

# A run of the whole suite takes minutes; the hog never outlives an hour even if this script is
# killed with SIGKILL.
HOG_BOUND_S=3600
cpus="$(nproc)"
hog_cpu=$((cpus - 1))

hog_pid=''
clone_dir=''
run_tmp=''
stop_hog() {
  if [[ -n "$hog_pid" ]]; then
    kill "$hog_pid" 2>/dev/null || true # timeout passes the signal on to the busy loop
    wait "$hog_pid" 2>/dev/null || true
    hog_pid=''
  fi
}
cleanup() {
  stop_hog
  if [[ -n "$clone_dir" ]]; then rm -rf "$clone_dir"; fi
  if [[ -n "$run_tmp" ]]; then rm -rf "$run_tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

uses_hog() { # run number (1-based)
  if ((hog_first)); then (($1 <= hog_runs)); else (($1 > runs - hog_runs)); fi
}

# The last "# <name> <count>" line node:test printed (its summary), or "?".
count_of() { # name log
  local value
  value="$(grep -E "^# $1 [0-9]+$" "$2" | tail -n 1 | awk '{print $3}')"
  echo "${value:-?}"
}

row() { printf '%-4s %-4s %-5s %9s %6s %6s %6s %8s %5s\n' "$@" | tee -a "$table"; }

cgroup2_root="$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)"
# Test network namespaces and top-level test cgroups whose creator has exited, one per line.
host_objects() {
  local kind name pid
  { ip netns list 2>/dev/null | awk '{print "netns " $1}'
    if [[ -n "$cgroup2_root" ]]; then find "$cgroup2_root" -maxdepth 1 -mindepth 1 -type d -printf 'cgroup %f\n'; fi
  } | while read -r kind name; do
    [[ "$name" =~ ^tcpscope-.+-([0-9]+)-[0-9a-f]{8}(-.*)?$ ]] || continue
    pid="${BASH_REMATCH[1]}"
    kill -0 "$pid" 2>/dev/null || echo "$kind $name"
  done | sort
}

echo "ci-soak: $runs runs of .ci/run from fresh clones of $repo ($branch); $hog_runs with a CPU hog on cpu $hog_cpu of $cpus" | tee "$table"
echo "ci-soak: logs in $log_dir" | tee -a "$table"
row run hog result duration tests pass fail skipped left

failures=0
for ((i = 1; i <= runs; i++)); do
  log="$log_dir/run-$i.log"
  clone_dir="$(mktemp -d)" # mode 0700, as mktemp makes it: the clone lives where nobody else may look
  run_tmp="$(mktemp -d)"
  chmod 0755 "$run_tmp" # like /tmp: tests hand temporary directories to unprivileged processes
  before="$(host_objects)"
  hog=no
  if uses_hog "$i"; then
    hog=yes
    timeout "$HOG_BOUND_S" taskset -c "$hog_cpu" sh -c 'while :; do :; done' &
    hog_pid=$!
  fi
  started=$(date +%s)
  result=pass
  {
    echo "ci-soak run $i: clone of $repo ($branch) in $clone_dir, hog: $hog"
    git clone --quiet --branch "$branch" "$repo" "$clone_dir/tcpscope" && CI=true TMPDIR="$run_tmp" "$clone_dir/tcpscope/.ci/run"
  } >"$log" 2>&1 || result=fail
  duration=$(($(date +%s) - started))
  stop_hog
  # Leftovers: anything in the run's TMPDIR, and test namespaces/cgroups new since the run began
  # (other work on the machine may have its own in flight; look at the list before blaming).
  leftovers="$log_dir/run-$i.leftovers"
  { find "$run_tmp" -mindepth 1 -maxdepth 1 -printf 'tmp %p\n'
    comm -13 <(echo "$before") <(host_objects)
  } >"$leftovers"
  left=$(grep -c . "$leftovers" || true)
  if ((left == 0)); then rm -f "$leftovers"; else result=fail; fi
  rm -rf "$run_tmp"
  run_tmp=''
  row "$i" "$hog" "$result" "${duration}s" "$(count_of tests "$log")" "$(count_of pass "$log")" "$(count_of fail "$log")" "$(count_of skipped "$log")" "$left"
  if [[ "$result" == pass ]]; then
    rm -f "$log"
  else
    failures=$((failures + 1))
    # What failed, as node:test names it (the log has the details).
    grep -E '^not ok' "$log" | head -n 10 | sed 's/^/       /' | tee -a "$table" || true
  fi
  rm -rf "$clone_dir"
  clone_dir=''
done

echo "ci-soak: $((runs - failures)) of $runs runs passed; table in $table$( ((failures)) && echo ", failed runs' logs beside it")" | tee -a "$table"
((failures == 0))
