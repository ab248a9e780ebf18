#!/usr/bin/env bash
# Jobs that outlive their connection, with faults injected into the real cluster
# (tools/localcluster/cluster.sh restart, and SIGSTOP of the API server):
# - the API server killed (SIGKILL) and the kubelet restarted while the target runs: each
#   job ends with rc 0, its output complete with each line exactly once, and no Pod left;
# - a target quiet for 45 s while the kubelet's streaming idle timeout is 15 s: it completes;
# - the API server frozen for longer than reconnect_timeout: a clear failure that says the
#   target may still run, what becomes of the Pod and how to check; the next job removes it;
# - the API server unreachable (new connections refused) for 20 s from just before the job
#   deletes its Pod: the Pod is deleted once it is back, and the result says it took retries;
# - Ctrl-C: the target's processes are gone within 5 s, seen from inside the Pod before the
#   Pod is deleted, and the Pod is gone within 15 s;
# - the API server killed while four jobs wait in the queue of a group capped at two: all
#   four succeed, and no more than two are ever admitted at once.
# No `set -x`: the token must not be echoed.
set -eu
config=$(../setup_integration_config/files/integration_config.sh)
here=$(pwd)
# The checkout's cluster script (tools/test.sh names it in the integration config; the
# copy of the collection ansible-test runs in has no tools/).
cluster=$(../setup_integration_config/files/integration_config.sh cg_cluster_script)
work=$(mktemp -d)
apiserver_pid() { cat /run/cg-localcluster/pids/kube-apiserver.pid; }
admin_kubeconfig=$(../setup_integration_config/files/integration_config.sh cg_test_kubeconfig)
namespace=$(../setup_integration_config/files/integration_config.sh cg_test_namespace)
kubectl="$("$cluster" env | sed -n 's/^export CG_BIN_DIR=//p')/kubectl"
# New TCP connections to the API server are refused; those already open go on.
refuse_api_connections=(INPUT -p tcp --dport 6443 --syn -j REJECT --reject-with tcp-reset)
# Whatever happens, the cluster is left as it was: the API server running, the kubelet with
# its own flags.
restore() {
  kill -CONT "$(apiserver_pid)" 2>/dev/null || true
  while iptables -D "${refuse_api_connections[@]}" 2>/dev/null; do :; done
  if "$cluster" status 2>/dev/null | grep -q 'extra flags'; then "$cluster" restart kubelet || true; fi
  rm -rf "$work"
}
trap restore EXIT
export CONTAINER_GROUPS_STATE_FILE="$work/state/container_groups.yml" PYTHONUNBUFFERED=1
pods() { python "$here/../container_group_job/files/pods.py" "$config" "$@"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

ansible-playbook -e "@$config" ../container_group_job/files/define.yml

wait_node_schedulable() { # until the node is Ready with no taint, at most 120 s
  python "$here/files/wait_node_schedulable.py" "$(../setup_integration_config/files/integration_config.sh cg_test_kubeconfig)" \
    || fail "the node did not take Pods again"
}

run_with_fault() { # name: cluster.sh restart arguments...
  local name=$1; shift
  echo "== $name while the target runs"
  ansible-playbook ephemeral.container_groups.run -e container_group=job-ok \
    -e "playbook=$here/files/project/numbered.yml" -e "events_file=$work/$name.jsonl" \
    -e "artifacts_dir=$work/$name-record" > "$work/$name.log" 2>&1 &
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
  python "$here/files/check_events.py" "$work/$name.jsonl" "$(echo "$work/$name-record"/*)" 80 \
    || fail "$name: the job's events are not whole after the fault"
  grep -qE 'recap: .*ok=1 .*failed=0' "$work/$name.log" || fail "$name: the summary does not show the target's recap"
  pods wait-gone job-ok 30 || fail "$name: a Pod of job-ok is left"
}

scenario_quiet_target() {
  echo "== a target quiet for 45 s while the kubelet's streaming idle timeout is 15 s"
  "$cluster" restart kubelet -- --streaming-connection-idle-timeout=15s
  ansible-playbook ephemeral.container_groups.run -e container_group=job-ok \
    -e "playbook=$here/files/project/quiet.yml" > "$work/quiet.log" 2>&1 || { cat "$work/quiet.log"; fail "the quiet job failed"; }
  cat "$work/quiet.log"
  "$cluster" restart kubelet
  [ "$(grep -c '"msg": "MARKER-AFTER-QUIET"' "$work/quiet.log")" = 1 ] || fail "the output after the quiet task is not there once"
  pods wait-gone job-ok 30 || fail "quiet: a Pod of job-ok is left"
}

scenario_api_frozen_past_the_budget() {
  echo "== the API server frozen (SIGSTOP) for longer than reconnect_timeout"
  ansible-playbook ephemeral.container_groups.run -e container_group=job-ok -e reconnect_timeout=10 \
    -e "playbook=$here/files/project/numbered.yml" -e '{"extra_vars": {"lines": 400}}' > "$work/frozen.log" 2>&1 &
  local job=$!
  for _ in $(seq 1 600); do grep -q '"msg": "seq-10"' "$work/frozen.log" && break; sleep 0.1; done
  kill -STOP "$(apiserver_pid)"
  local rc=0 waited=0
  while kill -0 "$job" 2>/dev/null && [ "$waited" -lt 150 ]; do sleep 1; waited=$((waited + 1)); done
  kill -CONT "$(apiserver_pid)"
  wait "$job" || rc=$?
  cat "$work/frozen.log"
  [ "$rc" != 0 ] || fail "frozen: the job succeeded with the API server frozen past its reconnect_timeout"
  [ "$waited" -lt 150 ] || fail "frozen: the job was still waiting after 150 s"
  grep -q 'lost the stream to Pod .* for [0-9]*s (reconnect_timeout 10s)' "$work/frozen.log" || fail "frozen: no message that the stream stayed lost"
  grep -q 'The playbook may still be running in the Pod: it stops there at job_timeout' "$work/frozen.log" \
    || fail "frozen: the message does not say the target may still run"
  grep -q 'kubectl get pod -n ' "$work/frozen.log" || fail "frozen: the message does not say how to check"
  grep -q 'the Pod could not be deleted' "$work/frozen.log" || fail "frozen: the message does not say the Pod was left"
  # The frozen API server missed the kubelet's heartbeats, so the node was marked NotReady
  # and tainted: wait until it takes Pods again (admin credentials, read only).
  wait_node_schedulable
  # The next job on this controller removes the Pod, whose controller process is gone.
  ansible-playbook ephemeral.container_groups.run -e container_group=job-ok \
    -e "playbook=$here/../container_group_job/files/project/quick.yml" > "$work/after.log" 2>&1 || { cat "$work/after.log"; fail "the next job failed"; }
  grep -q 'removing leftover Pod' "$work/after.log" || { cat "$work/after.log"; fail "the next job did not remove the left Pod"; }
  pods wait-gone job-ok 60 || fail "frozen: a Pod of job-ok is left after the next job"
}

wait_for_line() { # file pattern seconds
  local _
  for _ in $(seq 1 $(($3 * 10))); do grep -q "$2" "$1" && return 0; sleep 0.1; done
  cat "$1"; fail "no line matching $2 in $1 within $3 s"
}

scenario_api_unreachable_at_delete() {
  echo "== the API server unreachable for 20 s from just before the job deletes its Pod"
  ansible-playbook ephemeral.container_groups.run -e container_group=job-ok \
    -e "playbook=$here/files/project/last_words.yml" > "$work/delete.log" 2>&1 &
  local job=$!
  wait_for_line "$work/delete.log" '"msg": "MARKER-BEFORE-OUTAGE"' 120
  # The follow stream is already open, so the output still arrives; the target ends 3 s
  # later and the delete then meets a refused connection until the rule goes.
  iptables -I "${refuse_api_connections[@]}"
  sleep 20
  iptables -D "${refuse_api_connections[@]}"
  local rc=0
  wait "$job" || rc=$?
  cat "$work/delete.log"
  [ "$rc" = 0 ] || fail "delete: the job ended with rc $rc"
  [ "$(grep -c '"msg": "MARKER-LAST-LINE"' "$work/delete.log")" = 1 ] || fail "delete: the last line is not there once"
  grep -q 'cannot DELETE /api/v1/namespaces/.* yet (.*); trying again' "$work/delete.log" \
    || fail "delete: the job did not say it retried the delete"
  grep -qE 'API requests: [0-9]+ \([1-9][0-9]* retried' "$work/delete.log" || fail "delete: the result does not count the retries"
  grep -qE 'Pod [^ ]+ deleted' "$work/delete.log" || fail "delete: the job did not say the Pod was deleted"
  pods wait-gone job-ok 30 || fail "delete: a Pod of job-ok is left"
}

scenario_ctrl_c() {
  echo "== Ctrl-C while the target runs"
  # A process group of its own, as a terminal's foreground job: Ctrl-C signals the group.
  setsid ansible-playbook ephemeral.container_groups.run -e container_group=job-ok \
    -e "playbook=$here/files/project/sleeper.yml" > "$work/ctrl-c.log" 2>&1 &
  local job=$!
  wait_for_line "$work/ctrl-c.log" '"msg": "MARKER-SLEEPING"' 120
  sleep 1 # the sleep task's child process is up
  local pod
  pod=$(pods names job-ok)
  if [ -z "$pod" ] || [ "$(echo "$pod" | wc -l)" != 1 ]; then fail "ctrl-c: want one Pod of job-ok, found: $pod"; fi
  "$kubectl" --kubeconfig "$admin_kubeconfig" exec -i -n "$namespace" "$pod" -- python3 - \
    < "$here/files/target_watch.py" > "$work/watch.log" 2>&1 &
  local watcher=$!
  wait_for_line "$work/watch.log" '^watching [1-9]' 30
  local sent
  sent=$(date +%s.%N)
  kill -INT -- "-$job"
  wait "$watcher" || true
  cat "$work/watch.log"
  local gone
  gone=$(awk '$1 == "gone" {print $2}' "$work/watch.log")
  [ -n "$gone" ] || fail "ctrl-c: the Pod was deleted while the target's processes still ran (or they never ended)"
  python "$here/files/gone_after_sigint.py" "$sent" "$gone" || fail "ctrl-c: the target's processes took more than 5 s to go"
  local left
  left=$(python -c 'import sys, time; print(max(1, round(15 - (time.time() - float(sys.argv[1])))))' "$sent")
  pods wait-gone job-ok "$left" || fail "ctrl-c: the Pod was not gone within 15 s of SIGINT"
  local rc=0
  wait "$job" || rc=$?
  cat "$work/ctrl-c.log"
  [ "$rc" != 0 ] || fail "ctrl-c: the interrupted run exited 0"
}

scenario_queue_across_a_restart() {
  echo "== the API server killed while jobs wait in the queue of a group capped at two"
  rm -f "$work/stop"
  pods monitor job-limited "$work/stop" > "$work/most" &
  local monitor=$! i rc failed=0 jobs=()
  for i in 1 2 3 4; do
    ansible-playbook ephemeral.container_groups.run -e container_group=job-limited -e '{"extra_vars": {"sleep_seconds": 12}}' \
      -e "playbook=$here/../container_group_job/files/project/ok.yml" > "$work/queued-$i.log" 2>&1 &
    jobs+=($!)
  done
  for _ in $(seq 1 600); do
    [ "$(grep -l 'MARKER-START' "$work"/queued-*.log 2>/dev/null | wc -l)" -ge 2 ] \
      && [ "$(grep -l 'in line' "$work"/queued-*.log 2>/dev/null | wc -l)" -ge 1 ] && break
    sleep 0.2
  done
  grep -l 'in line' "$work"/queued-*.log > /dev/null || { cat "$work"/queued-*.log; fail "queue: no job waited in line"; }
  "$cluster" restart kube-apiserver --kill
  for i in 0 1 2 3; do
    rc=0
    wait "${jobs[$i]}" || rc=$?
    [ "$rc" = 0 ] || { failed=1; cat "$work/queued-$((i + 1)).log"; }
  done
  touch "$work/stop"
  wait "$monitor"
  local most waiting
  read -r most waiting < "$work/most"
  echo "most Pods of job-limited admitted at once: $most; most waiting: $waiting"
  [ "$failed" = 0 ] || fail "queue: a job waiting across the API server's restart failed"
  [ "$most" -le 2 ] || fail "queue: $most Pods were admitted at once with max_concurrent_jobs 2"
  pods wait-gone job-limited 30 || fail "queue: a Pod of job-limited is left"
}

run_with_fault "kube-apiserver-killed" kube-apiserver --kill
run_with_fault "kubelet-restarted" kubelet
scenario_quiet_target
scenario_api_frozen_past_the_budget
scenario_api_unreachable_at_delete
scenario_ctrl_c
scenario_queue_across_a_restart
echo "== all reconnect scenarios passed"
