#!/usr/bin/env bash
# Creates (once) and prints the path of a cached virtualenv, installed from its lock:
#   tools/venv.sh newest   -> the newest ansible-core and the lint/molecule/changelog tools
#   tools/venv.sh oldest   -> the oldest ansible-core in meta/runtime.yml
#   tools/venv.sh bench    -> the `ansible` package (kubernetes.core), for tools/bench/connection.sh
#   tools/venv.sh importer -> galaxy-importer and the tools it runs, for `tools/test.sh importer`
#   tools/venv.sh lock     -> uv, for `make lock`
# tools/requirements/NAME.in names the direct dependencies and the Python version; NAME.txt
# is its lock (tools/lock.py), every package with its hashes. pip installs the lock alone
# (--no-deps, hashes checked, wheels only), so the venv holds exactly what the lock says.
# The venv lives outside the repo, keyed by the lock's hash, so a clean clone on a warm
# machine reuses it and a changed lock builds a fresh one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
flavour=${1:?usage: venv.sh newest|oldest|bench|importer|lock}
input="$here/requirements/$flavour.in"
lock="$here/requirements/$flavour.txt"
case "$flavour" in
  newest|oldest|bench|importer|lock) ;;
  *) echo "unknown venv flavour: $flavour" >&2; exit 2 ;;
esac
# A lock older than its input, or anything unpinned, stops here rather than being installed.
# Not for `lock`: `make lock` refreshes lock.txt with the uv of the lock.txt before it.
[ "$flavour" = lock ] || python3 "$here/lock.py" check "$flavour" >&2
py_version=$(sed -n 's/^# *python: *\(3\.[0-9]*\) *$/\1/p' "$input")
# shellcheck source=cache-dir.sh
. "$here/cache-dir.sh"
key=$(sha256sum "$lock" | cut -c1-12)
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
  echo "[venv] building $flavour (Python $py_version) from tools/requirements/$flavour.txt" >&2
  rm -rf "$venv"
  # The pip that comes with this Python does the install: upgrading it would be one package
  # outside the lock.
  "$python" -m venv "$venv" >&2
  "$venv/bin/pip" install -q --no-deps --only-binary :all: --require-hashes -r "$lock" >&2
  touch "$venv/.complete"
fi
# ansible-test's pip bootstrap comes from a host this machine cannot reach: stand it in.
case "$flavour" in
  newest|oldest) "$venv/bin/python" "$here/ansible-test-offline.py" >&2 ;;
esac
echo "$venv"
