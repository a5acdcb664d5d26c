"""Train the demo model (8x8 digits, MNIST-style) so the service works end to end on day one.

Replace this with your own training; TorchServe needs `model/model.pt` (a state dict of the network
in {{ kit.package_name }}/model.py), packed with the handler by `make mar`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from torch import nn

from {{ kit.package_name }}.handler import to_model_input
from {{ kit.package_name }}.model import DigitNet

MODEL_FILE = "model.pt"


def train(output_dir: Path, epochs: int = 40, seed: int = 0) -> Path:
    """Fit the network on scikit-learn's digits (shipped with it: no download) and save its state dict."""
    torch.manual_seed(seed)
    digits = load_digits()
    images = to_model_input(digits.data.tolist())
    labels = torch.tensor(digits.target, dtype=torch.long)
    model = DigitNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for batch in torch.randperm(len(labels)).split(64):
            optimizer.zero_grad()
            loss_fn(model(images[batch]), labels[batch]).backward()
            optimizer.step()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / MODEL_FILE
    torch.save(model.state_dict(), path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("model"), help="model directory")
    print(f"saved {train(parser.parse_args().output)}")
