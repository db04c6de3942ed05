#!/usr/bin/env bash
# Installs what tcpscope needs on a Debian host, then its npm dependencies. Idempotent: each step
# runs only when something is missing. Needs root for apt-get (as the README says).
set -euo pipefail
cd "$(dirname "$0")/.."

# command or file that proves a package is there -> Debian package (tests use ip, tc, ss,
# iptables, sysctl, setpriv, python3 and cc besides the build tools)
declare -A NEEDED=(
  [clang]=clang
  [llvm-strip]=llvm
  [/usr/sbin/bpftool]=bpftool
  [/usr/include/bpf/libbpf.h]=libbpf-dev
  [/usr/include/libelf.h]=libelf-dev
  [/usr/include/zlib.h]=zlib1g-dev
  [make]=make
  [g++]=g++
  [ip]=iproute2
  [tc]=iproute2
  [iptables]=iptables
  [ss]=iproute2
  [sysctl]=procps
  [setpriv]=util-linux
  [python3]=python3
  [cc]=gcc
  # container tests (test/deploy/) and scripts/build-image.sh: rootful podman with runc (Debian's
  # podman depends on "crun | runc": naming runc makes apt pick it, and deploy/podman/containers.conf
  # selects it), the CNI plugins of podman's default bridge network (and iptables, which they
  # drive), debootstrap for the local base image (its Release check needs the archive keyring),
  # the rootless helpers, and unzip for fetched release archives
  [podman]=podman
  [runc]=runc
  [/usr/lib/cni/bridge]=containernetworking-plugins
  [/usr/sbin/debootstrap]=debootstrap
  [/usr/share/keyrings/debian-archive-keyring.gpg]=debian-archive-keyring
  [newuidmap]=uidmap
  [fuse-overlayfs]=fuse-overlayfs
  [slirp4netns]=slirp4netns
  [unzip]=unzip
  # the peer tools `npm run bench` measures beside the agent (bench/peers.ts), from Debian
  # bookworm: libbpf-tools (tcplife, tcpstates) and bpftrace; bpftool (above) tells when they
  # are attached
  [/usr/sbin/tcplife]=libbpf-tools
  [/usr/sbin/tcpstates]=libbpf-tools
  [bpftrace]=bpftrace
  [prometheus]=prometheus
  # packet_capture's tests compare the agent's pcapng with tcpdump's and read it with tshark and
  # capinfos (tshark's debconf question is answered by DEBIAN_FRONTEND=noninteractive below)
  [tcpdump]=tcpdump
  [tshark]=tshark
  [capinfos]=wireshark-common
  # the kernel matrix (scripts/kernel-matrix.sh): Debian's kernels booted under qemu (TCG), a
  # busybox initramfs (cpio) that mounts the host's root over virtio-9p
  [qemu-system-x86_64]=qemu-system-x86
  [/usr/share/doc/busybox-static/copyright]=busybox-static
  [cpio]=cpio
)
missing=()
for probe in "${!NEEDED[@]}"; do
  if [[ "$probe" == /* ]]; then [[ -e "$probe" ]] || missing+=("${NEEDED[$probe]}")
  else command -v "$probe" >/dev/null 2>&1 || missing+=("${NEEDED[$probe]}"); fi
done
if ((${#missing[@]})); then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "setup: installing Debian packages: $packages" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: apt-get needs root: run as root, or install them yourself: apt-get install $packages" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $packages >/dev/null
fi

# podman, never configured on a fresh machine, works from the packages' defaults (registries.conf,
# policy.json, containers.conf, the CNI bridge) plus deploy/podman/containers.conf; ask it once so
# that a host it cannot run on says so here, with podman's reason. Only the container tests need
# it: in CI that fails setup, elsewhere (`npm start` runs setup too) it is a warning.
if [[ $(id -u) -eq 0 ]] && ! info=$(CONTAINERS_CONF="$PWD/deploy/podman/containers.conf" podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}' 2>&1); then
  echo "setup: podman does not work on this host, so the container tests (test/deploy/) cannot run: $info" >&2
  # CI as the tests read it (test/support/kernel.ts isCi): unset, empty, 0, false, no, off are not CI.
  case "$(echo "${CI:-}" | tr '[:upper:]' '[:lower:]' | xargs)" in '' | 0 | false | no | off) ;; *) exit 1 ;; esac
fi

# npm dependencies: reinstall when package-lock.json changed since the last install
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
