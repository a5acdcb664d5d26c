"""kserve-kit: the platform tooling of kserve-template services (smoke, validate, status, doctor,
local server, image), one versioned package that each service repo pins to the kit version it was
rendered from. It works on any KServe service directory: `k8s/` plus the facts file `kserve-kit.yaml`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kserve-kit")
except PackageNotFoundError:  # imported from a source tree that was not installed
    __version__ = "0+unknown"


class KitError(Exception):
    """A problem the user must fix; the message says what and how. Commands print it and exit 2."""
