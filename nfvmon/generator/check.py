"""Check the generator's own output before anything is written.

The rendered text is parsed back with the same strict loader users' files get (duplicate keys,
anchors and aliases refused), and each task's `input` must equal, value for value and type for
type, what the model says it should be. No string may hold a Mistral expression marker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nfvmon.errors import GeneratorBug, InputError, format_path
from nfvmon.generator.loader import load_yaml_text

#: Openers and closers of YAQL (`<% %>`) and Jinja (`{{ }}`, `{% %}`) expressions in Mistral.
EXPRESSION_MARKERS = ("<%", "%>", "{{", "}}", "{%", "%}")


def check_workflow(text: str, name: str, tasks: Mapping[str, tuple[str, dict]]) -> None:
    """Raise GeneratorBug unless `text` is exactly workflow `name` with `tasks`.

    `tasks` maps task name → (action name, input mapping).
    """
    try:
        doc = load_yaml_text(text, f"<generated {name}>")
    except InputError as exc:
        raise GeneratorBug(f"generated YAML does not parse back: {exc}") from None
    _require(isinstance(doc, dict) and set(doc) == {"version", name},
             f"top-level keys are {sorted(doc) if isinstance(doc, dict) else doc!r}")
    _require(same_value(doc["version"], "2.0"), "version is not the string '2.0'")
    workflow = doc[name]
    _require(isinstance(workflow, dict) and workflow.get("type") == "direct",
             "workflow type is not direct")
    got_tasks = workflow.get("tasks")
    _require(isinstance(got_tasks, dict) and set(got_tasks) == set(tasks),
             f"tasks are {sorted(got_tasks) if isinstance(got_tasks, dict) else got_tasks!r}")
    for task_name, (action, expected_input) in tasks.items():
        task = got_tasks[task_name]
        _require(task.get("action") == action, f"task {task_name} runs {task.get('action')!r}")
        _require(same_value(task.get("input"), expected_input),
                 f"task {task_name} input does not round-trip")
    for path, string in expression_strings(doc):
        raise GeneratorBug(f"{format_path(path)}: {string!r} holds an expression marker")


def expression_strings(doc: Any):
    """(path, string) for every key or value in `doc` that holds an expression marker."""
    for path, string in _strings(doc, ()):
        if any(marker in string for marker in EXPRESSION_MARKERS):
            yield path, string


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise GeneratorBug(f"generated workflow failed its self-check: {what}")


def same_value(got: Any, want: Any) -> bool:
    """Equality that also compares types (1 != 1.0 != True here)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, dict):
        return list(got) == list(want) and all(same_value(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(map(same_value, got, want))
    return got == want


def _strings(node: Any, path: tuple):
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key, path + (key,))
            yield from _strings(value, path + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, path + (index,))
