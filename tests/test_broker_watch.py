"""A conductor judges monitors by their silence only while its broker carries check-ins."""

from __future__ import annotations

from nfvmon.conductor_rpc.broker_watch import BrokerWatch


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_silence_is_judged_only_a_grace_period_after_the_broker_answers():
    clock, up = Clock(), [True]
    watch = BrokerWatch(lambda: up[0], grace=15, clock=clock)
    assert not watch.settled()  # just started: monitors may not have got through yet
    clock.now += 14
    assert not watch.settled()
    clock.now += 1
    assert watch.settled()
    up[0] = False  # a broker outage
    clock.now += 5
    assert not watch.settled()
    up[0] = True  # back: check-ins sent into the outage are still on their way
    clock.now += 13
    assert not watch.settled()
    clock.now += 15
    assert watch.settled()


def test_a_probe_that_raises_is_an_unreachable_broker():
    def probe():
        raise TimeoutError("no answer")

    clock = Clock()
    watch = BrokerWatch(probe, grace=0, clock=clock)
    assert not watch.settled()
