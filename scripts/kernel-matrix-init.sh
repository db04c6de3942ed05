#!/bin/busybox sh
# /init of the kernel matrix's guest (scripts/kernel-matrix.sh packs it with busybox and the
# virtio/9p modules into an initramfs). Mounts the host's root read-only over virtio-9p, gives it
# writable tmpfs where the agent and the tests write, mounts the kernel filesystems the agent needs
# (cgroup2, bpffs, tracefs), then runs scripts/kernel-matrix-guest.sh of the host's checkout in a
# chroot, and powers off. Results go to ttyS1, the console is ttyS0.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

results=/dev/ttyS1
fail() {
  echo "KMATRIX {\"check\":\"boot\",\"ok\":false,\"error\":\"$*\"}" >"$results"
  echo "kernel-matrix init: $*" >&2
  poweroff -f
}

arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
repo=$(arg tcpscope.repo)

for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || fail "insmod $m failed"
done
# Large messages and the page cache (cache=loose: the host's files do not change during a run)
# matter under TCG: node reads hundreds of files at start.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /newroot ||
  fail "cannot mount the host's root over virtio-9p"
# Writable tmpfs where the agent and the tests write. A checkout under one of them (a CI clone in
# /tmp, say) is kept visible: bound aside first, then moved back on top of the tmpfs.
mkdir -p /keep
mount --bind "/newroot$repo" /keep || fail "the checkout $repo is not visible over virtio-9p"
for d in tmp run var/tmp root; do mount -t tmpfs -o mode=1777 tmpfs "/newroot/$d" || fail "tmpfs on /$d"; done
if [ ! -d "/newroot$repo/scripts" ]; then
  mkdir -p "/newroot$repo"
  mount --move /keep "/newroot$repo" || fail "cannot put the checkout $repo back over the tmpfs"
else
  umount /keep
fi
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
results=/newroot/dev/ttyS1
# devtmpfs has no /dev/fd (bash's process substitution needs it) nor the std links.
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
mkdir -p /newroot/dev/shm 2>/dev/null
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup || fail "cannot mount cgroup2"
mount -t bpf bpf /newroot/sys/fs/bpf || fail "cannot mount bpffs"
mount -t tracefs tracefs /newroot/sys/kernel/tracing || fail "cannot mount tracefs"
mount -t debugfs debugfs /newroot/sys/kernel/debug 2>/dev/null
ip link set lo up

up=$(cut -d' ' -f1 /newroot/proc/uptime)
echo "KMATRIX {\"check\":\"boot\",\"ok\":true,\"guest_s\":$up,\"release\":\"$(uname -r)\"}" >"$results"
chroot /newroot /bin/bash "$repo/scripts/kernel-matrix-guest.sh"
sync
poweroff -f
