"""Train the demo model (iris) so the service works end to end on day one.

Replace this with your own training; the server only needs `model/model.joblib`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from {{ kit.package_name }}.model import MODEL_FILE


def train(output_dir: Path) -> Path:
    """Fit a small iris classifier and save it as `<output_dir>/model.joblib`."""
    features, labels = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=0))
    model.fit(features, labels)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / MODEL_FILE
    joblib.dump(model, path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("model"), help="model directory")
    print(f"saved {train(parser.parse_args().output)}")
