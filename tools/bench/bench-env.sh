# shellcheck shell=bash
# Sourced by the wrapper's benchmarks (job.sh, burst.sh): the newest virtualenv, a collection
# tree of their own, the local cluster's test credential in the environment (`cluster.sh
# env`), and a private work directory.
#
# cg_bench_env NAME: sets repo and work ($CG_TREE_ROOT/NAME, 0700, with project/ in it) and
# exports what ansible-playbook needs to find the tree.
# shellcheck disable=SC2034  # repo and work are for the caller
cg_bench_env() {
  local venv
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  venv=$("$repo/tools/venv.sh" newest)
  # shellcheck source=../private-tree.sh
  . "$repo/tools/private-tree.sh"
  cg_private_tree "bench-$1"
  # shellcheck disable=SC1090
  . <("$repo/tools/localcluster/cluster.sh" env)
  work=$CG_TREE_ROOT/$1
  mkdir -p "$work/project"
  chmod 700 "$work"
  export ANSIBLE_COLLECTIONS_PATH=$CG_TREE_ROOT ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0
  export PATH=$venv/bin:$PATH
}
