# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this package may change or disappear without notice.
# Do not import it from outside the collection.
"""The exec transport: a command run in a Pod through ``pods/exec``, streaming both ways.

The websocket (``websocket``), the exec channel protocol and its select loop (``channels``),
the guard that no output is lost at a command's exit (``output_guard``) and the stdin chunks
(``stdin``). Imports _k8s only; imported by _job and the connection plugin.
"""
