# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this package may change or disappear without notice.
# Do not import it from outside the collection.
"""One container-group job: its lifecycle (``job``) and the parts it is composed of.

The retried, worded calls to the job's namespace (``namespace``), what the job creates
(``manifests``), its inputs and secrets (``inputs``, ``secrets``), what of the project is
shipped and its tar stream (``project``), the job's own files, commands and output lines
(``files``, ``lines``), the output followed by byte offset (``follow``), the job events (``events``),
who owns a Pod (``owner``), the Pod's creation and its turn in a capped group's fair queue
(``admission``, ``queue``), the first of a list of groups with room (``choice``), the image
pull Secret (``pull_secret``) and the signals
(``stop_guard``), the outcome (``outcome``), the wait for a node (``pending``), one job in
many Pods (``slices``), the jobs that exist seen, followed and canceled from any process
(``control``), the playbook's stop (``stop``), what threads say shown by the main one
(``relay``) and the actions' display (``display``). The top
layer: imports _k8s and _exec; nothing below imports it.
``in_pod`` holds what runs inside the Pod, read as data.
"""
