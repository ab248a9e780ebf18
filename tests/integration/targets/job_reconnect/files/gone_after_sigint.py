# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long after SIGINT the target's processes were gone (for job_reconnect/runme.sh).

    python files/gone_after_sigint.py SENT GONE

SENT is when the job was sent SIGINT, GONE when files/target_watch.py saw the last of the
target's processes go (both in epoch seconds). Prints the seconds between them; exits 1 if
they are more than 5.
"""

from __future__ import annotations

import sys

LIMIT = 5


def main() -> int:
    took = float(sys.argv[2]) - float(sys.argv[1])
    print(f"the target's processes were gone {took:.2f} s after SIGINT")
    return 1 if took > LIMIT else 0


if __name__ == "__main__":
    sys.exit(main())
