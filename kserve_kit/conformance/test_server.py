"""The real server process on 127.0.0.1, checked with kserve-kit's smoke client: each protocol
answers the sample, bad requests get a 400 with a message, an oversized body a 413, and the
server keeps answering. (What each message says is tested where it is made.)"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from kserve_kit.local_server import LocalServer
from kserve_kit.service import Service
from kserve_kit.smoke import Sample, SmokeClient, Target, check_answers, run_load, v2_request


def test_each_protocol_answers_the_sample(server: LocalServer, service: Service, protocol: str) -> None:
    client = SmokeClient(Target(server.url), service, protocol)
    check_answers(client, Sample.load(service.sample_path), ready_timeout_s=60)


BAD_BODIES = [
    b'{"instances": [["a", "b"]]}',  # not numbers
    b'{"instances": []}',  # no rows
    b'{"rows": []}',  # neither V1 nor V2
    b"[1, 2]",  # not an object
    b"{not json",
    b'{"instances": [[' + b"7" * 5000 + b"]]}",  # a number longer than any parser reads
    b'{"instances": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # nesting deeper than any parser follows
]


def test_bad_requests_are_400_with_a_message(server: LocalServer, service: Service) -> None:
    url = server.url + f"/v1/models/{service.name}:predict"
    for body in BAD_BODIES:
        response = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"].strip(), body


def test_a_body_that_is_not_json_is_refused(server: LocalServer, service: Service, sample: dict[str, Any]) -> None:
    url = server.url + f"/v1/models/{service.name}:predict"
    body = json.dumps({"instances": sample["instances"]})
    response = httpx.post(url, content=body, headers={"Content-Type": "text/plain"}, timeout=30)
    assert response.status_code == 400, response.text


# A bad V2 request -> what its error names.
V2_CASES = {
    "bogus datatype": "datatype",
    "wrong shape": "shape",
    "no shape": "shape",
    "not JSON": "application/json",
}


def bad_v2_body(case: str, instances: list[Any]) -> dict[str, Any]:
    """The sample's first instance as smoke sends it by V2 (rows: FP64 [1, width]; texts: BYTES [1]), broken."""
    tensor = v2_request(instances[:1])["inputs"][0]
    if case == "bogus datatype":
        tensor["datatype"] = "BOGUS"
    elif case == "wrong shape":
        tensor["shape"] = [2, *tensor["shape"][1:]]  # one instance's data, two instances' shape
    elif case == "no shape":
        del tensor["shape"]
    return {"inputs": [tensor]}


@pytest.mark.parametrize("case", list(V2_CASES))
def test_bad_v2_requests_are_400_with_a_message(
    server: LocalServer, service: Service, sample: dict[str, Any], case: str
) -> None:
    response = httpx.post(
        server.url + f"/v2/models/{service.name}/infer",
        content=json.dumps(bad_v2_body(case, sample["instances"])),
        headers={"Content-Type": "text/plain" if case == "not JSON" else "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert V2_CASES[case] in response.json()["error"], response.text


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


def test_a_burst_of_clients_is_queued_not_refused(server: LocalServer, service: Service) -> None:
    """256 clients at once: each gets its answer (TorchServe's default queue of 100 answered 93% of
    them 503 "no worker"; config.properties sets job_queue_size)."""
    client = SmokeClient(Target(server.url), service, service.protocol, timeout_s=60, connections=256)
    report = run_load(client, Sample.load(service.sample_path), requests=256, concurrency=256)
    assert report.errors == 0, report.summary()
