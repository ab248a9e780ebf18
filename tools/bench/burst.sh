#!/usr/bin/env bash
# Benchmark of many jobs at once on a capped group (a script that prints figures; it asserts no timing).
#   tools/bench/burst.sh [N] [CAP]      (default 50 jobs, max_concurrent_jobs 10; needs make cluster-up)
# One job alone first (the unit of the ideal), then N jobs started at once through
# ephemeral.container_groups.run on a group with max_concurrent_jobs CAP, each a 3-second
# target, while a watch of the group's Pods (not the jobs' word) records who is admitted
# when; then the same N jobs on a group without a cap, for comparison. See burst_measure.py
# for what is printed.
# No `set -x`: the environment holds the cluster's bearer token.
set -euo pipefail
jobs=${1:-50}
cap=${2:-10}
# shellcheck source=bench-env.sh
. "$(dirname "$0")/bench-env.sh"
cg_bench_env burst
mkdir -p "$work/logs"

cat > "$work/project/target.yml" <<'YML'
- name: A 3-second target
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Work for 3 seconds
      ansible.builtin.command: sleep 3
      changed_when: false
YML
printf '%s\n' 'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"' > "$work/inventory.ini"
for group in "burst-capped-$$:$cap" "burst-free-$$:0"; do
  ansible-playbook -i "$work/inventory.ini" "$repo/tools/bench/define-group.yml" -e "group=${group%%:*}" \
    -e "max_concurrent_jobs=${group##*:}" -e "state_file=$work/state/container_groups.yml" > "$work/setup.log" 2>&1 \
    || { cat "$work/setup.log"; exit 1; }
done

echo "ansible-core $(ansible --version | head -1 | sed 's/.*core //; s/]//'), $(nproc) CPUs," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), $jobs jobs, max_concurrent_jobs $cap"
python "$repo/tools/bench/burst_measure.py" "$work" "burst-capped-$$" "burst-free-$$" "$jobs" "$cap"
