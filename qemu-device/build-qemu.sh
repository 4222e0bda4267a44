#!/usr/bin/env bash
# Build QEMU for x86_64-softmmu with the ossa device added, with the KVM
# and TCG accelerators, and of the devices only those in x86_64-devices.mak.
#
# usage: build-qemu.sh WORKDIR OUTDIR [asan|fuzz]
#   WORKDIR  persistent work area: the downloaded tarball, the patched source
#            tree and a meson build tree per variant (reused, so a device
#            change only recompiles what changed)
#   OUTDIR   receives bin/qemu-system-x86_64 (bin/qemu-fuzz-x86_64 for fuzz)
#            version (QEMU's version) and source-tree (its patched tree)
#   asan     build with AddressSanitizer and gcov (the device's random test,
#            the qtest suite and the debug guest's run; OUTDIR/gcno/ gets
#            the device's gcov notes, OUTDIR/gcov-build-dir the folder the
#            data files are written under)
#   fuzz     QEMU's libFuzzer binary, with clang, ASan and UBSan, whose
#            generic-fuzz targets include generic-fuzz-ossa and
#            generic-fuzz-ossa-msi (npm run fuzz)
#
# QEMU's source is a Debian orig tarball, checked against its SHA-256: by
# default qemu_10.0.2+ds (bookworm-backports); another with
#   QEMU_VERSION=V QEMU_TARBALL_SHA256=H QEMU_TARBALL_URL=U
# (the newest one the archive serves, chosen by ci/lib/qemu-source.ts, with
# the checksum from the archive's signed index). The device's files from
# this folder and the shared register header are copied into hw/misc/ossa/
# of that tree, and the upstream fixes in qemu-fixes/ that the tree lacks
# are applied to it.
#
# With QEMU_SOURCE_TREE=DIR (and QEMU_VERSION), DIR is built instead: a
# tree that already holds the device, the upstream patch series applied
# (ci/lib/qemu-series.ts). Only this build's own switch (no edk2 blobs)
# and the fixes it lacks are applied to it, and the series' qtest
# (tests/qtest/ossa-test) is built too, into OUTDIR/bin.
set -euo pipefail

if [ -n "${QEMU_SOURCE_TREE:-}" ]; then
	[ -n "${QEMU_VERSION:-}" ] || { printf 'qemu: error: QEMU_SOURCE_TREE needs QEMU_VERSION\n' >&2; exit 1; }
	[ -f "$QEMU_SOURCE_TREE/hw/misc/ossa/ossa.c" ] ||
		{ printf 'qemu: error: %s holds no hw/misc/ossa/ossa.c\n' "$QEMU_SOURCE_TREE" >&2; exit 1; }
elif [ -n "${QEMU_VERSION:-}" ]; then
	[ -n "${QEMU_TARBALL_SHA256:-}" ] && [ -n "${QEMU_TARBALL_URL:-}" ] ||
		{ printf 'qemu: error: QEMU_VERSION needs QEMU_TARBALL_SHA256 and QEMU_TARBALL_URL\n' >&2; exit 1; }
	TARBALL=${QEMU_TARBALL_URL##*/}
	TARBALL=${TARBALL//%2[bB]/+}
	TARBALL_SHA256=$QEMU_TARBALL_SHA256
	POOL_URL=$QEMU_TARBALL_URL
	APT_SUITE=
else
	QEMU_VERSION=10.0.2
	TARBALL=qemu_${QEMU_VERSION}+ds.orig.tar.xz
	TARBALL_SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1
	POOL_URL="http://deb.debian.org/debian/pool/main/q/qemu/qemu_${QEMU_VERSION}%2bds.orig.tar.xz"
	APT_SUITE=bookworm-backports
fi

say() { printf 'qemu: %s\n' "$*"; }
die() { printf 'qemu: error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || [ $# -eq 3 ] || die "usage: $0 WORKDIR OUTDIR [asan|fuzz]"
WORK=$1
OUT=$2
VARIANT=${3:-default}
TARGET=qemu-system-x86_64
case "$VARIANT" in
default) EXTRA_CONFIGURE=() ;;
asan) EXTRA_CONFIGURE=(--enable-asan --enable-gcov) ;;
fuzz)
	# QEMU's libFuzzer targets, generic-fuzz-ossa among them, with
	# Debian's clang, under AddressSanitizer and UBSan.
	EXTRA_CONFIGURE=(--cc=clang --cxx=clang++ --enable-fuzzing --enable-asan --enable-ubsan)
	TARGET=qemu-fuzz-x86_64
	;;
*) die "unknown variant $VARIANT (want asan or fuzz)" ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
# Where the device goes in QEMU's tree.
DEST=hw/misc/ossa
DEVICE_FILES=(ossa_regs.h ossa.c ossa.h ossa-cmd.c ossa-mmu.c ossa-queue.c Kconfig meson.build trace-events trace.h)

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# Fixes that a tree may lack, from qemu-fixes/, each applied when the
# tree still has the code it changes (decided by what the tree holds, not
# by its version number). Under multi-threaded TCG a vCPU must look its TLB
# entries up in the memory map they were filled from, and that map must
# live until the TLB is flushed:
# - physmem-cpu-map-reference.patch, for a tree that caches the map without
#   a reference (10.0.2: a vCPU could translate through a freed map and
#   kill QEMU with SIGSEGV);
# - physmem-cpu-map-restore.patch, for a tree with upstream's fix for that
#   (2865bf1c5795: 10.0.4 and 10.1 on), which drops the cache and so looks
#   TLB entries up in a newer map than they came from (a hung guest).
# A tree that has neither shape is built as it is, with a warning: the
# guest suite's address-space churn test then tells whether it holds up.
FIXES=$HERE/qemu-fixes
fix_tree() {
	local physmem=$src/system/physmem.c fix
	if grep -q 'FlatView \*memory_view;' "$physmem"; then
		return 0
	elif grep -q 'struct AddressSpaceDispatch \*memory_dispatch;' "$physmem"; then
		fix=$FIXES/physmem-cpu-map-reference.patch
	elif grep -q 'AddressSpaceDispatch \*d = address_space_to_dispatch(cpuas->as);' "$physmem"; then
		fix=$FIXES/physmem-cpu-map-restore.patch
	else
		say "warning: system/physmem.c matches no fix in qemu-fixes/: building it as it is"
		return 0
	fi
	say "applying qemu-fixes/${fix##*/}"
	# Checked whole first, so that a tree is never left half patched.
	patch -d "$src" -p1 -s -N -t --dry-run < "$fix" >/dev/null &&
		patch -d "$src" -p1 -s -N -t --no-backup-if-mismatch < "$fix" ||
		die "qemu-fixes/${fix##*/} does not apply to $src"
}

if [ -n "${QEMU_SOURCE_TREE:-}" ]; then
	src=$(cd "$QEMU_SOURCE_TREE" && pwd)
	fix_tree
	# The +ds tarball has no firmware blobs: never unpack the edk2 images
	# (as patch_tree does below; a second run finds it done).
	sed -i 's|unpack_edk2_blobs = bzip2.found()|unpack_edk2_blobs = false|' "$src/meson.build"
	grep -q 'unpack_edk2_blobs = false' "$src/meson.build" &&
		! grep -q 'unpack_edk2_blobs = bzip2' "$src/meson.build" ||
		die "meson.build: edk2 blob switch not found"
else
# 1. The source tarball, verified.
tarball=$WORK/$TARBALL
if [ -f "$tarball" ] && ! echo "$TARBALL_SHA256  $tarball" | sha256sum -c --status; then
	say "cached $TARBALL has the wrong SHA-256, fetching it again"
	rm -f "$tarball"
fi
if [ ! -f "$tarball" ]; then
	# Ask apt where the orig tarball of the backports source package is;
	# fall back to its pool path, which does not change with Debian revisions.
	url=
	if [ -n "$APT_SUITE" ]; then
		url=$(apt-get source --print-uris -qq -t "$APT_SUITE" qemu 2>/dev/null |
			awk -v f="$TARBALL" '$2 == f { gsub("\047", "", $1); print $1 }' | head -n1 || true)
	fi
	url=${url:-$POOL_URL}
	say "downloading $url"
	curl -fsSL --retry 3 -o "$tarball.part" "$url" || die "download of $url failed"
	mv "$tarball.part" "$tarball"
	echo "$TARBALL_SHA256  $tarball" | sha256sum -c --status ||
		die "$TARBALL: SHA-256 mismatch (want $TARBALL_SHA256)"
fi

# 2. The patched source tree, made again when the tarball or the way it
# is patched (patch_tree) changes; then the variant's build tree,
# configured again when its configure arguments change.
src=$WORK/qemu-$QEMU_VERSION
patch_tree() {
	# As a device of hw/misc with files of its own goes (hw/misc/macio).
	mkdir -p "$src/$DEST"
	echo "source ossa/Kconfig" >> "$src/hw/misc/Kconfig"
	echo "subdir('ossa')" >> "$src/hw/misc/meson.build"
	grep -q "^    'hw/misc/macio',$" "$src/meson.build" ||
		die "meson.build: trace_events_subdirs has no 'hw/misc/macio' entry to add $DEST after"
	sed -i "s|^    'hw/misc/macio',$|&\n    '$DEST',|" "$src/meson.build"
	# The +ds tarball has no firmware blobs: never unpack the edk2 images.
	grep -q 'unpack_edk2_blobs = bzip2.found()' "$src/meson.build" ||
		die "meson.build: edk2 blob switch not found"
	sed -i 's|unpack_edk2_blobs = bzip2.found()|unpack_edk2_blobs = false|' "$src/meson.build"
	# generic-fuzz targets for the device, first among the others:
	# generic-fuzz-ossa (MSI-X) and generic-fuzz-ossa-msi (msix=off).
	local configs=$src/tests/qtest/fuzz/generic_fuzz_configs.h
	grep -q '^const generic_fuzz_config predefined_configs\[\] = {$' "$configs" ||
		die "$configs: predefined_configs not found"
	sed -i '/^const generic_fuzz_config predefined_configs\[\] = {$/r /dev/stdin' "$configs" <<-'CONFIGS'
	    {
	        .name = "ossa",
	        .args = "-machine q35 -nodefaults -device ossa,fault-injection=on",
	        .objects = "ossa*",
	    },{
	        .name = "ossa-msi",
	        .args = "-machine q35 -nodefaults "
	        "-device ossa,fault-injection=on,msix=off",
	        .objects = "ossa*",
	    },
	CONFIGS
	cp "${DEVICE_FILES[@]/#/$HERE/}" "$src/$DEST/"
	fix_tree
}
stamp=$( (declare -f patch_tree fix_tree; cat "$FIXES"/*.patch) | sha256sum | cut -c1-16)-$TARBALL_SHA256
if [ "$(cat "$WORK/tree.stamp" 2>/dev/null)" != "$stamp" ]; then
	say "unpacking $TARBALL"
	rm -rf "$src" "$WORK"/build* "$WORK/tree.stamp"
	tar -xf "$tarball" -C "$WORK"
	[ -d "$src" ] || die "$TARBALL did not unpack to qemu-$QEMU_VERSION/"
	patch_tree
	echo "$stamp" > "$WORK/tree.stamp"
fi
fi

# The devices built in: only those of x86_64-devices.mak and what they
# select (configure reads the list from the tree's configs/devices/).
devices=$src/configs/devices/x86_64-softmmu/ossa.mak
cmp -s "$HERE/x86_64-devices.mak" "$devices" || cp "$HERE/x86_64-devices.mak" "$devices"

build=$WORK/build
[ "$VARIANT" = default ] || build=$WORK/build-$VARIANT
CONFIGURE_ARGS=(
	--python=/usr/bin/python3
	--target-list=x86_64-softmmu
	--without-default-features
	--without-default-devices --with-devices-x86_64=ossa
	--enable-kvm
	--disable-docs --disable-user --disable-tools
	--disable-download --disable-install-blobs
	--enable-trace-backends=log
	"${EXTRA_CONFIGURE[@]}"
	--prefix="$WORK/unused-prefix"
)
# Whether this build starts from nothing, for the benchmark's build times.
kind=incremental
if [ ! -f "$build/build.ninja" ] || [ "$(cat "$build.args" 2>/dev/null)" != "${CONFIGURE_ARGS[*]}" ]; then
	kind=cold
	say "configuring (x86_64-softmmu only${EXTRA_CONFIGURE[*]:+, ${EXTRA_CONFIGURE[*]}})"
	rm -rf "$build" "$build.args"
	mkdir -p "$build"
	(cd "$build" && "$src/configure" "${CONFIGURE_ARGS[@]}") > "$build.configure.log" 2>&1 ||
		{ tail -n 30 "$build.configure.log" >&2; rm -rf "$build"; die "configure failed; log: $build.configure.log"; }
	echo "${CONFIGURE_ARGS[*]}" > "$build.args"
fi

# 3. The device's current files; copy only what changed so that ninja
# recompiles only those. The device is written against the newest QEMU;
# a tree that predates one of its interfaces gets the file adapted here,
# decided by what the tree declares, not by its version number:
# - class_init with a non-const data pointer (before QEMU 10.1).
old_class_init=
grep -q '(\*class_init)(ObjectClass \*klass, void \*data);' "$src/include/qom/object.h" &&
	old_class_init=1
device_file() {
	if [ -n "$old_class_init" ]; then
		sed 's/^\(static void ossa_[a-z_]*class_init(ObjectClass \*[a-z]*, \)const void \*data)$/\1void *data)/' "$1"
	else
		cat "$1"
	fi
}
TARGETS=("$TARGET")
if [ -n "${QEMU_SOURCE_TREE:-}" ]; then
	# The series' own qtest, run by ci/tests/patches.test.ts.
	TARGETS+=(tests/qtest/ossa-test)
else
	for f in "${DEVICE_FILES[@]/#/$HERE/}"; do
		dest=$src/$DEST/$(basename "$f")
		cmp -s <(device_file "$f") "$dest" || device_file "$f" > "$dest"
	done
fi

say "compiling"
ninja -C "$build" "${TARGETS[@]}" > "$build.log" 2>&1 ||
	{ grep -E 'error|Error' "$build.log" | head -n 30 >&2; die "build failed; log: $build.log"; }

mkdir -p "$OUT/bin"
cp "$build/$TARGET" "$OUT/bin/$TARGET.tmp"
mv "$OUT/bin/$TARGET.tmp" "$OUT/bin/$TARGET"
[ -z "${QEMU_SOURCE_TREE:-}" ] || cp "$build/tests/qtest/ossa-test" "$OUT/bin/ossa-test"
echo "$kind" > "$OUT/build-kind"
echo "$QEMU_VERSION" > "$OUT/version"
echo "$src" > "$OUT/source-tree"
if [ "$VARIANT" = fuzz ] || [ -n "${QEMU_SOURCE_TREE:-}" ]; then
	# The fuzz targets, and the qtest's QEMU, take no -L: the firmware goes
	# where a binary looks relative to itself, ../share/qemu (Debian's
	# seabios and qemu-system-data).
	mkdir -p "$OUT/share/qemu"
	for f in /usr/share/seabios/* /usr/share/qemu/*; do
		[ -e "$f" ] || die "firmware $f not found (packages seabios, qemu-system-data)"
		ln -sfn "$f" "$OUT/share/qemu/"
	done
fi
if [ "$VARIANT" = asan ]; then
	mkdir -p "$OUT/gcno"
	find "$build" -name 'hw_misc_ossa_*.gcno' -exec cp {} "$OUT/gcno/" \;
	[ -n "$(ls "$OUT/gcno")" ] || die "no gcov notes (hw_misc_ossa_*.gcno) in $build"
	echo "$build" > "$OUT/gcov-build-dir"
fi
say "built $OUT/bin/$TARGET"
