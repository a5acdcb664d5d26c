"""TorchServe handler: KServe V1 and V2 requests in, digit labels out.

TorchServe hands the handler a batch of requests (server-side batching, `batchSize` in
config/config.properties). Each request is parsed on its own: a bad one gets HTTP 400 with a
message and the others in the batch are still answered. All valid rows go through the network in
one forward pass. The device (GPU when the pod has one, else CPU) is picked by BaseHandler at start.

TorchServe loads this file by itself and wants exactly one class in it: helpers go in protocol.py,
which `make mar` packs next to it.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from ts.context import Context
from ts.torch_handler.base_handler import BaseHandler

try:  # as part of the package: tests, training
    from .protocol import IMAGE_SIDE, MAX_PIXEL_VALUE, ClientError, ParsedRequest, format_response, parse_request
except ImportError:  # inside the MAR, where TorchServe puts the packed files side by side
    from protocol import IMAGE_SIDE, MAX_PIXEL_VALUE, ClientError, ParsedRequest, format_response, parse_request

logger = logging.getLogger(__name__)


def to_model_input(rows: list[list[float]], device: torch.device | str = "cpu") -> torch.Tensor:
    """Image rows -> the network's input: (N, 1, 8, 8) scaled to [0, 1]. Training uses it too."""
    images = torch.tensor(rows, dtype=torch.float32, device=device) / MAX_PIXEL_VALUE
    return images.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)


class DigitsHandler(BaseHandler):
    def initialize(self, context: Context) -> None:
        super().initialize(context)  # loads the state dict onto self.device (cuda:<gpu_id> or cpu)
        logger.info("model %s ready on %s", context.model_name, self.device)

    def handle(self, data: list[dict[str, Any]], context: Context) -> list[dict[str, Any]]:
        self.context = context
        parsed: list[ParsedRequest | ClientError] = []
        for item in data:
            try:
                parsed.append(parse_request(item.get("body") or item.get("data")))
            except ClientError as error:
                parsed.append(error)
        rows = [row for request in parsed if isinstance(request, ParsedRequest) for row in request.rows]
        labels = self.postprocess(self.inference(self.preprocess(rows))) if rows else []
        responses, start = [], 0
        for index, request in enumerate(parsed):
            if isinstance(request, ClientError):
                context.set_response_status(400, str(request), idx=index)
                responses.append({"error": str(request)})
                continue
            end = start + len(request.rows)
            responses.append(format_response(request, labels[start:end], context.model_name))
            start = end
        return responses

    def preprocess(self, rows: list[list[float]]) -> torch.Tensor:
        return to_model_input(rows, self.device)

    def inference(self, images: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.model(images)

    def postprocess(self, scores: torch.Tensor) -> list[int]:
        return scores.argmax(dim=1).tolist()
