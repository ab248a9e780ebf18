#!/usr/bin/env bash
# The local single-node Kubernetes: real etcd, kube-apiserver, controller-manager,
# scheduler, kubelet, containerd + runc and the CNI bridge, started as plain processes.
#   cluster.sh up      build what is missing, start everything, wait for a Ready node
#   cluster.sh down    stop everything and remove every trace (the list OURS: processes,
#                      mounts, netns, links, iptables, cgroups, files, state); safe twice
#   cluster.sh env     print export lines for the admin kubeconfig and the test credential
#   cluster.sh status  say what runs (and the extra flags a `restart ... --` gave it)
#   cluster.sh verify-clean  fail if anything of ours is left after `down`
#   cluster.sh restart COMPONENT [--kill] [-- EXTRA-FLAG...]
#                      fault injection: stop one component (SIGTERM, SIGKILL if it has not
#                      exited after 15 s; --kill: SIGKILL at once, a crash), start it again
#                      with the command line `up` gives it plus EXTRA-FLAG..., and wait until
#                      it is healthy again. The extra flags are kept in
#                      $CG_RUN_DIR/extra-flags/COMPONENT until the next restart of that
#                      component without `--`, or `down`. COMPONENT: registry,
#                      registry-auth, etcd, containerd, kube-apiserver,
#                      kube-controller-manager, kube-scheduler or kubelet.
# `up` and `restart` start a component with the same code (_start_component) and check it
# with the same code (_component_ok).
# The config files it writes (kubeconfigs, containerd, CNI, kubelet, registry, env.sh) are
# rendered from templates/ by _render.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LC_DIR/pki.sh"

PIDS="$CG_RUN_DIR/pids"
LOGS="$CG_CLUSTER_DIR/logs"
# Extra flags of `restart COMPONENT -- FLAG...`, one argument a line; gone with `down`.
EXTRA_FLAGS="$CG_RUN_DIR/extra-flags"
COMPONENTS=(registry registry-auth etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet)

# A zombie (exited, not yet reaped by whoever inherited it) answers kill -0 but runs no more.
_proc_running() { kill -0 "$1" 2>/dev/null && [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]; }
_pid_alive() { local f="$PIDS/$1.pid"; [ -f "$f" ] && _proc_running "$(cat "$f")"; }

# _extra_flags NAME: sets the array extra to the flags a `restart NAME -- FLAG...` stored.
_extra_flags() {
  extra=()
  [ ! -f "$EXTRA_FLAGS/$1" ] || mapfile -t extra < "$EXTRA_FLAGS/$1"
}

_start() { # name cmd...  -- runs a daemon in its own session, logging to $LOGS/name.log
  local name=$1 extra; shift
  _pid_alive "$name" && return 0
  _extra_flags "$name"
  # An explicit umask: containerd creates every container's root directory with it, and a
  # caller's 077 would lock non-root container users out of their own filesystem.
  (umask 022; exec setsid "$@" "${extra[@]}" >>"$LOGS/$name.log" 2>&1 < /dev/null) &
  echo $! > "$PIDS/$name.pid"
}

# _stop_component NAME GRACE: SIGTERM, and SIGKILL if NAME has not exited after GRACE
# seconds (GRACE 0: SIGKILL at once, a crash); then waits until the process is gone. Sets
# STOPPED to what happened, for the caller's log line. Fails, leaving the pid file, if the
# process outlives SIGKILL by 5 s; otherwise removes the pid file.
STOPPED=
_stop_component() {
  local name=$1 grace=$2 f="$PIDS/$1.pid" pid i t0
  STOPPED="was not running"
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if _proc_running "$pid"; then
    t0=$(_now_us)
    if (( grace > 0 )); then
      kill -TERM "$pid" 2>/dev/null || true
      for (( i = 0; i < grace * 10; i++ )); do _proc_running "$pid" || break; sleep 0.1; done
    fi
    if ! _proc_running "$pid"; then
      STOPPED="stopped (SIGTERM, exited after $(_secs_since "$t0") s)"
    else
      kill -KILL "$pid" 2>/dev/null || true
      STOPPED="killed (SIGKILL)"
      (( grace == 0 )) || STOPPED="did not exit within ${grace} s of SIGTERM, killed (SIGKILL)"
      for (( i = 0; i < 50; i++ )); do _proc_running "$pid" || break; sleep 0.1; done
      _proc_running "$pid" && return 1
    fi
  fi
  rm -f "$f"
}

_now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; } # microseconds since the epoch
_secs_since() { # START-US: the seconds since then, one decimal
  local d=$(( $(_now_us) - $1 ))
  printf '%d.%d' $(( d / 1000000 )) $(( d % 1000000 / 100000 ))
}

_wait_for() { # description timeout-seconds command...
  local what=$1 timeout=$2 start=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start > timeout )); then
      die "timed out after ${timeout}s waiting for $what (logs: $LOGS)"
    fi
    sleep 0.5
  done
}

# _render TEMPLATE DEST [MODE]: writes templates/TEMPLATE to DEST with every ${NAME} in it
# replaced by the value of the shell variable NAME where _render is called (a caller's local
# variables count). Only the names the template spells as ${NAME} are substituted (envsubst
# gets them as an explicit list), and one that is not set is an error, not an empty string.
# Without MODE the file gets the caller's umask, as `cat >` would; with MODE it is created
# under umask 077 and then set to MODE, so a secret is never readable by others, even for a
# moment. It is written beside DEST and renamed, so nobody reads half a file.
# shellcheck disable=SC2016  # the ${NAME} in single quotes are meant literally
_render() {
  local template="$LC_DIR/templates/$1" dest=$2 mode=${3:-} names name
  mapfile -t names < <(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' "$template" | tr -d '${}' | sort -u)
  for name in "${names[@]}"; do
    [ -n "${!name+set}" ] || die "template $1: \${$name} is not set"
  done
  # A subshell, so the private umask cannot leak into the daemons started later, nor the
  # exports into their environment. `export`, not `env NAME=value`: the values (the test
  # token) stay off the command line, which ps shows to every user.
  (
    [ -z "$mode" ] || umask 077
    [ ${#names[@]} -eq 0 ] || export "${names[@]}"
    envsubst "$(printf '${%s} ' "${names[@]}")" < "$template" > "$dest.tmp"
  )
  [ -z "$mode" ] || chmod "$mode" "$dest.tmp"
  mv "$dest.tmp" "$dest"
}

_write_configs() {
  mkdir -p "$CG_CLUSTER_DIR"/{etcd,containerd,kubelet,cni/net.d,cni/ipam,registry} "$LOGS" "$PIDS"
  chmod 0700 "$CG_CLUSTER_DIR"
  mkdir -p "$CG_CACHE_DIR/registry"
  _render registry.yml.in "$CG_CLUSTER_DIR/registry/config.yml"
  _write_registry_auth
  _render containerd.toml.in "$CG_CLUSTER_DIR/containerd/config.toml"
  _render cni-bridge.conflist.in "$CG_CLUSTER_DIR/cni/net.d/10-$CG_CNI_NETWORK.conflist"
  _render kubelet-config.yaml.in "$CG_CLUSTER_DIR/kubelet/config.yaml"
}

# The registry that requires a login (for the image pull credential tests): the same storage
# as the open one, served on its own port with htpasswd auth. The password is made for this
# cluster (0600, in its state directory) and reaches htpasswd on stdin, not its command line.
_write_registry_auth() {
  local dir="$CG_CLUSTER_DIR/registry"
  [ -f "$dir/pull_password" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/pull_password")
  (umask 077; htpasswd -niB "$CG_REGISTRY_AUTH_USER" < "$dir/pull_password" > "$dir/htpasswd" 2>/dev/null) \
    || die "htpasswd failed (package apache2-utils)"
  _render registry-auth.yml.in "$dir/auth-config.yml"
}

_ensure_node_ip() {
  ip link show "$CG_NODE_IFACE" >/dev/null 2>&1 || ip link add "$CG_NODE_IFACE" type bridge
  ip addr show dev "$CG_NODE_IFACE" | grep -q "$CG_NODE_IP/" || ip addr add "$CG_NODE_IP/32" dev "$CG_NODE_IFACE"
  ip link set "$CG_NODE_IFACE" up
  sysctl -qw net.ipv4.ip_forward=1
}

# _start_component NAME: starts one component with the command line `up` gives it, plus the
# extra flags a `restart NAME -- FLAG...` stored (_start appends them). Returns at once; the
# caller waits for _component_ok if it needs the component.
_start_component() {
  local b=$CG_BIN_DIR pki="$CG_CLUSTER_DIR/pki"
  case $1 in
    registry)
      _start registry /usr/bin/docker-registry serve "$CG_CLUSTER_DIR/registry/config.yml" ;;
    registry-auth)
      _start registry-auth /usr/bin/docker-registry serve "$CG_CLUSTER_DIR/registry/auth-config.yml" ;;
    etcd)
      _start etcd "$b/etcd" --name cg-etcd --data-dir "$CG_CLUSTER_DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$CG_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$CG_ETCD_PORT" \
        --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
        --initial-cluster cg-etcd=http://127.0.0.1:23800 --log-level warn --quota-backend-bytes 2147483648 ;;
    containerd)
      _start containerd /usr/bin/containerd --config "$CG_CLUSTER_DIR/containerd/config.toml" ;;
    kube-apiserver)
      _start kube-apiserver "$b/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$CG_ETCD_PORT" \
        --bind-address 0.0.0.0 --secure-port "$CG_API_PORT" --advertise-address "$CG_NODE_IP" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" \
        --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
        --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$pki/ca.crt" \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
        --service-cluster-ip-range "$CG_SERVICE_CIDR" \
        --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
        --kubelet-preferred-address-types InternalIP,Hostname \
        --allow-privileged=true --profiling=false --v=1 ;;
    kube-controller-manager)
      _start kube-controller-manager "$b/kube-controller-manager" \
        --kubeconfig "$CG_CLUSTER_DIR/controller-manager.kubeconfig" \
        --authentication-kubeconfig "$CG_CLUSTER_DIR/controller-manager.kubeconfig" \
        --authorization-kubeconfig "$CG_CLUSTER_DIR/controller-manager.kubeconfig" \
        --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
        --use-service-account-credentials=true --leader-elect=false --bind-address 127.0.0.1 \
        --controllers '*,-cloud-node-lifecycle' --profiling=false ;;
    kube-scheduler)
      _start kube-scheduler "$b/kube-scheduler" --kubeconfig "$CG_CLUSTER_DIR/scheduler.kubeconfig" \
        --authentication-kubeconfig "$CG_CLUSTER_DIR/scheduler.kubeconfig" \
        --authorization-kubeconfig "$CG_CLUSTER_DIR/scheduler.kubeconfig" \
        --leader-elect=false --bind-address 127.0.0.1 --profiling=false ;;
    kubelet)
      # Flags given after the --config file win over it for most settings (the kubelet
      # parses its command line again on top of the file).
      _start kubelet "$b/kubelet" --config "$CG_CLUSTER_DIR/kubelet/config.yaml" \
        --kubeconfig "$CG_CLUSTER_DIR/kubelet.kubeconfig" --root-dir "$CG_CLUSTER_DIR/kubelet" \
        --hostname-override "$CG_NODE_NAME" --node-ip "$CG_NODE_IP" --v=1 ;;
    *) die "unknown component: $1" ;;
  esac
}

# _component_ok NAME [SINCE]: NAME answers as the rest of the cluster needs it. `up` waits
# for this for etcd, containerd and kube-apiserver; `restart` for every component. For the
# kubelet, SINCE (epoch seconds) asks for a Ready condition the node reported after then:
# the node object stays Ready for a while after its kubelet is gone.
_component_ok() {
  local pki="$CG_CLUSTER_DIR/pki"
  case $1 in
    registry) curl -sf "http://$CG_REGISTRY/v2/" ;;
    # It answers, and asks who is there.
    registry-auth) [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$CG_REGISTRY_AUTH/v2/")" = 401 ] ;;
    etcd) curl -sf "http://127.0.0.1:$CG_ETCD_PORT/health" ;;
    # The socket file alone outlives a killed containerd: ask the daemon behind it.
    containerd) test -S "$CG_CONTAINERD_SOCK" && /usr/bin/ctr --address "$CG_CONTAINERD_SOCK" --connect-timeout 2s version ;;
    kube-apiserver) curl -sf --cacert "$pki/ca.crt" \
      --cert "$pki/admin.crt" --key "$pki/admin.key" "$CG_API_HOST/readyz" ;;
    # Their default secure ports; /healthz is open to anonymous requests there.
    kube-controller-manager) curl -sfk https://127.0.0.1:10257/healthz ;;
    kube-scheduler) curl -sfk https://127.0.0.1:10259/healthz ;;
    kubelet) curl -sf http://127.0.0.1:10248/healthz && _node_ready "${2:-0}" ;;
    *) die "unknown component: $1" ;;
  esac
}

_start_all() {
  _start_component registry
  _start_component registry-auth
  _start_component etcd
  _start_component containerd
  _wait_for "etcd" 60 _component_ok etcd
  _start_component kube-apiserver
  _wait_for "kube-apiserver /readyz" 120 _component_ok kube-apiserver
  _start_component kube-controller-manager
  _start_component kube-scheduler
  _wait_for "containerd" 60 _component_ok containerd
  _start_component kubelet
}

_push_images() {
  # The registry's storage is a cache outside the cluster state: push only what is missing.
  local ref layout
  for pair in "pause:3.10|$CG_IMAGE_DIR/pause-$KUBERNETES_VERSION:3.10" \
              "$CG_EE_IMAGE_NAME:$CG_EE_IMAGE_TAG|$CG_IMAGE_DIR/ee-$EE_DEBIAN_SUITE-$CG_EE_IMAGE_TAG:$CG_EE_IMAGE_TAG" \
              "$CG_SSHD_IMAGE_NAME:$CG_SSHD_IMAGE_TAG|$CG_IMAGE_DIR/sshd-$CG_SSHD_IMAGE_TAG:$CG_SSHD_IMAGE_TAG"; do
    ref=${pair%%|*}; layout=${pair#*|}
    if ! curl -sf "http://$CG_REGISTRY/v2/${ref%%:*}/manifests/${ref##*:}" \
         -H 'Accept: application/vnd.oci.image.manifest.v1+json' >/dev/null; then
      log "pushing $ref to the local registry"
      skopeo copy -q --dest-tls-verify=false "oci:$layout" "docker://$CG_REGISTRY/$ref"
    fi
  done
}

_apply_manifests() {
  _kubectl apply -f "$LC_DIR/manifests/" >/dev/null
}

# The SSH test hosts: a key pair and a sudo password made for this cluster (0600, in its
# state directory), given to the hosts in a Secret, and the Pods, Ready with an address.
_start_ssh_hosts() {
  local dir="$CG_CLUSTER_DIR/ssh" host
  mkdir -p "$dir" && chmod 0700 "$dir"
  [ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$CG_SSH_USER@cg-localcluster" -f "$dir/id_ed25519"
  [ -f "$dir/become_password" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/become_password")
  _kubectl -n "$CG_TEST_NAMESPACE" create secret generic cg-ssh-hosts --dry-run=client -o yaml \
    --from-file=authorized_keys="$dir/id_ed25519.pub" --from-file=become_password="$dir/become_password" \
    | _kubectl apply -f - >/dev/null
  for host in "${CG_SSH_HOSTS[@]}"; do
    ssh_host=$host _render ssh-host.yaml.in "$dir/$host.yaml"
    _kubectl apply -f "$dir/$host.yaml" >/dev/null
  done
  for host in "${CG_SSH_HOSTS[@]}"; do
    _wait_for "SSH test host $host Ready" 120 _kubectl -n "$CG_TEST_NAMESPACE" wait --for=condition=Ready --timeout=2s "pod/$host"
  done
  # shellcheck disable=SC2034  # both are read by _render (env.sh.in)
  ssh_hosts=$(for host in "${CG_SSH_HOSTS[@]}"; do
    _kubectl -n "$CG_TEST_NAMESPACE" get pod "$host" -o jsonpath='{.status.podIP}'; echo; done | paste -sd ' ')
  # shellcheck disable=SC2034
  become_password=$(cat "$dir/become_password")
  # shellcheck disable=SC2034  # read by _render (env.sh.in)
  pull_password=$(cat "$CG_CLUSTER_DIR/registry/pull_password")
}

_write_env() {
  local token="" start=$SECONDS
  until token=$(_kubectl -n "$CG_TEST_NAMESPACE" get secret cg-runner-token -o jsonpath='{.data.token}' 2>/dev/null) && [ -n "$token" ]; do
    (( SECONDS - start > 60 )) && die "the token controller did not fill secret $CG_TEST_NAMESPACE/cg-runner-token"
    sleep 0.5
  done
  token=$(printf '%s' "$token" | base64 -d)
  # The token is a secret: the file is 0600 from its first byte. _healthy takes an env.sh
  # that exists as the sign of a finished `up`, so it must never be seen half written.
  _render env.sh.in "$CG_CLUSTER_DIR/env.sh" 0600
}

# _ready_condition: prints the status of the node's Ready condition and when the kubelet last
# reported it (its lastHeartbeatTime, in epoch seconds), e.g. "True 1764627899".
_ready_condition() {
  local cond status beat
  cond=$(_kubectl get node "$CG_NODE_NAME" -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.lastHeartbeatTime}{end}' 2>/dev/null) || return 1
  read -r status beat <<<"$cond"
  beat=$(date -d "$beat" +%s 2>/dev/null) || return 1
  echo "$status $beat"
}

_node_ready() { # [SINCE]: and the kubelet reported it later than SINCE (epoch seconds)
  local cond status beat
  cond=$(_ready_condition) || return 1
  read -r status beat <<<"$cond"
  [ "$status" = True ] && (( beat > ${1:-0} ))
}

_healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do _pid_alive "$c" || return 1; done
  _node_ready && [ -f "$CG_CLUSTER_DIR/env.sh" ]
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "the local cluster needs root (it runs containerd and the kubelet)"
  # No mkdir here: a directory that exists is the sign of an earlier cluster (below).
  if _healthy; then log "cluster already up"; return 0; fi
  # A cluster that is half up, or whose processes were killed (a session that ended, a
  # reboot), leaves mounts, netns and rules behind: start from a clean slate instead.
  if [ -e "$CG_CLUSTER_DIR" ] || [ -e "$CG_RUN_DIR" ]; then
    log "cleaning up an earlier cluster that is not healthy"
    cmd_down
  fi
  local t0=$SECONDS
  "$LC_DIR/build.sh"
  "$LC_DIR/images.sh" all
  local t_build=$SECONDS
  _write_configs
  pki_init
  _ensure_node_ip
  _start_all
  _push_images
  _wait_for "node $CG_NODE_NAME Ready" 180 _node_ready
  _apply_manifests
  _wait_for "ServiceAccount default in $CG_TEST_NAMESPACE" 60 _kubectl -n "$CG_TEST_NAMESPACE" get serviceaccount default
  _start_ssh_hosts
  _write_env
  # Pre-pull the EE image so the first job does not pay for it; kubelet uses the same store.
  "/usr/bin/ctr" --address "$CG_CONTAINERD_SOCK" -n k8s.io images pull --plain-http "$CG_TEST_IMAGE_REF" >/dev/null
  log "cluster up: node Ready in $((SECONDS - t_build))s after build/images (total $((SECONDS - t0))s)"
}

# ---------------------------------------------------------------------------------------
# What the cluster leaves on this host, in one list for `down` and `verify-clean`.
# Every kind of thing `up` makes here, itself or through what it starts (containerd and its
# shims, runc, the CNI plugins, the kubelet), in the order `down` removes them: processes
# first, since they hold the rest. Each entry is KIND:LABEL. For each KIND, _ours_KIND prints
# every thing of ours of that kind that exists, one a line, and _remove_KIND THING removes
# one, quietly (it may be gone already). `down` removes what the list prints, `verify-clean`
# fails when it prints anything (LABEL names the kind in its report); neither has a list of
# its own.
# What carries no name of ours (a cni- netns, a KUBE- chain, the kubepods cgroups, what the
# kubelet and containerd keep at their fixed paths) is ours because this host runs no other
# Kubernetes node, as the cluster has always assumed.
# Left out on purpose: the caches (binaries, images and the registry's storage in
# $CG_CACHE_DIR; skopeo's blob info cache in /var/lib/containers/cache, shared with podman and
# buildah); the shared directories that hold files of ours (/run/netns, /run/containerd/s,
# /var/lib/cni/results, /var/log/pods, /var/log/containers, /var/lib/kubelet/device-plugins);
# and settings that `up` changes rather than makes: net.ipv4.ip_forward=1 (_ensure_node_ip and
# the bridge plugin) and the kernel tunables the kubelet sets (vm.overcommit_memory,
# vm.panic_on_oom, kernel.panic, kernel.panic_on_oops, kernel.keys.root_maxkeys/maxbytes).
OURS=(
  "processes:processes"
  "mounts:mounts"
  "netns:network namespaces"
  "links:links"
  "iptables_rules:iptables rules"
  "iptables_chains:iptables chains"
  "cgroups:cgroups"
  "files:files outside the state directories"
  "state:state directories"
)

# Processes: the components, containerd's shims and anything else with our binaries, our
# containerd socket or our state directory on its command line, and every process in the
# kubepods cgroups (the containers). Printed as "PID COMMAND-LINE". Never this script or a
# caller of it, whose command line may name the state directory.
_ours_processes() {
  local pids
  pids=$({ pgrep -f "$CG_BIN_DIR/|$CG_CONTAINERD_SOCK|$CG_CLUSTER_DIR" || true; _cgroup_procs; } \
    | sort -un | grep -vxF -f <(_ancestors) | paste -sd, || true)
  [ -z "$pids" ] || ps -o pid=,args= -p "$pids" | sed 's/^ *//' || true
}
_cgroup_procs() { # the pids in our cgroups (every hierarchy: a cgroup v1 host has several)
  local cg
  while read -r cg; do
    find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done < <(_ours_cgroups)
}
_ancestors() { # this script and the processes above it, one pid a line
  local pid=$$
  while [ "$pid" -gt 1 ] 2>/dev/null; do
    echo "$pid"
    pid=$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ') || break
  done
}
# SIGKILL, if the pid still runs the command line it was listed with (not a reused pid), and
# a moment for it to go, so that what it held (a netns, a mount) is free for the kinds below.
_remove_processes() {
  local pid=${1%% *} i
  [ "$(ps -o pid=,args= -p "$pid" 2>/dev/null | sed 's/^ *//')" = "$1" ] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  for (( i = 0; i < 50; i++ )); do _proc_running "$pid" || break; sleep 0.1; done
}

# Mounts under the state directories: the containers' root filesystems, the sandboxes' shm,
# the kubelet's volumes. The deepest first.
_ours_mounts() {
  findmnt -rn -o TARGET | grep -E "^($CG_CLUSTER_DIR|$CG_RUN_DIR)(/|$)" | sort -r || true
}
_remove_mounts() { umount -l "$1" 2>/dev/null || true; }

# The Pods' network namespaces: containerd names them cni-<uuid> (in /run/netns).
_ours_netns() { ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ { print $1 }' || true; }
# One that a process still uses stays (deleting its name would only hide it).
_remove_netns() {
  [ -z "$(ip netns pids "$1" 2>/dev/null)" ] || return 0
  ip netns delete "$1" 2>/dev/null || true
}

# Links: each Pod's veth (the bridge plugin's host end: on our bridge or, with the bridge
# gone, its peer in a Pod's netns), the CNI bridge, and the node's interface (_ensure_node_ip).
_ours_links() {
  local link
  ip -o link show type veth 2>/dev/null | awk -v master=" master $CG_BRIDGE " '
    index($0, master) || / link-netns cni-/ { name = $2; sub(/@.*/, "", name); sub(/:$/, "", name); print name }' || true
  for link in "$CG_BRIDGE" "$CG_NODE_IFACE"; do
    if ip link show "$link" >/dev/null 2>&1; then echo "$link"; fi
  done
}
_remove_links() { ip link delete "$1" 2>/dev/null || true; }

# iptables rules, IPv4 and IPv6, in every table, that jump to a chain of ours (below) or name
# our CNI network or Pod network: the kubelet's jumps to KUBE-FIREWALL (filter INPUT, OUTPUT),
# the bridge plugin's masquerading (nat POSTROUTING). Printed as "TOOL TABLE -A CHAIN ...".
_ours_iptables_rules() {
  local tool
  for tool in iptables ip6tables; do
    command -v "$tool-save" >/dev/null || continue
    "$tool-save" 2>/dev/null | awk -v tool="$tool" -v net="$CG_CNI_NETWORK" -v cidr="$CG_POD_CIDR" '
      /^\*/ { table = substr($0, 2) }
      /^-A / && ($0 ~ / -j (CNI|KUBE)-/ || index($0, net) || index($0, cidr)) { print tool, table, $0 }' || true
  done
}
# Through iptables-restore, which reads the rule quoted as iptables-save wrote it.
_remove_iptables_rules() {
  local tool table rule
  read -r tool table rule <<<"$1"
  printf '*%s\n-D %s\nCOMMIT\n' "$table" "${rule#-A }" | "$tool-restore" --noflush 2>/dev/null || true
}

# iptables chains: CNI-* (the bridge plugin's, one a Pod) and KUBE-* (the kubelet's), in
# every table. Printed as "TOOL TABLE CHAIN".
_ours_iptables_chains() {
  local tool
  for tool in iptables ip6tables; do
    command -v "$tool-save" >/dev/null || continue
    "$tool-save" 2>/dev/null | awk -v tool="$tool" '
      /^\*/ { table = substr($0, 2) }
      /^:(CNI|KUBE)-/ { print tool, table, substr($1, 2) }' || true
  done
}
# Flushed, then deleted: the rules that jumped to it went with the kind above.
_remove_iptables_chains() {
  local tool table chain
  read -r tool table chain <<<"$1"
  "$tool" -t "$table" -F "$chain" 2>/dev/null || true
  "$tool" -t "$table" -X "$chain" 2>/dev/null || true
}

# The kubelet's kubepods cgroups (cgroupfs driver), one in each hierarchy.
_ours_cgroups() {
  local cg
  for cg in /sys/fs/cgroup/*/kubepods; do
    if [ -d "$cg" ]; then echo "$cg"; fi
  done
}
_remove_cgroups() { find "$1" -depth -type d -exec rmdir {} \; 2>/dev/null || true; }

# Files that what we start keeps at fixed paths, outside our state directories: the CNI
# result cache (libcni's, for our network and containerd's loopback one), the Pods' logs and
# the kubelet's links to them, the kubelet's device plugin socket and checkpoint, and the
# sockets of containerd's shims (in /run/containerd/s, whatever containerd's address) that no
# shim listens on any more: a shim that `down` kills cannot remove its own.
_ours_files() {
  local f
  for f in /var/lib/cni/results/"$CG_CNI_NETWORK"-* /var/lib/cni/results/cni-loopback-* \
           /var/log/pods/* /var/lib/kubelet/device-plugins/*; do
    if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
  done
  for f in /var/log/containers/*.log; do
    if [[ -L $f && $(readlink "$f") == /var/log/pods/* ]]; then echo "$f"; fi
  done
  for f in /run/containerd/s/*; do
    if [ -S "$f" ] && ! awk -v s="$f" '$8 == s { found = 1 } END { exit !found }' /proc/net/unix; then echo "$f"; fi
  done
}
_remove_files() { rm -rf -- "$1" 2>/dev/null || true; }

# The state directories. A failure here fails `down`.
_ours_state() {
  local dir
  for dir in "$CG_CLUSTER_DIR" "$CG_RUN_DIR"; do
    if [ -e "$dir" ]; then echo "$dir"; fi
  done
}
_remove_state() { rm -rf -- "$1"; }

# The components, the last started first, each given 5 s to exit on SIGTERM (as `restart`
# stops one); whatever they leave is killed with the rest of the list.
_stop_components() {
  local c i
  for (( i = ${#COMPONENTS[@]} - 1; i >= 0; i-- )); do
    c=${COMPONENTS[i]}
    _stop_component "$c" 5 || log "$c (pid $(cat "$PIDS/$c.pid")) is still there after SIGKILL"
    rm -f "$PIDS/$c.pid"
  done
}

cmd_down() {
  local entry kind things thing
  _stop_components
  for entry in "${OURS[@]}"; do
    kind=${entry%%:*}
    mapfile -t things < <("_ours_$kind")
    for thing in "${things[@]}"; do "_remove_$kind" "$thing"; done
  done
  log "cluster down"
}

_first_three() { # THING...: the first three, and how many there are when there are more
  local out=$1 thing
  for thing in "${@:2:2}"; do out+="; $thing"; done
  [ $# -le 3 ] || out+="; ... ($# in all)"
  printf '%s\n' "$out"
}

cmd_verify_clean() {
  # What `down` promises, checked with the list it removes from.
  local entry kind things leftovers=()
  for entry in "${OURS[@]}"; do
    kind=${entry%%:*}
    mapfile -t things < <("_ours_$kind")
    [ ${#things[@]} -eq 0 ] || leftovers+=("${entry#*:}: $(_first_three "${things[@]}")")
  done
  if [ ${#leftovers[@]} -gt 0 ]; then
    printf '[localcluster] left behind: %s\n' "${leftovers[@]}" >&2
    return 1
  fi
  log "nothing left behind: no process, mount, netns, link, iptables rule or chain, cgroup, file or state of ours"
}

cmd_env() {
  [ -f "$CG_CLUSTER_DIR/env.sh" ] || die "no cluster: run 'make cluster-up' first"
  cat "$CG_CLUSTER_DIR/env.sh"
}

cmd_status() {
  local c extra flags
  for c in "${COMPONENTS[@]}"; do
    _extra_flags "$c"
    flags=""; [ ${#extra[@]} -eq 0 ] || flags="; extra flags: ${extra[*]}"
    if _pid_alive "$c"; then echo "$c: running (pid $(cat "$PIDS/$c.pid")$flags)"; else echo "$c: stopped${flags:+ (${flags#; })}"; fi
  done
  _node_ready && echo "node $CG_NODE_NAME: Ready" || echo "node $CG_NODE_NAME: not Ready"
  local pkg installed
  for pkg in $DEBIAN_PACKAGES_TESTED; do
    installed=$(dpkg-query -W -f='${Version}' "${pkg%%=*}" 2>/dev/null) || installed="not installed"
    echo "${pkg%%=*}: $installed (tested with ${pkg#*=})"
  done
}

# How long `restart` waits for each component to be healthy again: what `up` allows it, or
# a minute where `up` does not wait for the component itself.
_restart_timeout() {
  case $1 in
    kube-apiserver) echo 120 ;;
    kubelet) echo 180 ;;
    *) echo 60 ;;
  esac
}

_log_tail() { # NAME: the last lines of its log, on stderr, before a `die` about it
  { tail -n 5 "$LOGS/$1.log" 2>/dev/null || true; } | sed 's/^/[localcluster]   /' >&2
}

cmd_restart() {
  [ "$(id -u)" = 0 ] || die "the local cluster needs root (it runs containerd and the kubelet)"
  local c="" grace=15 flags_given=false extra=() arg
  while [ $# -gt 0 ]; do
    arg=$1; shift
    case $arg in
      --kill) grace=0 ;;
      --) flags_given=true; extra=("$@"); break ;;
      -*) die "restart: unknown option $arg; $USAGE" ;;
      *) [ -z "$c" ] || die "restart: one component at a time; $USAGE"; c=$arg ;;
    esac
  done
  [ -n "$c" ] || die "restart: which component? $USAGE"
  [[ " ${COMPONENTS[*]} " == *" $c "* ]] || die "restart: unknown component $c (one of: ${COMPONENTS[*]})"
  [ -f "$CG_CLUSTER_DIR/env.sh" ] || die "no cluster: run 'cluster.sh up' first"
  for arg in "${extra[@]}"; do
    [[ $arg != *$'\n'* ]] || die "restart: an extra flag cannot hold a newline"
  done

  local old_pid="" since cond
  [ -f "$PIDS/$c.pid" ] && old_pid=$(cat "$PIDS/$c.pid")
  _stop_component "$c" "$grace" || die "$c (pid $old_pid) is still running after SIGKILL; not starting another"
  local how="$c${old_pid:+ (pid $old_pid)} $STOPPED"
  # The node stays Ready for a while after its kubelet is gone; the new kubelet's first report
  # is what counts. Heartbeats have a resolution of a second: one stamped later than the old
  # kubelet's last one (read now that it is gone), or, if that cannot be read, later than
  # the second it was seen gone, can only come from the new kubelet. (The new kubelet reports
  # at once when it registers; should that fall in the second of the old one's last report,
  # the wait is one nodeStatusReportFrequency, 10 s, longer.)
  since=$(date +%s)
  if [ "$c" = kubelet ] && cond=$(_ready_condition); then since=${cond#* }; fi

  # Remembered for the next `restart` without `--`, and shown by `status`, until then or `down`.
  mkdir -p "$EXTRA_FLAGS"
  if $flags_given && [ ${#extra[@]} -gt 0 ]; then
    printf '%s\n' "${extra[@]}" > "$EXTRA_FLAGS/$c"
  else
    rm -f "$EXTRA_FLAGS/$c"
  fi

  local t0 pid timeout start=$SECONDS hint="'cluster.sh restart $c' starts it with the flags 'up' gives it"
  t0=$(_now_us)
  _start_component "$c"
  pid=$(cat "$PIDS/$c.pid")
  how+="; started again (pid $pid)"
  [ ${#extra[@]} -eq 0 ] || how+=" with extra flags: ${extra[*]}"
  timeout=$(_restart_timeout "$c")
  until _component_ok "$c" "$since" >/dev/null 2>&1; do
    if ! _proc_running "$pid"; then
      _log_tail "$c"
      die "$how, but it exited again before it was healthy (log: $LOGS/$c.log); $hint"
    fi
    if (( SECONDS - start > timeout )); then
      _log_tail "$c"
      die "$how, but it was not healthy within ${timeout} s (log: $LOGS/$c.log); $hint"
    fi
    sleep 0.2
  done
  local what="ready"; [ "$c" != kubelet ] || what="node $CG_NODE_NAME Ready"
  log "$how; $what after $(_secs_since "$t0") s"
}

USAGE="usage: cluster.sh up|down|env|status|verify-clean, or cluster.sh restart COMPONENT [--kill] [-- EXTRA-FLAG...] with COMPONENT one of: ${COMPONENTS[*]}"

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  verify-clean) cmd_verify_clean ;;
  restart) shift; cmd_restart "$@" ;;
  -h|--help|help) echo "$USAGE" ;;
  *) die "$USAGE" ;;
esac
