# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this package may change or disappear without notice.
# Do not import it from outside the collection.
"""What runs inside the job's Pod, under the image's python3 (3.6 or later; the standard library
only): ``runner.py``, and ``processes.py`` beside it. The job copies their sources into the Pod
(read as data, never run on the controller) and imports only the runner's constants, the words
of the protocol between the two sides.
"""
