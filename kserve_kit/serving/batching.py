"""Adaptive batching inside the server: concurrent requests share one model call, a lone one never waits.

While a model call runs (in its own thread, so the event loop keeps reading requests), the requests
that arrive queue; when it ends, the queue goes into the next call, up to `max_requests` of them.
Under load the calls grow to what the model takes in the time of one call; at rest every request is
a call of its own at once. No timer: nothing waits for a batch to fill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

Pending = tuple[np.ndarray, asyncio.Future[np.ndarray]]


class Batcher:
    def __init__(self, call: Callable[[np.ndarray], np.ndarray], max_requests: int) -> None:
        self.call, self.max_requests = call, max(1, max_requests)
        self.pending: list[Pending] = []
        self.running = False
        # One call at a time: the model's own thread pool (torch, BLAS) uses the CPUs within it.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")

    async def __call__(self, rows: np.ndarray) -> np.ndarray:
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self.pending.append((rows, future))
        if not self.running:
            self.running = True
            asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch, self.pending = self.pending[: self.max_requests], self.pending[self.max_requests :]
                try:
                    joined = batch[0][0] if len(batch) == 1 else np.concatenate([rows for rows, _ in batch])
                    predictions = await loop.run_in_executor(self.executor, self.call, joined)
                except Exception as error:  # each request of the call gets the error its own call would have
                    for _, future in batch:
                        future.set_exception(error)
                    continue
                start = 0
                for rows, future in batch:
                    future.set_result(predictions[start : start + len(rows)])
                    start += len(rows)
        finally:
            self.running = False
