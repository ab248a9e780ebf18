#!/usr/bin/env bash
# Jobs that outlive their connection: the API server killed (SIGKILL) and the kubelet
# restarted while the target runs. Each time the job must end with rc 0, the target's output
# must be complete with each line exactly once, the job must say it reattached, and no Pod
# may be left. The faults come from tools/localcluster/cluster.sh restart, on the real cluster.
# No `set -x`: the token must not be echoed.
set -eu
config=$(../setup_integration_config/files/integration_config.sh)
here=$(pwd)
# The checkout's cluster script (tools/test.sh names it in the integration config; the
# copy of the collection ansible-test runs in has no tools/).
cluster=$(../setup_integration_config/files/integration_config.sh cg_cluster_script)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CONTAINER_GROUPS_STATE_FILE="$work/state/container_groups.yml" PYTHONUNBUFFERED=1
pods() { python "$here/../container_group_job/files/pods.py" "$config" "$@"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

ansible-playbook -e "@$config" ../container_group_job/files/define.yml

run_with_fault() { # name: cluster.sh restart arguments...
  local name=$1; shift
  echo "== $name while the target runs"
  ansible-playbook ephemeral.container_groups.run -e container_group=job-ok \
    -e "playbook=$here/files/project/numbered.yml" > "$work/$name.log" 2>&1 &
  local job=$!
  for _ in $(seq 1 600); do grep -q '"msg": "seq-10"' "$work/$name.log" && break; sleep 0.1; done
  grep -q '"msg": "seq-10"' "$work/$name.log" || { cat "$work/$name.log"; fail "the target never got to seq-10"; }
  "$cluster" restart "$@"
  local rc=0
  wait "$job" || rc=$?
  cat "$work/$name.log"
  [ "$rc" = 0 ] || fail "$name: the job ended with rc $rc"
  local n count
  for n in $(seq 1 80); do
    count=$(grep -c "\"msg\": \"seq-$n\"" "$work/$name.log" || true)
    [ "$count" = 1 ] || fail "$name: seq-$n appears $count times in the output (want exactly once)"
  done
  grep -q "reattached to Pod" "$work/$name.log" || fail "$name: the job did not say it reattached"
  grep -qE 'recap: .*ok=1 .*failed=0' "$work/$name.log" || fail "$name: the summary does not show the target's recap"
  pods wait-gone job-ok 30 || fail "$name: a Pod of job-ok is left"
}

run_with_fault "kube-apiserver-killed" kube-apiserver --kill
run_with_fault "kubelet-restarted" kubelet
echo "== all reconnect scenarios passed"
