"""The conductor's reconciler: monitoring converges again after any crash.

Every `[conductor] reconcile_interval` seconds: a monitor whose action has not checked in for
`checkin_missed_limit` check-in intervals (its executor died, the action crashed, Mistral
failed it) is re-created with a new action_id; executions of nfvmon workflows that Mistral
put in ERROR are deleted. Several conductors may run it at once: replacing an action is one
conditional UPDATE, so exactly one of them re-creates a given monitor. After a conductor
restart this is also how everything converges: the state is all in the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from nfvmon.db.api import EXTERNAL, NFVMON
from nfvmon.db.models import utcnow
from nfvmon.errors import UndeployableState
from nfvmon.status_machine import MONITOR_UNRECREATABLE

LOG = logging.getLogger(__name__)


def mark_lost_monitors(store, grace: timedelta, now: datetime | None = None) -> list[tuple]:
    """External monitors (the operator's deployments) silent for `grace`: never re-created,
    only marked lost once each (an event, and the nfvmon_monitors_lost metric), so the
    operator is told. Runs in every conductor, Mistral configured or not."""
    now = now or utcnow()
    marked = []
    for monitor in store.stale_monitors(now - grace, deployment=EXTERNAL):
        seen = monitor.last_checkin_at or monitor.started_at
        reason = (f"no check-in since {seen.isoformat(timespec='seconds')}: its Mistral "
                  f"execution is not running (never started, executor died, or ended); "
                  f"deploy the workflow again (nfvmon {monitor.resource_type} workflow "
                  f"{monitor.resource_id}) with mistral execution-create")
        if store.mark_lost(monitor, reason, now):
            LOG.warning("%s %s: its externally deployed monitor is lost: %s",
                        monitor.resource_type, monitor.resource_id, reason)
            marked.append((monitor.resource_type, monitor.resource_id))
    return marked


class Reconciler:
    def __init__(self, lifecycle, *, checkin_interval: float, missed_limit: int,
                 interval: float, workers: int = 1, settled: Callable[[], bool] | None = None):
        self.lifecycle = lifecycle
        self.grace = timedelta(seconds=checkin_interval * missed_limit)
        self.interval = interval
        #: Monitors re-created at once: each is a few Mistral calls, mostly waiting.
        self.workers = workers
        #: Whether silence may be judged now (BrokerWatch.settled); None: always.
        self._settled = settled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Re-create stale monitors and clean failed executions; what was re-created."""
        if self._settled is not None and not self._settled():
            return []
        stale = self.lifecycle.store.stale_monitors((now or utcnow()) - self.grace)
        with ThreadPoolExecutor(max_workers=self.workers,
                                thread_name_prefix="reconcile") as pool:
            recreated = [key for key in pool.map(self._recreate, stale) if key is not None]
        self._clean_failed_executions()
        return recreated

    def _recreate(self, monitor) -> tuple[str, str] | None:
        key = (monitor.resource_type, monitor.resource_id)
        try:
            self.lifecycle.redeploy(*key, expected_action=monitor.action_id)
        except UndeployableState as exc:
            # Retrying cannot help: say so on the resource, once (ERROR is then unchanged).
            written = self.lifecycle.store.write_status(
                *key, MONITOR_UNRECREATABLE,
                reason=f"its monitor stopped and cannot be re-created: {exc}")
            if written.changed:
                LOG.error("%s %s: %s", *key, exc)
            return None
        except Exception as exc:  # noqa: BLE001 - next round tries again; one bad
            LOG.warning("re-creating the monitor of %s %s failed: %s", *key, exc)
            return None
        LOG.warning("%s %s: its monitor stopped checking in; re-created", *key)
        return key

    def _clean_failed_executions(self) -> None:
        """Delete executions in ERROR of the workflows nfvmon deploys itself. Not an
        operator's (external) nor one of a resource nfvmon does not know: those failed
        with a line saying why (a refusal), which is theirs to read."""
        backend = self.lifecycle.backend
        if not hasattr(backend, "failed_executions"):
            return
        try:
            ours = self.lifecycle.store.workflow_names(NFVMON)
            for execution_id in backend.failed_executions(ours):
                backend.remove_execution(execution_id)
                LOG.info("deleted failed Mistral execution %s", execution_id)
        except Exception as exc:  # noqa: BLE001 - Mistral down: next round
            LOG.warning("cleaning failed executions: %s", exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the loop must go on
                LOG.exception("reconcile round failed")
