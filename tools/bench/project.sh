#!/usr/bin/env bash
# The time to choose what of a project to ship, against the tar it precedes (see project.py);
# needs no cluster.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=$("$repo/tools/venv.sh" newest)
# shellcheck source=../private-tree.sh
. "$repo/tools/private-tree.sh"
cg_private_tree bench-project
PYTHONPATH=$CG_TREE_ROOT "$venv/bin/python" "$repo/tools/bench/project.py"
