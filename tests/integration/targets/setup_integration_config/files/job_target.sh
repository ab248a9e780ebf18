# shellcheck shell=bash
# The start of a job target's runme.sh, sourced from the target's directory: the settings
# (config), the target's directory (here), a private work directory removed at exit (work)
# holding the target's own state file, unbuffered plain output, and fail.
# The scripts that source it use these names, which shellcheck cannot see from here.
# shellcheck disable=SC2034
set -eu
config=$(../setup_integration_config/files/integration_config.sh)
here=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CONTAINER_GROUPS_STATE_FILE="$work/state/container_groups.yml" PYTHONUNBUFFERED=1 ANSIBLE_NOCOLOR=1
fail() { echo "FAILED: $*" >&2; exit 1; }
