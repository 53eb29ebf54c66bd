#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, entirely inside DIR: its own munge key and socket,
# its own slurm.conf (non-default ports, so it never meets a real cluster's daemons), state,
# spool and logs. `make test-slurm` uses it to run kevo's job arrays under the real scheduler.
#   tools/slurm/local_cluster.sh start DIR   start munged, slurmctld and slurmd; prints the
#                                            `export SLURM_CONF=...` line the clients need
#   tools/slurm/local_cluster.sh stop DIR    stop them (safe to call twice)
# Needs root (slurmd runs jobs as their submitter) and Debian's slurmctld, slurmd,
# slurm-client and munge (tools/deps.sh slurm). Cluster settings follow slurm.conf(5).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
dir=$(mkdir -p "$2" && cd "$2" && pwd)
conf=$dir/slurm.conf
sock=$dir/munge/socket

stop() {
    if [ -f "$conf" ]; then
        for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
            [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
        done
    fi
    [ -S "$sock" ] && munged -S "$sock" -s >/dev/null 2>&1 || true
    # The daemons remove their pid files as they exit; wait for that (at most 10 s).
    for _ in $(seq 50); do
        [ -f "$dir/slurmd.pid" ] || [ -f "$dir/slurmctld.pid" ] || return 0
        sleep 0.2
    done
}

start() {
    [ "$(id -u)" -eq 0 ] || { echo "$0: needs root (slurmd runs the jobs)" >&2; exit 1; }
    for tool in munged slurmctld slurmd sbatch; do
        command -v "$tool" >/dev/null ||
            { echo "$0: $tool not installed (tools/deps.sh slurm)" >&2; exit 1; }
    done
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
    # munged insists on a private key and a socket directory everyone may enter.
    chmod 700 "$dir/munge"
    [ -f "$dir/munge/key" ] || head -c 1024 /dev/urandom > "$dir/munge/key"
    chmod 400 "$dir/munge/key"
    chmod 711 "$dir/munge"
    munged --force -S "$sock" --key-file="$dir/munge/key" --log-file="$dir/log/munged.log" \
        --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/seed"

    local host mem_mb
    host=$(hostname -s)
    mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    cat > "$conf" <<EOF
ClusterName=kevo-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=kevo Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    # -i: ignore any saved state, a fresh cluster each time.
    slurmctld -f "$conf" -i
    slurmd -f "$conf"
    # Ready when the node reports idle (at most 30 s).
    for _ in $(seq 150); do
        if SLURM_CONF=$conf sinfo -h -o %T 2>/dev/null | grep -q '^idle'; then
            echo "export SLURM_CONF=$conf"
            return 0
        fi
        sleep 0.2
    done
    echo "$0: the node never became idle; logs in $dir/log" >&2
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    stop
    exit 1
}

case "$1" in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac
