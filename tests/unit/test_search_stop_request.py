"""Ctrl-C / SIGTERM during tuning request a stop (polyopt.search.interrupt) instead of raising where the
main thread happens to be: an exception raised inside an isl callback is swallowed by islpy (turned into
isl.Error, which the search space reads as an illegal candidate), and tuning used to go on after Ctrl-C."""

import signal

import islpy as isl
import pytest

from polyopt.search.interrupt import graceful_interrupts, stop_point, stop_requested


def test_a_signal_that_arrives_inside_an_isl_callback_is_not_lost():
    seen = []

    def visit(point):
        seen.append(point)
        if len(seen) == 2:
            signal.raise_signal(signal.SIGINT)      # Ctrl-C while isl is calling back into Python

    with graceful_interrupts():
        isl.Set("{ [i] : 0 <= i < 5 }").foreach_point(visit)    # no isl.Error: the callback was not hit
        assert len(seen) == 5
        assert stop_requested()
        with pytest.raises(KeyboardInterrupt):
            stop_point()


def test_sigterm_requests_a_stop_too_and_a_second_signal_raises_at_once():
    with graceful_interrupts():
        stop_point()                                # nothing requested yet
        signal.raise_signal(signal.SIGTERM)
        assert stop_requested()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)


def test_the_previous_handlers_are_restored_and_each_block_starts_afresh():
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    with graceful_interrupts():
        signal.raise_signal(signal.SIGINT)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    with graceful_interrupts():
        assert not stop_requested()                 # a new tuning is not stopped by an old Ctrl-C
