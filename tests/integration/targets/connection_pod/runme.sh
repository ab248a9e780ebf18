#!/usr/bin/env bash
# Integration tests of the pod connection against the local cluster, with the least-privilege
# test token. Creates its own Pod in the test namespace and deletes it whatever happens.
# No `set -x`: the token must not be echoed.
set -eu

here=$(pwd)
config=$(../setup_integration_config/files/integration_config.sh)
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
token=$(../setup_integration_config/files/integration_config.sh cg_test_token)
CG_NS=$(../setup_integration_config/files/integration_config.sh cg_test_namespace)

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
adhoc() {
  ansible -i inventory.yml -e "@$config" -e "pod_name=$pod" -e "local_dir=$work" "$@"
}
adhoc pipelined -m ansible.builtin.copy -a "content=hello dest=/tmp/cg-verbose mode=0600" -vvvvv > "$work/verbose-pipelined.log" 2>&1
adhoc pipelined -m ansible.builtin.fetch -a "src=/tmp/cg-verbose dest=$work/fetched/ flat=true" -vvvvv >> "$work/verbose-pipelined.log" 2>&1
adhoc unpipelined -m ansible.builtin.command -a "id -u" -vvvvv > "$work/verbose-unpipelined.log" 2>&1
for log in "$work"/verbose-*.log; do
  if grep -qF -- "$token" "$log"; then
    echo "FAIL: the token appears in the -vvvvv output ($log)" >&2
    exit 1
  fi
done
expect_line() {  # expect_line LOG REGEX
  grep -qE -- "$2" "$work/verbose-$1.log" || { echo "FAIL: no line matching '$2' in the -vvvvv output of $1" >&2; exit 1; }
}
expect_line pipelined "> ESTABLISH POD CONNECTION to $CG_NS/$pod container \\(default\\) via API server"
expect_line pipelined "> EXEC \\[.*, with stdin \\([0-9]+ bytes\\)"  # pipelining: the module goes on stdin
expect_line pipelined "> EXEC rc=0, [0-9]+ bytes stdout, [0-9]+ bytes stderr"
expect_line pipelined "> PUT .* TO .*\\(5 bytes, mode 0[0-7]+\\)"
expect_line pipelined "> FETCH /tmp/cg-verbose TO "
expect_line pipelined "> FETCH done: 5 bytes"
expect_line unpipelined "> PUT .*AnsiballZ_command.py \\([0-9]+ bytes"  # no pipelining: the module is PUT first

echo "== kubeconfigs: static ones are read directly, one with an exec plugin by the kubernetes library"
for host in kubeconfig_token kubeconfig_data kubeconfig_exec; do
  adhoc "$host" -m ansible.builtin.command -a "id -u" -vvvv > "$work/verbose-$host.log" 2>&1 \
    || { cat "$work/verbose-$host.log" >&2; exit 1; }
  if grep -qF -- "$token" "$work/verbose-$host.log"; then
    echo "FAIL: the token appears in the -vvvv output of $host" >&2
    exit 1
  fi
done
expect_line kubeconfig_token "kubeconfig read directly"
expect_line kubeconfig_data "kubeconfig read directly"
expect_line kubeconfig_exec "kubeconfig read by the kubernetes library"
expect_line kubeconfig_token "> ESTABLISH POD CONNECTION to $CG_NS/$pod container \\(default\\) via kubeconfig"

echo "== remote_user is ignored with a warning"
adhoc pipelined -u someone -m ansible.builtin.command -a "id -u" > "$work/remote_user.log" 2>&1
grep -q "ignores remote_user ('someone')" "$work/remote_user.log"
grep -q "^0$" "$work/remote_user.log"

echo "== the exec stream and file transfer, called directly"
CG_COLLECTIONS_ROOT="$collections_root" python "$here/test_stream.py" "$config" "$pod" "$work"
