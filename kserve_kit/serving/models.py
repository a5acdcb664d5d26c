"""RowsModel: the kserve.Model every runtime's model class builds on. A request's rows of numbers in
(V1 `instances` or the one V2 tensor, checked by inputs.py), one prediction per row out.

The owner's class says only what differs: `load()` fills the model from `model_dir`, and
`predict_rows(rows)` turns rows into predictions (pre- and post-processing go there). Both of the
server's paths call it: the fast path (fast.py) for JSON bodies, KServe's own route for the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from kserve import InferRequest, InferResponse, Model

from kserve_kit.serving.inputs import answer, rows


class RowsModel(Model):
    width: int | None = None  # numbers per row; None takes any width
    max_batch_requests = 1  # a batching model's bound (the server's --max_batch_requests)

    def __init__(self, name: str, model_dir: str | Path) -> None:
        super().__init__(name)
        self.model_dir = Path(model_dir)

    @classmethod
    def workers(cls, cpus: int) -> int:
        """Server processes for a container with `cpus` CPUs: one per CPU (each process runs one
        request's Python at a time)."""
        return cpus

    def require(self, file_name: str) -> Path:
        """The model file `load()` reads, or an error that says how to get one."""
        path = self.model_dir / file_name
        if not path.is_file():
            raise FileNotFoundError(f"no model at {path}: run `make train`, or check the storage URI")
        return path

    def predict_rows(self, rows: np.ndarray) -> np.ndarray:
        """(N, width) float64 rows -> N predictions."""
        raise NotImplementedError(f"{type(self).__name__} must define predict_rows(rows)")

    async def infer_rows(self, rows: np.ndarray) -> np.ndarray:
        """What the fast path awaits: predict_rows here; a batching model gathers concurrent requests."""
        return self.predict_rows(rows)

    def predict(
        self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | InferResponse:
        """KServe's interface (its own route, and in-process calls)."""
        return answer(payload, self.predict_rows(rows(payload, self.width)), self.name)
