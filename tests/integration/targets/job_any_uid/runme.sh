#!/usr/bin/env bash
# Jobs as UID 1000650000 with gid 0 and no passwd entry in the image (OpenShift's restricted
# SCC), in the namespace that enforces restricted:
# - the EE image as it starts (its entrypoint adds a passwd entry, HOME is gid-0 writable):
#   the playbook runs in the Pod and ssh from it reaches the SSH test hosts with the key;
# - the entrypoint bypassed and HOME=/: no passwd entry and no usable home, and a localhost
#   playbook still runs, in a HOME the job gives it.
set -eu
config=$(../setup_integration_config/files/integration_config.sh)
setting() { ../setup_integration_config/files/integration_config.sh "$1"; }
here=$(pwd)
read -r -a ssh_hosts <<<"$(setting cg_test_ssh_hosts)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
export CONTAINER_GROUPS_STATE_FILE="$work/state/container_groups.yml" PYTHONUNBUFFERED=1 ANSIBLE_NOCOLOR=1
fail() { echo "FAILED: $*" >&2; exit 1; }
cp "$(setting cg_test_ssh_key)" "$work/key" && chmod 600 "$work/key"
{ echo "[ssh]"; echo "ssh-1 ansible_host=${ssh_hosts[0]}"
  echo "[ssh:vars]"; echo "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"; } > "$work/hosts"

ansible-playbook -e "@$config" define.yml

echo "== the EE image as UID 1000650000, gid 0: the playbook runs, and ssh from it"
ansible-playbook ephemeral.container_groups.run -e container_group=any-uid -e "playbook=$here/files/project/any_uid.yml" \
  -e "inventory=$work/hosts" -e "remote_user=$(setting cg_test_ssh_user)" -e "private_key_file=$work/key" \
  > "$work/any-uid.log" 2>&1 || { cat "$work/any-uid.log"; fail "the arbitrary-UID job failed"; }
cat "$work/any-uid.log"
grep -q "MARKER-ANY-UID-SSH ssh-1 $(setting cg_test_ssh_user)" "$work/any-uid.log" || fail "ssh from the arbitrary UID did not run"

echo "== the entrypoint bypassed and HOME=/: no passwd entry, and a HOME of the job's own"
ansible-playbook ephemeral.container_groups.run -e container_group=any-uid-bare -e "playbook=$here/files/project/any_uid.yml" \
  -e '{"extra_vars": {"expect_passwd_entry": false}}' > "$work/bare.log" 2>&1 \
  || { cat "$work/bare.log"; fail "the arbitrary-UID job without an entrypoint failed"; }
cat "$work/bare.log"
grep -q 'home=/tmp/cg-job/home' "$work/bare.log" || fail "the job did not give the playbook a HOME of its own"
echo "== all arbitrary-UID scenarios passed"
