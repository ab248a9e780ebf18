#!/usr/bin/env bash
# The time to reassemble 1, 4 and 16 MiB lines (see lines.py); needs no cluster.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=$("$repo/tools/venv.sh" newest)
# shellcheck source=../private-tree.sh
. "$repo/tools/private-tree.sh"
cg_private_tree bench-lines
PYTHONPATH=$CG_TREE_ROOT "$venv/bin/python" "$repo/tools/bench/lines.py"
