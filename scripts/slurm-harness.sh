#!/usr/bin/env bash
# A single-node Slurm on localhost for nefsim's tests, without systemd.
#
#   scripts/slurm-harness.sh install   apt-get install slurm-wlm munge, only if missing (needs root)
#   scripts/slurm-harness.sh up        start munged (unless one runs), slurmctld and slurmd with a
#                                      slurm.conf in $NEFSIM_SLURM_DIR (default /tmp/nefsim-slurm);
#                                      idempotent; prints the SLURM_CONF to use
#   scripts/slurm-harness.sh down      stop what `up` started, by pid
#   scripts/slurm-harness.sh status    exit 0 if the harness is up
#
# Clients (sbatch, squeue, scancel, and so nefsim --executor slurm) find it with
# SLURM_CONF=$NEFSIM_SLURM_DIR/slurm.conf.
set -euo pipefail
D="${NEFSIM_SLURM_DIR:-/tmp/nefsim-slurm}"
CONF="$D/slurm.conf"

alive() { # alive PIDFILE NAME: the pid in PIDFILE is a live process whose command is NAME
  local pid
  [ -f "$1" ] || return 1
  pid="$(cat "$1" 2>/dev/null || true)"
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"
}

ready() {
  SLURM_CONF="$CONF" sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'
}

case "${1:-}" in
install)
  if command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    exit 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "slurm-harness: Slurm is not installed and installing it needs root (apt-get install slurm-wlm munge)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
  ;;
up)
  for c in slurmctld slurmd munged sinfo; do
    command -v "$c" >/dev/null || { echo "slurm-harness: $c not found; run scripts/slurm-harness.sh install" >&2; exit 1; }
  done
  if alive "$D/slurmctld.pid" slurmctld && alive "$D/slurmd.pid" slurmd && ready; then
    echo "$CONF"
    exit 0
  fi
  "$0" down >/dev/null 2>&1 || true
  mkdir -p "$D/state" "$D/spool"
  # munge: one daemon serves every Slurm on the machine; start one only if none answers.
  if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
    setpriv --reuid=munge --regid=munge --init-groups munged -F >"$D/munged.log" 2>&1 &
    echo $! >"$D/munged.pid"
    for _ in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  NODE_LINE="$(slurmd -C | head -1)"
  HOST="$(hostname -s)"
  cat >"$CONF" <<EOF
ClusterName=nefsim-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
KillWait=10
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
$NODE_LINE State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  slurmctld -D -c -i -f "$CONF" >>"$D/slurmctld.out" 2>&1 &
  echo $! >"$D/slurmctld.pid"
  slurmd -D -f "$CONF" >>"$D/slurmd.out" 2>&1 &
  echo $! >"$D/slurmd.pid"
  for _ in $(seq 200); do
    ready && break
    sleep 0.1
  done
  if ! ready; then
    echo "slurm-harness: Slurm did not come up in 20 s; logs in $D" >&2
    tail -5 "$D/slurmctld.log" "$D/slurmd.log" >&2 || true
    exit 1
  fi
  echo "$CONF"
  ;;
down)
  for name in slurmd slurmctld munged; do
    if alive "$D/$name.pid" "$name"; then
      pid="$(cat "$D/$name.pid")"
      # The daemon may remove its pid file while it shuts down: watch the pid itself.
      cp "$D/$name.pid" "$D/$name.stopping"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do alive "$D/$name.stopping" "$name" || break; sleep 0.1; done
      if alive "$D/$name.stopping" "$name"; then kill -9 "$pid" 2>/dev/null || true; fi
      rm -f "$D/$name.stopping"
    fi
    rm -f "$D/$name.pid"
  done
  ;;
status)
  alive "$D/slurmctld.pid" slurmctld && alive "$D/slurmd.pid" slurmd && ready
  ;;
*)
  echo "usage: $0 install|up|down|status" >&2
  exit 2
  ;;
esac
