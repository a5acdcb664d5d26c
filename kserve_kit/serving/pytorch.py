"""TorchModel: a RowsModel that loads a trained state dict (`model.pt`) into the owner's network,
on the GPU when the pod has one (CUDA), else the CPU (on_torch.py), and batches concurrent requests
(batching.py).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from kserve_kit.serving.artifacts import WEIGHTS_FILE
from kserve_kit.serving.batching import Batcher
from kserve_kit.serving.models import RowsModel
from kserve_kit.serving.on_torch import OnTorch


class TorchModel(OnTorch, RowsModel):
    network_class: type[nn.Module]  # the owner's network, built without arguments

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name, model_dir)
        self.network: nn.Module | None = None
        self.batcher: Batcher | None = None

    def load(self) -> bool:
        self.size_threads()
        path = self.require(WEIGHTS_FILE)
        network = self.network_class()
        try:
            network.load_state_dict(torch.load(path, map_location=self.device, weights_only=True))
        except RuntimeError as mismatch:  # weights of another network: the network changed since `make train`
            first = str(mismatch).splitlines()[0].rstrip(":")
            raise RuntimeError(
                f"{path} does not fit {self.network_class.__name__} ({first}): run `make train`"
            ) from None
        self.network = network.to(self.device).eval()
        self.batcher = Batcher(self.predict_rows, self.max_batch_requests, in_thread=self.on_gpu)
        self.ready = True
        return self.ready

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network on the model's device, without autograd."""
        with torch.inference_mode():
            return self.network(inputs.to(self.device))  # type: ignore[misc]

    async def infer_rows(self, rows: np.ndarray) -> np.ndarray:
        return await self.batcher(rows)  # type: ignore[misc]  # load() made it
