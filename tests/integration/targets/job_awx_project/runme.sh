#!/usr/bin/env bash
# An AWX-style project run against the local cluster, the way AWX runs it:
# 1. the collection is built into a tarball and installed from it into the project's own
#    collections/ directory (AWX installs collections/requirements.yml at project sync);
# 2. ansible-playbook runs the project playbook with the project as working directory and no
#    other collection path, so the installed copy is the one used;
# 3. the container group comes from a state file given by extra var, by the
#    CONTAINER_GROUPS_STATE_FILE environment variable, or from AWX's Kubernetes bearer token
#    credential (K8S_AUTH_* environment variables);
# each job must run in a Pod (the target prints the Pod's hostname) and leave no Pod behind.
# No `set -x`: the token must not be echoed.
set -eu

here=$(pwd)
config=$(../setup_integration_config/files/integration_config.sh)
cfg() { ../setup_integration_config/files/integration_config.sh "$1"; }
namespace=$(cfg cg_test_namespace)
image=$(cfg cg_test_image)
ca_file=$(cfg cg_test_ca_file)

# The collection under test: the first entry of ANSIBLE_COLLECTIONS_PATH that holds it.
collection=""
IFS=: read -r -a paths <<< "${ANSIBLE_COLLECTIONS_PATH:-}"
for path in "${paths[@]}"; do
  if [ -f "$path/ansible_collections/ephemeral/container_groups/galaxy.yml" ]; then
    collection=$path/ansible_collections/ephemeral/container_groups
    break
  fi
done
[ -n "$collection" ] || { echo "ephemeral.container_groups not found in ANSIBLE_COLLECTIONS_PATH" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/job_awx_project.XXXXXX")
chmod 700 "$work"
trap 'rm -rf "$work"' EXIT
project=$work/project
mkdir -p "$work/dist" "$work/home" "$work/tmp" "$work/no-collections" "$work/state"

# As in AWX: only the project's collections, a HOME of its own (so no
# ~/.ansible/container_groups.yml), a private TMPDIR.
awx_env=(env -u CONTAINER_GROUPS_STATE_FILE
  ANSIBLE_COLLECTIONS_PATH="$work/no-collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
  HOME="$work/home" TMPDIR="$work/tmp" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0)

echo "== build the collection and install it into the project's collections/ from the tarball"
ansible-galaxy collection build "$collection" --output-path "$work/dist"
tarball=$(ls "$work"/dist/ephemeral-container_groups-*.tar.gz)
if tar -tzf "$tarball" | grep -E 'integration_config\.yml|tests/output/'; then
  echo "FAIL: the tarball holds test output or the integration config (with its token)" >&2
  exit 1
fi
cp -R files/awx_project "$project"
# The project names the collection by name; AWX would fetch it from a Galaxy server. Here the
# same requirement is pointed at the tarball in a generated requirements file.
python "$here/files/requirements_from_tarball.py" "$project/collections/requirements.yml" "$tarball" "$work/requirements.yml"
# Installed as a project sync would, without the tree under test on any collections path.
"${awx_env[@]}" ansible-galaxy collection install -r "$work/requirements.yml" -p "$project/collections"
installed=$project/collections/ansible_collections/ephemeral/container_groups
test -f "$installed/MANIFEST.json"
test -f "$installed/playbooks/run.yml"

# AWX's Demo Inventory: localhost, local connection, the Python that runs Ansible.
printf '%s\n' 'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"' > "$work/inventory.ini"
override=$(printf '{"metadata": {"namespace": "%s"}, "spec": {"containers": [{"image": "%s", "args": ["sleep", "infinity"]}]}}' "$namespace" "$image")

echo "== a state file for the extra-var and environment cases"
"${awx_env[@]}" ANSIBLE_COLLECTIONS_PATH="$project/collections" \
  ansible-playbook -i "$work/inventory.ini" "$here/define_group.yml" -e "@$config" \
  -e "state_file=$work/state/container_groups.yml" -e group=awx-project -e "{\"pod_spec_override\": $override}" "$@"

check_job() { # name group log
  local name=$1 group=$2 log=$3 pod
  pod=$(sed -n "s|^Pod $namespace/\(cg-[a-z0-9-]*\) created for container group '$group'.*|\1|p" "$log" | head -n1)
  [ -n "$pod" ] || { echo "FAIL ($name): no 'Pod ... created' line for group $group" >&2; exit 1; }
  grep -q "AWX-PROJECT-RESULT hostname=$pod motd=Hello from the AWX sample project" "$log" \
    || { echo "FAIL ($name): the project playbook did not report running in Pod $pod" >&2; exit 1; }
  grep -q "^Pod $namespace/$pod deleted" "$log" \
    || { echo "FAIL ($name): no 'Pod $namespace/$pod deleted' line" >&2; exit 1; }
  grep -Eq "recap: \['localhost +: ok=4 +changed=1 +unreachable=0 +failed=0 " "$log" \
    || { echo "FAIL ($name): the project playbook's recap is not ok=4 changed=1 failed=0" >&2; exit 1; }
  if grep -qFf <(cfg cg_test_token) "$log"; then
    echo "FAIL ($name): the token appears in the output" >&2; exit 1
  fi
  python "$here/check_pods.py" "$config" "$group" "$pod"
}

# N random bytes as URL-safe base64 without padding, then a newline: what Python's
# secrets.token_urlsafe(N) prints (ceil(4N/3) characters of A-Z a-z 0-9 - _), for N up to 57
# (base64 wraps longer output).
token_urlsafe() { head -c "$1" /dev/urandom | base64 | tr '+/' '-_' | tr -d '='; }

run_project() { # name log extra-args...
  local name=$1 log=$2; shift 2
  echo "== $name"
  (cd "$project" && "$@") > "$log" 2>&1 || { cat "$log"; echo "FAIL ($name): ansible-playbook failed" >&2; exit 1; }
  cat "$log"
}

run_project "state file by extra var" "$work/extra-var.log" \
  "${awx_env[@]}" ansible-playbook -i "$work/inventory.ini" run_in_container_group.yml \
  -e container_group=awx-project -e "state_file=$work/state/container_groups.yml"
check_job "state file by extra var" awx-project "$work/extra-var.log"

run_project "state file by CONTAINER_GROUPS_STATE_FILE" "$work/env.log" \
  "${awx_env[@]}" CONTAINER_GROUPS_STATE_FILE="$work/state/container_groups.yml" \
  ansible-playbook -i "$work/inventory.ini" run_in_container_group.yml -e container_group=awx-project
check_job "state file by CONTAINER_GROUPS_STATE_FILE" awx-project "$work/env.log"

# AWX's "OpenShift or Kubernetes API Bearer Token" credential injects these variables (the CA
# certificate as a file path); the group's override comes as an extra var (a dict, as from a
# survey). Exported in a subshell, so the token is in no command line.
(
  K8S_AUTH_HOST=$(cfg cg_test_host)
  K8S_AUTH_API_KEY=$(cfg cg_test_token)
  export K8S_AUTH_HOST K8S_AUTH_API_KEY K8S_AUTH_VERIFY_SSL=True K8S_AUTH_SSL_CA_CERT="$ca_file"
  run_project "group from the job's Kubernetes credential (K8S_AUTH_*)" "$work/k8s-auth.log" \
    "${awx_env[@]}" ansible-playbook -i "$work/inventory.ini" run_in_container_group.yml \
    -e container_group=awx-k8s-auth -e "{\"container_group_pod_spec_override\": $override}"
)
check_job "group from the job's Kubernetes credential" awx-k8s-auth "$work/k8s-auth.log"
# The job's private state file (made by ansible.builtin.tempfile under TMPDIR) holds the token: 0600.
state=$(find "$work/tmp" -name container_groups.yml -path '*.container-groups/*')
[ "$(stat -c %a "$state")" = 600 ] || { echo "FAIL: the job's state file $state is not 0600" >&2; exit 1; }
echo "== the project's hosts playbook with the Machine and Vault credentials, as a custom credential type injects them"
# docs/awx.md's credential type: AWX writes the key and the vault password to files of the
# job's private data directory (group-readable, as AWX does) and hands their paths and the
# other inputs to ansible-playbook in an extra-vars file. The project's inventory (group web)
# and its vaulted group_vars are made here, since the hosts' addresses are the cluster's.
read -r -a ssh_hosts <<<"$(cfg cg_test_ssh_hosts)"
private=$work/private_data_dir
mkdir -p "$private/env" "$project/inventory/group_vars/web"
token_urlsafe 18 > "$private/vault_password"
vault_word=$(token_urlsafe 12)
cp "$(cfg cg_test_ssh_key)" "$private/ssh_key"
chmod 0660 "$private/ssh_key" "$private/vault_password"
{ echo "[web]"; i=0; for ip in "${ssh_hosts[@]}"; do i=$((i + 1)); echo "web$i ansible_host=$ip"; done; } > "$project/inventory/hosts"
echo 'ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null' > "$project/inventory/group_vars/web/vars.yml"
printf 'vault_word: "%s"\n' "$vault_word" > "$project/inventory/group_vars/web/vault.yml"
"${awx_env[@]}" ansible-vault encrypt --vault-id "awx@$private/vault_password" "$project/inventory/group_vars/web/vault.yml" >/dev/null
(umask 077; cat > "$private/env/extravars" <<YML
job_remote_user: $(cfg cg_test_ssh_user)
job_private_key_file: $private/ssh_key
job_private_key_passphrase: ""
job_become_method: sudo
job_become_password: "$(cfg cg_test_ssh_become_password)"
job_vault_password_file: awx@$private/vault_password
YML
)
run_project "hosts playbook with the injected credentials" "$work/hosts.log" \
  "${awx_env[@]}" ansible-playbook -i "$work/inventory.ini" run_in_container_group.yml \
  -e container_group=awx-project -e "state_file=$work/state/container_groups.yml" \
  -e playbook=configure_hosts.yml -e inventory=inventory/hosts -e "@$private/env/extravars"
grep -Eq "'web1': \{'ok': 1, 'changed': 1, 'failed': 0, 'unreachable': 0" "$work/hosts.log" \
  || { echo "FAIL (hosts): stats do not show web1 changed" >&2; exit 1; }
if grep -qFf <(cfg cg_test_ssh_become_password; cat "$private/vault_password") "$work/hosts.log"; then
  echo "FAIL (hosts): a password appears in the output" >&2; exit 1
fi
want=$(printf '%s' "$vault_word" | sha256sum | cut -d' ' -f1)
for ip in "${ssh_hosts[@]}"; do
  ssh -q -i "$(cfg cg_test_ssh_key)" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    "$(cfg cg_test_ssh_user)@$ip" "cat /etc/cg-awx-project" > "$work/awx-configured.txt" \
    || { echo "FAIL (hosts): $ip was not configured" >&2; exit 1; }
  if ! grep -qx "motd=Hello from the AWX sample project" "$work/awx-configured.txt" \
     || ! grep -qx "vault_word_sha256=$want" "$work/awx-configured.txt"; then
    cat "$work/awx-configured.txt"; echo "FAIL (hosts): $ip has the wrong content" >&2; exit 1
  fi
done
pod=$(sed -n "s|^Pod $namespace/\(cg-[a-z0-9-]*\) created for container group 'awx-project'.*|\1|p" "$work/hosts.log" | head -n1)
python "$here/check_pods.py" "$config" awx-project "$pod"
echo "== all AWX project cases passed"
