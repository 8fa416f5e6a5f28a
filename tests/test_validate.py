"""`nfvmon validate`: Mistral's own parser and the nfvmon actions' signatures."""

from __future__ import annotations

import pytest

from nfvmon.cli import main
from tests.conftest import ROOT, SAMPLES, require_module

GENERATED = sorted((SAMPLES / "workflows").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "golden").glob("*.yaml"))

VALID_VIM = """\
version: '2.0'
vim_id_x:
  type: direct
  tasks:
    monitor_ping_vimPingVIMTASK:
      action: nfvmon.vim_ping_action
      input:
        vim_id: x
        targetip: 127.0.0.1
        count: 3
        timeout: 1
        interval: 1
        action_id: 7c9e6679-7425-40de-944b-e07fc1f90ae7
"""


@pytest.fixture
def mistral_parser():
    require_module("mistral")
    return require_module("mistral.lang.parser")


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: p.name)
def test_mistral_parser_accepts_every_generated_workflow(path, mistral_parser):
    specs = mistral_parser.get_workflow_list_spec_from_yaml(path.read_text(), validate=True)
    (workflow,) = specs.get_workflows()
    assert workflow.get_name() == path.name.removesuffix(".yaml") or path.parent.name == "golden"
    (task,) = workflow.get_tasks()
    assert task.get_action_name().startswith("nfvmon.")
    assert task.get_input()["action_id"]


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: p.name)
def test_validate_command_accepts_every_generated_workflow(path, mistral_parser, capsys):
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: valid\n"


def _validate(tmp_path, text, capsys) -> tuple[int, str]:
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    status = main(["validate", str(path)])
    return status, capsys.readouterr().err


def test_hand_written_valid_workflow_passes(tmp_path, mistral_parser, capsys):
    assert _validate(tmp_path, VALID_VIM, capsys) == (0, "")


def test_missing_action_input_is_invalid(tmp_path, mistral_parser, capsys):
    status, err = _validate(tmp_path, VALID_VIM.replace("        vim_id: x\n", ""), capsys)
    assert status == 1
    assert "vim_id_x.tasks.monitor_ping_vimPingVIMTASK.input: missing vim_id" in err


def test_unknown_action_input_is_invalid(tmp_path, mistral_parser, capsys):
    status, err = _validate(tmp_path, VALID_VIM + "        colour: blue\n", capsys)
    assert status == 1
    assert "input: colour: not an input of VimPingAction" in err


def test_inline_action_parameters_are_invalid(tmp_path, mistral_parser, capsys):
    text = VALID_VIM.replace("action: nfvmon.vim_ping_action",
                             "action: nfvmon.vim_ping_action count=3")
    status, err = _validate(tmp_path, text, capsys)
    assert status == 1 and "inline parameters" in err


def test_unknown_nfvmon_action_is_invalid(tmp_path, mistral_parser, capsys):
    text = VALID_VIM.replace("nfvmon.vim_ping_action", "nfvmon.vim_pong_action")
    status, err = _validate(tmp_path, text, capsys)
    assert status == 1 and "unknown nfvmon action nfvmon.vim_pong_action" in err


def test_workflow_mistral_rejects_is_invalid(tmp_path, mistral_parser, capsys):
    text = VALID_VIM.replace("      input:", "      on-success: no_such_task\n      input:")
    status, err = _validate(tmp_path, text, capsys)
    assert status == 1
    assert "Mistral's parser rejects it" in err and "no_such_task" in err
    assert len(err.strip().splitlines()) == 1


def test_workflow_named_like_a_uuid_is_rejected_by_mistral(tmp_path, mistral_parser, capsys):
    text = VALID_VIM.replace("vim_id_x:", "7c9e6679-7425-40de-944b-e07fc1f90ae7:")
    status, err = _validate(tmp_path, text, capsys)
    assert status == 1 and "UUID" in err


def test_broken_yaml_is_invalid_not_a_crash(tmp_path, capsys):
    status, err = _validate(tmp_path, "version: '2.0'\nwf: [unclosed\n", capsys)
    assert status == 1 and "invalid YAML" in err


def test_missing_file_is_an_input_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "absent.yaml")]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'absent.yaml'}: no such file"


def test_one_invalid_file_among_valid_ones_fails_the_run(tmp_path, mistral_parser, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID_VIM.replace("        vim_id: x\n", ""))
    assert main(["validate", str(GENERATED[0]), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"{GENERATED[0]}: valid" in out and str(bad) in err


# --- each nfvmon task's inputs, by the generator's own rules ----------------------------------

VALID_VNF = """\
version: '2.0'
vnf_id_v1:
  type: direct
  tasks:
    monitor_vnf_policies:
      action: nfvmon.vnf_policy_monitor
      input:
        vnf_id: v1
        action_id: 7c9e6679-7425-40de-944b-e07fc1f90ae7
        policies:
        - vdu: VDU1
          mgmt_ips: [127.0.0.2, fd00::3]
          monitor: http_ping
          parameters: {monitoring_delay: 45, count: 1, interval: 1, timeout: 5, retry: 3,
                       port: 80}
          actions: {failure: respawn}
"""
VNF_AT = "vnf_id_v1.tasks.monitor_vnf_policies.input"
VIM_AT = "vim_id_x.tasks.monitor_ping_vimPingVIMTASK.input"


def test_hand_written_valid_vnf_workflow_passes(tmp_path, capsys):
    assert _validate(tmp_path, VALID_VNF, capsys) == (0, "")


#: (replace this, with this) in VALID_VNF or VALID_VIM → the one problem that must be reported.
BAD_INPUTS = {
    "unknown-monitor": (VALID_VNF, "monitor: http_ping", "monitor: pingg",
                        f"{VNF_AT}.policies[0].monitor: unknown monitor (known: ping, "
                        "http_ping, tcp"),
    "alias-spelling": (VALID_VNF, "monitor: http_ping", "monitor: http-ping",
                       f"{VNF_AT}.policies[0].monitor: unknown monitor"),
    "negative-count": (VALID_VNF, "count: 1,", "count: -5,",
                       f"{VNF_AT}.policies[0].parameters.count: must be a positive integer"),
    "missing-parameter": (VALID_VNF, " retry: 3,", "",
                          f"{VNF_AT}.policies[0].parameters.retry: is required"),
    "unknown-parameter": (VALID_VNF, "retry: 3,", "retry: 3, retries: 3,",
                          f"{VNF_AT}.policies[0].parameters.retries: unknown key"),
    "port-out-of-range": (VALID_VNF, "port: 80", "port: 70000",
                          f"{VNF_AT}.policies[0].parameters.port: must be a port number"),
    "float-count": (VALID_VNF, "count: 1,", "count: 1.0,",
                    f"{VNF_AT}.policies[0].parameters.count: 1.0 is not in canonical form "
                    "(write 1)"),
    "not-an-ip": (VALID_VNF, "[127.0.0.2, fd00::3]", "[not-an-ip]",
                  f"{VNF_AT}.policies[0].mgmt_ips[0]: 'not-an-ip': not a valid IP address"),
    "ip-not-canonical": (VALID_VNF, "fd00::3", "'FD00:0::3'",
                         f"{VNF_AT}.policies[0].mgmt_ips[1]: 'FD00:0::3' is not in canonical "
                         "form (write 'fd00::3')"),
    "no-mgmt-ip": (VALID_VNF, "[127.0.0.2, fd00::3]", "[]",
                   f"{VNF_AT}.policies[0].mgmt_ips: must be a non-empty list"),
    "bad-vdu-name": (VALID_VNF, "vdu: VDU1", "vdu: 'VDU 1'",
                     f"{VNF_AT}.policies[0].vdu: 'VDU 1': must be 1-64 letters"),
    "unknown-event": (VALID_VNF, "{failure: respawn}", "{falure: respawn}",
                      f"{VNF_AT}.policies[0].actions.falure: unknown key"),
    "unknown-policy-key": (VALID_VNF, "monitor: http_ping", "monitor: http_ping\n"
                           "          colour: blue",
                           f"{VNF_AT}.policies[0].colour: unknown key"),
    "policies-not-a-list": (VALID_VNF, VALID_VNF[VALID_VNF.index("        policies:"):],
                            "        policies: {}\n",
                            f"{VNF_AT}.policies: must be a non-empty list"),
    "bad-vnf-id": (VALID_VNF, "vnf_id: v1", "vnf_id: 'v 1'", f"{VNF_AT}.vnf_id: 'v 1': must be"),
    "action-id-not-a-uuid": (VALID_VNF, "action_id: 7c9e6679", "action_id: x7c9e6679",
                             f"{VNF_AT}.action_id: 'x7c9e6679-7425-40de-944b-e07fc1f90ae7': "
                             "must be a UUID"),
    "bad-run-mode": (VALID_VNF, "vnf_id: v1", "vnf_id: v1\n        run_mode: later",
                     f"{VNF_AT}.run_mode: must be one of sync, async"),
    "vim-expression-target": (VALID_VIM, "targetip: 127.0.0.1", 'targetip: "<% $.x %>"',
                              f"{VIM_AT}.targetip: '<% $.x %>': not an IP address or host name"),
    "vim-expression-elsewhere": (VALID_VIM, "      input:", "      publish: {x: '{{ 1 }}'}\n"
                                 "      input:",
                                 "vim_id_x.tasks.monitor_ping_vimPingVIMTASK.publish.x: "
                                 "'{{ 1 }}' holds a Mistral expression"),
    "vim-negative-count": (VALID_VIM, "count: 3", "count: -5",
                           f"{VIM_AT}.count: must be a positive integer"),
    "vim-zero-timeout": (VALID_VIM, "timeout: 1", "timeout: 0",
                         f"{VIM_AT}.timeout: must be a positive number of seconds"),
    "vim-upper-case-host": (VALID_VIM, "targetip: 127.0.0.1", "targetip: Keystone.Example",
                            f"{VIM_AT}.targetip: 'Keystone.Example' is not in canonical form "
                            "(write 'keystone.example')"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_hand_edited_task_input_is_checked_like_the_generator_checks_it(case, tmp_path, capsys):
    text, old, new, problem = BAD_INPUTS[case]
    assert old in text
    status, err = _validate(tmp_path, text.replace(old, new, 1), capsys)
    assert status == 1
    assert f"{tmp_path / 'wf.yaml'}: {problem}" in err, err


def test_a_vim_host_name_target_passes(tmp_path, capsys):
    text = VALID_VIM.replace("targetip: 127.0.0.1", "targetip: keystone.example")
    assert _validate(tmp_path, text, capsys) == (0, "")


NOT_WORKFLOWS = {
    "vnfd": (SAMPLES / "vnfd-ping-and-http.yaml").read_text(),
    "list": "- 1\n- 2\n",
    "number": "5\n",
    "string": "hello\n",
    "version-only": "version: '2.0'\n",
    "workflow-not-a-mapping": "version: '2.0'\nwf: 3\n",
}


@pytest.mark.parametrize("case", sorted(NOT_WORKFLOWS))
def test_a_file_that_is_no_workflow_is_one_short_line(case, tmp_path, capsys):
    status, err = _validate(tmp_path, NOT_WORKFLOWS[case], capsys)
    assert status == 1
    (line,) = err.splitlines()
    assert line.startswith(f"{tmp_path / 'wf.yaml'}: not a Mistral workflow file")
    assert len(line) < 200 + len(str(tmp_path)), line
