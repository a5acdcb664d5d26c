"""OpenAI-compatible routes for the served model, where KServe's own OpenAI data plane puts them
(`/openai/v1/...`, routes.py), so a client
of OpenAI's API (the `openai` package, LangChain, ...) needs only `base_url=<endpoint>/openai/v1`.

    GET  /openai/v1/models             the one model this server serves
    GET  /openai/v1/models/<name>      it, or 404
    POST /openai/v1/embeddings         an embedding model's vectors ("float" or "base64")
    POST /openai/v1/completions        a generative model's continuation of a prompt
    POST /openai/v1/chat/completions   its answer to a chat (the tokenizer's chat template)

Completions and chat completions stream as server-sent events with `"stream": true`, OpenAI's chunks
ending in `data: [DONE]`, and take max_tokens, temperature, top_p, seed and stop sequences.

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
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import numpy as np
import orjson
from kserve.errors import InvalidInput
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from kserve_kit.serving.guards import JSON, Scope, content_type, read_body, send_json
from kserve_kit.serving.routes import OPENAI_PREFIX, OPENAI_TASK_ROUTES
from kserve_kit.serving.sampling import DEFAULT_MAX_TOKENS, Generation, Sampling
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


class Message(BaseModel):
    """One message of a chat: its role and its text."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: StrictStr
    name: StrictStr | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: StrictBool = False


class GenerationRequest(BaseModel):
    """The fields of OpenAI's completions and chat completions this server honours (one choice)."""

    model_config = ConfigDict(extra="forbid")
    model: StrictStr
    max_tokens: StrictInt | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0, le=2, strict=True)  # OpenAI's default: sampled
    top_p: float = Field(1.0, gt=0, le=1, strict=True)
    stop: StrictStr | Annotated[list[StrictStr], Field(max_length=4)] | None = None  # OpenAI's: at most 4
    seed: StrictInt | None = None
    n: Literal[1] = 1
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    user: StrictStr | None = None

    def sampling(self, max_tokens: int) -> Sampling:
        stop = [self.stop] if isinstance(self.stop, str) else self.stop or []
        if any(not text for text in stop):
            raise InvalidInput("stop: a stop sequence must not be empty")
        return Sampling(max_tokens, self.temperature, self.top_p, tuple(stop), self.seed)


class CompletionRequest(GenerationRequest):
    """POST /openai/v1/completions."""

    prompt: StrictStr | list[StrictStr] = Field(min_length=1)


class ChatRequest(GenerationRequest):
    """POST /openai/v1/chat/completions."""

    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: StrictInt | None = Field(None, ge=1)


def refusal(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None) -> bytes:
    """An error body in OpenAI's shape."""
    return orjson.dumps({"error": {"message": message, "type": kind, "param": param, "code": None}})


def validation_message(error: ValidationError) -> tuple[str, str | None]:
    """pydantic's first complaint as one sentence, and the field it is about."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "extra_forbidden":
        return f"{field} is not a field this server takes", field
    return (f"{field}: {first['msg']}" if field else first["msg"]), field


class OpenAIRoutes:
    """ASGI middleware: answer the OpenAI routes for `model`; pass on the rest."""

    def __init__(self, app: Any, model: Any) -> None:
        self.app, self.model = app, model
        self.created = int(time.time())
        # Each route answered by the method of its name (`chat/completions`: chat_completions); a route
        # without one fails here, at start.
        self.posts = {
            path: (task, getattr(self, path.removeprefix(f"{OPENAI_PREFIX}/").replace("/", "_")))
            for path, task in OPENAI_TASK_ROUTES.items()
        }

    def card(self) -> dict[str, Any]:
        return {"id": self.model.name, "object": "model", "created": self.created, "owned_by": "kserve-kit"}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(OPENAI_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        status, body, headers = await self.answer(scope, path, receive)
        if isinstance(body, bytes):
            await send_json(send, status, body, headers)
        else:
            await send_events(send, body)

    async def answer(
        self, scope: Scope, path: str, receive: Any
    ) -> tuple[int, bytes | AsyncIterator[bytes], list[tuple[bytes, bytes]]]:
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
            own = [route for route, (task, _) in self.posts.items() if task == getattr(self.model, "task", None)]
            served = ", ".join(sorted([f"{OPENAI_PREFIX}/models", *own]))
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
        if not isinstance(payload, dict):
            return 400, refusal(400, f'the body must be a JSON object with "model" (OpenAI\'s {path})'), []
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
        request = EmbeddingsRequest.model_validate(payload)
        self.require_served(request.model)
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

    def require_served(self, model: str) -> None:
        """A request names the model it is for: this server's, or OpenAI's 404."""
        if model != self.model.name:
            raise UnknownModel(model)

    async def completions(self, payload: Any) -> bytes | AsyncIterator[bytes]:
        request = CompletionRequest.model_validate(payload)
        self.require_served(request.model)
        if isinstance(request.prompt, list) and len(request.prompt) != 1:
            raise InvalidInput(f"prompt holds {len(request.prompt)} prompts: send one per request")
        text = request.prompt if isinstance(request.prompt, str) else request.prompt[0]
        sampling = request.sampling(request.max_tokens or DEFAULT_MAX_TOKENS)
        ids = self.model.fitting(self.model.tokens(self.model.prompt(text)), sampling.max_tokens)
        return await self.generated(request, ids, sampling, "text_completion", "cmpl")

    async def chat_completions(self, payload: Any) -> bytes | AsyncIterator[bytes]:
        request = ChatRequest.model_validate(payload)
        self.require_served(request.model)
        prompt = self.model.chat_prompt([message.model_dump(exclude_none=True) for message in request.messages])
        ids = self.model.tokens(prompt, templated=True)
        wanted = request.max_completion_tokens or request.max_tokens
        # No max_tokens: as much as the context leaves (OpenAI's default for chat).
        sampling = request.sampling(wanted or max(1, self.model.context - len(ids)))
        self.model.fitting(ids, sampling.max_tokens)
        return await self.generated(request, ids, sampling, "chat.completion", "chatcmpl")

    async def generated(
        self, request: GenerationRequest, ids: list[int], sampling: Sampling, kind: str, prefix: str
    ) -> bytes | AsyncIterator[bytes]:
        """The answer (`kind`: text_completion or chat.completion), whole or as a stream of chunks."""
        head = {"id": f"{prefix}-{uuid.uuid4().hex}", "object": kind, "created": int(time.time()),
                "model": self.model.name}  # fmt: skip
        if request.stream:
            usage = bool(request.stream_options and request.stream_options.include_usage)
            return self.chunks(head, ids, sampling, usage)
        generation = await self.model.generate(ids, sampling)
        if kind == "chat.completion":
            choice = {"index": 0, "message": {"role": "assistant", "content": generation.text}}
        else:
            choice = {"index": 0, "text": generation.text, "logprobs": None}
        choice["finish_reason"] = generation.finish_reason
        return orjson.dumps({**head, "choices": [choice], "usage": usage_of(generation)})

    async def chunks(
        self, head: dict[str, Any], ids: list[int], sampling: Sampling, include_usage: bool
    ) -> AsyncIterator[bytes]:
        """OpenAI's stream: one chunk per piece of text, then one with the finish reason (and, when
        asked, one with the usage), then [DONE]."""
        chat = head["object"] == "chat.completion"
        head = {**head, "object": "chat.completion.chunk" if chat else "text_completion"}

        def chunk(text: str | None, finish_reason: str | None = None) -> bytes:
            if chat:
                delta = {} if text is None else {"content": text}
                choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
            else:
                choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish_reason}
            return event({**head, "choices": [choice]})

        generation = Generation(prompt_tokens=len(ids))
        if chat:
            yield event({**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                              "finish_reason": None}]})  # fmt: skip
        try:
            async for piece in self.model.stream(ids, sampling, generation):
                yield chunk(piece)
        except Exception as error:  # the model's own failure, after the 200 went out: an error event
            logger.exception("generation failed")
            yield b"data: " + refusal(500, f"{type(error).__name__}: {error}", kind="server_error") + b"\n\n"
            return
        yield chunk(None, generation.finish_reason)
        if include_usage:
            yield event({**head, "choices": [], "usage": usage_of(generation)})
        yield b"data: [DONE]\n\n"


def usage_of(generation: Generation) -> dict[str, int]:
    tokens = generation.prompt_tokens + generation.completion_tokens
    return {"prompt_tokens": generation.prompt_tokens, "completion_tokens": generation.completion_tokens,
            "total_tokens": tokens}  # fmt: skip


def event(data: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return b"data: " + orjson.dumps(data) + b"\n\n"


async def send_events(send: Any, events: AsyncIterator[bytes]) -> None:
    """A 200 streaming `events` (text/event-stream), each sent as it comes."""
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    async for data in events:
        await send({"type": "http.response.body", "body": data, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


class UnknownModel(Exception):
    """A request for a model this server does not serve (OpenAI answers 404 model_not_found)."""


def encoded(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    """A vector as OpenAI sends it: numbers, or base64 of its float32 bytes (little-endian)."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode()
    return vector.tolist()
