#!/usr/bin/env bash
# No `set -x`: the token must not be echoed.
set -eu
config=$(../setup_integration_config/files/integration_config.sh)
python check_cluster.py "$config"
