#!/usr/bin/env bash
# Admission's refusals, each with its own message, and a full quota waited for:
# - Pod Security: a group that sets only the image and the namespace runs in a namespace that
#   enforces restricted (the job's defaults meet it); one whose container asks for privilege
#   escalation (kept as set) fails naming the level and the fields to set;
# - become inside the Pod: refused by the defaults (sudo: "no new privileges"), and works once
#   the override allows escalation and keeps the capabilities;
# - RBAC: a namespace the token may not use fails saying which verb is missing;
# - ResourceQuota: with room for one Pod, a second job says it waits for room, and runs
#   once the first job's Pod is gone;
# - container_group with validate=server: an invalid quantity and a Pod Security violation
#   are refused in the server's words and not stored; a good group is stored; no Pod is made.
# No `set -x`: the token must not be echoed.
# shellcheck source-path=SCRIPTDIR source=../setup_integration_config/files/job_target.sh
. ../setup_integration_config/files/job_target.sh
pods_left() { python "$here/../container_group_job/files/pods.py" "$config" count val-ok; }
run_job() { # group playbook log
  ansible-playbook ephemeral.container_groups.run -e "container_group=$1" -e "playbook=$here/files/project/$2" > "$3" 2>&1
}
ansible-playbook -e "@$config" files/define.yml

echo "== Pod Security restricted: a group with only the image and the namespace runs"
run_job adm-restricted hold.yml "$work/restricted.log" || { cat "$work/restricted.log"; fail "the job in the restricted namespace failed"; }
grep -q '"msg": "MARKER-HOLDING"' "$work/restricted.log" || { cat "$work/restricted.log"; fail "restricted: the target did not run"; }

echo "== Pod Security: a violation the user set, refused naming the level and the fields to set"
if run_job adm-escalating hold.yml "$work/escalating.log"; then cat "$work/escalating.log"; fail "the escalating job ran"; fi
cat "$work/escalating.log"
# The message is in the task's JSON result, its quotes escaped.
grep -q 'cannot create Pod cg-restricted/cg-adm-escalating-[a-z0-9]*: Pod Security admission refused the Pod: the namespace enforces the \\"restricted\\" level' \
  "$work/escalating.log" || fail "escalating: no Pod Security message"
grep -q 'must set .*securityContext.allowPrivilegeEscalation=false' "$work/escalating.log" || fail "escalating: the field to set is not named"
if grep -q 'RBAC must grant' "$work/escalating.log"; then fail "escalating: told as an RBAC denial"; fi

echo "== become inside the Pod: refused by the restricted defaults, allowed by the override"
if run_job adm-become-default become.yml "$work/become-default.log"; then cat "$work/become-default.log"; fail "become worked under the defaults"; fi
grep -q 'sudo: The "no new privileges" flag is set' "$work/become-default.log" || { cat "$work/become-default.log"; fail "become: not refused for no_new_privs"; }
run_job adm-become-allowed become.yml "$work/become-allowed.log" || { cat "$work/become-allowed.log"; fail "become failed with escalation allowed"; }
grep -q '"msg": "MARKER-BECAME 0"' "$work/become-allowed.log" || { cat "$work/become-allowed.log"; fail "become did not make the task root"; }

echo "== RBAC: the verb that is missing"
if run_job adm-forbidden hold.yml "$work/forbidden.log"; then cat "$work/forbidden.log"; fail "the forbidden job ran"; fi
cat "$work/forbidden.log"
grep -q "permission denied (403 Forbidden): the credentials may not list pods in namespace \\\\\"cg-other\\\\\"; RBAC must grant 'list'" \
  "$work/forbidden.log" || fail "forbidden: no RBAC message"
if grep -q 'Pod Security\|ResourceQuota' "$work/forbidden.log"; then fail "forbidden: told as something else"; fi

echo "== ResourceQuota of one Pod, two jobs: the second waits for room, then runs"
run_job adm-quota hold.yml "$work/first.log" &
first=$!
for _ in $(seq 1 600); do grep -q '"msg": "MARKER-HOLDING"' "$work/first.log" && break; sleep 0.1; done
grep -q '"msg": "MARKER-HOLDING"' "$work/first.log" || { wait "$first" || true; cat "$work/first.log"; fail "the first job never began"; }
rc=0
run_job adm-quota hold.yml "$work/second.log" || rc=$?
wait "$first" || { cat "$work/first.log"; fail "the first quota job failed"; }
cat "$work/second.log"
[ "$rc" = 0 ] || fail "the second quota job failed (rc $rc)"
grep -q "no room for the job's Pod in namespace cg-quota: ResourceQuota \"one-pod\" (requested: pods=1, used: pods=1, limited: pods=1) is full; waiting for room" \
  "$work/second.log" || fail "quota: the second job did not say it waits for room"
[ "$(grep -c 'no room for the job' "$work/second.log")" = 1 ] || fail "quota: the waiting is said more than once"
grep -q '"msg": "MARKER-HOLDING"' "$work/second.log" || fail "quota: the second job's target did not run"
echo "== validate=server: the API server's refusals when the group is defined, the state file unchanged"
ansible-playbook -e "@$config" files/validate.yml > "$work/validate.log" 2>&1 || { cat "$work/validate.log"; fail "validate=server"; }
cat "$work/validate.log"
[ "$(pods_left)" = 0 ] || fail "validate=server left a Pod"
echo "== all admission scenarios passed"
