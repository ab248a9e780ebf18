#!/usr/bin/env bash
# Integration tests of the pod connection against the local cluster, with the least-privilege
# test token. Creates its own Pod in the test namespace and deletes it whatever happens.
# No `set -x`: the token must not be echoed.
set -eu

here=$(pwd)
config=$(cd ../.. && pwd)/integration_config.yml
if [ ! -f "$config" ]; then
  echo "missing $config: it must hold cg_test_host, cg_test_token, cg_test_ca_file, cg_test_namespace, cg_test_image" >&2
  exit 1
fi
helper=$(cd ../setup_connection_pod/files && pwd)/test_pods.py
work=${OUTPUT_DIR:-$(mktemp -d)}/connection_pod
rm -rf "$work"
mkdir -p "$work"
chmod 700 "$work"
pod="cg-conn-$(date +%s)-$$"
# The collection's code for the direct Python checks: the tree above ansible_collections/.
collections_root=$(cd ../../../../../../.. && pwd)

cleanup() {
  python "$helper" "$config" delete "$pod" || true
  rm -rf "$work"
}
trap cleanup EXIT

python "$helper" "$config" create "$pod"
token=$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["cg_test_token"])' "$config")

playbook() {
  ansible-playbook -i inventory.yml -e "@$config" -e "pod_name=$pod" -e "local_dir=$work" "$@"
}

echo "== the container group (state file) for the 'group' host"
playbook setup_group.yml "$@"

echo "== the shared connection playbook on every variant"
playbook test_connection.yml "$@"

echo "== failures, each with its message"
playbook test_failures.yml "$@"

echo "== -vvvvv output: ESTABLISH/EXEC/PUT/FETCH lines, never the token"
# One log per host: the lines name the Pod (both hosts use the same one), not the host.
for host in pipelined unpipelined; do
  ansible -i inventory.yml -e "@$config" -e "pod_name=$pod" -e "local_dir=$work" "$host" \
    -m ansible.builtin.copy -a "content=hello dest=/tmp/cg-verbose mode=0600" -vvvvv > "$work/verbose-$host.log" 2>&1
done
ansible -i inventory.yml -e "@$config" -e "pod_name=$pod" -e "local_dir=$work" pipelined \
  -m ansible.builtin.fetch -a "src=/tmp/cg-verbose dest=$work/fetched/ flat=true" -vvvvv >> "$work/verbose-pipelined.log" 2>&1
cat "$work/verbose-pipelined.log" "$work/verbose-unpipelined.log" > "$work/verbose.log"
if grep -qF -- "$token" "$work/verbose.log"; then
  echo "FAIL: the token appears in the -vvvvv output" >&2
  exit 1
fi
for line in "ESTABLISH POD CONNECTION to" "EXEC \[" "with stdin (" "PUT .* TO .*(.* bytes, mode" "FETCH /tmp/cg-verbose TO" "FETCH done: 5 bytes"; do
  grep -q -- "$line" "$work/verbose.log" || { echo "FAIL: no '$line' line in the -vvvvv output" >&2; exit 1; }
done
# pipelining on: the module goes on stdin; off: it is PUT first.
grep -q "EXEC .*with stdin" "$work/verbose-pipelined.log" || { echo "FAIL: pipelining did not send the module on stdin" >&2; exit 1; }
grep -q "PUT " "$work/verbose-unpipelined.log" || { echo "FAIL: without pipelining the module was not PUT" >&2; exit 1; }

echo "== remote_user is ignored with a warning"
ansible -i inventory.yml -e "@$config" -e "pod_name=$pod" -e "local_dir=$work" pipelined -u someone -m ansible.builtin.command -a "id -u" \
  > "$work/remote_user.log" 2>&1
grep -q "ignores remote_user ('someone')" "$work/remote_user.log"
grep -q "^0$" "$work/remote_user.log"

echo "== the exec stream and file transfer, called directly"
CG_COLLECTIONS_ROOT="$collections_root" python "$here/test_stream.py" "$config" "$pod" "$work"
