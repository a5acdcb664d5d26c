"""The handler in-process, inside a real TorchServe Context built from the real MAR: parsing,
per-request errors in a batch, device choice and predictions."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
import torch
from ts.context import Context

from {{ kit.package_name }}.handler import DigitsHandler
from {{ kit.package_name }}.protocol import ClientError, parse_request
from scripts.service_facts import load_service
from scripts.smoke import SAMPLE, v2_request

MODEL_NAME = load_service()["model_name"]
SAMPLE_DATA = json.loads(SAMPLE.read_text(encoding="utf-8"))


class RecordingContext(Context):
    """TorchServe's Context, keeping the per-request statuses the handler sets."""

    def __init__(self, model_dir: Path, manifest: dict) -> None:
        super().__init__(
            MODEL_NAME, str(model_dir), manifest, batch_size=8, gpu=0, mms_version="0.12.0", model_yaml_config={}
        )
        self.statuses: dict[int, tuple[int, str]] = {}

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.statuses[idx] = (code, phrase)


@pytest.fixture(scope="module")
def context(artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> RecordingContext:
    # TorchServe unpacks the MAR into the model directory and imports model.py from there: do the same.
    model_dir = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(artifacts / f"{MODEL_NAME}.mar") as mar:
        mar.extractall(model_dir)
    manifest = json.loads((model_dir / "MAR-INF" / "MANIFEST.json").read_text(encoding="utf-8"))
    return RecordingContext(model_dir, manifest)


@pytest.fixture(scope="module")
def handler(context: RecordingContext) -> DigitsHandler:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(context.system_properties["model_dir"])
        loaded = DigitsHandler()
        loaded.initialize(context)
    return loaded


def test_device_is_the_gpu_when_there_is_one(handler: DigitsHandler) -> None:
    assert handler.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert next(handler.model.parameters()).device.type == handler.device.type


def test_v1_and_v2_requests_in_one_batch(handler: DigitsHandler, context: RecordingContext) -> None:
    batch = [{"body": {"instances": SAMPLE_DATA["instances"]}}, {"body": v2_request(SAMPLE_DATA["instances"])}]
    v1, v2 = handler.handle(batch, context)
    assert v1 == {"predictions": SAMPLE_DATA["expected"]}
    assert v2["outputs"][0]["data"] == SAMPLE_DATA["expected"]
    assert v2["outputs"][0]["shape"] == [len(SAMPLE_DATA["expected"])]


def test_a_bad_request_fails_alone_with_400(handler: DigitsHandler, context: RecordingContext) -> None:
    context.statuses.clear()
    good = {"body": json.dumps({"instances": SAMPLE_DATA["instances"][:1]}).encode()}
    bad = {"body": b'{"instances": [[1, 2, 3]]}'}
    responses = handler.handle([bad, good], context)
    assert context.statuses[0][0] == 400 and "64 numbers" in context.statuses[0][1]
    assert 1 not in context.statuses
    assert responses[1] == {"predictions": SAMPLE_DATA["expected"][:1]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{oops", "not JSON"),
        ({"rows": []}, '"instances" (V1) or "inputs" (V2)'),
        ({"instances": []}, "non-empty"),
        ({"instances": [[0] * 63]}, "64 numbers"),
        ({"instances": [["x"] * 64]}, "only numbers"),
        ({"instances": [[float("inf")] * 64]}, "finite"),
        ({"inputs": [{"name": "x", "shape": [2, 64], "datatype": "FP32", "data": [0] * 64}]}, "does not match"),
        ({"inputs": "x"}, "list of tensors"),
    ],
)
def test_parse_request_refuses_bad_input(body: object, message: str) -> None:
    with pytest.raises(ClientError, match=re.escape(message)):
        parse_request(body)
