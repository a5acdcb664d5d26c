"""Adaptive batching inside the server: concurrent requests share one model call, a lone one never waits.

The requests that arrive while a model call runs queue; when it ends, the queue goes into the next
call, up to `max_requests` of them. Under load the calls grow to what arrives in the time of one
call; at rest every request is a call of its own at once. No timer: nothing waits for a batch to fill.

On the CPU a call runs on the event loop itself, as a plain server would (a thread hop costs a small
model more than its forward pass; the requests arriving meanwhile wait in the sockets and are read
between calls). A quick model's request that finds the batcher idle is its call there and then:
no future and no turn of the loop first, which cost about 20 us, a sixth of a small network's
request. A slower model's idle request still waits that turn, so that the requests read in it share
its call (for a 10 ms encoder the turn is nothing, and a call of one before each batch would halve
its throughput). On a GPU the calls run in the model's own thread, so the loop reads requests while
the device computes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

Pending = tuple[np.ndarray, asyncio.Future[np.ndarray]]
QUICK_CALL_S = 0.001  # a call this short is made at once when the batcher is idle (above)


class Batcher:
    def __init__(self, call: Callable[[np.ndarray], np.ndarray], max_requests: int, in_thread: bool = False) -> None:
        self.call, self.max_requests = call, max(1, max_requests)
        self.pending: list[Pending] = []
        self.running = False
        self.quick = False  # whether the last call took less than QUICK_CALL_S
        # One call at a time: the model's own thread pool (torch, BLAS) uses the CPUs within it.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model") if in_thread else None

    async def __call__(self, rows: np.ndarray) -> np.ndarray:
        loop = asyncio.get_running_loop()
        if self.quick and not self.running and self.executor is None:  # idle, quick, on the loop: at once
            self.running = True
            loop.call_soon(self._drain_on_loop)  # then the requests read meanwhile, in one call
            return self._timed(rows)
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self.pending.append((rows, future))
        if not self.running:  # the drain starts on the loop's next turn: requests read in this one join it
            self.running = True
            if self.executor is None:
                loop.call_soon(self._drain_on_loop)  # a callback, not a task: cheaper for a lone request
            else:
                loop.create_task(self._drain_in_thread())
        return await future

    def _next_batch(self) -> list[Pending]:
        batch, self.pending = self.pending[: self.max_requests], self.pending[self.max_requests :]
        return batch

    def _timed(self, rows: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.call(rows)
        finally:
            self.quick = time.perf_counter() - started < QUICK_CALL_S

    def _drain_on_loop(self) -> None:
        """The requests queued since the last call, in one call; then again on the loop's next turn,
        which reads what arrived during this one first. Idle again when a turn finds none queued."""
        if not self.pending:
            self.running = False
            return
        batch = self._next_batch()
        try:
            predictions = self._timed(_joined(batch))
        except Exception as error:
            _fail(batch, error)
        else:
            _deliver(batch, predictions)
        finally:
            asyncio.get_running_loop().call_soon(self._drain_on_loop)

    async def _drain_in_thread(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch = self._next_batch()
                try:
                    predictions = await loop.run_in_executor(self.executor, self.call, _joined(batch))
                except Exception as error:
                    _fail(batch, error)
                else:
                    _deliver(batch, predictions)
        finally:
            self.running = False


def _joined(batch: list[Pending]) -> np.ndarray:
    return batch[0][0] if len(batch) == 1 else np.concatenate([rows for rows, _ in batch])


def _fail(batch: list[Pending], error: Exception) -> None:
    """Each request of the call gets the error its own call would have."""
    for _, future in batch:
        if not future.done():  # a request whose client went away was cancelled
            future.set_exception(error)


def _deliver(batch: list[Pending], predictions: np.ndarray) -> None:
    """Each request gets the predictions of its own rows."""
    start = 0
    for rows, future in batch:
        if not future.done():
            future.set_result(predictions[start : start + len(rows)])
        start += len(rows)
