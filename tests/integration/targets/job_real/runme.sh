#!/usr/bin/env bash
# Real jobs against the local cluster's SSH test hosts (cluster.sh starts them):
# - a check run first: every host would change, nothing is changed;
# - the run from a controller-side inventory directory with group_vars (one file vaulted),
#   as the test user with a passphrase-protected key, become with the sudo password, a
#   job_env variable: every host is changed as asked; stats right per host; the events in
#   order, the last playbook_on_stats matching the stats;
# - the secrets (key passphrase, sudo password, vault password, job_env value, the key
#   itself) looked for and not found: in the Pod spec and every /proc/*/cmdline of the Pod
#   and of the controller while the job runs, in the -vvvv output, in the events file;
# - a wrong key fails with the target's unreachable message, a wrong vault password with
#   ansible's decryption error; neither leaves a Pod;
# - the job's record (artifacts_dir) read by ansible-runner's own reader, set_stats artifacts,
#   facts kept between two jobs (fact_cache_dir), the playbook artifact replayed by
#   ansible-navigator.
# No `set -x`: the secrets must not be echoed.
set -eu
config=$(../setup_integration_config/files/integration_config.sh)
setting() { ../setup_integration_config/files/integration_config.sh "$1"; }
here=$(pwd)
cluster=$(setting cg_cluster_script)
kubectl="$("$cluster" env | sed -n 's/^export CG_BIN_DIR=//p')/kubectl"
admin=(--kubeconfig "$(setting cg_test_kubeconfig)" -n "$(setting cg_test_namespace)")
ssh_user=$(setting cg_test_ssh_user)
read -r -a ssh_hosts <<<"$(setting cg_test_ssh_hosts)"
[ "${#ssh_hosts[@]}" -ge 2 ] || { echo "FAILED: want two SSH test hosts, got: ${ssh_hosts[*]}" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
export CONTAINER_GROUPS_STATE_FILE="$work/state/container_groups.yml" PYTHONUNBUFFERED=1 ANSIBLE_NOCOLOR=1
pods() { python "$here/../container_group_job/files/pods.py" "$config" "$@"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
# 24 random URL-safe characters (18 random bytes in base64), as secrets.token_urlsafe(18).
random() { head -c 18 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='; }
# The secrets, and a file listing them for grep -f (never on a command line).
passphrase=$(random) vault_password=$(random) token=$(random) vault_word=$(random)
cp "$(setting cg_test_ssh_key)" "$work/key" && chmod 600 "$work/key"
# A passphrase-protected copy of the test key (the passphrase is on ssh-keygen's command
# line for a moment, before any job runs; the checks below look at the job's processes).
ssh-keygen -q -p -f "$work/key" -P "" -N "$passphrase" </dev/null
printf '%s\n' "$vault_password" > "$work/vault-pass"
become_password=$(setting cg_test_ssh_become_password)
umask 077
printf '%s\n' "$passphrase" "$vault_password" "$token" "$become_password" > "$work/secrets.txt"
grep -v -e '^-----' -e '^$' "$work/key" >> "$work/secrets.txt"
cat > "$work/secrets.yml" <<YML
private_key_passphrase: "$passphrase"
become_password: "$become_password"
job_env:
  CG_JOB_TOKEN: "$token"
YML
umask 022

# The controller's inventory: a directory with a hosts file and group_vars, one file vaulted.
mkdir -p "$work/inventory/group_vars/web"
{ echo "[web]"; i=0; for ip in "${ssh_hosts[@]}"; do i=$((i + 1)); echo "ssh-$i ansible_host=$ip"; done; } > "$work/inventory/hosts"
cat > "$work/inventory/group_vars/web/vars.yml" <<'YML'
greeting: hello-from-group-vars
ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
YML
printf 'vault_word: "%s"\n' "$vault_word" > "$work/inventory/group_vars/web/vault.yml"
ansible-vault encrypt --vault-id "prod@$work/vault-pass" "$work/inventory/group_vars/web/vault.yml" >/dev/null
host_names=(); for i in $(seq 1 "${#ssh_hosts[@]}"); do host_names+=("ssh-$i"); done

ansible-playbook -e "@$config" ../container_group_job/files/define.yml

on_host() { # ip command: run it on an SSH test host, straight from the controller
  ssh -q -i "$(setting cg_test_ssh_key)" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    "$ssh_user@$1" "$2"
}
# A run before this one (on the same cluster) left its file: sudo reads the password on stdin.
for ip in "${ssh_hosts[@]}"; do
  on_host "$ip" "sudo -S -p '' rm -f /etc/cg-configured" <<<"$become_password" || fail "cannot clean $ip up"
done

job() { # log result extra-args...: the wrapper with the job's credentials, its result saved
  local log=$1 result=$2; shift 2
  ansible-playbook "$here/../container_group_job/files/run_and_save.yml" -e container_group=job-ok \
    -e "playbook=$here/files/project/configure.yml" -e "inventory=$work/inventory" \
    -e "remote_user=$ssh_user" -e "private_key_file=$work/key" -e "vault_password_file=prod@$work/vault-pass" \
    -e "@$work/secrets.yml" -e "result_file=$result" "$@" > "$log" 2>&1
}
no_secret_in() { # what file...: none of the secrets appears in the files
  local what=$1; shift
  if grep -q -F -f "$work/secrets.txt" "$@"; then fail "a secret appears in $what"; fi
}

echo "== a check run: every host would change, none does"
job "$work/check.log" "$work/check.json" -e check=true -e "events_file=$work/check-events.jsonl" \
  || { cat "$work/check.log"; fail "the check run failed"; }
cat "$work/check.log"
python "$here/files/check_run.py" "$work/check.json" "$work/check-events.jsonl" 1 "${host_names[@]}" \
  || fail "check run: stats or events are wrong"
for ip in "${ssh_hosts[@]}"; do
  if on_host "$ip" "test -e /etc/cg-configured"; then fail "the check run changed $ip"; fi
done
no_secret_in "the check run's output" "$work/check.log"
no_secret_in "the check run's events" "$work/check-events.jsonl"

echo "== the run, the wrapper and the target at -vvvv, looked at while it runs"
job "$work/run.log" "$work/run.json" -vvvv -e verbosity=4 -e "events_file=$work/events.jsonl" \
  -e "artifacts_dir=$work/artifacts" -e "playbook_artifact=$work/replay.json" &
job_pid=$!
for _ in $(seq 1 1200); do grep -q '"msg": "MARKER-CONFIGURED"' "$work/run.log" && break; sleep 0.1; done
grep -q '"msg": "MARKER-CONFIGURED"' "$work/run.log" || { wait "$job_pid" || true; cat "$work/run.log"; fail "the run never got to its marker"; }
pod=$(pods names job-ok)
[ -n "$pod" ] || fail "no Pod of job-ok while the job runs"
"$kubectl" "${admin[@]}" get pod "$pod" -o yaml > "$work/pod.yaml"
# shellcheck disable=SC2016  # expanded in the Pod
"$kubectl" "${admin[@]}" exec "$pod" -- sh -c 'for f in /proc/[0-9]*/cmdline; do { tr "\0" " " < "$f"; } 2>/dev/null; echo; done' > "$work/pod-cmdlines.txt"
"$kubectl" "${admin[@]}" exec "$pod" -- sh -c 'ls -A /tmp/cg-job/secrets; grep " /tmp/cg-job/secrets " /proc/mounts' > "$work/pod-secrets.txt"
# A process may end between the glob and the read: that one is skipped, not an error.
for f in /proc/[0-9]*/cmdline; do { tr '\0' ' ' < "$f"; } 2>/dev/null || true; echo; done > "$work/controller-cmdlines.txt"
rc=0
wait "$job_pid" || rc=$?
cat "$work/run.log"
[ "$rc" = 0 ] || fail "the run ended with rc $rc"
[ "$(grep -c 'python3 .*/runner.py start' "$work/pod-cmdlines.txt")" -ge 1 ] || { cat "$work/pod-cmdlines.txt"; fail "the Pod's process list does not show the job's runner"; }
no_secret_in "the Pod spec (get pod -o yaml)" "$work/pod.yaml"
no_secret_in "a command line in the Pod" "$work/pod-cmdlines.txt"
no_secret_in "a command line on the controller" "$work/controller-cmdlines.txt"
no_secret_in "the -vvvv output" "$work/run.log"
no_secret_in "the events file" "$work/events.jsonl"
no_secret_in "the job's record (artifacts_dir)" -r "$work/artifacts"
no_secret_in "the playbook artifact" "$work/replay.json"
grep -q ' tmpfs ' "$work/pod-secrets.txt" || { cat "$work/pod-secrets.txt"; fail "the secrets directory is not memory-backed"; }
if grep -qx 'private_key' "$work/pod-secrets.txt"; then fail "the private key is left as a file in the Pod"; fi
grep -qx 'agent.sock' "$work/pod-secrets.txt" || { cat "$work/pod-secrets.txt"; fail "no ssh-agent socket in the secrets directory"; }
python "$here/files/check_run.py" "$work/run.json" "$work/events.jsonl" 1 "${host_names[@]}" || fail "run: stats or events are wrong"
want_vault=$(printf '%s' "$vault_word" | sha256sum | cut -d' ' -f1)
want_token=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
for ip in "${ssh_hosts[@]}"; do
  on_host "$ip" "cat /etc/cg-configured" > "$work/configured.txt" || fail "$ip was not configured"
  grep -qx "greeting=hello-from-group-vars" "$work/configured.txt" || fail "$ip: the group_vars value is not there"
  grep -qx "vault_word_sha256=$want_vault" "$work/configured.txt" || fail "$ip: the vaulted value is not there"
  grep -qx "job_env_sha256=$want_token" "$work/configured.txt" || fail "$ip: the job_env value is not there"
  [ "$(on_host "$ip" "stat -c %U /etc/cg-configured")" = root ] || fail "$ip: the file is not root's (no become?)"
done
pods wait-gone job-ok 30 || fail "run: a Pod of job-ok is left"
echo "-- the job's record, read by ansible-runner's own reader; set_stats handed on"
python "$here/files/check_artifacts.py" "$work/artifacts" "$work/run.json" successful 0 "${host_names[@]}" \
  || fail "run: ansible-runner does not read the job's record as the job's"
python -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(r["artifacts"] != {"configured_hosts": 2})' \
  "$work/run.json" || fail "run: the result's artifacts are not what set_stats handed on"
grep -q '"artifact_data": {"configured_hosts": 2}' "$work/events.jsonl" || fail "run: the stats event has no artifact_data"
echo "-- ansible-navigator replays the job's playbook artifact"
(cd "$work" && ansible-navigator replay "$work/replay.json" --mode stdout --ee false --lf "$work/navigator.log") \
  > "$work/replay.log" 2>&1 || { cat "$work/replay.log"; fail "ansible-navigator replay failed"; }
tail -5 "$work/replay.log"
grep -qE '^ssh-1 +: ok=[0-9]+ +changed=1 ' "$work/replay.log" || fail "the replay does not print the job's play recap"

echo "== a wrong key: the target's unreachable message, no Pod left"
ssh-keygen -q -t ed25519 -N "" -f "$work/wrong-key"
if job "$work/wrong-key.log" "$work/wrong-key.json" -e "private_key_file=$work/wrong-key" -e private_key_passphrase= \
  -e "artifacts_dir=$work/artifacts-wrong-key"; then
  cat "$work/wrong-key.log"; fail "the job with a wrong key succeeded"
fi
cat "$work/wrong-key.log"
grep -q 'UNREACHABLE!' "$work/wrong-key.log" || fail "wrong key: no unreachable message"
grep -q 'Permission denied' "$work/wrong-key.log" || fail "wrong key: the message does not say why"
pods wait-gone job-ok 30 || fail "wrong key: a Pod of job-ok is left"
python "$here/files/check_artifacts.py" "$work/artifacts-wrong-key" - failed 4 "${host_names[@]}" \
  || fail "wrong key: the job's record does not say it failed with rc 4"

echo "== a wrong vault password: ansible's decryption error, no Pod left"
echo "not-the-password" > "$work/wrong-vault-pass"
if job "$work/wrong-vault.log" "$work/wrong-vault.json" -e "vault_password_file=prod@$work/wrong-vault-pass"; then
  cat "$work/wrong-vault.log"; fail "the job with a wrong vault password succeeded"
fi
cat "$work/wrong-vault.log"
grep -qi 'Decryption failed' "$work/wrong-vault.log" || fail "wrong vault password: no decryption error"
pods wait-gone job-ok 30 || fail "wrong vault password: a Pod of job-ok is left"
echo "== facts kept between jobs: the first gathers them, the second prints them without gathering"
for phase in gather print; do
  job "$work/facts-$phase.log" "$work/facts-$phase.json" -e "playbook=$here/files/project/facts_$phase.yml" \
    -e "fact_cache_dir=$work/facts" -e "artifacts_dir=$work/artifacts" \
    || { cat "$work/facts-$phase.log"; fail "the facts $phase job failed"; }
  if grep 'were not kept' "$work/facts-$phase.log"; then fail "the facts $phase job lost its facts"; fi
done
cat "$work/facts-print.log"
for name in "${host_names[@]}"; do
  # The names are the run's own (2.19 writes s1_HOST): each host has a file named after it.
  kept=("$work"/facts/*"$name")
  [ -s "${kept[0]}" ] || fail "no facts of $name in the fact cache directory (it holds: $(ls -A "$work/facts"))"
  grep -qE "\"msg\": \"FROM-CACHE $name [^N ][^ \"]*\"" "$work/facts-print.log" || fail "the second job did not print a kept fact of $name"
done
python "$here/files/check_facts.py" "$work/artifacts" "$work/facts-gather.json" "${host_names[@]}" \
  || fail "ansible-runner does not read the facts from the first job's record"
no_secret_in "the fact cache and the records" -r "$work/facts" "$work/artifacts"

echo "== all real-job scenarios passed"
