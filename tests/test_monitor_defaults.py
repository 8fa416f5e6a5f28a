"""`[monitor]` options are the operator's defaults wherever a workflow is generated.

A parameter the VNFD (or the VIM config's `monitor:` block) leaves out is taken from the
operator's defaults, then from nfvmon.defaults; a value the input gives always wins. Defaults
are checked with the same rules as a VNFD's parameters: `ping_count = 0` is refused in one line.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from oslo_config import cfg

from nfvmon import config, defaults
from nfvmon.db.api import VIM, VNF
from nfvmon.errors import InputError
from nfvmon.generator import vim_workflow_from_data, vnf_workflow_from_data
from nfvmon.lifecycle import Lifecycle
from tests.test_lifecycle import RecordingBackend, RecordingControl

ACTION_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#: A VNFD whose ping policy sets only `count`, and a VIM config with no monitor block.
VNFD = {"topology_template": {"node_templates": {"VDU1": {
    "type": "tosca.nodes.nfv.VDU.Tacker",
    "properties": {"monitoring_policy": {"name": "ping", "parameters": {"count": 2},
                                         "actions": {"failure": "respawn"}}}}}}}
VIM_CONFIG = {"auth_url": "http://127.0.0.1:5000/v3"}


def _task_input(workflow) -> dict:
    (task,) = yaml.safe_load(workflow.text)[workflow.name]["tasks"].values()
    return task["input"]


def _vnf(monitor_defaults=None):
    return vnf_workflow_from_data(VNFD, "vnfd.yaml", "v1", {"VDU1": ["127.0.0.2"]}, ACTION_ID,
                                  monitor_defaults=monitor_defaults)


def test_operator_defaults_fill_what_the_vnfd_leaves_out():
    overrides = {"ping": {"interval": 7, "retry": 5, "count": 9},
                 "tcp": {"port": 2222}}
    (policy,) = _task_input(_vnf(overrides))["policies"]
    assert policy["parameters"] == {"monitoring_delay": 45, "count": 2, "interval": 7,
                                    "timeout": 2, "retry": 5}


def test_operator_defaults_fill_what_the_vim_config_leaves_out():
    workflow = vim_workflow_from_data({**VIM_CONFIG, "monitor": {"count": 2}}, "vim.yaml", "x",
                                      ACTION_ID, monitor_defaults={"vim": {"count": 8,
                                                                           "interval": 0.5}})
    got = _task_input(workflow)
    assert (got["count"], got["timeout"], got["interval"]) == (2, 1, 0.5)


def test_built_in_defaults_given_as_overrides_change_not_a_byte():
    built_in = {"vim": dict(defaults.VIM_MONITOR_DEFAULTS),
                **{m: dict(p) for m, p in defaults.VNF_MONITOR_DEFAULTS.items()}}
    assert _vnf(built_in).text == _vnf().text
    assert vim_workflow_from_data(VIM_CONFIG, "vim.yaml", "x", ACTION_ID,
                                  monitor_defaults=built_in).text == \
        vim_workflow_from_data(VIM_CONFIG, "vim.yaml", "x", ACTION_ID).text


@pytest.mark.parametrize("overrides, message", [
    ({"ping": {"count": 0}}, "[monitor]: ping_count: must be a positive integer (at most 1000)"),
    ({"http_ping": {"port": 0}}, "[monitor]: http_ping_port: must be a port number"),
    ({"vim": {"timeout": 0}}, "[monitor]: vim_timeout: must be a positive number of seconds"),
    ({"ping": {"intervall": 1}}, "[monitor]: ping_intervall: unknown key"),
    ({"ping": {"port": 80}}, "[monitor]: ping_port: unknown key"),
    ({"pong": {"count": 1}}, "[monitor]: pong: unknown monitor (known: vim, ping, http_ping, tcp"),
])
def test_unusable_operator_defaults_are_refused_in_one_line(overrides, message):
    with pytest.raises(InputError) as refused:
        _vnf(overrides)
    assert str(refused.value).startswith(message), str(refused.value)
    with pytest.raises(InputError):
        Lifecycle(None, RecordingBackend(), monitor_defaults=overrides)


def _conf(tmp_path, text: str) -> cfg.ConfigOpts:
    path = tmp_path / "nfvmon.conf"
    path.write_text(text)
    return config.load([str(path)], conf=cfg.ConfigOpts(), setup_logging=False)


def test_the_config_files_monitor_options_reach_every_workflow_the_lifecycle_makes(
        tmp_path, store):
    from nfvmon.conductor_rpc.reconciler import Reconciler
    from nfvmon.db.models import utcnow

    conf = _conf(tmp_path, "[monitor]\nping_interval = 6\nping_retry = 4\nvim_count = 7\n")
    monitor_defaults = {m: config.monitor_defaults(conf, m) for m in defaults.ALL_MONITOR_DEFAULTS}
    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend, RecordingControl(), monitor_defaults=monitor_defaults)
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    vnf_id = lifecycle.create_vnf(VNFD, "vnfd.yaml", {"VDU1": ["127.0.0.2"]})
    assert _task_input(backend.deployed[0])["count"] == 7
    (policy,) = _task_input(backend.deployed[1])["policies"]
    assert (policy["parameters"]["interval"], policy["parameters"]["retry"]) == (6, 4)
    lifecycle.scale_vnf(vnf_id, {"VDU1": ["127.0.0.3"]})
    (policy,) = _task_input(backend.deployed[2])["policies"]
    assert (policy["parameters"]["interval"], policy["parameters"]["count"]) == (6, 2)
    # The reconciler's re-created monitors use them too.
    reconciler = Reconciler(lifecycle, checkin_interval=60, missed_limit=3, interval=60)
    assert sorted(reconciler.run_once(now=utcnow() + timedelta(seconds=200))) == sorted(
        [(VIM, vim_id), (VNF, vnf_id)])
    redeployed = {w.name: _task_input(w) for w in backend.deployed[3:]}
    assert redeployed[f"vim_id_{vim_id}"]["count"] == 7
    assert redeployed[f"vnf_id_{vnf_id}"]["policies"][0]["parameters"]["retry"] == 4


def test_generate_with_a_config_file_takes_its_monitor_options(tmp_path, capsys):
    """`nfvmon generate vim|vnf --config-file F`: F's [monitor] options fill what the input
    leaves out; without it the built-in defaults do."""
    from nfvmon.cli import main

    (tmp_path / "vim.yaml").write_text(yaml.safe_dump(VIM_CONFIG))
    (tmp_path / "vnfd.yaml").write_text(yaml.safe_dump(VNFD))
    conf = tmp_path / "nfvmon.conf"
    conf.write_text("[monitor]\nvim_count = 7\nping_interval = 4\n")
    generated = {}
    for kind, source, extra in (("vim", "vim.yaml", ["--vim-id", "v1"]),
                                ("vnf", "vnfd.yaml", ["--vnf-id", "v1", "--mgmt-ip",
                                                      "VDU1=127.0.0.2"])):
        for with_conf in (True, False):
            argv = ["generate", kind, str(tmp_path / source), *extra, "--action-id",
                    ACTION_ID] + (["--config-file", str(conf)] if with_conf else [])
            assert main(argv) == 0
            text = capsys.readouterr().out
            (task,) = yaml.safe_load(text)[f"{kind}_id_v1"]["tasks"].values()
            generated[kind, with_conf] = task["input"]
    assert generated["vim", True]["count"] == 7
    assert generated["vim", False]["count"] == defaults.VIM_MONITOR_DEFAULTS["count"]
    (policy,) = generated["vnf", True]["policies"]
    assert policy["parameters"]["interval"] == 4 and policy["parameters"]["count"] == 2
    (policy,) = generated["vnf", False]["policies"]
    assert policy["parameters"]["interval"] == defaults.VNF_MONITOR_DEFAULTS["ping"]["interval"]
