#!/usr/bin/env bash
# A throw-away single-node Slurm cluster for `make test-slurm` (sourced, not run).
#
# slurm_local_start DIR   installs slurm-wlm and munge when missing (needs root), writes a
#                         configuration under DIR (state, spool, logs, its own munge key and
#                         socket, free TCP ports), starts munged, slurmctld and slurmd in the
#                         foreground of background jobs, and exports SLURM_CONF so that sbatch,
#                         squeue and the jobs' own environment use that configuration.
# slurm_local_stop        kills those three daemons by pid (never by name) and waits for them.
#
# Nothing under /etc is written and no running service is touched, so a leftover or system
# Slurm or munge on the machine neither disturbs nor is disturbed by this one.

SLURM_LOCAL_PIDS=()

slurm_local_install() {
  local missing=""
  for p in slurm-wlm munge; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "test-slurm: installing:$missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null || return 1
  fi
}

# A TCP port on the loopback interface that nothing listens on now.
slurm_local_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

slurm_local_start() {
  local dir=$1
  slurm_local_install || return 1
  # munged runs as the munge user, which must reach its files under DIR.
  mkdir -p "$dir"
  chmod 755 "$dir" "$(dirname "$dir")"
  # Its key and state stay private (0700); its socket's folder must be open to every user.
  mkdir -p "$dir/munge" "$dir/munge-socket" "$dir/state" "$dir/spool"
  mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
  chown -R munge:munge "$dir/munge" "$dir/munge-socket"
  chmod 700 "$dir/munge"
  chmod 755 "$dir/munge-socket"
  setpriv --reuid=munge --regid=munge --clear-groups \
    munged --foreground --socket="$dir/munge-socket/munge.sock" --key-file="$dir/munge/munge.key" \
      --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" >>"$dir/munged.log" 2>&1 &
  SLURM_LOCAL_PIDS+=($!)
  local waited=0
  until [ -S "$dir/munge-socket/munge.sock" ]; do
    sleep 0.2; waited=$((waited + 1))
    [ $waited -lt 50 ] || { echo "test-slurm: munged did not start:"; cat "$dir/munged.log"; return 1; }
  done

  # The node name is the short host name as slurmd is told it (-N), reached on loopback, so
  # neither /etc/hosts nor DNS needs to know it.
  local host; host=$(hostname -s 2>/dev/null || true); host=${host:-localhost}
  local ctld_port slurmd_port; ctld_port=$(slurm_local_free_port); slurmd_port=$(slurm_local_free_port)
  cat > "$dir/slurm.conf" <<CONF
ClusterName=swatest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge-socket/munge.sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -D -i -f "$SLURM_CONF" >>"$dir/slurmctld.out" 2>&1 &
  SLURM_LOCAL_PIDS+=($!)
  slurmd -D -N "$host" -f "$SLURM_CONF" >>"$dir/slurmd.out" 2>&1 &
  SLURM_LOCAL_PIDS+=($!)
  waited=0
  until sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; do
    sleep 0.5; waited=$((waited + 1))
    if [ $waited -ge 60 ]; then
      echo "test-slurm: the node did not come up; logs follow"
      tail -n 20 "$dir"/slurmctld.log "$dir"/slurmd.log "$dir"/*.out 2>/dev/null
      return 1
    fi
  done
}

slurm_local_stop() {
  local pid
  for pid in "${SLURM_LOCAL_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SLURM_LOCAL_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SLURM_LOCAL_PIDS=()
}
