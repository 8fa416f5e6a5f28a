"""Where generated workflows run: Mistral, or (the embedded default) this very process."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection
from typing import Any, Protocol

from nfvmon.generator import GeneratedWorkflow
from nfvmon.generator.loader import load_yaml_text


class WorkflowBackend(Protocol):
    def deploy(self, workflow: GeneratedWorkflow) -> str:
        """Create (or update) the workflow and start an execution; its id."""

    def remove(self, workflow_name: str, execution_id: str | None) -> None:
        """Delete the execution and the workflow; fine when they are already gone."""

    def remove_execution(self, execution_id: str) -> None:
        """Delete one execution (its workflow stays); fine when it is already gone."""


class InProcessBackend:
    """Runs each task of a generated workflow through the same action classes Mistral would
    use, each on a thread of this process, in place of Mistral (no broker, no Mistral)."""

    def __init__(self, join_timeout: float = 15.0):
        self._join_timeout = join_timeout
        self._runs: dict[str, list[tuple[threading.Thread, dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def deploy(self, workflow: GeneratedWorkflow) -> str:
        from nfvmon.actions import ACTIONS

        doc = load_yaml_text(workflow.text, workflow.name)
        execution_id = str(uuid.uuid4())
        runs = []
        for task_name, task in doc[workflow.name]["tasks"].items():
            action = ACTIONS[task["action"]](**task["input"])
            holder: dict[str, Any] = {}
            thread = threading.Thread(target=lambda a=action, h=holder: h.update(
                result=a.run(None)), name=f"{workflow.name}.{task_name}", daemon=True)
            thread.start()
            runs.append((thread, holder))
        with self._lock:
            self._runs[execution_id] = runs
        return execution_id

    def remove(self, workflow_name: str, execution_id: str | None) -> None:
        with self._lock:
            runs = self._runs.pop(execution_id, []) if execution_id else []
        for thread, _holder in runs:
            thread.join(self._join_timeout)

    def remove_execution(self, execution_id: str) -> None:
        self.remove("", execution_id)

    def results(self, execution_id: str) -> list[Any]:
        with self._lock:
            runs = list(self._runs.get(execution_id, []))
        return [holder.get("result") for _thread, holder in runs]


class MistralBackend:
    """The real thing, through python-mistralclient.

    deploy: `workflows.delete` of any earlier definition, `workflows.create`, and
    `executions.create`. Not `workflows.update`: Mistral caches parsed workflows by definition
    id and `updated_at`, which it keeps to the second, so an execution started after a second
    update within one second runs the first update's definition (with the old action id, so
    the monitor exits `bad_action` at once). A new definition has a new id.
    remove: `executions.delete(force=True)` (a RUNNING execution cannot be deleted without it,
    the reference implementation's bug 11) and `workflows.delete`; what Mistral has already
    lost is fine.

    The client is made on first use (through `mistral_api.Access`): a conductor or a command
    that never calls Mistral never asks Keystone, and one that could not reach it asks again
    on its next call.
    """

    def __init__(self, url: str | None = None, auth_token: str | None = None, client=None,
                 access=None):
        from nfvmon.mistral_api import Access

        self._access = access or Access(url=url, auth_token=auth_token)
        self._made = client

    @classmethod
    def from_conf(cls, conf, default_url: str | None = None) -> MistralBackend:
        """The Mistral the `[mistral]` options name (Keystone's catalog, `url`, else
        `default_url`); a missing or unknown auth option is a MistralAccessError now."""
        from nfvmon.mistral_api import Access

        return cls(access=Access(conf, default_url))

    @property
    def _client(self):
        if self._made is None:
            self._made = self._access.client()
        return self._made

    def deploy(self, workflow: GeneratedWorkflow) -> str:
        self._ignore_missing(lambda: self._client.workflows.delete(workflow.name))
        self._client.workflows.create(workflow.text)
        execution = self._client.executions.create(
            workflow.name, description=f"nfvmon monitor, action {workflow.action_id}")
        return execution.id

    def remove(self, workflow_name: str, execution_id: str | None) -> None:
        if execution_id:
            self.remove_execution(execution_id)
        self._ignore_missing(lambda: self._client.workflows.delete(workflow_name))

    def remove_execution(self, execution_id: str) -> None:
        self._ignore_missing(lambda: self._client.executions.delete(execution_id, force=True))

    def remove_with_executions(self, workflow_name: str) -> None:
        """Delete every execution of `workflow_name` (force: they may run) and the workflow:
        an external deployment's, whose execution ids nfvmon never saw."""
        for execution in self._client.executions.list(workflow_name=workflow_name):
            self.remove_execution(execution.id)
        self._ignore_missing(lambda: self._client.workflows.delete(workflow_name))

    def failed_executions(self, workflow_names: Collection[str]) -> list[str]:
        """Ids of executions in ERROR of the workflows named."""
        return [execution.id for execution in self._client.executions.list(state="ERROR")
                if execution.workflow_name in workflow_names]

    def execution_state(self, execution_id: str) -> str | None:
        """RUNNING, SUCCESS, ERROR, ...; None when Mistral has no such execution."""
        from mistralclient.api.base import APIException

        try:
            return self._client.executions.get(execution_id).state
        except APIException as exc:
            if getattr(exc, "error_code", None) == 404:
                return None
            raise

    @staticmethod
    def _ignore_missing(call) -> None:
        from mistralclient.api.base import APIException

        try:
            call()
        except APIException as exc:
            if getattr(exc, "error_code", None) != 404:
                raise
