#!/bin/bash
# Offline checks of a built SD-card image (no mounts, no loop devices, seconds): partition table,
# firmware partition (config.txt with the board's watchdog, cmdline.txt), root file system
# (daemon enabled, first boot enabled, no ssh host keys, empty machine id, arm64 node).
# Run by images/build.sh after genimage; usable alone:
#   bash images/check-image.sh <image> <board>
set -uo pipefail
IMG=${1:?image}
BOARD=${2:?board}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
check() { # check <description> <command...>
  local d=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi
}

sfdisk -J "$IMG" > "$W/pt.json" || { echo "not ok - no partition table in $IMG"; exit 1; }
read -r label t1 s1 t2 s2 n2 < <(python3 -c '
import json,sys; t=json.load(open(sys.argv[1]))["partitiontable"]; p=t["partitions"]
print(t["label"], p[0]["type"], p[0]["start"], p[1]["type"], p[1]["start"], p[1]["size"])' "$W/pt.json")
check "MBR: FAT32-LBA firmware partition + Linux root ($label: $t1, $t2)" test "$label $t1 $t2" = "dos c 83"

FAT="$IMG@@$((s1 * 512))"
mtype -i "$FAT" ::config.txt > "$W/config.txt" 2>/dev/null
mtype -i "$FAT" ::cmdline.txt > "$W/cmdline.txt" 2>/dev/null
check "config.txt has the board's fragment (board/$BOARD/config.txt)" \
  sh -c "grep -v '^#' '$ROOT/board/$BOARD/config.txt' | grep . | while read -r l; do grep -qxF \"\$l\" '$W/config.txt' || exit 1; done"
check "config.txt enables the SoC watchdog (dtparam=watchdog=on)" grep -qx 'dtparam=watchdog=on' "$W/config.txt"
check "config.txt boots Debian's kernel and initramfs" grep -q '^kernel=vmlinuz-' "$W/config.txt"
check "cmdline.txt: root=LABEL=root" grep -q 'root=LABEL=root' "$W/cmdline.txt"
check "cmdline.txt: $(cat "$ROOT/board/cmdline-extra.txt")" grep -qF "$(cat "$ROOT/board/cmdline-extra.txt")" "$W/cmdline.txt"
check "cmdline.txt: no console on the PDU's header UART" sh -c "! grep -Eq 'console=(serial0|ttyAMA0|ttyS1)' '$W/cmdline.txt'"
case $BOARD in
  rpi4) dtbs="bcm2711-rpi-4-b.dtb bcm2711-rpi-400.dtb" ;;
  cm4) dtbs="bcm2711-rpi-cm4-io.dtb" ;;
  rpi5) dtbs="bcm2712-rpi-5-b.dtb" ;;
  *) dtbs="" ;;
esac
for f in start4.elf fixup4.dat $dtbs overlays/rackwitness-ext-wdt.dtbo; do
  check "firmware partition has $f" mdir -i "$FAT" "::$f"
done

dd if="$IMG" of="$W/root.ext4" bs=512 skip="$s2" count="$n2" conv=sparse status=none
dbg() { debugfs -R "$1" "$W/root.ext4" 2>/dev/null; }
check "rackwitness.service enabled" sh -c "debugfs -R 'stat /etc/systemd/system/multi-user.target.wants/rackwitness.service' '$W/root.ext4' 2>/dev/null | grep -q 'Type: symlink'"
check "rackwitness-firstboot.service enabled" sh -c "debugfs -R 'stat /etc/systemd/system/sysinit.target.wants/rackwitness-firstboot.service' '$W/root.ext4' 2>/dev/null | grep -q 'Type: symlink'"
check "user rackwitness exists, in group watchdog" sh -c "debugfs -R 'cat /etc/group' '$W/root.ext4' 2>/dev/null | grep -Eq '^watchdog:[^:]*:[0-9]+:(.*,)?rackwitness(,|$)'"
check "no ssh host keys in the image" sh -c "! debugfs -R 'ls /etc/ssh' '$W/root.ext4' 2>/dev/null | grep -q ssh_host_"
check "empty /etc/machine-id" sh -c "debugfs -R 'stat /etc/machine-id' '$W/root.ext4' 2>/dev/null | grep -q 'Size: 0\$'"
check "modprobe options for bcm2835_wdt" sh -c "debugfs -R 'cat /etc/modprobe.d/rackwitness-watchdog.conf' '$W/root.ext4' 2>/dev/null | grep -q '^options bcm2835_wdt heartbeat='"
dbg "dump /usr/bin/node $W/node" >/dev/null
check "node is an arm64 (aarch64) executable" sh -c "od -An -tx1 -j18 -N2 '$W/node' | grep -q 'b7 00'"
exit $fail
