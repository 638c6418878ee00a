#!/usr/bin/env bash
# Starts a real single-node Slurm on this machine for the integration test:
# munge and slurm-wlm from Debian (installed when missing), a minimal
# slurm.conf on loopback, slurmctld and slurmd as plain daemons (no systemd).
# Idempotent: does nothing when the node is already up. Needs root.
set -euo pipefail

if command -v sinfo >/dev/null 2>&1 && [ "$(sinfo -h -o %t 2>/dev/null | head -1)" = idle ]; then
  exit 0
fi
bash "$(dirname "$0")/install-deps.sh" sbatch:slurm-wlm munged:munge

host=$(hostname -s)
mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=tdwstitch
SlurmctldHost=${host}(127.0.0.1)
NodeName=${host} NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=${mem} State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmUser=root
MailProg=/bin/true
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
CONF

mkdir -p /run/munge
chown munge:munge /run/munge
pgrep -x munged >/dev/null || runuser -u munge -- munged
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

# Bring-up takes well under a second; give it 30 s before calling it broken.
for _ in $(seq 60); do
  state=$(sinfo -h -o %t 2>/dev/null | head -1 || true)
  [ "$state" = idle ] && exit 0
  [ "$state" = down ] || [ "$state" = drain ] && scontrol update nodename="$host" state=resume 2>/dev/null || true
  sleep 0.5
done
echo "slurm did not come up (node state: ${state:-none}); see /var/log/slurm/" >&2
exit 1
