"""The fast path (kserve_kit.serving.fast) answering exactly as KServe's own route does, for a model of
rows of numbers (a RowsModel)."""

from __future__ import annotations

import httpx
from kserve.protocol.rest.v2_datamodels import InferenceResponse

from kserve_kit.local_server import LocalServer
from kserve_kit.service import Service
from kserve_kit.smoke import v2_request


def test_the_fast_path_answers_as_kserves_route(server: LocalServer, service: Service, sample: dict) -> None:
    """A plain V2 request takes the fast path; one with `parameters` takes KServe's route (FastAPI,
    pydantic, the data plane). Both answers must be the same, but for the id each request names."""
    url = server.url + f"/v2/models/{service.name}/infer"
    fast = httpx.post(url, json={**v2_request(sample["instances"]), "id": "one"}, timeout=30)
    kserve = httpx.post(url, json={**v2_request(sample["instances"]), "id": "one", "parameters": {}}, timeout=30)
    assert fast.status_code == kserve.status_code == 200, (fast.text, kserve.text)
    assert fast.json() == kserve.json()
    InferenceResponse.model_validate(fast.json())  # the Open Inference Protocol's own model of it
