# shellcheck shell=bash
# Sourced by the tools that need a collection tree of their own (tests, molecule, mypy,
# benchmarks), so that runs at the same time never share or wipe one another's copy.
#
# cg_private_tree NAME: copies the checkout with tools/collection-tree.sh into a new
# directory, removed when the calling script exits. Exports CG_TREE_ROOT (the directory
# that holds ansible_collections/, what ANSIBLE_COLLECTIONS_PATH wants) and sets CG_TREE
# (the collection root inside it).
# shellcheck disable=SC2034  # CG_TREE is for the caller
cg_private_tree() {
  local repo
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  # shellcheck source=cache-dir.sh
  . "$repo/tools/cache-dir.sh"
  mkdir -p "$CG_CACHE_DIR"
  CG_TREE_ROOT=$(mktemp -d "$CG_CACHE_DIR/$1-tree.XXXXXX")
  export CG_TREE_ROOT
  trap 'rm -rf "$CG_TREE_ROOT"' EXIT
  CG_TREE=$("$repo/tools/collection-tree.sh")
}
