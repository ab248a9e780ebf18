#!/usr/bin/env bash
# The credential module against a private, temporary state file: behaviour (main.yml), then
# a run with --diff and -vvv whose whole output must not hold either test token.
set -eux

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
state_file="$tmp/state/container_groups.yml"
# Also keep the modules away from the user's own file if a task forgets state_file.
export CONTAINER_GROUPS_STATE_FILE="$tmp/env-state.yml"

ansible-playbook -i "$INVENTORY_PATH" main.yml -e "state_file=$state_file" "$@"

out="$tmp/diff-output.txt"
ansible-playbook -i "$INVENTORY_PATH" diff.yml -e "state_file=$state_file" --diff -vvv > "$out" 2>&1 || { cat "$out"; exit 1; }
set +x  # keep the tokens out of the trace
token_one=$(sed -n 's/^token_one: "\(.*\)"$/\1/p' vars/main.yml)
token_two=$(sed -n 's/^token_two: "\(.*\)"$/\1/p' vars/main.yml)
# The rotated token really is stored, so not finding it in the output means something.
grep -qF "$token_two" "$state_file"
for token in "$token_one" "$token_two"; do
  if grep -qF "$token" "$out"; then
    echo "FAIL: a bearer token appears in the --diff -vvv output:" >&2
    grep -nF "$token" "$out" >&2
    exit 1
  fi
done
grep -qF '"bearer_token": "********"' "$out"
grep -qF '"bearer_token": "******** (changed)"' "$out"
echo "--diff -vvv output: $(wc -l < "$out") lines, tokens masked, never shown"
