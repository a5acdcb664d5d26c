"""The files a service's training writes into the model directory and its server loads: one name each,
for the training (training/train.py), the server, `kserve-kit mar` and the docs. Imports nothing
beyond the standard library."""

from pathlib import Path

JOBLIB_FILE = "model.joblib"  # scikit-learn: the estimator or pipeline, saved with joblib
WEIGHTS_FILE = "model.pt"  # PyTorch and TorchServe: the network's state dict
HF_CONFIG_FILE = "config.json"  # Hugging Face runtimes: every model directory has one


def hugging_face_model(model_dir: Path) -> Path:
    """`model_dir`, or an error saying how to get a Hugging Face model into it."""
    if not (model_dir / HF_CONFIG_FILE).is_file():
        raise FileNotFoundError(
            f"no Hugging Face model at {model_dir} (no {HF_CONFIG_FILE}): run `make train`, or check the storage URI"
        )
    return model_dir
