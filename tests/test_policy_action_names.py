"""A policy action nobody installed is refused wherever a VNFD enters, not when the VNF is down.

`failure: respwan` used to pass `generate`, `validate` and `vnf create`, and failed only when
the conductor had to run it. Every entry checks the name against the installed
`nfvmon.policy_actions` plugins and lists them in its one-line message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nfvmon.cli import main
from nfvmon.db.api import VNF
from nfvmon.errors import InputError
from nfvmon.generator import policy_actions
from nfvmon.lifecycle import Lifecycle
from tests.test_lifecycle import RecordingBackend, RecordingControl

INSTALLED = "installed: autoscaling, log, log_and_kill, respawn, vdu_autoheal"
UNKNOWN = f"unknown policy action 'respwan' ({INSTALLED})"
TOSCA_AT = "topology_template.node_templates.VDU1.properties.monitoring_policy.actions.failure"


def _tosca(action: str) -> dict:
    return {"tosca_definitions_version": "tosca_simple_profile_for_nfv_1_0_0",
            "topology_template": {"node_templates": {"VDU1": {
                "type": "tosca.nodes.nfv.VDU.Tacker",
                "properties": {"monitoring_policy": {"name": "ping",
                                                     "actions": {"failure": action}}}}}}}


LEGACY_2016 = {"vdus": {"vdu1": {"monitoring_policy": {
    "ping": {"actions": {"failure": "respawn"}},
    "http_ping": {"actions": {"failure": "respwan"}}}}}}
LEGACY_2015 = {"vdus": {"vdu1": {"monitoring_policy": "ping", "failure_policy": "respwan"}}}

FORMS = {
    "tosca": (_tosca("respwan"), "VDU1", TOSCA_AT),
    "legacy-2016": (LEGACY_2016, "vdu1", "vdus.vdu1.monitoring_policy.http_ping.actions.failure"),
    "legacy-2015": (LEGACY_2015, "vdu1", "vdus.vdu1.failure_policy"),
}


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "vnfd.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("form", sorted(FORMS))
def test_generate_refuses_a_misspelled_policy_action_and_lists_the_installed_ones(
        form, tmp_path, capsys):
    vnfd, vdu, at = FORMS[form]
    path = _write(tmp_path, vnfd)
    out_file = tmp_path / "wf.yaml"
    status = main(["generate", "vnf", str(path), "--vnf-id", "v1", "--mgmt-ip",
                   f"{vdu}=127.0.0.2", "-o", str(out_file)])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == f"{path}: {at}: {UNKNOWN}\n"
    assert not out_file.exists()


def test_installed_policy_actions_are_accepted(tmp_path, capsys):
    for action in ("respawn", "log", "log_and_kill", "vdu_autoheal", "autoscaling"):
        path = _write(tmp_path, _tosca(action))
        assert main(["generate", "vnf", str(path), "--vnf-id", "v1",
                     "--mgmt-ip", "VDU1=127.0.0.2"]) == 0
        assert f'"failure": "{action}"' in capsys.readouterr().out


def test_a_newly_installed_plugin_is_accepted_by_its_entry_point_name(monkeypatch, tmp_path,
                                                                      capsys):
    """The names come from the `nfvmon.policy_actions` entry points, not from a list here."""
    from importlib import metadata

    real = metadata.entry_points

    def with_plugin(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == "nfvmon.policy_actions":
            found.append(metadata.EntryPoint("page_oncall", "x:Y", "nfvmon.policy_actions"))
        return found

    monkeypatch.setattr(metadata, "entry_points", with_plugin)
    policy_actions.installed_policy_actions.cache_clear()
    try:
        path = _write(tmp_path, _tosca("page_oncall"))
        assert main(["generate", "vnf", str(path), "--vnf-id", "v1",
                     "--mgmt-ip", "VDU1=127.0.0.2"]) == 0
        capsys.readouterr()
        assert main(["generate", "vnf", str(_write(tmp_path, _tosca("respwan"))),
                     "--vnf-id", "v1", "--mgmt-ip", "VDU1=127.0.0.2"]) == 2
        assert "page_oncall, respawn" in capsys.readouterr().err
    finally:
        policy_actions.installed_policy_actions.cache_clear()


@pytest.mark.parametrize("form", sorted(FORMS))
def test_vnf_create_refuses_a_misspelled_policy_action_and_stores_nothing(form, store):
    vnfd, vdu, at = FORMS[form]
    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend, RecordingControl())
    with pytest.raises(InputError) as refused:
        lifecycle.create_vnf(vnfd, "vnfd.yaml", {vdu: ["127.0.0.2"]}, vnf_id="vnf-1")
    assert str(refused.value) == f"vnfd.yaml: {at}: {UNKNOWN}"
    assert store.get_vnf("vnf-1") is None and store.get_monitor(VNF, "vnf-1") is None
    assert store.list_vnfs() == [] and backend.deployed == []


VNF_WORKFLOW = """\
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
          mgmt_ips: [127.0.0.2]
          monitor: ping
          parameters: {monitoring_delay: 45, count: 3, interval: 1, timeout: 2, retry: 3}
          actions: {failure: respwan}
"""


def test_validate_refuses_a_misspelled_policy_action_in_a_workflow(tmp_path, capsys):
    path = tmp_path / "wf.yaml"
    path.write_text(VNF_WORKFLOW)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert (f"{path}: vnf_id_v1.tasks.monitor_vnf_policies.input.policies[0].actions.failure: "
            f"{UNKNOWN}\n") in err
    path.write_text(VNF_WORKFLOW.replace("respwan", "respawn"))
    assert main(["validate", str(path)]) == 0
