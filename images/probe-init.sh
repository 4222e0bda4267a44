#!/bin/busybox sh
# /init of the accelerator probe image: prove that the guest reaches
# userspace, then power off.
/bin/busybox mount -t proc proc /proc
echo "ossa-probe: userspace reached"
/bin/busybox poweroff -f
