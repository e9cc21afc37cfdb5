#!/bin/bash
# Boot test of a built image (minutes of emulation; not part of CI's per-commit checks):
# qemu-system-aarch64 -M virt (TCG) boots a copy of the SD-card image with the image's own
# Debian kernel and initrd, with an i6300esb PCI watchdog standing in for the Pi's bcm2835-wdt.
# The copy gets a test configuration in the FAT partition's rackwitness/ folder (so first boot
# imports it, as on a real box) and a test probe unit in the root file system. Checks, from the
# serial console log:
#   1. first boot installed the configuration; rackwitness.service reached READY (active, Type=notify)
#   2. the watchdog is fed: the daemon holds /dev/watchdog0 (i6300esb, timeout 10 s) and the
#      guest is still up, same daemon PID, no restart, after 3 x the hardware timeout
#   3. SIGKILL of the daemon (systemd restart blocked for the test) resets the guest: a second
#      boot on the console, with no orderly reboot or panic before it
#   bash images/boot-test.sh <outdir of images/build.sh> [image]
# With RW_BOOT_TEST_UNCONFIGURED=1 no configuration is put on the FAT partition: the box boots
# as flashed, and the test checks that the daemon reaches READY on the packaged example
# configuration and stays up (no restart loop, which StartLimitAction=reboot would turn into a
# reboot loop); the watchdog checks are skipped (the example configures no watchdog).
# Exit: 0 all checks passed, 1 a check failed, 2 usage, 3 not root, 4 no qemu-system-aarch64.
set -euo pipefail
ME=images/boot-test.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: bash $ME <outdir> [image]}
OUT=$(cd "$OUT" && pwd)
IMG=${2:-$(ls -t "$OUT"/rackwitness-*.img 2>/dev/null | head -n1 || true)}
[ -f "$IMG" ] || { echo "$ME: no image in $OUT (build one with images/build.sh)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$ME: needs root (reads the root file system's kernel, edits a copy of the image)" >&2; exit 3; }
bash "$ROOT/images/install-tools.sh" >&2
command -v qemu-system-aarch64 >/dev/null || { echo "$ME: qemu-system-aarch64 missing (qemu-system-arm)" >&2; exit 4; }
R=$OUT/rootfs
KERNEL=$(ls "$R"/boot/vmlinuz-* | sort -V | tail -n1)
INITRD=$(ls "$R"/boot/initrd.img-* | sort -V | tail -n1)
BOOT_TIMEOUT=${RW_BOOT_TIMEOUT:-900}
W=$OUT/boot-test
rm -rf "$W"
mkdir -p "$W"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# --- a copy of the image with the test's configuration and probe --------------------------------
cp --sparse=always "$IMG" "$W/test.img"
read -r fat_start root_start root_size < <(sfdisk -J "$W/test.img" | python3 -c '
import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"]
print(p[0]["start"], p[1]["start"], p[1]["size"])')
FAT="$W/test.img@@$((fat_start * 512))"
cat > "$W/rackwitness.yaml" <<'YAML'
# boot test: only the watchdog service, on the emulated i6300esb (timeout 10 s via the kernel
# command line), required: the daemon refuses to start without it
box: { name: qemu-boot-test }
arbitrator: { enabled: false }
pgsql: { enabled: false }
fencing: { enabled: false }
status: { enabled: false }
board: { status_leds: false }
watchdog:
  mode: required
  device: /dev/watchdog0
  timeout_s: 10
  gpio_strobe: { enabled: false }
YAML
UNCONFIGURED=${RW_BOOT_TEST_UNCONFIGURED:-0}
if [ "$UNCONFIGURED" != 1 ]; then
  mmd -i "$FAT" ::rackwitness
  mcopy -i "$FAT" "$W/rackwitness.yaml" ::rackwitness/rackwitness.yaml
fi

cat > "$W/rw-boot-probe" <<'PROBE'
#!/bin/sh
# test-only probe (images/boot-test.sh): prints RWTEST lines on the console
say() { echo "RWTEST $*" > /dev/console; }
up() { cut -d' ' -f1 /proc/uptime; }
prop() { systemctl show -P "$1" rackwitness.service; }
i=0
while [ "$(prop ActiveState)" != active ]; do
  i=$((i + 1))
  [ $i -gt 600 ] && { say "FAIL not active after 600 s: $(prop ActiveState)/$(prop SubState) result=$(prop Result)"; exit 1; }
  sleep 1
done
pid=$(prop MainPID)
ready=$(prop ActiveEnterTimestampMonotonic)
say "ready pid=$pid type=$(prop Type) ready_at=$((ready / 1000))ms uptime=$(up) firstboot=$(cat /var/lib/rackwitness-image/firstboot.done 2>/dev/null) config=$(stat -c %U:%G:%a /etc/rackwitness/rackwitness.yaml) fat_folder_left=$([ -e /boot/firmware/rackwitness ] && echo yes || echo no)"
w=/sys/class/watchdog/watchdog0
t=$(cat $w/timeout)
holder=$(ls -l /proc/"$pid"/fd 2>/dev/null | grep -c /dev/watchdog0)
say "watchdog identity=\"$(cat $w/identity)\" timeout=$t state=$(cat $w/state) held_by_daemon=$holder"
sleep $((3 * t))
ping=$(prop WatchdogTimestampMonotonic)
now=$(awk '{printf "%d", $1 * 1000000}' /proc/uptime)
say "fed pid=$(prop MainPID) restarts=$(prop NRestarts) state=$(cat $w/state) uptime=$(up) last_systemd_ping_ago=$(((now - ping) / 1000))ms"
failed=$(systemctl list-units --failed --plain --no-legend | awk '{print $1}' | paste -sd, -)
say "system failed_units=${failed:-none} ssh=$(systemctl is-active ssh) networkd=$(systemctl is-active systemd-networkd) host_keys=$(ls /etc/ssh/ssh_host_*_key 2>/dev/null | wc -l)"
# the hardware watchdog must be the only thing left: no systemd restart of the killed daemon
mkdir -p /run/systemd/system/rackwitness.service.d
printf '[Service]\nRestart=no\n' > /run/systemd/system/rackwitness.service.d/boot-test.conf
systemctl daemon-reload
say "killing pid=$pid with SIGKILL uptime=$(up)"
kill -KILL "$pid"
sleep $((3 * t + 30))
say "FAIL still up uptime=$(up) after the kill; watchdog state=$(cat $w/state)"
PROBE
cat > "$W/rw-boot-probe.service" <<'UNIT'
[Unit]
Description=boot-test probe (images/boot-test.sh)
After=rackwitness.service
ConditionPathExists=!/var/lib/rw-boot-probe.ran
[Service]
Type=simple
ExecStartPre=/usr/bin/touch /var/lib/rw-boot-probe.ran
ExecStart=/usr/local/sbin/rw-boot-probe
[Install]
WantedBy=multi-user.target
UNIT
dd if="$W/test.img" of="$W/root.ext4" bs=512 skip="$root_start" count="$root_size" conv=sparse status=none
debugfs -w -f - "$W/root.ext4" > "$W/debugfs.log" 2>&1 <<DBG
write $W/rw-boot-probe /usr/local/sbin/rw-boot-probe
set_inode_field /usr/local/sbin/rw-boot-probe mode 0100755
write $W/rw-boot-probe.service /etc/systemd/system/rw-boot-probe.service
symlink /etc/systemd/system/multi-user.target.wants/rw-boot-probe.service /etc/systemd/system/rw-boot-probe.service
DBG
debugfs -R 'stat /usr/local/sbin/rw-boot-probe' "$W/root.ext4" 2>/dev/null | grep -q 'Mode:  0755' ||
  { cat "$W/debugfs.log" >&2; echo "$ME: could not add the probe to the image copy" >&2; exit 1; }
dd if="$W/root.ext4" of="$W/test.img" bs=512 seek="$root_start" conv=notrunc,sparse status=none
rm -f "$W/root.ext4"

# --- boot --------------------------------------------------------------------------------------
SERIAL=$W/serial.log
: > "$SERIAL"
log "boot: $(basename "$IMG") with $(basename "$KERNEL") under qemu-system-aarch64 -M virt (TCG), serial log $SERIAL"
t0=$(date +%s.%N)
nice -n 10 qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 \
  -kernel "$KERNEL" -initrd "$INITRD" \
  -append "root=LABEL=root rw rootwait console=ttyAMA0 panic=0 i6300esb.heartbeat=10 systemd.journald.forward_to_console=1" \
  -drive if=none,id=d0,format=raw,file="$W/test.img" -device virtio-blk-pci,drive=d0 \
  -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 \
  -device i6300esb -watchdog-action reset \
  -display none -monitor none -serial file:"$SERIAL" &
QEMU=$!
trap 'kill $QEMU 2>/dev/null || true' EXIT

elapsed() { echo "$(date +%s.%N) $t0" | awk '{printf "%.1f", $1 - $2}'; }
wait_for() { # wait_for <pattern> <timeout s> [count]
  local deadline=$(($(date +%s) + $2)) n=${3:-1}
  while [ "$(grep -ac -- "$1" "$SERIAL")" -lt "$n" ]; do
    kill -0 $QEMU 2>/dev/null || return 2
    grep -aq 'RWTEST FAIL' "$SERIAL" && return 3
    grep -aq 'rackwitness.service: Start request repeated too quickly' "$SERIAL" && return 4
    [ "$(date +%s)" -ge $deadline ] && return 1
    sleep 1
  done
}
fail() { echo "not ok - $*" >&2; echo "$ME: FAILED: $* (serial log: $SERIAL)" >&2; exit 1; }
ok() { echo "ok - $*"; }

wait_for 'RWTEST ready' "$BOOT_TIMEOUT" || {
  why=$(grep -a 'node\[[0-9]*\]: rackwitness: ' "$SERIAL" | tail -n1 | sed 's/.*node\[[0-9]*\]: //')
  if grep -aq 'rackwitness.service: Start request repeated too quickly' "$SERIAL"; then
    fail "the daemon failed every start and systemd rebooted the box (StartLimitAction=reboot): ${why:-no error line}"
  fi
  fail "rackwitness.service did not become active: ${why:-$(grep -a 'RWTEST FAIL' "$SERIAL" | tail -n1)}"
}
t_ready=$(elapsed)
line=$(grep -a 'RWTEST ready' "$SERIAL" | head -n1)
ready_ms=$(sed -n 's/.*ready_at=\([0-9]*\)ms.*/\1/p' <<<"$line")
pid=$(sed -n 's/.*ready pid=\([0-9]*\).*/\1/p' <<<"$line")
if [ "$UNCONFIGURED" = 1 ]; then
  grep -aq 'rackwitness-firstboot: no /boot/firmware/rackwitness folder' "$SERIAL" || fail "first boot did not report the missing configuration folder"
  ok "unconfigured box: READY on the packaged example configuration at $((ready_ms / 1000)).$(((ready_ms % 1000) / 100)) s guest time, ${t_ready} s wall"
  wait_for 'RWTEST fed' 240 || fail "probe did not report after 3 x the watchdog timeout"
  grep -aq "RWTEST fed pid=$pid restarts=0" "$SERIAL" || fail "the daemon restarted: $(grep -a 'RWTEST fed' "$SERIAL")"
  ok "the daemon stays up: same pid $pid, no restart after 30 s"
  wait_for 'RWTEST system' 60 || fail "probe printed no system line"
  grep -aq 'RWTEST system failed_units=none ssh=active networkd=active' "$SERIAL" ||
    fail "the appliance is not healthy: $(grep -a 'RWTEST system' "$SERIAL")"
  ok "appliance: no failed units, sshd and networkd active"
  kill $QEMU 2>/dev/null || true
  wait $QEMU 2>/dev/null || true
  trap - EXIT
  rm -f "$W/test.img"
  echo "boot-test (unconfigured): all checks passed; READY ${ready_ms} ms guest, ${t_ready} s wall" | tee "$W/result.txt"
  exit 0
fi
grep -aq 'rackwitness-firstboot: configuration installed' "$SERIAL" || fail "first boot did not install the configuration from the FAT partition"
grep -q 'config=root:rackwitness:640' <<<"$line" || fail "configuration owner/mode: $line"
grep -q 'fat_folder_left=no' <<<"$line" || fail "first boot left the rackwitness/ folder on the FAT partition"
grep -q 'type=notify' <<<"$line" || fail "not Type=notify: $line"
if grep -aq 'Timed out waiting for device' "$SERIAL"; then
  fail "a device the boot waits for never appeared: $(grep -a 'Timed out waiting for device' "$SERIAL" | head -n1 | tr -d '\033')"
fi
ok "first boot imported the configuration; READY (Type=notify active) at $((ready_ms / 1000)).$(((ready_ms % 1000) / 100)) s guest time, ${t_ready} s wall from qemu start"

wait_for 'RWTEST watchdog' 60 || fail "probe printed no watchdog line"
wline=$(grep -a 'RWTEST watchdog' "$SERIAL" | head -n1)
grep -q 'identity="i6300ESB timer"' <<<"$wline" && grep -q 'state=active' <<<"$wline" && grep -q 'held_by_daemon=1' <<<"$wline" && grep -q 'timeout=10' <<<"$wline" ||
  fail "watchdog not armed by the daemon: $wline"
ok "the daemon holds /dev/watchdog0 (i6300ESB, timeout 10 s, active)"

wait_for 'RWTEST fed' 180 || fail "guest did not survive 3 x the watchdog timeout: $(tail -n 5 "$SERIAL")"
fline=$(grep -a 'RWTEST fed' "$SERIAL" | head -n1)
grep -q "fed pid=$pid restarts=0 state=active" <<<"$fline" || fail "daemon restarted or watchdog idle while it should be fed: $fline"
[ "$(grep -ac 'Booting Linux on physical CPU' "$SERIAL")" = 1 ] || fail "the guest reset while the daemon was feeding"
ok "watchdog fed: same daemon pid $pid, no restart, no reset after 30 s (3 x timeout); $(sed -n 's/.*\(last_systemd_ping_ago=[0-9]*ms\).*/\1/p' <<<"$fline")"
wait_for 'RWTEST system' 60 || fail "probe printed no system line"
sline=$(grep -a 'RWTEST system' "$SERIAL" | head -n1)
grep -q 'failed_units=none ssh=active networkd=active' <<<"$sline" && ! grep -q 'host_keys=0' <<<"$sline" ||
  fail "the appliance is not healthy: $sline"
ok "appliance: no failed units, sshd and networkd active, this box's ssh host keys made"

wait_for 'RWTEST killing' 60 || fail "probe did not kill the daemon"
t_kill=$(elapsed)
wait_for 'Booting Linux on physical CPU' 180 2 || fail "no reset after SIGKILL of the daemon: $(grep -a 'RWTEST' "$SERIAL" | tail -n 2)"
t_reset=$(elapsed)
after_kill=$(sed -n '/RWTEST killing/,$p' "$SERIAL")
if grep -aq 'reboot: Restarting system\|Kernel panic\|systemd-shutdown' <<<"$after_kill"; then
  fail "the second boot followed an orderly reboot or a panic, not a watchdog reset"
fi
grep -aq 'watchdog did not stop' <<<"$after_kill" || fail "the kernel did not report an unstopped watchdog after the kill"
ok "SIGKILL of the daemon -> 'watchdog did not stop!' -> guest reset (second boot) $(echo "$t_reset $t_kill" | awk '{printf "%.0f", $1 - $2}') s after the kill (wall)"
kill $QEMU 2>/dev/null || true
wait $QEMU 2>/dev/null || true
trap - EXIT
rm -f "$W/test.img"
echo "boot-test: all checks passed; READY ${ready_ms} ms guest, ${t_ready} s wall" | tee "$W/result.txt"
