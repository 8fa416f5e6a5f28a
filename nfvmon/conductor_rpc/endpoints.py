"""The conductor's RPC endpoint, version 1.0: what monitor actions call.

Each method checks its arguments, lets one conditional UPDATE decide whether the caller may
write (nfvmon.db.api.Store.write_status), and answers with the stored status, `bad_action`
(the caller must exit), or `error: ...` for malformed calls. Nothing here raises into
oslo.messaging, and nothing slow runs here: policy actions go to the PolicyRunner.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from typing import Any

import oslo_messaging as messaging

from nfvmon.conductor_rpc import client, states
from nfvmon.conductor_rpc.metrics import Metrics
from nfvmon.conductor_rpc.policy_runner import PolicyJob, PolicyRunner
from nfvmon.db.api import VIM, VNF, Store

LOG = logging.getLogger(__name__)


class BadRequest(Exception):
    """A malformed call; its message goes back to the caller as `error: ...`."""


def _rpc(method):
    """Time the call, turn BadRequest (and any bug) into an `error: ...` answer."""
    @functools.wraps(method)
    def wrapper(self, ctxt, **kwargs):
        started = time.perf_counter()
        try:
            return method(self, ctxt, **kwargs)
        except BadRequest as exc:
            LOG.warning("%s rejected: %s", method.__name__, exc)
            return client.ERROR_PREFIX + str(exc)
        except Exception:  # noqa: BLE001 - one bad call must not take the server down
            LOG.exception("%s failed", method.__name__)
            return client.ERROR_PREFIX + f"internal error in {method.__name__}"
        finally:
            self._metrics.rpc_seconds.labels(method.__name__).observe(
                time.perf_counter() - started)
    return wrapper


def _require_str(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise BadRequest(f"{name} must be a non-empty string")
    return value


def _require_mapping(name: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise BadRequest(f"{name} must be a mapping")
    return value


class ConductorEndpoint:
    target = messaging.Target(version=client.VERSION)

    def __init__(self, store: Store, runner: PolicyRunner, metrics: Metrics):
        self._store = store
        self._runner = runner
        self._metrics = metrics

    @_rpc
    def update_vim(self, ctxt, vim_id=None, status=None, action_id=None):
        vim_id = _require_str("vim_id", vim_id)
        action_id = _require_str("action_id", action_id)
        if status not in states.VIM_MONITOR_STATUSES:
            raise BadRequest(f"unknown VIM status {status!r} (expected "
                             f"{' or '.join(states.VIM_MONITOR_STATUSES)})")
        written = self._store.write_status(VIM, vim_id, status, action_id=action_id,
                                           reason="reported by its monitor")
        return self._answer(VIM, written)

    @_rpc
    def execute_policy_action(self, ctxt, vnf=None, monitor_return_value=None,
                              policy_actions=None, action_id=None):
        vnf_id = _require_str("vnf.id", vnf.get("id") if isinstance(vnf, Mapping) else vnf)
        report = _require_mapping("monitor_return_value", monitor_return_value)
        actions = _require_mapping("policy_actions", policy_actions)
        action_id = _require_str("action_id", action_id)
        event = report.get("event")
        if event not in states.MONITOR_EVENTS:
            raise BadRequest(f"unknown event {event!r} (expected "
                             f"{' or '.join(states.MONITOR_EVENTS)})")
        vdu = report.get("vdu")
        if event == states.RECOVERY:
            written = self._store.write_status(
                VNF, vnf_id, states.ACTIVE, action_id=action_id,
                allowed_from=states.RECOVERY_ALLOWED_FROM,
                reason=f"VDU {vdu} answers again", details={"report": dict(report)})
            return self._answer(VNF, written)
        action_name = actions.get(event)
        if action_name not in self._runner_plugins():
            raise BadRequest(f"unknown policy action {action_name!r} (installed: "
                             f"{', '.join(sorted(self._runner_plugins()))})")
        moved = self._moved_target(vnf_id, vdu, report.get("target"), action_id)
        if moved is not None:
            return moved
        written = self._store.write_status(
            VNF, vnf_id, states.DEAD, action_id=action_id,
            allowed_from=states.DEAD_ALLOWED_FROM,
            reason=f"VDU {vdu} ({report.get('target')}) failed its liveness check",
            details={"report": dict(report), "action": action_name})
        if written.outcome == "changed":
            self._runner.submit(PolicyJob(vnf_id, vdu, action_name, action_id, dict(report)))
        return self._answer(VNF, written)

    @_rpc
    def check_in(self, ctxt, action_id=None, digest=None):
        action_id = _require_str("action_id", action_id)
        digest = _require_str("digest", digest)
        found = self._store.check_in(action_id)
        if found is None:
            return client.BAD_ACTION
        if digest != client.state_digest({"status": found.status}):
            return client.RESYNC
        return client.OK

    def _moved_target(self, vnf_id: str, vdu: Any, target: Any, action_id: str) -> str | None:
        """The answer to a failure of an address its VDU no longer has, or None.

        Such a report comes from a monitor that missed the `update` moving the VDU (a lost
        cast), re-sent at its check-in's resync. Acting on it would respawn a VDU that was
        respawned already, again at every check-in; instead the monitor gets the update
        again and the VNF's current status, which ends its resync."""
        vnf = self._store.get_vnf(vnf_id)
        if vnf is None or not isinstance(target, str):
            return None
        addresses = vnf.mgmt_ips
        if vdu not in addresses or target in addresses[vdu]:
            return None
        monitor = self._store.get_monitor(VNF, vnf_id)
        if monitor is None or monitor.action_id != action_id:
            return client.BAD_ACTION
        LOG.info("VNF %s: failure of %s, no longer an address of VDU %s (now %s): the "
                 "monitor gets its update again", vnf_id, target, vdu,
                 ", ".join(addresses[vdu]) or "none")
        self._runner.update_monitor(action_id, {"mgmt_ips": addresses, "renewed": []})
        return vnf.status

    def _runner_plugins(self) -> Mapping[str, Any]:
        return self._runner.plugins

    def _answer(self, resource: str, written) -> str:
        if written.outcome == "bad_action":
            return client.BAD_ACTION
        if written.outcome == "changed":
            self._metrics.transitions.labels(resource, written.status).inc()
        return written.status
