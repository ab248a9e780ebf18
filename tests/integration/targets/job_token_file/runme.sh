#!/usr/bin/env bash
# A credential with bearer_token_file: the token is not in the state file and a job runs; the
# file then holds a token the API server rejects, and the next job fails with a 401; then a
# new token (a TokenRequest for the same service account), and the next job runs.
# No `set -x`: the tokens must not be echoed.
set -eu
config=$(../setup_integration_config/files/integration_config.sh)
setting() { ../setup_integration_config/files/integration_config.sh "$1"; }
cluster=$(setting cg_cluster_script)
kubectl="$("$cluster" env | sed -n 's/^export CG_BIN_DIR=//p')/kubectl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
export CONTAINER_GROUPS_STATE_FILE="$work/state/container_groups.yml" PYTHONUNBUFFERED=1 ANSIBLE_NOCOLOR=1
fail() { echo "FAILED: $*" >&2; exit 1; }
quick=../container_group_job/files/project/quick.yml
run_job() { ansible-playbook ephemeral.container_groups.run -e container_group=job-token-file -e "playbook=$quick" > "$1" 2>&1; }
(umask 077; setting cg_test_token > "$work/token")

ansible-playbook define.yml -e "@$config" -e "token_file=$work/token"
if grep -qF -f "$work/token" "$CONTAINER_GROUPS_STATE_FILE"; then fail "the token is in the state file"; fi

echo "== a job with the token from the file"
run_job "$work/first.log" || { cat "$work/first.log"; fail "the first job failed"; }
grep -q '"msg": "MARKER-QUICK"' "$work/first.log" || fail "the first job's target did not run"

echo "== the file now holds a token the API server rejects: the next job fails with a 401"
echo "not-a-valid-token" > "$work/token"
if run_job "$work/rejected.log"; then cat "$work/rejected.log"; fail "a job ran with a rejected token"; fi
cat "$work/rejected.log"
grep -q "rejected the credentials (401 Unauthorized)" "$work/rejected.log" || fail "no 401 message"

echo "== a new token for the same service account: the next job runs"
"$kubectl" --kubeconfig "$(setting cg_test_kubeconfig)" -n "$(setting cg_test_namespace)" \
  create token cg-runner --duration 10m > "$work/token.new"
mv "$work/token.new" "$work/token"
run_job "$work/rotated.log" || { cat "$work/rotated.log"; fail "the job after the rotation failed"; }
grep -q '"msg": "MARKER-QUICK"' "$work/rotated.log" || fail "the rotated job's target did not run"
if grep -qF -f "$work/token" "$work/first.log" "$work/rotated.log" "$CONTAINER_GROUPS_STATE_FILE"; then
  fail "a token appears in the output or the state file"
fi
echo "== all token-file scenarios passed"
