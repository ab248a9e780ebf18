#!/usr/bin/env bash
# The EE image behind the local registry's login (htpasswd):
# - a group with image_pull_credential: the job pulls it (imagePullPolicy Always) through the
#   Secret it made, a dockerconfigjson owned by the Pod while the job runs; afterwards neither
#   the Secret nor the Pod remains, and the password is not in the output;
# - the same group without the credential: the Pod cannot pull, and the job says so;
# - Ctrl-C mid-run: the Pod and the Secret are gone within 15 s;
# - the controller killed (SIGKILL) mid-run: the Secret stays with its Pod; the next job
#   removes the Pod, and Kubernetes' garbage collector the Secret with it;
# - with the credential where RBAC allows no Secrets: the job fails naming what it needs, and
#   leaves nothing.
# No `set -x`: the registry password must not be echoed.
set -eu
config=$(../setup_integration_config/files/integration_config.sh)
setting() { ../setup_integration_config/files/integration_config.sh "$1"; }
here=$(pwd)
cluster=$(setting cg_cluster_script)
kubectl="$("$cluster" env | sed -n 's/^export CG_BIN_DIR=//p')/kubectl"
admin=(--kubeconfig "$(setting cg_test_kubeconfig)" -n "$(setting cg_test_pull_namespace)")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
export CONTAINER_GROUPS_STATE_FILE="$work/state/container_groups.yml" PYTHONUNBUFFERED=1 ANSIBLE_NOCOLOR=1
fail() { echo "FAILED: $*" >&2; exit 1; }
(umask 077; setting cg_test_auth_registry_password > "$work/password")
run_job() { # group log [extra args...]
  local group=$1 log=$2; shift 2
  ansible-playbook ephemeral.container_groups.run -e "container_group=$group" -e "playbook=$here/files/hold.yml" "$@" > "$log" 2>&1
}
ours=app.kubernetes.io/managed-by=ephemeral.container_groups
left() { "$kubectl" "${admin[@]}" get secrets,pods -l "$ours" -o name; }
wait_nothing_left() { # seconds: until no Secret or Pod of ours is left in the namespace
  local end=$((SECONDS + $1))
  while [ -n "$(left)" ]; do (( SECONDS < end )) || return 1; sleep 0.5; done
}
wait_marker() { # log
  for _ in $(seq 1 600); do grep -q '"msg": "MARKER-PULLED"' "$1" && return 0; sleep 0.1; done
  cat "$1"; fail "the target never began"
}

ansible-playbook -e "@$config" define.yml > "$work/define.log" 2>&1 || { cat "$work/define.log"; fail "defining the groups failed"; }
if grep -qF -f "$work/password" "$work/define.log"; then fail "the registry password is in the output"; fi

echo "== pulled through the job's Secret, owned by the Pod; nothing left after"
run_job pull-ok "$work/ok.log" &
job=$!
for _ in $(seq 1 600); do grep -q '"msg": "MARKER-PULLED"' "$work/ok.log" && break; sleep 0.1; done
"$kubectl" "${admin[@]}" get secrets -l "$ours" -o json > "$work/secrets.json"
"$kubectl" "${admin[@]}" get pods -l "$ours" -o json > "$work/pods.json"
rc=0; wait "$job" || rc=$?
cat "$work/ok.log"
[ "$rc" = 0 ] || fail "the job with the pull credential failed (rc $rc)"
grep -q '"msg": "MARKER-PULLED"' "$work/ok.log" || fail "the target did not run"
python "$here/files/check_pull_secret.py" "$work/secrets.json" "$work/pods.json" "$(setting cg_test_auth_registry)" \
  || fail "the Secret is not the Pod's pull Secret"
[ -z "$(left)" ] || fail "a Secret or Pod is left: $(left)"
if grep -qF -f "$work/password" "$work/ok.log"; then fail "the registry password is in the job's output"; fi

echo "== Ctrl-C mid-run: the Pod and the Secret are gone within 15 s"
setsid ansible-playbook ephemeral.container_groups.run -e container_group=pull-ok -e "playbook=$here/files/hold.yml" \
  -e '{"extra_vars": {"hold_seconds": 120}}' > "$work/int.log" 2>&1 &
job=$!
wait_marker "$work/int.log"
kill -INT -- "-$job"
wait_nothing_left 15 || { cat "$work/int.log"; fail "left 15 s after Ctrl-C: $(left)"; }
if wait "$job"; then fail "the job succeeded after Ctrl-C"; fi

echo "== SIGKILL mid-run: the Secret stays with its Pod; the next job removes the Pod, the garbage collector the Secret"
ansible-playbook ephemeral.container_groups.run -e container_group=pull-ok -e "playbook=$here/files/hold.yml" \
  -e '{"extra_vars": {"hold_seconds": 120}}' > "$work/kill.log" 2>&1 &
job=$!
wait_marker "$work/kill.log"
workers=$(pgrep -P "$job" || true)
# shellcheck disable=SC2086
kill -KILL "$job" $workers
wait "$job" 2>/dev/null || true
[ "$(left | grep -c '^secret/')" = 1 ] || fail "the killed job's Secret should stay while its Pod does: $(left)"
run_job pull-ok "$work/next.log" || { cat "$work/next.log"; fail "the job after the killed one failed"; }
grep -q "removing leftover Pod $(setting cg_test_pull_namespace)/cg-pull-ok-" "$work/next.log" || { cat "$work/next.log"; fail "the next job did not remove the killed job's Pod"; }
wait_nothing_left 30 || fail "the killed job's Secret outlived its Pod by 30 s: $(left)"

echo "== without the credential: the Pod cannot pull, and the job says so"
if run_job pull-anonymous "$work/anonymous.log"; then cat "$work/anonymous.log"; fail "a job pulled the private image without a login"; fi
cat "$work/anonymous.log"
grep -q "cannot start: \(ErrImagePull\|ImagePullBackOff\) for image $(setting cg_test_auth_registry)/" "$work/anonymous.log" \
  || fail "no pull failure message"
[ -z "$(left)" ] || fail "the anonymous job left something: $(left)"

echo "== where RBAC allows no Secrets: a clear failure, nothing left"
if run_job pull-no-rbac "$work/no-rbac.log"; then cat "$work/no-rbac.log"; fail "a job made a Secret without RBAC for it"; fi
cat "$work/no-rbac.log"
# Its first call on Secrets is the list of leftovers.
grep -q "cannot list the image pull Secrets in namespace $(setting cg_test_namespace): permission denied (403 Forbidden)" "$work/no-rbac.log" \
  || fail "no RBAC message for the Secrets"
grep -q "needs create, patch, list and delete on secrets" "$work/no-rbac.log" || fail "the RBAC it needs is not named"
[ "$(python "$here/../container_group_job/files/pods.py" "$config" count pull-no-rbac)" = 0 ] || fail "the RBAC failure left a Pod"
echo "== all image pull scenarios passed"
