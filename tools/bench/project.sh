#!/usr/bin/env bash
# The time to choose what of a project to ship, against the tar it precedes (see project.py);
# needs no cluster.
exec "$(dirname "$0")/python-bench.sh" project
