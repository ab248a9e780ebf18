#!/usr/bin/env bash
# The container_group module against a private, temporary state file.
set -eux

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CONTAINER_GROUPS_STATE_FILE="$tmp/env-state.yml"

ansible-playbook -i "$INVENTORY_PATH" main.yml -e "state_file=$tmp/state/container_groups.yml" "$@"
