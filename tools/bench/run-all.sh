#!/usr/bin/env bash
# `make bench`: every benchmark, each printing its figures (none asserts a timing).
# The cluster benchmark restarts the cluster, so it runs last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "== connection plugin: pod vs kubernetes.core kubectl"
"$here/connection.sh"
echo "== wrapper: overhead of a one-task job"
"$here/job.sh"
echo "== many jobs at once on a capped group: the fair queue"
"$here/burst.sh"
echo "== a job in two slices against the same job in one Pod"
"$here/slices.sh"
echo "== long lines of output put together (no cluster)"
"$here/lines.sh"
echo "== what of a project to ship, against its tar (no cluster)"
"$here/project.sh"
echo "== local cluster: warm start, Pod start, memory"
"$here/cluster.sh"
