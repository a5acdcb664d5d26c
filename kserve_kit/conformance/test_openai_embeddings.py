"""OpenAI's embeddings route of an embedding model (kserve_kit.serving.openai_api), through OpenAI's
own client: the vectors V1 gives, as numbers or base64, and every bad request a 400 that says what is
wrong. test_openai.py holds what every text model's routes do."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from kserve_kit.local_server import LocalServer
from kserve_kit.openai_smoke import client
from kserve_kit.service import Service
from kserve_kit.smoke import Target


@pytest.fixture(scope="module")
def api(server: LocalServer, service: Service) -> openai.OpenAI:
    return client(Target(server.url), service.openai_prefix)


def v1_vectors(server: LocalServer, service: Service, texts: list[str]) -> np.ndarray:
    response = httpx.post(server.url + f"/v1/models/{service.name}:predict", json={"instances": texts}, timeout=60)
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["predictions"])


def decoded(embedding: list[float] | str) -> Any:
    return np.frombuffer(base64.b64decode(embedding), dtype="<f4") if isinstance(embedding, str) else embedding


@pytest.mark.parametrize("encoding_format", ["float", "base64"])
def test_embeddings_are_the_v1_vectors(
    api: openai.OpenAI, server: LocalServer, service: Service, sample: dict[str, Any], encoding_format: Any
) -> None:
    texts = sample["instances"]
    answer = api.embeddings.create(model=service.name, input=texts, encoding_format=encoding_format)
    # Asked for base64 by name, the client hands the string over as it came: little-endian float32 bytes.
    vectors = np.asarray([decoded(item.embedding) for item in answer.data])
    assert [item.index for item in answer.data] == list(range(len(texts)))
    assert np.allclose(vectors, v1_vectors(server, service, texts), atol=1e-5)
    assert answer.usage.prompt_tokens == answer.usage.total_tokens > len(texts)


def test_one_text_is_one_vector(api: openai.OpenAI, service: Service, sample: dict[str, Any]) -> None:
    assert len(api.embeddings.create(model=service.name, input=sample["instances"][0]).data) == 1


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"input": ""}, "is empty"),
        ({"input": []}, "non-empty list"),
        ({"input": [[101, 2023]]}, "token arrays"),
        ({"input": "word " * 5000}, "at most"),
        ({"input": "a text", "dimensions": 3}, "dimensions"),
        ({"input": "a text", "encoding_format": "hex"}, "encoding_format"),
        ({"input": "a text", "extra_body": {"temperature": 1}}, "temperature is not a field"),
    ],
)
def test_a_bad_embeddings_request_is_400_saying_why(
    api: openai.OpenAI, service: Service, request_fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=message):
        api.embeddings.create(model=service.name, **request_fields)


def test_another_models_name_is_404(api: openai.OpenAI, service: Service) -> None:
    with pytest.raises(openai.NotFoundError, match=repr(service.name)):
        api.embeddings.create(model="no-such-model", input="a text")
