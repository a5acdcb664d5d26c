"""GenerativeModel: a kserve.Model that continues texts with a Hugging Face causal language model (a
model directory: config.json, the weights, the tokenizer with its chat template), on the GPU when
the pod has one, else the CPU (on_torch.py). Served on OpenAI's completions and chat completions
routes, streamed or not (openai_api.py), and on V1 and V2 (texts in, greedy continuations out).

One generation at a time per process, with all of the process's compute threads; a request that
arrives meanwhile waits its turn, and the container's other processes (one per CPU) serve their own.
The model directory is read from disk only (`local_files_only`): the pod reaches no model hub.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers loads: it reads this once

import numpy as np  # noqa: E402
import torch  # noqa: E402
from kserve import InferRequest, InferResponse, Model  # noqa: E402
from kserve.errors import InvalidInput  # noqa: E402
from kserve.utils.utils import get_predict_response  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, TextStreamer  # noqa: E402

from kserve_kit.serving.artifacts import hugging_face_model  # noqa: E402
from kserve_kit.serving.on_torch import OnTorch  # noqa: E402
from kserve_kit.serving.sampling import Generation, Sampling, StopText  # noqa: E402
from kserve_kit.serving.texts import request_texts  # noqa: E402


class Pieces(TextStreamer):
    """transformers' streamer (it decodes whole words and characters) handing each piece of text to
    the event loop's queue; None when the generation has ended."""

    def __init__(self, tokenizer: Any, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self.loop, self.queue = loop, asyncio.Queue[str | None]()

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, text)
        if stream_end:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, None)


class Cancelled(StoppingCriteria):
    """Ends the generation once `event` is set (a stop sequence seen, the client gone)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class GenerativeModel(OnTorch, Model):
    task = "text-generation"  # what the OpenAI routes serve for it (openai_api.py)

    def __init__(self, name: str, model_dir: str | Path) -> None:
        super().__init__(name)
        self.model_dir = Path(model_dir)
        self.tokenizer: Any = None
        self.network: Any = None
        self.context = 0  # the most tokens the model reads, prompt and generation together
        self.pad_token_id: int | None = None
        self.end_ids: set[int] = set()  # the tokens that end a generation
        self.turn = asyncio.Lock()

    def load(self) -> bool:
        self.size_threads()
        model_dir = hugging_face_model(self.model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        network = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
        self.network = network.to(self.device).eval()
        self.context = int(getattr(network.config, "max_position_embeddings", 0) or self.tokenizer.model_max_length)
        ends = network.generation_config.eos_token_id  # one id, or several (chat models end turns too)
        self.end_ids = set(ends if isinstance(ends, list) else [] if ends is None else [ends])
        pad = self.tokenizer.pad_token_id
        self.pad_token_id = self.tokenizer.eos_token_id if pad is None else pad  # GPT-2's tokenizers have none
        self.ready = True
        return self.ready

    def prompt(self, text: str) -> str:
        """What the model reads for a completion's (and V1's, V2's) text: the text itself."""
        return text

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """What the model reads for a chat: the messages through the tokenizer's chat template."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise InvalidInput(f"{self.name} has no chat template (tokenizer_config.json): use /openai/v1/completions")
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    def tokens(self, prompt: str, templated: bool = False) -> list[int]:
        """The prompt's tokens; a chat template writes its special tokens itself (`templated`)."""
        return list(self.tokenizer(prompt, add_special_tokens=not templated)["input_ids"])

    def fitting(self, ids: list[int], max_tokens: int) -> list[int]:
        """`ids`, or a client error when they and `max_tokens` do not fit the model's context."""
        if len(ids) + max_tokens > self.context:
            raise InvalidInput(
                f"the prompt has {len(ids)} tokens and max_tokens is {max_tokens}: this model reads "
                f"at most {self.context} tokens in all"
            )
        return ids

    async def stream(self, ids: list[int], sampling: Sampling, generation: Generation) -> AsyncIterator[str]:
        """The generated text piece by piece (cut before a stop sequence); `generation` holds its
        outcome once the pieces have ended."""
        async with self.turn:
            pieces = Pieces(self.tokenizer, asyncio.get_running_loop())
            cancelled, stop = threading.Event(), StopText(sampling.stop)
            run = asyncio.get_running_loop().run_in_executor(None, self.run, ids, sampling, pieces, cancelled)
            try:
                while (piece := await pieces.queue.get()) is not None:
                    if out := stop.feed(piece):
                        generation.text += out
                        yield out
                    if stop.stopped:
                        cancelled.set()
                if tail := stop.flush():
                    generation.text += tail
                    yield tail
            finally:
                cancelled.set()  # also when the client went away mid-stream
                output = await run
            generated = output[len(ids) :]
            generation.completion_tokens = len(generated)
            ended = stop.stopped or bool(generated and generated[-1] in self.end_ids)
            generation.finish_reason = "length" if not ended and len(generated) >= sampling.max_tokens else "stop"

    def run(self, ids: list[int], sampling: Sampling, pieces: Pieces, cancelled: threading.Event) -> list[int]:
        """model.generate in a thread of its own (the event loop serves meanwhile): the prompt's and the
        generated tokens. The streamer ends whatever happens, so the loop never waits for it in vain."""
        try:
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)  # one generation at a time in this process (self.turn)
            sampled = {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p}
            with torch.inference_mode():
                output = self.network.generate(
                    torch.tensor([ids], device=self.device),
                    attention_mask=torch.ones((1, len(ids)), dtype=torch.long, device=self.device),
                    max_new_tokens=sampling.max_tokens,
                    streamer=pieces,
                    stopping_criteria=[Cancelled(cancelled)],
                    pad_token_id=self.pad_token_id,
                    **(sampled if sampling.temperature > 0 else {"do_sample": False}),
                )
            return output[0].tolist()
        finally:
            pieces.end()

    async def generate(self, ids: list[int], sampling: Sampling) -> Generation:
        """The whole generation at once."""
        generation = Generation(prompt_tokens=len(ids))
        async for _ in self.stream(ids, sampling, generation):
            pass
        return generation

    async def predict(
        self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | InferResponse:
        """V1 and V2 (KServe's routes): texts in, each one's greedy continuation out."""
        sampling = Sampling()
        continuations = []
        for text in request_texts(payload):
            ids = self.fitting(self.tokens(self.prompt(text)), sampling.max_tokens)
            generation = await self.generate(ids, sampling)
            continuations.append(generation.text)
        return get_predict_response(payload, np.asarray(continuations, dtype=object), self.name)
