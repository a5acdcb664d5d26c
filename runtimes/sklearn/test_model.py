"""The predictor in-process: predictions and the client errors KServe turns into HTTP 400."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kserve import InferInput, InferRequest
from kserve.errors import InvalidInput

from {{ kit.package_name }}.model import SklearnModel
from scripts.smoke import SAMPLE

SAMPLE_DATA = json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def model(artifacts: Path) -> SklearnModel:
    loaded = SklearnModel("{{ service_name }}", artifacts)
    loaded.load()
    return loaded


def test_v1_predicts_the_sample(model: SklearnModel) -> None:
    response = model.predict({"instances": SAMPLE_DATA["instances"]})
    assert response == {"predictions": SAMPLE_DATA["expected"]}


def test_v2_predicts_the_sample(model: SklearnModel) -> None:
    rows = SAMPLE_DATA["instances"]
    infer_input = InferInput("input-0", [len(rows), len(rows[0])], "FP64")
    infer_input.set_data_from_numpy(__import__("numpy").array(rows, dtype="float64"))
    response = model.predict(InferRequest("{{ service_name }}", infer_inputs=[infer_input]))
    assert response.outputs[0].data == SAMPLE_DATA["expected"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"rows": [[1, 2, 3, 4]]}, '"instances" (V1) or "inputs" (V2)'),
        ({"instances": [[1, 2, 3]]}, "4 numbers each"),
        ({"instances": []}, "non-empty"),
        ({"instances": [["a", "b", "c", "d"]]}, "rows of numbers"),
        ({"instances": [[1, 2], [3, 4, 5, 6]]}, "rows of numbers"),
        ({"instances": [[float("nan"), 1, 2, 3]]}, "finite"),
    ],
)
def test_bad_input_is_a_client_error(model: SklearnModel, payload: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        model.predict(payload)


def test_missing_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make train"):
        SklearnModel("{{ service_name }}", tmp_path).load()
