#!/usr/bin/env bash
# The demo behind `make demo`: with the local cluster up, install the collection the way a
# user does, define a credential and a container group, and run a playbook in an ephemeral
# Pod through ephemeral.container_groups.run. Leaves the cluster running.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=cache-dir.sh
. "$repo/tools/cache-dir.sh"
demo="$CG_CACHE_DIR/demo"
venv=$("$repo/tools/venv.sh" newest)
export PATH="$venv/bin:$PATH"
# shellcheck disable=SC1090
. <("$repo/tools/localcluster/cluster.sh" env)

echo "== installing the collection (ansible-galaxy collection build + install)"
rm -rf "$demo/build" "$demo/collections"
mkdir -p "$demo/build"
tree=$(CG_TREE_ROOT="$demo/tree" "$repo/tools/collection-tree.sh")
ansible-galaxy collection build --force --output-path "$demo/build" "$tree" >/dev/null
# Set before the install, which otherwise warns that the path is not one Ansible searches.
export ANSIBLE_COLLECTIONS_PATH="$demo/collections"
ansible-galaxy collection install -p "$demo/collections" "$demo"/build/ephemeral-container_groups-*.tar.gz >/dev/null
export CONTAINER_GROUPS_STATE_FILE="$demo/container_groups.yml"
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false

echo "== defining credential 'local-cluster' and container group 'demo' in $CONTAINER_GROUPS_STATE_FILE"
ansible-playbook "$repo/tools/demo/define.yml"

echo "== running tools/demo/project/site.yml in an ephemeral Pod"
cd "$repo/tools/demo"
ansible-playbook ephemeral.container_groups.run -e container_group=demo \
  -e playbook=project/site.yml -e '{"extra_vars": {"who": "the demo"}}'

echo "== Pods of the demo group left in $CG_TEST_NAMESPACE (none expected):"
"$CG_BIN_DIR/kubectl" -n "$CG_TEST_NAMESPACE" get pods -l container-groups.ephemeral.io/group=demo 2>&1
