"""The lifecycle of monitored resources, over a workflow backend and the database.

Register/create: a row with a fresh action_id (status PENDING for a VIM), generate the
workflow (inputs are checked before any row exists), deploy it, record the workflow name and
execution id. A failed deployment leaves the resource in ERROR with the reason, never a
silent PENDING. Deregister/delete: clear the action_id first (the running action then gets
`bad_action` at its next report or check-in, so a lost kill cannot leak it), send the kill,
remove the execution and workflow, delete the row. Every step tolerates what is already gone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from nfvmon.db.api import VIM, VNF, Store
from nfvmon.errors import NfvmonError
from nfvmon.generator import vim_workflow_from_data, vnf_workflow_from_data
from nfvmon.generator.identifiers import target_from_url
from nfvmon.lifecycle.backends import WorkflowBackend

LOG = logging.getLogger(__name__)


class LifecycleError(NfvmonError):
    """A lifecycle step failed; the resource shows ERROR with the same reason."""


class Lifecycle:
    def __init__(self, store: Store, backend: WorkflowBackend, control=None):
        self.store = store
        self.backend = backend
        self.control = control

    def register_vim(self, config: Any, source: str, *, name: str = "",
                     vim_id: str | None = None) -> str:
        vim_id = vim_id or str(uuid.uuid4())
        action_id = str(uuid.uuid4())
        workflow = vim_workflow_from_data(config, source, vim_id, action_id)
        target = target_from_url(config["auth_url"], source, ("auth_url",))
        self.store.create_vim(vim_id, target=target, name=name, action_id=action_id)
        self._deploy(VIM, vim_id, action_id, workflow)
        return vim_id

    def create_vnf(self, vnfd: Any, source: str, mgmt_ips: Mapping[str, Sequence[str]], *,
                   name: str = "", vnf_id: str | None = None, vnfd_text: str = "") -> str:
        vnf_id = vnf_id or str(uuid.uuid4())
        action_id = str(uuid.uuid4())
        workflow = vnf_workflow_from_data(vnfd, source, vnf_id, mgmt_ips, action_id)
        self.store.create_vnf(vnf_id, vdus=mgmt_ips, name=name, vnfd=vnfd_text,
                              status="PENDING_CREATE", action_id=action_id)
        self._deploy(VNF, vnf_id, action_id, workflow)
        self.store.write_status(VNF, vnf_id, "ACTIVE", action_id=None,
                                allowed_from=("PENDING_CREATE",), reason="monitoring started",
                                event_type="CREATE")
        return vnf_id

    def _deploy(self, resource_type: str, resource_id: str, action_id: str, workflow) -> None:
        try:
            execution_id = self.backend.deploy(workflow)
        except Exception as exc:  # noqa: BLE001 - any backend failure is reported the same way
            reason = f"deploying {workflow.name} failed: {exc}"
            self.store.set_action(resource_type, resource_id, None)
            self.store.write_status(resource_type, resource_id, "ERROR", action_id=None,
                                    reason=reason, event_type="CREATE")
            raise LifecycleError(reason) from None
        self.store.set_action(resource_type, resource_id, action_id,
                              workflow_name=workflow.name, execution_id=execution_id)

    def deregister_vim(self, vim_id: str) -> bool:
        return self._remove(VIM, vim_id)

    def delete_vnf(self, vnf_id: str) -> bool:
        return self._remove(VNF, vnf_id)

    def _remove(self, resource_type: str, resource_id: str) -> bool:
        monitor = self.store.get_monitor(resource_type, resource_id)
        if monitor is None:
            return self.store.delete_resource(resource_type, resource_id)
        self.store.set_action(resource_type, resource_id, None)
        if monitor.action_id and self.control is not None:
            try:
                self.control.kill({}, monitor.action_id)
            except Exception as exc:  # noqa: BLE001 - the check-in backstops a lost kill
                LOG.warning("kill of %s not sent: %s", monitor.action_id, exc)
        if monitor.workflow_name:
            self.backend.remove(monitor.workflow_name, monitor.execution_id)
        return self.store.delete_resource(resource_type, resource_id)
