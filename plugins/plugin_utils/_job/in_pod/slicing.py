# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""A slice's hosts, for the runner (``runner.py``) that runs beside this file in the Pod.

The slice lists the inventory as ansible-playbook will read it (``ansible all --list-hosts``
with the job's inventories and vault), keeps host i when i mod count is the slice's, as AWX
slices, and limits the playbook to those. The standard library only, Python 3.6+, like the
runner.
"""

import subprocess
from typing import BinaryIO, Dict, List, Optional


class SliceError(Exception):
    """The slice's hosts cannot be had; the message says why, for the controller."""


def slice_of(hosts: List[str], index: int, count: int) -> List[str]:
    """The hosts of slice index (1-based) of count, as AWX slices: host i (0-based, in the
    inventory's order) goes to slice i mod count + 1."""
    return hosts[index - 1::count]


def listed_hosts(text: str) -> List[str]:
    """The host names ``ansible PATTERN --list-hosts`` prints (after its "hosts (N):" line)."""
    lines = text.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.strip().startswith("hosts (")), len(lines))
    return [line.strip() for line in lines[start:] if line.strip()]


def _list_hosts(argv: List[str], env: Dict[str, str]) -> List[str]:
    try:
        listed = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SliceError("cannot list the inventory's hosts for the slice (%s): %s" % (" ".join(argv[:3]), exc))
    if listed.returncode != 0:
        said = listed.stderr.decode("utf-8", "replace").strip()
        raise SliceError("listing the inventory's hosts for the slice failed (exit status %d)%s"
                         % (listed.returncode, ": " + said if said else ""))
    return listed_hosts(listed.stdout.decode("utf-8", "replace"))


def limited_argv(plan: Dict, env: Dict[str, str], argv: List[str], hosts_file: str,
                 output: BinaryIO) -> Optional[List[str]]:
    """argv limited to the hosts of the slice plan says (index, count, hosts_argv,
    limited_hosts_argv), written to hosts_file; None when the slice has none. Either way said
    in the output. SliceError when the inventory cannot be listed."""
    index, count = int(plan["index"]), int(plan["count"])
    hosts = slice_of(_list_hosts(plan["hosts_argv"], env), index, count)
    if plan.get("limited_hosts_argv"):
        # The job's limit applies within the slice, as AWX applies it to each slice's inventory.
        limited = set(_list_hosts(plan["limited_hosts_argv"], env))
        hosts = [host for host in hosts if host in limited]
    if not hosts:
        output.write(("slice %d/%d: no host of the inventory%s falls in this slice; nothing to run\n"
                      % (index, count, " within the limit" if plan.get("limited_hosts_argv") else "")).encode())
        return None
    with open(hosts_file, "w") as handle:
        handle.write("".join(host + "\n" for host in hosts))
    output.write(("slice %d/%d: %s\n" % (index, count, ", ".join(hosts))).encode())
    return argv + ["--limit", "@" + hosts_file]
