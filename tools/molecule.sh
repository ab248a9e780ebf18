#!/usr/bin/env bash
# Runs the molecule scenarios of extensions/molecule/ against the running local cluster:
#   tools/molecule.sh                 -> molecule test (scenario "default")
#   tools/molecule.sh converge -s default   (any molecule subcommand and options)
# molecule 26 finds scenarios under extensions/molecule/ when run from the collection root
# (where galaxy.yml is), so this runs in a private copy of the checkout made by
# tools/collection-tree.sh, with ANSIBLE_COLLECTIONS_PATH pointing at that copy.
# No `set -x`: the environment holds the cluster's bearer token.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$repo/tools/venv.sh" newest)
# shellcheck source=private-tree.sh
. "$repo/tools/private-tree.sh"
cg_private_tree molecule
tree=$CG_TREE

# CG_TEST_HOST, CG_TEST_TOKEN, CG_TEST_CA_FILE, CG_TEST_NAMESPACE, CG_TEST_IMAGE, ...
# shellcheck disable=SC1090
. <("$repo/tools/localcluster/cluster.sh" env)

export ANSIBLE_COLLECTIONS_PATH=$CG_TREE_ROOT
# State, inventory and the job result of the scenario stay in the private tree.
export MOLECULE_EPHEMERAL_DIRECTORY=$CG_TREE_ROOT/molecule
export PATH=$venv/bin:$PATH
cd "$tree"
if [ $# -eq 0 ]; then
  set -- test
fi
molecule "$@"
