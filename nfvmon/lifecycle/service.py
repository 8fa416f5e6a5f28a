"""The lifecycle of monitored resources, over a workflow backend and the database.

Register/create: a row with a fresh action_id (status PENDING for a VIM), generate the
workflow (inputs are checked and normalised once, at the entry of each public call, before
any row exists: the database and the workflow hold the same canonical values), deploy it,
record the workflow name and execution id. A failed deployment leaves the resource in ERROR
with the reason, never a silent PENDING. Deregister/delete: clear the action_id first (the
running action then gets `bad_action` at its next report or check-in, so a lost kill cannot
leak it), send the kill, remove the execution and workflow, delete the row. Every step
tolerates what is already gone.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from nfvmon import defaults
from nfvmon.db.api import EXTERNAL, NFVMON, VIM, VNF, Store
from nfvmon.db.models import utcnow
from nfvmon.db.policy_jobs import JobSpec
from nfvmon.errors import NfvmonError, UndeployableState, one_line
from nfvmon.generator import vim_workflow_from_data, vnf_workflow_from_data
from nfvmon.generator.monitor_defaults import MonitorDefaults, complete_monitor_defaults
from nfvmon.generator.vnf import canonical_mgmt_ips
from nfvmon.identifiers import address_problem, check_resource_name, target_from_url
from nfvmon.lifecycle.backends import WorkflowBackend
from nfvmon.lifecycle.external import Removal
from nfvmon.protocol import BAD_ACTION
from nfvmon.status_machine import (
    DEPLOY_FAILED,
    DEPLOYED,
    HEAL_DONE,
    HEAL_FAILED,
    OPERATOR_HEAL,
    OPERATOR_HEAL_ORPHANED,
)
from nfvmon.statuses import PENDING_CREATE

LOG = logging.getLogger(__name__)
_CURRENT = object()  # redeploy(): "whatever action is current now"
_SAME = object()  # Lifecycle(external_backend=...): the backend, if it can remove them


class LifecycleError(NfvmonError):
    """A lifecycle step failed; the resource shows ERROR with the same reason."""


class WorkflowNotGenerated(LifecycleError, UndeployableState):
    """The stored state makes no valid workflow: redeploying cannot help, an operator must."""


class Lifecycle:
    def __init__(self, store: Store, backend: WorkflowBackend, control=None,
                 run_mode: str = defaults.SYNC, monitor_defaults: MonitorDefaults | None = None,
                 external_backend: Any = _SAME):
        self.store = store
        self.backend = backend
        self.control = control
        #: Written into every generated workflow ([mistral] run_mode).
        self.run_mode = run_mode
        #: The operator's `[monitor]` defaults, checked now: a bad one stops the service at
        #: start, not at the first workflow.
        self.monitor_defaults = complete_monitor_defaults(monitor_defaults)
        #: Where an operator's external deployment is removed from (None: nowhere; nfvmon
        #: then says what to run). By default the backend, if it can.
        self.external_backend = backend if external_backend is _SAME else external_backend

    def register_vim(self, config: Any, source: str, *, name: str = "",
                     vim_id: str | None = None, deployment: str = NFVMON) -> str:
        """Record a VIM and start its monitor; with `deployment="external"` only record it:
        the operator deploys `workflow(VIM, vim_id)` with Mistral's own tools."""
        check_resource_name(name)
        vim_id = vim_id or str(uuid.uuid4())
        action_id = str(uuid.uuid4())
        workflow = self._vim_workflow(config, source, vim_id, action_id)
        target = target_from_url(config["auth_url"], source, ("auth_url",))
        self.store.create_vim(vim_id, target=target, name=name, action_id=action_id,
                              probe_config=_probe_config(config), deployment=deployment,
                              workflow_name=workflow.name)
        if deployment == NFVMON:
            self._deploy(VIM, vim_id, action_id, workflow)
        return vim_id

    def update_vim(self, vim_id: str, config: Any, source: str) -> str:
        """New auth_url or monitor settings: a new action and execution replace the old."""
        if self.store.get_vim(vim_id) is None:
            raise LifecycleError(f"no VIM {vim_id}")
        self._vim_workflow(config, source, vim_id, None)  # refuse bad input first
        self.store.update_vim_config(
            vim_id, target=target_from_url(config["auth_url"], source, ("auth_url",)),
            probe_config=_probe_config(config))
        return self.redeploy(VIM, vim_id)

    def scale_vnf(self, vnf_id: str, mgmt_ips: Mapping[str, Sequence[str]]) -> str:
        """New management IPs for some VDUs: a new action and execution replace the old."""
        vnf = self.store.get_vnf(vnf_id)
        if vnf is None:
            raise LifecycleError(f"no VNF {vnf_id}")
        mgmt_ips = canonical_mgmt_ips(mgmt_ips)
        self._vnf_workflow(self._vnfd(vnf), f"VNF {vnf_id}", vnf_id,
                           {**vnf.mgmt_ips, **mgmt_ips}, None)  # refuse bad input first
        self.store.set_vdu_ips(vnf_id, mgmt_ips)
        return self.redeploy(VNF, vnf_id)

    def heal_vnf(self, vnf_id: str, vdu: str, manager, *, owner: str | None = None,
                 timeout: float = 600.0) -> str:
        """An operator's heal of one VDU: the VNF manager heals it, a new monitor watches its
        (possibly new) addresses, and the respawn/heal count starts afresh.

        The heal is a policy job like a conductor's (`vdu_autoheal`), owned by this process
        until `timeout`: should it die mid-heal, a conductor takes the job over. A VNF whose
        pending job is past its deadline may be healed: its owner is gone."""
        vnf = self.store.get_vnf(vnf_id)
        if vnf is None:
            raise LifecycleError(f"no VNF {vnf_id}")
        if vdu not in {v.name for v in vnf.vdus}:
            raise LifecycleError(f"VNF {vnf_id} has no VDU {vdu}")
        owner = owner or f"cli:{socket.gethostname()}:{os.getpid()}"
        took_over = self._claim_heal_job(vnf_id, vdu, owner, timeout)
        try:
            # A job taken over from a dead owner leaves its pending status ours to end.
            started = self.store.write_status(
                VNF, vnf_id, OPERATOR_HEAL_ORPHANED if took_over else OPERATOR_HEAL,
                reason=f"heal of VDU {vdu} requested")
            if not (started.changed or took_over and started.accepted):
                raise LifecycleError(f"VNF {vnf_id} is {started.status}: not healed now")
            try:
                new_ips = manager.run("heal", vnf_id, vdu)
                problem = address_problem(new_ips, vnf.mgmt_ips, vnf_id) if new_ips else ""
            except Exception as exc:  # noqa: BLE001 - a manager failure is the VNF's ERROR
                problem = str(exc)
            if problem:
                self.store.write_status(VNF, vnf_id, HEAL_FAILED,
                                        reason=f"heal failed: {problem}")
                raise LifecycleError(f"heal of VDU {vdu} failed: {problem}")
            if new_ips:
                self.store.set_vdu_ips(vnf_id, new_ips)
            new_action = self.redeploy(VNF, vnf_id)
            self.store.record_heal_attempt(vnf_id, 0, None)
            self.store.write_status(VNF, vnf_id, HEAL_DONE, reason=f"VDU {vdu} healed")
            return new_action
        finally:
            self.store.jobs.finish(vnf_id, owner)

    def _claim_heal_job(self, vnf_id: str, vdu: str, owner: str, timeout: float) -> bool:
        """Own the VNF's policy job for the heal (True: taken over from a dead owner), or
        say who owns it."""
        deadline = utcnow() + timedelta(seconds=timeout)
        spec = JobSpec(vnf_id, vdu, "vdu_autoheal", None, {"requested_by": owner})
        if self.store.jobs.ensure(spec, owner=owner, deadline=deadline):
            return False
        job = self.store.jobs.get(vnf_id)
        if job is not None and job.deadline <= utcnow() and \
                self.store.jobs.take_over(job, owner, deadline):
            LOG.warning("VNF %s: its %s job (owner %s) was past its deadline; the heal "
                        "replaces it", vnf_id, job.action_name, job.owner)
            return True
        if job is None:
            raise LifecycleError(f"VNF {vnf_id} changed meanwhile: try again")
        raise LifecycleError(f"VNF {vnf_id}: a {job.action_name} of VDU {job.vdu} is under "
                             f"way ({job.owner}, until {job.deadline.isoformat()}): not "
                             f"healed now")

    def redeploy(self, resource_type: str, resource_id: str,
                 expected_action: str | None | object = _CURRENT) -> str:
        """Replace the resource's monitor: generate the new workflow, claim a new action_id
        (only if the current one is still `expected_action`, when given), deploy, then end the
        old action and remove its execution. The old action always ends: the kill, and
        bad_action as the backstop.

        The workflow is generated (and so checked) before the claim: a stored state that no
        longer makes a valid workflow must not kill the monitor that runs, leaving none."""
        monitor = self.store.get_monitor(resource_type, resource_id)
        if monitor is None:
            raise LifecycleError(f"no {resource_type} {resource_id}")
        old = monitor.action_id if expected_action is _CURRENT else expected_action
        new = str(uuid.uuid4())
        try:
            workflow = self._workflow(resource_type, resource_id, new)
        except NfvmonError as exc:
            raise WorkflowNotGenerated(one_line(
                f"{resource_type} {resource_id}: its workflow cannot be generated, the running "
                f"monitor kept: {exc}")) from None
        if not self.store.replace_action(resource_type, resource_id, old, new):
            raise LifecycleError(f"{resource_type} {resource_id}: its monitor changed meanwhile")
        self._retire(monitor)
        if monitor.deployment == EXTERNAL:
            return new  # the operator deploys workflow(...) anew: nfvmon never does
        # A failed re-deployment (Mistral down) keeps the new action_id claimed and the
        # status as it is: the monitor is stale again after the grace period, and retried.
        self._deploy(resource_type, resource_id, new, workflow, keep_on_failure=True)
        return new

    def workflow(self, resource_type: str, resource_id: str):
        """The workflow that runs the resource's current monitor (byte for byte what nfvmon
        would deploy): for the operator of an external deployment to deploy it."""
        monitor = self.store.get_monitor(resource_type, resource_id)
        if monitor is None or monitor.action_id is None:
            raise LifecycleError(f"no {resource_type} {resource_id} with a current monitor")
        return self._workflow(resource_type, resource_id, monitor.action_id)

    def _workflow(self, resource_type: str, resource_id: str, action_id: str):
        """The resource's workflow as the database describes it now."""
        if resource_type == VIM:
            vim = self.store.get_vim(resource_id)
            return self._vim_workflow(vim.probe_config, f"VIM {resource_id}", resource_id,
                                      action_id)
        vnf = self.store.get_vnf(resource_id)
        return self._vnf_workflow(self._vnfd(vnf), f"VNF {resource_id}", resource_id,
                                  vnf.mgmt_ips, action_id)

    def _vim_workflow(self, config: Any, source: str, vim_id: str, action_id: str | None):
        return vim_workflow_from_data(config, source, vim_id, action_id, self.monitor_defaults,
                                      run_mode=self.run_mode)

    def _vnf_workflow(self, vnfd: Any, source: str, vnf_id: str,
                      mgmt_ips: Mapping[str, Sequence[str]], action_id: str | None):
        return vnf_workflow_from_data(vnfd, source, vnf_id, mgmt_ips, action_id,
                                      run_mode=self.run_mode,
                                      monitor_defaults=self.monitor_defaults)

    @staticmethod
    def _vnfd(vnf) -> Any:
        from nfvmon.generator import tosca
        from nfvmon.generator.loader import load_yaml_text

        return load_yaml_text(vnf.vnfd, f"VNF {vnf.id}", tosca.vnfd_duplicate_is_error)

    def _retire(self, monitor) -> None:
        """End an old action (it is no longer current) and remove its execution."""
        if monitor.action_id and self.control is not None:
            try:
                self.control.kill({}, monitor.action_id)
            except Exception as exc:  # noqa: BLE001 - the check-in backstops a lost kill
                LOG.warning("kill of %s not sent: %s", monitor.action_id, exc)
        if monitor.workflow_name and monitor.execution_id:
            try:
                self.backend.remove_execution(monitor.execution_id)
            except Exception as exc:  # noqa: BLE001 - the reconciler cleans up later
                LOG.warning("execution %s not removed: %s", monitor.execution_id, exc)

    def create_vnf(self, vnfd: Any, source: str, mgmt_ips: Mapping[str, Sequence[str]], *,
                   name: str = "", vnf_id: str | None = None, vnfd_text: str = "",
                   deployment: str = NFVMON) -> str:
        """Record a VNF and start its monitor; with `deployment="external"` only record it
        (PENDING_CREATE until its monitor first checks in)."""
        check_resource_name(name)
        mgmt_ips = canonical_mgmt_ips(mgmt_ips)
        vnf_id = vnf_id or str(uuid.uuid4())
        action_id = str(uuid.uuid4())
        workflow = self._vnf_workflow(vnfd, source, vnf_id, mgmt_ips, action_id)
        self.store.create_vnf(vnf_id, vdus=mgmt_ips, name=name,
                              vnfd=vnfd_text or yaml.safe_dump(vnfd, sort_keys=False),
                              status=PENDING_CREATE, action_id=action_id,
                              deployment=deployment, workflow_name=workflow.name)
        if deployment == EXTERNAL:
            return vnf_id
        self._deploy(VNF, vnf_id, action_id, workflow)
        self.store.write_status(VNF, vnf_id, DEPLOYED, reason="monitoring started")
        return vnf_id

    def _deploy(self, resource_type: str, resource_id: str, action_id: str, workflow,
                keep_on_failure: bool = False) -> None:
        try:
            execution_id = self.backend.deploy(workflow)
        except Exception as exc:  # noqa: BLE001 - any backend failure is reported the same way
            reason = f"deploying {workflow.name} failed: {exc}"
            if keep_on_failure:
                raise LifecycleError(reason) from None
            self.store.set_action(resource_type, resource_id, None)
            self.store.write_status(resource_type, resource_id, DEPLOY_FAILED, reason=reason)
            raise LifecycleError(reason) from None
        if not self.store.record_execution(resource_type, resource_id, action_id,
                                           workflow_name=workflow.name,
                                           execution_id=execution_id):
            LOG.info("%s %s: action %s was replaced while it was deployed; it ends on %s",
                     resource_type, resource_id, action_id, BAD_ACTION)

    def deregister_vim(self, vim_id: str) -> Removal:
        return self._remove(VIM, vim_id)

    def delete_vnf(self, vnf_id: str) -> Removal:
        return self._remove(VNF, vnf_id)

    def _remove(self, resource_type: str, resource_id: str) -> Removal:
        monitor = self.store.get_monitor(resource_type, resource_id)
        if monitor is None:
            return Removal(self.store.delete_resource(resource_type, resource_id), NFVMON)
        self.store.set_action(resource_type, resource_id, None)
        self._retire(monitor)
        removed, problem = False, ""
        if monitor.workflow_name and monitor.deployment == EXTERNAL:
            removed, problem = self._remove_external(monitor.workflow_name)
        elif monitor.workflow_name:
            self.backend.remove(monitor.workflow_name, None)
            removed = True
        existed = self.store.delete_resource(resource_type, resource_id)
        return Removal(existed, monitor.deployment, monitor.workflow_name, removed, problem)

    def _remove_external(self, workflow_name: str) -> tuple[bool, str]:
        """The operator's workflow and executions, removed if Mistral can be reached."""
        remove = getattr(self.external_backend, "remove_with_executions", None)
        if remove is None:
            return False, "[mistral] url is not set"
        try:
            remove(workflow_name)
        except Exception as exc:  # noqa: BLE001 - the operator is told what to run instead
            return False, one_line(f"Mistral: {exc}")
        return True, ""


def _probe_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a VIM config a monitor is made from: no credentials, no userinfo."""
    parts = urlsplit(config["auth_url"])
    netloc = parts.netloc.rsplit("@", 1)[-1]
    probe = {"auth_url": urlunsplit((parts.scheme, netloc, parts.path, "", ""))}
    if "monitor" in config:  # as the workflow carries them (count: 3.0 is the count 3)
        probe["monitor"] = {name: defaults.normalise_number(name, value)
                            for name, value in config["monitor"].items()}
    return probe
