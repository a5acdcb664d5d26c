"""`make smoke`'s checks of OpenAI's routes (a text runtime's `/openai/v1/...`), made with OpenAI's own
Python client: what passes here is what the service's users' clients can read.

The model is listed and a request for a model the server does not serve gets 404. An embedding
model: the sample's texts get one vector each (as numbers and as base64, the client's default, which
must agree). A generative model: the sample's first prompt is completed as `expected` says, streamed
alike, `max_tokens` and `stop` honoured; a chat about it is answered, streamed alike.
"""

from __future__ import annotations

from typing import Any

import openai

from kserve_kit.smoke import Sample, SmokeFailure, Target


def client(target: Target, prefix: str, timeout_s: float = 30.0) -> openai.OpenAI:
    """OpenAI's client for the target's routes under `prefix` (its Host header too), without retries:
    a failure shows at once."""
    headers = {"Host": target.host_header} if target.host_header else None
    return openai.OpenAI(base_url=target.url.rstrip("/") + prefix, api_key="unused", default_headers=headers,
                         max_retries=0, timeout=timeout_s)  # fmt: skip


def check(target: Target, model: str, task: str, sample: Sample, prefix: str) -> str:
    """The checks of the model's task at its routes under `prefix`; the report's line (raises
    SmokeFailure on the first failure)."""
    api = client(target, prefix)
    try:
        listed = [card.id for card in api.models.list()]
        if model not in listed:
            raise SmokeFailure(f"{prefix}/models lists {listed}, not {model!r}")
        line = CHECKS[task](api, model, sample)
        status = _status_for_unknown_model(api, task, sample.instances[0])
    except openai.APIStatusError as error:
        raise SmokeFailure(f"{prefix}: HTTP {error.status_code}: {error.message}") from None
    except openai.APIConnectionError as error:
        raise SmokeFailure(f"{prefix}: {error}") from None
    if status != 404:
        raise SmokeFailure(f"a request for a model this server does not serve got HTTP {status}; expected 404")
    return f"openai: {model} listed, {line}, another model's name refused"


def embeddings(api: openai.OpenAI, model: str, sample: Sample) -> str:
    as_numbers = api.embeddings.create(model=model, input=sample.instances, encoding_format="float")
    as_base64 = api.embeddings.create(model=model, input=sample.instances)  # the client's default
    vectors = [item.embedding for item in as_numbers.data]
    if len(vectors) != len(sample.instances) or len({len(vector) for vector in vectors}) != 1:
        raise SmokeFailure(f"{len(sample.instances)} texts sent from {sample.path.name}, {len(vectors)} vectors back")
    if not _close(vectors, [item.embedding for item in as_base64.data]):
        raise SmokeFailure("the base64 vectors differ from the float ones")
    return (f"{len(vectors)} texts of {sample.path.name} embedded ({len(vectors[0])} dimensions, float and "
            "base64 alike)")  # fmt: skip


def generation(api: openai.OpenAI, model: str, sample: Sample) -> str:
    """Greedy (temperature 0), so every answer is the model's one answer: whole and streamed alike."""
    prompt = sample.instances[0]
    whole = api.completions.create(model=model, prompt=prompt, temperature=0)
    text = whole.choices[0].text
    if sample.expected is not None and text != sample.expected[0]:
        raise SmokeFailure(f"/completions of {prompt!r} gave {text!r}, not {sample.expected[0]!r} ({sample.path.name})")
    streamed = api.completions.create(model=model, prompt=prompt, temperature=0, stream=True)
    if (pieces := "".join(chunk.choices[0].text for chunk in streamed if chunk.choices)) != text:
        raise SmokeFailure(f"/completions streamed {pieces!r}, not {text!r} as it answered whole")
    short = api.completions.create(model=model, prompt=prompt, temperature=0, max_tokens=1)
    if short.choices[0].finish_reason != "length" and whole.usage and whole.usage.completion_tokens > 1:
        raise SmokeFailure(f"/completions with max_tokens 1 ended for {short.choices[0].finish_reason!r}, not 'length'")
    if len(text) >= 2:  # a stop sequence from the answer's second half: the answer ends before it
        stop = text[len(text) // 2 :]
        cut = api.completions.create(model=model, prompt=prompt, temperature=0, stop=[stop]).choices[0].text
        if cut != text[: text.find(stop)]:
            raise SmokeFailure(f"/completions with stop {stop!r} gave {cut!r}, not {text[: text.find(stop)]!r}")
    messages: list[Any] = [{"role": "user", "content": prompt}]
    answer = api.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=32)
    content = answer.choices[0].message.content or ""
    chunks = api.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=32, stream=True)
    if (pieces := "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)) != content:
        raise SmokeFailure(f"/chat/completions streamed {pieces!r}, not {content!r} as it answered whole")
    return (f"/completions of {sample.path.name}'s first prompt as expected, streamed alike, max_tokens and stop "
            f"honoured, /chat/completions answered {len(content)} characters, streamed alike")  # fmt: skip


CHECKS = {"embeddings": embeddings, "text-generation": generation}


def _close(first: list[Any], second: list[Any]) -> bool:
    return len(first) == len(second) and all(
        len(a) == len(b) and all(abs(x - y) < 1e-4 for x, y in zip(a, b, strict=True))
        for a, b in zip(first, second, strict=True)
    )


def _status_for_unknown_model(api: openai.OpenAI, task: str, text: str) -> int:
    try:
        if task == "embeddings":
            api.embeddings.create(model="no-such-model", input=text)
        else:
            api.completions.create(model="no-such-model", prompt=text, max_tokens=1)
    except openai.APIStatusError as error:
        return error.status_code
    return 200
