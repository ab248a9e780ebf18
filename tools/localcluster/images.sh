#!/usr/bin/env bash
# Builds the images the local cluster needs, without pulling from any container registry:
#   pause  - the pod sandbox: the one static binary that build.sh compiles from
#            k8s.io/kubernetes' build/pause/linux/pause.c, run as 65535:65535
#   ee     - the execution environment: Debian $EE_DEBIAN_SUITE minbase with python3,
#            python3-venv, ca-certificates, tar, bash, sudo, procps and openssh-client
#            (ssh, ssh-agent, ssh-add, for jobs against SSH hosts); ansible-core and its
#            dependencies from PyPI, exactly as locked in tools/requirements/ee.txt (hashes
#            checked), in a venv at /opt/ansible, its ansible* commands linked into
#            /usr/local/bin; a user `runner` (uid 1000, home
#            /home/runner, passwordless sudo for the connection tests), which the image runs
#            as. Like awx-ee it runs as any UID with gid 0 (OpenShift's restricted SCC):
#            HOME=/home/runner and /etc/passwd are writable by gid 0, and the entrypoint
#            (cg-entrypoint) gives a user without a passwd entry one, since ssh needs it.
#   sshd   - the SSH test hosts: the ee image plus openssh-server, run as root with no
#            entrypoint (cluster.sh starts them).
# Each is kept as an OCI layout under $CG_IMAGE_DIR, named after its pinned inputs (pause:
# the Kubernetes version; ee: the Debian suite and EE_IMAGE_REVISION from versions.env,
# ansible-core's version and the hash of the lock); the Debian packages are whatever the
# suite holds on the day of the build. cluster.sh (_push_images)
# copies the layouts into the local registry.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$CG_IMAGE_DIR"

build_pause() {
  local layout="$CG_IMAGE_DIR/pause-$KUBERNETES_VERSION"
  [ -f "$layout/.complete" ] && return 0
  [ -x "$CG_BIN_DIR/pause" ] || die "pause binary missing: run build.sh first"
  log "building pause image"
  rm -rf "$layout" "$layout.bundle"
  umoci init --layout "$layout"
  umoci new --image "$layout:3.10"
  umoci unpack --rootless --image "$layout:3.10" "$layout.bundle" >/dev/null
  install -m 0755 "$CG_BIN_DIR/pause" "$layout.bundle/rootfs/pause"
  umoci repack --image "$layout:3.10" "$layout.bundle"
  umoci config --image "$layout:3.10" --config.entrypoint /pause --config.user 65535:65535 \
    --architecture amd64 --os linux
  rm -rf "$layout.bundle"
  touch "$layout/.complete"
}

build_ee() {
  local layout="$CG_IMAGE_DIR/ee-$EE_DEBIAN_SUITE-$CG_EE_IMAGE_TAG"
  [ -f "$layout/.complete" ] && return 0
  local rootfs="$CG_IMAGE_DIR/ee-rootfs.tmp"
  python3 "$LC_DIR/../lock.py" check ee || die "the EE's lock is not fit to build from"
  log "building EE image: debootstrap $EE_DEBIAN_SUITE + ansible-core $EE_ANSIBLE_CORE_VERSION, lock $CG_EE_LOCK_KEY (a few minutes)"
  rm -rf "$rootfs" "$layout" "$layout.bundle"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,ca-certificates,tar,bash,sudo,procps,openssh-client \
    "$EE_DEBIAN_SUITE" "$rootfs" http://deb.debian.org/debian >/dev/null
  # pip inside the rootfs must trust the host's CA bundle (the host may sit behind a
  # TLS-inspecting proxy) and must not see host variables that name host-only paths. The
  # host's resolv.conf lends the chroot DNS for the build only (emptied below: a Pod gets
  # its own from the kubelet).
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/tmp/host-ca.crt"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  cp "$CG_EE_LOCK" "$rootfs/tmp/ee-lock.txt"
  # The suite's own pip installs the lock alone (no upgrade of pip, --no-deps, wheels only).
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    PIP_CERT=/tmp/host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 /bin/bash -euc "
      python3 -m venv /opt/ansible
      /opt/ansible/bin/pip install -q --no-cache-dir --no-deps --only-binary :all: --require-hashes -r /tmp/ee-lock.txt
      for b in /opt/ansible/bin/ansible*; do ln -sf \"\$b\" /usr/local/bin/; done
      useradd --uid 1000 --create-home --shell /bin/bash runner
      echo 'runner ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/runner
      chmod 0440 /etc/sudoers.d/runner
      chgrp 0 /home/runner /etc/passwd
      chmod 0775 /home/runner
      chmod 0664 /etc/passwd
      apt-get clean
      rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/host-ca.crt /tmp/ee-lock.txt /root/.cache
    "
  : > "$rootfs/etc/resolv.conf"
  install -m 0755 "$LC_DIR/images/cg-entrypoint" "$rootfs/usr/local/bin/cg-entrypoint"
  # This directory becomes the image's /, mode included, and a 0700 / locks every non-root
  # container user out of the whole filesystem. debootstrap makes it 0755 (it sets its own
  # umask 022); this makes sure of it whatever made the directory.
  chmod 0755 "$rootfs"
  umoci init --layout "$layout"
  umoci new --image "$layout:$CG_EE_IMAGE_TAG"
  umoci unpack --image "$layout:$CG_EE_IMAGE_TAG" "$layout.bundle" >/dev/null
  rm -rf "$layout.bundle/rootfs"
  mv "$rootfs" "$layout.bundle/rootfs"
  umoci repack --image "$layout:$CG_EE_IMAGE_TAG" "$layout.bundle"
  umoci config --image "$layout:$CG_EE_IMAGE_TAG" --architecture amd64 --os linux \
    --config.user 1000 --config.entrypoint /usr/local/bin/cg-entrypoint \
    --config.cmd /bin/bash --config.workingdir /home/runner \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env LANG=C.UTF-8 --config.env HOME=/home/runner
  rm -rf "$layout.bundle"
  umoci gc --layout "$layout"
  touch "$layout/.complete"
}

build_sshd() {
  local layout="$CG_IMAGE_DIR/sshd-$CG_SSHD_IMAGE_TAG"
  [ -f "$layout/.complete" ] && return 0
  local ee="$CG_IMAGE_DIR/ee-$EE_DEBIAN_SUITE-$CG_EE_IMAGE_TAG"
  [ -f "$ee/.complete" ] || die "the ee image is missing: build it first"
  log "building the SSH host image: the ee image plus openssh-server"
  rm -rf "$layout" "$layout.bundle"
  cp -a "$ee" "$layout"
  rm -f "$layout/.complete"
  umoci tag --image "$layout:$CG_EE_IMAGE_TAG" "$CG_SSHD_IMAGE_TAG"
  umoci rm --image "$layout:$CG_EE_IMAGE_TAG"
  umoci unpack --image "$layout:$CG_SSHD_IMAGE_TAG" "$layout.bundle" >/dev/null
  local rootfs="$layout.bundle/rootfs"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
    /bin/bash -euc "
      apt-get -qq update
      apt-get -qq install -y --no-install-recommends openssh-server >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
      rm -f /tmp/apt.log
      rm -f /etc/ssh/ssh_host_*  # each host makes its own when it starts
      apt-get clean
      rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
    "
  : > "$rootfs/etc/resolv.conf"
  umoci repack --image "$layout:$CG_SSHD_IMAGE_TAG" "$layout.bundle"
  umoci config --image "$layout:$CG_SSHD_IMAGE_TAG" --config.user 0:0 --clear config.entrypoint \
    --config.workingdir / --config.env HOME=/root
  rm -rf "$layout.bundle"
  umoci gc --layout "$layout"
  touch "$layout/.complete"
}

case "${1:-all}" in
  pause) build_pause ;;
  ee) build_ee ;;
  sshd) build_ee; build_sshd ;;
  all) build_ee; build_sshd; build_pause ;;
  *) die "usage: images.sh [pause|ee|sshd|all]" ;;
esac
