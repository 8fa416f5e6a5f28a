"""Render the policy model through the package's Jinja2 templates.

Templates hold layout only. Every value passes through `yaml_scalar`, which emits a
double-quoted JSON string or a YAML number/boolean, so no user value can change the YAML's
structure; StrictUndefined turns a template typo into an error instead of an empty value.
"""

from __future__ import annotations

import functools
import json
import math

import jinja2
import yaml

from nfvmon.errors import GeneratorBug
from nfvmon.generator.model import (
    VIM_ACTION,
    VIM_TASK,
    VNF_ACTION,
    VNF_TASK,
    VimMonitor,
    VnfMonitor,
)


def yaml_scalar(value: object) -> str:
    """One value as a YAML flow scalar that parses back to exactly that value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise GeneratorBug(f"refusing to render non-finite number {value!r}")
        # PyYAML's own representer: YAML 1.1 wants '1.0e-05', not JSON's '1e-05'.
        return yaml.safe_dump(value).splitlines()[0]
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)
    raise GeneratorBug(f"yaml_scalar got a {type(value).__name__}; templates emit scalars only")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nfvmon.workflows", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["yaml_scalar"] = yaml_scalar
    return env


def render_vim(monitor: VimMonitor) -> str:
    return _environment().get_template("vim_monitor.yaml.j2").render(
        monitor=monitor, task=VIM_TASK, action=VIM_ACTION)


def render_vnf(monitor: VnfMonitor) -> str:
    return _environment().get_template("vnf_monitor.yaml.j2").render(
        monitor=monitor, task=VNF_TASK, action=VNF_ACTION)
