"""`nfvmon validate`: would Mistral, and the nfvmon actions, accept this workflow file?

A file that is no workflow file at all (a VNFD, a list, a number) gets one short line. Then:
Mistral's own parser with validation on (`get_workflow_list_spec_from_yaml(text,
validate=True)`; `get_workflow_spec_from_yaml` skips validation), when the `mistral` package is
installed; every task that runs an nfvmon action passes exactly the inputs that action's
constructor takes, through an `input:` mapping (inline parameters lose values in Mistral); each
of those inputs obeys the rules the generator writes it by (nfvmon.generator.task_inputs); and
no string in a workflow that runs an nfvmon action holds a Mistral expression.
"""

from __future__ import annotations

import inspect
import warnings
from importlib.metadata import entry_points
from typing import Any

from nfvmon import protocol
from nfvmon.errors import InputError, format_path, one_line
from nfvmon.generator.check import expression_strings
from nfvmon.generator.loader import load_yaml_text, read_text
from nfvmon.generator.model import VIM_ACTION, VNF_ACTION
from nfvmon.generator.task_inputs import vim_input_problems, vnf_input_problems

#: Top-level keys of a Mistral workflow file that are not workflows.
FILE_KEYS = ("version", "name", "description", "tags")
#: Longest Mistral message kept: its schema errors append the whole schema.
MAX_MISTRAL_MESSAGE = 300
_INPUT_RULES = {VIM_ACTION: vim_input_problems, VNF_ACTION: vnf_input_problems}


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
    not_a_workflow = workflow_file_problem(doc)
    if not_a_workflow:
        return [not_a_workflow]
    problems = []
    if mistral_parser_available():
        problems += _mistral_problems(text)
    problems += action_input_problems(doc)
    return problems


def workflow_file_problem(doc: Any) -> str | None:
    """One short line when `doc` is no Mistral workflow file at all, else None."""
    what = "not a Mistral workflow file: "
    if not isinstance(doc, dict):
        return what + f"a {_kind(doc)}, not a mapping with version: '2.0' and workflows"
    if "version" not in doc:
        return what + "no version: '2.0' (is it a VNFD or a VIM config?)"
    workflows = [name for name in doc if name not in FILE_KEYS]
    if not workflows:
        return what + "it defines no workflow"
    for name in workflows:
        if not isinstance(doc[name], dict):
            return what + one_line(f"{str(name)[:64]!r} is a {_kind(doc[name])}, not a "
                                   "workflow mapping")
    return None


def _kind(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _mistral_problems(text: str) -> list[str]:
    parser = _mistral_parser()
    try:
        parser.get_workflow_list_spec_from_yaml(text, validate=True)
    except Exception as exc:  # noqa: BLE001 - Mistral raises many types; all mean "rejected"
        message = " ".join(str(exc).split()).split(" Failed validating ", 1)[0]
        if len(message) > MAX_MISTRAL_MESSAGE:
            message = message[:MAX_MISTRAL_MESSAGE - 3] + "..."
        return ["Mistral's parser rejects it: " + message]
    return []


def installed_actions() -> dict[str, Any]:
    """nfvmon's action classes as Mistral finds them, through the `mistral.actions` entry
    points: the generator knows the registry, not the actions package."""
    return {point.name: point.load()
            for point in entry_points(group=protocol.MISTRAL_ACTIONS)
            if point.name.startswith("nfvmon.")}


def action_input_problems(doc: Any) -> list[str]:
    """Tasks running nfvmon actions whose inputs do not fit the action's constructor or the
    generator's rules, and expressions in the workflows that run them."""
    actions = installed_actions()
    if not isinstance(doc, dict):
        return ["not a mapping of workflows"]
    problems = []
    for wf_name, workflow in doc.items():
        tasks = workflow.get("tasks") if isinstance(workflow, dict) else None
        runs_nfvmon = False
        for task_name, task in (tasks.items() if isinstance(tasks, dict) else ()):
            action = task.get("action") if isinstance(task, dict) else None
            if not isinstance(action, str) or not action.startswith("nfvmon."):
                continue
            runs_nfvmon = True
            where = format_path((wf_name, "tasks", task_name))
            name, _, inline = action.partition(" ")
            if name not in actions:
                problems.append(f"{where}.action: unknown nfvmon action {name} "
                                f"(known: {', '.join(sorted(actions))})")
                continue
            if inline.strip():
                problems.append(f"{where}.action: inline parameters; pass them under input:")
            given = task.get("input", {})
            if not isinstance(given, dict):
                problems.append(f"{where}.input: must be a mapping")
                continue
            signature = _signature_problems(actions[name], given)
            problems += [f"{where}.input: {p}" for p in signature]
            if not signature and name in _INPUT_RULES:
                problems += _INPUT_RULES[name](given, (wf_name, "tasks", task_name, "input"))
        if runs_nfvmon:  # Mistral would evaluate these when the workflow runs
            problems += [one_line(f"{format_path((wf_name, *path))}: {string!r} holds a "
                                  "Mistral expression") for path, string in
                         expression_strings(workflow)]
    return problems


def _signature_problems(action_class: type, given: dict) -> list[str]:
    params = list(inspect.signature(action_class.__init__).parameters.values())[1:]
    names = {p.name for p in params}
    required = [p.name for p in params if p.default is inspect.Parameter.empty]
    problems = [f"missing {name}" for name in required if name not in given]
    problems += [f"{key}: not an input of {action_class.__name__}"
                 for key in given if key not in names]
    return problems
