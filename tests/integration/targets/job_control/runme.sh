#!/usr/bin/env bash
# Jobs seen, followed and canceled from anywhere:
# - two jobs whose controllers are killed with SIGKILL (each controller's whole PID
#   namespace, so no clean-up runs): container_group_job_info from a new process lists both
#   as running, their owners not alive; follow shows the first one's output to its end and
#   returns its rc and stats; the second is canceled by id: its playbook's processes are
#   gone within 5 s and its Pod within 15 s;
# - a job whose controller lives is canceled from another process: that controller reports
#   it canceled (its record's status is canceled) and deletes the Pod itself.
# No `set -x`: the token must not be echoed.
# shellcheck source-path=SCRIPTDIR source=../setup_integration_config/files/job_target.sh
. ../setup_integration_config/files/job_target.sh
setting() { ../setup_integration_config/files/integration_config.sh "$1"; }
pods() { python "$here/../container_group_job/files/pods.py" "$config" "$@"; }
kubectl="$("$(setting cg_cluster_script)" env | sed -n 's/^export CG_BIN_DIR=//p')/kubectl"
admin=(--kubeconfig "$(setting cg_test_kubeconfig)" -n "$(setting cg_test_namespace)")
[ "$(readlink /proc/self/ns/pid)" = "pid:[4026531836]" ] || fail "this target runs in the initial PID namespace"
job_cmd() { # count_to [more args]: the wrapper's command line for count.yml, in the array JOB
  local count_to=$1; shift
  JOB=(ansible-playbook ephemeral.container_groups.run -e container_group=control
    -e "playbook=$here/files/project/count.yml" -e "{\"extra_vars\": {\"count_to\": $count_to}}" "$@")
}
wait_for() { # log text: until the log has the text (a job's output), up to 120 s
  for _ in $(seq 1 600); do grep -q -- "$2" "$1" && return 0; sleep 0.2; done
  cat "$1"; fail "$1 never said $2"
}
job_id_in() { sed -n 's/.*(job \([0-9a-f]*\)); waiting for it to run.*/\1/p' "$1" | head -1; }
pod_in() { sed -n 's/^Pod [^ ]*\/\([^ ]*\) created for .*/\1/p' "$1" | head -1; }
control() { # action result [job_id]: container_group_job_info/cancel from a new controller process
  ansible-playbook files/control.yml -e "control_action=$1" -e "result_file=$2" ${3:+-e "job_id=$3"}
}
playbook_processes() { # pod: how many ansible-playbook processes run in it (0 once it is gone)
  # shellcheck disable=SC2016  # expanded in the Pod
  "$kubectl" "${admin[@]}" exec "$1" -- sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " < "$f" 2>/dev/null; echo; done' \
    2>/dev/null | grep -c '^[^ ]*python[^ ]* [^ ]*ansible-playbook' || true
}
now() { date +%s.%N; }
# Each controller started here runs in a process group of its own, all killed at the end
# whatever happens, so that a failed run leaves no controller running on.
groups=()
# shellcheck disable=SC2329  # run by the trap
stop_all() { for group in "${groups[@]}"; do kill -KILL -- "-$group" 2>/dev/null || true; done; rm -rf "$work"; }
trap stop_all EXIT
elapsed() { python -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$1" "$2"; }

ansible-playbook -e "@$config" files/define.yml
pods delete control  # a run cut short before this one may have left its jobs
pods wait-gone control 30 || fail "the Pods of an earlier run are still there"

echo "== two jobs whose controllers are killed with SIGKILL"
job_cmd 25
setsid unshare -p -f --mount-proc "${JOB[@]}" > "$work/a.log" 2>&1 &
a_unshare=$! && groups+=("$a_unshare")
job_cmd 600
setsid unshare -p -f --mount-proc "${JOB[@]}" > "$work/b.log" 2>&1 &
b_unshare=$! && groups+=("$b_unshare")
wait_for "$work/a.log" COUNT-3
wait_for "$work/b.log" COUNT-3
a_id=$(job_id_in "$work/a.log") b_id=$(job_id_in "$work/b.log") b_pod=$(pod_in "$work/b.log")
if [ -z "$a_id" ] || [ -z "$b_id" ] || [ -z "$b_pod" ]; then fail "the jobs did not say their ids and Pods"; fi
for unshared in "$a_unshare" "$b_unshare"; do
  kill -KILL "$(pgrep -P "$unshared")"  # the namespace's init: every process of that controller dies
  wait "$unshared" || true
done
if grep -q "deleted" "$work/a.log" "$work/b.log"; then fail "a killed controller cleaned up"; fi
echo "job $a_id (counts to 25) and job $b_id (counts to 600) left without their controllers"

echo "-- container_group_job_info from a new process lists both, running, their owners gone"
control list "$work/list.json" > "$work/list.log" 2>&1 || { cat "$work/list.log"; fail "container_group_job_info failed"; }
python - "$work/list.json" "$a_id" "$b_id" <<'PY' || fail "the listing is wrong"
import json, sys
result, ids = json.load(open(sys.argv[1])), sys.argv[2:]
jobs = {job["job_id"]: job for job in result["jobs"]}
assert set(ids) <= set(jobs), (ids, sorted(jobs))
for job_id in ids:
    job = jobs[job_id]
    print(json.dumps(job, sort_keys=True))
    assert job["state"] == "running", job
    assert job["owner_alive"] is False, job
    assert job["playbook"] == "count.yml" and job["slice"] is None, job
    assert job["node"] and job["started"] and job["created"] and job["controller"], job
    assert job["rc"] is None and job["canceled_by"] is None and job["output_bytes"] > 0, job
PY

echo "-- follow shows the first job's output to its end, and returns its rc and stats"
control follow "$work/follow.json" "$a_id" > "$work/follow.log" 2>&1 || { cat "$work/follow.log"; fail "the follow failed"; }
cat "$work/follow.log"
for said in 'item=COUNT-25)' MARKER-DONE; do grep -q "$said" "$work/follow.log" || fail "the follow did not show $said"; done
python - "$work/follow.json" <<'PY' || fail "the follow's result is wrong"
import json, sys
result = json.load(open(sys.argv[1]))
assert result["rc"] == 0 and result["status"] == "successful", result
assert result["stats"]["localhost"]["ok"] == 3 and result["stats"]["localhost"]["changed"] == 0, result["stats"]
assert result["recap"] and result["recap"][0].startswith("localhost"), result["recap"]
assert result["pod_deleted"] is True, "the ended job's Pod, its controller gone, was not deleted"
PY

echo "-- the second job is canceled by id: its processes go within 5 s, its Pod within 15 s"
[ "$(playbook_processes "$b_pod")" -ge 1 ] || fail "no ansible-playbook runs in $b_pod before the cancel"
control cancel "$work/cancel.json" "$b_id" > "$work/cancel.log" 2>&1 &
cancel=$!
wait_for "$work/cancel.log" "TASK \[Cancel a job\]"
asked=$(now)
while [ "$(playbook_processes "$b_pod")" != 0 ]; do sleep 0.2; done
stopped=$(now)
pods wait-gone control 30 || fail "the canceled job's Pod is left"
gone=$(now)
wait "$cancel" || { cat "$work/cancel.log"; fail "container_group_job_cancel failed"; }
cat "$work/cancel.log"
echo "processes gone after $(elapsed "$asked" "$stopped") s, the Pod after $(elapsed "$asked" "$gone") s"
python -c "import sys; sys.exit(not float(sys.argv[1]) <= 5)" "$(elapsed "$asked" "$stopped")" || fail "the processes outlived 5 s"
python -c "import sys; sys.exit(not float(sys.argv[1]) <= 15)" "$(elapsed "$asked" "$gone")" || fail "the Pod outlived 15 s"
python - "$work/cancel.json" "$b_pod" <<'PY' || fail "the cancel's result is wrong"
import json, sys
result = json.load(open(sys.argv[1]))
assert result["changed"] and [pod["pod_name"] for pod in result["pods"]] == [sys.argv[2]], result
assert result["pods"][0]["stopped"] in ("stopped", "killed"), result
assert result["pods"][0]["owner_alive"] is False and result["pods"][0]["deleted_by"] == "this cancel", result
PY
rc=0
control cancel "$work/again.json" "$b_id" > "$work/again.log" 2>&1 || rc=$?
if [ "$rc" = 0 ] || ! grep -q "no job $b_id in container group 'control'" "$work/again.log"; then
  cat "$work/again.log"; fail "cancelling a job that is gone did not fail saying so"
fi

echo "== a job whose controller lives, canceled from another process: it reports itself canceled"
job_cmd 600 -e "artifacts_dir=$work/artifacts"
setsid "${JOB[@]}" > "$work/c.log" 2>&1 &
c_job=$! && groups+=("$c_job")
wait_for "$work/c.log" COUNT-2
c_id=$(job_id_in "$work/c.log")
control cancel "$work/cancel-c.json" "$c_id" > "$work/cancel-c.log" 2>&1 || { cat "$work/cancel-c.log"; fail "the cancel failed"; }
rc=0
wait "$c_job" || rc=$?
cat "$work/c.log"
[ "$rc" != 0 ] || fail "the canceled job succeeded"
grep -q "the job was canceled by container_group_job_cancel from .* (pid [0-9]*)" "$work/c.log" || fail "the job's controller did not report it canceled"
[ "$(cat "$work/artifacts/$c_id/status")" = canceled ] || fail "the record says $(cat "$work/artifacts/$c_id/status"), not canceled"
python - "$work/cancel-c.json" <<'PY' || fail "the cancel's result is wrong"
import json, sys
result = json.load(open(sys.argv[1]))
assert result["pods"][0]["owner_alive"] is True and result["pods"][0]["deleted_by"] == "its controller", result
PY
pods wait-gone control 30 || fail "a Pod of control is left"
echo "job control: all good"
