#!/bin/sh
# Skeleton of the SD-card image build (see images/README.md). NOT run in CI yet; each stage
# names the commands the board research proved on an amd64 build VM. Needs root and binfmt_misc.
# Usage: images/build.sh <board: rpi4|cm4> <outdir>
set -eu
BOARD=${1:?board: rpi4 or cm4 (rpi5 needs the Raspberry Pi repository)}
OUT=${2:?output directory}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$ROOT/board/$BOARD/config.txt" ] || { echo "images/build.sh: no board/$BOARD/config.txt" >&2; exit 2; }

stage_tools() {
  command -v mmdebstrap >/dev/null && command -v genimage >/dev/null || {
    echo "images/build.sh: install mmdebstrap qemu-user-static binfmt-support arch-test genimage mtools dosfstools" >&2
    exit 2
  }
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64
  arch-test arm64 || { echo "images/build.sh: cannot run arm64 binaries here (binfmt refused); skipping" >&2; exit 77; }
}

stage_app() {
  (cd "$ROOT" && npm run build)
  mkdir -p "$OUT/app"
  cp -r "$ROOT/dist" "$ROOT/package.json" "$ROOT/package-lock.json" "$ROOT/board" "$ROOT/systemd" "$OUT/app/"
  (cd "$OUT/app" && npm ci --omit=dev --os=linux --cpu=arm64 --libc=glibc)
}

stage_rootfs() {
  echo "TODO: mmdebstrap --arch=arm64 --variant=apt trixie with images/packages.txt and the customize hooks of README.md" >&2
  exit 3
}

stage_image() {
  echo "TODO: genimage (RASPIFIRM vfat + ext4 root), manifests, sha256" >&2
  exit 3
}

stage_tools
stage_app
stage_rootfs
stage_image
