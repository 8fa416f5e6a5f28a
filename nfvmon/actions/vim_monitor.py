"""A VIM's monitor: ICMP rounds to its endpoint; each status change goes to update_vim."""

from __future__ import annotations

import logging

from nfvmon.actions import tracking
from nfvmon.actions.monitor import Monitor
from nfvmon.actions.rounds import icmp_rounds
from nfvmon.actions.runtime import Engine

LOG = logging.getLogger(__name__)


class VimMonitor(Monitor):
    kind = "VIM"
    resource_type = "vim"

    def __init__(self, engine: Engine, vim_id: str, target: str, count: int, timeout: float,
                 interval: float, action_id: str):
        super().__init__(engine, action_id)
        self.vim_id, self.target = vim_id, target
        self.count, self.timeout, self.interval = count, timeout, interval
        self.tracker = tracking.VimTracker()

    def identity(self):
        return {"vim_id": self.vim_id}

    def resource_id(self) -> str:
        return self.vim_id

    def start_probing(self):
        self.spawn(self._probe_loop())

    async def _probe_loop(self) -> None:
        def observe(alive: bool) -> None:
            status = self.tracker.observe(alive)
            if status is not None:
                LOG.info("VIM %s (%s) is %s", self.vim_id, self.target, status)
                self.reporter.report("vim", status)

        await icmp_rounds(self.engine.icmp).follow(self.target, self.count, self.timeout,
                                                   self.interval, observe)

    def send(self, status: str) -> str:
        return self._api.update_vim({}, self.vim_id, status, self.action_id)

    def resync(self) -> None:
        if self.tracker.status != tracking.PENDING:
            self.reporter.report("vim", self.tracker.status)
