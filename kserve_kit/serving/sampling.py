"""How a generation runs and what it gives (generation.py runs it, openai_api.py reads requests into
it): the sampling asked for, the outcome, stop sequences cut out of streamed text. Imports nothing
heavy: KServe's server imports the OpenAI routes for every runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_TOKENS = 16  # OpenAI's default for completions; V1 and V2 generate this many at most


@dataclass(frozen=True)
class Sampling:
    """How to generate: at most `max_tokens`; greedy at temperature 0, else sampled (top_p, seed)."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()  # the text ends before the first of these (which is not returned)
    seed: int | None = None


@dataclass
class Generation:
    """A generation's outcome, filled in as it runs: its text, why it ended, its tokens."""

    prompt_tokens: int
    text: str = ""
    finish_reason: str = "stop"  # "stop": the model's end or a stop sequence; "length": max_tokens
    completion_tokens: int = 0


class StopText:
    """Generated text as it comes, cut before the first stop sequence; the tail that may be the start
    of one is held back until the next piece shows whether it is."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops, self.held, self.stopped = stops, "", False

    def feed(self, piece: str) -> str:
        """What of the text so far can go out now."""
        if self.stopped:
            return ""
        self.held += piece
        found = [index for index in (self.held.find(stop) for stop in self.stops) if index >= 0]
        if found:
            out, self.held, self.stopped = self.held[: min(found)], "", True
            return out
        keep = max((size for stop in self.stops for size in range(1, len(stop)) if self.held.endswith(stop[:size])),
                   default=0)  # fmt: skip
        out, self.held = self.held[: len(self.held) - keep], self.held[len(self.held) - keep :]
        return out

    def flush(self) -> str:
        out, self.held = self.held, ""
        return out
