#!/usr/bin/env bash
# Benchmark of job slicing (a script that prints figures; it asserts no timing).
#   tools/bench/slices.sh [RUNS]   (default 3; needs the local cluster: make cluster-up)
# RUNS times, alternating: a 2-host job whose playbook sleeps 10 s per host with serial: 1,
# through the wrapper exactly as users run it, with slices: 1 (the anchor: the hosts one
# after the other in one Pod) and with slices: 2 (a Pod per host, at once). Prints each
# run's wall time, the p50 of each, and slices: 2 as a ratio to the anchor of the same run.
# No `set -x`: the environment holds the cluster's bearer token.
set -euo pipefail
runs=${1:-3}
# shellcheck source=bench-env.sh
. "$(dirname "$0")/bench-env.sh"
cg_bench_env slices
group=bench-slices-$$

cat > "$work/project/serial.yml" <<'YML'
- name: Ten seconds per host, one host at a time
  hosts: all
  gather_facts: false
  serial: 1
  tasks:
    - name: Sleep
      ansible.builtin.wait_for:
        timeout: 10
YML
printf '%s\n' "host-1 ansible_connection=local ansible_python_interpreter=auto_silent" \
  "host-2 ansible_connection=local ansible_python_interpreter=auto_silent" > "$work/project/hosts.ini"
printf '%s\n' 'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"' > "$work/inventory.ini"
ansible-playbook -i "$work/inventory.ini" "$repo/tools/bench/define-group.yml" \
  -e "group=$group" -e "state_file=$work/state/container_groups.yml" > "$work/setup.log" 2>&1 \
  || { cat "$work/setup.log"; exit 1; }

echo "ansible-core $(ansible --version | head -1 | sed 's/.*core //; s/]//'), $(nproc) CPUs," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), image $CG_TEST_IMAGE, $runs runs"
one_job() { # slices: the wall time of one job, in seconds
  local started ended
  started=$(date +%s.%N)
  ansible-playbook -i "$work/inventory.ini" ephemeral.container_groups.run -e "container_group=$group" \
    -e "playbook=$work/project/serial.yml" -e inventory=hosts.ini -e "slices=$1" \
    -e "state_file=$work/state/container_groups.yml" > "$work/job.log" 2>&1 || { cat "$work/job.log"; exit 1; }
  ended=$(date +%s.%N)
  python -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$started" "$ended"
}
one_job 2 > /dev/null  # warm-up: the image on the node, the caches warm
whole=() sliced=()
for run in $(seq 1 "$runs"); do
  whole+=("$(one_job 1)")
  sliced+=("$(one_job 2)")
  echo "run $run: slices 1 ${whole[-1]} s, slices 2 ${sliced[-1]} s"
done
python - "${whole[*]}" "${sliced[*]}" <<'PY'
import statistics, sys
whole, sliced = ([float(value) for value in arg.split()] for arg in sys.argv[1:])
ratios = [s / w for w, s in zip(whole, sliced)]
print(f"p50 wall time: slices 1 {statistics.median(whole):.2f} s (anchor), slices 2 {statistics.median(sliced):.2f} s; "
      f"slices 2 / slices 1 per run: {', '.join(f'{r:.2f}' for r in ratios)} (p50 {statistics.median(ratios):.2f})")
PY
