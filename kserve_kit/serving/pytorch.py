"""TorchModel: a RowsModel that loads a trained state dict (`model.pt`) into the owner's network,
on the GPU when the pod has one (CUDA), else the CPU, and batches concurrent requests (batching.py).

torch's intra-op threads follow the container's CPU quota (quota.py), not the node's cores.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from kserve_kit.serving import quota
from kserve_kit.serving.artifacts import WEIGHTS_FILE
from kserve_kit.serving.batching import Batcher
from kserve_kit.serving.models import RowsModel


class TorchModel(RowsModel):
    network_class: type[nn.Module]  # the owner's network, built without arguments

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name, model_dir)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.network: nn.Module | None = None
        self.batcher: Batcher | None = None

    @classmethod
    def workers(cls, cpus: int) -> int:
        """One process on a GPU (each would hold its own copy of the network in the GPU's memory, and
        one process batching keeps the GPU busier), else one per CPU."""
        return 1 if torch.cuda.is_available() else cpus

    def load(self) -> bool:
        torch.set_num_threads(quota.compute_threads())
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
        self.batcher = Batcher(self.predict_rows, self.max_batch_requests, in_thread=self.device.type == "cuda")
        self.ready = True
        return self.ready

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network on the model's device, without autograd."""
        with torch.inference_mode():
            return self.network(inputs.to(self.device))  # type: ignore[misc]

    async def infer_rows(self, rows: np.ndarray) -> np.ndarray:
        return await self.batcher(rows)  # type: ignore[misc]  # load() made it
