"""The real server process on 127.0.0.1, checked with kserve-kit's smoke client: each protocol
answers the sample, bad requests get a 4xx that says what is wrong, the server keeps answering."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from kserve_kit.local_server import LocalServer
from kserve_kit.service import Service
from kserve_kit.smoke import Sample, SmokeClient, Target, check_answers, run_load


def test_each_protocol_answers_the_sample(server: LocalServer, service: Service, protocol: str) -> None:
    client = SmokeClient(Target(server.url), service, protocol)
    check_answers(client, Sample.load(service.sample_path), ready_timeout_s=60)


def bad_v1_bodies(width: int, server: str) -> list[tuple[bytes, str]]:
    bodies = [
        (json.dumps({"instances": [[1.0] * (width + 1)]}).encode(), f"{width} numbers"),
        (json.dumps({"instances": [["1"] * width]}).encode(), "only numbers"),
        (json.dumps({"instances": [[True] * width]}).encode(), "only numbers"),
        (json.dumps({"instances": []}).encode(), "non-empty"),
        (json.dumps({"rows": []}).encode(), '"instances"'),
        (json.dumps([1, 2]).encode(), "JSON object"),
        (b"{not json", "JSON"),  # KServe's own: "Unrecognized request format"
    ]
    if server == "kserve":  # TorchServe does not tell its handler which route a request came by
        bodies.append((json.dumps({"inputs": []}).encode(), "V1 route"))
    return bodies


def test_bad_v1_requests_are_400_with_a_message(server: LocalServer, service: Service, sample: dict[str, Any]) -> None:
    url = server.url + f"/v1/models/{service.name}:predict"
    for body, message in bad_v1_bodies(len(sample["instances"][0]), service.server):
        response = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert message in error or (message == "JSON" and "request format" in error), (body, response.text)


def test_a_body_that_is_not_json_is_refused_as_such(
    server: LocalServer, service: Service, sample: dict[str, Any]
) -> None:
    url = server.url + f"/v1/models/{service.name}:predict"
    body = json.dumps({"instances": sample["instances"]})
    response = httpx.post(url, content=body, headers={"Content-Type": "text/plain"}, timeout=30)
    assert response.status_code in (400, 415) and "application/json" in response.text, response.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"datatype": "BOGUS"}, "datatype"),
        ({"datatype": "BYTES"}, "datatype"),
        ({"shape": [1, 1]}, "shape"),
    ],
)
def test_bad_v2_requests_are_400_with_a_message(
    server: LocalServer, service: Service, sample: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    row = sample["instances"][0]
    tensor = {"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row, **change}
    response = httpx.post(server.url + f"/v2/models/{service.name}/infer", json={"inputs": [tensor]}, timeout=30)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"], response.text


def test_an_oversized_body_is_refused_with_413_and_a_message(server: LocalServer, service: Service) -> None:
    url = server.url + f"/v1/models/{service.name}:predict"
    body = b'{"instances": [' + b",".join([b"[1.0, 2.0, 3.0, 4.0]"] * 600_000) + b"]}"  # about 12 MB
    response = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 413, response.text[:200]
    if service.server == "kserve":  # TorchServe's frontend answers 413 with an empty body, and cannot be told otherwise
        assert "larger than" in response.json()["error"]


def test_the_server_keeps_answering_after_bad_requests(server: LocalServer, service: Service) -> None:
    httpx.post(server.url + f"/v1/models/{service.name}:predict", json={"instances": "x"}, timeout=30)
    client = SmokeClient(Target(server.url), service, service.protocol)
    report = run_load(client, Sample.load(service.sample_path), requests=50, concurrency=4)
    assert report.errors == 0 and len(report.latencies_ms) == 50
