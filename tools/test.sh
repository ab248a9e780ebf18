#!/usr/bin/env bash
# The project's test runner. `make test` runs `tools/test.sh all`.
#   sanity       ansible-test sanity on the oldest and the newest ansible-core (no ignore file)
#   units        ansible-test units on both
#   lint         ansible-lint on roles, playbooks and the molecule scenario
#   importer     galaxy-importer (what Galaxy and Automation Hub run on an upload) on the
#                built tarball: no error and no warning
#   typecheck    mypy on plugins/ (tools/mypy.sh)
#   integration  ansible-test integration against the running local cluster (newest core)
#   molecule     the molecule scenario (extensions/molecule) against the local cluster
#   locks        every Python environment's lock fits its input (tools/lock.py and its tests)
#   runner       the job's runner starts and follows a target on the oldest Python it promises
# ansible-test needs .../ansible_collections/ephemeral/container_groups, so every step runs
# in a copy made by tools/collection-tree.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
declare -A PYTHON=([oldest]=3.11 [newest]=3.13)
failed=()
# A private copy of the collection for this run, so parallel runs never share one; each
# step refreshes it from the checkout.
# shellcheck source=private-tree.sh
. "$repo/tools/private-tree.sh"
cg_private_tree test

_in_tree() { # flavour command...
  local flavour=$1; shift
  local venv tree
  venv=$("$repo/tools/venv.sh" "$flavour")
  tree=$("$repo/tools/collection-tree.sh")
  (cd "$tree" && PATH="$venv/bin:$PATH" "$@")
}

_step() { # name command...
  local name=$1; shift
  printf '\n=== %s ===\n' "$name"
  local t0=$SECONDS
  if "$@"; then
    printf '=== %s: ok (%ss) ===\n' "$name" "$((SECONDS - t0))"
  else
    printf '=== %s: FAILED (%ss) ===\n' "$name" "$((SECONDS - t0))"
    failed+=("$name")
  fi
}

_on_both() { # ansible-test command, on the oldest and the newest ansible-core
  local f
  for f in oldest newest; do
    _step "$1 ($f ansible-core, Python ${PYTHON[$f]})" \
      _in_tree "$f" ansible-test "$1" --python "${PYTHON[$f]}" --requirements --color no
  done
}

lint() {
  _step "ansible-lint" _in_tree newest env ANSIBLE_COLLECTIONS_PATH="$CG_TREE_ROOT" ansible-lint --offline --strict roles playbooks extensions
}

_galaxy_importer() {
  # The tarball `ansible-galaxy collection build` makes (galaxy.yml's build_ignore applied),
  # imported as Galaxy and Automation Hub import an upload: ansible-doc on every plugin,
  # flake8 on the Python, ansible-lint on the whole collection, the changelog checked.
  # ansible-test is left to the sanity step. Everything it writes stays in this run's tree.
  local venv tree work rc=0 problems
  # A step runs as an `if` condition, where set -e does not stop it: each failure returns.
  venv=$("$repo/tools/venv.sh" importer) || return 1
  tree=$("$repo/tools/collection-tree.sh") || return 1
  work=$(mktemp -d "$CG_TREE_ROOT/importer.XXXXXX") || return 1
  mkdir "$work/dist" "$work/extract" "$work/ansible-tmp"
  (cd "$tree" && PATH="$venv/bin:$PATH" ansible-galaxy collection build --output-path "$work/dist") || return 1
  cat > "$work/galaxy-importer.cfg" <<CFG
[galaxy-importer]
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
RUN_FLAKE8 = True
CHECK_CHANGELOG = True
TMP_ROOT_DIR = $work/extract
ANSIBLE_LOCAL_TMP = $work/ansible-tmp
CFG
  # It runs ansible-doc, ansible-lint and flake8 from PATH, and writes importer_result.json
  # to its working directory.
  (cd "$work" && GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" PATH="$venv/bin:$PATH" \
    "$venv/bin/python" -m galaxy_importer.main "$work"/dist/*.tar.gz >"$work/out" 2>"$work/err") || rc=$?
  cat "$work/out"
  # Its log prints INFO bare and every other level as "LEVEL: message" on stdout (each
  # ansible-lint and flake8 finding is a WARNING). Its modules' own loggers have no handler,
  # so what they say reaches stderr without a level, as do Python's warnings: any stderr
  # counts as a problem too.
  problems=$(grep -cE '^(WARNING|ERROR|CRITICAL): ' "$work/out" || true)
  if [ -s "$work/err" ]; then
    echo "--- galaxy-importer stderr:"
    cat "$work/err"
    problems=$((problems + $(grep -c "" "$work/err")))
  fi
  echo "galaxy-importer exit status $rc, $problems warning or error line(s)"
  [ "$rc" -eq 0 ] && [ "$problems" -eq 0 ]
}

galaxy_importer() {
  _step "galaxy-importer (built tarball)" _galaxy_importer
}

_write_integration_config() {
  # The cluster's test credential, handed to every target as variables.
  local tree=$1
  # shellcheck disable=SC1090
  . <("$repo/tools/localcluster/cluster.sh" env)
  umask 077
  cat > "$tree/tests/integration/integration_config.yml" <<CFG
cg_test_host: $CG_TEST_HOST
cg_test_token: $CG_TEST_TOKEN
cg_test_ca_file: $CG_TEST_CA_FILE
cg_test_namespace: $CG_TEST_NAMESPACE
cg_test_other_namespace: $CG_TEST_OTHER_NAMESPACE
cg_test_restricted_namespace: $CG_TEST_RESTRICTED_NAMESPACE
cg_test_quota_namespace: $CG_TEST_QUOTA_NAMESPACE
cg_test_image: $CG_TEST_IMAGE
cg_test_registry: $CG_TEST_REGISTRY
cg_test_auth_registry: $CG_TEST_AUTH_REGISTRY
cg_test_auth_registry_user: $CG_TEST_AUTH_REGISTRY_USER
cg_test_auth_registry_password: "$CG_TEST_AUTH_REGISTRY_PASSWORD"
cg_test_pull_namespace: $CG_TEST_PULL_NAMESPACE
cg_test_kubeconfig: $KUBECONFIG
cg_cluster_script: $repo/tools/localcluster/cluster.sh
cg_test_ssh_hosts: "$CG_TEST_SSH_HOSTS"
cg_test_ssh_user: $CG_TEST_SSH_USER
cg_test_ssh_key: $CG_TEST_SSH_KEY
cg_test_ssh_become_password: "$CG_TEST_SSH_BECOME_PASSWORD"
CFG
}

_integration() { # targets...
  local venv tree
  venv=$("$repo/tools/venv.sh" newest)
  tree=$("$repo/tools/collection-tree.sh")
  _write_integration_config "$tree"
  (cd "$tree" && PATH="$venv/bin:$PATH" \
    ansible-test integration --python "${PYTHON[newest]}" --requirements --color no "$@")
}

integration() {
  _step "integration (newest ansible-core, Python ${PYTHON[newest]})" _integration "$@"
}

_locks() {
  local venv
  venv=$("$repo/tools/venv.sh" newest)
  python3 "$repo/tools/lock.py" check && echo "every lock fits its input" &&
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "$repo/tools/tests"
}

locks() {
  _step "locks (tools/requirements)" _locks
}

# The runner runs in the Pod under the image's python3; it promises 3.6 (its docstring).
RUNNER_PYTHON=3.6
_runner_compat() {
  local python runner dir out
  python=$(find "$HOME"/.pyenv/versions -maxdepth 3 -path "*/$RUNNER_PYTHON.*/bin/python3" 2>/dev/null | sort | head -1)
  [ -n "$python" ] || { echo "no Python $RUNNER_PYTHON to check the runner with (pyenv)" >&2; return 1; }
  runner="$repo/plugins/plugin_utils/_job/in_pod/runner.py"
  dir=$(mktemp -d)
  # A whole start and follow, as the job does them: the runner must import, start and stream.
  out=$("$python" "$runner" start "$dir" 30 sh -c 'echo runner-ok' && "$python" "$runner" follow "$dir" 0 2>&1)
  rm -rf "$dir"
  echo "$("$python" --version 2>&1): $out" | tr '\n' ' '; echo
  [[ "$out" == *runner-ok* ]]
}

runner() {
  _step "runner (Python $RUNNER_PYTHON)" _runner_compat
}

typecheck() {
  _step "mypy" "$repo/tools/mypy.sh"
}

molecule() {
  _step "molecule (extensions/molecule/default)" "$repo/tools/molecule.sh" test
}

case "${1:-all}" in
  sanity|units) _on_both "$1" ;;
  locks) locks ;;
  runner) runner ;;
  typecheck) typecheck ;;
  lint) lint ;;
  importer) galaxy_importer ;;
  integration) shift; integration "$@" ;;
  molecule) molecule ;;
  all) locks; runner; _on_both sanity; _on_both units; lint; galaxy_importer; typecheck; integration; molecule ;;
  *) echo "usage: tools/test.sh all|locks|runner|sanity|units|lint|importer|typecheck|integration [targets]|molecule" >&2; exit 2 ;;
esac

if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED steps: %s\n' "${failed[*]}"
  exit 1
fi
printf '\nall test steps passed\n'
