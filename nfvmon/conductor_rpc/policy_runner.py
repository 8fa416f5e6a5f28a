"""Runs policy actions off the RPC threads, durably, one job at a time per VNF.

A job's life: recorded (a policy_jobs row, written with the failure that caused it) →
decided on a worker (the per-VNF respawn/heal cap and back-off, states.decide_heal; the
pending status) → run on a thread of its own, watched by a timer → ended (final status,
row deleted). Each step moves the row's deadline on, so should this conductor die at any
point, another conductor (or this one, restarted) finds the row past its deadline and
decides the job again (`recover`): no VNF stays pending for good.

Decisions take `workers` threads; plugins run each on a thread of their own, at most
`max_running` at once (plugin_threads.py). A hung VNF-manager call holds one of those slots
until `timeout`, never a worker, so it delays other VNFs' actions only once every slot hangs.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError

from nfvmon import status_machine as machine
from nfvmon import statuses
from nfvmon.conductor_rpc import states
from nfvmon.conductor_rpc.plugin_threads import PluginThreads
from nfvmon.conductor_rpc.policy_actions.base import PolicyAction, PolicyContext, PolicyResult
from nfvmon.conductor_rpc.vnf_managers.base import VnfManager
from nfvmon.db.api import VNF, Store
from nfvmon.db.models import utcnow
from nfvmon.db.policy_jobs import QUEUED, RUNNING, JobSpec
from nfvmon.db.status_writer import StatusWrite
from nfvmon.identifiers import address_problem

LOG = logging.getLogger(__name__)

#: Seconds before a job that met a database error is decided again.
DB_RETRY_DELAY = 2.0


@dataclass(frozen=True)
class PolicyJob:
    vnf_id: str
    vdu: str | None
    action_name: str
    action_id: str | None
    report: Mapping[str, Any] = field(default_factory=dict)

    def spec(self) -> JobSpec:
        return JobSpec(self.vnf_id, self.vdu, self.action_name, self.action_id,
                       dict(self.report))


@dataclass(frozen=True)
class _Run:
    """One plugin run of a job: what it acts from, and which attempt it is."""

    job: PolicyJob
    plugin: PolicyAction
    from_status: str
    attempt: int


class PolicyRunner:
    def __init__(self, store: Store, plugins: Mapping[str, PolicyAction], manager: VnfManager,
                 heal_policy: states.HealPolicy, *, workers: int, timeout: float,
                 control=None, on_outcome: Callable[[str, str], None] | None = None,
                 clock: Callable[[], datetime] = utcnow, owner: str = "conductor",
                 max_running: int = 64):
        self._store = store
        self._plugins = plugins
        self._manager = manager
        self._heal = heal_policy
        self._timeout = timeout
        self._control = control
        self._on_outcome = on_outcome or (lambda action, outcome: None)
        self._clock = clock
        self._owner = owner
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policy")
        self._threads = PluginThreads(max_running=max_running, timeout=timeout)
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._timers: dict[str, threading.Timer] = {}
        self._closed = False

    @property
    def plugins(self) -> Mapping[str, PolicyAction]:
        return self._plugins

    def fail(self, job: PolicyJob, reason: str, details: Mapping[str, Any]) -> StatusWrite:
        """A monitor's failure report: ACTIVE → DEAD and the job recorded together, then the
        job started. Nothing is started unless this call made the change."""
        written = self._store.jobs.fail_with_job(job.spec(), owner=self._owner,
                                                 deadline=self._deadline(), reason=reason,
                                                 details=details)
        if written.changed:
            self.submit(job)
        return written

    def submit(self, job: PolicyJob) -> bool:
        """Start `job` unless one already runs (or waits) for the VNF: then it is coalesced."""
        with self._lock:
            if self._closed or job.vnf_id in self._busy:
                self._on_outcome(job.action_name, "coalesced")
                return False
            self._busy.add(job.vnf_id)
        self._store.jobs.ensure(job.spec(), owner=self._owner, deadline=self._deadline())
        self._pool.submit(self._guarded, self._decide, job)
        return True

    def busy(self, vnf_id: str) -> bool:
        with self._lock:
            return vnf_id in self._busy

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs. Rows of jobs under way stay: whoever recovers next redoes them."""
        with self._lock:
            self._closed = True
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def recover(self, own: bool = False) -> list[str]:
        """Take over jobs whose owner is presumed dead (past their deadline; with `own`, also
        every job this owner left behind in an earlier life) and decide them again; put VNFs
        that are pending with nothing behind them into ERROR. The VNFs acted on."""
        now = self._clock()
        acted = []
        for row in self._store.jobs.expired(now, [self._owner] if own else None):
            if row.owner == self._owner and self.busy(row.vnf_id):
                continue  # ours and still under way here
            if not self._store.jobs.take_over(row, self._owner, self._deadline()):
                continue  # another conductor was quicker
            LOG.warning("VNF %s: taking over its %s job (owner %s, %s since %s)", row.vnf_id,
                        row.action_name, row.owner, row.state, row.started_at.isoformat())
            self.submit(PolicyJob(row.vnf_id, row.vdu, row.action_name, row.monitor_action_id,
                                  dict(row.report or {})))
            acted.append(row.vnf_id)
        for vnf in self._store.jobs.pending_without_job(now - timedelta(seconds=self._timeout)):
            written = self._store.write_status(
                VNF, vnf.id, machine.POLICY_ORPHANED, seen=vnf.status,
                reason=f"{vnf.status} for over {self._timeout:g} s with nothing under way to "
                       f"end it (its process ended); nfvmon vnf heal {vnf.id} --vdu VDU or "
                       f"nfvmon vnf clear-error {vnf.id} to go on")
            if written.changed:
                LOG.warning("VNF %s: %s with no job behind it: now ERROR", vnf.id, vnf.status)
                acted.append(vnf.id)
        return acted

    # --- deciding ------------------------------------------------------------------------

    def _guarded(self, step: Callable[[PolicyJob], bool], job: PolicyJob) -> None:
        release = True
        try:
            release = step(job)
        except DBAPIError as exc:
            # The database went away mid-job: nothing to blame the VNF for. Decide the job
            # again shortly (its row keeps it safe meanwhile, should this conductor die).
            LOG.warning("VNF %s: database error during %s (%s); deciding it again in %g s",
                        job.vnf_id, job.action_name, str(exc).splitlines()[0][:200],
                        DB_RETRY_DELAY)
            self._schedule(job, DB_RETRY_DELAY)
            release = False
        except Exception:  # noqa: BLE001 - the runner must survive anything a job does
            LOG.exception("policy action %s for VNF %s crashed", job.action_name, job.vnf_id)
            self._write(job, machine.POLICY_CRASHED, f"policy action {job.action_name} crashed")
            self._store.jobs.finish(job.vnf_id, self._owner)
        finally:
            if release:
                self._release(job)

    def _release(self, job: PolicyJob) -> None:
        with self._lock:
            self._busy.discard(job.vnf_id)

    def _decide(self, job: PolicyJob) -> bool:
        """Start the plugin, wait out a back-off, or end the job; False while it goes on."""
        vnf = self._store.get_vnf(job.vnf_id)
        plugin = self._plugins.get(job.action_name)
        pending = plugin.pending_status if plugin is not None else None
        if vnf is None or vnf.status not in machine.policy_acts_from(pending):
            self._store.jobs.finish(job.vnf_id, self._owner)  # recovered, cleared, gone
            return True
        if plugin is None or pending and pending not in machine.POLICY_PENDING_STATUSES:
            self._end(job, machine.POLICY_FAILED, vnf.status, "failed",
                      f"policy action {job.action_name!r} is not installed on conductor "
                      f"{self._owner}" if plugin is None else
                      f"policy action {job.action_name!r} declares pending status {pending}, "
                      f"not one of {', '.join(machine.POLICY_PENDING_STATUSES)}")
            return True
        attempt = 0
        if plugin.capped:
            decision = states.decide_heal(self._heal, vnf.heal_attempts, vnf.last_heal_at,
                                          self._clock())
            if decision.verdict == "give_up":
                self._give_up(job, decision.attempt, vnf.status)
                return True
            if decision.verdict == "wait":
                return self._wait(job, decision.delay)
            attempt = decision.attempt
            self._store.record_heal_attempt(job.vnf_id, attempt, self._clock())
        if pending and vnf.status != pending:
            if not self._write(job, machine.policy_started(pending),
                               f"{job.action_name} of VDU {job.vdu} started"):
                self._store.jobs.finish(job.vnf_id, self._owner)
                return True
        if not self._store.jobs.set_state(job.vnf_id, self._owner, state=RUNNING,
                                          deadline=self._deadline(), attempt=attempt):
            return True  # taken over meanwhile: the new owner decides
        self._launch(_Run(job, plugin, pending or statuses.DEAD, attempt),
                     PolicyContext(job.vnf_id, job.vdu, vnf.mgmt_ips, dict(job.report),
                                   self._manager))
        return False

    def _wait(self, job: PolicyJob, delay: float) -> bool:
        self._store.jobs.set_state(job.vnf_id, self._owner, state=QUEUED,
                                   deadline=self._deadline(delay))
        self._schedule(job, delay)
        return False

    def _schedule(self, job: PolicyJob, delay: float) -> None:
        def fire():
            with self._lock:
                self._timers.pop(job.vnf_id, None)
                if self._closed:
                    self._busy.discard(job.vnf_id)
                    return
            self._pool.submit(self._guarded, self._decide, job)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._lock:
            self._timers[job.vnf_id] = timer
        timer.start()

    # --- running -------------------------------------------------------------------------

    def _launch(self, run: _Run, context: PolicyContext) -> None:
        self._threads.start(run.plugin, context, functools.partial(self._ended, run))

    def _ended(self, run: _Run, outcome: str, result: PolicyResult | None, error: str) -> None:
        """The plugin returned, raised, or its timer gave up on it."""
        if self._closed:
            LOG.info("VNF %s: %s ended (%s) after this conductor stopped; its job is left "
                     "to whoever recovers it", run.job.vnf_id, run.job.action_name, outcome)
            return
        self._guarded(functools.partial(self._conclude, run, outcome, result, error), run.job)

    def _conclude(self, run: _Run, outcome: str, result: PolicyResult | None, error: str,
                  job: PolicyJob) -> bool:
        if outcome == "ok":  # plugin_threads' outcome: the plugin returned (not a wire answer)
            problem = self._check_result(job, result)
            if problem:
                outcome, error = "failed", problem
        if outcome == "ok":
            self._apply(job, result, run.from_status)
            self._store.jobs.finish(job.vnf_id, self._owner)
        elif outcome == "timeout":
            self._end(job, machine.POLICY_TIMED_OUT, run.from_status, outcome,
                      f"policy action {job.action_name} did not finish in {self._timeout:g} s")
            return True
        elif run.plugin.capped and run.attempt < self._heal.max_attempts:
            self._write(job, machine.POLICY_ATTEMPT_FAILED, f"{job.action_name} attempt "
                        f"{run.attempt} failed: {error}", seen=run.from_status)
            self._on_outcome(job.action_name, outcome)
            return self._decide(job)
        elif run.plugin.capped:
            self._give_up(job, run.attempt, run.from_status, error)
            return True
        else:
            self._end(job, machine.POLICY_FAILED, run.from_status, outcome,
                      f"{job.action_name} failed: {error}")
            return True
        self._on_outcome(job.action_name, outcome)
        return True

    def _check_result(self, job: PolicyJob, result: Any) -> str:
        """Why a plugin's answer must not be applied ('' when it may)."""
        if not isinstance(result, PolicyResult):
            return f"{job.action_name} returned {type(result).__name__}, not a PolicyResult"
        if result.status not in machine.POLICY_RESULT_EVENTS:
            return (f"{job.action_name} returned status {str(result.status)[:40]!r}, not one "
                    f"of {', '.join(machine.POLICY_RESULT_EVENTS)}")
        if not result.mgmt_ips:
            return ""
        vnf = self._store.get_vnf(job.vnf_id)
        return address_problem(result.mgmt_ips, vnf.mgmt_ips if vnf else (), job.vnf_id)

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
        self._write(job, machine.POLICY_RESULT_EVENTS[result.status], result.reason,
                    seen=from_status,
                    details={"mgmt_ips": result.mgmt_ips} if result.mgmt_ips else None)

    def _give_up(self, job: PolicyJob, attempts: int, seen: str, last_error: str = "") -> None:
        last = f" (last: {last_error})" if last_error else ""
        self._end(job, machine.POLICY_GAVE_UP, seen, "gave_up",
                  f"{job.action_name} gave up after {attempts} attempts{last}; clear the "
                  f"error (nfvmon vnf clear-error {job.vnf_id}) to try again")

    def _end(self, job: PolicyJob, event: str, seen: str, outcome: str, reason: str) -> None:
        self._write(job, event, reason, seen=seen)
        self._store.jobs.finish(job.vnf_id, self._owner)
        self._on_outcome(job.action_name, outcome)

    def _write(self, job: PolicyJob, event: str, reason: str, *, seen: str | None = None,
               details: Mapping[str, Any] | None = None) -> bool:
        """Apply the policy `event` (only from `seen`, the status the job acts from)."""
        written = self._store.write_status(VNF, job.vnf_id, event, seen=seen, reason=reason,
                                           details={"action": job.action_name, "vdu": job.vdu,
                                                    **(details or {})})
        return written.changed

    def _deadline(self, after: float = 0.0) -> datetime:
        return machine.job_deadline(self._clock(), self._timeout, after)

    def update_monitor(self, action_id: str, parameter: Mapping[str, Any]) -> None:
        """Send a running monitor its VNF's addresses (`update`); a lost cast is logged."""
        self._cast("update", action_id, parameter)

    def _cast(self, method: str, action_id: str | None,
              parameter: Mapping[str, Any] | None = None):
        if self._control is None or not action_id:
            return
        try:
            if method == "kill":
                self._control.kill({}, action_id)
            else:
                self._control.update({}, action_id, parameter or {})
        except Exception:  # noqa: BLE001 - the check-in backstops a lost cast
            LOG.exception("could not send %s to monitor action %s", method, action_id)

