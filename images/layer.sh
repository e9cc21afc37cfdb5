#!/bin/bash
# The app layer on top of the cached base root file system: the rackwitness box package, the
# board's files, the hardware watchdog, first boot, networking and ssh. Called by images/build.sh
# inside its own mount namespace (unshare --mount), so the /proc and /dev mounts below vanish with
# it even when a step fails or the build is killed.
#   images/layer.sh <rootfs> <board> <box.deb>
set -euo pipefail
R=${1:?rootfs}
BOARD=${2:?board}
DEB=${3:?box package}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGES=$ROOT/images
ME=images/layer.sh
in_root() { chroot "$R" "$@"; }

mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
# no service may start inside the build
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"

# --- the box package: dpkg only, no network; every dependency must already be in the base ----
cp "$DEB" "$R/tmp/rackwitness.deb"
if ! in_root dpkg -i /tmp/rackwitness.deb > "$R/tmp/dpkg.log" 2>&1; then
  cat "$R/tmp/dpkg.log" >&2
  if grep -q 'dependency problems' "$R/tmp/dpkg.log"; then
    missing=$(sed -n 's/^ *Package \([^ ]*\) is not installed\./\1/p; s/^ *Version of \([^ ]*\) on system is .*/\1 (too old)/p' "$R/tmp/dpkg.log" | sort -u | paste -sd' ' -)
    echo "$ME: the box package needs what the base lacks: $missing; add it to images/packages.txt" >&2
    exit 6
  fi
  echo "$ME: dpkg -i $(basename "$DEB") failed (log above)" >&2
  exit 1
fi
rm -f "$R/tmp/rackwitness.deb" "$R/tmp/dpkg.log"
# the package's postinst creates the user; run sysusers again in case it did not (older package)
in_root systemd-sysusers >/dev/null
in_root getent passwd rackwitness >/dev/null || { echo "$ME: the package created no rackwitness user" >&2; exit 1; }

# --- board files ---------------------------------------------------------------------------------
B=$ROOT/board
# Debian's raspi-firmware writes config.txt and cmdline.txt on /boot/firmware from these files
# (its kernel hook, re-run below). ROOTPART by label: the image's root partition is "root".
# CONSOLES="tty1": keep the kernel console off the header UART, which the PDU owns
# (dtoverlay=disable-bt gives the PL011 to GPIO14/15).
sed -i -e '/^#\?ROOTPART=/d' -e '/^#\?CONSOLES=/d' "$R/etc/default/raspi-firmware"
printf 'ROOTPART=LABEL=root\nCONSOLES="tty1"\n' >> "$R/etc/default/raspi-firmware"
install -m 644 "$B/$BOARD/config.txt" "$R/etc/default/raspi-firmware-custom"
install -m 644 "$B/cmdline-extra.txt" "$R/etc/default/raspi-extra-cmdline"
# Debian's kernel builds bcm2835_wdt as a module: heartbeat/nowayout as module options too
install -D -m 644 "$B/modprobe.d/rackwitness-watchdog.conf" "$R/etc/modprobe.d/rackwitness-watchdog.conf"
# udev: the package ships the rules; fall back to the board's copy for an older package
if ! ls "$R"/usr/lib/udev/rules.d/*rackwitness*.rules "$R"/lib/udev/rules.d/*rackwitness*.rules >/dev/null 2>&1; then
  install -D -m 644 "$B/udev/99-rackwitness.rules" "$R/etc/udev/rules.d/99-rackwitness.rules"
fi
# the optional external-watchdog overlay, compiled so that a dtoverlay= line can enable it
for dts in "$B"/overlays/*-overlay.dts; do
  [ -e "$dts" ] || continue
  name=$(basename "$dts" -overlay.dts)
  mkdir -p "$R/boot/firmware/overlays"
  dtc -q -@ -I dts -O dtb -o "$R/boot/firmware/overlays/$name.dtbo" "$dts"
done
# the daemon detects the board from the device tree; record what the image was built for
mkdir -p "$R/etc/rackwitness"
printf 'board: %s\n' "$BOARD" > "$R/etc/rackwitness/image-board.yaml"
DEB_MAINT_PARAMS=configure in_root /etc/kernel/postinst.d/z50-raspi-firmware >/dev/null

# --- appliance configuration -----------------------------------------------------------------------
echo rackwitness > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\trackwitness\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
printf 'LABEL=root\t/\text4\tdefaults,noatime,commit=30\t0\t1\nLABEL=RASPIFIRM\t/boot/firmware\tvfat\tdefaults,umask=0077,nofail\t0\t2\n' > "$R/etc/fstab"
# wired network by DHCP (names: eth0 on the Pi with net.ifnames=0, en* elsewhere)
printf '[Match]\nName=eth* en*\n\n[Network]\nDHCP=yes\n' > "$R/etc/systemd/network/10-wired.network"
# journal on disk, bounded (SD-card wear, and the events log has its own store)
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=persistent\nSystemMaxUse=64M\n' > "$R/etc/systemd/journald.conf.d/rackwitness.conf"
# ssh: keys only (imported at first boot); host keys are made per box at first boot, not here
mkdir -p "$R/etc/ssh/sshd_config.d"
printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n' > "$R/etc/ssh/sshd_config.d/rackwitness.conf"
rm -f "$R"/etc/ssh/ssh_host_*
# every box gets its own machine id at first boot
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
# first boot: grow the root file system, host keys, configuration from the FAT partition
install -D -m 755 "$IMAGES/firstboot/rackwitness-firstboot" "$R/usr/lib/rackwitness-image/rackwitness-firstboot"
install -m 644 "$IMAGES/firstboot/rackwitness-firstboot.service" "$R/usr/lib/systemd/system/rackwitness-firstboot.service"
# systemd-firstboot would prompt on the console for locale/timezone/root password: not on an appliance
if ! { in_root systemctl enable rackwitness-firstboot.service rackwitness.service systemd-networkd.service \
  systemd-resolved.service systemd-timesyncd.service ssh.service &&
  in_root systemctl mask systemd-firstboot.service; } > "$R/tmp/systemctl.log" 2>&1; then
  cat "$R/tmp/systemctl.log" >&2
  echo "$ME: systemctl enable failed in the image" >&2
  exit 1
fi
rm -f "$R/tmp/systemctl.log"
# the hardware watchdog belongs to the daemon (one owner per device): PID 1 must not open it
if grep -Eq '^\s*RuntimeWatchdogSec=[1-9]' "$R"/etc/systemd/system.conf "$R"/etc/systemd/system.conf.d/*.conf 2>/dev/null; then
  echo "$ME: systemd's RuntimeWatchdogSec is set in the base; it would take /dev/watchdog0 from the daemon" >&2
  exit 1
fi

# --- manifests -------------------------------------------------------------------------------------
mkdir -p "$R/usr/share/rackwitness-image"
in_root dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\n' > "$R/usr/share/rackwitness-image/packages.tsv"
rm -f "$R/usr/sbin/policy-rc.d"
apt_clean() { rm -rf "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb "$R"/var/log/apt/* "$R"/var/log/dpkg.log; }
apt_clean
