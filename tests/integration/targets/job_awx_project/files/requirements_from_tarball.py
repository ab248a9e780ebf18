# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Points the project's collection requirement at a built tarball (for job_awx_project/runme.sh).

    python files/requirements_from_tarball.py SOURCE TARBALL TARGET

SOURCE is the project's collections/requirements.yml, which must name exactly
ephemeral.container_groups (an AssertionError otherwise). Writes TARGET: a requirements file
with the same requirement as a collection of type file, TARBALL.
"""

from __future__ import annotations

import sys

import yaml


def main() -> None:
    source, tarball, target = sys.argv[1:4]
    with open(source, encoding="utf-8") as handle:
        names = [collection["name"] for collection in yaml.safe_load(handle)["collections"]]
    assert names == ["ephemeral.container_groups"], names
    with open(target, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"collections": [{"name": tarball, "type": "file"}]}, handle)


if __name__ == "__main__":
    main()
