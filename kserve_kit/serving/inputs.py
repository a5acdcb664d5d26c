"""Request bodies -> a matrix of numbers, or a client error (HTTP 400) that says what was expected;
predictions -> the answer of the route's protocol.

The route decides the protocol: KServe hands the model a V1 body (POST /v1/models/<name>:predict)
as the decoded JSON (or raw bytes when the Content-Type is not JSON), and a V2 body
(POST /v2/models/<name>/infer) as an InferRequest. The fast path (fast.py) hands over the decoded
JSON of either: `v1_rows` and `v2_json_rows` read it with the same checks and messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from kserve import InferRequest, InferResponse
from kserve.errors import InvalidInput
from kserve.utils.utils import get_predict_response

NUMBER_DATATYPES = ("FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")
# Beyond float32's range a model computing in float32 (torch) sees infinity and answers nonsense, and
# scikit-learn's input check overflows summing the features (a 500): refused as the client's error.
LARGEST = float(np.finfo(np.float32).max)


NUMBER_TYPES = {int, float}  # what JSON numbers decode to (bool is a type of its own: refused)


def _only_numbers(values: list[Any]) -> bool:
    return set(map(type, values)) <= NUMBER_TYPES  # one C-level pass: this runs for every request


def _checked(array: np.ndarray) -> np.ndarray:
    if array.size and not np.abs(array).max() <= LARGEST:  # one pass; NaN fails the comparison too
        if not np.isfinite(array).all():
            raise InvalidInput("the input must be finite numbers (no NaN or infinity)")
        raise InvalidInput(f"the input's numbers must lie within +-{LARGEST:.4g} (float32's range)")
    return array


def v1_rows(payload: Any, width: int | None) -> np.ndarray:
    """`{"instances": [[...], ...]}`: rows of `width` numbers (any width when None)."""
    if isinstance(payload, (bytes, bytearray, str)):
        raise InvalidInput("the body must be JSON, sent with Content-Type: application/json")
    if not isinstance(payload, dict):
        raise InvalidInput(f'the body must be a JSON object with "instances", not a JSON {type(payload).__name__}')
    if "instances" not in payload:
        if "inputs" in payload:
            raise InvalidInput(
                'this is the V1 route: send {"instances": [...]} here, or the V2 body ("inputs") to '
                "/v2/models/<name>/infer"
            )
        raise InvalidInput('expected a JSON object with "instances": a list of rows of numbers')
    instances = payload["instances"]
    if not isinstance(instances, list) or not instances:
        raise InvalidInput('"instances" must be a non-empty list of rows of numbers')
    expected = f"{width} numbers" if width else "numbers"
    for index, row in enumerate(instances):
        if not isinstance(row, list) or (width is not None and len(row) != width):
            raise InvalidInput(f"row {index} must be a list of {expected}")
        if not _only_numbers(row):
            raise InvalidInput(f"row {index} must hold only numbers (not strings, booleans or null)")
    if len({len(row) for row in instances}) > 1:
        raise InvalidInput("all rows must have the same length")
    return _checked(np.asarray(instances, dtype=np.float64))


def v2_rows(request: InferRequest, width: int | None) -> np.ndarray:
    """The one input tensor, of a number datatype and shape [rows, `width`]."""
    if len(request.inputs or []) != 1:
        raise InvalidInput(
            f'"inputs" must hold one tensor (with name, shape, datatype, data), not {len(request.inputs or [])}'
        )
    tensor = request.inputs[0]
    # decoded from JSON, or set from a numpy array in-process
    data = tensor.data if isinstance(tensor.data, list) else np.asarray(tensor.as_numpy()).ravel().tolist()
    return tensor_rows(tensor.name, tensor.datatype, list(tensor.shape or []), data, width)


def tensor_rows(name: str, datatype: str, shape: list[int], data: list[Any], width: int | None) -> np.ndarray:
    """A V2 tensor's fields -> its rows: a number datatype, shape [rows, `width`], the data filling it."""
    if datatype not in NUMBER_DATATYPES:
        allowed = ", ".join(NUMBER_DATATYPES)
        raise InvalidInput(f"input {name!r}: datatype {datatype!r} is not one of {allowed}")
    if len(shape) != 2 or shape[0] < 1 or (width is not None and shape[1] != width):
        raise InvalidInput(f"input {name!r}: shape {shape} must be [rows, {width or 'columns'}] with rows >= 1")
    flat = [value for row in data for value in (row if isinstance(row, list) else [row])]
    if len(flat) != shape[0] * shape[1]:
        raise InvalidInput(f"input {name!r}: {len(flat)} values do not fill shape {shape}")
    if not _only_numbers(flat):
        raise InvalidInput(f"input {name!r}: data must hold only numbers (not strings, booleans or null)")
    if "INT" in datatype and not all(float(value).is_integer() for value in flat):
        raise InvalidInput(f"input {name!r}: datatype {datatype} holds whole numbers: send FP32 or FP64")
    return _checked(np.asarray(flat, dtype=np.float64).reshape(shape))


V2_TENSOR_FIELDS = {"name": str, "shape": list, "datatype": str, "data": list}


def v2_json_rows(payload: Any, width: int | None) -> np.ndarray:
    """A V2 JSON body (decoded, as it came) -> its rows, with the messages KServe's route would give."""
    if not isinstance(payload, dict):
        raise InvalidInput("not a V2 inference request (the body must be a JSON object)")
    if "inputs" not in payload:
        if "instances" in payload:
            raise InvalidInput(
                'this is the V2 route: send {"inputs": [...]} here, or the V1 body ("instances") to '
                "/v1/models/<name>:predict"
            )
        raise InvalidInput("not a V2 inference request (inputs: Field required)")
    inputs = payload["inputs"]
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        count = len(inputs) if isinstance(inputs, list) else 0
        raise InvalidInput(f'"inputs" must hold one tensor (with name, shape, datatype, data), not {count}')
    tensor = inputs[0]
    for field, kind in V2_TENSOR_FIELDS.items():
        if field not in tensor:
            raise InvalidInput(f"not a V2 inference request (inputs.0.{field}: Field required)")
        if not isinstance(tensor[field], kind):
            raise InvalidInput(f"not a V2 inference request (inputs.0.{field}: must be a JSON {kind.__name__})")
    shape = tensor["shape"]
    if not all(isinstance(size, int) and not isinstance(size, bool) for size in shape):
        raise InvalidInput("not a V2 inference request (inputs.0.shape: must hold whole numbers)")
    return tensor_rows(tensor["name"], tensor["datatype"], shape, tensor["data"], width)


def rows(payload: dict[str, Any] | InferRequest | bytes, width: int | None) -> np.ndarray:
    """The request's rows as a float matrix, whichever protocol's route it came by."""
    return v2_rows(payload, width) if isinstance(payload, InferRequest) else v1_rows(payload, width)


def answer(payload: dict[str, Any] | InferRequest, predictions: Any, model_name: str) -> dict[str, Any] | InferResponse:
    """V1 `{"predictions": [...]}` or a V2 InferResponse, by the request's route. String labels (a
    classifier trained on names) go out as V2 BYTES: KServe cannot encode a numpy string array."""
    array = np.asarray(predictions)
    return get_predict_response(payload, array.astype(object) if array.dtype.kind in "SU" else array, model_name)
