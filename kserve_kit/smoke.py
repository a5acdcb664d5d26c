"""`kserve-kit smoke` (`make smoke`): prove the service answers correctly, locally or deployed by any
access path of the guideline.

    kserve-kit smoke                          # start the model server here (127.0.0.1), check it, stop it
    kserve-kit smoke --target external        # guideline "External Access"
    kserve-kit smoke --target internal        # "Internal Access", from inside the cluster
    kserve-kit smoke --target gateway         # local gateway + Host header ("Internal Access")
    kserve-kit smoke --target internal --canary  # the canary revision alone (`make canary`)
    kserve-kit smoke --url http://host:port   # any base URL
    kserve-kit smoke --target external --connect-to 10.0.0.5:80   # via an address, same Host

For each protocol the ServingRuntime declares (the service's own first; --protocol picks one): the
model becomes ready (bounded wait), the request in sample.json gets the expected predictions, and a
malformed request gets a 4xx; a text model's OpenAI routes too (openai_smoke.py), unless --protocol.
With --requests N, a latency report (p50/p95/p99, requests/s) and optional thresholds. One verdict,
printed last; exit 1 when any check failed.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from kserve_kit import KitError
from kserve_kit.histogram import chart, write_page
from kserve_kit.service import SAMPLE_FILE, Service

# How each model server reports a model ready, per protocol. KServe's Python server has per-model
# readiness on both protocols. TorchServe 0.12 has only server-level readiness, which says ready while
# the model's worker is still loading or crash-looping: for it, a prediction is what proves readiness.
READY_PATHS = {
    "kserve": {"v1": "/v1/models/{model}", "v2": "/v2/models/{model}/ready"},
    "torchserve": {"v1": "/v2/health/ready", "v2": "/v2/health/ready"},
}
READY_BY_PREDICTION = {"torchserve"}
PREDICT_PATHS = {"v1": "/v1/models/{model}:predict", "v2": "/v2/models/{model}/infer"}
TARGETS = ("external", "internal", "gateway")


class SmokeFailure(Exception):
    """The service did not answer as it should; the message says what was seen."""


@dataclass(frozen=True)
class Target:
    """Where to send requests: a base URL, and the Host header when going through a gateway."""

    url: str
    host_header: str | None = None
    # A server this machine runs (a local process, a container): why it is gone, or None while it
    # runs, so that a server that died is said at once, not after the readiness timeout.
    gone: Callable[[], str | None] | None = field(default=None, compare=False)

    def describe(self) -> str:
        return self.url + (f" (Host: {self.host_header})" if self.host_header else "")


def resolve_target(
    service: Service,
    target: str,
    gateway: str | None = None,
    host: str | None = None,
    connect_to: str | None = None,
    canary: bool = False,
) -> Target:
    """The guideline's endpoint for `target`; the gateway address and Host can be overridden, and
    `connect_to` (HOST:PORT, like curl's --connect-to) sends the requests elsewhere while keeping the
    endpoint's Host header: an ingress IP, a port-forward, or a test server."""
    endpoints = service.fact("endpoints")
    if target == "gateway":
        if not (gateway or endpoints.get("local_gateway")):
            mode = (service.facts.get("deployment_mode") or {}).get("name", "this deployment mode")
            raise KitError(
                f"{service.name} has no local gateway: in {mode} mode in-cluster clients call the predictor's "
                "Service directly. Use --target internal (from inside the cluster), or --gateway URL --host HOST"
            )
        url, host = gateway or endpoints["local_gateway"], host or endpoints["gateway_host_header"]
    else:
        url = endpoints.get(target)
    if not url:
        inside = "--target internal" + (" or --target gateway" if endpoints.get("local_gateway") else "")
        raise KitError(
            f"{service.name} has no {target} endpoint: it is {service.facts.get('visibility')} (guideline "
            f'"External Access": the cluster-local label keeps it off the ingress gateway). Use {inside} '
            "from inside the cluster"
        )
    if canary:
        host, url = canary_address(service, host, url)
    if connect_to:
        host, url = host or urlparse(url).netloc, f"http://{connect_to}"
    return Target(url, host)


def canary_address(service: Service, host: str | None, url: str) -> tuple[str | None, str]:
    """The canary revision's address: KServe tags it `latest` (tag routing, which `make canary` turns
    on), and Knative serves a tag at `latest-<host>`."""
    if not service.splits_traffic:
        mode = service.facts["deployment_mode"].get("name")
        raise KitError(f"{service.name} runs in {mode} mode: only Knative mode has canary revisions")
    if host:
        return f"latest-{host}", url
    parsed = urlparse(url)
    return None, parsed._replace(netloc=f"latest-{parsed.netloc}").geturl()


@dataclass(frozen=True)
class Sample:
    """sample.json: the request `instances` and, optionally, the `expected` predictions."""

    path: Path
    instances: list[Any]
    expected: list[Any] | None

    @classmethod
    def load(cls, path: Path) -> Sample:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KitError(f"no {path.name} at {path}: it holds the request the smoke test sends") from None
        except json.JSONDecodeError as error:
            raise KitError(f"{path.name} is not JSON: {error}") from error
        instances = data.get("instances") if isinstance(data, dict) else None
        if not isinstance(instances, list) or not instances:
            raise KitError(f'{path.name} needs "instances": a non-empty list of rows, as the model takes them')
        return cls(path, instances, data.get("expected"))


def v2_request(instances: list[Any]) -> dict[str, Any]:
    """A V2 (Open Inference Protocol) body holding `instances` as one tensor: texts as BYTES of shape
    [texts], rows of numbers as FP64 of shape [rows, columns]."""
    if all(isinstance(instance, str) for instance in instances):
        return {"inputs": [{"name": "text", "shape": [len(instances)], "datatype": "BYTES", "data": instances}]}
    rows = [row if isinstance(row, list) else [row] for row in instances]
    flat = [value for row in rows for value in row]
    return {"inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": "FP64", "data": flat}]}


class SmokeClient:
    """Talks V1 or V2 to one model at one target."""

    def __init__(
        self, target: Target, service: Service, protocol: str, timeout_s: float = 10.0, connections: int = 100
    ) -> None:
        headers = {"Host": target.host_header} if target.host_header else {}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.http = httpx.Client(base_url=target.url, headers=headers, timeout=timeout_s, limits=limits)
        self.model, self.protocol, self.gone = service.name, protocol, target.gone
        self.ready_path = READY_PATHS[service.server][protocol].format(model=self.model)
        self.ready_by_prediction = service.server in READY_BY_PREDICTION
        self.predict_path = PREDICT_PATHS[protocol].format(model=self.model)

    def wait_until_ready(self, timeout_s: float, sample: Sample) -> None:
        """The ready route says ready (and, where that is not enough, the sample gets an answer)."""
        deadline, last = time.monotonic() + timeout_s, "no answer"
        while time.monotonic() < deadline:
            if self.gone and (reason := self.gone()):
                raise SmokeFailure(f"model {self.model!r} never got ready: {reason}")
            try:
                response = self.http.get(self.ready_path)
                if response.status_code == 200 and response.json().get("ready") in (True, "True"):
                    if not self.ready_by_prediction:
                        return
                    response = self.http.post(self.predict_path, json=self.body(sample.instances), timeout=2.0)
                    if response.status_code == 200:
                        return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except (httpx.HTTPError, ValueError) as error:
                last = f"{type(error).__name__}: {error}"
            time.sleep(0.5)
        raise SmokeFailure(f"model {self.model!r} not ready after {timeout_s:.0f} s (last: {last})")

    def body(self, instances: list[Any]) -> dict[str, Any]:
        return {"instances": instances} if self.protocol == "v1" else v2_request(instances)

    def predict(self, instances: list[Any]) -> list[Any]:
        try:
            response = self.http.post(self.predict_path, json=self.body(instances))
        except httpx.TimeoutException as error:
            raise SmokeFailure(
                f"predict got no answer in {self.http.timeout.read} s although the server reports ready: "
                "its model worker is probably failing to start (see the server log)"
            ) from error
        if response.status_code != 200:
            raise SmokeFailure(f"predict returned HTTP {response.status_code}: {response.text[:300]}")
        payload = response.json()
        if self.protocol == "v1":
            return list(payload["predictions"])
        output = payload["outputs"][0]
        if len(output["shape"]) == 2:  # a vector per instance (embeddings), sent flat
            width = output["shape"][1]
            return [output["data"][start : start + width] for start in range(0, len(output["data"]), width)]
        return list(output["data"])

    def malformed_status(self) -> int:
        return self.http.post(self.predict_path, json={"not-instances": "oops"}).status_code


@dataclass(frozen=True)
class Report:
    """What a run measured: prediction latencies (ms), errors, wall time."""

    latencies_ms: list[float]
    errors: int
    wall_s: float

    def summary(self) -> dict[str, float | int]:
        values = self.latencies_ms
        return {
            "requests": len(values) + self.errors,
            "errors": self.errors,
            "p50_ms": round(percentile(values, 50), 3),
            "p95_ms": round(percentile(values, 95), 3),
            "p99_ms": round(percentile(values, 99), 3),
            "requests_per_s": round((len(values) + self.errors) / self.wall_s, 1) if self.wall_s else 0.0,
        }


def check_answers(client: SmokeClient, sample: Sample, ready_timeout_s: float) -> None:
    """Ready, the sample's predictions, and a 4xx for a malformed request."""
    client.wait_until_ready(ready_timeout_s, sample)
    try:
        predictions = client.predict(sample.instances)
    except SmokeFailure as failure:
        raise SmokeFailure(f"{failure}; the request comes from {sample.path.name}: does it fit the model?") from None
    if len(predictions) != len(sample.instances):
        raise SmokeFailure(f"{len(sample.instances)} instances sent from {sample.path.name}, {len(predictions)} back")
    if sample.expected is not None and predictions != sample.expected:
        raise SmokeFailure(
            f"predictions {predictions} differ from the `expected` list in {sample.path.name} {sample.expected}: "
            f"update it for your model (or remove `expected` when predictions are not fixed)"
        )
    status = client.malformed_status()
    if not 400 <= status < 500:
        raise SmokeFailure(f"a malformed request got HTTP {status}; expected a 4xx client error")


def run_load(client: SmokeClient, sample: Sample, requests: int, concurrency: int) -> Report:
    """`requests` predictions of the sample from `concurrency` threads."""

    def timed(_: int) -> float | str:
        started = time.perf_counter()
        try:
            client.predict(sample.instances)
        except (SmokeFailure, httpx.HTTPError) as error:
            return str(error)
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(timed, range(requests)))
    latencies = [result for result in results if isinstance(result, float)]
    report = Report(latencies, len(results) - len(latencies), time.perf_counter() - started)
    if report.errors:
        first = next(result for result in results if isinstance(result, str))
        raise SmokeFailure(f"{report.errors} of {requests} predictions failed; first: {first}")
    return report


def percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", help="base URL of the service")
    where.add_argument("--target", choices=TARGETS, help="guideline endpoint of the deployed service")
    parser.add_argument("--gateway", help="gateway base URL for --target gateway (default: from the facts file)")
    parser.add_argument("--host", help="Host header to send (default for --target gateway: from the facts file)")
    parser.add_argument("--connect-to", metavar="HOST:PORT", help="send to this address, keeping the target's Host")
    parser.add_argument("--canary", action="store_true", help="check the canary revision alone (its `latest-` tag)")
    parser.add_argument("--protocol", choices=["v1", "v2"], help="check only this protocol (default: each declared)")
    parser.add_argument("--sample", type=Path, help=f"request file (default: the repo's {SAMPLE_FILE})")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    parser.add_argument("--requests", type=int, default=1, help="predictions to send (latency report)")
    parser.add_argument("--concurrency", type=int, default=1, help="threads sending them")
    parser.add_argument("--json", action="store_true", help="print each latency report as JSON")
    parser.add_argument(
        "--histogram", type=Path, metavar="FILE", help="write a latency histogram (.md: a TechDocs page; else HTML)"
    )
    parser.add_argument("--max-p95-ms", type=float, help="fail when p95 latency exceeds this")
    parser.add_argument("--max-p99-ms", type=float, help="fail when p99 latency exceeds this")


@contextmanager
def _local_server(service: Service) -> Iterator[Target]:
    from kserve_kit.local_server import LocalServer

    with LocalServer(service) as server:
        try:
            yield Target(server.url, gone=server.exited)
        except SmokeFailure as failure:
            raise SmokeFailure(f"{failure}\n--- server log ---\n{server.log_tail()}") from None


UNRESOLVED_ADVICE = {
    "internal": 'the internal endpoint resolves only inside the cluster (guideline "Internal Access"): run '
    "this from a pod there, or `kubectl port-forward` and add --connect-to 127.0.0.1:<port>",
    "gateway": "the local gateway resolves only inside the cluster: run this from a pod there, or port-forward "
    "the gateway and pass --gateway http://127.0.0.1:<port>",
    "external": "check your network (VPN, the company DNS), or send to the ingress address with --connect-to",
    "url": "check the URL's host name",
}


def ensure_resolves(target: Target, kind: str) -> None:
    """Fail at once, with what to do, when the target's host name does not resolve from here (waiting
    out the readiness timeout would only blame readiness)."""
    parsed = urlparse(target.url)
    try:
        socket.getaddrinfo(parsed.hostname or "", parsed.port or 80)
    except socket.gaierror:
        raise SmokeFailure(f"{parsed.hostname} does not resolve from this machine: {UNRESOLVED_ADVICE[kind]}") from None


def smoke(service: Service, target: Target, args: argparse.Namespace) -> list[str]:
    """Check every protocol at `target`; the lines of the report (raises SmokeFailure on the first failure)."""
    sample = Sample.load(args.sample or service.sample_path)
    lines, charts, charted = [], [], []  # charted: the lines the charts illustrate
    for protocol in [args.protocol] if args.protocol else service.protocols:
        client = SmokeClient(target, service, protocol)
        check_answers(client, sample, args.timeout)
        report = run_load(client, sample, args.requests, args.concurrency)
        summary = report.summary()
        if args.json:
            print(json.dumps({"protocol": protocol, **summary}))
        line = f"{protocol}: ready, {sample.path.name} predicted as expected, a malformed request refused"
        if args.requests > 1:
            p50, p95, p99 = (f"{summary[key]:.1f} ms" for key in ("p50_ms", "p95_ms", "p99_ms"))
            line += f"; {summary['requests']} predictions at concurrency {args.concurrency}: p50 {p50}, p95 {p95}, "
            line += f"p99 {p99}, {summary['requests_per_s']} requests/s"
        lines.append(line)
        if args.histogram:
            marks = {name: float(summary[f"{name}_ms"]) for name in ("p50", "p95", "p99")}
            charts.append(chart(f"{protocol}: {args.requests} predictions at concurrency {args.concurrency}",
                                report.latencies_ms, marks))  # fmt: skip
            charted.append(line)
        for name, limit in (("p95", args.max_p95_ms), ("p99", args.max_p99_ms)):
            value = summary[f"{name}_ms"]
            if limit is not None and value > limit:
                raise SmokeFailure(f"{protocol}: {name} latency {value:.1f} ms exceeds --max-{name}-ms {limit}")
    if service.task and not args.protocol:  # a text model: OpenAI's routes too
        from kserve_kit import openai_smoke

        lines.append(openai_smoke.check(target, service.name, service.task, sample, service.openai_prefix))
        if args.requests > 1 and service.task == "text-generation":  # what its users feel: tokens and their pace
            from kserve_kit import generation_load

            load = generation_load.run(target, service.openai_prefix, service.name, sample, args.requests,
                                       args.concurrency)  # fmt: skip
            if args.json:
                print(json.dumps({"route": "chat/completions", **load.summary()}))
            lines.append(load.line())
            if args.histogram:
                summary = load.summary()
                marks = {f"p{pct}": float(summary[f"first_token_p{pct}_ms"]) for pct in (50, 95)}
                charts.append(chart(f"time to first token: {args.requests} streamed chats at concurrency "
                                    f"{args.concurrency}", load.first_token_ms, marks))  # fmt: skip
                charted.append(lines[-1])
    if args.histogram:
        local = not (args.url or args.target)
        where = (
            "the local server on this machine (`TARGET=...` measures the deployed one)" if local else target.describe()
        )
        write_page(args.histogram, service.name, where, charts, charted)
        lines.append(f"latency histogram: {args.histogram}")
    return lines


def run(args: argparse.Namespace) -> int:
    service = Service.load(args.repo)
    if args.canary and not args.target:
        raise KitError("--canary checks the canary revision of a deployed service: add --target (TARGET=...)")
    if args.histogram and args.requests < 20:
        raise KitError("--histogram needs a load to draw: add --requests 200 (and --concurrency to taste)")
    if args.url:
        where = nullcontext(Target(args.url, args.host))
    elif args.target:
        where = nullcontext(resolve_target(service, args.target, args.gateway, args.host, args.connect_to, args.canary))
    else:
        where = _local_server(service)
    described = "the local server"
    try:
        with where as target:
            described = target.describe() if (args.url or args.target) else f"the local server at {target.url}"
            if args.url or args.target:
                ensure_resolves(target, "url" if args.url or args.connect_to else args.target)
            lines = smoke(service, target, args)
    except (SmokeFailure, httpx.HTTPError) as failure:
        print(f"SMOKE FAILED {service.name} at {described}: {failure}", file=sys.stderr)
        return 1
    for line in lines:
        print(f"  {line}")
    print(f"SMOKE OK {service.name} at {described}")
    return 0
