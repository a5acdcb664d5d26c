"""The image's kserve-kit: a wheel of exactly the kserve-kit the tooling runs, in `.kit/` for the build.

The image installs `kserve-kit[serving]` (the serving library) from the same immutable pin as the
tooling. A build cannot clone the pin itself (no git in the base image, no access to a `git+file://`
checkout on the owner's disk), so the tooling builds the wheel from where it was installed itself
(PEP 610 `direct_url.json`: the git URL and commit, or the checkout) and the Dockerfile copies it in.
Wheels built by hatchling are reproducible: an unchanged kit keeps the build's dependency layer cached.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from kserve_kit import KitError

PACKAGE = "kserve-kit"
WHEEL_DIR = ".kit"  # in the build context (.dockerignore keeps it), out of git (.gitignore)


def installed_requirement() -> str:
    """The requirement that installs this kserve-kit again: its git commit, its checkout or its version."""
    distribution = metadata.distribution(PACKAGE)
    origin = distribution.read_text("direct_url.json")
    if not origin:  # from a package index: the exact version
        return f"{PACKAGE}=={distribution.version}"
    direct = json.loads(origin)
    vcs = direct.get("vcs_info")
    if vcs:
        return f"{PACKAGE} @ {vcs['vcs']}+{direct['url']}@{vcs['commit_id']}"
    return f"{PACKAGE} @ {direct['url']}"  # a checkout (a draft render, or the kit's own editable install)


def build_wheel(repo: Path) -> Path:
    """`<repo>/.kit/` holding the one wheel of the installed kserve-kit; its path."""
    requirement = installed_requirement()
    target = repo / WHEEL_DIR
    with tempfile.TemporaryDirectory(prefix="kserve-kit-wheel-") as scratch:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", scratch, requirement],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        wheels = sorted(Path(scratch).glob("kserve_kit-*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            raise KitError(f"could not build the image's kserve-kit from {requirement}:\n{result.stderr.strip()}")
        if target.is_dir():
            shutil.rmtree(target)
        target.mkdir()
        return Path(shutil.copy(wheels[0], target))
