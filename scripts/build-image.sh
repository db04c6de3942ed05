#!/usr/bin/env bash
# Builds tcpscope's container image with podman from this checkout (deploy/Containerfile).
# Without a container registry (BASE=local, the default when no registry answers) it first makes a
# Debian bookworm base with debootstrap (scripts/make-base-image.sh) and builds from that.
# Behind a TLS-intercepting proxy the host's CA bundle is bound for the build only (never part of
# a layer). Prints the image name on stdout when done; progress goes to stderr.
#
# Usage: scripts/build-image.sh [image]        (default localhost/tcpscope:dev)
# Environment:
#   BASE=local|registry   local: debootstrapped localhost/debian:bookworm; registry: the
#                         Containerfile's defaults (docker.io debian images). Default: local.
#   CONTAINERS_CONF       default deploy/podman/containers.conf (runc, cgroupfs, host-safe ulimits)
#   CA_BUNDLE_HOST        CA bundle to bind for the build (default /etc/ssl/certs/ca-certificates.crt
#                         when it exists)
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-localhost/tcpscope:dev}
base=${BASE:-local}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}

command -v podman >/dev/null || { echo "build-image: podman is missing: apt-get install podman runc" >&2; exit 1; }

args=(build --network host -f deploy/Containerfile -t "$image")
if [[ $base == local ]]; then
  scripts/make-base-image.sh localhost/debian:bookworm
  args+=(--build-arg BUILD_BASE=localhost/debian:bookworm --build-arg RUNTIME_BASE=localhost/debian:bookworm)
fi
ca=${CA_BUNDLE_HOST:-/etc/ssl/certs/ca-certificates.crt}
if [[ -s $ca ]]; then
  # A volume of `podman build` is visible to RUN steps only; the image keeps an empty mount point.
  args+=(-v "$ca:/run/host-ca.crt:ro" --build-arg CA_BUNDLE=/run/host-ca.crt)
fi
echo "build-image: podman ${args[*]} ." >&2
podman "${args[@]}" . >&2
echo "$image"
