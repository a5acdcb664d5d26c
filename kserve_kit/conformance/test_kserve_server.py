"""KServe's Python server with the serving library: what TorchServe's frontend cannot be told to do."""

from __future__ import annotations

import http.client
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pytest

from kserve_kit.local_server import LocalServer
from kserve_kit.metrics import answered
from kserve_kit.service import Service
from kserve_kit.serving.limits import BODY_SECONDS, MAX_HEADER_BYTES


def test_a_v1_body_on_the_v2_route_names_the_route(server: LocalServer, service: Service, sample: dict) -> None:
    response = httpx.post(server.url + f"/v2/models/{service.name}/infer", json={"instances": sample["instances"]})
    assert response.status_code == 400 and "V2 route" in response.json()["error"], response.text


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_inference_route_takes_only_post(server: LocalServer, service: Service, method: str) -> None:
    for path in (f"/v1/models/{service.name}:predict", f"/v2/models/{service.name}/infer"):
        response = httpx.request(method, server.url + path, timeout=30)
        assert response.status_code == 405 and response.headers["allow"] == "POST", response.text[:200]
        assert f"takes POST, not {method}" in response.json()["error"]


def test_a_client_error_is_logged_as_one_line(server: LocalServer, service: Service) -> None:
    httpx.post(server.url + f"/v1/models/{service.name}:predict", json={"instances": [["a"]]}, timeout=30)
    log = server.log_tail(200)
    assert "client error (400)" in log and "Traceback" not in log


def test_an_unknown_model_is_kserves_404(server: LocalServer) -> None:
    response = httpx.post(server.url + "/v1/models/no-such-model:predict", json={"instances": [[1]]}, timeout=30)
    assert response.status_code == 404, response.text


def test_concurrent_requests_each_get_their_own_answer(server: LocalServer, service: Service, sample: dict) -> None:
    """Requests that arrive together may share one model call (the PyTorch runtime batches them):
    each still gets the answer to its own rows, as when it is sent alone."""
    url = server.url + f"/v1/models/{service.name}:predict"
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=16)) as client:

        def predict(row: Any) -> list[Any]:
            response = client.post(url, json={"instances": [row]})
            assert response.status_code == 200, response.text
            return response.json()["predictions"]

        alone = [predict(row) for row in sample["instances"]]
        with ThreadPoolExecutor(max_workers=16) as pool:
            together = list(pool.map(predict, sample["instances"] * 8))
    assert_same_answers(together, alone * 8)


def assert_same_answers(got: list[Any], expected: list[Any]) -> None:
    """Equal answers; vectors of floats (embeddings) equal to float32's precision: a text's vector in a
    batch of texts of other lengths is computed with padding, and may differ in the last digits."""
    numbers = np.asarray(expected)
    if numbers.dtype.kind == "f":
        assert np.allclose(np.asarray(got), numbers, atol=1e-5), (got, expected)
    else:
        assert got == expected


def _answered(metrics_url: str, model: str) -> float:
    return answered(httpx.get(metrics_url, timeout=30).text, model, "v1")


def test_the_metrics_count_the_requests_of_every_worker(server: LocalServer, service: Service, sample: dict) -> None:
    """The server runs one worker per CPU (kserve_kit.serving.workers); each request on a connection of
    its own may reach any of them, and any worker answers the scrape: every scrape counts them all."""
    url = server.url + f"/v1/models/{service.name}:predict"
    before = _answered(server.metrics_url, service.name)
    for _ in range(12):
        response = httpx.post(url, json={"instances": sample["instances"]}, timeout=30)  # a new connection each
        assert response.status_code == 200, response.text
    assert [_answered(server.metrics_url, service.name) - before for _ in range(4)] == [12.0] * 4


def test_headers_over_the_meshs_limit_get_431(server: LocalServer, service: Service, sample: dict) -> None:
    url = server.url + f"/v1/models/{service.name}:predict"
    response = httpx.post(url, json={"instances": sample["instances"]}, headers={"x-big": "a" * (MAX_HEADER_BYTES + 1)})
    assert response.status_code == 431 and "request headers larger than" in response.json()["error"], response.text
    assert httpx.post(url, json={"instances": sample["instances"]}, headers={"x-small": "a" * 1024}).status_code == 200


@pytest.mark.parametrize("media_type", ["application/json", "application/octet-stream"])
def test_a_body_that_trickles_in_gets_408(server: LocalServer, service: Service, media_type: str) -> None:
    """A client that sends its headers and then a byte now and then holds a connection (and its
    partial body) no longer than the body's time limit, on the fast path (JSON) and on KServe's
    route (anything else, read by FastAPI)."""
    head = (f"POST /v1/models/{service.name}:predict HTTP/1.1\r\nHost: x\r\nContent-Type: {media_type}\r\n"
            "Content-Length: 100\r\n\r\n")  # fmt: skip
    with socket.create_connection(("127.0.0.1", server.port), timeout=BODY_SECONDS + 20) as client:
        client.sendall(head.encode() + b'{"instances": ')
        started = time.monotonic()
        answer = http.client.HTTPResponse(client)  # reads head and body to the end, however they are split
        answer.begin()
        body = answer.read().decode()
    assert answer.status == 408, body[:300]
    assert f"did not arrive within {BODY_SECONDS:g} s" in body
    assert BODY_SECONDS - 1 < time.monotonic() - started < BODY_SECONDS + 15
