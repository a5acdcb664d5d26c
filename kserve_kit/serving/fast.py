"""The fast path: the one model's JSON inference requests answered without KServe's per-request stack.

KServe's route takes a request through FastAPI's routing, pydantic's models of the Open Inference
Protocol, its data plane and log lines: about two thirds of a small model's time per request
(docs/performance.md). The common request (POST of a JSON body to the served model's V1 `:predict`
or V2 `/infer`) is answered here instead: orjson in and out, the same checks (inputs.py), the same
answer, the same metrics (KServe's `request_predict_seconds`; guards.RequestMetrics around it).
Everything else (other routes, other models, KServe's binary tensor extension, V2 requests with
parameters or requested outputs) goes on to KServe, body and all.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import numpy as np
import orjson
from kserve.errors import InvalidInput
from kserve.metrics import PREDICT_HIST_TIME
from kserve.utils.numpy_codec import from_np_dtype

from kserve_kit.serving.guards import JSON, Message, Scope, content_type, read_body, send_error, send_json
from kserve_kit.serving.inputs import v1_rows, v2_json_rows
from kserve_kit.serving.models import RowsModel

logger = logging.getLogger("kserve")
V2_PLAIN_KEYS = {"id", "inputs"}  # a request with other keys (parameters, outputs) is KServe's to answer


def v2_answer(model_name: str, request_id: Any, predictions: np.ndarray) -> dict[str, Any]:
    """KServe's V2 answer (get_predict_response, as its REST route encodes it)."""
    output = {"name": "output-0", "shape": list(predictions.shape), "datatype": from_np_dtype(predictions.dtype),
              "parameters": None, "data": predictions.ravel().tolist()}  # fmt: skip
    request_id = request_id if isinstance(request_id, str) and request_id else str(uuid.uuid4())
    return {"model_name": model_name, "model_version": None, "id": request_id, "parameters": None,
            "outputs": [output]}  # fmt: skip


class FastInference:
    """ASGI middleware: answer the served model's JSON V1/V2 inference requests; pass on the rest."""

    def __init__(self, app: Any, model: RowsModel) -> None:
        self.app, self.model = app, model
        self.routes = {f"/v1/models/{model.name}:predict": "v1", f"/v2/models/{model.name}/infer": "v2"}
        self.labels = PREDICT_HIST_TIME.labels(model_name=model.name)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        protocol = self.routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if protocol is None or content_type(scope) != JSON:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            await self.refuse(send, f"the body is not JSON: {error}")
            return
        if protocol == "v2" and isinstance(payload, dict) and not payload.keys() <= V2_PLAIN_KEYS:
            await self.app(scope, _replay(body, receive), send)
            return
        started = time.perf_counter()
        try:
            rows = (v1_rows if protocol == "v1" else v2_json_rows)(payload, self.model.width)
            predictions = np.asarray(await self.model.infer_rows(rows))
        except InvalidInput as error:
            await self.refuse(send, str(error))
            return
        except Exception as error:  # the model's own failure: logged in full, answered as KServe answers it
            logger.exception("prediction failed")
            await send_error(send, 500, f"{type(error).__name__} : {error}")
            return
        self.labels.observe(time.perf_counter() - started)
        if protocol == "v1":
            answer: dict[str, Any] = {"predictions": predictions.tolist()}
        else:
            answer = v2_answer(self.model.name, payload.get("id"), predictions)
        await send_json(send, 200, orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY))

    async def refuse(self, send: Any, message: str) -> None:
        """The client's mistake: a 400 saying what is wrong, logged as one line (as on KServe's route)."""
        logger.info("client error (400): %s", message)
        await send_error(send, 400, message)


def _replay(body: bytes, receive: Any) -> Any:
    """The body once more, for KServe's route; then what the connection sends (a disconnect)."""
    replayed = False

    async def replaying_receive() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replaying_receive
