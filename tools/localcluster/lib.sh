# shellcheck shell=bash
# Shared settings for the local-cluster scripts. Sourced, not run; the scripts that source
# it use these names, which shellcheck cannot see from here.
# shellcheck disable=SC2034
set -euo pipefail
LC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$LC_DIR/versions.env"
# shellcheck source=../cache-dir.sh
. "$LC_DIR/../cache-dir.sh"
CG_BIN_DIR="$CG_CACHE_DIR/bin/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION"
CG_IMAGE_DIR="$CG_CACHE_DIR/images"
# Runtime state of the running cluster (certs, etcd data, containerd root, logs).
CG_CLUSTER_DIR=${CG_CLUSTER_DIR:-/var/lib/cg-localcluster}
CG_TEST_NAMESPACE=cg-test
CG_REGISTRY=127.0.0.1:5000
# The same images behind a login (htpasswd), for the image pull credential tests.
CG_REGISTRY_AUTH=127.0.0.1:5001
CG_REGISTRY_AUTH_USER=cg-puller
CG_EE_IMAGE_NAME=cg/ee
# The EE's Python packages: a lock whose hash is in the tags of the EE and of the image
# built on it, so a changed lock builds new images and a cache never serves the old pins.
CG_EE_LOCK="$LC_DIR/../requirements/ee.txt"
EE_ANSIBLE_CORE_VERSION=$(sed -n 's/^ansible-core==\([^ ]*\).*/\1/p' "$CG_EE_LOCK")
CG_EE_LOCK_KEY=$(sha256sum "$CG_EE_LOCK" | cut -c1-8)
CG_EE_IMAGE_TAG="ansible-core-$EE_ANSIBLE_CORE_VERSION-r$EE_IMAGE_REVISION-$CG_EE_LOCK_KEY"
# The SSH test hosts: the EE image plus openssh-server (see images.sh).
CG_SSHD_IMAGE_NAME=cg/sshd
CG_SSHD_IMAGE_TAG="$EE_DEBIAN_SUITE-r$EE_IMAGE_REVISION-$CG_EE_LOCK_KEY"

export GOFLAGS="-mod=mod -buildvcs=false"

log() { printf '[localcluster] %s\n' "$*" >&2; }
die() { printf '[localcluster] ERROR: %s\n' "$*" >&2; exit 1; }

# Run-time layout. The node needs a non-loopback IP (kubelet refuses 127.0.0.1), so the
# cluster adds its own interface (an empty bridge: this kernel has no dummy driver)
# with an address nothing else uses.
CG_RUN_DIR=/run/cg-localcluster
CG_NODE_NAME=cg-node
CG_NODE_IFACE=cg-node0
CG_NODE_IP=10.213.255.1
CG_POD_CIDR=10.213.0.0/24
CG_SERVICE_CIDR=10.213.128.0/24
CG_BRIDGE=cg-br0
CG_CNI_NETWORK=cg-local
CG_API_PORT=6443
CG_ETCD_PORT=23790
CG_API_HOST="https://127.0.0.1:$CG_API_PORT"
CG_CONTAINERD_SOCK="$CG_RUN_DIR/containerd.sock"
CG_TEST_IMAGE_REF="$CG_REGISTRY/$CG_EE_IMAGE_NAME:$CG_EE_IMAGE_TAG"
CG_SSHD_IMAGE_REF="$CG_REGISTRY/$CG_SSHD_IMAGE_NAME:$CG_SSHD_IMAGE_TAG"
# The SSH test hosts: Pods in the test namespace, a user with a key pair and a sudo password.
CG_SSH_HOSTS=(cg-ssh-1 cg-ssh-2)
CG_SSH_USER=cgtest
CG_PAUSE_IMAGE_REF="$CG_REGISTRY/pause:3.10"
_kubectl() { "$CG_BIN_DIR/kubectl" --kubeconfig "$CG_CLUSTER_DIR/admin.kubeconfig" "$@"; }
