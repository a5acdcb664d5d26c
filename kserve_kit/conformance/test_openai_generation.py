"""OpenAI's completions and chat completions routes of a generative model (kserve_kit.serving.openai_api),
through OpenAI's own client: greedy answers (temperature 0) are the model's one answer, whole or
streamed, max_tokens and stop sequences are honoured, usage counts the tokens, and every bad request
is a 400 that says what is wrong. test_openai.py holds what every text model's routes do."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from kserve_kit.local_server import LocalServer
from kserve_kit.openai_smoke import client
from kserve_kit.service import Service
from kserve_kit.serving.routes import OPENAI_PREFIX
from kserve_kit.smoke import Target


@pytest.fixture(scope="module")
def api(server: LocalServer, service: Service) -> openai.OpenAI:
    return client(Target(server.url), service.openai_prefix, timeout_s=60)


@pytest.fixture(scope="module")
def prompt(sample: dict[str, Any]) -> str:
    return sample["instances"][0]


def v1_continuation(server: LocalServer, service: Service, prompt: str) -> str:
    response = httpx.post(server.url + f"/v1/models/{service.name}:predict", json={"instances": [prompt]}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["predictions"][0]


def test_a_greedy_completion_is_the_v1_continuation(
    api: openai.OpenAI, server: LocalServer, service: Service, prompt: str
) -> None:
    answer = api.completions.create(model=service.name, prompt=prompt, temperature=0)
    assert answer.object == "text_completion" and answer.model == service.name
    assert answer.choices[0].text == v1_continuation(server, service, prompt)
    usage = answer.usage
    assert usage and usage.prompt_tokens > 0 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_a_streamed_completion_adds_up_to_the_whole(api: openai.OpenAI, service: Service, prompt: str) -> None:
    whole = api.completions.create(model=service.name, prompt=prompt, temperature=0, max_tokens=24)
    chunks = list(api.completions.create(model=service.name, prompt=prompt, temperature=0, max_tokens=24,
                                         stream=True, stream_options={"include_usage": True}))  # fmt: skip
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == whole.choices[0].text
    finished = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert finished == [whole.choices[0].finish_reason]
    assert chunks[-1].usage == whole.usage  # the usage chunk comes last, with no choices


def test_max_tokens_ends_for_length(api: openai.OpenAI, service: Service, prompt: str) -> None:
    answer = api.completions.create(model=service.name, prompt=prompt, temperature=0, max_tokens=1)
    assert answer.choices[0].finish_reason == "length" and answer.usage and answer.usage.completion_tokens == 1


def test_a_stop_sequence_ends_the_text_before_it(api: openai.OpenAI, service: Service, prompt: str) -> None:
    whole = api.completions.create(model=service.name, prompt=prompt, temperature=0, max_tokens=24).choices[0].text
    stop = whole[len(whole) // 2 :]
    for stream in (False, True):
        answer = api.completions.create(model=service.name, prompt=prompt, temperature=0, max_tokens=24,
                                        stop=[stop], stream=stream)  # fmt: skip
        text = "".join(chunk.choices[0].text for chunk in answer) if stream else answer.choices[0].text  # type: ignore[union-attr]
        assert text == whole[: whole.find(stop)]


def test_a_seed_makes_a_sampled_completion_repeatable(api: openai.OpenAI, service: Service, prompt: str) -> None:
    answers = {api.completions.create(model=service.name, prompt=prompt, temperature=1.5, seed=7).choices[0].text
               for _ in range(2)}  # fmt: skip
    assert len(answers) == 1


def test_a_chat_is_answered_whole_and_streamed_alike(api: openai.OpenAI, service: Service, prompt: str) -> None:
    messages: Any = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}]
    answer = api.chat.completions.create(model=service.name, messages=messages, temperature=0, max_tokens=24)
    assert answer.object == "chat.completion" and answer.choices[0].message.role == "assistant"
    chunks = list(api.chat.completions.create(model=service.name, messages=messages, temperature=0, max_tokens=24,
                                              stream=True))  # fmt: skip
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == answer.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == answer.choices[0].finish_reason


def test_a_chat_without_max_tokens_is_answered(api: openai.OpenAI, service: Service, prompt: str) -> None:
    # Its default is what the context leaves after the prompt (OpenAI's default for chat), not a 400.
    answer = api.chat.completions.create(model=service.name, messages=[{"role": "user", "content": prompt}])
    assert answer.choices[0].finish_reason in ("stop", "length") and answer.usage and answer.usage.completion_tokens


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": ["one", "two"]}, "one per request"),
        ({"prompt": "a", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "a", "max_tokens": 10**6}, "at most"),
        ({"prompt": "a", "temperature": 3}, "temperature"),
        ({"prompt": "a", "n": 2}, "n: "),
        ({"prompt": "a", "stop": [""]}, "stop"),
        ({"prompt": "a", "stop": ["1", "2", "3", "4", "5"]}, "stop"),
        ({"prompt": "a", "logprobs": 2}, "logprobs is not a field"),
        ({"prompt": "word " * 5000}, "at most"),
    ],
)
def test_a_bad_completion_request_is_400_saying_why(
    api: openai.OpenAI, service: Service, request_fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=message):
        api.completions.create(model=service.name, **request_fields)


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([], "messages"),
        ([{"role": "robot", "content": "hi"}], "role"),
        ([{"role": "user", "content": 3}], "content"),
    ],
)
def test_a_bad_chat_request_is_400_saying_why(
    server: LocalServer, service: Service, messages: list[Any], message: str
) -> None:
    body = {"model": service.name, "messages": messages}
    response = httpx.post(server.url + OPENAI_PREFIX + "/chat/completions", json=body, timeout=30)
    assert response.status_code == 400 and message in response.json()["error"]["message"], response.text


def test_another_models_name_is_404(api: openai.OpenAI, service: Service) -> None:
    with pytest.raises(openai.NotFoundError, match=repr(service.name)):
        api.completions.create(model="no-such-model", prompt="a")
