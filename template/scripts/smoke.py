"""Prove the service answers correctly: locally, or deployed by any access path of the guideline.

    python -m scripts.smoke --local                 # start the server here, check it, stop it
    python -m scripts.smoke --target external       # guideline "External Access"
    python -m scripts.smoke --target internal       # "Internal Access", from inside the cluster
    python -m scripts.smoke --target gateway        # local gateway + Host header ("Internal Access")
    python -m scripts.smoke --url http://host:port  # any base URL
    python -m scripts.smoke --target external --connect-to 10.0.0.5:80   # via an address, same Host

Checks: the model becomes ready (bounded wait), the sample in scripts/sample.json gets the
expected predictions, and a malformed request gets a 4xx. Exits non-zero with the reason.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from scripts.service_facts import load_service

SAMPLE = Path(__file__).with_name("sample.json")


class SmokeFailure(Exception):
    """The service did not answer as it should; the message says what was seen."""


@dataclass(frozen=True)
class Target:
    """Where to send requests: a base URL, and the Host header when going through a gateway."""

    url: str
    host_header: str | None = None

    def describe(self) -> str:
        return self.url + (f" (Host: {self.host_header})" if self.host_header else "")


def resolve_target(
    service: dict[str, Any],
    target: str,
    gateway: str | None = None,
    host: str | None = None,
    connect_to: str | None = None,
) -> Target:
    """The guideline's endpoint for `target`; the gateway address and Host can be overridden, and
    `connect_to` (HOST:PORT, like curl's --connect-to) sends the requests elsewhere while keeping the
    endpoint's Host header: an ingress IP, a port-forward, or a test server."""
    endpoints = service["endpoints"]
    if target == "gateway":
        url, host = gateway or endpoints["local_gateway"], host or endpoints["gateway_host_header"]
    else:
        url = endpoints[target]
    if connect_to:
        host, url = host or urlparse(url).netloc, f"http://{connect_to}"
    return Target(url, host)


def v2_request(instances: list[list[float]]) -> dict[str, Any]:
    flat = [value for row in instances for value in row]
    shape = [len(instances), len(instances[0]) if instances else 0]
    return {"inputs": [{"name": "input-0", "shape": shape, "datatype": "FP64", "data": flat}]}


class SmokeClient:
    """Talks V1 or V2 to one model at one target."""

    def __init__(self, target: Target, service: dict[str, Any], protocol: str, timeout_s: float = 10.0) -> None:
        headers = {"Host": target.host_header} if target.host_header else {}
        self.http = httpx.Client(base_url=target.url, headers=headers, timeout=timeout_s)
        self.model, self.protocol = service["model_name"], protocol
        self.ready_path = service["paths"][protocol]["ready"]
        self.predict_path = service["paths"][protocol]["predict"]

    def wait_until_ready(self, timeout_s: float) -> None:
        deadline, last = time.monotonic() + timeout_s, "no answer"
        while time.monotonic() < deadline:
            try:
                response = self.http.get(self.ready_path)
                if response.status_code == 200 and response.json().get("ready") in (True, "True"):
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as error:
                last = f"{type(error).__name__}: {error}"
            time.sleep(0.5)
        raise SmokeFailure(f"model {self.model!r} not ready after {timeout_s:.0f} s (last: {last})")

    def predict(self, instances: list[list[float]]) -> list[Any]:
        body = {"instances": instances} if self.protocol == "v1" else v2_request(instances)
        try:
            response = self.http.post(self.predict_path, json=body)
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
        return list(payload["outputs"][0]["data"])

    def malformed_status(self) -> int:
        response = self.http.post(self.predict_path, json={"not-instances": "oops"})
        return response.status_code


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
            "requests_per_s": round((len(values) + self.errors) / self.wall_s, 1),
        }


def run_smoke(client: SmokeClient, ready_timeout_s: float, requests: int = 1, concurrency: int = 1) -> Report:
    """Every check in order, then `requests` predictions from `concurrency` threads."""
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    client.wait_until_ready(ready_timeout_s)
    predictions = client.predict(sample["instances"])
    if len(predictions) != len(sample["instances"]):
        raise SmokeFailure(f"{len(sample['instances'])} instances sent, {len(predictions)} predictions back")
    if "expected" in sample and predictions != sample["expected"]:
        raise SmokeFailure(f"predictions {predictions} differ from expected {sample['expected']}")
    status = client.malformed_status()
    if not 400 <= status < 500:
        raise SmokeFailure(f"a malformed request got HTTP {status}; expected a 4xx client error")

    def timed(_: int) -> float | str:
        started = time.perf_counter()
        try:
            client.predict(sample["instances"])
        except (SmokeFailure, httpx.HTTPError) as error:
            return str(error)
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(timed, range(requests)))
    report = Report([r for r in results if isinstance(r, float)], sum(isinstance(r, str) for r in results),
                    time.perf_counter() - started)  # fmt: skip
    if report.errors:
        first = next(r for r in results if isinstance(r, str))
        raise SmokeFailure(f"{report.errors} of {requests} predictions failed; first: {first}")
    return report


def percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="start the server on 127.0.0.1 and check it")
    where.add_argument("--url", help="base URL of the service")
    where.add_argument("--target", choices=["external", "internal", "gateway"], help="guideline endpoint")
    parser.add_argument("--gateway", help="gateway base URL for --target gateway (default: from service.yaml)")
    parser.add_argument("--host", help="Host header to send (default for --target gateway: from service.yaml)")
    parser.add_argument("--connect-to", metavar="HOST:PORT", help="send to this address, keeping the target's Host")
    parser.add_argument("--protocol", choices=["v1", "v2"], help="default: the service's protocol")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    parser.add_argument("--requests", type=int, default=1, help="predictions to send (latency report)")
    parser.add_argument("--concurrency", type=int, default=1, help="threads sending them")
    parser.add_argument("--json", action="store_true", help="print the latency report as JSON")
    parser.add_argument("--max-p95-ms", type=float, help="fail when p95 latency exceeds this")
    parser.add_argument("--max-p99-ms", type=float, help="fail when p99 latency exceeds this")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    service = load_service()
    protocol = args.protocol or service["protocol"]

    def check(target: Target) -> Report:
        return run_smoke(SmokeClient(target, service, protocol), args.timeout, args.requests, args.concurrency)

    try:
        if args.url or args.target:
            target = (
                Target(args.url, args.host)
                if args.url
                else resolve_target(service, args.target, args.gateway, args.host, args.connect_to)
            )
            report = check(target)
        else:
            from scripts.local_server import LocalServer

            with LocalServer() as server:
                target = Target(server.url)
                try:
                    report = check(target)
                except SmokeFailure as failure:
                    raise SmokeFailure(f"{failure}\n--- server log ---\n{server.log_tail()}") from failure
    except (SmokeFailure, RuntimeError, httpx.HTTPError) as failure:
        print(f"SMOKE FAILED ({protocol}): {failure}", file=sys.stderr)
        return 1
    summary = report.summary()
    if args.json:
        print(json.dumps(summary))
    print(
        f"SMOKE OK ({protocol}) {target.describe()}: {summary['requests']} predictions, {summary['errors']} errors, "
        f"p50 {summary['p50_ms']:.1f} ms, p95 {summary['p95_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms, "
        f"{summary['requests_per_s']} requests/s"
    )
    for name, limit in (("p95", args.max_p95_ms), ("p99", args.max_p99_ms)):
        value = summary[f"{name}_ms"]
        if limit is not None and value > limit:
            print(f"SMOKE FAILED: {name} {value:.1f} ms exceeds --max-{name}-ms {limit}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
