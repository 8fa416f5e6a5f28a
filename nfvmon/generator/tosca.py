"""TOSCA (and legacy Tacker) VNFD → the VDU liveness policies it declares.

Three forms are read, wherever a VDU keeps its properties (TOSCA
`topology_template.node_templates.<VDU>.properties`, legacy `vdus.<VDU>`):
- TOSCA: `monitoring_policy: {name, parameters, actions}`;
- 2016, keyed by monitor: `monitoring_policy: {ping: {monitoring_params, actions}, ...}`;
- 2015: `monitoring_policy: ping` with a sibling `failure_policy: respawn`.
`http-ping` is read as `http_ping`; `noop` means "not monitored".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from nfvmon import defaults
from nfvmon.errors import InputError, NothingToMonitor, format_path
from nfvmon.generator import schema
from nfvmon.generator.model import Number, VduPolicy
from nfvmon.generator.policy_actions import check_policy_action, check_policy_actions
from nfvmon.identifiers import check_name
from nfvmon.probes import registry

LOG = logging.getLogger(__name__)

SCHEMA = "vnfd_monitoring.schema.json"
TOSCA_NODES = ("topology_template", "node_templates")
LEGACY_VDUS = ("vdus",)
_STRUCTURE_KEYS = {"topology_template", "node_templates", "vdus", "properties",
                   "monitoring_policy", "failure_policy"}


def vnfd_duplicate_is_error(path: tuple) -> bool:
    """Duplicates that change what is monitored are errors; others (mgmt_driver) warn."""
    if "monitoring_policy" in path or "failure_policy" in path:
        return True
    if path and path[-1] in _STRUCTURE_KEYS:
        return True
    return (len(path) == 3 and path[:2] == TOSCA_NODES) or (len(path) == 2 and path[0] == "vdus")


def vdu_policies(vnfd: Any, source: str,
                 monitor_defaults: Mapping[str, Mapping[str, Number]] | None = None,
                 ) -> list[VduPolicy]:
    """Every liveness policy in the VNFD, in document order; NothingToMonitor if none.

    Missing parameters come from `monitor_defaults` (complete and checked: see
    nfvmon.generator.monitor_defaults), by default nfvmon.defaults.
    """
    if not isinstance(vnfd, dict):
        raise InputError(source, (), "must be a mapping (a TOSCA or Tacker VNFD)")
    table = defaults.VNF_MONITOR_DEFAULTS if monitor_defaults is None else monitor_defaults
    container = _vdu_container(vnfd, source)
    policies: list[VduPolicy] = []
    for vdu, properties, path in _vdu_properties(vnfd, container, source):
        policies.extend(_policies_of_vdu(vdu, properties, path, source, table))
    if not policies:
        raise NothingToMonitor(source, container, _why_nothing_to_monitor(vnfd, container))
    return policies


def vdu_names(vnfd: Any, source: str) -> list[str]:
    """Names of the VDUs a VNFD declares (TOSCA nodes of a VDU type, or legacy `vdus`)."""
    container = _vdu_container(vnfd, source)
    names = []
    for name, node in _mapping_at(vnfd, container, source).items():
        kind = node.get("type") if isinstance(node, dict) else None
        is_vdu = container == LEGACY_VDUS or (isinstance(kind, str) and "vdu" in kind.lower())
        if is_vdu or "monitoring_policy" in (_get(node, ("properties",)) or {}):
            names.append(name)
    return names


def _vdu_container(vnfd: dict, source: str) -> tuple[str, ...]:
    if "topology_template" in vnfd:
        return TOSCA_NODES
    if "vdus" in vnfd:
        return LEGACY_VDUS
    raise InputError(source, (), "not a VNFD: expected topology_template.node_templates "
                                 "(TOSCA) or vdus (legacy Tacker)")


def _mapping_at(doc: dict, path: tuple, source: str) -> dict:
    node: Any = doc
    for depth, key in enumerate(path):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise InputError(source, path[: depth + 1], "must be a mapping")
    return node


def _vdu_properties(vnfd: dict, container: tuple, source: str) -> Iterator[tuple]:
    """(VDU name, its property mapping, path of that mapping) for every node that has one."""
    for name, node in _mapping_at(vnfd, container, source).items():
        path = container + (name,)
        if not isinstance(node, dict):
            raise InputError(source, path, "must be a mapping")
        if container == TOSCA_NODES:
            if "properties" not in node:
                continue
            node, path = node["properties"], path + ("properties",)
            if not isinstance(node, dict):
                raise InputError(source, path, "must be a mapping")
        yield name, node, path


def _policies_of_vdu(vdu: Any, props: dict, path: tuple, source: str,
                     table: Mapping[str, Mapping[str, Number]]) -> list[VduPolicy]:
    policy = props.get("monitoring_policy")
    if policy is None:
        return []
    where = path + ("monitoring_policy",)
    found: list[tuple[str, Mapping, Mapping, tuple, tuple]] = []  # ..., where its actions are
    if isinstance(policy, str):  # 2015: a monitor name plus a sibling failure_policy
        schema.validate(policy, SCHEMA, source, where, "monitor_name")
        if policy in defaults.NOOP_MONITOR_NAMES:
            return []
        if "failure_policy" not in props:
            raise InputError(source, path + ("failure_policy",),
                             f"is required with monitoring_policy: {policy}")
        failure = props["failure_policy"]
        schema.validate(failure, SCHEMA, source, path + ("failure_policy",),
                        "legacy_failure_policy")
        found.append((policy, {}, {"failure": failure}, where, path + ("failure_policy",)))
    elif isinstance(policy, dict) and "name" in policy:  # TOSCA
        schema.validate(policy, SCHEMA, source, where, "tosca_policy")
        found.append((policy["name"], policy.get("parameters", {}), policy["actions"], where,
                      where + ("actions",)))
    elif isinstance(policy, dict):  # 2016: keyed by monitor
        schema.validate(policy, SCHEMA, source, where, "driver_map")
        for name, entry in policy.items():
            found.append((name, entry.get("monitoring_params", {}), entry["actions"],
                          where + (name,), where + (name, "actions")))
    else:
        raise InputError(source, where, "must be a monitor name, a {name, parameters, actions} "
                                        "mapping, or a mapping keyed by monitor name")
    result: list[VduPolicy] = []
    for name, parameters, actions, at, actions_at in found:
        monitor = defaults.canonical_monitor_name(name)
        if monitor in defaults.NOOP_MONITOR_NAMES:
            continue
        check_name(vdu, source, path[:-1] if path[-1] == "properties" else path)
        if any(p.monitor == monitor for p in result):
            raise InputError(source, at, f"monitor {monitor} is given twice for this VDU")
        if actions_at[-1] == "failure_policy":  # 2015: the value itself is the action
            check_policy_action(actions["failure"], source, actions_at)
        else:
            check_policy_actions(actions, source, actions_at)
        result.append(VduPolicy(vdu, monitor,
                                _complete(monitor, parameters, source, at, table[monitor]),
                                dict(actions)))
    return result


def _complete(monitor: str, parameters: Mapping, source: str, at: tuple,
              monitor_defaults: Mapping[str, Number]) -> dict:
    """Fill in the monitor's defaults, in the order its probe type declares its parameters;
    drop (with a warning) a parameter another probe type has but this one never uses (the
    schema has already refused one no probe type has)."""
    given = dict(parameters)
    declared = [p.name for p in registry.get_probe(monitor).parameters]
    for name in [n for n in given if n not in declared]:
        LOG.warning("%s: %s: %s does not use a %s; ignored", source,
                    format_path(at + (name,)), monitor, name)
        del given[name]
    merged = {**monitor_defaults, **given}
    return {key: defaults.normalise_number(key, merged[key])
            for key in declared if key in merged}


def _why_nothing_to_monitor(vnfd: dict, container: tuple) -> str:
    reasons = []
    nodes = _get(vnfd, container)
    for name, node in (nodes.items() if isinstance(nodes, dict) else ()):
        props = _get(node, ("properties",)) if container == TOSCA_NODES else node
        if isinstance(props, dict):
            if "app_monitoring_policy" in props:
                reasons.append(f"{name} has only app_monitoring_policy (application "
                               "monitoring through Zabbix, not a liveness policy)")
            elif "monitoring_policy" in props:
                reasons.append(f"{name}'s monitoring_policy is noop")
    policies = _get(vnfd, ("topology_template", "policies"))
    for entry in policies if isinstance(policies, list) else ():
        for pname, body in (entry.items() if isinstance(entry, dict) else ()):
            ptype = _get(body, ("type",))
            if isinstance(ptype, str) and ptype.startswith("tosca.policies.tacker.Alarming"):
                reasons.append(f"policy {pname} is {ptype} (alarm-driven, not a liveness "
                               "policy)")
    detail = "; ".join(reasons) if reasons else "no VDU has a monitoring_policy"
    return f"nothing to monitor: {detail}"


def _get(node: Any, path: tuple) -> Any:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node
