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
# shellcheck source=bench-env.sh
. "$(dirname "$0")/bench-env.sh"
cg_bench_env job
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
ansible-playbook -i "$work/inventory.ini" "$repo/tools/bench/define-group.yml" \
  -e "group=$group" -e "state_file=$work/state/container_groups.yml" > "$work/setup.log" 2>&1 \
  || { cat "$work/setup.log"; exit 1; }

echo "ansible-core $(ansible --version | head -1 | sed 's/.*core //; s/]//'), $(nproc) CPUs," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), image $CG_TEST_IMAGE, $runs runs"

python "$repo/tools/bench/job_measure.py" "$work" "$group" "$runs"
