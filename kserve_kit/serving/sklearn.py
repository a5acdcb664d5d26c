"""JoblibModel: a RowsModel that serves a joblib-saved scikit-learn estimator (`model.joblib`)."""

from __future__ import annotations

import warnings
from typing import Any

import joblib
from sklearn.exceptions import InconsistentVersionWarning

from kserve_kit.serving.artifacts import JOBLIB_FILE
from kserve_kit.serving.models import RowsModel


class JoblibModel(RowsModel):
    estimator: Any = None

    def load(self) -> bool:
        path = self.require(JOBLIB_FILE)
        with warnings.catch_warnings():
            # A model pickled by another scikit-learn may load and then predict wrongly: refuse it.
            warnings.simplefilter("error", InconsistentVersionWarning)
            try:
                self.estimator = joblib.load(path)
            except InconsistentVersionWarning as mismatch:
                raise RuntimeError(
                    f"{path} was saved with scikit-learn {mismatch.original_sklearn_version} but this server has "
                    f"{mismatch.current_sklearn_version}: train with the version the image installs (pyproject.toml)"
                ) from None
        self.width = getattr(self.estimator, "n_features_in_", None)
        self.ready = True
        return self.ready
