#!/usr/bin/env bash
# The kernel matrix: boots Debian's kernels of each supported line under qemu (TCG: no hardware
# virtualisation needed) and runs the real agent of this checkout (the host's node, native/build,
# build/bpf, dist/) through the kernel suites (test/kernel_matrix/*.kernel.ts) inside each guest,
# one guest after another (one boot per kernel runs every check). Prints a table kernel x check
# with timings and, for a run of every line, writes it to docs/kernels.md and README.md's
# "Requirements" table (scripts/kernel-matrix-report.ts; test/kernel_matrix/readme_table.test.ts
# checks that they match).
#
#   scripts/kernel-matrix.sh [--lines 5.10,6.1,6.12,host] [--fetch-only] [--keep-guest-logs] [--check-docs]
#   (--check-docs, as npm test runs it: docs/kernels.md and README.md are not rewritten; the run
#   fails if README.md's table is not this run's)
#
# host: the running kernel, booted like the others when its image and modules are in /boot and
# /lib/modules; otherwise the table says it was not booted (npm test runs on it directly).
# Environment: TCPSCOPE_GUEST_TIMEOUT (s per guest, default 480), TCPSCOPE_GUEST_MEMORY (MiB),
# TCPSCOPE_DEBIAN_MIRROR (default http://deb.debian.org; its /debian and /debian-security are used).
#
# Kernels: Debian's generic amd64 flavour of each line (linux-image-amd64 of bullseye, bookworm,
# trixie), fetched with `apt-get download` through a private apt state (its own sources list, lists
# and cache under the cache directory; the machine's own apt sources are never read or touched).
# apt verifies each .deb against the suite's signed index (debian-archive-keyring). The generic
# flavour because the guest mounts the host's root over virtio-9p and Debian's cloud kernels are
# built without 9p (CONFIG_NET_9P unset in 5.10, 6.1 and 6.12); the generic ones ship it as modules.
#
# Cache: $TCPSCOPE_KERNEL_CACHE, default ~/.cache/tcpscope-kernels (outside the repository, so a
# CI machine reuses it across clones). Only what a line's index names now is used: a kernel update
# in Debian is fetched on the next run.
#
# Failures: a kernel that cannot be fetched fails the run (under CI=... and everywhere else: the
# matrix never skips a line silently); so does any failed check. Exit status 0 only when every
# check of every line passed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

cache=${TCPSCOPE_KERNEL_CACHE:-${HOME:-/root}/.cache/tcpscope-kernels}
all_lines=5.10,6.1,6.12,host
lines=$all_lines
fetch_only=0
keep_logs=0
check_docs=0
# Per guest: generous, since TCG on a loaded 2-core machine is slow; a hung guest must not hang CI.
guest_timeout=${TCPSCOPE_GUEST_TIMEOUT:-480}
guest_memory=${TCPSCOPE_GUEST_MEMORY:-2048}
# Where Debian's archive is (its /debian and /debian-security): a local mirror can stand in.
mirror=${TCPSCOPE_DEBIAN_MIRROR:-http://deb.debian.org}
while (($#)); do
  case "$1" in
    --lines) lines=$2; shift 2 ;;
    --fetch-only) fetch_only=1; shift ;;
    --keep-guest-logs) keep_logs=1; shift ;;
    --check-docs) check_docs=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kernel-matrix: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "kernel-matrix: $*" >&2; }
die() { say "$*"; exit 1; }

# apt's private state is written as root (its download sandbox user is set to root), and the
# matrix shares the checkout with a guest that runs the agent as root.
[[ $(id -u) -eq 0 ]] || die "needs root (as the kernel tests do): run it as root"
for tool in qemu-system-x86_64 busybox apt-get dpkg-deb cpio gzip xz; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/setup.sh (it installs qemu-system-x86, busybox-static, cpio)"
done
# The initramfs has no libc: its busybox must be the static one.
if ldd "$(command -v busybox)" >/dev/null 2>&1; then die "$(command -v busybox) is dynamically linked: apt-get install busybox-static"; fi
[[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || die "no /usr/share/keyrings/debian-archive-keyring.gpg: apt-get install debian-archive-keyring"
[[ -f dist/test/kernel_matrix/smoke.kernel.js && -f native/build/Release/tcpscope_bpf.node && -d build/bpf ]] ||
  die "no build of this checkout: run scripts/build.sh first"

# line -> Debian suite whose linux-image-amd64 is that line's kernel
declare -A SUITE=([5.10]=bullseye [6.1]=bookworm [6.12]=trixie)

# --- fetching -----------------------------------------------------------------------------------

apt_private() { # suite, apt-get|apt-cache, args...
  local state=$cache/apt/$1 tool=$2; shift 2
  "$tool" -o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts="$state/empty" \
    -o Dir::Etc::Preferences="$state/empty/preferences" -o Dir::Etc::PreferencesParts="$state/empty" \
    -o Dir::State::Lists="$state/lists" -o Dir::State::status="$state/status" -o Dir::Cache="$state/cache" \
    -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Sandbox::User=root \
    -o Acquire::Retries=3 -o Debug::NoLocking=1 "$@"
}

# Prints the directory of the extracted kernel of suite $1 (fetched and extracted when missing).
fetch_kernel() {
  local suite=$1 state=$cache/apt/$1
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/empty" "$cache/debs" "$cache/kernels"
  : >"$state/status"
  local signed_by=/usr/share/keyrings/debian-archive-keyring.gpg
  cat >"$state/sources.list" <<EOF
deb [signed-by=$signed_by] $mirror/debian $suite main
deb [signed-by=$signed_by] $mirror/debian-security $suite-security main
EOF
  if ! apt_private "$suite" apt-get update -qq >"$state/update.log" 2>&1 || grep -q '^[WE]:' "$state/update.log"; then
    cat "$state/update.log" >&2
    die "cannot read Debian's $suite index (above): the $suite kernel cannot be fetched"
  fi
  local package version
  package=$(apt_private "$suite" apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
  [[ -n "$package" ]] || die "$suite: linux-image-amd64 names no kernel package"
  version=$(apt_private "$suite" apt-cache show --no-all-versions "$package" | awk '/^Version:/ {print $2; exit}')
  local dir=$cache/kernels/${package}_$version
  if [[ ! -f "$dir/.complete" ]]; then
    say "$suite: fetching $package $version"
    (cd "$cache/debs" && apt_private "$suite" apt-get download -qq "$package=$version") >&2 ||
      die "$suite: apt-get download $package=$version failed"
    local deb
    deb=$(ls "$cache/debs/${package}_"*"${version#*:}"*_amd64.deb 2>/dev/null | head -1)
    [[ -n "$deb" ]] || die "$suite: the download of $package left no .deb in $cache/debs"
    rm -rf "$dir" && mkdir -p "$dir"
    # Kept: the image and its config, and the .deb itself (a third of its extracted size) for the
    # few modules the initramfs needs, extracted again only when the initramfs is rebuilt.
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" ./boot
    mv "$deb" "$dir/package.deb"
    echo "$package $version $suite" >"$dir/.complete"
  fi
  # The suite's older kernels (Debian updated it since) are not used again.
  local old
  for old in "$cache"/kernels/*/.complete; do
    [[ -f "$old" && "$(dirname "$old")" != "$dir" ]] || continue
    [[ "$(cut -d' ' -f3 "$old")" == "$suite" ]] && rm -rf "$(dirname "$old")"
  done
  echo "$dir"
}

# --- the guest ----------------------------------------------------------------------------------

kernel_release() { ls "$1/boot" | sed -n 's/^vmlinuz-//p' | head -1; }
modules_dir() { # extracted kernel dir, release
  if [[ -d "$1/lib/modules/$2" ]]; then echo "$1/lib/modules/$2"; else echo "$1/usr/lib/modules/$2"; fi
}

# Sets ORDER to the module names (in load order: dependencies first) that the given modules need on
# this kernel, and MODFILE to their files; built-in ones are left out. Dependencies are read from
# each module's .modinfo "depends=" (Debian ships no modules.dep: depmod runs at install).
declare -A MODFILE=() MODSEEN=()
ORDER=()
module_order() { # modules dir, names...
  local mods=$1; shift
  MODFILE=() MODSEEN=() ORDER=()
  local f n
  while IFS= read -r f; do
    n=$(basename "$f"); n=${n%%.ko*}; MODFILE[${n//-/_}]=$f
  done < <(find "$mods/kernel" -name '*.ko*')
  for n in "$@"; do module_visit "$mods" "${n//-/_}"; done
}
module_visit() {
  local mods=$1 name=$2 deps d
  [[ -n "${MODSEEN[$name]:-}" ]] && return 0
  MODSEEN[$name]=1
  if [[ -z "${MODFILE[$name]:-}" ]]; then
    grep -q "/${name//_/[-_]}\.ko" "$mods/modules.builtin" && return 0
    die "module $name is neither built in nor shipped in $mods"
  fi
  deps=$(module_bytes "${MODFILE[$name]}" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -1)
  for d in ${deps//,/ }; do module_visit "$mods" "${d//-/_}"; done
  ORDER+=("$name")
}
module_bytes() { case "$1" in *.xz) xz -dc "$1" ;; *.zst) zstd -dc "$1" ;; *) cat "$1" ;; esac; }

# Builds (or reuses) the initramfs of an extracted kernel: busybox, the 9p/virtio modules, /init.
initramfs_for() { # kernel dir
  local kdir=$1 release mods
  release=$(kernel_release "$kdir")
  local key
  key=$(cat "$kdir/.complete" scripts/kernel-matrix-init.sh scripts/kernel-matrix.sh "$(command -v busybox)" | sha256sum | cut -c1-16)
  local out=$cache/initramfs/$release-$key.cpio.gz
  if [[ ! -f "$out" ]]; then
    local root unpacked=
    root=$(mktemp -d "${TMPDIR:-/tmp}/tcpscope-initramfs.XXXXXX")
    if [[ -f "$kdir/package.deb" ]]; then
      unpacked=$(mktemp -d "${TMPDIR:-/tmp}/tcpscope-kernel-package.XXXXXX")
      dpkg-deb -x "$kdir/package.deb" "$unpacked"
      mods=$(modules_dir "$unpacked" "$release")
    else
      mods=$(modules_dir "$kdir" "$release")
    fi
    mkdir -p "$root"/{bin,dev,proc,sys,newroot,modules}
    cp "$(command -v busybox)" "$root/bin/busybox"
    cp scripts/kernel-matrix-init.sh "$root/init"
    chmod 755 "$root/init"
    local name
    # virtio-9p for the root; inet_diag + tcp_diag for ss (sock_diag: without them it reads
    # /proc/net/tcp, which has no segs_in)
    module_order "$mods" virtio_pci 9pnet_virtio 9p inet_diag tcp_diag
    for name in "${ORDER[@]}"; do module_bytes "${MODFILE[$name]}" >"$root/modules/$name.ko"; done
    printf '%s\n' "${ORDER[@]}" >"$root/modules/order"
    mkdir -p "$cache/initramfs"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp" && mv "$out.tmp" "$out"
    # Earlier builds for this kernel (older scripts) are not used again.
    find "$cache/initramfs" -name "$release-*.cpio.gz" ! -path "$out" -delete
    rm -rf "$root" ${unpacked:+"$unpacked"}
  fi
  echo "$out"
}

# Boots kernel dir $1 (label $2) and runs the smoke suite; results in $3 (lines "KMATRIX {...}").
run_guest() {
  local kdir=$1 label=$2 results=$3 console=$4 release initramfs=${INITRAMFS[$2]}
  release=$(kernel_release "$kdir")
  : >"$results"
  local started=$SECONDS status=0
  # The host's / is shared read-only (the guest writes only to its own tmpfs mounts). ttyS0 is the
  # console (kernel messages, the suite's spec output); ttyS1 carries only the results.
  # A soft lockup (a CPU stuck in the kernel for 20 s) panics the guest, which then exits at once
  # (panic=-1 reboots, -no-reboot ends qemu) instead of hanging until the timeout, and loglevel=5
  # puts the stuck CPU's registers and stack (printed at the default level, 4) on the console.
  timeout --kill-after=10 "$guest_timeout" qemu-system-x86_64 -accel tcg -smp 2 -m "$guest_memory" \
    -nographic -no-reboot -nodefaults -monitor none \
    -kernel "$kdir/boot/vmlinuz-$release" -initrd "$initramfs" \
    -append "console=ttyS0 panic=-1 softlockup_panic=1 quiet loglevel=5 tcpscope.repo=$repo tcpscope.ci=${CI:-} tcpscope.label=$label" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    -serial "file:$console" -serial "file:$results" \
    -device virtio-rng-pci </dev/null >/dev/null 2>"$console.qemu" || status=$?
  tr -d '\r' <"$results" >"$results.clean" && mv "$results.clean" "$results"
  echo "KMATRIX {\"check\":\"guest\",\"wall_s\":$((SECONDS - started)),\"status\":$status}" >>"$results"
}

# --- the run ------------------------------------------------------------------------------------

# The run is one function, read whole before it starts: editing this file during a run (minutes)
# cannot change what the running shell reads next.
main() {
  # Fetching and building the initramfs hold a lock on the cache (another checkout's matrix may be
  # fetching the same kernel); the guests run without it.
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  if ! flock -n 9; then
    say "waiting for another kernel matrix run to finish fetching into $cache"
    flock 9
  fi

  IFS=, read -r -a wanted <<<"$lines"
  declare -A KDIR=() INITRAMFS=()
  work=$(mktemp -d "${TMPDIR:-/tmp}/tcpscope-kernel-matrix.XXXXXX")
  ((keep_logs)) || trap 'rm -rf "$work"' EXIT
  host_release=$(uname -r)
  for line in "${wanted[@]}"; do
    if [[ "$line" == host ]]; then
      # The host's own kernel, when its image is in /boot (its modules are the host's).
      [[ -f /boot/vmlinuz-$host_release && -d /lib/modules/$host_release ]] || continue
      KDIR[host]=$work/host-kernel
      mkdir -p "${KDIR[host]}/boot" "${KDIR[host]}/lib/modules"
      ln -s "/boot/vmlinuz-$host_release" "${KDIR[host]}/boot/vmlinuz-$host_release"
      ln -s "/lib/modules/$host_release" "${KDIR[host]}/lib/modules/$host_release"
      [[ -f /boot/config-$host_release ]] && ln -s "/boot/config-$host_release" "${KDIR[host]}/boot/config-$host_release"
      echo "host kernel $host_release" >"${KDIR[host]}/.complete"
    else
      [[ -n "${SUITE[$line]:-}" ]] || die "unknown line $line (known: ${!SUITE[*]} host)"
      KDIR[$line]=$(fetch_kernel "${SUITE[$line]}")
    fi
    config=$(ls "${KDIR[$line]}"/boot/config-* 2>/dev/null | head -1)
    if [[ -z "$config" ]]; then
      say "$line: no kernel config beside the image: BTF unknown until the guest boots"
    else
      grep -q '^CONFIG_DEBUG_INFO_BTF=y' "$config" || die "$line: $(basename "$config") has no CONFIG_DEBUG_INFO_BTF=y: tcpscope needs BTF"
    fi
    INITRAMFS[$line]=$(initramfs_for "${KDIR[$line]}")
    say "$line: $(cat "${KDIR[$line]}/.complete")"
  done
  flock -u 9
  ((fetch_only)) && exit 0

  summary=()
  for line in "${wanted[@]}"; do
    if [[ "$line" == host && -z "${KDIR[host]:-}" ]]; then
      say "host: no image of the running kernel ($host_release) in /boot: not booted (the normal test suite runs on it)"
      echo "KMATRIX {\"check\":\"boot\",\"ok\":false,\"skipped\":true,\"release\":\"$host_release\",\"error\":\"no /boot/vmlinuz-$host_release on this machine: not booted; npm test runs on this kernel directly\"}" >"$work/host.results"
      summary+=("host:$work/host.results")
      continue
    fi
    say "$line: booting $(kernel_release "${KDIR[$line]}") under qemu (TCG), running the kernel smoke suite"
    run_guest "${KDIR[$line]}" "$line" "$work/$line.results" "$work/$line.console"
    summary+=("$line:$work/$line.results")
    if ! grep -q '"check":"suite","ok":true' "$work/$line.results"; then
      say "$line: the suite did not pass; the end of the guest's console follows"
      tail -n 120 "$work/$line.console" >&2 || true
    fi
  done

  # Only a run of every line is the matrix that docs/kernels.md and the README show.
  if [[ "$lines" == "$all_lines" && $check_docs == 1 ]]; then
    node dist/scripts/kernel-matrix-report.js --check-readme README.md "${summary[@]}"
  elif [[ "$lines" == "$all_lines" ]]; then
    node dist/scripts/kernel-matrix-report.js --doc docs/kernels.md --readme README.md "${summary[@]}"
  else
    say "--lines $lines is not every line ($all_lines): docs/kernels.md and README.md are left as they are"
    node dist/scripts/kernel-matrix-report.js "${summary[@]}"
  fi
}

main
exit $?
