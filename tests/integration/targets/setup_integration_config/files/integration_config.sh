#!/usr/bin/env bash
# For the runme.sh of every target that reaches the local cluster:
#   config=$(../setup_integration_config/files/integration_config.sh)
# prints the path of the integration_config.yml that tools/test.sh writes (tests/integration/,
# found from this file's place, so from any directory), and fails if it is missing; with a
# KEY it prints that value of the file instead.
set -eu
config=$(cd "$(dirname "$0")/../../.." && pwd)/integration_config.yml
if [ ! -f "$config" ]; then
  echo "missing $config: it must hold cg_test_host, cg_test_token, cg_test_ca_file, cg_test_namespace, cg_test_image (tools/test.sh writes it)" >&2
  exit 1
fi
if [ $# -eq 0 ]; then
  echo "$config"
else
  python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))[sys.argv[2]])' "$config" "$1"
fi
