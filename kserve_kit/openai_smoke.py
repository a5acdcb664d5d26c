"""`make smoke`'s checks of OpenAI's routes (a text runtime's `/openai/v1/...`), made with OpenAI's own
Python client: what passes here is what the service's users' clients can read.

The model is listed, the sample's texts get one vector each (as numbers and as base64, the client's
default, which must agree), and a request for a model the server does not serve gets 404.
"""

from __future__ import annotations

from typing import Any

import openai

from kserve_kit.serving.routes import OPENAI_PREFIX
from kserve_kit.smoke import Sample, SmokeFailure, Target


def client(target: Target, timeout_s: float = 30.0) -> openai.OpenAI:
    """OpenAI's client for the target (its Host header too), without retries: a failure shows at once."""
    headers = {"Host": target.host_header} if target.host_header else None
    return openai.OpenAI(base_url=target.url.rstrip("/") + OPENAI_PREFIX, api_key="unused", default_headers=headers,
                         max_retries=0, timeout=timeout_s)  # fmt: skip


def check_embeddings(target: Target, model: str, sample: Sample) -> str:
    """The checks; the report's line (raises SmokeFailure on the first failure)."""
    api = client(target)
    try:
        listed = [card.id for card in api.models.list()]
        if model not in listed:
            raise SmokeFailure(f"{OPENAI_PREFIX}/models lists {listed}, not {model!r}")
        as_numbers = api.embeddings.create(model=model, input=sample.instances, encoding_format="float")
        as_base64 = api.embeddings.create(model=model, input=sample.instances)  # the client's default
    except openai.APIStatusError as error:
        raise SmokeFailure(f"{OPENAI_PREFIX}: HTTP {error.status_code}: {error.message}") from None
    except openai.APIConnectionError as error:
        raise SmokeFailure(f"{OPENAI_PREFIX}: {error}") from None
    vectors = [item.embedding for item in as_numbers.data]
    if len(vectors) != len(sample.instances) or len({len(vector) for vector in vectors}) != 1:
        raise SmokeFailure(f"{len(sample.instances)} texts sent from {sample.path.name}, {len(vectors)} vectors back")
    if not _close(vectors, [item.embedding for item in as_base64.data]):
        raise SmokeFailure("the base64 vectors differ from the float ones")
    status = _status_for_unknown_model(api, sample.instances[0])
    if status != 404:
        raise SmokeFailure(f"a request for a model this server does not serve got HTTP {status}; expected 404")
    return (f"openai: {model} listed, {len(vectors)} texts of {sample.path.name} embedded ({len(vectors[0])} "
            "dimensions, float and base64 alike), another model's name refused")  # fmt: skip


def _close(first: list[Any], second: list[Any]) -> bool:
    return len(first) == len(second) and all(
        len(a) == len(b) and all(abs(x - y) < 1e-4 for x, y in zip(a, b, strict=True))
        for a, b in zip(first, second, strict=True)
    )


def _status_for_unknown_model(api: openai.OpenAI, text: str) -> int:
    try:
        api.embeddings.create(model="no-such-model", input=text)
    except openai.APIStatusError as error:
        return error.status_code
    return 200
