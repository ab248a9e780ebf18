# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes API credentials for plugins (argument spec: plugin_utils/_k8s/auth.py K8S_AUTH_ARGSPEC).

A unit test checks that this fragment and K8S_AUTH_ARGSPEC declare the same options.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  api_host:
    description:
      - URL of the Kubernetes API server, for example V(https://203.0.113.10:6443).
      - When set, the API is reached with O(api_key), O(ca_cert) and O(validate_certs), and
        O(kubeconfig) and O(context) are ignored.
    type: str
    env:
      - name: K8S_AUTH_HOST
    vars:
      - name: ansible_pod_api_host
  api_key:
    description:
      - Bearer token to authenticate to O(api_host) with.
      - Never shown in any output or log; give it through a vaulted variable or the environment,
        not on a command line.
    type: str
    env:
      - name: K8S_AUTH_API_KEY
    vars:
      - name: ansible_pod_api_key
  ca_cert:
    description:
      - CA certificate that signed the certificate of O(api_host), as a path to a PEM file or as
        PEM text.
      - Without it, the API server's certificate is verified against the system trust store
        (unless O(validate_certs=false)).
    type: str
    env:
      - name: K8S_AUTH_SSL_CA_CERT
    vars:
      - name: ansible_pod_ca_cert
  validate_certs:
    description:
      - Whether to verify the TLS certificate of O(api_host).
      - V(false) makes the connection open to interception; give O(ca_cert) instead.
    type: bool
    default: true
    env:
      - name: K8S_AUTH_VERIFY_SSL
    vars:
      - name: ansible_pod_validate_certs
  kubeconfig:
    description:
      - Path of a kubeconfig file to take the API server and credentials from (used when
        O(api_host) is not set).
      - When neither O(api_host) nor O(kubeconfig) is set, the service account of the Pod is used
        when Ansible runs inside a Pod, else E(KUBECONFIG) or C(~/.kube/config).
      - Needs the C(kubernetes) Python library on the controller.
    type: path
    env:
      - name: K8S_AUTH_KUBECONFIG
    vars:
      - name: ansible_pod_kubeconfig
  context:
    description:
      - Context of the kubeconfig to use; its current context when not set.
    type: str
    env:
      - name: K8S_AUTH_CONTEXT
    vars:
      - name: ansible_pod_context
"""
