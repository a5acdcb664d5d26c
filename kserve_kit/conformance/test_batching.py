"""The serving library's batching (kserve_kit.serving.batching), in the service's environment:
concurrent requests share a call up to the bound, each gets its own rows' answers, a lone request is
a call of its own at once (a quick model's is made there and then, a slow one's in the loop's next
turn, which the requests read meanwhile share), and a failing call fails only its own requests."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from kserve_kit.serving.batching import QUICK_CALL_S, Batcher


class Model:
    """Doubles its rows; records the size of each call; fails a call holding a row of -1."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.calls: list[int] = []
        self.seconds = seconds  # how long each call takes

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        time.sleep(self.seconds)
        self.calls.append(len(rows))
        if (rows == -1).any():
            raise ValueError("a bad row")
        return rows[:, 0] * 2


@pytest.mark.parametrize("in_thread", [False, True])
def test_concurrent_requests_share_calls_up_to_the_bound(in_thread: bool) -> None:
    model = Model()

    async def main() -> list[np.ndarray]:
        batcher = Batcher(model, max_requests=4, in_thread=in_thread)
        return await asyncio.gather(*(batcher(np.array([[float(i)]] * (1 + i % 2))) for i in range(10)))

    answers = asyncio.run(main())
    assert [answer.tolist() for answer in answers] == [[2.0 * i] * (1 + i % 2) for i in range(10)]
    assert len(model.calls) == 3 and sum(model.calls) == 15  # 4 + 4 + 2 requests


def test_a_lone_request_is_a_call_of_its_own() -> None:
    model = Model()

    async def main() -> None:
        batcher = Batcher(model, max_requests=32)
        for i in range(3):
            assert (await batcher(np.array([[float(i)]]))).tolist() == [2.0 * i]

    asyncio.run(main())
    assert model.calls == [1, 1, 1]


@pytest.mark.parametrize(("seconds", "calls"), [(0.0, [1, 1, 4]), (2 * QUICK_CALL_S, [1, 4, 1])])
def test_an_idle_batcher_calls_a_quick_model_at_once_and_a_slow_one_on_the_next_turn(
    seconds: float, calls: list[int]
) -> None:
    """After a first call: 5 concurrent requests are 1 + 4 for a quick model (the first made at once,
    the others queued while it ran), 4 + 1 for a slow one (the loop's next turn reads them all first)."""
    model = Model(seconds)

    async def main() -> list[np.ndarray]:
        batcher = Batcher(model, max_requests=4)
        await batcher(np.array([[0.0]]))
        return await asyncio.gather(*(batcher(np.array([[float(i)]])) for i in range(5)))

    assert [answer.tolist() for answer in asyncio.run(main())] == [[2.0 * i] for i in range(5)]
    assert model.calls == calls


def test_a_failing_call_fails_only_its_own_requests() -> None:
    model = Model()

    async def main() -> list[object]:
        batcher = Batcher(model, max_requests=2)
        rows = [[1.0], [-1.0], [3.0], [4.0]]  # calls: [1, -1] fails, [3, 4] answers
        return await asyncio.gather(*(batcher(np.array([row])) for row in rows), return_exceptions=True)

    first, second, third, fourth = asyncio.run(main())
    assert isinstance(first, ValueError) and isinstance(second, ValueError)
    assert third.tolist() == [6.0] and fourth.tolist() == [8.0]  # type: ignore[union-attr]


@pytest.mark.parametrize("in_thread", [False, True])
def test_a_request_whose_client_left_does_not_break_its_call(in_thread: bool) -> None:
    """A client that disconnects cancels its request while it waits for a call: the others of that
    call still get their answers, and the batcher serves the next requests."""
    model = Model()

    async def main() -> list[list[float]]:
        batcher = Batcher(model, max_requests=4, in_thread=in_thread)
        requests = [asyncio.ensure_future(batcher(np.array([[float(i)]]))) for i in range(3)]
        await asyncio.sleep(0)  # each is queued, the call not yet made
        requests[1].cancel()
        answered = [await requests[0], await requests[2]]
        return [answer.tolist() for answer in [*answered, await batcher(np.array([[5.0]]))]]

    assert asyncio.run(main()) == [[0.0], [4.0], [10.0]]
