#!/usr/bin/env bash
# Makes sure a Docker engine answers and mmdebstrap is present (the local server is built with it),
# and restic (`make offsite-forget` runs it here). Installs them from Debian when missing and this
# machine is Debian and we are root.
set -euo pipefail

need_packages=()
command -v mmdebstrap >/dev/null || need_packages+=(mmdebstrap)
command -v restic >/dev/null || need_packages+=(restic)
docker info >/dev/null 2>&1 || command -v dockerd >/dev/null || need_packages+=(docker.io)

if ((${#need_packages[@]})); then
  if [[ $(id -u) -ne 0 || ! -f /etc/debian_version ]]; then
    echo "Missing: ${need_packages[*]}. Install them (Debian: apt-get install ${need_packages[*]}) and start Docker." >&2
    exit 1
  fi
  echo "Installing ${need_packages[*]} from Debian..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "No Docker engine answers: start it (sudo systemctl start docker) or set DOCKER_HOST." >&2
    exit 1
  fi
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker
  else
    # No systemd here (a container or CI machine): run the engine in the background.
    echo "Starting dockerd (log: /var/log/dockerd.log)..."
    nohup dockerd >/var/log/dockerd.log 2>&1 &
  fi
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
