"""app.core.latency: the shorter switch interval is held while a block runs, shared by nested
holders, and the interval found is put back by the last one out."""

from __future__ import annotations

import sys

from app.core.latency import SWITCH_INTERVAL_S, shorter_switch_interval


def test_the_interval_is_held_and_given_back() -> None:
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        with shorter_switch_interval():
            assert abs(sys.getswitchinterval() - SWITCH_INTERVAL_S) < 1e-9
            with shorter_switch_interval():  # a second run at the same time
                assert abs(sys.getswitchinterval() - SWITCH_INTERVAL_S) < 1e-9
            assert abs(sys.getswitchinterval() - SWITCH_INTERVAL_S) < 1e-9  # the first still runs
        assert sys.getswitchinterval() == 0.005
    finally:
        sys.setswitchinterval(before)
