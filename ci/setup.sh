#!/usr/bin/env bash
# Host setup for ossa: Debian package sources, system packages, npm packages.
# Safe to rerun: each step checks first and does nothing when already done.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	SUDO=(sudo -n)
else
	SUDO=()
	NEED_ROOT=1
fi

command -v apt-get >/dev/null || die "apt-get not found: ossa's setup needs Debian bookworm (or run it where apt-get exists)"
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || say "warning: this is ${PRETTY_NAME:-an unknown system}, not Debian bookworm; continuing"

as_root() {
	if [ "${NEED_ROOT:-0}" = 1 ]; then
		die "'$*' needs root: run as root or give this user password-less sudo"
	fi
	"${SUDO[@]}" "$@"
}

# Debian sources: bookworm-backports (meson >= 1.5, python3-pycotap) and
# deb-src for the QEMU source package.
SRC_FILE=/etc/apt/sources.list.d/ossa.sources
want_sources() {
	cat <<'SRC'
# Added by ossa's ci/setup.sh
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
}
apt_updated=0
if ! cmp -s <(want_sources) "$SRC_FILE" 2>/dev/null; then
	say "adding bookworm-backports and deb-src sources in $SRC_FILE"
	want_sources | as_root tee "$SRC_FILE" >/dev/null
	say "apt-get update"
	as_root apt-get update -qq || die "apt-get update failed"
	apt_updated=1
fi

# System packages. The list is the whole of what the host needs.
PKGS=(
	# QEMU build
	build-essential ninja-build pkg-config libglib2.0-dev libpixman-1-dev
	libfdt-dev flex bison python3 python3-venv xz-utils bzip2 ca-certificates
	# upstream fixes applied to QEMU's tree (qemu-device/qemu-fixes/)
	patch
	# QEMU 10.1 and later: the +ds source has no device-tree blobs, dtc makes them
	device-tree-compiler
	# QEMU run time: BIOS and option ROMs (the +ds source drops the blobs)
	seabios qemu-system-data
	# kernel module build and the guest image
	pahole kmod cpio busybox-static zstd
	# the debug kernel (objtool needs libelf; timeconst needs bc) and coverage reports
	libelf-dev bc lcov
	# driver checks: checkpatch.pl and kernel-doc from Debian's kernel source, sparse
	linux-source-6.12 sparse
	# the device's coverage-guided fuzzer: clang with libFuzzer
	clang libclang-rt-14-dev
	# the newest kernel's driver: built in a Debian sid root made by mmdebstrap
	mmdebstrap debian-archive-keyring
	# the datasheet's reStructuredText rendering is checked with docutils, and
	# the series' documentation is built with Sphinx as each tree builds it
	python3-docutils python3-sphinx python3-sphinx-rtd-theme python3-yaml
	# tools
	curl file
)
BPO_PKGS=(meson python3-pycotap)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
bpo_missing=()
for p in "${BPO_PKGS[@]}"; do
	ver=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
	case "$ver" in *bpo*) ;; *) bpo_missing+=("$p") ;; esac
done
if [ ${#missing[@]} -gt 0 ] || [ ${#bpo_missing[@]} -gt 0 ]; then
	if [ "$apt_updated" = 0 ]; then
		say "apt-get update"
		as_root apt-get update -qq || die "apt-get update failed"
	fi
	export DEBIAN_FRONTEND=noninteractive
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
			die "apt-get install ${missing[*]} failed"
	fi
	if [ ${#bpo_missing[@]} -gt 0 ]; then
		say "installing from bookworm-backports: ${bpo_missing[*]}"
		as_root apt-get install -y -qq --no-install-recommends -t bookworm-backports "${bpo_missing[@]}" >/dev/null ||
			die "apt-get install -t bookworm-backports ${bpo_missing[*]} failed"
	fi
else
	say "system packages present"
fi

# npm packages: reinstall only when package-lock.json changed.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.ossa-lock ] || [ "$(cat node_modules/.ossa-lock)" != "$lock_sum" ]; then
	say "npm ci"
	npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
	echo "$lock_sum" > node_modules/.ossa-lock
else
	say "npm packages present"
fi
