"""Request bodies of texts -> a list of strings, or a client error (HTTP 400) that says what was expected.

The text runtimes (embeddings) take texts where the numeric runtimes take rows: V1
`{"instances": ["a text", ...]}`, V2 one BYTES tensor of shape [N], OpenAI `"input": "a text"` or a
list of them. The limits are the model's: how many texts one request may hold, and how many tokens
one text may have (the model reads no more: a longer text is refused, not cut short silently).
"""

from __future__ import annotations

from typing import Any

from kserve import InferRequest
from kserve.errors import InvalidInput

MAX_TEXTS = 2048  # per request, as OpenAI's embeddings API allows


def checked_texts(texts: Any, where: str) -> list[str]:
    """`texts` as a non-empty list of non-empty strings; `where` names the field in the message."""
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts:
        raise InvalidInput(f"{where} must be a text or a non-empty list of texts")
    if len(texts) > MAX_TEXTS:
        raise InvalidInput(f"{where} holds {len(texts)} texts: at most {MAX_TEXTS} per request")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            hint = " (token arrays are not taken: send the text)" if isinstance(text, (int, list)) else ""
            raise InvalidInput(f"{where}[{index}] must be a string, not {type(text).__name__}{hint}")
        if not text.strip():
            raise InvalidInput(f"{where}[{index}] is empty")
    return texts


def request_texts(payload: dict[str, Any] | InferRequest | bytes) -> list[str]:
    """The texts of a V1 body (KServe hands it decoded) or a V2 InferRequest (one BYTES tensor)."""
    if isinstance(payload, InferRequest):
        if len(payload.inputs or []) != 1 or payload.inputs[0].datatype != "BYTES":
            raise InvalidInput('"inputs" must hold one tensor of datatype BYTES and shape [texts], the texts')
        tensor = payload.inputs[0]
        data = tensor.data if isinstance(tensor.data, list) else tensor.as_numpy().ravel().tolist()
        texts = [value.decode() if isinstance(value, bytes) else value for value in data]
        if list(tensor.shape or []) != [len(texts)]:
            raise InvalidInput(f"input {tensor.name!r}: shape {tensor.shape} must be [{len(texts)}], one per text")
        return checked_texts(texts, f"input {tensor.name!r}")
    if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list):
        raise InvalidInput('expected a JSON object with "instances": a list of texts')
    return checked_texts(payload["instances"], '"instances"')
