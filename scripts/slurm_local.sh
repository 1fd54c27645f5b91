#!/usr/bin/env bash
# A throw-away single-node SLURM cluster under one directory, no systemd, no /etc files touched:
#   eval "$(bash scripts/slurm_local.sh up /tmp/slurm-a)"   # prints `export SLURM_CONF=...`; sbatch/squeue use it
#   bash scripts/slurm_local.sh down /tmp/slurm-a            # kills only the daemons started from that directory
#   bash scripts/slurm_local.sh status /tmp/slurm-a          # which of munged/slurmctld/slurmd run, sinfo
# Needs Debian's slurm-wlm (22.05) and munge (`apt-get install -y slurm-wlm munge`) and root (slurmd runs jobs
# as their owner). Several clusters can run at once on one machine: each directory has its own slurm.conf
# (free TCP ports picked at its first `up`), munge key and socket, state/spool/log directories and pid files.
# `up` on a directory whose cluster is (partly) down starts only the daemons that are missing and keeps the
# job state, so `kill -9 <slurmd>` then `up` again is "slurmd lost and restarted".
# The node gets this machine's CPUs and 90% of its memory; one partition `debug` (default), no accounting
# (no slurmdbd: `sacct` is unavailable; finished jobs stay visible to `scontrol show job` for MinJobAge s).
set -euo pipefail

die() { echo "slurm_local.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: slurm_local.sh up|down|status|env <dir>"
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
conf=$dir/slurm.conf
sock=$dir/munge/munge.socket
# a unix socket path must fit in 108 bytes
[ ${#sock} -lt 100 ] || die "directory path too long for the munge socket: $dir (keep it under ~80 chars)"

# alive <pidfile> <name>: the pid in the file is running AND it is <name> started with a path under $dir
# (a stale pid file must never make us kill an unrelated process that reused the pid)
alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(tr -dc 0-9 < "$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$2.*$dir/" || return 1
  echo "$pid"
}

tree() {  # tree <pid>: the pid and all its descendants
  local c
  echo "$1"
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$c"; done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

write_conf() {
  local cpus mem_mb ctld_port d_port name
  cpus=$(nproc)
  mem_mb=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
  ctld_port=$(free_port); d_port=$(free_port)
  while [ "$d_port" = "$ctld_port" ]; do d_port=$(free_port); done
  name=$(basename "$dir" | tr -dc 'a-z0-9' | cut -c1-20)
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge" "$dir/run"
  cat > "$conf" <<EOF
# written by scripts/slurm_local.sh for $dir
ClusterName=local${name:-x}$$
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# seconds: a killed slurmd is noticed (node DOWN, its jobs requeued/failed) after SlurmdTimeout
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=3600
MaxArraySize=10001
NodeName=localhost NodeHostname=localhost CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

start_munged() {
  alive "$dir/run/munged.pid" munged >/dev/null && return 0
  if [ ! -s "$dir/munge/munge.key" ]; then
    mungekey --create --keyfile="$dir/munge/munge.key" --bits=1024 2>/dev/null \
      || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 700 "$dir/munge"; chmod 400 "$dir/munge/munge.key"
  # --force: we run as root and the socket dir lies under a temp dir, which munged would otherwise refuse
  munged --force --socket="$sock" --key-file="$dir/munge/munge.key" --pid-file="$dir/run/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" 2>>"$dir/log/munged.log" \
    || die "munged did not start: $(tail -3 "$dir/log/munged.log")"
}

wait_for() {  # wait_for <seconds> <what> <command...>
  local n=$1 what=$2; shift 2
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  die "$what not ready after ${n}s; last log lines:
$(tail -5 "$dir"/log/slurmctld.log "$dir"/log/slurmd.log 2>/dev/null)"
}

node_up() { sinfo -h -N -o '%T' | grep -Eq '^(idle|mixed|allocated|completing)'; }

case $cmd in
  up)
    [ "$(id -u)" = 0 ] || die "must run as root (slurmd starts jobs as their owner)"
    for b in munged slurmctld slurmd sinfo; do
      command -v "$b" >/dev/null || die "$b not found: apt-get install -y slurm-wlm munge"
    done
    [ -s "$conf" ] || write_conf
    export SLURM_CONF=$conf
    start_munged
    if ! alive "$dir/run/slurmctld.pid" slurmctld >/dev/null; then
      slurmctld -f "$conf" || die "slurmctld did not start: $(tail -3 "$dir/log/slurmctld.log")"
    fi
    wait_for 30 slurmctld scontrol ping
    if ! alive "$dir/run/slurmd.pid" slurmd >/dev/null; then
      slurmd -f "$conf" -N localhost || die "slurmd did not start: $(tail -3 "$dir/log/slurmd.log")"
    fi
    # a restarted slurmd registers at once; a node left DOWN by a lost slurmd returns (ReturnToService=2)
    wait_for 60 "node localhost" node_up
    echo "export SLURM_CONF=$conf"
    ;;
  env) echo "export SLURM_CONF=$conf" ;;
  down)
    for d in slurmd slurmctld munged; do
      if pid=$(alive "$dir/run/$d.pid" "$d"); then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
      fi
    done
    # job steps slurmd left behind would outlive the daemons: a slurmstepd of ours carries SLURM_CONF=$conf
    # (inherited from the slurmd we started); kill it and every process below it (the job's script, python)
    for p in $(pgrep -x slurmstepd || true); do
      tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_CONF=$conf" || continue
      kill -9 $(tree "$p") 2>/dev/null || true
    done
    echo "down: $dir"
    ;;
  status)
    for d in munged slurmctld slurmd; do
      if pid=$(alive "$dir/run/$d.pid" "$d"); then echo "$d: running ($pid)"; else echo "$d: not running"; fi
    done
    [ -s "$conf" ] && SLURM_CONF=$conf sinfo -N 2>/dev/null || true
    ;;
  *) die "unknown command $cmd: up|down|status|env" ;;
esac
