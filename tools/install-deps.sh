#!/usr/bin/env bash
# Installs the Debian packages the project needs (cluster runtime, image building, test
# tooling). Idempotent and quiet when everything is already there.
set -euo pipefail
packages=(
  containerd runc containernetworking-plugins   # container runtime and CNI plugins
  docker-registry skopeo umoci debootstrap      # local registry and image building
  iptables conntrack iproute2 ethtool socat     # what kubelet and CNI expect on the host
  gettext-base                                  # envsubst: cluster.sh renders templates/
  rsync git make curl ca-certificates bc        # test tooling and benchmarks
  openssh-client                                # the SSH test hosts: keys, and ssh to check them
  apache2-utils                                 # htpasswd: the local registry that requires a login
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "[deps] installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these services on install; the local cluster runs its own instances.
for svc in containerd docker-registry; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q "$svc" 2>/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
