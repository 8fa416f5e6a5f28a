"""Runs policy actions off the RPC threads: a bounded pool, one action at a time per VNF.

Respawn and heal count against a per-VNF cap with exponential back-off (states.decide_heal);
past the cap the VNF goes to ERROR until an operator clears it. A plugin that raises is a
failed attempt; one that hangs past the timeout is abandoned and the VNF goes to ERROR, so
one slow plugin never stalls monitoring (the reference implementation's bug 5).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nfvmon.conductor_rpc import states
from nfvmon.conductor_rpc.policy_actions.base import PolicyAction, PolicyContext, PolicyResult
from nfvmon.conductor_rpc.vnf_managers.base import VnfManager
from nfvmon.db.api import VNF, Store
from nfvmon.db.models import utcnow

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyJob:
    vnf_id: str
    vdu: str | None
    action_name: str
    action_id: str
    report: Mapping[str, Any] = field(default_factory=dict)


class PolicyRunner:
    def __init__(self, store: Store, plugins: Mapping[str, PolicyAction], manager: VnfManager,
                 heal_policy: states.HealPolicy, *, workers: int, timeout: float,
                 control=None, on_outcome: Callable[[str, str], None] | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self._store = store
        self._plugins = plugins
        self._manager = manager
        self._heal = heal_policy
        self._timeout = timeout
        self._control = control
        self._on_outcome = on_outcome or (lambda action, outcome: None)
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policy")
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._timers: dict[str, threading.Timer] = {}
        self._closed = False

    @property
    def plugins(self) -> Mapping[str, PolicyAction]:
        return self._plugins

    def submit(self, job: PolicyJob) -> bool:
        """Start `job` unless one already runs (or waits) for the VNF: then it is coalesced."""
        with self._lock:
            if self._closed or job.vnf_id in self._busy:
                self._on_outcome(job.action_name, "coalesced")
                return False
            self._busy.add(job.vnf_id)
        self._pool.submit(self._run_guarded, job)
        return True

    def busy(self, vnf_id: str) -> bool:
        with self._lock:
            return vnf_id in self._busy

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    # --- one job -------------------------------------------------------------------------

    def _run_guarded(self, job: PolicyJob) -> None:
        release = True
        try:
            release = self._run(job)
        except Exception:  # noqa: BLE001 - the runner must survive anything a job does
            LOG.exception("policy action %s for VNF %s crashed", job.action_name, job.vnf_id)
            self._write(job, states.ERROR, f"policy action {job.action_name} crashed",
                        allowed_from=None)
        finally:
            if release:
                with self._lock:
                    self._busy.discard(job.vnf_id)

    def _run(self, job: PolicyJob) -> bool:
        """Run the job; False when it was rescheduled (the VNF stays busy)."""
        plugin = self._plugins[job.action_name]
        vnf = self._store.get_vnf(job.vnf_id)
        if vnf is None:
            return True
        attempt = 0
        if plugin.capped:
            decision = states.decide_heal(self._heal, vnf.heal_attempts, vnf.last_heal_at,
                                          self._clock())
            if decision.verdict == "give_up":
                self._give_up(job, decision.attempt)
                return True
            if decision.verdict == "wait":
                self._schedule(job, decision.delay)
                return False
            attempt = decision.attempt
            self._store.record_heal_attempt(job.vnf_id, attempt, self._clock())
        from_status = states.DEAD
        if plugin.pending_status:
            written = self._write(job, plugin.pending_status,
                                  f"{job.action_name} of VDU {job.vdu} started",
                                  allowed_from=(states.DEAD,))
            if not written:
                return True  # cleared, deleted or changed meanwhile: nothing to do
            from_status = plugin.pending_status
        context = PolicyContext(job.vnf_id, job.vdu, vnf.mgmt_ips,
                                dict(job.report), self._manager)
        outcome, result, error = self._execute(plugin, context)
        if outcome == "ok":
            self._apply(job, result, from_status)
        elif outcome == "timeout":
            self._write(job, states.ERROR, f"policy action {job.action_name} did not finish "
                        f"in {self._timeout:g} s", allowed_from=(from_status,))
        elif plugin.capped and attempt < self._heal.max_attempts:
            self._write(job, states.DEAD, f"{job.action_name} attempt {attempt} failed: "
                        f"{error}", allowed_from=(from_status,))
            self._on_outcome(job.action_name, outcome)
            return self._run_again_later(job)
        elif plugin.capped:
            self._give_up(job, attempt, error)
            return True
        else:
            self._write(job, states.ERROR, f"{job.action_name} failed: {error}",
                        allowed_from=(from_status,))
        self._on_outcome(job.action_name, outcome)
        return True

    def _execute(self, plugin: PolicyAction, context: PolicyContext
                 ) -> tuple[str, PolicyResult | None, str]:
        """Run the plugin on its own thread; ('ok'|'failed'|'timeout', result, error)."""
        box: dict[str, Any] = {}

        def target():
            try:
                box["result"] = plugin.execute(context)
            except Exception as exc:  # noqa: BLE001 - a plugin's failure is data here
                box["error"] = f"{type(exc).__name__}: {exc}"

        thread = threading.Thread(target=target, name=f"policy-{context.vnf_id}", daemon=True)
        thread.start()
        thread.join(self._timeout)
        if thread.is_alive():
            return "timeout", None, ""
        if "error" in box:
            return "failed", None, box["error"]
        return "ok", box["result"], ""

    def _apply(self, job: PolicyJob, result: PolicyResult, from_status: str) -> None:
        if result.mgmt_ips:
            self._store.set_vdu_ips(job.vnf_id, result.mgmt_ips)
        vnf = self._store.get_vnf(job.vnf_id)
        if result.stop_monitor:
            self._store.set_action(VNF, job.vnf_id, None)
            self._cast("kill", job.action_id)
        elif result.mgmt_ips and vnf is not None:
            self._cast("update", job.action_id,
                       {"mgmt_ips": vnf.mgmt_ips,
                        "renewed": [job.vdu] if job.vdu else []})
        self._write(job, result.status, result.reason, allowed_from=(from_status,),
                    details={"mgmt_ips": result.mgmt_ips} if result.mgmt_ips else None)

    def _give_up(self, job: PolicyJob, attempts: int, last_error: str = "") -> None:
        last = f" (last: {last_error})" if last_error else ""
        self._write(job, states.ERROR,
                    f"{job.action_name} gave up after {attempts} attempts{last}; clear the "
                    f"error (nfvmon vnf clear-error {job.vnf_id}) to try again",
                    allowed_from=(states.DEAD, states.PENDING_HEAL))
        self._on_outcome(job.action_name, "gave_up")

    def _run_again_later(self, job: PolicyJob) -> bool:
        vnf = self._store.get_vnf(job.vnf_id)
        decision = states.decide_heal(self._heal, vnf.heal_attempts if vnf else 0,
                                      vnf.last_heal_at if vnf else None, self._clock())
        if decision.verdict == "give_up":
            self._give_up(job, decision.attempt)
            return True
        self._schedule(job, decision.delay)
        return False

    def _schedule(self, job: PolicyJob, delay: float) -> None:
        def fire():
            with self._lock:
                self._timers.pop(job.vnf_id, None)
                if self._closed:
                    self._busy.discard(job.vnf_id)
                    return
            self._pool.submit(self._run_guarded, job)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._lock:
            self._timers[job.vnf_id] = timer
        timer.start()

    def _write(self, job: PolicyJob, status: str, reason: str, *, allowed_from,
               details: Mapping[str, Any] | None = None) -> bool:
        written = self._store.write_status(VNF, job.vnf_id, status, action_id=None,
                                           allowed_from=allowed_from, reason=reason,
                                           event_type="POLICY",
                                           details={"action": job.action_name, "vdu": job.vdu,
                                                    **(details or {})})
        return written.outcome == "changed"

    def update_monitor(self, action_id: str, parameter: Mapping[str, Any]) -> None:
        """Send a running monitor its VNF's addresses (`update`); a lost cast is logged."""
        self._cast("update", action_id, parameter)

    def _cast(self, method: str, action_id: str, parameter: Mapping[str, Any] | None = None):
        if self._control is None:
            return
        try:
            if method == "kill":
                self._control.kill({}, action_id)
            else:
                self._control.update({}, action_id, parameter or {})
        except Exception:  # noqa: BLE001 - the check-in backstops a lost cast
            LOG.exception("could not send %s to monitor action %s", method, action_id)
