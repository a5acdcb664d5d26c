"""`make latency` of a generative model: streamed chats at a concurrency, timed as its users feel them:
the time to the first token, the time between tokens, and tokens per second (per stream and in all).
Each chat asks for the usage in its last chunk (`stream_options.include_usage`, OpenAI's and vLLM's),
so tokens are counted by the server's tokenizer, not guessed from the text."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import openai

from kserve_kit.openai_smoke import client
from kserve_kit.smoke import Sample, SmokeFailure, Target, percentile

MAX_TOKENS = 32  # each chat's answer at most: long enough for a time between tokens, short enough for CI


@dataclass(frozen=True)
class Stream:
    first_token_ms: float
    total_ms: float
    tokens: int

    @property
    def between_tokens_ms(self) -> float | None:
        """The mean time from one token to the next after the first (None for an answer of one token)."""
        return (self.total_ms - self.first_token_ms) / (self.tokens - 1) if self.tokens > 1 else None


@dataclass(frozen=True)
class GenerationReport:
    streams: list[Stream]
    wall_s: float
    concurrency: int

    @property
    def first_token_ms(self) -> list[float]:
        return [stream.first_token_ms for stream in self.streams]

    def summary(self) -> dict[str, float | int]:
        between = [ms for stream in self.streams if (ms := stream.between_tokens_ms) is not None]
        per_stream = [1000 / ms for ms in between if ms > 0]
        tokens = sum(stream.tokens for stream in self.streams)
        return {
            "chats": len(self.streams),
            "first_token_p50_ms": round(percentile(self.first_token_ms, 50), 1),
            "first_token_p95_ms": round(percentile(self.first_token_ms, 95), 1),
            "between_tokens_p50_ms": round(percentile(between, 50), 2),
            "tokens_per_s_per_stream": round(percentile(per_stream, 50), 1),
            "tokens_per_s": round(tokens / self.wall_s, 1) if self.wall_s else 0.0,
            "completion_tokens": tokens,
        }

    def line(self) -> str:
        s = self.summary()
        return (f"openai: {s['chats']} streamed chats at concurrency {self.concurrency}: time to first token p50 "
                f"{s['first_token_p50_ms']} ms, p95 {s['first_token_p95_ms']} ms; between tokens p50 "
                f"{s['between_tokens_p50_ms']} ms; {s['tokens_per_s_per_stream']} tokens/s per stream, "
                f"{s['tokens_per_s']} tokens/s in all ({s['completion_tokens']} tokens)")  # fmt: skip


def streamed_chat(api: openai.OpenAI, model: str, prompt: str) -> Stream:
    messages: list[Any] = [{"role": "user", "content": prompt}]
    started = time.perf_counter()
    first = last = None
    usage = None
    chunks = api.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=MAX_TOKENS,
                                         stream=True, stream_options={"include_usage": True})  # fmt: skip
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            first = first or last
        usage = chunk.usage or usage
    if first is None or last is None:
        raise SmokeFailure(f"a streamed chat about {prompt!r} sent no text")
    if usage is None:
        raise SmokeFailure("a streamed chat with stream_options.include_usage ended without its usage")
    return Stream((first - started) * 1000, (last - started) * 1000, int(usage.completion_tokens))


def run(target: Target, prefix: str, model: str, sample: Sample, requests: int, concurrency: int) -> GenerationReport:
    """`requests` streamed chats about the sample's prompts (in turn) from `concurrency` threads."""
    api = client(target, prefix)
    prompts = [str(prompt) for prompt in sample.instances]

    def timed(index: int) -> Stream | str:
        try:
            return streamed_chat(api, model, prompts[index % len(prompts)])
        except (SmokeFailure, openai.OpenAIError) as error:
            return str(error)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(timed, range(requests)))
    failed = [result for result in results if isinstance(result, str)]
    if failed:
        raise SmokeFailure(f"{len(failed)} of {requests} streamed chats failed; first: {failed[0]}")
    streams = [result for result in results if isinstance(result, Stream)]
    return GenerationReport(streams, time.perf_counter() - started, concurrency)
