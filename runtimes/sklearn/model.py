"""The scikit-learn predictor: a `kserve.Model` that serves a joblib-saved estimator.

KServe's own sklearn server is only published as an image, so this small class is the model server
(and the place to add pre- or post-processing). It serves V1 (`instances`) and V2 (`inputs`) alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
from kserve import InferRequest, InferResponse, Model
from kserve.errors import InvalidInput
from kserve.utils.utils import get_predict_input, get_predict_response

MODEL_FILE = "model.joblib"


class SklearnModel(Model):
    """Loads `<model_dir>/model.joblib` and predicts on 2-D numeric input."""

    def __init__(self, name: str, model_dir: str | Path) -> None:
        super().__init__(name)
        self.model_dir = Path(model_dir)
        self._estimator: Any = None

    def load(self) -> bool:
        path = self.model_dir / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no model at {path}: run `make train` or check the storage URI")
        self._estimator = joblib.load(path)
        self.ready = True
        return self.ready

    def predict(
        self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | InferResponse:
        features = self._features(payload)
        return get_predict_response(payload, self._estimator.predict(features), self.name)

    def _features(self, payload: dict[str, Any] | InferRequest) -> np.ndarray:
        """The request's rows as a float matrix; anything else is the client's error (HTTP 400)."""
        if isinstance(payload, dict) and "instances" not in payload and "inputs" not in payload:
            raise InvalidInput('expected a JSON object with "instances" (V1) or "inputs" (V2)')
        try:
            rows = payload["instances"] if isinstance(payload, dict) and "instances" in payload else None
            features = np.asarray(get_predict_input(payload) if rows is None else rows, dtype=np.float64)
        except (TypeError, ValueError, KeyError, IndexError) as error:
            raise InvalidInput(f"instances must be rows of numbers: {error}") from error
        expected = getattr(self._estimator, "n_features_in_", None)
        if features.ndim != 2 or features.shape[0] == 0 or (expected is not None and features.shape[1] != expected):
            raise InvalidInput(
                f"expected a non-empty list of rows with {expected} numbers each, got shape {list(features.shape)}"
            )
        if not np.isfinite(features).all():
            raise InvalidInput("instances must be finite numbers (no NaN or infinity)")
        return features
