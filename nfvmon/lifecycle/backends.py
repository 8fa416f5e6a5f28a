"""Where generated workflows run: Mistral, or (the embedded default) this very process."""

from __future__ import annotations

import threading
import uuid
from typing import Any, Protocol

from nfvmon.generator import GeneratedWorkflow
from nfvmon.generator.loader import load_yaml_text


class WorkflowBackend(Protocol):
    def deploy(self, workflow: GeneratedWorkflow) -> str:
        """Create (or update) the workflow and start an execution; its id."""

    def remove(self, workflow_name: str, execution_id: str | None) -> None:
        """Delete the execution and the workflow; fine when they are already gone."""


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

    def results(self, execution_id: str) -> list[Any]:
        with self._lock:
            runs = list(self._runs.get(execution_id, []))
        return [holder.get("result") for _thread, holder in runs]
