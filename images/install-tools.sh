#!/bin/bash
# Host tools for images/build.sh and images/boot-test.sh (Debian 12 amd64 build host, root).
# Idempotent: installs only what is missing. Not part of test/install-deps.sh: CI runs only the
# static checks of the image recipe, not the image build.
set -euo pipefail
PKGS=(
  mmdebstrap arch-test qemu-user-static binfmt-support zstd   # the arm64 root file system
  genimage dosfstools mtools e2fsprogs fdisk device-tree-compiler  # the disk image (no loop mounts), overlays
  qemu-system-arm qemu-utils ipxe-qemu                        # the boot test (qemu-system-aarch64)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "images/install-tools.sh: needs root to install: ${missing[*]}" >&2; exit 3; }
  echo "images/install-tools.sh: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi
