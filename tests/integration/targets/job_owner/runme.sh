#!/usr/bin/env bash
# Whose Pod is whose, across controllers of one host:
# - two controllers with the same host name in different PID namespaces (as containers with
#   host networking): a job's sweep does not remove the other's running Pod;
# - a controller killed with SIGKILL (its whole PID namespace): the next job removes its Pod,
#   proven gone because the initial PID namespace sees that no process of it is left;
# - groups whose names read alike (ci.fast, ci_fast), one slot each, run a job each at once;
# - a Pod waiting in a group's queue whose controller (on another machine) is silent is
#   removed by the job behind it once its turn has come and gone, and that job runs.
# No `set -x`: the token must not be echoed.
# shellcheck source-path=SCRIPTDIR source=../setup_integration_config/files/job_target.sh
. ../setup_integration_config/files/job_target.sh
pods() { python "$here/../container_group_job/files/pods.py" "$config" "$@"; }
job() { # group playbook [more args]: the wrapper's command line, in the array JOB
  local group=$1 playbook=$2; shift 2
  JOB=(ansible-playbook ephemeral.container_groups.run -e "container_group=$group" -e "playbook=$here/files/project/$playbook" "$@")
}
started_pod() { # LOG: the name of the Pod whose job wrote LOG, once its target has begun
  local name
  for _ in $(seq 1 600); do
    name=$(sed -n 's/^Pod [^ ]*\/\([^ ]*\) running; project copied.*/\1/p' "$1" | head -1)
    if [ -n "$name" ] && grep -q MARKER-HOLDING "$1"; then echo "$name"; return 0; fi
    sleep 0.2
  done
  return 1
}
[ "$(readlink /proc/self/ns/pid)" = "pid:[4026531836]" ] || fail "this target runs in the initial PID namespace"

ansible-playbook -e "@$config" files/define.yml

echo "== a controller in its own PID namespace, same host name: another job leaves its Pod alone"
job owners hold.yml -e hold_seconds=25
unshare -p -f --mount-proc "${JOB[@]}" > "$work/contained.log" 2>&1 &
contained=$!
held=$(started_pod "$work/contained.log") || { cat "$work/contained.log"; fail "the contained job's target did not start"; }
job owners hold.yml -e hold_seconds=1
"${JOB[@]}" > "$work/beside.log" 2>&1 || { cat "$work/beside.log"; fail "the job beside it failed"; }
cat "$work/beside.log"
if grep -q "removing leftover" "$work/beside.log"; then fail "the job beside it removed a Pod"; fi
wait "$contained" || { cat "$work/contained.log"; fail "the contained job failed (its Pod $held was taken away?)"; }
grep -q "Pod .*/$held deleted" "$work/contained.log" || { cat "$work/contained.log"; fail "the contained job did not delete its own Pod"; }

echo "== a controller whose PID namespace was killed: the next job removes its Pod"
job owners hold.yml -e hold_seconds=120
unshare -p -f --mount-proc "${JOB[@]}" > "$work/killed.log" 2>&1 &
unshared=$!
orphan=$(started_pod "$work/killed.log") || { cat "$work/killed.log"; fail "the doomed job's target did not start"; }
init=$(pgrep -P "$unshared")  # the namespace's init: killing it kills every process in it
kill -KILL "$init"
wait "$unshared" || true
sleep 1
pods names owners | grep -qx "$orphan" || fail "the orphaned Pod $orphan went away by itself"
job owners hold.yml -e hold_seconds=1
"${JOB[@]}" > "$work/after.log" 2>&1 || { cat "$work/after.log"; fail "the next job failed"; }
cat "$work/after.log"
grep -q "removing leftover Pod .*/$orphan (its controller process is gone)" "$work/after.log" \
  || fail "the next job did not remove the orphaned Pod $orphan"
pods wait-gone owners 60 || fail "a Pod of owners is left"

echo "== ci.fast and ci_fast, one slot each: a job in each at the same time"
job ci.fast hold.yml -e hold_seconds=8
"${JOB[@]}" > "$work/dot.log" 2>&1 &
dot=$!
job ci_fast hold.yml -e hold_seconds=8
"${JOB[@]}" > "$work/underscore.log" 2>&1 || { cat "$work/underscore.log"; fail "the ci_fast job failed"; }
wait "$dot" || { cat "$work/dot.log"; fail "the ci.fast job failed"; }
for log in "$work/dot.log" "$work/underscore.log"; do
  if grep -q "waiting for a slot" "$log"; then cat "$log"; fail "a job waited for the other group's slot"; fi
done
dot_pod=$(sed -n 's/.*Pod [^ ]*\/\(cg-ci-fast-[a-z0-9-]*\) created.*/\1/p' "$work/dot.log")
underscore_pod=$(sed -n 's/.*Pod [^ ]*\/\(cg-ci-fast-[a-z0-9-]*\) created.*/\1/p' "$work/underscore.log")
echo "ci.fast ran in $dot_pod, ci_fast in $underscore_pod"
if [ -z "$dot_pod" ] || [ -z "$underscore_pod" ] || [ "$dot_pod" = "$underscore_pod" ]; then
  fail "the two groups' Pods are not told apart"
fi
echo "== a silent waiter ahead in the queue of ci.fast: the job behind it removes it after its turn, then runs"
pods waiter ci.fast cg-ci-fast-silent-waiter
job ci.fast hold.yml -e hold_seconds=1
"${JOB[@]}" > "$work/behind.log" 2>&1 || { cat "$work/behind.log"; fail "the job behind the silent waiter failed"; }
cat "$work/behind.log"
grep -q "waiting for a slot of container group 'ci.fast': 2nd in line" "$work/behind.log" || fail "the job did not say its place"
grep -q "removed Pod .*/cg-ci-fast-silent-waiter from the queue of container group 'ci.fast': it stayed gated 15s" \
  "$work/behind.log" || fail "the job did not say it removed the silent waiter"
pods wait-gone ci.fast 60 || fail "a Pod of ci.fast is left"
echo "all owner scenarios passed"
