"""The network: a small convolutional classifier for 8x8 grey-scale digits (MNIST-style).

TorchServe's BaseHandler builds the model from this file inside the MAR: keep exactly one
`nn.Module` class here, constructible without arguments.
"""

from __future__ import annotations

import torch
from torch import nn


class DigitNet(nn.Module):
    """(N, 1, 8, 8) images scaled to [0, 1] -> (N, 10) class scores."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Linear(16 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))
