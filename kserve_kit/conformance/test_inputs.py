"""Request bodies -> rows (kserve_kit.serving.inputs): every bad request is refused with a message that says what
was expected, for both protocols."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from kserve import InferRequest
from kserve.errors import InvalidInput
from kserve.protocol.rest.v2_datamodels import InferenceRequest
from kserve.utils.numpy_codec import from_np_dtype

from kserve_kit.serving.fast import v2_answer
from kserve_kit.serving.inputs import answer, rows, v2_json_rows


@pytest.fixture(scope="module")
def width(sample: dict[str, Any]) -> int:
    return len(sample["instances"][0])


def v2(*tensors: dict[str, Any]) -> InferRequest:
    """A V2 body as KServe's REST route decodes it."""
    return InferRequest.from_inference_request(InferenceRequest(inputs=list(tensors)), "model")


def test_the_sample_reads_as_rows(sample: dict[str, Any], width: int) -> None:
    assert rows({"instances": sample["instances"]}, width).shape == (len(sample["instances"]), width)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"instances": [[1]]}', "Content-Type: application/json"),
        ([1, 2], "a JSON object"),
        ({"inputs": []}, "this is the V1 route"),
        ({"rows": []}, '"instances"'),
        ({"instances": []}, "non-empty"),
        ({"instances": [["1"]]}, "only numbers"),
        ({"instances": [[True]]}, "only numbers"),
        ({"instances": [[None]]}, "only numbers"),
        ({"instances": [[float("nan")]]}, "finite"),
        ({"instances": [[1e308]]}, "float32's range"),  # a 500 (or a made-up answer) otherwise
    ],
)
def test_bad_v1_bodies(payload: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        rows(payload, None)


def test_a_row_of_the_wrong_width(sample: dict[str, Any], width: int) -> None:
    with pytest.raises(InvalidInput, match=f"row 0 must be a list of {width} numbers"):
        rows({"instances": [[1.0] * (width + 1)]}, width)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"datatype": "FLOAT"}, "datatype 'FLOAT' is not one of FP16"),
        ({"datatype": "BYTES"}, "datatype 'BYTES'"),
        ({"shape": [1]}, "must be [rows,"),
    ],
)
def test_bad_v2_tensors(width: int, change: dict[str, Any], message: str) -> None:
    tensor = {"name": "input-0", "shape": [1, width], "datatype": "FP64", "data": [0.0] * width, **change}
    with pytest.raises(InvalidInput, match=re.escape(message)):
        rows(v2(tensor), width)


@pytest.mark.parametrize(
    ("data", "datatype", "message"),
    [
        ([True], "FP64", "only numbers"),
        (["x"], "FP64", "only numbers"),
        ([0.0, 0.0], "FP64", "do not fill"),
        ([1.5], "INT64", "INT64 holds whole numbers"),
        ([-4e38], "FP64", "float32's range"),
    ],
)
def test_bad_v2_data(data: list[Any], datatype: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        rows(v2({"name": "input-0", "shape": [1, 1], "datatype": datatype, "data": data}), 1)


@pytest.mark.parametrize("labels", [np.array([2, 0]), np.array(["setosa", "virginica"])])
def test_predictions_answer_in_the_routes_protocol(labels: np.ndarray) -> None:
    """Numbers or string labels (a classifier trained on names): V1 lists them, V2 types them."""
    assert answer({"instances": [[0.0], [1.0]]}, labels, "model") == {"predictions": labels.tolist()}
    request = v2({"name": "input-0", "shape": [2, 1], "datatype": "FP64", "data": [0.0, 1.0]})
    rest, _ = answer(request, labels, "model").to_rest()
    [output] = rest["outputs"]
    assert output["data"] == labels.tolist()
    assert output["datatype"] == ("BYTES" if labels.dtype.kind == "U" else "INT64")


def test_no_v2_tensor() -> None:
    with pytest.raises(InvalidInput, match="must hold one tensor"):
        rows(v2(), None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1], "a JSON object"),
        ({"instances": [[1.0]]}, "this is the V2 route"),
        ({"rows": []}, "inputs: Field required"),
        ({"inputs": []}, "must hold one tensor"),
        ({"inputs": [{"name": "x", "datatype": "FP64", "data": [1.0]}]}, "inputs.0.shape: Field required"),
        ({"inputs": [{"name": "x", "shape": "1", "datatype": "FP64", "data": [1.0]}]}, "inputs.0.shape: must be"),
        ({"inputs": [{"name": "x", "shape": [1, True], "datatype": "FP64", "data": [1.0]}]}, "whole numbers"),
        ({"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FLOAT", "data": [1.0]}]}, "datatype 'FLOAT'"),
        ({"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP64", "data": [1e39]}]}, "float32's range"),
    ],
)
def test_the_fast_paths_v2_reading_refuses_what_kserves_does(body: Any, message: str) -> None:
    """The fast path reads V2 JSON itself (no pydantic): each bad body a client error naming the problem."""
    with pytest.raises(InvalidInput, match=re.escape(message)):
        v2_json_rows(body, 1)


def test_the_fast_paths_v2_reading_gives_kserves_rows(width: int) -> None:
    tensor = {"name": "input-0", "shape": [2, width], "datatype": "FP32", "data": [[0.5] * width, [1.0] * width]}
    assert (v2_json_rows({"inputs": [tensor]}, width) == rows(v2(tensor), width)).all()


@pytest.mark.parametrize(
    "dtype", ["bool", "int8", "int16", "int32", "int64", "uint8", "uint32", "float16", "float32", "float64"]
)
def test_the_fast_path_names_datatypes_as_kserve_does(dtype: str) -> None:
    [output] = v2_answer("model", "one", np.zeros(2, dtype=dtype))["outputs"]
    assert output["datatype"] == from_np_dtype(np.dtype(dtype)) and output["shape"] == [2]


def test_string_labels_are_bytes_on_the_fast_path() -> None:
    for labels in (np.array(["setosa"]), np.array(["setosa"], dtype=object)):
        [output] = v2_answer("model", "one", labels)["outputs"]
        assert output["datatype"] == "BYTES" and output["data"] == ["setosa"]
