"""The image is what runs: `kserve-kit image` builds it, `kserve-kit container-smoke` runs it exactly as
its ServingRuntime runs it in the cluster, smoke-tests it and removes it.

The contract comes from k8s/ (never a second copy): the ServingRuntime's image and arguments, the
InferenceService's CPU and memory limits over the ServingRuntime's, its emptyDir volumes (the only
writable paths), UID 1000, all capabilities dropped, no privilege escalation, a read-only root
filesystem, the model mounted read-only at the model directory (or baked into the image), the port
published on 127.0.0.1 only. A container that exits before it is ready fails at once with its exit
code and log; on any failure its log is printed, with the cause named when it is a known one.

Docker is used when its engine answers, else podman (which needs no daemon).

    kserve-kit image [--tag TAG]
    kserve-kit container-smoke [--image IMAGE] [--timeout S] [--grace S] [--protocol v1|v2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kserve_kit import KitError, kit_wheel
from kserve_kit.local_server import free_port
from kserve_kit.predictor import predictor_container
from kserve_kit.service import Service
from kserve_kit.smoke import Sample, SmokeClient, SmokeFailure, Target, check_answers

UID = "1000"
DEFAULT_GRACE_S = 30  # a pod's terminationGracePeriodSeconds unless the manifests say otherwise
# Causes worth naming, found in a failed container's log.
KNOWN_CAUSES = [
    (re.compile(r"Read-only file system: '([^']+)'|Read-only file system.*?(/\S+)"),
     "the server writes to {0} on the read-only root filesystem: give it a writable emptyDir volume "
     "(volumes + volumeMounts in k8s/serving-runtime.yaml), or stop writing there"),
    (re.compile(r"Permission denied: '([^']+)'|Permission denied.*?(/\S+)"),
     "the server cannot read or write {0} as UID 1000: make the file readable by that user "
     "(for a baked model, COPY --chmod=a+rX; for storage, the files' permissions)"),
    (re.compile(r"saved with scikit-learn (\S+) but this server has (\S+)"),
     "the model was pickled by scikit-learn {0} and the image has {1}: train with the image's version"),
]  # fmt: skip


def engine() -> str:
    """`docker` when a Docker engine answers, else `podman`."""
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0:
        return "docker"
    if shutil.which("podman"):
        return "podman"
    raise KitError("neither a Docker engine nor podman is available: install one (podman needs no daemon)")


BUILD_STAGE = "dependencies"  # the Dockerfile's dependency stage (KServe runtimes)
SERVICE_LABEL = "io.kserve-template.service"  # on every stage of the rendered Dockerfile
# buildah before 1.43 fails a build when a cached layer goes away while it looks the cache up
# (buildah #5674; 1.43 ignores the error): the same build again finds the cache as it is now.
BUILDAH_CACHE_FLAKE = "getting top layer info: layer not known"


def build(service: Service, tag: str, tool: str, build_args: list[str] | None = None) -> None:
    """Build the repo's Dockerfile as `tag`; on failure, the build's last lines and the failing step.

    The dependency stage gets a tag of its own (its layers stay the cache of the next build), so the
    untagged images a build leaves are only superseded ones of this service: they are removed (each
    was about 600 MB). The tag names the runtime too: a service of the same name with another runtime
    (a runtime move, a demo beside the owner's repo) does not supersede this one's cache."""
    started = time.monotonic()
    # The Dockerfile's `COPY .kit/`: the serving library (KServe's runtimes) or TorchServe's launcher.
    kit_wheel.build_wheel(service.root)
    if f" AS {BUILD_STAGE}" in (service.root / "Dockerfile").read_text(encoding="utf-8"):
        cache = f"localhost/kserve-kit-cache/{service.name}-{service.facts['runtime']}:{BUILD_STAGE}"
        _build(service, cache, tool, build_args, BUILD_STAGE)
    _build(service, tag, tool, build_args)
    subprocess.run([tool, "image", "prune", "--force", "--filter", f"label={SERVICE_LABEL}={service.name}"],
                   capture_output=True, check=False)  # fmt: skip
    print(f"built {tag} with {tool} in {time.monotonic() - started:.0f} s")


def _build(service: Service, tag: str, tool: str, build_args: list[str] | None, target: str | None = None) -> None:
    command = [tool, "build", "-t", tag, *(f"--build-arg={arg}" for arg in build_args or [])]
    command += [*(["--target", target] if target else []), str(service.root)]
    if tool == "podman":
        command[2:2] = ["--network", "host"]  # pip in the build reaches the package hosts directly
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 and BUILDAH_CACHE_FLAKE in result.stdout + result.stderr:
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # once more: see the constant
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        cause = next((line for line in reversed(output) if re.search(r"(?i)error|no such file|not found", line)), "")
        raise ContainerFailure(f"the image build failed: {cause.strip()}", "\n".join(output[-30:]), "build log")


class ContainerFailure(Exception):
    """The image did not build or run as the cluster would run it; `log` is what it printed."""

    def __init__(self, message: str, log: str = "", log_name: str = "container log") -> None:
        super().__init__(message)
        self.log, self.log_name = log, log_name


def cpus(quantity: str) -> str:
    return str(int(quantity[:-1]) / 1000) if quantity.endswith("m") else quantity


def memory_bytes(quantity: str) -> str:
    factors = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", quantity)
    if not match or match.group(2) not in ("", *factors):
        raise KitError(f"memory limit {quantity!r} is not a quantity `kserve-kit container-smoke` understands")
    return str(int(float(match.group(1)) * factors.get(match.group(2), 1)))


def tagged_image(service: Service, image: str) -> str:
    """The tag the image is built and run under here: the ServingRuntime file's, where `make push` has
    made the build deploy it by digest (the kustomization's `images:`)."""
    if "@sha256:" not in image:
        return image
    [runtime] = service.manifests.of_kind("ServingRuntime")[:1]
    documents = yaml.safe_load_all((service.root / runtime.source).read_text(encoding="utf-8"))
    source = next(doc for doc in documents if isinstance(doc, dict) and doc.get("kind") == "ServingRuntime")
    return str(source["spec"]["containers"][0]["image"])


@dataclass
class RunSpec:
    """How the cluster runs the service's container, as podman/docker options."""

    image: str
    args: list[str]
    port: int
    limits: dict[str, str]
    writable: list[str] = field(default_factory=list)
    model_dir: str | None = None  # mounted read-only here, when the model is not baked in
    user: str = UID

    @classmethod
    def of(cls, service: Service) -> RunSpec:
        container = predictor_container(service)
        runtime = service.manifests.of_kind("ServingRuntime")[0].obj
        empty_dirs = {volume["name"] for volume in runtime.get("spec", {}).get("volumes") or [] if "emptyDir" in volume}
        limits = (container.get("resources") or {}).get("limits") or {}
        ports = container.get("ports") or [{"containerPort": 8080}]
        storage = service.facts.get("storage")
        return cls(
            image=tagged_image(service, str(container["image"])),
            args=container["args"],
            port=int(ports[0]["containerPort"]),
            limits={key: str(value) for key, value in limits.items() if key in ("cpu", "memory")},
            writable=[
                mount["mountPath"] for mount in container.get("volumeMounts") or [] if mount["name"] in empty_dirs
            ],
            model_dir=None if storage == "image" else str(service.facts.get("model_dir") or "/mnt/models"),
            user=str((container.get("securityContext") or {}).get("runAsUser") or UID),
        )

    def command(self, tool: str, name: str, host_port: int, models: Path | None) -> list[str]:
        options = [
            "run", "--detach", "--name", name, "--user", self.user, "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "--read-only", "--publish", f"127.0.0.1:{host_port}:{self.port}",
        ]  # fmt: skip
        if tool == "podman":
            options += ["--pull", "never"]  # an image that is not here was not built from this repo
        if "cpu" in self.limits:
            options += ["--cpus", cpus(self.limits["cpu"])]
        if "memory" in self.limits:
            options += ["--memory", memory_bytes(self.limits["memory"])]
        for path in self.writable:  # emptyDir volumes: writable, owned by the container's user
            options += ["--tmpfs", f"{path}:rw,U" if tool == "podman" else f"{path}:rw,uid={self.user}"]
        if models is not None and self.model_dir:
            options += ["--volume", f"{models}:{self.model_dir}:ro"]
        return [tool, *options, self.image, *self.args]


def staged_models(service: Service, into: Path) -> Path:
    """The model directory as the storage initializer leaves it: the repo's artifacts, copied and
    made readable by any user (the container runs as UID 1000, not as you)."""
    service.require_model()
    for inside, local in service.artifacts.items():
        shutil.copytree(service.root / local, into / inside, dirs_exist_ok=True, symlinks=False)
    for path in [into, *into.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return into


def explain(log: str) -> str:
    """The known cause a container log shows, in words with the fix, or ""."""
    for pattern, words in KNOWN_CAUSES:
        if match := pattern.search(log):
            return words.format(*(group for group in match.groups() if group is not None))
    return ""


class Container:
    """One container of the service's image, removed on exit."""

    def __init__(self, tool: str, spec: RunSpec, models: Path | None) -> None:
        self.tool, self.spec, self.models = tool, spec, models
        self.name = f"kserve-kit-smoke-{os.getpid()}-{free_port()}"
        self.host_port = free_port()
        self.url = f"http://127.0.0.1:{self.host_port}"

    def _run(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.tool, *args], capture_output=True, text=True, check=check)

    def state(self, key: str) -> str:
        return self._run("inspect", "--format", f"{{{{.State.{key}}}}}", self.name).stdout.strip()

    def exited(self) -> str | None:
        """Why the container is gone (its exit code, and whether it was killed), or None while it runs."""
        if self.state("Running") == "true":
            return None
        killed = " (killed: out of memory?)" if self.state("OOMKilled") == "true" else ""
        return f"the container exited with {self.state('ExitCode')}{killed}"

    def log(self) -> str:
        logs = self._run("logs", self.name)
        return (logs.stdout + logs.stderr).strip()

    def start(self, timeout_s: float) -> float:
        """Start it and wait for its port; the seconds that took. Fails at once if it exits."""
        started = time.monotonic()
        result = subprocess.run(
            self.spec.command(self.tool, self.name, self.host_port, self.models), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ContainerFailure(f"the container did not start: {result.stderr.strip()}")
        while time.monotonic() - started < timeout_s:
            if reason := self.exited():
                raise ContainerFailure(f"{reason} before it was ready")
            try:
                with socket.create_connection(("127.0.0.1", self.host_port), timeout=0.5):
                    return time.monotonic() - started
            except OSError:
                time.sleep(0.2)
        raise ContainerFailure(f"the container did not open its port in {timeout_s:.0f} s")

    def stop(self, grace_s: float) -> float:
        """SIGTERM, as the kubelet sends it; the seconds it took. Fails if it had to be killed."""
        started = time.monotonic()
        self._run("stop", "--time", str(int(grace_s)), self.name)
        took = time.monotonic() - started
        if self.state("ExitCode") == "137" or took >= grace_s:
            raise ContainerFailure(
                f"the server ignored SIGTERM and was killed after {grace_s:.0f} s: in the cluster every rollout and "
                "scale-down would wait out the grace period (run it under an init that forwards signals)"
            )
        return took

    def remove(self) -> None:
        self._run("rm", "--force", "--time", "2", self.name)


def build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE", help="passed to the build")


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tag", help="image tag (default: the ServingRuntime's image)")
    build_arguments(parser)


def run_image(args: argparse.Namespace) -> int:
    service = Service.load(args.repo)
    service.require_own_image()
    try:
        build(service, args.tag or RunSpec.of(service).image, engine(), args.build_arg)
    except ContainerFailure as failure:
        report(failure, f"IMAGE BUILD FAILED {service.name}")
        return 1
    return 0


def report(failure: ContainerFailure, verdict: str) -> None:
    tail = "\n".join(failure.log.splitlines()[-40:])
    print(f"--- {failure.log_name} (last lines) ---\n{tail}\n{verdict}: {failure}", file=sys.stderr)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", help="image to run (default: build the repo's Dockerfile as the ServingRuntime's)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_S, help="seconds it may take to stop on SIGTERM")
    parser.add_argument("--protocol", choices=["v1", "v2"], help="check only this protocol (default: each declared)")
    build_arguments(parser)


def container_smoke(service: Service, args: argparse.Namespace, tool: str) -> list[str]:
    spec = RunSpec.of(service)
    service.require_model()  # before a build that would take minutes (a baked-in model is copied by it)
    if args.image:
        spec.image = args.image
    else:
        build(service, spec.image, tool, args.build_arg)
    sample = Sample.load(service.sample_path)
    with tempfile.TemporaryDirectory(prefix="kserve-kit-models-") as staging:
        models = staged_models(service, Path(staging) / "models") if spec.model_dir else None
        container = Container(tool, spec, models)
        try:
            ready = container.start(args.timeout)
            lines = [f"container {spec.image} up in {ready:.1f} s as UID {spec.user}, read-only root, "
                     f"limits {spec.limits or 'none'}, on {container.url}"]  # fmt: skip
            for protocol in [args.protocol] if args.protocol else service.protocols:
                target = Target(container.url, gone=container.exited)
                check_answers(SmokeClient(target, service, protocol), sample, args.timeout)
                lines.append(
                    f"{protocol}: ready, {sample.path.name} predicted as expected, a malformed request refused"
                )
            lines.append(f"stopped on SIGTERM in {container.stop(args.grace):.1f} s")
        except (ContainerFailure, SmokeFailure) as failure:
            log = container.log()
            cause = explain(log)
            raise ContainerFailure(f"{failure}{f'; {cause}' if cause else ''}", log) from None
        finally:
            container.remove()
    return lines


def run(args: argparse.Namespace) -> int:
    service = Service.load(args.repo)
    service.require_own_image()
    tool = engine()
    try:
        lines = container_smoke(service, args, tool)
    except ContainerFailure as failure:
        report(failure, f"CONTAINER SMOKE FAILED {service.name}")
        return 1
    for line in lines:
        print(f"  {line}")
    print(f"CONTAINER SMOKE OK {service.name} ({tool})")
    return 0
