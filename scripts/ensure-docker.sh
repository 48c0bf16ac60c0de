#!/usr/bin/env bash
# Makes sure a Docker engine answers. Starts Debian's dockerd (vfs storage, no default
# bridge) when none is running; installs docker.io first when dockerd is missing and we
# are root. Test containers use host or no networking, so no bridge is needed.
set -euo pipefail

if docker info >/dev/null 2>&1; then exit 0; fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "No Docker engine is running and dockerd is not installed; install Docker first." >&2
    exit 1
  fi
  echo "Installing Debian's docker.io ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if [ "$(id -u)" != 0 ]; then
  echo "No Docker engine is running; start it (e.g. 'sudo systemctl start docker')." >&2
  exit 1
fi

echo "Starting dockerd (vfs, --bridge=none) ..."
mkdir -p /var/log /var/run
# Recorded so the chaos tests can restart this dockerd (and only one the project started).
echo "--storage-driver=vfs --bridge=none --iptables=false" >/var/run/cube-dockerd.args
# In its own session: killing the process group of whoever ran this script (a finished test
# job, a timed-out shell) must not take the engine, and every container, down with it.
setsid nohup dockerd --storage-driver=vfs --bridge=none --iptables=false \
  >>/var/log/cube-dockerd.log 2>&1 </dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    # dockerd's own pid file (setsid may have forked, so $! need not be dockerd).
    cp /var/run/docker.pid /var/run/cube-dockerd.pid
    echo "dockerd is up"
    exit 0
  fi
  sleep 1
done
echo "dockerd did not come up; see /var/log/cube-dockerd.log" >&2
tail -20 /var/log/cube-dockerd.log >&2 || true
exit 1
