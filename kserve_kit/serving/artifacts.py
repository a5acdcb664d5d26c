"""The files a service's training writes into the model directory and its server loads: one name each,
for the training (training/train.py), the server, `kserve-kit mar` and the docs. Imports nothing."""

JOBLIB_FILE = "model.joblib"  # scikit-learn: the estimator or pipeline, saved with joblib
WEIGHTS_FILE = "model.pt"  # PyTorch and TorchServe: the network's state dict
