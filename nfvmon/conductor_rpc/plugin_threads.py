"""Runs one policy-action plugin on a thread of its own, watched by a timer.

Each run ends exactly once: when its plugin returns or raises, or when its timer gives up
on it (the plugin's thread is then abandoned, not killed: Python cannot). At most
`max_running` plugins run at once; a hung one holds its slot until its timer fires.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from nfvmon.conductor_rpc.policy_actions.base import PolicyAction, PolicyContext

#: (outcome: ok | failed | timeout, the plugin's result or None, the error text or '')
Settled = Callable[[str, Any, str], None]


class PluginThreads:
    def __init__(self, *, max_running: int, timeout: float):
        self._slots = threading.BoundedSemaphore(max_running)
        self._timeout = timeout

    def start(self, plugin: PolicyAction, context: PolicyContext, on_end: Settled) -> None:
        """Run `plugin.execute(context)`; `on_end` is called once, on the plugin's thread or
        the timer's. Waits for a free slot first."""
        self._slots.acquire()
        lock = threading.Lock()
        ended = False

        def settle(outcome: str, result: Any, error: str) -> None:
            nonlocal ended
            with lock:
                if ended:
                    return
                ended = True
            timer.cancel()
            self._slots.release()
            on_end(outcome, result, error)

        def body() -> None:
            try:
                result = plugin.execute(context)
            except Exception as exc:  # noqa: BLE001 - a plugin's failure is data here
                settle("failed", None, f"{type(exc).__name__}: {exc}")
            else:
                settle("ok", result, "")

        timer = threading.Timer(self._timeout, settle, ("timeout", None, ""))
        timer.daemon = True
        timer.start()
        threading.Thread(target=body, name=f"policy-{context.vnf_id}", daemon=True).start()
