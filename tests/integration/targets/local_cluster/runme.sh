#!/usr/bin/env bash
# No `set -x`: the token must not be echoed.
set -eu
config=$(cd ../.. && pwd)/integration_config.yml
python check_cluster.py "$config"
