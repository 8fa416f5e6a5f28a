"""JSON Schema (Draft 2020-12) checks for the inputs, with one-line messages.

The schemas are package data (`schemas/*.json`). Each subschema may carry an `x-message`
that says, in a user's words, what a value must be; jsonschema ignores the keyword and we use
it to turn the best-matching validation error into `FILE: path: message`.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from nfvmon import defaults
from nfvmon.errors import InputError
from nfvmon.probes import registry


@functools.cache
def _schema_document(name: str) -> dict[str, Any]:
    text = resources.files("nfvmon.generator").joinpath("schemas", name).read_text("utf-8")
    doc = json.loads(text)
    if name == "vnfd_monitoring.schema.json":
        _fill_from_probes(doc)
    return doc


def _fill_from_probes(doc: dict[str, Any]) -> None:
    """Monitor names and parameters come from the installed probe types' declarations, the
    single source the actions share: a parameter's rule is its kind's (`count`: 1-1000)."""
    names = [*registry.installed_probes(), *registry.aliases(), *defaults.NOOP_MONITOR_NAMES]
    known = ", ".join(names)
    defs = doc["$defs"]
    properties = defs["parameters"]["properties"]
    for parameter in registry.parameters().values():
        defs[parameter.kind.name] = dict(parameter.kind.schema)
        properties[parameter.name] = {"$ref": f"#/$defs/{parameter.kind.name}"}
    defs["monitor_name"]["enum"] = names
    defs["monitor_name"]["x-message"] = f"unknown monitor (known: {known})"
    defs["driver_map"]["properties"] = {
        name: {"$ref": "#/$defs/driver_entry"} for name in names
    }


@functools.cache
def _validator(document: str, definition: str | None) -> jsonschema.Draft202012Validator:
    schema = copy.deepcopy(_schema_document(document))
    if definition:
        schema["$ref"] = f"#/$defs/{definition}"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validate(instance: Any, document: str, source: str, path: tuple = (),
             definition: str | None = None) -> None:
    """Raise InputError for the most relevant schema violation of `instance`, if any."""
    error = best_match(_validator(document, definition).iter_errors(_nan_as_text(instance)))
    if error is not None:
        where, message = describe(error)
        raise InputError(source, path + where, message)


def _nan_as_text(instance: Any) -> Any:
    """JSON Schema cannot reject NaN (every comparison with it is false) and lets infinity
    pass `minimum`: validate them as the strings they are, so the field's own rule speaks."""
    if isinstance(instance, float) and not math.isfinite(instance):
        return str(instance)
    if isinstance(instance, dict):
        return {key: _nan_as_text(value) for key, value in instance.items()}
    if isinstance(instance, list):
        return [_nan_as_text(value) for value in instance]
    return instance


def describe(error: ValidationError) -> tuple[tuple, str]:
    """(path inside the validated value, message) for one validation error."""
    where = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [key for key in error.validator_value if key not in error.instance]
        return where + (missing[0],), "is required"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(schema.get("properties", {}))
        extra = sorted((k for k in error.instance if k not in known), key=str)
        hint = f" (known: {', '.join(known)})" if known else ""
        return where + (extra[0],), f"unknown key{hint}"
    message = schema.get("x-message") or error.message
    return where, message
