"""Containers for the kit's tests on a machine without a Docker engine: rootful podman with a
configuration of the kit's own, and STAND-IN base images.

No registry can be reached here, so the base images the rendered Dockerfiles name are built locally,
once, from Debian's packages and PyPI, and tagged with exactly those names. They are stand-ins, not
the upstream images:

- `docker.io/library/python:3.11-slim`: Debian 12 (bookworm) minbase with Debian's python3 (3.11),
  venv and pip, and this machine's CA certificates. Upstream is Debian 12 with CPython 3.11 built
  into /usr/local.
- `docker.io/pytorch/torchserve:0.12.0-cpu`: that, plus OpenJDK 17, torch 2.13.0 (CPU) and
  TorchServe 0.12.0 in /home/venv, user model-server (UID 1000), TorchServe's entrypoint script.
  Upstream is Ubuntu 20.04 with Python 3.9 and torch 2.4.0.

Everything is cached under STATE (outside the clone) and reused across runs on one machine. The
package mirror is read from this machine's apt sources at run time and never printed or written
anywhere but into the stand-in's own apt sources.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

STATE = Path(os.environ.get("KIT_CONTAINER_STATE", "/var/tmp/kserve-template-containers"))
PYTHON_BASE = "docker.io/library/python:3.11-slim"
TORCHSERVE_BASE = "docker.io/pytorch/torchserve:0.12.0-cpu"
TORCH_WHEEL = "torch==2.13.0"
TORCHSERVE_STANDIN = Path(__file__).parent / "standins" / "torchserve"
URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s\"']+")


class Unavailable(Exception):
    """Podman or a stand-in cannot be had on this machine; the message says what is missing."""


def redact(text: str) -> str:
    """Logs without any URL (mirrors and registries are this machine's, not the project's)."""
    return URL.sub("<url>", text)


def podman_environment() -> dict[str, str]:
    """The environment podman runs with here: runc (crun fails on this host's hybrid cgroups),
    cgroupfs (no systemd), file events (no journald), the ulimits this host allows, storage in STATE."""
    if shutil.which("podman") is None or shutil.which("runc") is None:
        raise Unavailable("podman and runc are not installed: apt-get install podman runc (.ci/run does)")
    conf = STATE / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768)
    (conf / "containers.conf").write_text(
        f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
        encoding="utf-8",
    )
    (conf / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{STATE / "storage"}"\nrunroot = "{STATE / "run"}"\n',
        encoding="utf-8",
    )
    return {
        **os.environ,
        "CONTAINERS_CONF": str(conf / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(conf / "storage.conf"),
    }


def _exists(image: str, env: dict[str, str]) -> bool:
    return subprocess.run(["podman", "image", "exists", image], env=env, check=False).returncode == 0


def _logged(command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    log.write_text(redact(result.stdout + result.stderr), encoding="utf-8")
    if result.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-20:])
        raise Unavailable(f"{command[0]} failed (log: {log}):\n{tail}")


def _mirror() -> str:
    for sources in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        if match := re.search(r"^URIs:\s*(\S+)", sources.read_text(encoding="utf-8"), re.MULTILINE):
            return match.group(1)
    listing = Path("/etc/apt/sources.list")
    if listing.is_file() and (match := re.search(r"^deb\s+(\S+)", listing.read_text(encoding="utf-8"), re.M)):
        return match.group(1)
    raise Unavailable("no Debian mirror in /etc/apt/sources.list(.d): the stand-in base cannot be built")


def _python_base(env: dict[str, str]) -> None:
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise Unavailable("building the stand-in python base needs debootstrap and root (.ci/run installs it)")
    rootfs, logs = STATE / "rootfs-python311", STATE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(rootfs, ignore_errors=True)
    packages = "python3,python3-venv,python3-pip,python-is-python3,ca-certificates,netbase"
    _logged(["debootstrap", "--variant=minbase", f"--include={packages}", "bookworm", str(rootfs), _mirror()],
            logs / "debootstrap.log")  # fmt: skip
    # The egress proxy re-signs TLS: pip inside builds must trust what this machine trusts.
    for certificate in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy(certificate, rootfs / "usr/local/share/ca-certificates" / certificate.name)
    subprocess.run(["chroot", str(rootfs), "update-ca-certificates"], capture_output=True, check=False)
    for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):  # the official image has no PEP 668 marker
        marker.unlink()
    for name in ("python", "python3"):
        (rootfs / "usr/local/bin" / name).symlink_to("/usr/bin/python3")
    subprocess.run(["chroot", str(rootfs), "apt-get", "clean"], capture_output=True, check=False)
    shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
    archive = STATE / "python311-rootfs.tar"
    subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
    changes = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV LANG=C.UTF-8",
               'CMD ["python3"]']  # fmt: skip
    _logged(["podman", "import", *(f"--change={change}" for change in changes), str(archive), PYTHON_BASE],
            logs / "import.log", env)  # fmt: skip
    archive.unlink()
    shutil.rmtree(rootfs)


def torch_wheel() -> Path:
    """torch's CPU wheel, as this machine's pip has it on disk (pip download takes it from there)."""
    wheels = STATE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("torch-2.13.0*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(wheels),
                        TORCH_WHEEL], check=True, capture_output=True)  # fmt: skip
    return next(wheels.glob("torch-2.13.0*.whl"))


def _torchserve_base(env: dict[str, str]) -> None:
    wheels = torch_wheel().parent
    wheel = torch_wheel().name
    _logged(["podman", "build", "--pull=never", "--network", "host", "--volume", f"{wheels}:/wheels:ro",
             "--build-arg", f"TORCH_WHEEL=/wheels/{wheel}", "--tag", TORCHSERVE_BASE, str(TORCHSERVE_STANDIN)],
            STATE / "logs" / "torchserve-standin.log", env)  # fmt: skip


@contextlib.contextmanager
def torch_index() -> Iterator[str]:
    """A package index on 127.0.0.1 (PEP 503) holding the torch CPU wheel this machine has on disk:
    the stand-in for PyTorch's CPU index, which the PyTorch runtime's image build takes torch from
    (`--build-arg TORCH_INDEX=...`; builds run with the host's network)."""
    wheel = torch_wheel()
    root = STATE / "torch-index"
    (root / "torch").mkdir(parents=True, exist_ok=True)
    if not (root / "torch" / wheel.name).exists():
        shutil.copy(wheel, root / "torch" / wheel.name)
    (root / "torch" / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n', encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def ensure_standins(env: dict[str, str], torchserve: bool = False) -> float:
    """Build the stand-in bases that are missing; the seconds that took (0 when cached)."""
    started = time.monotonic()
    if not _exists(PYTHON_BASE, env):
        _python_base(env)
    if torchserve and not _exists(TORCHSERVE_BASE, env):
        _torchserve_base(env)
    return time.monotonic() - started
