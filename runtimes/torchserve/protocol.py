"""KServe V1 (`instances`) and V2 (`inputs`) request bodies <-> rows of 8x8 digit images.

Plain Python, no TorchServe: the handler uses it per request, and so can any client or test.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

IMAGE_SIDE = 8
PIXELS = IMAGE_SIDE * IMAGE_SIDE
MAX_PIXEL_VALUE = 16.0  # scikit-learn's digits are 0..16 grey levels


class ClientError(ValueError):
    """The request itself is wrong: answered with HTTP 400 and this message."""


@dataclass(frozen=True)
class ParsedRequest:
    protocol: str  # "v1" or "v2"
    rows: list[list[float]]


def _rows_from_v2(inputs: Any) -> list[list[float]]:
    if not isinstance(inputs, list) or not inputs or not isinstance(inputs[0], dict):
        raise ClientError('"inputs" must be a list of tensors: [{"name", "shape", "datatype", "data"}]')
    tensor = inputs[0]
    data, shape = tensor.get("data"), tensor.get("shape")
    if not isinstance(data, list) or not isinstance(shape, list) or len(shape) != 2:
        raise ClientError(f'the input tensor needs "data" and a 2-D "shape" [rows, {PIXELS}]')
    flat = [value for row in data for value in row] if data and isinstance(data[0], list) else data
    if shape[1] != PIXELS or shape[0] * shape[1] != len(flat):
        raise ClientError(f"shape {shape} does not match {len(flat)} values of {PIXELS}-pixel images")
    return [flat[start : start + PIXELS] for start in range(0, len(flat), PIXELS)]


def parse_request(body: Any) -> ParsedRequest:
    """One request's body (already-decoded JSON, or raw bytes) as image rows; ClientError if wrong."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ClientError(f"the request body is not JSON: {error}") from error
    if isinstance(body, dict) and "instances" in body:
        protocol, rows = "v1", body["instances"]
    elif isinstance(body, dict) and "inputs" in body:
        protocol, rows = "v2", _rows_from_v2(body["inputs"])
    else:
        raise ClientError('expected a JSON object with "instances" (V1) or "inputs" (V2)')
    if not isinstance(rows, list) or not rows:
        raise ClientError("expected a non-empty list of images")
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != PIXELS:
            raise ClientError(f"image {index} must be a list of {PIXELS} numbers (8x8 pixels, row by row)")
        if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in row):
            raise ClientError(f"image {index} must contain only numbers")
        if not all(math.isfinite(value) for value in row):
            raise ClientError(f"image {index} must contain finite numbers (no NaN or infinity)")
    return ParsedRequest(protocol, rows)


def format_response(request: ParsedRequest, labels: list[int], model_name: str) -> dict[str, Any]:
    if request.protocol == "v1":
        return {"predictions": labels}
    output = {"name": "output-0", "shape": [len(labels)], "datatype": "INT64", "data": labels}
    return {"model_name": model_name, "outputs": [output]}
