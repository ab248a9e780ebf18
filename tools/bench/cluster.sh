#!/usr/bin/env bash
# Figures for the local cluster (prints, asserts nothing):
#   warm start: `cluster.sh down` then `cluster.sh up` with built binaries and images, to Ready
#   Pod create -> Running with the EE image present (5 Pods, with the test token), against
#   the anchor measured in the same run: the same container started by containerd directly
#   memory: resident set of every cluster process after 20 s idle
# Takes the cluster down and up again: do not run it while tests use the cluster.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
lc="$repo/tools/localcluster"
# shellcheck source=../localcluster/lib.sh
. "$lc/lib.sh"

"$lc/cluster.sh" down >/dev/null 2>&1
t0=$(date +%s.%N)
"$lc/cluster.sh" up >/dev/null 2>&1
warm=$(echo "$(date +%s.%N) - $t0" | bc)

# shellcheck disable=SC1090
. <("$lc/cluster.sh" env)
kubeconfig=$(mktemp)
trap 'rm -f "$kubeconfig"' EXIT
chmod 600 "$kubeconfig"
cat > "$kubeconfig" <<CFG
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$CG_TEST_HOST", certificate-authority: "$CG_TEST_CA_FILE"}}]
users: [{name: u, user: {token: "$CG_TEST_TOKEN"}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: $CG_TEST_NAMESPACE}}]
current-context: c
CFG
k() { "$CG_BIN_DIR/kubectl" --kubeconfig "$kubeconfig" "$@"; }

pod_times=()
for i in 1 2 3 4 5; do
  start=$(date +%s.%N)
  k run "bench-$i" --image "$CG_TEST_IMAGE" --restart Never --command -- sleep infinity >/dev/null
  k wait --for=jsonpath='{.status.phase}'=Running "pod/bench-$i" --timeout 60s >/dev/null
  pod_times+=("$(echo "$(date +%s.%N) - $start" | bc)")
  k delete pod "bench-$i" --grace-period 0 --wait=false >/dev/null 2>&1
done

anchor_times=()
for i in 1 2 3 4 5; do
  start=$(date +%s.%N)
  ctr --address "$CG_CONTAINERD_SOCK" -n k8s.io run --rm "$CG_TEST_IMAGE" "bench-anchor-$i" true
  anchor_times+=("$(echo "$(date +%s.%N) - $start" | bc)")
done

sleep 20
rss_kib=0
for f in "$CG_RUN_DIR"/pids/*.pid; do
  pid=$(cat "$f")
  rss_kib=$((rss_kib + $(ps -o rss= -p "$pid" 2>/dev/null || echo 0)))
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
pod_median=$(median "${pod_times[@]}")
anchor_median=$(median "${anchor_times[@]}")
printf 'warm start to node Ready:           %6.1f s\n' "$warm"
printf 'Pod create -> Running (median of 5): %6.2f s  (%s)\n' "$pod_median" "${pod_times[*]}"
printf 'anchor: ctr run --rm (median of 5):  %6.2f s\n' "$anchor_median"
printf 'ratio Pod start / bare container:    %6.1fx\n' "$(echo "$pod_median / $anchor_median" | bc -l)"
printf 'cluster memory at idle (RSS):        %6d MiB\n' "$((rss_kib / 1024))"
