"""Re-check a hand-edited nfvmon task's inputs with the generator's own rules.

`nfvmon validate` must not pass what `nfvmon generate` would never write: each input goes
through the function the generator normalises it with (ids, action ids, addresses, the VIM
target, monitor names, the parameter and action schemas, the installed policy actions) and must
come out unchanged. A value that obeys its rule but is written differently (`FD00::1`,
`count: 1.0`) is reported with the form the generator writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nfvmon import defaults
from nfvmon.errors import InputError, format_path, one_line
from nfvmon.generator import schema
from nfvmon.generator.check import same_value
from nfvmon.generator.monitor_defaults import (
    VNFD_SCHEMA,
    check_vim_parameters,
    check_vnf_parameters,
)
from nfvmon.generator.policy_actions import check_policy_actions
from nfvmon.identifiers import (
    canonical_action_id,
    canonical_ip,
    canonical_target,
    check_name,
    check_resource_id,
)
from nfvmon.probes import get_probe

#: The keys of one entry of `policies`, as VduTarget.as_input() writes them.
POLICY_KEYS = ("vdu", "mgmt_ips", "monitor", "parameters", "actions")
_VIM_PARAMETERS = tuple(defaults.VIM_MONITOR_DEFAULTS)


class _Problems(list):
    """Problems as `path: message` lines; `check` runs one rule and records its InputError."""

    def __init__(self, at: tuple):
        super().__init__()
        self.at = at

    def add(self, path: tuple, message: str) -> None:
        self.append(one_line(f"{format_path(self.at + path)}: {message}"))

    def check(self, path: tuple, rule: Callable[[], Any], given: Any = None,
              compare: bool = False) -> bool:
        """Run `rule`; with `compare`, its result must be `given` exactly (type included)."""
        try:
            canonical = rule()
        except InputError as exc:
            self.add(path + exc.path, exc.message)
            return False
        if compare and not same_value(given, canonical):
            self.add(path, f"{given!r} is not in canonical form (write {canonical!r})")
            return False
        return True


def vim_input_problems(given: Mapping, at: tuple) -> list[str]:
    """What `nfvmon.vim_ping_action`'s `input:` holds that the generator would not write."""
    problems = _Problems(at)
    _common(problems, given, "vim_id")
    if "targetip" in given:
        problems.check(("targetip",), lambda: canonical_target(given["targetip"], "", ()),
                       given["targetip"], compare=True)
    numbers = {name: given[name] for name in _VIM_PARAMETERS if name in given}
    if problems.check((), lambda: check_vim_parameters(numbers, "", ())):
        _canonical_numbers(problems, (), numbers)
    return problems


def vnf_input_problems(given: Mapping, at: tuple) -> list[str]:
    """What `nfvmon.vnf_policy_monitor`'s `input:` holds that the generator would not write."""
    problems = _Problems(at)
    _common(problems, given, "vnf_id")
    if "policies" not in given:
        return problems
    policies = given["policies"]
    if not isinstance(policies, list) or not policies:
        problems.add(("policies",), "must be a non-empty list of {vdu, mgmt_ips, monitor, "
                                    "parameters, actions}")
        return problems
    seen = set()
    for index, policy in enumerate(policies):
        path = ("policies", index)
        if _policy_problems(problems, path, policy):
            key = (policy["vdu"], policy["monitor"])
            if key in seen:
                problems.add(path, f"monitor {key[1]} is given twice for VDU {key[0]}")
            seen.add(key)
    return problems


def _common(problems: _Problems, given: Mapping, id_key: str) -> None:
    if id_key in given:
        problems.check((id_key,), lambda: check_resource_id(given[id_key], ""))
    if "action_id" in given:
        problems.check(("action_id",), lambda: _action_id(given["action_id"]),
                       given["action_id"], compare=True)
    if "run_mode" in given and given["run_mode"] not in defaults.RUN_MODES:
        problems.add(("run_mode",), f"must be one of {', '.join(defaults.RUN_MODES)}")


def _action_id(value: object) -> str:
    if not isinstance(value, str):
        raise InputError("", (), f"{value!r}: must be a UUID")
    return canonical_action_id(value)


def _policy_problems(problems: _Problems, path: tuple, policy: object) -> bool:
    """Record what is wrong with one `policies` entry; True when nothing is."""
    if not isinstance(policy, dict):
        problems.add(path, "must be a mapping {" + ", ".join(POLICY_KEYS) + "}")
        return False
    before = len(problems)
    for key in policy:
        if key not in POLICY_KEYS:
            problems.add(path + (key,), f"unknown key (known: {', '.join(POLICY_KEYS)})")
    for key in POLICY_KEYS:
        if key not in policy:
            problems.add(path + (key,), "is required")
    if len(problems) > before:
        return False
    problems.check(path + ("vdu",), lambda: check_name(policy["vdu"], "", ()))
    _mgmt_ip_problems(problems, path + ("mgmt_ips",), policy["mgmt_ips"])
    monitor = policy["monitor"]
    if monitor not in defaults.MONITOR_NAMES:
        problems.add(path + ("monitor",),
                     f"unknown monitor (known: {', '.join(defaults.MONITOR_NAMES)})")
    _parameter_problems(problems, path + ("parameters",), monitor, policy["parameters"])
    actions = policy["actions"]
    if problems.check(path + ("actions",),
                      lambda: schema.validate(actions, VNFD_SCHEMA, "", (), "actions")):
        problems.check(path + ("actions",), lambda: check_policy_actions(actions, "", ()))
    return len(problems) == before


def _mgmt_ip_problems(problems: _Problems, path: tuple, addresses: object) -> None:
    if not isinstance(addresses, list) or not addresses:
        problems.add(path, "must be a non-empty list of IP addresses")
        return
    for index, address in enumerate(addresses):
        if problems.check(path + (index,), lambda a=address: canonical_ip(a, "", ()),
                          address, compare=True) and address in addresses[:index]:
            problems.add(path + (index,), f"{address!r} is repeated")


def _parameter_problems(problems: _Problems, path: tuple, monitor: str,
                        parameters: object) -> None:
    """The generator writes every parameter of the monitor that has a default (the action
    reads each one), and an optional one only when the VNFD gave it."""
    if not problems.check((), lambda: check_vnf_parameters(parameters, "", path)):
        return
    if monitor not in defaults.MONITOR_NAMES:
        return
    declared = [p.name for p in get_probe(monitor).parameters]
    for name in parameters:
        if name not in declared:
            problems.add(path + (name,), f"{monitor} does not use a {name}")
    for name in defaults.VNF_MONITOR_DEFAULTS[monitor]:  # those with a default
        if name not in parameters:
            problems.add(path + (name,), "is required")
    _canonical_numbers(problems, path, {k: v for k, v in parameters.items() if k in declared})


def _canonical_numbers(problems: _Problems, path: tuple, numbers: Mapping) -> None:
    for name, value in numbers.items():
        canonical = defaults.normalise_number(name, value)
        if not same_value(value, canonical):
            problems.add(path + (name,), f"{value!r} is not in canonical form "
                                         f"(write {canonical!r})")
