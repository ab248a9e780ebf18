#!/usr/bin/env bash
# Job slicing (slices: 2) over an inventory of both SSH test hosts and one more host:
# - two Pods at once (watched); each host runs once, in the slice AWX would give it; stats
#   merged; output lines prefixed [i/2]; one record with the events of both slices;
# - a failing host fails the job, and the message names its slice;
# - in a group with max_concurrent_jobs: 1 the slices run one after the other, and
#   container_group_job_info lists one running and one queued meanwhile;
# - a sliced job followed from another process while its controller lives: every slice's
#   output to its end, its rc and merged stats;
# - SIGINT stops every slice and deletes every Pod, and the record says canceled.
# No `set -x`: the token must not be echoed.
# shellcheck source-path=SCRIPTDIR source=../setup_integration_config/files/job_target.sh
. ../setup_integration_config/files/job_target.sh
setting() { ../setup_integration_config/files/integration_config.sh "$1"; }
pods() { python "$here/../container_group_job/files/pods.py" "$config" "$@"; }
ssh_user=$(setting cg_test_ssh_user)
read -r -a ssh_hosts <<<"$(setting cg_test_ssh_hosts)"
[ "${#ssh_hosts[@]}" -ge 2 ] || fail "want two SSH test hosts, got: ${ssh_hosts[*]}"
cp "$(setting cg_test_ssh_key)" "$work/key" && chmod 600 "$work/key"
# Inventory order: ssh-1, ssh-2, pod-3. Host i goes to slice i mod 2: {ssh-1, pod-3} and {ssh-2}.
cat > "$work/inventory.ini" <<INI
ssh-1 ansible_host=${ssh_hosts[0]}
ssh-2 ansible_host=${ssh_hosts[1]}
pod-3 ansible_connection=local ansible_python_interpreter=auto_silent

[all:vars]
ansible_ssh_common_args=-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
INI
ansible-playbook -e "@$config" files/define.yml

job_args() { # group result extra-args...: the wrapper's command line, sliced in two, in the array JOB
  local group=$1 result=$2; shift 2
  JOB=(ansible-playbook "$here/../container_group_job/files/run_and_save.yml" -e "container_group=$group"
    -e "playbook=$here/files/project/hosts.yml" -e "inventory=$work/inventory.ini" -e slices=2
    -e "remote_user=$ssh_user" -e "private_key_file=$work/key" -e "result_file=$result" "$@")
}
job() { # group log result extra-args...: run it, its output in log, its result saved
  local group=$1 log=$2 result=$3; shift 3
  job_args "$group" "$result" "$@"
  "${JOB[@]}" > "$log" 2>&1
}
control() { # group action result [job_id]: container_group_job_info/cancel from a new controller process
  ansible-playbook ../job_control/files/control.yml -e "group=$1" -e "control_action=$2" -e "result_file=$3" ${4:+-e "job_id=$4"}
}
job_id_in() { sed -n 's/.*(job \([0-9a-f]*\)[,)].*/\1/p' "$1" | head -1; }
wait_for() { # log text: until the log has the text, up to 120 s
  for _ in $(seq 1 600); do grep -q -- "$2" "$1" && return 0; sleep 0.2; done
  cat "$1"; fail "$1 never said $2"
}
monitor() { # group stopfile out: the most Pods of the group seen admitted at once, in the background
  pods monitor "$1" "$2" > "$3" &
}

echo "== two slices at once: each host once, in its slice; stats merged; one record"
monitor sliced "$work/stop-1" "$work/most-1"
job sliced "$work/run.log" "$work/run.json" -e "events_file=$work/events.jsonl" -e "artifacts_dir=$work/artifacts" \
  || { cat "$work/run.log"; fail "the sliced job failed"; }
touch "$work/stop-1"; wait
cat "$work/run.log"
python files/check_slices.py "$work/run.json" "$work/run.log" "$work/events.jsonl" "$work/artifacts" ssh-1,pod-3 ssh-2 \
  || fail "the sliced job's result, output or record is wrong"
read -r most _waiting < "$work/most-1"
[ "$most" = 2 ] || fail "the two slices' Pods were not there at the same time (most at once: $most)"
for number in 1 2; do
  grep -q "(job [0-9a-f]*, slice $number/2)" "$work/run.log" || fail "slice $number's Pod was not announced with its job id"
done
pods wait-gone sliced 30 || fail "a Pod of the sliced job is left"

echo "== a failing host fails the job, naming its slice"
rc=0
job sliced "$work/fail.log" "$work/fail.json" -e '{"extra_vars": {"fail_hosts": "ssh-2"}}' || rc=$?
cat "$work/fail.log"
[ "$rc" != 0 ] || fail "a slice failed and the job did not"
grep -q "1 of 2 slices failed: slice 2/2 (Pod [^ ]*-2)" "$work/fail.log" || fail "the failure does not name slice 2/2"
grep -q '\[2/2\] .*MARKER-FAILED ssh-2' "$work/fail.log" || fail "the failing host's output is not there"
pods wait-gone sliced 30 || fail "a Pod of the failed job is left"

echo "== one slot: the slices run one after the other, one queued meanwhile"
monitor sliced-one "$work/stop-2" "$work/most-2"
job sliced-one "$work/one.log" "$work/one.json" -e '{"extra_vars": {"hold_seconds": 15}}' &
one=$!
wait_for "$work/one.log" "waiting for a slot"
wait_for "$work/one.log" "MARKER-HOST"
control sliced-one list "$work/one-list.json" > "$work/one-list.log" 2>&1 || { cat "$work/one-list.log"; fail "the listing failed"; }
python - "$work/one-list.json" "$(job_id_in "$work/one.log")" <<'PY' || fail "the listing of the one-slot job is wrong"
import json, sys
jobs = [job for job in json.load(open(sys.argv[1]))["jobs"] if job["job_id"] == sys.argv[2]]
print(json.dumps(jobs, sort_keys=True))
assert sorted((job["slice"], job["state"]) for job in jobs) in (
    [("1/2", "queued"), ("2/2", "running")], [("1/2", "running"), ("2/2", "queued")]), jobs
PY
wait "$one" || { cat "$work/one.log"; fail "the job in the one-slot group failed"; }
touch "$work/stop-2"; wait
cat "$work/one.log"
read -r most waiting < "$work/most-2"
[ "$most" = 1 ] || fail "more than one slice ran at once in a group of one slot (most at once: $most)"
[ "$waiting" -ge 1 ] || fail "no slice waited for the slot"
pods wait-gone sliced-one 30 || fail "a Pod of the one-slot job is left"

echo "== a sliced job followed from another process while its controller lives"
job sliced "$work/watched.log" "$work/watched.json" -e '{"extra_vars": {"hold_seconds": 10}}' &
watched=$!
wait_for "$work/watched.log" "slice 2/2); waiting for it to run"
control sliced follow "$work/follow.json" "$(job_id_in "$work/watched.log")" > "$work/follow.log" 2>&1 \
  || { cat "$work/follow.log"; fail "the follow failed"; }
wait "$watched" || { cat "$work/watched.log"; fail "the followed job failed"; }
cat "$work/follow.log"
for number in 1 2; do
  grep -q "^\[$number/2\] .*PLAY RECAP" "$work/follow.log" || fail "the follow did not show slice $number to its end"
done
python - "$work/follow.json" <<'PY' || fail "the follow's result is wrong"
import json, sys
result = json.load(open(sys.argv[1]))
assert result["rc"] == 0 and result["status"] == "successful", result
assert sorted(result["stats"]) == ["pod-3", "ssh-1", "ssh-2"], result["stats"]
assert result["pod_deleted"] is False, "the follower deleted a Pod its live controller owns"
PY
pods wait-gone sliced 30 || fail "a Pod of the followed job is left"

echo "== SIGINT stops every slice and deletes every Pod"
job_args sliced "$work/int.json" -e '{"extra_vars": {"hold_seconds": 300}}' -e "artifacts_dir=$work/artifacts-int"
# Its own process group, like a job started from a terminal.
setsid "${JOB[@]}" > "$work/int.log" 2>&1 &
pid=$!
for _ in $(seq 1 900); do
  [ "$(grep -c 'MARKER-HOST' "$work/int.log" || true)" -ge 2 ] && grep -q '^\[1/2\] .*MARKER-HOST' "$work/int.log" \
    && grep -q '^\[2/2\] .*MARKER-HOST' "$work/int.log" && break
  sleep 0.2
done
grep -q '^\[2/2\] .*MARKER-HOST' "$work/int.log" || { kill "$pid"; cat "$work/int.log"; fail "the slices never both ran"; }
kill -INT -- "-$pid"  # Ctrl-C: the terminal signals the whole foreground group
rc=0
wait "$pid" || rc=$?
cat "$work/int.log"
[ "$rc" != 0 ] || fail "the interrupted job succeeded"
pods wait-gone sliced 30 || fail "a Pod of the interrupted job is left"
record=$(find "$work/artifacts-int" -mindepth 1 -maxdepth 1 -type d)
[ "$(cat "$record/status")" = canceled ] || fail "the interrupted job's record says $(cat "$record/status"), not canceled"
if grep -q "MARKER-FAILED\|Traceback" "$work/int.log"; then fail "the interrupted job's output shows an error"; fi
echo "job slicing: all good"
