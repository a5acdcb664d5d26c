"""Stop sequences cut out of streamed text (kserve_kit.serving.sampling.StopText): what goes out is
exactly the text before the first stop sequence, however the pieces split it."""

from __future__ import annotations

import pytest

from kserve_kit.serving.sampling import StopText


def streamed(pieces: list[str], stops: tuple[str, ...]) -> tuple[list[str], bool]:
    stop = StopText(stops)
    out = [stop.feed(piece) for piece in pieces]
    return [*out, stop.flush()], stop.stopped


@pytest.mark.parametrize(
    ("pieces", "stops", "text"),
    [
        (["Hello", " wor", "ld"], (), "Hello world"),
        (["Hello", " wor", "ld"], ("wor",), "Hello "),
        (["Hel", "lo\n", "\nBye"], ("\n\n",), "Hello"),  # a stop split over two pieces
        (["a", "b", "c", "d"], ("bd", "cd"), "ab"),  # a held tail that was not a stop goes out
        (["one two", " three"], ("three", "two"), "one "),  # the first stop in the text, not in the list
        (["The end"], ("end of",), "The end"),  # a tail that may start a stop goes out at the end
    ],
)
def test_the_text_is_what_comes_before_the_first_stop(pieces: list[str], stops: tuple[str, ...], text: str) -> None:
    out, _ = streamed(pieces, stops)
    assert "".join(out) == text


def test_a_tail_that_may_start_a_stop_is_held_back_until_it_is_not() -> None:
    stop = StopText(("END",))
    assert stop.feed("the E") == "the "  # "E" may be the start of "END"
    assert stop.feed("ND is near") == ""  # it was: nothing more goes out
    assert stop.stopped and stop.flush() == ""


def test_nothing_goes_out_after_a_stop() -> None:
    out, stopped = streamed(["yes.", " And more", " text"], (".",))
    assert out == ["yes", "", "", ""] and stopped
