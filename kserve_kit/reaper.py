"""`python -m kserve_kit.reaper COMMAND...`: run COMMAND, and when kserve-kit dies (the kernel sends
this process SIGTERM then: local_server.die_with), take its whole process group down with it.

TorchServe's launcher starts Java and ignores SIGTERM; killed, it leaves Java serving with PPID 1.
The local server runs in a session of its own, so the group is this process, the launcher and Java.
Normal stops do not come here: `torchserve --stop` stops TorchServe as it should be stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType


def main(command: list[str]) -> int:
    child = subprocess.Popen(command)

    def reap(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        os.killpg(0, signal.SIGKILL)  # this process, the launcher, Java: nothing outlives kserve-kit

    signal.signal(signal.SIGTERM, reap)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
