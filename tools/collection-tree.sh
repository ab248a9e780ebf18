#!/usr/bin/env bash
# ansible-test insists on running from .../ansible_collections/<ns>/<name>. This copies the
# checkout (tracked and untracked, not ignored files) into such a tree outside the repo and
# prints its path, so a plain clone can be tested from anywhere.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=cache-dir.sh
. "$repo/tools/cache-dir.sh"
# One tree per checkout path, so two clones (a developer's and CI's) never share one;
# CG_TREE_ROOT gives a caller a private tree (tools/test.sh uses one per run).
key=$(printf '%s' "$repo" | sha256sum | cut -c1-8)
root=${CG_TREE_ROOT:-$CG_CACHE_DIR/tree-$key}
dest="$root/ansible_collections/ephemeral/container_groups"
mkdir -p "$dest"
# Start clean (keeping ansible-test's tests/output cache), so files deleted in the
# checkout do not linger in the copy.
find "$dest" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
[ -d "$dest/tests" ] && find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) \
  | (cd "$repo" && rsync -a --from0 --files-from=- ./ "$dest/")
echo "$dest"
