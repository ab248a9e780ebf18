#!/usr/bin/env bash
# Benchmark of the pod connection against kubernetes.core's kubectl connection (a script that
# prints figures; it asserts nothing).
#   tools/bench/connection.sh [RUNS]      (default 3; needs the local cluster: make cluster-up)
#   tools/bench/connection.sh RUNS transfer   only the put and fetch figures
# In one run, against one Pod (created with the least-privilege test token, deleted at the end):
#  - per-task time of `command: /bin/true` tasks, timed by a callback, with: our plugin (token;
#    and a kubeconfig with the same token), kubernetes.core.kubectl (pipelining
#    off, its default, and on), and `connection: local` running the same module on this
#    machine (with pipelining: the floor; and without). A play of 51 tasks per host, the hosts taking turns in each of RUNS
#    rounds; a callback times every task; the first task of each play is left out and the
#    median of the other 50 x RUNS is reported. Overhead = per-task time minus the floor.
#  - milliseconds of import the plugin and its exec transport add to every task, against
#    ansible-core's ssh plugin (connection_import.py);
#  - milliseconds per /bin/true in a freshly forked worker, as each task pays them, against
#    the same command on an open connection (connection_exec.py);
#  - seconds to put and to fetch a 100 MB file through each plugin's put_file/fetch_file, each
#    run's and the best and median of RUNS (the plugins alternating, and who goes first).
# kubernetes.core comes from the `ansible` package in the bench venv (tools/venv.sh bench,
# locked in tools/requirements/bench.txt).
# No `set -x`: the environment holds the cluster's bearer token.
set -euo pipefail
runs=${1:-3}
only=${2:-}
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../cache-dir.sh
. "$repo/tools/cache-dir.sh"
venv=$("$repo/tools/venv.sh" bench)

CG_TREE_ROOT=$(mktemp -d "$CG_CACHE_DIR/bench-tree.XXXXXX")
export CG_TREE_ROOT
work=$CG_TREE_ROOT/bench
"$repo/tools/collection-tree.sh" > /dev/null
# shellcheck disable=SC1090
. <("$repo/tools/localcluster/cluster.sh" env)
mkdir -p "$work"
chmod 700 "$work"
export ANSIBLE_COLLECTIONS_PATH=$CG_TREE_ROOT ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0
export PATH=$venv/bin:$CG_BIN_DIR:$PATH
unset ANSIBLE_PIPELINING

# kubectl gets the same least-privilege token, in a kubeconfig (not on its command line).
kubeconfig=$work/test.kubeconfig
(
  umask 077
  cat > "$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "$CG_TEST_HOST", certificate-authority: "$CG_TEST_CA_FILE"}
users:
- name: test
  user: {token: "$CG_TEST_TOKEN"}
contexts:
- name: test
  context: {cluster: local, user: test, namespace: "$CG_TEST_NAMESPACE"}
current-context: test
EOF
)
pod=cg-bench-$$
k() { KUBECONFIG=$kubeconfig kubectl "$@"; }
cleanup() {
  k delete pod "$pod" --wait=false > /dev/null 2>&1 || true
  rm -rf "$CG_TREE_ROOT"
}
trap cleanup EXIT
# A CPU request, so a busy node does not starve the Pod (the same Pod serves both plugins).
k create -f - > /dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $pod}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: main
    image: $CG_TEST_IMAGE
    imagePullPolicy: IfNotPresent
    command: [sleep, infinity]
    resources: {requests: {cpu: 500m, memory: 128Mi}}
EOF
k wait --for=condition=Ready "pod/$pod" --timeout=300s > /dev/null

cat > "$work/inventory.yml" <<EOF
all:
  vars:
    ansible_python_interpreter: /usr/bin/python3
  hosts:
    pod_token:
      ansible_connection: ephemeral.container_groups.pod
      ansible_pod_name: $pod
      ansible_pod_namespace: $CG_TEST_NAMESPACE
      ansible_pod_api_host: $CG_TEST_HOST
      ansible_pod_ca_cert: $CG_TEST_CA_FILE
      ansible_pod_api_key: "{{ lookup('ansible.builtin.env', 'CG_TEST_TOKEN') }}"
    pod_kubeconfig:
      ansible_connection: ephemeral.container_groups.pod
      ansible_pod_name: $pod
      ansible_pod_kubeconfig: $kubeconfig
    kubectl:
      ansible_connection: kubernetes.core.kubectl
      ansible_kubectl_pod: $pod
      ansible_kubectl_namespace: $CG_TEST_NAMESPACE
      ansible_kubectl_kubeconfig: $kubeconfig
    kubectl_pipelining:
      ansible_connection: kubernetes.core.kubectl
      ansible_kubectl_pod: $pod
      ansible_kubectl_namespace: $CG_TEST_NAMESPACE
      ansible_kubectl_kubeconfig: $kubeconfig
      ansible_pipelining: true
    local:
      ansible_connection: local
      ansible_python_interpreter: $venv/bin/python
    local_pipelining:
      ansible_connection: local
      ansible_python_interpreter: $venv/bin/python
      ansible_pipelining: true
EOF
{
  echo "- name: 51 commands"
  echo "  hosts: all"
  echo "  gather_facts: false"
  echo "  tasks:"
  for i in $(seq 51); do
    printf '    - name: true %s\n      ansible.builtin.command: /bin/true\n      changed_when: false\n' "$i"
  done
} > "$work/tasks.yml"

transfer() {
  python "$repo/tools/bench/connection_transfer.py" --pod "$pod" --namespace "$CG_TEST_NAMESPACE" \
    --kubeconfig "$kubeconfig" --work "$work" --runs "$runs"
}
if [ "$only" = transfer ]; then
  transfer
  exit 0
fi

hosts=(local local_pipelining pod_token pod_kubeconfig kubectl kubectl_pipelining)
export ANSIBLE_CALLBACK_PLUGINS=$repo/tools/bench/callback_plugins ANSIBLE_CALLBACKS_ENABLED=bench_task_timer
echo "ansible-core $(ansible --version | head -1 | sed 's/.*core //; s/]//'), kubernetes.core $(ansible-galaxy collection list kubernetes.core 2>/dev/null | awk '/kubernetes.core/ {print $2}'), $runs run(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
# One host per ansible-playbook run (a callback times each task from its start to its result),
# the hosts taking turns in every round so that a busy moment does not favour one of them.
for run in $(seq "$runs"); do
  for host in "${hosts[@]}"; do
    BENCH_TASK_TIMES=$work/times-$run-$host.json ansible-playbook -i "$work/inventory.yml" -l "$host" "$work/tasks.yml" \
      > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
  done
done
# The median task time per host, the first task of each run left out (interpreter, caches).
python "$repo/tools/bench/connection_tasks.py" "$work" "$runs" "${hosts[@]}"

echo
python "$repo/tools/bench/connection_import.py"

echo
python "$repo/tools/bench/connection_exec.py" --pod "$pod" --namespace "$CG_TEST_NAMESPACE" --kubeconfig "$kubeconfig"

echo
transfer
