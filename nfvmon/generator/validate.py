"""`nfvmon validate`: would Mistral, and the nfvmon actions, accept this workflow file?

Two checks: Mistral's own parser with validation on (`get_workflow_list_spec_from_yaml(text,
validate=True)`; `get_workflow_spec_from_yaml` skips validation), when the `mistral` package is
installed; and every task that runs an nfvmon action passes exactly the inputs that action's
constructor takes, through an `input:` mapping (inline parameters lose values in Mistral).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from nfvmon.errors import InputError
from nfvmon.generator.loader import load_yaml_text, read_text


def mistral_parser_available() -> bool:
    try:
        _mistral_parser()
    except ImportError:
        return False
    return True


def _mistral_parser():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mistral.lang import parser  # noqa: PLC0415 - optional, slow import
    return parser


def problems_in_file(path: str) -> list[str]:
    """Every reason the workflow file at `path` is not acceptable; empty when valid.

    An unreadable file raises InputError; content problems are returned.
    """
    text = read_text(path)
    try:
        doc = load_yaml_text(text, path)
    except InputError as exc:
        return [exc.message]
    problems = []
    if mistral_parser_available():
        problems += _mistral_problems(text)
    problems += action_input_problems(doc)
    return problems


def _mistral_problems(text: str) -> list[str]:
    parser = _mistral_parser()
    try:
        parser.get_workflow_list_spec_from_yaml(text, validate=True)
    except Exception as exc:  # noqa: BLE001 - Mistral raises many types; all mean "rejected"
        return ["Mistral's parser rejects it: " + " ".join(str(exc).split())]
    return []


def action_input_problems(doc: Any) -> list[str]:
    """Tasks running nfvmon actions whose inputs do not fit the action's constructor."""
    from nfvmon.actions import ACTIONS  # noqa: PLC0415 - imports mistral-lib

    if not isinstance(doc, dict):
        return ["not a mapping of workflows"]
    problems = []
    for wf_name, workflow in doc.items():
        tasks = workflow.get("tasks") if isinstance(workflow, dict) else None
        for task_name, task in (tasks.items() if isinstance(tasks, dict) else ()):
            action = task.get("action") if isinstance(task, dict) else None
            if not isinstance(action, str) or not action.startswith("nfvmon."):
                continue
            where = f"{wf_name}.tasks.{task_name}"
            name, _, inline = action.partition(" ")
            if name not in ACTIONS:
                problems.append(f"{where}.action: unknown nfvmon action {name} "
                                f"(known: {', '.join(sorted(ACTIONS))})")
                continue
            if inline.strip():
                problems.append(f"{where}.action: inline parameters; pass them under input:")
            given = task.get("input", {})
            if not isinstance(given, dict):
                problems.append(f"{where}.input: must be a mapping")
                continue
            problems += [f"{where}.input: {p}" for p in _signature_problems(ACTIONS[name], given)]
    return problems


def _signature_problems(action_class: type, given: dict) -> list[str]:
    params = list(inspect.signature(action_class.__init__).parameters.values())[1:]
    names = {p.name for p in params}
    required = [p.name for p in params if p.default is inspect.Parameter.empty]
    problems = [f"missing {name}" for name in required if name not in given]
    problems += [f"{key}: not an input of {action_class.__name__}"
                 for key in given if key not in names]
    return problems
