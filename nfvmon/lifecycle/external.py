"""Monitors the operator deploys with Mistral's own tools (`--deploy external`).

nfvmon records the resource and its action id and writes the workflow; the operator runs
`mistral workflow-create` and `mistral execution-create`. nfvmon never deploys or
re-creates such a monitor; on removal it kills the action, and removes the workflow and
its executions itself only when it can reach Mistral, else it says what to run.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Removal:
    """What deregister/delete did. True when the resource existed."""

    existed: bool
    deployment: str
    workflow_name: str | None = None
    #: nfvmon removed the workflow and its executions from Mistral itself.
    removed_from_mistral: bool = False
    #: Why it did not, for an external monitor ('' when it did or had nothing to do).
    problem: str = ""

    def __bool__(self) -> bool:
        return self.existed


def deploy_commands(workflow_file: str, workflow_name: str) -> list[str]:
    """What the operator runs to start the monitor nfvmon registered."""
    return [f"mistral workflow-create {shlex.quote(workflow_file)}",
            f"mistral execution-create {shlex.quote(workflow_name)}"]


def teardown_commands(workflow_name: str) -> list[str]:
    """What the operator runs to remove an external monitor's executions and workflow."""
    name = shlex.quote(workflow_name)
    return [f"mistral execution-list --filter workflow_name={name} -f value -c ID "
            f"| xargs -r mistral execution-delete --force",
            f"mistral workflow-delete {name}"]
