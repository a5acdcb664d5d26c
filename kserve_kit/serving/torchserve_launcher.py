"""`python -m kserve_kit.serving.torchserve_launcher ARGS`: TorchServe's own launcher (`torchserve ARGS`,
ts/model_server.py in TorchServe 0.12), with what a container's main process owes the kubelet.

TorchServe's launcher starts its Java frontend, waits for it and exits 0 whatever Java's end: a Java
killed by the OOM killer or `kill -9` made the container exit 0, "Completed". On SIGTERM Java stops at
once and drops the requests it holds (queued, in the batch aggregator, in a worker). This launcher:

- exits with Java's status, 128 + the signal when Java was killed (an OOM kill reads 137);
- on SIGTERM keeps serving until TorchServe has been quiet (no request arrived or finished, read from
  its metrics) for longer than its batch delay plus a second, at most DRAIN_SECONDS, then stops Java
  and exits 0. TorchServe shows no count of requests in flight, so a single request that takes longer
  than the quiet period is still cut off (docs/decisions.md, "TorchServe's launcher").

Standard library only: it runs in the TorchServe image beside TorchServe, without kserve-kit's extras.
The image runs it under `dumb-init --single-child`, so SIGTERM reaches this process and not Java.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from types import FrameType

DRAIN_SECONDS = 20.0  # within Kubernetes' default grace period of 30 s
POLL_SECONDS = 0.25
# The metric lines that move when a request arrives (ts_inference_requests_total) or is answered
# (ts_inference_latency_microseconds): TorchServe 0.12's frontend metrics (metrics_mode=prometheus).
TRAFFIC_METRICS = ("ts_inference_requests_total", "ts_inference_latency_microseconds")


def main(arguments: list[str]) -> int:
    from ts import model_server  # TorchServe's launcher builds Java's command line from the arguments

    started: list[subprocess.Popen[bytes]] = []
    stopping = threading.Event()

    class RecordedPopen(subprocess.Popen):  # type: ignore[type-arg]
        """The Java process TorchServe's launcher starts, kept for its exit status."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[call-overload]
            started.append(self)

    def drain_then_stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        if started and not stopping.is_set():
            stopping.set()
            threading.Thread(target=_stop_when_quiet, args=(started[0], arguments), daemon=True).start()

    model_server.subprocess.Popen = RecordedPopen  # type: ignore[misc]
    signal.signal(signal.SIGTERM, drain_then_stop)
    sys.argv = ["torchserve", *arguments]
    model_server.start()  # returns when Java has exited
    if not started:
        return 1  # TorchServe's launcher refused to start Java and said why
    return exit_status(started[0].wait(), stopped_by_us=stopping.is_set())


def exit_status(java_status: int, stopped_by_us: bool) -> int:
    """The container's exit status for Java's: 0 for the stop we asked for, 128 + N for a signal N."""
    if stopped_by_us and java_status in (0, 143, -signal.SIGTERM):
        return 0
    return 128 - java_status if java_status < 0 else java_status


def _stop_when_quiet(java: subprocess.Popen[bytes], arguments: list[str]) -> None:
    properties = _properties(arguments)
    metrics_url = _local(os.environ.get("TS_METRICS_ADDRESS") or properties.get("metrics_address", "")) + "/metrics"
    quiet_for = 1.0 + _longest_batch_delay(properties) / 1000
    deadline = time.monotonic() + DRAIN_SECONDS
    last, quiet_since = _traffic(metrics_url), time.monotonic()
    while time.monotonic() - quiet_since < quiet_for and time.monotonic() < deadline and java.poll() is None:
        time.sleep(POLL_SECONDS)
        if (now := _traffic(metrics_url)) != last:
            last, quiet_since = now, time.monotonic()
    java.terminate()


def _traffic(metrics_url: str) -> list[str]:
    """The frontend's request counters, as text; [] when the metrics cannot be read."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=1) as response:  # noqa: S310 (TorchServe's own port)
            lines = response.read().decode().splitlines()
    except OSError:
        return []
    return sorted(line for line in lines if line.startswith(TRAFFIC_METRICS))


def _properties(arguments: list[str]) -> dict[str, str]:
    """config.properties (`--ts-config`), as TorchServe reads it; {} without one."""
    from ts.model_server import load_properties

    paths = [argument.split("=", 1)[1] for argument in arguments if argument.startswith("--ts-config=")]
    return load_properties(paths[-1]) if paths and os.path.isfile(paths[-1]) else {}


def _longest_batch_delay(properties: dict[str, str]) -> int:
    """The longest maxBatchDelay (ms) of the models in config.properties' model_snapshot."""
    try:
        models = json.loads(properties.get("model_snapshot", "{}")).get("models", {})
    except json.JSONDecodeError:
        return 0
    return max((int(version.get("maxBatchDelay", 0)) for model in models.values() for version in model.values()),
               default=0)  # fmt: skip


def _local(address: str) -> str:
    """TorchServe's address as this container reaches it (0.0.0.0 listens everywhere, 127.0.0.1 reaches it)."""
    return (address or "http://127.0.0.1:8082").replace("0.0.0.0", "127.0.0.1").rstrip("/")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
