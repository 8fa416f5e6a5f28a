"""The CLI contract later issues and users rely on: names, inputs, types, defaults, output."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

from nfvmon import defaults
from nfvmon.actions import ACTIONS, VimPingAction, VnfPolicyMonitorAction
from nfvmon.cli import main
from nfvmon.generator import schema
from tests.conftest import SAMPLES, TACKER_SAMPLES

VIM_ID = "6261579e-d6f3-49ad-8bc3-a9cb974778ff"
VIM_INPUTS = {"vim_id", "targetip", "count", "timeout", "interval", "action_id"}


def _run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _vim(capsys, config: Path, *extra) -> dict:
    status, out, err = _run(capsys, "generate", "vim", str(config), "--vim-id", VIM_ID, *extra)
    assert status == 0, err
    return yaml.safe_load(out)


def _only_task(doc: dict) -> tuple[str, dict, dict]:
    (name,) = [key for key in doc if key != "version"]
    (task_name, task), = doc[name]["tasks"].items()
    return name, task_name, task


def test_vim_workflow_has_the_contracted_shape(capsys):
    doc = _vim(capsys, SAMPLES / "vim-config.yaml")
    name, task_name, task = _only_task(doc)
    assert doc["version"] == "2.0"
    assert name == f"vim_id_{VIM_ID}"
    assert doc[name]["type"] == "direct"
    assert task_name == "monitor_ping_vimPingVIMTASK"
    assert task["action"] == "nfvmon.vim_ping_action"
    assert set(task["input"]) == VIM_INPUTS
    assert task["input"]["targetip"] == "127.0.0.1"
    assert task["input"]["vim_id"] == VIM_ID


def test_vim_numbers_are_yaml_numbers_not_strings(capsys):
    _, _, task = _only_task(_vim(capsys, SAMPLES / "vim-config.yaml"))
    for key in ("count", "timeout", "interval"):
        assert type(task["input"][key]) in (int, float), key


def test_vim_monitor_block_overrides_and_defaults_fill_the_rest(tmp_path, capsys):
    config = tmp_path / "vim.yaml"
    config.write_text("auth_url: http://127.0.0.1:5000/v3\nmonitor:\n  interval: 0.25\n")
    _, _, task = _only_task(_vim(capsys, config))
    assert task["input"]["interval"] == 0.25
    assert task["input"]["count"] == defaults.VIM_MONITOR_DEFAULTS["count"]
    assert task["input"]["timeout"] == defaults.VIM_MONITOR_DEFAULTS["timeout"]


def test_credentials_never_reach_the_vim_workflow(tmp_path, capsys):
    config = tmp_path / "vim.yaml"
    config.write_text("auth_url: https://127.0.0.1:5000/v3\nusername: admin-user-x\n"
                      "password: s3cr3t-pw\nproject_name: proj-x\nbearer_token: tok-x\n"
                      "ssl_ca_cert: cert-x\n")
    status, out, _ = _run(capsys, "generate", "vim", str(config), "--vim-id", VIM_ID)
    assert status == 0
    for secret in ("admin-user-x", "s3cr3t-pw", "proj-x", "tok-x", "cert-x"):
        assert secret not in out


def test_action_id_defaults_to_a_fresh_uuid4(capsys):
    ids = []
    for _ in range(2):
        _, _, task = _only_task(_vim(capsys, SAMPLES / "vim-config.yaml"))
        ids.append(task["input"]["action_id"])
    assert ids[0] != ids[1]
    assert all(uuid.UUID(value).version == 4 for value in ids)


def test_given_action_id_is_written_in_canonical_form(capsys):
    given = "7C9E6679742540DE944BE07FC1F90AE7"
    _, _, task = _only_task(_vim(capsys, SAMPLES / "vim-config.yaml", "--action-id", given))
    assert task["input"]["action_id"] == "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_json_format_prints_workflow_name_and_action_id(capsys):
    status, out, _ = _run(capsys, "generate", "vim", str(SAMPLES / "vim-config.yaml"),
                          "--vim-id", VIM_ID, "-f", "json")
    assert status == 0
    result = json.loads(out)
    assert set(result) == {"workflow", "name", "action_id"}
    assert result["name"] == f"vim_id_{VIM_ID}"
    _, _, task = _only_task(yaml.safe_load(result["workflow"]))
    assert task["input"]["action_id"] == result["action_id"]


def test_output_file_holds_the_workflow_and_stdout_stays_quiet(tmp_path, capsys):
    out_file = tmp_path / "wf.yaml"
    status, out, _ = _run(capsys, "generate", "vim", str(SAMPLES / "vim-config.yaml"),
                          "--vim-id", VIM_ID, "-o", str(out_file))
    assert status == 0 and out == ""
    assert _only_task(yaml.safe_load(out_file.read_text()))[0] == f"vim_id_{VIM_ID}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wf.yaml"]


def test_vnf_workflow_has_the_contracted_inputs(capsys):
    status, out, err = _run(capsys, "generate", "vnf", str(SAMPLES / "vnfd-ping-and-http.yaml"),
                            "--vnf-id", "vnf-1", "--mgmt-ip", "VDU1=127.0.0.2",
                            "--mgmt-ip", "VDU1=127.0.0.3", "--mgmt-ip", "VDU2=127.0.0.4")
    assert status == 0, err
    name, task_name, task = _only_task(yaml.safe_load(out))
    assert name == "vnf_id_vnf-1" and task_name == "monitor_vnf_policies"
    assert task["action"] == "nfvmon.vnf_policy_monitor"
    inputs = task["input"]
    assert set(inputs) == {"vnf_id", "policies", "action_id"}
    vdu1, vdu2 = inputs["policies"]
    assert vdu1["vdu"] == "VDU1" and vdu1["mgmt_ips"] == ["127.0.0.2", "127.0.0.3"]
    assert vdu1["monitor"] == "ping" and vdu1["actions"] == {"failure": "respawn"}
    assert vdu2["monitor"] == "http_ping" and vdu2["parameters"]["port"] == 8080
    assert vdu2["actions"] == {"failure": "log_and_kill"}


def _vnf_policies(capsys, sample: str, vdu: str) -> list[dict]:
    status, out, err = _run(capsys, "generate", "vnf", str(TACKER_SAMPLES / sample),
                            "--vnf-id", "v", "--mgmt-ip", f"{vdu}=127.0.0.2")
    assert status == 0, err
    return _only_task(yaml.safe_load(out))[2]["input"]["policies"]


def test_partial_parameters_are_filled_from_the_documented_defaults(capsys):
    (policy,) = _vnf_policies(capsys, "tosca-openwrt.yaml", "VDU1")
    expected = dict(defaults.VNF_MONITOR_DEFAULTS["ping"], count=3, interval=10)
    assert policy["parameters"] == expected


def test_http_ping_policy_gets_a_port_and_ping_does_not(capsys):
    (http,) = _vnf_policies(capsys, "tosca-vnfd-http-monitor.yaml", "VDU1")
    assert http["monitor"] == "http_ping"
    assert http["parameters"]["port"] == 8000 and http["parameters"]["retry"] == 5
    (ping,) = _vnf_policies(capsys, "tosca-vnfd-monitor.yaml", "VDU1")
    assert "port" not in ping["parameters"]


def test_legacy_2015_failure_policy_becomes_the_failure_action(capsys):
    (policy,) = _vnf_policies(capsys, "legacy-2015-vnfd.yaml", "vdu1")
    assert policy["monitor"] == "ping" and policy["actions"] == {"failure": "respawn"}


def test_legacy_2016_float_interval_is_kept(capsys):
    (policy,) = _vnf_policies(capsys, "legacy-vnfd-monitor.yaml", "vdu1")
    assert policy["parameters"]["interval"] == 0.5


def test_duplicate_mgmt_driver_outside_the_policy_only_warns(capsys):
    status, _, err = _run(capsys, "generate", "vnf",
                          str(TACKER_SAMPLES / "tosca-vnfd-monitoring-vdu-autoheal.yaml"),
                          "--vnf-id", "v", "--mgmt-ip", "VDU1=127.0.0.2")
    assert status == 0
    assert "properties.mgmt_driver: duplicate key" in err and "WARNING" in err


def test_action_constructors_take_exactly_the_generated_inputs(capsys):
    _, _, vim_task = _only_task(_vim(capsys, SAMPLES / "vim-config.yaml"))
    action = VimPingAction(**vim_task["input"])
    assert action.targetip == "127.0.0.1"
    (policy,) = _vnf_policies(capsys, "tosca-vnfd-monitor.yaml", "VDU1")
    vnf_action = VnfPolicyMonitorAction(vnf_id="v", policies=[policy], action_id="a")
    assert vnf_action.policies[0]["vdu"] == "VDU1"


def test_run_mode_async_is_a_task_input_the_actions_turn_into_is_sync(capsys, tmp_path):
    from nfvmon.generator.validate import problems_in_file

    _, _, vim_task = _only_task(_vim(capsys, SAMPLES / "vim-config.yaml", "--run-mode", "async"))
    assert set(vim_task["input"]) == VIM_INPUTS | {"run_mode"}
    assert vim_task["input"]["run_mode"] == "async"
    assert VimPingAction(**vim_task["input"]).is_sync() is False
    status, out, err = _run(capsys, "generate", "vnf", str(SAMPLES / "vnfd-ping-and-http.yaml"),
                            "--vnf-id", "vnf-1", "--mgmt-ip", "VDU1=127.0.0.2",
                            "--mgmt-ip", "VDU2=127.0.0.4", "--run-mode", "async")
    assert status == 0, err
    (tmp_path / "vnf.yaml").write_text(out)
    assert problems_in_file(str(tmp_path / "vnf.yaml")) == []  # Mistral's parser, signature
    _, _, vnf_task = _only_task(yaml.safe_load(out))
    assert VnfPolicyMonitorAction(**vnf_task["input"]).is_sync() is False
    # sync, the default, leaves the workflow as it always was: no run_mode input at all
    _, _, sync_task = _only_task(_vim(capsys, SAMPLES / "vim-config.yaml", "--run-mode", "sync"))
    assert "run_mode" not in sync_task["input"] and VimPingAction(**sync_task["input"]).is_sync()


def test_action_defaults_are_the_single_source_defaults():
    import inspect

    params = inspect.signature(VimPingAction.__init__).parameters
    for key, value in defaults.VIM_MONITOR_DEFAULTS.items():
        assert params[key].default == value


def test_schemas_name_the_same_parameters_as_the_defaults():
    vnf = schema._schema_document("vnfd_monitoring.schema.json")
    assert tuple(vnf["$defs"]["parameters"]["properties"]) == defaults.VNF_PARAMETER_NAMES
    vim = schema._schema_document("vim_config.schema.json")
    assert set(vim["properties"]["monitor"]["properties"]) == set(defaults.VIM_MONITOR_DEFAULTS)
    for monitor, params in defaults.VNF_MONITOR_DEFAULTS.items():
        assert set(params) <= set(defaults.VNF_PARAMETER_NAMES), monitor


def test_mistral_action_entry_points_match_the_action_registry():
    found = {ep.name: ep.load() for ep in entry_points(group="mistral.actions")
             if ep.name.startswith("nfvmon.")}
    assert found == ACTIONS


def test_console_script_is_installed_and_runs(tmp_path):
    script = Path(sys.executable).parent / "nfvmon"
    if not script.exists():
        pytest.fail(f"console script {script} is missing: is nfvmon installed in this venv?")
    result = subprocess.run([str(script), "generate", "vim", str(SAMPLES / "vim-config.yaml"),
                             "--vim-id", VIM_ID, "-f", "json"], capture_output=True, text=True,
                            cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == f"vim_id_{VIM_ID}"
