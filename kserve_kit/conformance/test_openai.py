"""OpenAI's routes of a text model (kserve_kit.serving.openai_api), whatever its task, through OpenAI's
own client and plain HTTP: the model is listed, other routes and methods are refused in OpenAI's error
shape, and the request metrics count the routes. test_openai_<task>.py holds each task's answers."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from kserve_kit.local_server import LocalServer
from kserve_kit.metrics import answered
from kserve_kit.openai_smoke import client
from kserve_kit.service import Service
from kserve_kit.serving.routes import OPENAI_PREFIX, OPENAI_TASK_ROUTES
from kserve_kit.smoke import Target


@pytest.fixture(scope="module")
def api(server: LocalServer, service: Service) -> openai.OpenAI:
    return client(Target(server.url), service.openai_prefix)


def served_route(service: Service) -> str:
    """A route of the service's task."""
    return next(path for path, task in OPENAI_TASK_ROUTES.items() if task == service.task)


def a_request(service: Service, sample: dict[str, Any]) -> dict[str, Any]:
    """A body that route answers."""
    text = sample["instances"][0]
    if service.task == "embeddings":
        return {"model": service.name, "input": text}
    return {"model": service.name, "prompt": text, "max_tokens": 2}


def test_the_model_is_listed_and_found(api: openai.OpenAI, service: Service) -> None:
    assert [card.id for card in api.models.list()] == [service.name]
    assert api.models.retrieve(service.name).id == service.name
    with pytest.raises(openai.NotFoundError):
        api.models.retrieve("no-such-model")


@pytest.mark.parametrize(
    ("method", "route", "status"),
    [
        ("GET", "served", 405),
        ("POST", f"{OPENAI_PREFIX}/models", 405),
        ("POST", "another task's", 404),
        ("POST", f"{OPENAI_PREFIX}/no-such-route", 404),
    ],
)
def test_other_routes_and_methods_are_refused_in_openais_shape(
    server: LocalServer, service: Service, method: str, route: str, status: int
) -> None:
    if route == "served":
        route = served_route(service)
    elif route == "another task's":
        route = next(path for path, task in OPENAI_TASK_ROUTES.items() if task != service.task)
    response = httpx.request(method, server.url + route, json={"model": service.name}, timeout=30)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(("body", "message"), [(b"{", "not JSON"), (b"[1]", "a JSON object")])
def test_a_body_that_is_not_a_json_object_is_400(
    server: LocalServer, service: Service, body: bytes, message: str
) -> None:
    headers = {"content-type": "application/json"}
    response = httpx.post(server.url + served_route(service), content=body, headers=headers, timeout=30)
    assert response.status_code == 400 and message in response.json()["error"]["message"]


def test_the_request_metrics_count_openais_routes(
    server: LocalServer, service: Service, sample: dict[str, Any]
) -> None:
    before = answered(httpx.get(server.metrics_url, timeout=30).text, service.name, "openai")
    response = httpx.post(server.url + served_route(service), json=a_request(service, sample), timeout=60)
    assert response.status_code == 200, response.text
    assert answered(httpx.get(server.metrics_url, timeout=30).text, service.name, "openai") == before + 1
