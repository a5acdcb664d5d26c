"""OpenAI-compatible routes for the served model, where KServe's own OpenAI data plane puts them
(`/openai/v1/...`, routes.py), so a client
of OpenAI's API (the `openai` package, LangChain, ...) needs only `base_url=<endpoint>/openai/v1`.

    GET  /openai/v1/models             the one model this server serves
    GET  /openai/v1/models/<name>      it, or 404
    POST /openai/v1/embeddings         an embedding model's vectors ("float" or "base64")

KServe's own data plane for these routes imports vLLM's types, and `kserve[llm]` pulls vLLM with a
CUDA build of torch (docs/decisions.md): the routes are the kit's, on pydantic (KServe's own
dependency). A request is checked against the fields this server honours; any other field is
refused, not silently ignored. Errors come in OpenAI's shape (`{"error": {"message", "type", ...}}`),
which OpenAI's clients turn into their exceptions. Answers are plain JSON (orjson).
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any, Literal

import numpy as np
import orjson
from kserve.errors import InvalidInput
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from kserve_kit.serving.guards import JSON, Scope, content_type, read_body, send_json
from kserve_kit.serving.routes import OPENAI_PREFIX, OPENAI_TASK_ROUTES
from kserve_kit.serving.texts import checked_texts

logger = logging.getLogger("kserve")


class EmbeddingsRequest(BaseModel):
    """POST /openai/v1/embeddings: the fields of OpenAI's API this server honours."""

    model_config = ConfigDict(extra="forbid")
    model: StrictStr
    input: Any  # a text or a list of texts (texts.checked_texts says what is wrong)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: StrictInt | None = None
    user: StrictStr | None = None


def refusal(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None) -> bytes:
    """An error body in OpenAI's shape."""
    return orjson.dumps({"error": {"message": message, "type": kind, "param": param, "code": None}})


def validation_message(error: ValidationError) -> tuple[str, str | None]:
    """pydantic's first complaint as one sentence, and the field it is about."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "extra_forbidden":
        return f"{field} is not a field this server takes", field
    return f"{field}: {first['msg']}", field


class OpenAIRoutes:
    """ASGI middleware: answer the OpenAI routes for `model`; pass on the rest."""

    def __init__(self, app: Any, model: Any) -> None:
        self.app, self.model = app, model
        self.created = int(time.time())
        # Each task's route answered by the method of the same name (a task without one fails here, at start).
        self.posts = {path: (task, getattr(self, task)) for path, task in OPENAI_TASK_ROUTES.items()}

    def card(self) -> dict[str, Any]:
        return {"id": self.model.name, "object": "model", "created": self.created, "owned_by": "kserve-kit"}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(OPENAI_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        status, body, headers = await self.answer(scope, path, receive)
        await send_json(send, status, body, headers)

    async def answer(self, scope: Scope, path: str, receive: Any) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        method = scope["method"]
        if path == f"{OPENAI_PREFIX}/models" or path.startswith(f"{OPENAI_PREFIX}/models/"):
            if method != "GET":
                return 405, refusal(405, f"{path} takes GET, not {method}"), [(b"allow", b"GET")]
            if path == f"{OPENAI_PREFIX}/models":
                return 200, orjson.dumps({"object": "list", "data": [self.card()]}), []
            name = path.removeprefix(f"{OPENAI_PREFIX}/models/")
            if name != self.model.name:
                return 404, self.unknown_model(name), []
            return 200, orjson.dumps(self.card()), []
        if path not in self.posts:
            served = ", ".join(sorted([f"{OPENAI_PREFIX}/models", *self.posts]))
            return 404, refusal(404, f"{path} is not a route of this server (it serves {served})"), []
        task, handler = self.posts[path]
        if method != "POST":
            return 405, refusal(405, f"{path} takes POST, not {method}"), [(b"allow", b"POST")]
        if getattr(self.model, "task", None) != task:
            return 404, refusal(404, f"{self.model.name} is not a model for {task}"), []
        if content_type(scope) != JSON:
            return 400, refusal(400, "the body must be JSON, sent with Content-Type: application/json"), []
        try:
            payload = orjson.loads(await read_body(receive))
        except orjson.JSONDecodeError as error:
            return 400, refusal(400, f"the body is not JSON: {error}"), []
        try:
            return 200, await handler(payload), []
        except InvalidInput as error:
            logger.info("client error (400): %s", error)
            return 400, refusal(400, str(error)), []
        except UnknownModel as unknown:
            return 404, self.unknown_model(str(unknown)), []
        except ValidationError as error:
            message, field = validation_message(error)
            logger.info("client error (400): %s", message)
            return 400, refusal(400, message, param=field), []
        except Exception as error:  # the model's own failure: logged in full
            logger.exception("%s failed", task)
            return 500, refusal(500, f"{type(error).__name__}: {error}", kind="server_error"), []

    def unknown_model(self, name: str) -> bytes:
        message = f"the model {name!r} is not served here: this server serves {self.model.name!r}"
        return refusal(404, message, param="model")

    async def embeddings(self, payload: Any) -> bytes:
        if not isinstance(payload, dict):
            raise InvalidInput('the body must be a JSON object with "model" and "input"')
        request = EmbeddingsRequest.model_validate(payload)
        if request.model != self.model.name:
            raise UnknownModel(request.model)
        if request.dimensions is not None and request.dimensions != self.model.dimensions:
            wanted, has = request.dimensions, self.model.dimensions
            raise InvalidInput(f"dimensions: this model's vectors have {has}, not {wanted}")
        texts = checked_texts(request.input, "input")
        tokens = self.model.check_lengths(texts)
        vectors = np.asarray(await self.model.embed(texts), dtype=np.float32)
        data = [
            {"object": "embedding", "index": index, "embedding": encoded(vector, request.encoding_format)}
            for index, vector in enumerate(vectors)
        ]
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return orjson.dumps({"object": "list", "data": data, "model": self.model.name, "usage": usage})


class UnknownModel(Exception):
    """A request for a model this server does not serve (OpenAI answers 404 model_not_found)."""


def encoded(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    """A vector as OpenAI sends it: numbers, or base64 of its float32 bytes (little-endian)."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode()
    return vector.tolist()
