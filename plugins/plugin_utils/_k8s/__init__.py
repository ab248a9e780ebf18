# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this package may change or disappear without notice.
# Do not import it from outside the collection.
"""The Kubernetes API, as the controller talks to it: the endpoint and its requests (``api``),
where credentials come from (``auth``, ``kubeconfig``, ``target``), the errors and the one
place that words them (``errors``), what is transient and its backoff (``retry``), watching a
Pod (``watch``) and reading why one cannot start or run a command (``pod_status``).

The bottom layer: imports nothing of Ansible and nothing of ``_exec`` or ``_job``. Imports run
_k8s <- _exec <- _job; the connection plugin uses _k8s and _exec only.
"""
