"""Lets ansible-test bootstrap pip without ci-files.testing.ansible.com (unreachable here).

ansible-test --requirements fetches get-pip-<version>.py from that host into
~/.ansible/test/cache/get_pip_<version>.py unless the file is already there. This writes a
stand-in that does what get-pip does, from the same pip release taken from PyPI.
Run it with the Python of the venv that holds ansible-test; idempotent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import ansible_test

STAND_IN = '''"""Offline stand-in for get-pip.py {version}, written by tools/ansible-test-offline.py.

Runs pip from the pip {version} wheel beside this file:
pip install --upgrade --force-reinstall <args> pip=={version} [setuptools] [wheel]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "{wheel}"))
from pip._internal.cli.main import main  # noqa: E402

args = sys.argv[1:]
extra = []
for option, package in (("--no-setuptools", "setuptools"), ("--no-wheel", "wheel")):
    if option in args:
        args.remove(option)
    else:
        extra.append(package)
if not any(re.split("[=<>]", a)[0] == "pip" for a in args):
    extra.append("pip=={version}")
sys.exit(main(["install", "--upgrade", "--force-reinstall"] + args + extra))
'''.replace("import os\nimport sys\n", "import os\nimport re\nimport sys\n", 1)


def main() -> int:
    source = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(source, encoding="utf-8") as handle:
        found = re.search(r"pip='([0-9.]+)'", handle.read())
    if not found:
        print(f"cannot find ansible-test's pip version in {source}", file=sys.stderr)
        return 1
    version = found.group(1)
    cache = os.path.expanduser("~/.ansible/test/cache")
    script = os.path.join(cache, f"get_pip_{version.replace('.', '_')}.py")
    wheel = f"pip-{version}-py3-none-any.whl"
    if os.path.exists(script) and os.path.exists(os.path.join(cache, wheel)):
        return 0
    os.makedirs(cache, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                    "-d", cache, f"pip=={version}"], check=True)
    with open(script + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(STAND_IN.format(version=version, wheel=wheel))
    os.replace(script + ".tmp", script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
