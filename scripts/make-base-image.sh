#!/usr/bin/env bash
# Makes a Debian bookworm base image for deploy/Containerfile without a container registry:
# debootstrap --variant=minbase into a temp dir, drop apt's caches and lists, podman import.
# Idempotent: does nothing when the image already exists. Needs root, debootstrap and podman.
# Usage: scripts/make-base-image.sh [image-name]   (default localhost/debian:bookworm)
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
image=${1:-localhost/debian:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if podman image exists "$image"; then
  echo "make-base-image: $image already exists, nothing to do" >&2
  exit 0
fi
for tool in debootstrap podman; do
  command -v "$tool" >/dev/null || { echo "make-base-image: $tool is missing: apt-get install $tool" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "make-base-image: debootstrap needs root: run it as root" >&2; exit 1; }

root=$(mktemp -d /var/tmp/tcpscope-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "make-base-image: debootstrap --variant=minbase bookworm ($mirror)" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
# apt's package cache and lists are only needed to install, and a build stage runs apt-get update
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | podman import - "$image" >/dev/null
echo "make-base-image: imported $image" >&2
