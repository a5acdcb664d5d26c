"""EmbeddingModel: a kserve.Model that turns texts into vectors with a sentence-transformers model
(a Hugging Face model directory: config.json, weights, tokenizer, modules.json), on the GPU when the
pod has one, else the CPU (on_torch.py). Served on V1 and V2 (texts in, vectors out) and on OpenAI's embeddings
route (openai_api.py); concurrent requests share one model call (batching.py).

The model directory is read from disk only (`local_files_only`): the pod reaches no model hub, and
`make train` puts the model into model/ the way the storage initializer puts it into /mnt/models.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers loads: it reads this once

import numpy as np  # noqa: E402
from kserve import InferRequest, InferResponse, Model  # noqa: E402
from kserve.errors import InvalidInput  # noqa: E402
from kserve.utils.utils import get_predict_response  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

from kserve_kit.serving.artifacts import hugging_face_model  # noqa: E402
from kserve_kit.serving.batching import Batcher  # noqa: E402
from kserve_kit.serving.on_torch import OnTorch  # noqa: E402
from kserve_kit.serving.texts import request_texts  # noqa: E402


class EmbeddingModel(OnTorch, Model):
    task = "embeddings"  # what the OpenAI routes serve for it (openai_api.py)
    max_batch_requests = 1  # the server's --max_batch_requests

    def __init__(self, name: str, model_dir: str | Path) -> None:
        super().__init__(name)
        self.model_dir = Path(model_dir)
        self.encoder: SentenceTransformer | None = None
        self.batcher: Batcher | None = None
        self.dimensions = 0
        self.max_tokens = 0

    def load(self) -> bool:
        self.size_threads()
        model_dir = str(hugging_face_model(self.model_dir))
        self.encoder = SentenceTransformer(model_dir, device=str(self.device), local_files_only=True)
        self.dimensions = int(self.encoder.get_embedding_dimension() or 0)
        self.max_tokens = int(self.encoder.max_seq_length)
        self.batcher = Batcher(self.encode, self.max_batch_requests, in_thread=self.on_gpu)
        self.ready = True
        return self.ready

    def token_counts(self, texts: list[str]) -> list[int]:
        """Each text's length in the model's tokens (special tokens included), not cut to max_tokens.

        A tokenization of its own: encode()'s, inside sentence-transformers' pipeline (prompts, chat
        templates), cuts every text to max_tokens, so it cannot tell a text that fits from one cut
        short. This one costs under 1% of a request (docs/decisions.md)."""
        tokenizer = self.encoder.tokenizer  # type: ignore[union-attr]  # load() made it
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]]

    def check_lengths(self, texts: list[str]) -> int:
        """The request's tokens, or a client error naming the first text the model cannot read whole."""
        counts = self.token_counts(texts)
        for index, count in enumerate(counts):
            if count > self.max_tokens:
                raise InvalidInput(
                    f"text {index} has {count} tokens; this model reads at most {self.max_tokens}: split the text"
                )
        return sum(counts)

    def encode(self, texts: np.ndarray) -> np.ndarray:
        """Texts -> float32 vectors, one row each (what a batch of requests shares)."""
        return self.encoder.encode(list(texts), convert_to_numpy=True, batch_size=max(32, len(texts)))  # type: ignore[union-attr]

    async def embed(self, texts: list[str]) -> np.ndarray:
        """What the routes await: the texts' vectors, in a call shared with concurrent requests."""
        return await self.batcher(np.asarray(texts, dtype=object))  # type: ignore[misc]  # load() made it

    async def predict(
        self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | InferResponse:
        """V1 and V2 (KServe's routes): texts in, one vector per text out."""
        texts = request_texts(payload)
        self.check_lengths(texts)
        return get_predict_response(payload, await self.embed(texts), self.name)
