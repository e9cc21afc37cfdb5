#!/usr/bin/env bash
# Installs, idempotently, the Debian 12 packages the test suite and the benchmarks use as real peers.
# Run as root. Safe to run again: packages already present are skipped by apt.
set -euo pipefail

PKGS=(
  # status feed
  mosquitto mosquitto-clients
  # PostgreSQL 15 server binaries (initdb, pg_ctl, pg_basebackup, pg_waldump, pg_rewind)
  postgresql-15 postgresql-client-15
  # ticket registry peer
  booth
  # IPMI peers: simulated BMC, reference client
  openipmi ipmitool
  # PDU peers: real SNMP agent and client tools
  snmpd snmp
  # fencing and resource-agent peers, and the real fencer
  fence-agents resource-agents pacemaker pacemaker-cli-utils corosync
  # corosync quorum device: the box's qnetd (observer, `qdevice init` certificate flow) and the
  # nodes' qdevice (heuristics exec in the namespace lab)
  corosync-qnetd corosync-qdevice
  # Debian's PAF 2.3.0 (ocf:heartbeat:pgsqlms): the benchmark's peer agent, and our parameter
  # names and defaults are diffed against its meta-data
  resource-agents-paf
  # serial console emulation, telnet for fence_apc, XML checks, timing, namespaces
  socat telnet libxml2-utils hyperfine iproute2 procps tcpdump
  # systemd unit checks
  systemd
  # static checks of the SD-card image recipe (images/*.sh); the image build installs its own
  # tools (images/install-tools.sh) and is not part of the test suite
  shellcheck
  # sd_notify tests: a Python AF_UNIX datagram listener stands in for $NOTIFY_SOCKET
  python3
  # Home Assistant discovery test: HA renders value templates with Jinja2; the test renders ours
  # with the real engine (Debian's /usr/bin/python3)
  python3-jinja2
  # promtool: the real validator of the /metrics exposition format
  prometheus
  # status page test: headless Chromium renders the page, screenshots it and runs its refresh
  # script; DejaVu so the screenshots have real glyphs on a clean machine
  chromium fonts-dejavu-core
  # packaging test: a fresh Debian 12 root (mmdebstrap) to install the .debs into, Debian's lintian
  mmdebstrap lintian
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages that start services on install (postgresql, mosquitto, snmpd, pacemaker) must not
  # be started by apt: tests start their own instances on free loopback ports.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.rackwitness
  had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ $had_policy = 1 ] || cp /usr/sbin/policy-rc.d.rackwitness /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
  rm -f /usr/sbin/policy-rc.d.rackwitness
else
  echo "install-deps: all Debian packages present"
fi
