#!/bin/busybox sh
# /init of the ossa guest: load the driver, run the guest suite, report to
# the host over the results port, power off. Console output is the host's
# console log; results go over the virtio-serial port only.

/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null

# Buffer objects are shmem: let them use 2 MiB pages where they can, so
# that the device sees long contiguous runs (see docs/hardware.md, 11).
echo within_size > /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null

up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "ossa-init: $*" > /dev/kmsg; }

# An IOMMU driver built as a module (virtio-iommu): the devices behind it,
# the results port's among them, probe only once it is loaded.
while read -r mod; do
	[ -n "$mod" ] || continue
	insmod "/lib/modules/$mod" || say "insmod $mod failed (exit $?)"
done < /etc/ossa/iommu-modules

PORT=
i=0
while [ -z "$PORT" ] && [ $i -lt 50 ]; do
	for d in /sys/class/virtio-ports/*; do
		[ "$(cat "$d/name" 2>/dev/null)" = org.ossa.results ] && PORT=/dev/${d##*/}
	done
	[ -n "$PORT" ] || sleep 0.1
	i=$((i + 1))
done
if [ -z "$PORT" ]; then
	say "results port org.ossa.results not found; powering off"
	poweroff -f
fi
send() { echo "$1" > "$PORT"; }

# fail STEP MESSAGE: report a setup failure and stop. MESSAGE holds no quotes.
fail() {
	say "$1 failed: $2"
	send "{\"type\":\"setup\",\"step\":\"$1\",\"ok\":false,\"message\":\"$2\",\"uptime\":$(up)}"
	sync
	poweroff -f
}

send "{\"type\":\"boot\",\"uptime\":$(up)}"

while read -r mod; do
	insmod "/lib/modules/$mod" || fail load-modules "insmod $mod failed (exit $?)"
done < /etc/ossa/modules
send "{\"type\":\"setup\",\"step\":\"load-modules\",\"ok\":true,\"uptime\":$(up)}"

i=0
while [ ! -c /dev/accel/accel0 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -c /dev/accel/accel0 ] ||
	fail device-node "/dev/accel/accel0 missing after loading the driver: no ossa device bound"
send "{\"type\":\"setup\",\"step\":\"device-node\",\"ok\":true,\"uptime\":$(up)}"

# The debug kernel: what boot left unreferenced is not the suite's to
# answer for (a scan reports it, clear marks it seen), and DMA-API
# debugging reports every error, not only its first.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	echo clear > /sys/kernel/debug/kmemleak
fi
[ -w /sys/kernel/debug/dma-api/all_errors ] && echo 1 > /sys/kernel/debug/dma-api/all_errors

# ossa.filter=a,b: run only the guest test files whose path contains a or b.
for arg in $(cat /proc/cmdline); do
	case "$arg" in ossa.filter=*) export OSSA_FILTER="${arg#ossa.filter=}" ;; esac
done

cd /ossa || fail suite "/ossa missing from the image"
export OSSA_NATIVE_BINDING=/ossa/native/ossa_native.node
case " $(cat /proc/cmdline) " in
*" ossa.mode=bench "*)
	# Benchmarks: the NVMe peer's driver too, then the benchmark runner.
	while read -r mod; do
		[ -n "$mod" ] || continue
		insmod "/lib/modules/$mod" || fail load-modules "insmod $mod failed (exit $?)"
	done < /etc/ossa/bench-modules
	node ci/guest/bench.js "$PORT" || say "benchmark runner exited with status $?"
	;;
*)
	node ci/guest/runner.js "$PORT" /ossa/userspace/tests/guest ||
		say "guest runner exited with status $?"
	;;
esac
sync
poweroff -f
