#!/usr/bin/env bash
# Type-checks the collection's Python under plugins/ with mypy (settings: mypy.ini) in a
# private copy of the checkout laid out as ansible_collections/ephemeral/container_groups,
# which is how the code imports itself. Exits non-zero when mypy reports an error.
#   tools/mypy.sh              -> every file under plugins/
#   tools/mypy.sh plugins/x.py -> only these paths (relative to the collection root)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$repo/tools/venv.sh" newest)
# shellcheck source=cache-dir.sh
. "$repo/tools/cache-dir.sh"
# shellcheck source=private-tree.sh
. "$repo/tools/private-tree.sh"
cg_private_tree mypy
tree=$CG_TREE
# Module names come from paths relative to the directory holding ansible_collections/.
cd "$CG_TREE_ROOT"
prefix=${tree#"$CG_TREE_ROOT"/}
[ $# -gt 0 ] || set -- plugins
paths=()
for path in "$@"; do paths+=("$prefix/${path#./}"); done
# The cache outlives the tree, so ansible-core and kubernetes are analysed once, not per run;
# the lock keeps two runs from writing it at the same time.
exec 9>"$CG_CACHE_DIR/mypy-cache.lock"
flock 9
"$venv/bin/mypy" --config-file "$tree/mypy.ini" --cache-dir "$CG_CACHE_DIR/mypy-cache" "${paths[@]}"
