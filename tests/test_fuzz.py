"""Whatever bytes, text or YAML-shaped data comes in, the only failure is an InputError.

InputError (NothingToMonitor is one) is what the CLI turns into `FILE: path: what`, exit 2.
Anything else escaping the loaders or the generator is a traceback for the user, or, for a
GeneratorBug, an "internal error" for input that was simply wrong.
"""

from __future__ import annotations

import os
import tempfile

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nfvmon import defaults
from nfvmon.errors import InputError
from nfvmon.generator import vim_workflow_from_data, vnf_workflow_from_data
from nfvmon.generator.loader import load_yaml_file, load_yaml_text

VIM_ID = "6261579e-d6f3-49ad-8bc3-a9cb974778ff"
VNF_ID = "d4f5e8a2-3b7c-4e1f-9a6d-2c8b0e5f7a91"
ACTION_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _only_input_errors(call, *args) -> object:
    """Run `call`: its result, or the InputError it raised; anything else fails the test."""
    try:
        return call(*args)
    except InputError as exc:
        return exc


def _generate_vim(config: object) -> object:
    return vim_workflow_from_data(config, "vim.yaml", VIM_ID, ACTION_ID)


def _generate_vnf(vnfd: object, mgmt_ips: dict | None = None) -> object:
    if mgmt_ips is None:  # what a VNFD's VDUs most likely are called
        vdus = _get(vnfd, "topology_template", "node_templates") or _get(vnfd, "vdus")
        names = [name for name in ("VDU1", "VDU2", "vdu1") if name in (vdus or {})]
        mgmt_ips = {name: ["127.0.0.1", "fd00::2"] for name in names}
    return vnf_workflow_from_data(vnfd, "vnfd.yaml", VNF_ID, mgmt_ips, ACTION_ID)


def _get(node: object, *keys: str) -> dict | None:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


# --- strategies --------------------------------------------------------------------------------

#: Pieces of YAML syntax and of values YAML resolves specially (dates, numbers, tags, aliases).
YAML_TOKENS = [
    ": ", "\n", "  ", "    ", "- ", "[", "]", "{", "}", ", ", "&a ", "*a", "<<: ", "? ", "#",
    "'", '"', "|", ">", "---\n", "...\n", "%YAML 1.1\n", "\t", "\\", "!!int ", "!!float ",
    "!!bool ", "!!timestamp ", "!!binary ", "!!set ", "!!omap ", "!!python/object ", "!x ",
    ".nan", ".inf", "-.inf", "0x", "0o", "0b", "1_000", "1:20", "~", "null", "yes", "no",
    "2023-02-30", "2023-13-01", "2001-12-14t21:59:43.10-05:00", "1e3", "1.0e+400", "9" * 30,
    "auth_url", "http://127.0.0.1:5000/v3", "monitor", "count", "timeout", "interval",
    "topology_template", "node_templates", "VDU1", "properties", "monitoring_policy",
    "name", "ping", "http-ping", "parameters", "actions", "failure", "respawn", "vdus",
    "monitoring_params", "failure_policy", "<% $.x %>", "{{ 1 }}", "\u2028", "\x85", "\x01",
    "\ufeff", "\ufffe", "\x7f",
]

yaml_ish_text = st.lists(
    st.sampled_from(YAML_TOKENS) | st.text(max_size=4), max_size=40).map("".join)

scalars = (st.none() | st.booleans() | st.integers(-(10 ** 6), 10 ** 6)
           | st.integers() | st.floats() | st.text(max_size=12)
           | st.sampled_from(["ping", "http-ping", "http_ping", "tcp", "noop", "respawn",
                              "failure", "127.0.0.1", "fd00::2"]))
keys = st.text(max_size=10) | st.integers(-2, 2) | st.sampled_from(
    ["auth_url", "monitor", "count", "timeout", "interval", "name", "parameters", "actions"])
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children,
                                                                      max_size=4),
    max_leaves=20,
)

numbers = (st.integers(-5, 70000) | st.floats() | st.booleans() | st.text(max_size=4)
           | st.none() | st.integers())
vim_configs = st.fixed_dictionaries(
    {"auth_url": st.sampled_from(["http://127.0.0.1:5000/v3", "https://[fd00::1]:5000/v3",
                                  "https://keystone.example:5000/v3"]) | st.text(max_size=20)
     | documents},
    optional={
        "monitor": st.dictionaries(
            st.sampled_from(["count", "timeout", "interval", "intervall"]) | keys, numbers,
            max_size=4) | documents,
        "type": st.sampled_from(["openstack", "kubernetes"]) | scalars,
        "cert_verify": st.sampled_from([True, "True", "false"]) | scalars,
        "username": scalars,
    },
)

monitor_names = st.sampled_from(
    [*defaults.MONITOR_NAMES, *defaults.MONITOR_ALIASES, *defaults.NOOP_MONITOR_NAMES, "pingg"])
parameter_maps = st.dictionaries(
    st.sampled_from([*defaults.VNF_PARAMETER_NAMES, "intervall"]) | keys, numbers, max_size=7)
action_maps = st.dictionaries(
    st.sampled_from(["failure", "falure"]) | keys,
    st.sampled_from(["respawn", "vdu_autoheal", "log"]) | scalars, max_size=3)
tosca_policies = st.fixed_dictionaries(
    {"name": monitor_names | scalars},
    optional={"parameters": parameter_maps | documents, "actions": action_maps | documents},
)
keyed_policies = st.dictionaries(
    monitor_names | keys,
    st.fixed_dictionaries({}, optional={"monitoring_params": parameter_maps | documents,
                                        "actions": action_maps | documents}) | documents,
    max_size=3,
)
policies = tosca_policies | keyed_policies | monitor_names | documents
vdu_names = st.sampled_from(["VDU1", "VDU2", "vdu1", "CP1"]) | keys
vdu_properties = st.fixed_dictionaries({}, optional={
    "monitoring_policy": policies,
    "failure_policy": st.sampled_from(["respawn", "vdu_autoheal"]) | scalars,
    "app_monitoring_policy": documents,
    "mgmt_driver": scalars,
    "image": scalars,
})
tosca_nodes = st.fixed_dictionaries(
    {"type": st.sampled_from(["tosca.nodes.nfv.VDU.Tacker", "tosca.nodes.nfv.CP.Tacker"])
     | scalars},
    optional={"properties": vdu_properties | documents},
)
alarm_policies = st.lists(st.dictionaries(
    keys, st.fixed_dictionaries({"type": st.sampled_from(
        ["tosca.policies.tacker.Alarming", "tosca.policies.tacker.Scaling"]) | scalars})
    | documents, max_size=2), max_size=2)
vnfds = st.one_of(
    st.fixed_dictionaries({"topology_template": st.fixed_dictionaries(
        {"node_templates": st.dictionaries(vdu_names, tosca_nodes | documents, max_size=3)
         | documents},
        optional={"policies": alarm_policies | documents},
    ) | documents}),
    st.fixed_dictionaries({"vdus": st.dictionaries(vdu_names, vdu_properties | documents,
                                                   max_size=3) | documents}),
    documents,
)
#: A real-looking VNFD whose VDU1 carries a random policy, mostly of plausible values.
plausible_numbers = st.integers(1, 100) | st.floats(0.01, 100) | numbers
plausible_policies = st.fixed_dictionaries(
    {"name": monitor_names,
     "actions": st.fixed_dictionaries({"failure": st.sampled_from(["respawn", "vdu_autoheal"])})
     | action_maps},
    optional={"parameters": st.dictionaries(
        st.sampled_from([*defaults.VNF_PARAMETER_NAMES, "intervall"]), plausible_numbers,
        max_size=6)},
) | keyed_policies | policies
plausible_vnfds = plausible_policies.map(lambda policy: {
    "tosca_definitions_version": "tosca_simple_profile_for_nfv_1_0_0",
    "topology_template": {"node_templates": {
        "VDU1": {"type": "tosca.nodes.nfv.VDU.Tacker",
                 "properties": {"image": "cirros", "monitoring_policy": policy}},
        "CP1": {"type": "tosca.nodes.nfv.CP.Tacker", "properties": {"management": True}},
    }},
})
addresses = st.sampled_from(["127.0.0.1", "fd00::2", "[fd00::3]", "192.0.2.1", "300.1.1.1",
                             "abc", "fe80::1%eth0", ""]) | st.text(max_size=8)
mgmt_ip_maps = st.dictionaries(st.sampled_from(["VDU1", "VDU2", "vdu1", "VDU9"]),
                               st.lists(addresses, max_size=2), max_size=3)


def _dump(data: object) -> str | None:
    """YAML text for `data`, or None when PyYAML cannot write it (huge ints, odd keys)."""
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError, TypeError):
        return None


# --- the loader --------------------------------------------------------------------------------

@FUZZ
@given(st.text(max_size=400))
@example("a: \x01")
@example("auth_url: 2023-02-30")
@example("a: !!bool maybe")
def test_any_text_loads_or_is_an_input_error(text):
    _only_input_errors(load_yaml_text, text, "fuzz.yaml")


@FUZZ
@given(yaml_ish_text)
@example("a: !!int abc")
@example("a: !!timestamp soon")
@example("a: !!int")
@example("count: 0x" + "f" * 5000)
def test_yaml_shaped_text_loads_or_is_an_input_error(text):
    _only_input_errors(load_yaml_text, text, "fuzz.yaml")


@FUZZ
@given(st.binary(max_size=400))
@example(b"a: \x01\x02")
@example(b"\xef\xbb\xbfa: 2023-13-01\n")
@example(b"a: \xff")
def test_any_bytes_in_a_file_load_or_are_an_input_error(data):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "fuzz.yaml")
        with open(path, "wb") as handle:
            handle.write(data)
        _only_input_errors(load_yaml_file, path)


# --- the generator, fed data -------------------------------------------------------------------

@FUZZ
@given(documents)
def test_any_document_as_a_vim_config_generates_or_is_an_input_error(config):
    _only_input_errors(_generate_vim, config)


@FUZZ
@given(vim_configs)
@example({"auth_url": "http://127.0.0.1:5000/v3", "monitor": {"timeout": float("nan")}})
def test_vim_config_shaped_data_generates_or_is_an_input_error(config):
    _only_input_errors(_generate_vim, config)


@FUZZ
@given(documents)
def test_any_document_as_a_vnfd_generates_or_is_an_input_error(vnfd):
    _only_input_errors(_generate_vnf, vnfd)


@FUZZ
@given(vnfds, mgmt_ip_maps)
@example({"vdus": {"vdu1": {"monitoring_policy": {
    "ping": {"monitoring_params": {"interval": float("nan")},
             "actions": {"failure": "respawn"}}}}}}, {"vdu1": ["127.0.0.1"]})
def test_vnfd_shaped_data_generates_or_is_an_input_error(vnfd, mgmt_ips):
    _only_input_errors(_generate_vnf, vnfd, mgmt_ips)


@FUZZ
@given(plausible_vnfds)
def test_vnfd_with_a_random_policy_generates_or_is_an_input_error(vnfd):
    _only_input_errors(_generate_vnf, vnfd, {"VDU1": ["127.0.0.1", "fd00::2"]})


# --- the whole path: data → YAML text → loader → generator -------------------------------------

def _load_then(generate, text: str) -> object:
    return generate(load_yaml_text(text, "fuzz.yaml"))


@FUZZ
@given(vim_configs)
def test_vim_config_written_as_yaml_generates_or_is_an_input_error(config):
    text = _dump(config)
    if text is not None:
        _only_input_errors(_load_then, _generate_vim, text)


@FUZZ
@given(vnfds | plausible_vnfds)
def test_vnfd_written_as_yaml_generates_or_is_an_input_error(vnfd):
    text = _dump(vnfd)
    if text is not None:
        _only_input_errors(_load_then, _generate_vnf, text)


@FUZZ
@given(yaml_ish_text)
def test_yaml_shaped_text_through_the_generators_is_fine_or_an_input_error(text):
    _only_input_errors(_load_then, _generate_vim, text)
    _only_input_errors(_load_then, _generate_vnf, text)


# --- what the user reads -----------------------------------------------------------------------

@FUZZ
@given(vnfds, mgmt_ip_maps)
@example({"vdus": {"vdu\n1": {"monitoring_policy": "ping", "failure_policy": "respawn"}}}, {})
def test_every_vnfd_input_error_is_one_line(vnfd, mgmt_ips):
    result = _only_input_errors(_generate_vnf, vnfd, mgmt_ips)
    if isinstance(result, InputError):
        assert len(str(result).splitlines()) == 1, f"not one line: {str(result)!r}"


@FUZZ
@given(vim_configs)
@example({"auth_url": "http://127.0.0.1:5000/v3", "monitor": {"count\u2028": 1}})
def test_every_vim_config_input_error_is_one_line(config):
    result = _only_input_errors(_generate_vim, config)
    if isinstance(result, InputError):
        assert len(str(result).splitlines()) == 1, f"not one line: {str(result)!r}"


@FUZZ
@given(yaml_ish_text)
def test_every_loader_input_error_is_one_line(text):
    result = _only_input_errors(load_yaml_text, text, "fuzz.yaml")
    if isinstance(result, InputError):
        assert len(str(result).splitlines()) == 1, f"not one line: {str(result)!r}"
