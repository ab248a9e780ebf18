#!/usr/bin/env bash
# Builds Kubernetes and etcd binaries from their Go modules, through the module proxy.
# Idempotent: binaries are cached in $CG_BIN_DIR, keyed by version.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

want=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl etcd pause)
missing=0
for b in "${want[@]}"; do [ -x "$CG_BIN_DIR/$b" ] || missing=1; done
if [ "$missing" = 0 ]; then log "binaries cached in $CG_BIN_DIR"; exit 0; fi
mkdir -p "$CG_BIN_DIR"
work="$CG_CACHE_DIR/build"
mkdir -p "$work"

# Turn a module's "replace X => ./local/path" lines into "replace X => X <published version>".
# The module zip lacks those local directories, so the published modules stand in for them.
# Guard replaces such as etcd's "=> ./FORBIDDEN_DEPENDENCY" are dropped: nothing needs them.
_published_replaces() { # gomod-file version
  awk -v ver="$2" '
    /^replace \(/ {inblock=1; next}
    inblock && /^\)/ {inblock=0; next}
    /FORBIDDEN/ {next}
    inblock && /=> *\.\.?\// {print "replace " $1 " => " $1 " " ver}
    /^replace [^(].*=> *\.\.?\// {print "replace " $2 " => " $2 " " ver}
  ' "$1"
}

_gomod_path() { # module@version; run outside any module so a stale go.mod cannot interfere
  (cd / && GOFLAGS='' go mod download -json "$1") | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])'
}

build_kubernetes() {
  local dir="$work/kubernetes-$KUBERNETES_VERSION" src gomod
  mkdir -p "$dir"
  gomod=$(_gomod_path "k8s.io/kubernetes@$KUBERNETES_VERSION")
  src=$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBERNETES_VERSION
  {
    echo "module cgbuild/kubernetes"
    grep -E '^go [0-9]' "$gomod"
    grep -E '^godebug ' "$gomod" || true
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    _published_replaces "$gomod" "$KUBERNETES_STAGING_VERSION"
  } > "$dir/go.mod"
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
    [ -x "$CG_BIN_DIR/$b" ] && continue
    log "building $b $KUBERNETES_VERSION (cold: several minutes each)"
    (cd "$dir" && CGO_ENABLED=0 go build -ldflags "$ldflags" -o "$CG_BIN_DIR/$b.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$CG_BIN_DIR/$b.tmp" "$CG_BIN_DIR/$b"
  done
  if [ ! -x "$CG_BIN_DIR/pause" ]; then
    log "building pause from k8s.io/kubernetes build/pause/linux/pause.c"
    gcc -Os -static -DVERSION="$KUBERNETES_VERSION" -o "$CG_BIN_DIR/pause.tmp" "$src/build/pause/linux/pause.c"
    strip "$CG_BIN_DIR/pause.tmp"
    mv "$CG_BIN_DIR/pause.tmp" "$CG_BIN_DIR/pause"
  fi
}

build_etcd() {
  [ -x "$CG_BIN_DIR/etcd" ] && return 0
  local dir="$work/etcd-$ETCD_VERSION" gomod
  mkdir -p "$dir"
  gomod=$(_gomod_path "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  {
    echo "module cgbuild/etcd"
    grep -E '^go [0-9]' "$gomod"
    grep -E '^godebug ' "$gomod" || true
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    _published_replaces "$gomod" "$ETCD_VERSION"
  } > "$dir/go.mod"
  log "building etcd $ETCD_VERSION"
  (cd "$dir" && CGO_ENABLED=0 go build -ldflags "-s -w" -o "$CG_BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$CG_BIN_DIR/etcd.tmp" "$CG_BIN_DIR/etcd"
}

build_etcd
build_kubernetes
log "binaries ready in $CG_BIN_DIR"
