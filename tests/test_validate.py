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
