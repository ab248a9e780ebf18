#!/usr/bin/env bash
# The state file through the modules: a file others can read is refused, a corrupt or
# unknown-version file is refused and left byte for byte, and 50 processes adding a group
# each at the same moment lose none.
set -eux

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CONTAINER_GROUPS_STATE_FILE="$tmp/env-state.yml"

run() {  # run <state file> <expected message> [ansible-playbook args]: every module refuses it
  ansible-playbook -i "$INVENTORY_PATH" refused.yml -e "{\"state_file\": \"$1\", \"expected_msg\": \"$2\"}" "${@:3}"
}

# -- a state file others can read ----------------------------------------------------------
mkdir -m 700 "$tmp/open"
ansible-playbook -i "$INVENTORY_PATH" seed.yml -e "state_file=$tmp/open/state.yml" "$@"
chmod 644 "$tmp/open/state.yml"
sum_before=$(sha256sum "$tmp/open/state.yml")
run "$tmp/open/state.yml" "has mode 0644" "$@"
[ "$(sha256sum "$tmp/open/state.yml")" = "$sum_before" ]
[ "$(stat -c %a "$tmp/open/state.yml")" = 644 ]

# -- corrupt and unknown-version files -----------------------------------------------------
mkdir -m 700 "$tmp/bad"
printf 'version: 1\ncredentials:\n  prod: {host: https://x, bearer_token: [unclosed\n' > "$tmp/bad/corrupt.yml"
printf 'version: 7\ncredentials: {}\ncontainer_groups: {}\n' > "$tmp/bad/future.yml"
printf -- '- version: 1\n' > "$tmp/bad/list.yml"
chmod 600 "$tmp"/bad/*.yml
for case in "corrupt.yml:is not valid YAML" "future.yml:has version 7" "list.yml:holds a list"; do
  file="$tmp/bad/${case%%:*}"
  before=$(sha256sum "$file"; stat -c '%i %Y %s %a' "$file")
  run "$file" "${case#*:}" "$@"
  after=$(sha256sum "$file"; stat -c '%i %Y %s %a' "$file")
  [ "$before" = "$after" ]
done
# No temp files were left beside them.
[ "$(find "$tmp/bad" -name '*.tmp' | wc -l)" = 0 ]

# -- 50 concurrent writers -----------------------------------------------------------------
# Each writer is the module itself, run the way Ansible runs it (arguments in a JSON file, the
# collection on the path), without a controller process each: 50 ansible-playbook runs at once
# take minutes on a small shared machine. A start gate makes them begin together.
py=$(command -v python || command -v python3)
state_file="$tmp/concurrent/state.yml"
started=$SECONDS
pids=()
for i in $(seq -w 1 50); do
  printf '{"ANSIBLE_MODULE_ARGS": {"name": "group-%s", "max_forks": %d, "state_file": "%s"}}\n' \
    "$i" "$((10#$i))" "$state_file" > "$tmp/args-$i.json"
  (
    while [ ! -e "$tmp/go" ]; do sleep 0.01; done
    exec env PYTHONPATH="$ANSIBLE_COLLECTIONS_PATH" "$py" \
      -m ansible_collections.ephemeral.container_groups.plugins.modules.container_group "$tmp/args-$i.json"
  ) > "$tmp/concurrent-$i.log" 2>&1 &
  pids+=("$!")
done
touch "$tmp/go"
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=$((failed + 1))
done
changed=$(grep -l '"changed": true' "$tmp"/concurrent-*.log | wc -l)
if [ "$failed" != 0 ] || [ "$changed" != 50 ]; then
  tail -n 20 "$tmp"/concurrent-*.log
  exit 1
fi
ansible-playbook -i "$INVENTORY_PATH" count.yml -e "state_file=$state_file" -e expected=50 "$@"
[ "$(stat -c %a "$state_file")" = 600 ]
[ "$(find "$tmp/concurrent" -name '*.tmp' | wc -l)" = 0 ]
echo "50 concurrent writers: 50 reported a change, 50 groups stored, none lost ($((SECONDS - started))s)"
