#!/usr/bin/env bash
# The wrapper end to end against the local cluster. Each scenario says what it checks.
# No `set -x`: the token must not be echoed.
set -eu
config=$(../setup_integration_config/files/integration_config.sh)
here=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CONTAINER_GROUPS_STATE_FILE="$work/state/container_groups.yml"
pods() { python "$here/files/pods.py" "$config" "$@"; }
kubectl="$(../setup_integration_config/files/integration_config.sh cg_cluster_script)"
kubectl="$("$kubectl" env | sed -n 's/^export CG_BIN_DIR=//p')/kubectl"
fail() { echo "FAILED: $*" >&2; exit 1; }
job_args() { # group playbook [more ansible-playbook args] -> the command in array JOB
  local group=$1 playbook=$2; shift 2
  JOB=(ansible-playbook ephemeral.container_groups.run -e "container_group=$group"
       -e "playbook=$here/files/project/$playbook" "$@")
}
run_job() { job_args "$@"; "${JOB[@]}"; }
expect_job_failure() { # group playbook log [more args]: the job must fail and leave no Pod of the group
  local group=$1 playbook=$2 log=$3; shift 3
  if run_job "$group" "$playbook" "$@" > "$log" 2>&1; then cat "$log"; fail "the wrapper succeeded for $group"; fi
  cat "$log"
  [ "$(pods count "$group")" = 0 ] || fail "a Pod of $group is left after the failure"
}

ansible-playbook -e "@$config" files/define.yml

scenario_success() {
  echo "== success: output streams to the terminal while the target runs, facts and file written, Pod gone"
  # Under a pseudo-terminal, as a person would run it (output to a file is block-buffered
  # by Python unless PYTHONUNBUFFERED=1; the README says so).
  printf -v cmd '%q ' env -u PYTHONUNBUFFERED ansible-playbook ephemeral.container_groups.run -e container_group=job-ok \
    -e "playbook=$here/files/project/ok.yml" -e '{"extra_vars": {"greeting": "hello"}}'
  script -qefc "$cmd" "$work/ok.log" > /dev/null &
  job=$!
  first_line_seen_while_running=no
  for _ in $(seq 1 600); do
    if grep -q MARKER-START "$work/ok.log"; then
      grep -q MARKER-END "$work/ok.log" || first_line_seen_while_running=yes
      break
    fi
    sleep 0.1
  done
  wait "$job" || { cat "$work/ok.log"; fail "the job failed"; }
  cat "$work/ok.log"
  [ "$first_line_seen_while_running" = yes ] || fail "the first line of the target did not arrive before it finished"
  grep -q 'greeting=hello' "$work/ok.log" || fail "extra_vars did not reach the target"
  grep -q 'MARKER-END fact=42' "$work/ok.log" || fail "the target's last task did not run"
  grep -q 'exit status: 0' "$work/ok.log" || fail "the summary does not show exit status 0"
  grep -qE 'recap: .*ok=6 .*failed=0' "$work/ok.log" || fail "the summary does not show the target's recap"
  [ "$(pods count job-ok)" = 0 ] || fail "a Pod of job-ok is left"
}

scenario_check_mode() {
  echo "== ansible-playbook --check: the wrapper says what it would run and creates no Pod"
  run_job job-ok ok.yml --check > "$work/check.log" 2>&1 || { cat "$work/check.log"; fail "the wrapper failed in check mode"; }
  cat "$work/check.log"
  grep -q 'check mode: would run .*ok.yml in a new Pod of container group' "$work/check.log" || fail "check mode said nothing of the job"
  grep -qE 'failed=0' "$work/check.log" || fail "check mode failed a task"
  [ "$(pods count job-ok)" = 0 ] || fail "check mode created a Pod"
}

scenario_failure() {
  echo "== a failing target fails the wrapper with its status, Pod gone"
  expect_job_failure job-ok fail.yml "$work/fail.log"
  grep -q 'MARKER-FAILING' "$work/fail.log" || fail "the target's failure was not shown"
  grep -q '(exit status 2)' "$work/fail.log" || fail "the target's exit status is not in the message"
}

scenario_timeout() {
  echo "== past job_timeout: the target is stopped in the Pod, the job says so, the events up to then are kept;"
  echo "   its record says timeout"
  expect_job_failure job-ok ok.yml "$work/timeout.log" -e job_timeout=8 -e "events_file=$work/timeout-events.jsonl" \
    -e '{"extra_vars": {"sleep_seconds": 120}}' -e "artifacts_dir=$work/artifacts"
  grep -q 'ran past job_timeout (8s) and was stopped' "$work/timeout.log" || fail "timeout: no job_timeout message"
  grep -q '"event": "runner_on_start"' "$work/timeout-events.jsonl" || fail "timeout: the events of what ran are not kept"
  local record
  record=$(ls -d "$work"/artifacts/*)
  if [ "$(cat "$record/status")" != timeout ] || [ "$(cat "$record/rc")" != 254 ]; then
    fail "timeout: the record says $(cat "$record/status") with rc $(cat "$record/rc" 2>/dev/null), not timeout with 254"
  fi
  grep -q 'MARKER-START' "$record/stdout" || fail "timeout: the record's stdout lacks what the target printed"
}

scenario_signals() {
  for sig in INT TERM; do
    echo "== SIG$sig mid-run: the Pod is gone within 15 s"
    job_args job-ok ok.yml -e '{"extra_vars": {"sleep_seconds": 120}}'
    # Its own process group, like a job started from a terminal.
    setsid "${JOB[@]}" > "$work/sig.log" 2>&1 &
    job=$!
    for _ in $(seq 1 600); do grep -q MARKER-START "$work/sig.log" && break; sleep 0.1; done
    grep -q MARKER-START "$work/sig.log" || { cat "$work/sig.log"; fail "the target never started"; }
    [ "$(pods count job-ok)" = 1 ] || fail "expected the job's Pod to exist mid-run"
    if [ "$sig" = INT ]; then
      kill -INT -- "-$job"  # Ctrl-C: the terminal signals the whole foreground group
    else
      kill -TERM "$job"     # kill(1): the ansible-playbook process alone
    fi
    pods wait-gone job-ok 15 || { cat "$work/sig.log"; fail "Pod still there 15 s after SIG$sig"; }
    if wait "$job"; then fail "the wrapper succeeded after SIG$sig"; fi
    cat "$work/sig.log"
  done
}

# Run it with no other job in the namespace: any later job there (rightly) removes the
# killed job's Pod at once, since its controller process is gone, before the deadline.
scenario_sigkill() {
  echo "== SIGKILL: the Pod ends by its deadline and the next run removes it"
  job_args job-ok ok.yml -e job_timeout=20 -e pending_timeout=5 -e '{"extra_vars": {"sleep_seconds": 300}}'
  "${JOB[@]}" > "$work/kill.log" 2>&1 &
  job=$!
  for _ in $(seq 1 600); do grep -q MARKER-START "$work/kill.log" && break; sleep 0.1; done
  # The whole controller dies at once: ansible-playbook and its workers.
  workers=$(pgrep -P "$job" || true)
  # shellcheck disable=SC2086
  kill -KILL "$job" $workers
  wait "$job" 2>/dev/null || true
  [ "$(pods count job-ok)" = 1 ] || fail "expected the killed job's Pod to be left behind"
  pods wait-phase job-ok Failed 120 || fail "the Pod did not end by its activeDeadlineSeconds"
  run_job job-ok quick.yml > "$work/next.log" 2>&1 || { cat "$work/next.log"; fail "the next job failed"; }
  cat "$work/next.log"
  grep -q 'removing leftover Pod' "$work/next.log" || fail "the next run did not remove the leftover Pod"
  [ "$(pods count job-ok)" = 0 ] || fail "Pods of job-ok are left after the next run"
}

scenario_noimage() {
  echo "== a missing image fails within 30 s naming the image, Pod gone"
  expect_job_failure job-noimage quick.yml "$work/noimage.log"
  # The job's own time (from its result), not ansible-playbook's start-up on a busy machine;
  # the point is failing fast instead of waiting out pending_timeout (300 s by default).
  elapsed=$(sed -n 's/.*"elapsed": \([0-9.]*\).*/\1/p' "$work/noimage.log" | head -1)
  python -c "import sys; sys.exit(0 if float('$elapsed') <= 30 else 1)" || fail "the job took ${elapsed} s to fail"
  grep -qE '(ErrImagePull|ImagePullBackOff) for image .*cg/does-not-exist:1' "$work/noimage.log" || fail "the message does not name the pull error and the image"
}

scenario_oom() {
  echo "== a playbook holding 256 MB in a 64 MiB container fails saying OOMKilled; keep_pod: on_failure keeps its Pod"
  expect_job_failure job-small oom.yml "$work/oom.log"
  grep -q '"pod_reason": "OOMKilled"' "$work/oom.log" || fail "the result does not give pod_reason OOMKilled"
  grep -qE 'OOM killer .*64 MiB|OOMKilled' "$work/oom.log" || fail "the message does not say OOMKilled"
  job_args job-small oom.yml -e keep_pod=on_failure
  if "${JOB[@]}" > "$work/oom-kept.log" 2>&1; then cat "$work/oom-kept.log"; fail "the kept job succeeded"; fi
  cat "$work/oom-kept.log"
  kept=$(pods names job-small)
  [ -n "$kept" ] || fail "keep_pod: on_failure did not keep the Pod"
  grep -q "Pod cg-test/$kept kept for inspection (keep_pod: on_failure) until its deadline" "$work/oom-kept.log" \
    || fail "the job did not say it kept the Pod"
  grep -q "kubectl -n cg-test delete pod $kept" "$work/oom-kept.log" || fail "the message does not say how to remove the Pod"
  grep -q '"pod_kept": true' "$work/oom-kept.log" || fail "the result does not say pod_kept"
  run_job job-small quick.yml > "$work/after-kept.log" 2>&1 || { cat "$work/after-kept.log"; fail "a job beside a kept Pod failed"; }
  if grep -q "removing leftover Pod cg-test/$kept" "$work/after-kept.log"; then fail "a later job removed the kept Pod"; fi
  pods delete job-small
  pods wait-gone job-small 60 || fail "the kept Pod could not be deleted"
}

scenario_links() {
  echo "== a project whose role and inventory are links inside it works; a link out of it fails naming the link, Pod gone"
  local project=$work/links
  mkdir -p "$project/shared/linked/tasks" "$project/roles"
  printf '%s\n' '- name: Say the linked role ran' '  ansible.builtin.debug:' '    msg: MARKER-LINKED-ROLE' \
    > "$project/shared/linked/tasks/main.yml"
  ln -s ../shared/linked "$project/roles/linked"
  printf '%s\n' '[pod]' 'localhost ansible_connection=local ansible_python_interpreter=auto_silent' > "$project/hosts"
  ln -s "$project/hosts" "$project/inventory.ini"
  printf '%s\n' '- name: A play with a linked role' '  hosts: pod' '  gather_facts: false' '  roles: [linked]' > "$project/site.yml"
  JOB=(ansible-playbook ephemeral.container_groups.run -e container_group=job-ok -e "playbook=$project/site.yml"
       -e inventory=inventory.ini)
  "${JOB[@]}" > "$work/links.log" 2>&1 || { cat "$work/links.log"; fail "the job with linked role and inventory failed"; }
  grep -q '"msg": "MARKER-LINKED-ROLE"' "$work/links.log" || { cat "$work/links.log"; fail "the linked role did not run"; }
  echo "kept out" > "$work/outside.txt"
  ln -s "$work/outside.txt" "$project/leak.txt"
  if "${JOB[@]}" > "$work/leak.log" 2>&1; then cat "$work/leak.log"; fail "a project with a link out of it was shipped"; fi
  cat "$work/leak.log"
  grep -q "$project/leak.txt is a symbolic link to $work/outside.txt, outside $project" "$work/leak.log" \
    || fail "the failure does not name the link and where it leads"
  [ "$(pods count job-ok)" = 0 ] || fail "a Pod of job-ok is left after the refused copy"
}

scenario_masking() {
  echo "== secrets in three forms (a multi-line job_env value, a become password with a quote and a backslash,"
  echo "   a secret_vars value), printed by the target as JSON and as YAML: none in the output, the result or the events"
  (umask 077; python "$here/files/masking.py" make "$work")
  local format
  for format in json yaml; do
    ansible-playbook "$here/files/run_and_save.yml" -v -e container_group=job-ok \
      -e "playbook=$here/files/project/print_secrets.yml" -e "@$work/secrets-$format.yml" \
      -e "events_file=$work/mask-$format.jsonl" -e "result_file=$work/mask-$format.json" > "$work/mask-$format.log" 2>&1 \
      || { cat "$work/mask-$format.log"; fail "the $format job failed"; }
    cat "$work/mask-$format.log"
    python "$here/files/masking.py" check "$work" "$work/mask-$format.log" "$work/mask-$format.json" "$work/mask-$format.jsonl" \
      || fail "a secret was shown ($format output), or the target did not get it"
    [ "$(grep -o '\*\*\*\*\*\*\*\*' "$work/mask-$format.log" | wc -l)" -ge 6 ] || fail "the $format output shows no masked values"
  done
}

scenario_home() {
  echo "== a playbook beside a home's credentials, state file and checkout: none is shipped, the job says so; the home itself is refused"
  local home=$work/home
  mkdir -p "$home/.ssh" "$home/.kube" "$home/.ansible" "$home/.git" "$home/roles/web/tasks"
  (umask 077; echo "PRIVATE-KEY-MARKER" > "$home/.ssh/id_ed25519"; echo "token: KUBE-MARKER" > "$home/.kube/config"
   cp "$CONTAINER_GROUPS_STATE_FILE" "$home/.ansible/container_groups.yml"
   cp "$CONTAINER_GROUPS_STATE_FILE" "$home/groups.yml")
  printf '%s\n' '[remote "origin"]' '  url = https://ci-token@git.example.com/site.git' > "$home/.git/config"
  echo "- ansible.builtin.debug: {msg: web}" > "$home/roles/web/tasks/main.yml"
  printf '%s\n' 'build/' > "$home/.containergroupignore"
  mkdir -p "$home/build" && echo "artifact" > "$home/build/out.bin"
  cp "$here/files/project/list_project.yml" "$home/site.yml"
  # The job's own state file is one in the home too: it is left out by its path.
  JOB=(ansible-playbook ephemeral.container_groups.run -v -e container_group=job-ok -e "playbook=$home/site.yml"
       -e "state_file=$home/groups.yml")
  "${JOB[@]}" > "$work/home.log" 2>&1 || { cat "$work/home.log"; fail "the job from a home-like directory failed"; }
  cat "$work/home.log"
  grep -q 'SHIPPED ./roles/web/tasks/main.yml' "$work/home.log" || fail "the project's own files did not arrive"
  if grep -E 'SHIPPED \./(\.ssh|\.kube|\.ansible/container_groups|groups\.yml|\.git|build)' "$work/home.log"; then
    fail "a credential, a state file, the checkout or an ignored path was shipped"
  fi
  if grep -e PRIVATE-KEY-MARKER -e KUBE-MARKER -e ci-token "$work/home.log"; then fail "a credential's content was shown"; fi
  grep -q "project copy of $home: left out .*\.ssh/.*credentials and the state file are never shipped" "$work/home.log" \
    || fail "the job did not say it left out the credentials"
  grep -qE "project copy of $home: [0-9]+ files, .*\.git/ \(include_git ships it\); build/ \(matched by \.containergroupignore\)" \
    "$work/home.log" || fail "the -v summary does not say what was left out and why"
  for pattern in '\.ssh/' '\.kube/' '\.ansible/container_groups\.yml' 'groups\.yml'; do
    grep -qE "left out .*$pattern" "$work/home.log" || fail "the job did not name $pattern among what it left out"
  done
  echo "-- project_dir set to the home itself (HOME=$home) is refused, before any Pod"
  if HOME=$home "${JOB[@]}" -e "project_dir=$home" > "$work/home-refused.log" 2>&1; then
    cat "$work/home-refused.log"; fail "a home directory was shipped as the project"
  fi
  cat "$work/home-refused.log"
  grep -q "project_dir $home is a home directory: the job ships its whole project directory into the Pod; .*give that as project_dir" \
    "$work/home-refused.log" || fail "the refusal does not say what to do"
  [ "$(pods count job-ok)" = 0 ] || fail "a Pod of job-ok is left"
}

scenario_unschedulable() {
  echo "== a request no node can meet is waited for up to pending_timeout, then fails with the scheduler's words, Pod gone"
  expect_job_failure job-huge quick.yml "$work/huge.log" -e pending_timeout=12
  grep -q 'is Unschedulable: .*Insufficient cpu.*Waiting up to' "$work/huge.log" || fail "the wait was not said with the scheduler's words"
  grep -q 'stuck Pending for [0-9]*s (pending_timeout 12s), last state: Unschedulable: .*Insufficient cpu' "$work/huge.log" \
    || fail "the failure does not give the scheduler's last words"
}

scenario_autoscaled() {
  echo "== a Pod no node fits yet runs once a node fits (the node gets the pool's label 20 s in, as an autoscaler adds a node)"
  local admin node unlabel
  admin=(--kubeconfig "$(../setup_integration_config/files/integration_config.sh cg_test_kubeconfig)")
  node=$("$kubectl" "${admin[@]}" get nodes -o jsonpath='{.items[0].metadata.name}')
  printf -v unlabel '%q ' "$kubectl" "${admin[@]}" label node "$node" container-groups.ephemeral.io/test-pool-
  # The label goes whatever happens (the trap runs when the function's locals are gone).
  # shellcheck disable=SC2064
  trap "$unlabel >/dev/null 2>&1 || :; rm -rf '$work'" EXIT
  run_job job-autoscaled quick.yml -e pending_timeout=120 > "$work/autoscaled.log" 2>&1 &
  local job=$! started=$SECONDS
  sleep 20
  "$kubectl" "${admin[@]}" label node "$node" container-groups.ephemeral.io/test-pool=autoscaled > /dev/null
  wait "$job" || { cat "$work/autoscaled.log"; fail "the job failed although a node came"; }
  cat "$work/autoscaled.log"
  grep -q "is Unschedulable: .*didn't match Pod's node affinity/selector" "$work/autoscaled.log" || fail "the wait was not said"
  grep -q '"msg": "MARKER-QUICK"' "$work/autoscaled.log" || fail "the target did not run"
  [ $((SECONDS - started)) -ge 20 ] || fail "the job ran before the node had its label"
  eval "$unlabel" > /dev/null
}

scenario_forbidden() {
  echo "== a namespace the token may not use: 403 explained"
  expect_job_failure job-forbidden quick.yml "$work/forbidden.log"
  grep -q '403' "$work/forbidden.log" || fail "the message does not say 403"
  # The first call the job makes there (listing leftovers, or creating the Pod) is refused.
  grep -qE 'cannot (list|create) resource \\?"pods\\?" in API group \\?"\\?" in the namespace \\?"cg-other' "$work/forbidden.log" || fail "the message does not give the API server's RBAC reason"
  grep -q "RBAC must grant" "$work/forbidden.log" || fail "the message does not say what RBAC must grant"
}

scenario_groups() {
  echo "== a list of two groups, the first full: the job runs in the second and leaves the first's queue"
  job_args job-limited ok.yml -e '{"extra_vars": {"sleep_seconds": 20}}'
  "${JOB[@]}" > "$work/holder-1.log" 2>&1 &
  holder1=$!
  "${JOB[@]}" > "$work/holder-2.log" 2>&1 &
  holder2=$!
  for _ in $(seq 1 300); do
    [ "$(grep -l 'MARKER-START' "$work"/holder-*.log 2>/dev/null | wc -l)" = 2 ] && break
    sleep 0.2
  done
  [ "$(grep -l 'MARKER-START' "$work"/holder-*.log | wc -l)" = 2 ] || { cat "$work"/holder-*.log; fail "the two jobs holding job-limited did not start"; }
  run_job job-limited,job-ok quick.yml > "$work/groups.log" 2>&1 || { cat "$work/groups.log"; fail "the job with a list of groups failed"; }
  cat "$work/groups.log"
  grep -q "waiting for a slot of container group 'job-limited': 1st in line (2 of max_concurrent_jobs 2 running)" "$work/groups.log" \
    || fail "the job did not say its place in the first group's queue"
  grep -q "leaves the queue of container group 'job-limited': the job runs in container group 'job-ok'" "$work/groups.log" \
    || fail "the job did not say it left the first group's queue"
  grep -q '"container group: job-ok"' "$work/groups.log" || fail "the job's summary does not say it ran in job-ok"
  [ "$(pods count job-limited)" = 2 ] || fail "the job's Pod in the full group's queue is left, or a holder is gone"
  wait "$holder1" || { cat "$work/holder-1.log"; fail "a job holding job-limited failed"; }
  wait "$holder2" || { cat "$work/holder-2.log"; fail "a job holding job-limited failed"; }
  [ "$(pods count job-ok)" = 0 ] || fail "a Pod of job-ok is left"
}

scenario_limit() {
  echo "== max_concurrent_jobs 2, four jobs at once: never more than 2 Pods admitted, the others in line, all succeed"
  rm -f "$work/stop"
  pods monitor job-limited "$work/stop" > "$work/most" &
  monitor=$!
  jobs=()
  for i in 1 2 3 4; do
    job_args job-limited ok.yml -e '{"extra_vars": {"sleep_seconds": 3}}'
    "${JOB[@]}" > "$work/limited-$i.log" 2>&1 &
    jobs+=($!)
  done
  failed=0
  for i in 0 1 2 3; do wait "${jobs[$i]}" || { failed=1; cat "$work/limited-$((i + 1)).log"; }; done
  touch "$work/stop"
  wait "$monitor"
  read -r most waiting < "$work/most"
  echo "most Pods of job-limited seen admitted at once: $most; most seen waiting in the queue: $waiting"
  [ "$failed" = 0 ] || fail "not all four limited jobs succeeded"
  [ "$most" -le 2 ] || fail "$most Pods were admitted at once with max_concurrent_jobs 2"
  [ "$most" -ge 1 ] || fail "the monitor never saw a Pod"
  [ "$waiting" -ge 1 ] || fail "the monitor never saw a Pod waiting in the queue (SchedulingGated)"
  grep -lE "waiting for a slot of container group 'job-limited': [0-9]+(st|nd|rd|th) in line" "$work"/limited-*.log >/dev/null \
    || fail "no job said its place in line"
  [ "$(pods count job-limited)" = 0 ] || fail "Pods of job-limited are left"
}

# Scenarios read logs while jobs run, so Python must not buffer them (as for any CI log);
# the streaming scenario runs under a pseudo-terminal without it, as a person would.
export PYTHONUNBUFFERED=1
# CG_JOB_SCENARIOS="noimage limit" runs a subset when runme.sh is run by hand (ansible-test
# does not pass the variable through); all by default.
for scenario in ${CG_JOB_SCENARIOS:-success check_mode failure timeout signals sigkill noimage oom links masking home unschedulable autoscaled forbidden groups limit}; do
  "scenario_$scenario"
done
echo "all wrapper scenarios passed"
