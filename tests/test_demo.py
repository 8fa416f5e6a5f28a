"""`nfvmon demo`: the whole loop in one process, with no broker and no Mistral."""

from __future__ import annotations

import io

from nfvmon.demo import run_demo


def test_demo_shows_the_vim_reachable_and_the_vnf_failing_and_respawned(global_conf):
    out = io.StringIO()
    assert run_demo(duration=12, fail_after=3, out=out) == 0, out.getvalue()
    text = out.getvalue()
    assert "REACHABLE" in text
    assert "DEAD" in text and "PENDING_HEAL" in text and "respawn of VDU VDU1 done" in text
    assert "127.0.0.3" in text  # the respawned VNF's new address is what is monitored
    # ... and only it: the monitor got the conductor's `update` (over fake://, not a broker),
    # so the old address is not reported again at a check-in and nothing is respawned twice.
    assert text.count("respawn of VDU VDU1 done") == 1 and "127.0.0.4" not in text, text
    assert "the whole loop ran" in text
