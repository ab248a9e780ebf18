# shellcheck shell=bash
# Certificates and kubeconfigs for the local cluster. Sourced by cluster.sh.
# One CA signs everything; each component gets its own client identity so RBAC and the
# Node authorizer see the same users a kubeadm cluster would have.

_pki_cert() { # name CN O [SANs] -- signs $pki/name.crt with the cluster CA
  local name=$1 cn=$2 org=$3 sans=${4:-} pki="$CG_CLUSTER_DIR/pki" ext
  [ -f "$pki/$name.crt" ] && return 0
  ext=$(mktemp)
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$sans" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$sans"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } > "$ext"
  local subj="/CN=$cn"
  [ -n "$org" ] && subj="/O=$org$subj"
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 3650 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$ext"
}

_kubeconfig() { # file cert-name user
  # shellcheck disable=SC2034  # cert, user and pki are read by templates/kubeconfig.yaml.in
  local file=$1 cert=$2 user=$3 pki="$CG_CLUSTER_DIR/pki"
  [ -f "$file" ] && return 0
  # 0600, as the admin's and each component's credential (_render is in cluster.sh).
  _render kubeconfig.yaml.in "$file" 0600
}

pki_init() {
  local pki="$CG_CLUSTER_DIR/pki"
  mkdir -p "$pki"; chmod 0700 "$pki"
  if [ ! -f "$pki/ca.crt" ]; then
    openssl genrsa -out "$pki/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=cg-localcluster-ca" -days 3650 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$pki/ca.crt" 2>/dev/null
  fi
  [ -f "$pki/sa.key" ] || { openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null; openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null; }
  local first_service_ip=${CG_SERVICE_CIDR%.*}.1
  _pki_cert apiserver kube-apiserver "" \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:$CG_NODE_IP,IP:$first_service_ip"
  _pki_cert apiserver-kubelet-client kube-apiserver-kubelet-client ""
  _pki_cert kubelet "system:node:$CG_NODE_NAME" system:nodes "DNS:$CG_NODE_NAME,IP:$CG_NODE_IP"
  _pki_cert admin cg-admin system:masters
  _pki_cert controller-manager system:kube-controller-manager ""
  _pki_cert scheduler system:kube-scheduler ""
  _kubeconfig "$CG_CLUSTER_DIR/admin.kubeconfig" admin cg-admin
  _kubeconfig "$CG_CLUSTER_DIR/controller-manager.kubeconfig" controller-manager system:kube-controller-manager
  _kubeconfig "$CG_CLUSTER_DIR/scheduler.kubeconfig" scheduler system:kube-scheduler
  _kubeconfig "$CG_CLUSTER_DIR/kubelet.kubeconfig" kubelet "system:node:$CG_NODE_NAME"
  chmod 0600 "$pki"/*.key
}
