"""The generator's public entry points: input file (or data) → checked workflow text.

Each call loads and validates its input, normalises it into the policy model, renders the
template, and checks the rendered text before returning it. Nothing is written here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nfvmon import defaults
from nfvmon.generator import render, tosca
from nfvmon.generator.check import check_workflow
from nfvmon.generator.loader import load_yaml_file
from nfvmon.generator.model import VIM_ACTION, VIM_TASK, VNF_ACTION, VNF_TASK
from nfvmon.generator.monitor_defaults import MonitorDefaults, complete_monitor_defaults
from nfvmon.generator.vim import vim_config_duplicate_is_error, vim_monitor_from_config
from nfvmon.generator.vnf import canonical_mgmt_ips, vnf_monitor
from nfvmon.identifiers import canonical_action_id, check_resource_id


@dataclass(frozen=True)
class GeneratedWorkflow:
    """A checked Mistral workflow: its name, its YAML text, and the action_id inside it."""

    name: str
    text: str
    action_id: str

    def as_dict(self) -> dict[str, str]:
        return {"workflow": self.text, "name": self.name, "action_id": self.action_id}


def vim_workflow_from_data(
    config: Any,
    source: str,
    vim_id: str,
    action_id: str | None = None,
    monitor_defaults: MonitorDefaults | None = None,
    run_mode: str = defaults.SYNC,
) -> GeneratedWorkflow:
    """Workflow `vim_id_<vim_id>` for an already-loaded VIM config.

    `monitor_defaults` are the operator's (`[monitor]` options, keyed `vim`, `ping`, ...):
    they fill what the config's `monitor:` block leaves out, before nfvmon.defaults do.
    """
    action_id = canonical_action_id(action_id)
    table = complete_monitor_defaults(monitor_defaults)
    monitor = vim_monitor_from_config(config, source, vim_id, action_id, table["vim"])
    monitor = dataclasses.replace(monitor, run_mode=_checked_run_mode(run_mode))
    text = render.render_vim(monitor)
    check_workflow(text, monitor.workflow_name, {VIM_TASK: (VIM_ACTION, monitor.task_input())})
    return GeneratedWorkflow(monitor.workflow_name, text, action_id)


def vim_workflow(config_path: str, vim_id: str, action_id: str | None = None,
                 run_mode: str = defaults.SYNC,
                 monitor_defaults: MonitorDefaults | None = None) -> GeneratedWorkflow:
    """Workflow `vim_id_<vim_id>` for the VIM registration file at `config_path`."""
    config = load_yaml_file(config_path, vim_config_duplicate_is_error)
    return vim_workflow_from_data(config, config_path, vim_id, action_id, monitor_defaults,
                                  run_mode=run_mode)


def vnf_workflow_from_data(
    vnfd: Any,
    source: str,
    vnf_id: str,
    mgmt_ips: Mapping[str, Sequence[str]],
    action_id: str | None = None,
    run_mode: str = defaults.SYNC,
    monitor_defaults: MonitorDefaults | None = None,
) -> GeneratedWorkflow:
    """Workflow `vnf_id_<vnf_id>` for an already-loaded VNFD and its VDUs' addresses.

    `monitor_defaults` are the operator's (`[monitor]` options, keyed `ping`, `http_ping`,
    `tcp`): they fill the parameters a policy leaves out, before nfvmon.defaults do.
    """
    check_resource_id(vnf_id, "--vnf-id")
    action_id = canonical_action_id(action_id)
    policies = tosca.vdu_policies(vnfd, source, complete_monitor_defaults(monitor_defaults))
    addresses = canonical_mgmt_ips(mgmt_ips)
    monitor = vnf_monitor(policies, tosca.vdu_names(vnfd, source), addresses, vnf_id,
                          action_id, source)
    monitor = dataclasses.replace(monitor, run_mode=_checked_run_mode(run_mode))
    text = render.render_vnf(monitor)
    check_workflow(text, monitor.workflow_name, {VNF_TASK: (VNF_ACTION, monitor.task_input())})
    return GeneratedWorkflow(monitor.workflow_name, text, action_id)


def vnf_workflow(vnfd_path: str, vnf_id: str, mgmt_ips: Mapping[str, Sequence[str]],
                 action_id: str | None = None, run_mode: str = defaults.SYNC,
                 monitor_defaults: MonitorDefaults | None = None) -> GeneratedWorkflow:
    """Workflow `vnf_id_<vnf_id>` for the VNFD file at `vnfd_path`."""
    vnfd = load_yaml_file(vnfd_path, tosca.vnfd_duplicate_is_error)
    return vnf_workflow_from_data(vnfd, vnfd_path, vnf_id, mgmt_ips, action_id,
                                  run_mode=run_mode, monitor_defaults=monitor_defaults)


def _checked_run_mode(run_mode: str) -> str:
    if run_mode not in defaults.RUN_MODES:
        raise ValueError(f"run_mode must be one of {', '.join(defaults.RUN_MODES)}, "
                         f"not {run_mode!r}")
    return run_mode
