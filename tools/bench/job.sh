#!/usr/bin/env bash
# Benchmark of the wrapper (a script that prints figures; it asserts no timing).
#   tools/bench/job.sh [RUNS]      (default 10; needs the local cluster: make cluster-up)
# RUNS times, alternating: a one-task target playbook through the wrapper, exactly as users
# run it (ansible-playbook ephemeral.container_groups.run; the job's timings are read from
# the summary the job role prints), and the same target run directly with ansible-playbook
# on this machine, the floor. Prints p50 and max of the wall time, of the wrapper's overhead (its wall time
# minus the floor) and of its phases: create->Running, copy, run (ansible-playbook in the
# Pod), delete, and the rest (the wrapper's own ansible-playbook, state file, API calls),
# each also as a ratio to the p50 floor measured in the same run. One unmeasured warm-up
# of each comes first, so the image is on the node and the caches are warm.
# No `set -x`: the environment holds the cluster's bearer token.
set -euo pipefail
runs=${1:-10}
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=$("$repo/tools/venv.sh" newest)
# shellcheck source=../private-tree.sh
. "$repo/tools/private-tree.sh"
cg_private_tree bench-job
# shellcheck disable=SC1090
. <("$repo/tools/localcluster/cluster.sh" env)

work=$CG_TREE_ROOT/bench
mkdir -p "$work/project"
chmod 700 "$work"
export ANSIBLE_COLLECTIONS_PATH=$CG_TREE_ROOT ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0
export PATH=$venv/bin:$PATH
group=bench-job-$$

cat > "$work/project/target.yml" <<'YML'
- name: One-task target
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.debug:
        msg: hello
YML
printf '%s\n' 'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"' > "$work/inventory.ini"
cat > "$work/setup.yml" <<'YML'
- name: Define the benchmark's credential and group
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Store the cluster's test credential
      ephemeral.container_groups.k8s_bearer_credential:
        name: "{{ group }}"
        host: "{{ lookup('ansible.builtin.env', 'CG_TEST_HOST') }}"
        bearer_token: "{{ lookup('ansible.builtin.env', 'CG_TEST_TOKEN') }}"
        ssl_ca_cert: "{{ lookup('ansible.builtin.file', lookup('ansible.builtin.env', 'CG_TEST_CA_FILE')) }}"
        state_file: "{{ state_file }}"
    - name: Define the group
      ephemeral.container_groups.container_group:
        name: "{{ group }}"
        credential: "{{ group }}"
        pod_spec_override:
          metadata:
            namespace: "{{ lookup('ansible.builtin.env', 'CG_TEST_NAMESPACE') }}"
          spec:
            containers:
              - image: "{{ lookup('ansible.builtin.env', 'CG_TEST_IMAGE') }}"
                args: [sleep, infinity]
        state_file: "{{ state_file }}"
YML
ansible-playbook -i "$work/inventory.ini" "$work/setup.yml" \
  -e "group=$group" -e "state_file=$work/state/container_groups.yml" > "$work/setup.log" 2>&1 \
  || { cat "$work/setup.log"; exit 1; }

echo "ansible-core $(python -c 'import ansible; print(ansible.__version__)'), $(nproc) CPUs," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), image $CG_TEST_IMAGE, $runs runs"

python - "$work" "$group" "$runs" <<'PY'
import ast
import os
import re
import statistics
import subprocess
import sys
import time

work, group, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
inventory = os.path.join(work, "inventory.ini")
target = os.path.join(work, "project", "target.yml")
# The job role's summary: "exit status: 0", "timings (s): {'create_to_running': 1.2, ...}".
SUMMARY = re.compile(r'"exit status: (?P<rc>\S+)",\s*"recap: .*",\s*(?:"stats: .*",\s*)?"timings \(s\): (?P<timings>\{[^}]*\})",'
                     r'\s*"API requests: (?P<requests>\d+)')


def timed(argv, log):
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        rc = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - started
    if rc != 0:
        sys.stdout.write(open(log, encoding="utf-8").read())
        sys.exit(f"{argv[0]} failed (exit status {rc}); output above")
    return elapsed


def direct():
    return timed(["ansible-playbook", "-i", inventory, target], os.path.join(work, "direct.log"))


def wrapper():
    log = os.path.join(work, "wrapper.log")
    wall = timed(["ansible-playbook", "-i", inventory, "ephemeral.container_groups.run",
                  "-e", f"container_group={group}", "-e", f"playbook={target}",
                  "-e", f"state_file={work}/state/container_groups.yml"], log)
    with open(log, encoding="utf-8") as handle:
        output = handle.read()
    match = SUMMARY.search(output)
    if not match or match["rc"] != "0" or f"Pod {os.environ['CG_TEST_NAMESPACE']}/cg-" not in output:
        sys.stdout.write(output)
        sys.exit("no successful job summary (exit status 0, timings) in the wrapper's output above")
    return wall, ast.literal_eval(match["timings"]), int(match["requests"])


print("warm-up (not counted) ...", flush=True)
direct()
wrapper()
floors, walls, requests, phases = [], [], [], {k: [] for k in ("create_to_running", "copy", "run", "delete")}
for number in range(1, runs + 1):
    floors.append(direct())
    wall, timings, made = wrapper()
    walls.append(wall)
    requests.append(made)
    for key in phases:
        phases[key].append(timings[key])
    print(f"run {number:2}: floor {floors[-1]:6.2f} s   wrapper {wall:6.2f} s   "
          + "  ".join(f"{k} {timings[k]:.2f}" for k in phases), flush=True)

floor = statistics.median(floors)
overheads = [w - f for w, f in zip(walls, floors)]
rest = [w - sum(phases[k][i] for k in phases) for i, w in enumerate(walls)]
in_pod_extra = [r - f for r, f in zip(phases["run"], floors)]
rows = [
    ("floor: target run directly", floors),
    ("wrapper: wall time", walls),
    ("overhead: wall - floor", overheads),
    ("  create -> Running", phases["create_to_running"]),
    ("  copy", phases["copy"]),
    ("  run (in the Pod)", phases["run"]),
    ("    of which beyond the floor", in_pod_extra),
    ("  delete", phases["delete"]),
    ("  rest (wrapper's own ansible-playbook)", rest),
]
print()
print(f"{'':42} {'p50 s':>8} {'max s':>8} {'p50/floor':>10} {'max/floor':>10}")
for name, values in rows:
    p50, top = statistics.median(values), max(values)
    print(f"{name:42} {p50:8.2f} {top:8.2f} {p50 / floor:10.2f} {top / floor:10.2f}")
p50_overhead = statistics.median(overheads)
print()
print(f"p50 overhead {p50_overhead:.2f} s (goal: 2.5 s or less with the image present: "
      f"{'met' if p50_overhead <= 2.5 else 'NOT met'} in this run)")
print(f"API requests per one-task job (HTTP requests and exec connections): p50 {statistics.median(requests):.0f}, "
      f"max {max(requests)}")
PY
