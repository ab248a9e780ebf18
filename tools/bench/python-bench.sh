#!/usr/bin/env bash
# python-bench.sh NAME: runs the no-cluster benchmark NAME.py beside this script, with the
# collection importable from a private tree (NAME.py says what it measures).
set -euo pipefail
name=${1:?usage: python-bench.sh NAME}
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=$("$repo/tools/venv.sh" newest)
# shellcheck source=../private-tree.sh
. "$repo/tools/private-tree.sh"
cg_private_tree "bench-$name"
PYTHONPATH=$CG_TREE_ROOT "$venv/bin/python" "$repo/tools/bench/$name.py"
