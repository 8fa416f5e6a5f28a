"""The conductor's RPC endpoint, version 1.1: what monitor actions call.

Each method checks every argument (rpc_args), lets one conditional UPDATE decide whether the
caller may write (nfvmon.db.api.Store.write_status), and answers with the stored status,
`bad_action` (the caller must exit), or `error: ...` (at most 200 characters, one WARNING
line in the log) for malformed calls. An action told `bad_action` asks `refusal` (1.1) once,
for the line its Mistral execution ends with (refusals.py). Nothing here raises into
oslo.messaging, and nothing slow runs here: policy actions go to the PolicyRunner.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from typing import Any

import oslo_messaging as messaging

from nfvmon import protocol, status_machine, statuses
from nfvmon.conductor_rpc import refusals, rpc_args
from nfvmon.conductor_rpc.metrics import Metrics
from nfvmon.conductor_rpc.policy_runner import PolicyJob, PolicyRunner
from nfvmon.conductor_rpc.rpc_args import BadRequest
from nfvmon.db.api import EXTERNAL, VIM, VNF, Store

LOG = logging.getLogger(__name__)

__all__ = ["BadRequest", "ConductorEndpoint"]

#: A VIM monitor reports a status; the status machine moves it by this event.
_VIM_REPORTS = {
    status_machine.transition(VIM, event).to: event
    for event in (status_machine.MONITOR_REACHABLE, status_machine.MONITOR_UNREACHABLE)}


def _rpc(method):
    """Time the call, turn BadRequest (and any bug) into an `error: ...` answer.

    The one place a refusal is logged: one WARNING line, as short as the answer."""
    @functools.wraps(method)
    def wrapper(self, ctxt, **kwargs):
        started = time.perf_counter()
        try:
            return method(self, ctxt, **kwargs)
        except BadRequest as exc:
            reason = rpc_args.bounded(str(exc), rpc_args.MAX_ERROR - len(protocol.ERROR_PREFIX))
            LOG.warning("%s rejected: %s", method.__name__, reason)
            return protocol.ERROR_PREFIX + reason
        except Exception:  # noqa: BLE001 - one bad call must not take the server down
            LOG.exception("%s failed", method.__name__)
            return protocol.INTERNAL_ERROR + f" in {method.__name__}"
        finally:
            self._metrics.rpc_seconds.labels(method.__name__).observe(
                time.perf_counter() - started)
    return wrapper


class ConductorEndpoint:
    target = messaging.Target(version=protocol.CONDUCTOR_VERSION)

    def __init__(self, store: Store, runner: PolicyRunner, metrics: Metrics):
        self._store = store
        self._runner = runner
        self._metrics = metrics

    @_rpc
    def update_vim(self, ctxt, vim_id=None, status=None, action_id=None):
        vim_id = rpc_args.resource_id("vim_id", vim_id)
        action_id = rpc_args.resource_id("action_id", action_id)
        status = rpc_args.choice("VIM status", status, tuple(_VIM_REPORTS))
        event = _VIM_REPORTS[status]
        written = self._store.write_status(VIM, vim_id, event, action_id=action_id,
                                           reason="reported by its monitor")
        return self._answer(VIM, written)

    @_rpc
    def execute_policy_action(self, ctxt, vnf=None, monitor_return_value=None,
                              policy_actions=None, action_id=None):
        vnf_id = rpc_args.vnf_id(vnf)
        report = rpc_args.report(monitor_return_value)
        actions = rpc_args.policy_actions(policy_actions)
        action_id = rpc_args.resource_id("action_id", action_id)
        action_name = None
        if report.event == statuses.FAILURE:
            action_name = actions.get(statuses.FAILURE)
            if action_name not in self._runner_plugins():
                raise BadRequest(f"unknown policy action {rpc_args.shown(action_name)} "
                                 f"(installed: {', '.join(sorted(self._runner_plugins()))})")
        vnf_row = self._store.get_vnf(vnf_id)
        if vnf_row is None:
            return protocol.BAD_ACTION  # deleted: its monitor must end
        addresses = vnf_row.mgmt_ips
        if report.vdu not in addresses:
            if not self._is_current(vnf_id, action_id):
                return protocol.BAD_ACTION
            raise BadRequest(f"unknown VDU {report.vdu!r} of VNF {vnf_id} (its VDUs: "
                             f"{', '.join(sorted(addresses)) or 'none'})")
        if report.target not in addresses[report.vdu]:
            return self._moved_target(vnf_row, report, action_id)
        if report.event == statuses.RECOVERY:
            written = self._store.write_status(
                VNF, vnf_id, status_machine.RECOVERY, action_id=action_id,
                reason=f"VDU {report.vdu} answers again", details={"report": report.stored()})
            return self._answer(VNF, written)
        # ACTIVE → DEAD and the policy job in one transaction: a conductor that dies right
        # after leaves a job that another one takes over, never a DEAD VNF with no action.
        written = self._runner.fail(
            PolicyJob(vnf_id, report.vdu, action_name, action_id, report.stored()),
            reason=f"VDU {report.vdu} ({report.target}) failed its liveness check",
            details={"report": report.stored(), "action": action_name})
        return self._answer(VNF, written)

    @_rpc
    def check_in(self, ctxt, action_id=None, digest=None):
        action_id = rpc_args.resource_id("action_id", action_id)
        digest = rpc_args.short_string("digest", digest, rpc_args.MAX_DIGEST)
        found = self._store.check_in(action_id)
        if found is None:
            return protocol.BAD_ACTION
        if digest != protocol.state_digest({"status": found.status}):
            return protocol.RESYNC
        return protocol.OK

    @_rpc
    def refusal(self, ctxt, action_id=None, resource_type=None, resource_id=None):
        """(1.1) Why `action_id`, monitoring that resource, gets `bad_action`: one line
        naming the resource and what to do (read-only)."""
        action_id = rpc_args.resource_id("action_id", action_id)
        resource_type = rpc_args.choice("resource_type", resource_type, (VIM, VNF))
        resource_id = rpc_args.resource_id("resource_id", resource_id)
        facts = self._refusal_facts(resource_type, resource_id)
        line = refusals.message(resource_type, resource_id, action_id, facts)
        LOG.info("action %s refused: %s", action_id, line)
        return rpc_args.bounded(line, protocol.MAX_REFUSAL)

    def _refusal_facts(self, resource_type: str, resource_id: str) -> refusals.Facts:
        get = self._store.get_vim if resource_type == VIM else self._store.get_vnf
        if get(resource_id) is None:
            history = self._store.events(resource_type, resource_id)
            return refusals.Facts(exists=False, removed=bool(history) and
                                  history[-1].event_type == "DELETE")
        monitor = self._store.get_monitor(resource_type, resource_id)
        if monitor is None:
            return refusals.Facts(exists=True)
        return refusals.Facts(exists=True, current_action=monitor.action_id,
                              external=monitor.deployment == EXTERNAL)

    def _is_current(self, vnf_id: str, action_id: str) -> bool:
        monitor = self._store.get_monitor(VNF, vnf_id)
        return monitor is not None and monitor.action_id == action_id

    def _moved_target(self, vnf, report: rpc_args.Report, action_id: str) -> str:
        """The answer to a report on an address its VDU no longer has.

        Such a report comes from a monitor that missed the `update` moving the VDU (a lost
        cast), re-sent at its check-in's resync. Acting on a failure would respawn a VDU that
        was respawned already, again at every check-in (and a recovery of the old address
        says nothing of the VDU); instead the monitor gets the update again and the VNF's
        current status, which ends its resync."""
        if not self._is_current(vnf.id, action_id):
            return protocol.BAD_ACTION
        addresses = vnf.mgmt_ips
        LOG.info("VNF %s: %s of %s, no longer an address of VDU %s (now %s): the monitor "
                 "gets its update again", vnf.id, report.event, report.target, report.vdu,
                 ", ".join(addresses[report.vdu]) or "none")
        self._runner.update_monitor(action_id, {"mgmt_ips": addresses, "renewed": []})
        return vnf.status

    def _runner_plugins(self) -> Mapping[str, Any]:
        return self._runner.plugins

    def _answer(self, resource: str, written) -> str:
        if written.refused:
            return protocol.BAD_ACTION
        if written.changed:
            self._metrics.transitions.labels(resource, written.status).inc()
        return written.status
