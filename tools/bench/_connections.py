# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the connection benchmarks share: their arguments, and the plugins they compare with
the options that reach the same Pod (the least-privilege token: from $CG_TEST_TOKEN for the
pod connection, in the kubeconfig given for the others)."""

from __future__ import annotations

import argparse
import os

from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader, init_plugin_loader


def parse_args(description: str, **extra: dict) -> argparse.Namespace:
    """--pod, --namespace, --kubeconfig, and the extra options (name: add_argument keywords)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pod", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--kubeconfig", required=True)
    for name, keywords in extra.items():
        parser.add_argument(f"--{name}", **keywords)
    args = parser.parse_args()
    init_plugin_loader()
    return args


def plugins(args: argparse.Namespace) -> dict[str, tuple[str, dict]]:
    """{label: (plugin name, variables)} for the pod connection (token, kubeconfig) and kubectl."""
    return {
        "pod (token)": ("ephemeral.container_groups.pod", {
            "inventory_hostname": args.pod,
            "ansible_pod_namespace": args.namespace,
            "ansible_pod_api_host": os.environ["CG_TEST_HOST"],
            "ansible_pod_api_key": os.environ["CG_TEST_TOKEN"],
            "ansible_pod_ca_cert": os.environ["CG_TEST_CA_FILE"],
        }),
        "pod (kubeconfig)": ("ephemeral.container_groups.pod", {
            "inventory_hostname": args.pod,
            "ansible_pod_kubeconfig": args.kubeconfig,
        }),
        "kubectl": ("kubernetes.core.kubectl", {
            "inventory_hostname": args.pod,
            "ansible_kubectl_pod": args.pod,
            "ansible_kubectl_namespace": args.namespace,
            "ansible_kubectl_kubeconfig": args.kubeconfig,
        }),
    }


def connect(plugin: str, variables: dict) -> object:
    """A connection of the plugin, loaded the way a playbook loads it."""
    conn = connection_loader.get(plugin, PlayContext(), os.devnull)
    conn.set_options(var_options=variables)
    return conn
