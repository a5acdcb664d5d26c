"""OnTorch: what the serving library's torch models share (pytorch.py, embeddings.py): the device
they run on, the server processes a container holds and torch's threads.

torch's intra-op threads follow the container's CPU quota (quota.py), not the node's cores.
"""

from __future__ import annotations

import torch

from kserve_kit.serving import quota


class OnTorch:
    """Mixin for a kserve.Model that runs torch: on the GPU when the pod has one (CUDA), else the CPU."""

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    @classmethod
    def workers(cls, cpus: int) -> int:
        """One process on a GPU (each would hold its own copy of the weights in the GPU's memory, and
        one process batching keeps the GPU busier), else one per CPU."""
        return 1 if cls.device.type == "cuda" else cpus

    @classmethod
    def size_threads(cls) -> None:
        """torch's intra-op threads: this process's share of the container's CPUs."""
        torch.set_num_threads(quota.compute_threads())

    @property
    def on_gpu(self) -> bool:
        """Whether batches run in a thread of their own (a GPU call releases the event loop's thread)."""
        return self.device.type == "cuda"
