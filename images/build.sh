#!/bin/bash
# The rackwitness SD-card image: Debian trixie arm64 root file system (mmdebstrap under qemu-user),
# the rackwitness box package, the board's files, the hardware watchdog on, first-boot
# configuration, then genimage (FAT firmware partition + ext4 root), its sha256 and manifests.
#
#   bash images/build.sh <board> <outdir> [--deb PATH] [--refresh-base] [--base-only]
#
# The base root file system (the ~20 min emulated part) is cached as a tarball keyed by the hash
# of images/packages.txt + suite + mirrors + the mmdebstrap options (RW_IMAGE_CACHE, default
# images/cache); a rebuild with only the app changed untars it and adds the app layer (minutes).
# See images/README.md. Exit codes (distinct, so CI can tell "cannot build here" from "broken"):
#   2 usage / unknown board   3 not root   4 no arm64 emulation (binfmt_misc)   5 no box package
#   6 the package's dependencies are not in the base (packages.txt)   1 anything else
set -euo pipefail

ME=images/build.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGES=$ROOT/images
# the package list; RW_IMAGE_PACKAGES: another list (the recipe's tests)
PACKAGES=${RW_IMAGE_PACKAGES:-$IMAGES/packages.txt}

die() { # die <code> <one line>
  echo "$ME: $2" >&2
  exit "$1"
}
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# --- the recipe's constants (part of the cache key) -------------------------------------------
SUITE=trixie
ARCH=arm64
MIRRORS=(
  "deb http://deb.debian.org/debian $SUITE main non-free-firmware"
  "deb http://deb.debian.org/debian $SUITE-updates main non-free-firmware"
  "deb http://deb.debian.org/debian-security $SUITE-security main non-free-firmware"
)
MMDEBSTRAP_OPTS=(
  --mode=root --arch="$ARCH" --variant=apt --format=tar
  --dpkgopt=force-confold --dpkgopt=force-confdef
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
)

usage() {
  echo "usage: bash $ME <board> <outdir> [--deb PATH] [--refresh-base] [--base-only]" >&2
  echo "boards: $(boards | tr '\n' ' ')" >&2
  exit 2
}

# A board exists when it has its pin map (board/<b>.yaml) and its config.txt fragment.
boards() {
  local y b
  for y in "$ROOT"/board/*.yaml; do
    b=$(basename "$y" .yaml)
    [ -f "$ROOT/board/$b/config.txt" ] && echo "$b"
  done
  return 0
}

# packages.txt without comments/blank lines, one name per line, in file order
package_list() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' "$PACKAGES" | grep -v '^$'
}

# sha256 over everything that determines the base root file system
base_key() {
  {
    echo "suite=$SUITE arch=$ARCH"
    printf 'mirror=%s\n' "${MIRRORS[@]}"
    printf 'opt=%s\n' "${MMDEBSTRAP_OPTS[@]}"
    package_list
  } | sha256sum | cut -c1-16
}

# --- arguments ---------------------------------------------------------------------------------
BOARD="" OUT="" DEB="" REFRESH=0 BASE_ONLY=0
while [ $# -gt 0 ]; do
  case $1 in
    --deb) DEB=${2:?--deb needs a path}; shift 2 ;;
    --refresh-base) REFRESH=1; shift ;;
    --base-only) BASE_ONLY=1; shift ;;
    --print-key) base_key; exit 0 ;;
    --list-boards) boards; exit 0 ;;
    --list-packages) package_list; exit 0 ;;
    -h|--help) usage ;;
    -*) echo "$ME: unknown option $1" >&2; usage ;;
    *) if [ -z "$BOARD" ]; then BOARD=$1; elif [ -z "$OUT" ]; then OUT=$1; else usage; fi; shift ;;
  esac
done
if [ -z "$BOARD" ] || [ -z "$OUT" ]; then usage; fi
BOARDS=$(boards)
if ! grep -qx -- "$BOARD" <<<"$BOARDS"; then
  die 2 "no board file for '$BOARD' (boards: $(tr '\n' ' ' <<<"$BOARDS" | sed 's/ $//'))"
fi
[ "$BOARD" = rpi5 ] && log "rpi5: Debian's kernel ships the Pi 5 device tree, but its RP1 I/O support is not verified; Raspberry Pi OS's kernel is the proven route (images/README.md)"
[ -n "$DEB" ] && { [ -f "$DEB" ] || die 5 "--deb $DEB: no such file"; DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB"); }

# --- host requirements -------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die 3 "needs root (mmdebstrap --mode=root, chroot into the arm64 tree, device nodes); run it with sudo"
# binfmt_misc lets this amd64 kernel run the arm64 maintainer scripts through qemu-user; it is
# kernel-global and refused in unprivileged containers. RW_BINFMT_DIR: for the recipe's tests.
BINFMT=${RW_BINFMT_DIR:-/proc/sys/fs/binfmt_misc}
[ -e "$BINFMT/status" ] || mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null || true
[ -e "$BINFMT/status" ] ||
  die 4 "no binfmt_misc at $BINFMT (unprivileged container, or a kernel without CONFIG_BINFMT_MISC): arm64 packages cannot be configured here"
bash "$IMAGES/install-tools.sh" >&2
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
arch-test "$ARCH" >/dev/null 2>&1 ||
  die 4 "cannot run arm64 binaries: binfmt_misc has no working qemu-aarch64 entry (qemu-user-static + binfmt-support)"

CACHE=${RW_IMAGE_CACHE:-$IMAGES/cache}
mkdir -p "$CACHE" "$OUT"
OUT=$(cd "$OUT" && pwd)
KEY=$(base_key)
BASE_TAR=$CACHE/base-$SUITE-$ARCH-$KEY.tar.zst

# --- stage 1: the box package (before the base: never a cold build for nothing) ---------------
find_deb() { ls -t "$ROOT"/dist-pkg/rackwitness_*_all.deb 2>/dev/null | head -n1 || true; }
if [ "$BASE_ONLY" = 0 ] && [ -z "$DEB" ]; then
  DEB=$(find_deb)
  if [ -z "$DEB" ]; then
    log "package: no dist-pkg/rackwitness_*_all.deb, running npm run package"
    if (cd "$ROOT" && node -e 'process.exit(require("./package.json").scripts?.package ? 0 : 1)'); then
      (cd "$ROOT" && npm run package) >&2 || die 5 "npm run package failed"
      DEB=$(find_deb)
    fi
    [ -n "$DEB" ] || die 5 "no box package: dist-pkg/rackwitness_*_all.deb is missing and npm run package made none (or pass --deb PATH)"
  fi
fi
if [ "$BASE_ONLY" = 0 ]; then
  PKG=$(dpkg-deb -f "$DEB" Package 2>/dev/null) || die 5 "$DEB is not a Debian package"
  [ "$PKG" = rackwitness ] || die 5 "$DEB is package '$PKG', not the box package rackwitness"
  VERSION=$(dpkg-deb -f "$DEB" Version)
  NAME=rackwitness-$VERSION-$BOARD
  log "package: $DEB ($PKG $VERSION)"
fi

# --- stage 2: the base root file system (cached) -----------------------------------------------
build_base() {
  local tmp=$CACHE/.base-$KEY.$$.tar.zst
  local pkgs
  pkgs=$(package_list | paste -sd, -)
  log "base: cold build of $BASE_TAR (mmdebstrap $SUITE $ARCH under qemu-user, 20-35 min)"
  local t0=$SECONDS
  # shellcheck disable=SC2064 # expand now: $tmp is local to this function
  trap "rm -f '$tmp'" EXIT
  # /boot/firmware must exist while raspi-firmware and the kernel configure (their hooks fill
  # it); it becomes the FAT partition in the image. Conffiles are never pre-seeded here (dpkg
  # would stop at a conffile prompt): board configuration is the app layer's job.
  nice -n 10 mmdebstrap "${MMDEBSTRAP_OPTS[@]}" --include="$pkgs" \
    --setup-hook='mkdir -p "$1/boot/firmware"' \
    --customize-hook='chroot "$1" dpkg-query -W -f "\${Package}\t\${Version}\t\${Architecture}\n" > "$1/usr/share/rackwitness-base-packages.tsv"' \
    "$SUITE" "$tmp" "${MIRRORS[@]}"
  mv "$tmp" "$BASE_TAR"
  trap - EXIT
  { echo "key=$KEY built=$(date -u +%FT%TZ) seconds=$((SECONDS - t0))"; package_list; } > "${BASE_TAR%.tar.zst}.txt"
  log "base: done in $((SECONDS - t0)) s"
}

exec 9>"$CACHE/.lock"
flock 9
if [ "$REFRESH" = 1 ] || [ ! -s "$BASE_TAR" ]; then
  build_base
else
  log "base: cached $BASE_TAR"
fi
flock -u 9
[ "$BASE_ONLY" = 1 ] && exit 0

# --- stage 3: the app layer on a fresh copy of the base --------------------------------------------
t_layer=$SECONDS
R=$OUT/rootfs
if [ -e "$R" ]; then
  # refuse to delete a directory this script did not make
  [ -f "$R/usr/share/rackwitness-base-packages.tsv" ] || die 1 "$R exists and is not a rackwitness root file system; choose another output directory"
  rm -rf --one-file-system "$R"
fi
mkdir -p "$R"
zstd -q -dc "$BASE_TAR" | tar -x -C "$R" --numeric-owner --xattrs --xattrs-include='*' -f -
set +e
unshare --mount --propagation private bash "$IMAGES/layer.sh" "$R" "$BOARD" "$DEB"
rc=$?
set -e
[ "$rc" = 0 ] || exit "$rc"
log "layer: $((SECONDS - t_layer)) s"

# --- stage 4: the disk image ----------------------------------------------------------------------
t_img=$SECONDS
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}
rm -rf "$OUT/genimage.tmp" "$OUT/$NAME".img*
mkdir -p "$OUT/genimage.tmp/input"
sed "s/@IMAGE@/$NAME.img/" "$IMAGES/genimage.cfg" > "$OUT/genimage.tmp/genimage.cfg"
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH genimage --config "$OUT/genimage.tmp/genimage.cfg" --rootpath "$R" \
  --tmppath "$OUT/genimage.tmp/work" --inputpath "$OUT/genimage.tmp/input" --outputpath "$OUT/genimage.tmp/input" >"$OUT/genimage.log" 2>&1 ||
  { tail -n 20 "$OUT/genimage.log" >&2; die 1 "genimage failed (log: $OUT/genimage.log)"; }
mv "$OUT/genimage.tmp/input/$NAME.img" "$OUT/$NAME.img"
rm -rf "$OUT/genimage.tmp"
cp "$R/usr/share/rackwitness-image/packages.tsv" "$OUT/$NAME.packages.tsv"
{
  echo "image=$NAME.img"
  echo "board=$BOARD"
  echo "package=$PKG $VERSION $(sha256sum "$DEB" | cut -d' ' -f1)"
  echo "base=$(basename "$BASE_TAR")"
  echo "suite=$SUITE arch=$ARCH"
  echo "kernel=$(basename "$(ls "$R"/boot/vmlinuz-* | tail -n1)")"
  echo "node=$(awk '$1=="nodejs"{print $2}' "$OUT/$NAME.packages.tsv")"
  echo "source=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "built=$(date -u +%FT%TZ)"
} > "$OUT/$NAME.build-info"
(cd "$OUT" && sha256sum "$NAME.img" > "$NAME.img.sha256")
log "image: $((SECONDS - t_img)) s"

# --- stage 5: offline checks of the image ----------------------------------------------------------
bash "$IMAGES/check-image.sh" "$OUT/$NAME.img" "$BOARD" > "$OUT/$NAME.check.log" 2>&1 ||
  { grep -v '^ok' "$OUT/$NAME.check.log" >&2; die 1 "the image failed its offline checks (log: $OUT/$NAME.check.log)"; }
log "checks: $(grep -c '^ok' "$OUT/$NAME.check.log") offline checks passed"
log "done: $OUT/$NAME.img ($(du -h --apparent-size "$OUT/$NAME.img" | cut -f1) sparse, $(du -h "$OUT/$NAME.img" | cut -f1) allocated), $NAME.img.sha256, $NAME.packages.tsv, $NAME.build-info"
