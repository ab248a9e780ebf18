#!/usr/bin/env bash
# Creates (once) and prints the path of a cached virtualenv for one tool set.
#   tools/venv.sh newest   -> Python 3.13, newest ansible-core + lint/molecule/changelog tools
#   tools/venv.sh oldest   -> Python 3.11, the oldest ansible-core in meta/runtime.yml
#   tools/venv.sh bench    -> Python 3.11, the `ansible` package (kubernetes.core) for
#                             tools/bench/connection.sh
# The venv lives outside the repo, keyed by the requirements file's hash, so a clean
# clone on a warm machine reuses it and a changed pin builds a fresh one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
flavour=${1:?usage: venv.sh newest|oldest|bench}
case "$flavour" in
  newest) py_version=3.13; reqs="$here/requirements-dev.txt" ;;
  oldest) py_version=3.11; reqs="$here/requirements-oldest.txt" ;;
  bench) py_version=3.11; reqs="$here/requirements-bench.txt" ;;
  *) echo "unknown venv flavour: $flavour" >&2; exit 2 ;;
esac
# shellcheck source=cache-dir.sh
. "$here/cache-dir.sh"
key=$(sha256sum "$reqs" | cut -c1-12)
venv="$CG_CACHE_DIR/venv/$flavour-$key"
# The marker is written last, so an interrupted install is redone, never half-used; the
# lock makes concurrent callers wait for one install instead of racing it.
mkdir -p "$CG_CACHE_DIR/venv"
exec 9>"$venv.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  python=""
  # pyenv shims answer for versions that are not selected, so try the real binaries first.
  for candidate in "$HOME/.pyenv/versions/$py_version"*/bin/python3 "/usr/bin/python$py_version"; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$(command -v "$candidate"); break; fi
  done
  [ -n "$python" ] || { echo "Python $py_version not found (pyenv or PATH)" >&2; exit 1; }
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q -r "$reqs" >&2
  touch "$venv/.complete"
fi
# ansible-test's pip bootstrap comes from a host this machine cannot reach: stand it in.
# The benchmarks never run ansible-test, so their venv skips it (and its pip download).
if [ "$flavour" != bench ]; then
  "$venv/bin/python" "$here/ansible-test-offline.py" >&2
fi
echo "$venv"
