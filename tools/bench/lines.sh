#!/usr/bin/env bash
# The time to reassemble 1, 4 and 16 MiB lines (see lines.py); needs no cluster.
exec "$(dirname "$0")/python-bench.sh" lines
