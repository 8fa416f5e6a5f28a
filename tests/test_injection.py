"""No user string can become a Mistral expression, a new key, or a changed structure.

Mistral evaluates `<% ... %>` (YAQL) and `{{ ... }}` / `{% ... %}` (Jinja) anywhere in a
workflow's text when it runs. Every string a user supplies that could reach a workflow is tried
with such payloads and with YAML syntax; each must be refused (exit 2, one line on stderr) or,
if accepted, come back from the generated YAML as the very same inert value and nothing else.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from nfvmon import defaults
from nfvmon.cli import main
from nfvmon.errors import InputError
from nfvmon.generator import vnf_workflow_from_data
from nfvmon.generator.check import EXPRESSION_MARKERS
from nfvmon.generator.loader import load_yaml_text
from tests.conftest import TACKER_SAMPLES

VIM_ID = "6261579e-d6f3-49ad-8bc3-a9cb974778ff"
VNF_ID = "d4f5e8a2-3b7c-4e1f-9a6d-2c8b0e5f7a91"
ACTION_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
AUTH_URL = "http://127.0.0.1:5000/v3"
MONITOR_SAMPLE = TACKER_SAMPLES / "tosca-vnfd-monitor.yaml"

VIM_TASK = "monitor_ping_vimPingVIMTASK"
VNF_TASK = "monitor_vnf_policies"
VIM_INPUTS = {"vim_id", "targetip", "count", "timeout", "interval", "action_id"}
VNF_INPUTS = {"vnf_id", "action_id", "policies"}
POLICY_KEYS = {"vdu", "mgmt_ips", "monitor", "parameters", "actions"}

#: Expressions, YAML syntax, line breaks YAML or a log reader honour, quotes and backslashes.
PAYLOADS = [
    "<% $.x %>", "<%$.x%>", "{{ 1 }}", "{{1}}", "{% if %}", "{%if%}", "{# c #}",
    "x\nevil: 1", "x\r\nevil: 1", "x\revil: 1", '": x', "': x", "x: y", "#comment", "x #c",
    "&anchor", "*alias", "!!python/object:os.system", "!!python/object/apply:os.system ['id']",
    "x\u2028evil: 1", "x\u2029evil: 1", "x\u0085evil: 1", "x'y", 'x"y', "x\\y", 'x\\"y',
    "{x: 1}", "[1, 2]", "- x", "? x", "|", ">", "x\ty", " x", "x ", "%YAML 1.1", "---",
    "<% $.x", "$.x %>", "x}}", "{{x", "\u00e9t\u00e9", "x\x00y",
]
#: The same payloads behind a legal first character, which a "starts with" check would miss.
PREFIXED = ["a" + p for p in PAYLOADS if not p[0].isalnum()] + ["respawn" + p for p in
                                                                ("<% $.x %>", "{{ 1 }}", "\n")]
ALL_PAYLOADS = PAYLOADS + PREFIXED


def _ids(values: list[str]) -> list[str]:
    return [json.dumps(value, ensure_ascii=True) for value in values]


# --- helpers -----------------------------------------------------------------------------------

def _run(capsys, argv: list[str]) -> dict | None:
    """None when refused (exit 2, one line); else the parsed workflow, checked to be inert."""
    status = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    if status == 2:
        assert out == ""
        assert len(err.splitlines()) == 1 and err.endswith("\n"), f"not one line: {err!r}"
        return None
    assert status == 0, f"exit {status}: {err!r}"
    return _inert(out)


def _strings(node, path=()):
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key, path + ("<key>",))
            yield from _strings(value, path + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, path + (index,))


def _inert(text: str) -> dict:
    """The workflow has exactly the contracted structure and no expression anywhere."""
    doc = yaml.safe_load(text)
    assert load_yaml_text(text, "<output>") == doc  # no anchors, aliases or duplicates either
    assert isinstance(doc, dict) and doc.pop("version") == "2.0"
    ((name, workflow),) = doc.items()
    assert set(workflow) == {"type", "description", "tasks"}
    assert workflow["type"] == "direct"
    ((task_name, task),) = workflow["tasks"].items()
    assert set(task) == {"action", "input"}
    given = task["input"]
    if task_name == VIM_TASK:
        assert task["action"] == "nfvmon.vim_ping_action"
        assert set(given) == VIM_INPUTS
        assert name == f"vim_id_{given['vim_id']}"
        for key in ("count", "timeout", "interval"):
            assert type(given[key]) in (int, float)
    else:
        assert task_name == VNF_TASK and task["action"] == "nfvmon.vnf_policy_monitor"
        assert set(given) == VNF_INPUTS
        assert name == f"vnf_id_{given['vnf_id']}"
        for policy in given["policies"]:
            assert set(policy) == POLICY_KEYS
            assert policy["monitor"] in defaults.MONITOR_NAMES
            assert set(policy["parameters"]) <= set(defaults.VNF_PARAMETER_NAMES)
            assert all(type(v) in (int, float) for v in policy["parameters"].values())
            assert set(policy["actions"]) <= set(defaults.POLICY_EVENTS)
            assert all(isinstance(v, str) for v in policy["actions"].values())
            for address in policy["mgmt_ips"]:
                assert str(ipaddress.ip_address(address)) == address
    for path, string in _strings(doc):
        assert not any(marker in string for marker in EXPRESSION_MARKERS), (path, string)
    return {"name": name, "input": given}


def _write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _vim_argv(config: Path, vim_id: str = VIM_ID, *extra: str) -> list[str]:
    return ["generate", "vim", str(config), f"--vim-id={vim_id}", *extra]


def _vnf_argv(vnfd: Path, *mgmt: str, vnf_id: str = VNF_ID, extra: tuple = ()) -> list[str]:
    argv = ["generate", "vnf", str(vnfd), f"--vnf-id={vnf_id}"]
    for value in mgmt or ("VDU1=127.0.0.1",):
        argv.append(f"--mgmt-ip={value}")
    return [*argv, *extra]


def _policy(name: object = "ping", parameters: object = None,
            actions: object = None) -> dict:
    policy: dict = {"name": name}
    if parameters is not None:
        policy["parameters"] = parameters
    policy["actions"] = {"failure": "respawn"} if actions is None else actions
    return policy


def _vnfd(policy: object, vdu: object = "VDU1") -> dict:
    return {
        "tosca_definitions_version": "tosca_simple_profile_for_nfv_1_0_0",
        "topology_template": {"node_templates": {
            vdu: {"type": "tosca.nodes.nfv.VDU.Tacker",
                  "properties": {"image": "cirros", "monitoring_policy": policy}},
        }},
    }


def _only_policy(result: dict) -> dict:
    (policy,) = result["input"]["policies"]
    return policy


@pytest.fixture
def vim_config(tmp_path) -> Path:
    return _write(tmp_path, "vim.yaml", {"auth_url": AUTH_URL})


# --- command-line strings ----------------------------------------------------------------------

@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_vim_id_payload_is_refused_or_inert(payload, vim_config, capsys):
    result = _run(capsys, _vim_argv(vim_config, payload))
    if result is not None:
        assert result["input"]["vim_id"] == payload
        assert result["name"] == f"vim_id_{payload}"


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_vnf_id_payload_is_refused_or_inert(payload, capsys):
    result = _run(capsys, _vnf_argv(MONITOR_SAMPLE, vnf_id=payload))
    if result is not None:
        assert result["input"]["vnf_id"] == payload
        assert result["name"] == f"vnf_id_{payload}"


ACTION_ID_PAYLOADS = ALL_PAYLOADS + [ACTION_ID + p for p in ("<% $.x %>", "\n", "\nx: 1", " ")]


@pytest.mark.parametrize("payload", ACTION_ID_PAYLOADS, ids=_ids(ACTION_ID_PAYLOADS))
@pytest.mark.parametrize("kind", ["vim", "vnf"])
def test_action_id_payload_is_refused_or_inert(kind, payload, vim_config, capsys):
    extra = (f"--action-id={payload}",)
    argv = (_vim_argv(vim_config, VIM_ID, *extra) if kind == "vim"
            else _vnf_argv(MONITOR_SAMPLE, extra=extra))
    result = _run(capsys, argv)
    if result is not None:
        assert result["input"]["action_id"] == payload


MGMT_IP_PAYLOADS = ALL_PAYLOADS + [
    "127.0.0.1" + p for p in ("<% $.x %>", "\n", "\nevil: 1", " ", "#", "%")
] + ["fd00::2" + p for p in ("%<% $.x %>", "%eth0", "]", "\u2028")] + [
    "[fd00::2" + p for p in ("#", "x", "\n", "%")
]


def _without_one_pair_of_brackets(value: str) -> str:
    return value[1:-1] if value.startswith("[") and value.endswith("]") else value


@pytest.mark.parametrize("payload", MGMT_IP_PAYLOADS, ids=_ids(MGMT_IP_PAYLOADS))
def test_mgmt_ip_payload_is_refused_or_inert(payload, capsys):
    result = _run(capsys, _vnf_argv(MONITOR_SAMPLE, f"VDU1={payload}"))
    if result is not None:
        written = _only_policy(result)["mgmt_ips"]
        try:
            supplied = ipaddress.ip_address(_without_one_pair_of_brackets(payload))
        except ValueError:
            pytest.fail(f"{payload!r} is not an IP address, yet it was accepted as {written}")
        assert written == [str(supplied)]


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_vdu_name_payload_in_mgmt_ip_option_is_refused(payload, capsys):
    """The sample has no such VDU, so the option is refused whatever the name's shape."""
    assert _run(capsys, _vnf_argv(MONITOR_SAMPLE, f"{payload}=127.0.0.1")) is None


# --- strings inside the VNFD ---------------------------------------------------------------------

@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_vdu_name_payload_in_vnfd_is_refused_or_inert(payload, tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd(_policy(), vdu=payload))
    result = _run(capsys, _vnf_argv(vnfd, f"{payload}=127.0.0.1"))
    if result is not None:
        assert _only_policy(result)["vdu"] == payload


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_vdu_name_payload_through_the_python_api_is_refused_or_inert(payload):
    try:
        generated = vnf_workflow_from_data(_vnfd(_policy(), vdu=payload), "vnfd.yaml", VNF_ID,
                                           {payload: ["127.0.0.1"]}, ACTION_ID)
    except InputError as exc:
        assert len(str(exc).splitlines()) == 1, f"not one line: {str(exc)!r}"
        return
    assert _only_policy(_inert(generated.text))["vdu"] == payload


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_policy_action_name_payload_is_refused_or_inert(payload, tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd(_policy(actions={"failure": payload})))
    result = _run(capsys, _vnf_argv(vnfd))
    if result is not None:
        assert _only_policy(result)["actions"] == {"failure": payload}


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_legacy_failure_policy_payload_is_refused_or_inert(payload, tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", {"vdus": {"vdu1": {
        "monitoring_policy": "ping", "failure_policy": payload}}})
    result = _run(capsys, _vnf_argv(vnfd, "vdu1=127.0.0.1"))
    if result is not None:
        assert _only_policy(result)["actions"] == {"failure": payload}


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
@pytest.mark.parametrize("form", ["tosca", "keyed-by-monitor", "legacy-2015"])
def test_monitor_name_payload_is_refused(form, payload, tmp_path, capsys):
    if form == "tosca":
        data = _vnfd(_policy(name=payload))
        mgmt = "VDU1=127.0.0.1"
    else:
        policy = ({payload: {"actions": {"failure": "respawn"}}} if form == "keyed-by-monitor"
                  else payload)
        data = {"vdus": {"vdu1": {"monitoring_policy": policy, "failure_policy": "respawn"}}}
        mgmt = "vdu1=127.0.0.1"
    vnfd = _write(tmp_path, "vnfd.yaml", data)
    assert _run(capsys, _vnf_argv(vnfd, mgmt)) is None


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_parameter_key_payload_is_refused(payload, tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd(_policy(parameters={"count": 1, payload: 1})))
    assert _run(capsys, _vnf_argv(vnfd)) is None


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_event_key_payload_is_refused(payload, tmp_path, capsys):
    actions = {"failure": "respawn", payload: "respawn"}
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd(_policy(actions=actions)))
    assert _run(capsys, _vnf_argv(vnfd)) is None


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=_ids(ALL_PAYLOADS))
def test_parameter_value_payload_is_refused(payload, tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd(_policy(parameters={"interval": payload})))
    assert _run(capsys, _vnf_argv(vnfd)) is None


#: Where a payload is pasted, unquoted, into VNFD text (YAML-level injection).
RAW_VNFD = """\
topology_template:
  node_templates:
    {vdu}:
      type: tosca.nodes.nfv.VDU.Tacker
      properties:
        monitoring_policy:
          name: {monitor}
          parameters:
            count: {count}
            {parameter}: 1
          actions:
            {event}: {action}
"""
RAW_SLOTS = {"vdu": "VDU1", "monitor": "ping", "count": "3", "parameter": "interval",
             "event": "failure", "action": "respawn"}
RAW_PAYLOADS = [p for p in ALL_PAYLOADS if "\x00" not in p]


@pytest.mark.parametrize("payload", RAW_PAYLOADS, ids=_ids(RAW_PAYLOADS))
@pytest.mark.parametrize("slot", sorted(RAW_SLOTS))
def test_payload_pasted_into_vnfd_text_cannot_change_the_workflow(slot, payload, tmp_path,
                                                                 capsys):
    values = dict(RAW_SLOTS)
    values[slot] = RAW_SLOTS[slot] + payload
    vnfd = tmp_path / "vnfd.yaml"
    vnfd.write_text(RAW_VNFD.format(**values), encoding="utf-8")
    result = _run(capsys, _vnf_argv(vnfd))
    if result is not None:
        # accepted: the workflow says exactly what the VNFD, as nfvmon reads it, says
        nodes = load_yaml_text(vnfd.read_text(encoding="utf-8"), "vnfd")["topology_template"][
            "node_templates"]
        ((vdu, node),) = nodes.items()
        given = node["properties"]["monitoring_policy"]
        policy = _only_policy(result)
        assert policy["vdu"] == vdu
        assert policy["monitor"] == defaults.canonical_monitor_name(given["name"])
        assert policy["mgmt_ips"] == ["127.0.0.1"]
        assert policy["parameters"].items() >= given["parameters"].items()
        assert policy["actions"] == given["actions"]


# --- the VIM's auth URL ------------------------------------------------------------------------

AUTH_URL_PAYLOADS = (
    [f"http://{p}:5000/v3" for p in ALL_PAYLOADS]
    + [f"https://127.0.0.1{p}/v3" for p in ALL_PAYLOADS]
    + [f"http://[fd00::1{p}]:5000/v3" for p in ("%25<% $.x %>", "<% $.x %>", "%25eth0")]
    + [f"http://keystone.example{p}/v3" for p in ("{{ 1 }}", "\n.evil", "\u2028", "..")]
)


#: What a host may look like once it reaches the workflow: an IP, or an RFC 1123 name.
HOST_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


@pytest.mark.parametrize("url", AUTH_URL_PAYLOADS, ids=_ids(AUTH_URL_PAYLOADS))
def test_auth_url_payload_is_refused_or_only_a_plain_host_reaches_the_workflow(
        url, tmp_path, capsys):
    config = _write(tmp_path, "vim.yaml", {"auth_url": url})
    result = _run(capsys, _vim_argv(config))
    if result is not None:
        target = result["input"]["targetip"]
        try:
            assert str(ipaddress.ip_address(target)) == target
        except ValueError:
            assert HOST_NAME_RE.fullmatch(target), target


@pytest.mark.parametrize("payload", RAW_PAYLOADS, ids=_ids(RAW_PAYLOADS))
def test_payload_pasted_into_vim_config_text_cannot_change_the_workflow(payload, tmp_path,
                                                                       capsys):
    config = tmp_path / "vim.yaml"
    config.write_text(f"auth_url: http://127.0.0.1{payload}:5000/v3\nmonitor:\n  count: 2\n",
                      encoding="utf-8")
    result = _run(capsys, _vim_argv(config))
    if result is not None:
        # accepted: the target is the host of the auth_url the file (as nfvmon reads it) holds
        given = load_yaml_text(config.read_text(encoding="utf-8"), "vim")
        assert result["input"]["targetip"] == urlsplit(given["auth_url"].strip()).hostname
        assert HOST_NAME_RE.fullmatch(result["input"]["targetip"])
        assert result["input"]["count"] == given["monitor"]["count"]


def test_credentials_with_payloads_never_reach_the_workflow(tmp_path, capsys):
    config = _write(tmp_path, "vim.yaml", {
        "auth_url": AUTH_URL, "username": "<% $.x %>", "password": "{{ 1 }}\nevil: 1",
        "project_name": "{% if %}", "bearer_token": "*alias"})
    result = _run(capsys, _vim_argv(config))
    assert result is not None
    assert set(result["input"]) == VIM_INPUTS and result["input"]["targetip"] == "127.0.0.1"


# --- legitimate edge cases that must work ------------------------------------------------------

def _vnf_ok(capsys, vnfd: Path, *mgmt: str) -> dict:
    result = _run(capsys, _vnf_argv(vnfd, *mgmt, extra=(f"--action-id={ACTION_ID}",)))
    assert result is not None, "refused"
    return result


def _vim_ok(capsys, tmp_path: Path, auth_url: str, vim_id: str = VIM_ID) -> dict:
    config = _write(tmp_path, "vim.yaml", {"auth_url": auth_url})
    result = _run(capsys, _vim_argv(config, vim_id, f"--action-id={ACTION_ID}"))
    assert result is not None, "refused"
    return result["input"]


@pytest.mark.parametrize("address, canonical", [
    ("fd00::2", "fd00::2"),
    ("fd00:0:0:0:0:0:0:2", "fd00::2"),
    ("fd00:0000:0000:0000:0000:0000:0000:0002", "fd00::2"),
    ("FD00::2", "fd00::2"),
    ("[fd00::2]", "fd00::2"),
    ("::ffff:127.0.0.1", "127.0.0.1"),
    ("127.0.0.1", "127.0.0.1"),
    ("192.0.2.10", "192.0.2.10"),
])
def test_management_ip_is_written_in_canonical_form(address, canonical, capsys):
    policy = _only_policy(_vnf_ok(capsys, MONITOR_SAMPLE, f"VDU1={address}"))
    assert policy["mgmt_ips"] == [canonical]


def test_spellings_of_one_address_become_one_address_and_order_is_kept(capsys):
    policy = _only_policy(_vnf_ok(capsys, MONITOR_SAMPLE, "VDU1=fd00::2", "VDU1=127.0.0.3",
                                  "VDU1=fd00:0::0002", "VDU1=192.0.2.7"))
    assert policy["mgmt_ips"] == ["fd00::2", "127.0.0.3", "192.0.2.7"]


@pytest.mark.parametrize("auth_url, target", [
    ("https://[fd00::1]:5000/v3", "fd00::1"),
    ("https://[FD00:0:0::1]:5000/v3", "fd00::1"),
    ("http://[fd00::1]/identity", "fd00::1"),
    ("https://Keystone.Example.COM:5000/v3", "keystone.example.com"),
    ("https://keystone.example.com.:5000/v3", "keystone.example.com"),
    ("http://127.0.0.1:5000/v3", "127.0.0.1"),
    ("http://192.0.2.5/identity", "192.0.2.5"),
    ("HTTPS://127.0.0.2:5000/v3", "127.0.0.2"),
    ("http://user@127.0.0.3:5000/v3", "127.0.0.3"),
    ("  http://127.0.0.4:5000/v3  ", "127.0.0.4"),
])
def test_auth_url_host_becomes_the_target(auth_url, target, tmp_path, capsys):
    assert _vim_ok(capsys, tmp_path, auth_url)["targetip"] == target


@pytest.mark.parametrize("vim_id", [VIM_ID, "k8s-cluster-1", "VIM.prod_2", "x" * 128])
def test_ordinary_vim_ids_are_accepted_as_given(vim_id, tmp_path, capsys):
    given = _vim_ok(capsys, tmp_path, AUTH_URL, vim_id)
    assert given["vim_id"] == vim_id


def test_uppercase_action_id_is_written_in_canonical_form(tmp_path, capsys):
    config = _write(tmp_path, "vim.yaml", {"auth_url": AUTH_URL})
    result = _run(capsys, _vim_argv(config, VIM_ID, f"--action-id={ACTION_ID.upper()}"))
    assert result is not None and result["input"]["action_id"] == ACTION_ID


def test_http_ping_with_a_hyphen_becomes_http_ping(tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", _vnfd(_policy(name="http-ping")))
    policy = _only_policy(_vnf_ok(capsys, vnfd))
    assert policy["monitor"] == "http_ping"
    assert policy["parameters"]["port"] == defaults.VNF_MONITOR_DEFAULTS["http_ping"]["port"]


def test_http_ping_key_with_a_hyphen_becomes_http_ping_in_the_legacy_form(tmp_path, capsys):
    vnfd = _write(tmp_path, "vnfd.yaml", {"vdus": {"vdu1": {"monitoring_policy": {
        "http-ping": {"monitoring_params": {"port": 8000}, "actions": {"failure": "respawn"}}}}}})
    policy = _only_policy(_vnf_ok(capsys, vnfd, "vdu1=127.0.0.1"))
    assert policy["monitor"] == "http_ping" and policy["parameters"]["port"] == 8000


def test_names_with_dots_hyphens_and_underscores_are_accepted_as_given(tmp_path, capsys,
                                                                        monkeypatch):
    from nfvmon.generator import policy_actions

    # A policy action must be installed: pretend a plugin of that name is.
    monkeypatch.setattr(policy_actions, "installed_policy_actions",
                        lambda: ("respawn", "vdu_autoheal.v2-x"))
    vnfd = _write(tmp_path, "vnfd.yaml",
                  _vnfd(_policy(actions={"failure": "vdu_autoheal.v2-x"}), vdu="vdu-1.a_b"))
    policy = _only_policy(_vnf_ok(capsys, vnfd, "vdu-1.a_b=fd00::5"))
    assert policy["vdu"] == "vdu-1.a_b"
    assert policy["actions"] == {"failure": "vdu_autoheal.v2-x"}
    assert policy["mgmt_ips"] == ["fd00::5"]
