"""What KServe's Python server does not do by itself, and a service on a shared platform needs.

- A request body size limit: without it a client can make the server read and parse an arbitrarily
  large JSON body before the model ever sees it. Bodies over the limit get HTTP 413 with a JSON
  message, as on TorchServe services (`max_request_size`). Headers over 60 KiB get 431 (as Envoy
  answers in the mesh), and a body that has not arrived within 10 s of its headers gets 408:
  uvicorn has neither limit (limits.py).
- V2 bodies that are not the Open Inference Protocol's JSON get a 400 that says what is wrong, as
  the V1 route's do: FastAPI answers them with a 422 and pydantic's dump, and KServe takes a body of
  any other Content-Type for its binary tensor extension and complains about a missing header.
- An inference route asked with another method than POST gets 405 (with `Allow: POST`): KServe
  answers a GET of `:predict` with a 404 saying the model does not exist.
- Client errors (HTTP 400, `InvalidInput`) logged as one line: KServe logs each with a full
  traceback, which buries the server's real errors under the clients' mistakes.
- Request metrics on /metrics: KServe exports only the time its model methods take, and nothing for
  the requests it refused. `inference_requests_total` (by status code) and
  `inference_request_duration_seconds` count every inference request, refused ones too; the alerts
  and dashboard in monitoring/ are built on them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kserve.errors import InvalidInput
from prometheus_client import Counter, Histogram

from kserve_kit.serving.limits import BODY_SECONDS, MAX_HEADER_BYTES
from kserve_kit.serving.routes import OPENAI_TASK_ROUTES

# KServe's binary tensor extension announces itself with this header; anything else must be JSON.
BINARY_EXTENSION_HEADER = b"inference-header-content-length"
JSON = b"application/json"

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyRefused(Exception):
    """A body refused while it is read: raised out of `receive()`, answered with `status` by the
    chain, or by FastAPI's handler (`body_refused`) when KServe's route was reading it."""

    status = 400


class BodyTooLarge(BodyRefused):
    status = 413


class BodyTooSlow(BodyRefused):
    status = 408


class RequestSizeLimit:
    """ASGI middleware: refuse headers over `max_header_bytes` (431), bodies over `max_bytes` (413, by
    Content-Length or while reading a stream) and bodies not received within `body_seconds` (408)."""

    def __init__(
        self, app: Any, max_bytes: int, max_header_bytes: int = MAX_HEADER_BYTES, body_seconds: float = BODY_SECONDS
    ) -> None:
        self.app, self.max_bytes, self.max_header_bytes, self.body_seconds = (
            app,
            max_bytes,
            max_header_bytes,
            body_seconds,
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if sum(len(key) + len(value) for key, value in scope["headers"]) > self.max_header_bytes:
            await send_error(send, 431, f"request headers larger than {self.max_header_bytes} bytes")
            return
        length = next((value for key, value in scope["headers"] if key == b"content-length"), None)
        # The HTTP server delivers no more than Content-Length bytes: one check is enough.
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await send_error(send, 413, self._too_large())
            return
        counted = length is None or not length.isdigit()  # a streamed (chunked) body: count while it arrives
        received, complete = 0, False
        deadline = asyncio.get_running_loop().time() + self.body_seconds

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:  # what comes after the body (a disconnect) may take its time
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(f"the request body did not arrive within {self.body_seconds:g} s") from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            if counted:
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self._too_large())
            return message

        started = False  # whether the app answered already (FastAPI's handlers answer what it raised)

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyRefused as refused:
            if not started:
                await send_error(send, refused.status, str(refused))

    def _too_large(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"


async def body_refused(request: Request, refused: BodyRefused) -> JSONResponse:
    """FastAPI's answer when the body KServe's route was reading was refused (too large, too slow)."""
    return JSONResponse({"error": str(refused)}, status_code=refused.status)


class V2JsonBodies:
    """ASGI middleware: a V2 inference request (POST /v2/.../infer) is JSON, or uses KServe's binary
    tensor extension (its header says so); any other body gets the V1 route's 400."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/infer"):
            binary = any(key == BINARY_EXTENSION_HEADER for key, _ in scope["headers"])
            if content_type(scope) != JSON and not binary:
                await send_error(send, 400, "the body must be JSON, sent with Content-Type: application/json")
                return
        await self.app(scope, receive, send)


# The inference routes: V1 /v1/models/<name>:predict (or :explain), V2 /v2/models/<name>[/versions/<v>]/infer.
INFERENCE_ROUTE = re.compile(r"^/(v1|v2)/models/([^/:]+)(?::\w+|(?:/versions/[^/]+)?/infer)$")


class PostOnly:
    """ASGI middleware: the inference routes take POST; any other method gets 405 naming it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] != "POST" and INFERENCE_ROUTE.match(scope["path"]):
            await send_error(send, 405, f"{scope['path']} takes POST, not {scope['method']}", [(b"allow", b"POST")])
            return
        await self.app(scope, receive, send)


REQUESTS = Counter(
    "inference_requests_total", "Inference requests answered, by model, protocol and HTTP status code",
    ["model_name", "protocol", "code"],
)  # fmt: skip
LATENCY = Histogram(
    "inference_request_duration_seconds", "Time to answer an inference request, refused ones included",
    ["model_name", "protocol"],
)  # fmt: skip


class RequestMetrics:
    """ASGI middleware: count and time every inference request, whatever answered it. A model name
    the server does not serve is labelled "unknown": names from URLs would let any client create
    new series without end."""

    def __init__(self, app: Any, models: set[str]) -> None:
        self.app, self.models = app, models
        # The labelled series, looked up once each (models and status codes are few): per request the
        # lookup would cost more than the count.
        self.series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def labels(self, path: str) -> tuple[str, str] | None:
        """(protocol, model) of an inference route, None for the others. An OpenAI request's model is
        the one this server serves (a request naming another gets 404)."""
        route = INFERENCE_ROUTE.match(path)
        if route is not None:
            protocol, model = route.groups()
            return protocol, model if model in self.models else "unknown"
        if path in OPENAI_TASK_ROUTES:
            return "openai", next(iter(self.models)) if len(self.models) == 1 else "unknown"
        return None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        labels = self.labels(scope["path"]) if scope["type"] == "http" else None
        if labels is None:
            await self.app(scope, receive, send)
            return
        protocol, model = labels
        status, started, recorded = 500, time.perf_counter(), False  # an exception out of the app is a 500

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            series = self.series.get((model, protocol, status))
            if series is None:
                series = self.series[(model, protocol, status)] = (
                    REQUESTS.labels(model, protocol, str(status)), LATENCY.labels(model, protocol)
                )  # fmt: skip
            series[0].inc()
            series[1].observe(time.perf_counter() - started)

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()  # before the answer's last bytes go out: a scrape the client makes after it counts it
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            record()


async def send_error(send: Any, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer `{"error": message}` with `status`, as KServe answers its own errors."""
    await send_json(send, status, json.dumps({"error": message}).encode(), headers)


async def send_json(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer a JSON `body` with `status` (and any further headers)."""
    headers = [(b"content-type", JSON), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Any) -> bytes:
    """The whole request body (the guards in front have bounded its size and time)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def content_type(scope: Scope) -> bytes:
    """The request's media type (`application/json` of `application/json; charset=utf-8`), lower-case."""
    value = next((value for key, value in scope["headers"] if key == b"content-type"), b"")
    return value.split(b";")[0].strip().lower()


async def v2_body_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """A V2 body FastAPI could not read as an inference request (it would answer 422 with pydantic's
    dump): a 400 naming what is missing or wrong."""
    # KServe's route also accepts raw bytes: pydantic's complaint about that alternative is noise.
    problems = [problem for problem in error.errors() if problem.get("type") != "bytes_type"]
    if any(problem["loc"][-1:] == ("inputs",) for problem in problems) and b'"instances"' in await request.body():
        message = (
            'this is the V2 route: send {"inputs": [...]} here, or the V1 body ("instances") to '
            "/v1/models/<name>:predict"
        )
    else:
        # loc is ("body", "InferenceRequest", "inputs", 0, "shape"): the part after the model's name.
        found = [f"{'.'.join(map(str, problem['loc'][2:])) or 'the body'}: {problem['msg']}" for problem in problems]
        message = f"not a V2 inference request ({'; '.join(found) or 'the body must be a JSON object'})"
    return JSONResponse({"error": message}, status_code=400)


class OneLineClientErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, InvalidInput):
            record.msg, record.args, record.exc_info = f"client error (400): {error}", (), None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True
