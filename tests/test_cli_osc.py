"""`openstack nfvmon ...`: nfvmon's commands as a python-openstackclient plugin, run as an
operator would, with no Keystone configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from nfvmon import status_machine as sm
from nfvmon.cli.app import COMMANDS
from nfvmon.db.api import VNF, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade

OPENSTACK = Path(sys.executable).parent / "openstack"


@pytest.fixture
def conf(tmp_path) -> Path:
    url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(url)
    store = Store(make_engine(url))
    store.create_vim("vim-a", target="127.0.0.1", name="lab")
    store.create_vim("vim-b", target="127.0.0.2", name="edge")
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"], "VDU2": ["127.0.0.4"]}, name="fw",
                     action_id="f1")
    store.write_status(VNF, "vnf-1", sm.FAILURE, action_id="f1", reason="VDU1 did not answer")
    store.close()
    path = tmp_path / "nfvmon.conf"
    path.write_text(f"[database]\nconnection = {url}\n")
    return path


def openstack(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    if not OPENSTACK.exists():
        pytest.fail(f"{OPENSTACK} is missing: pip install 'nfvmon[osc]' (in the test extra)")
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("OS_", "NFVMON_", "CLIFF_"))}
    return subprocess.run([str(OPENSTACK), *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_openstack_nfvmon_vim_list_prints_the_ids(conf, tmp_path):
    done = openstack("nfvmon", "vim", "list", "-f", "value", "-c", "id", "--config-file",
                     str(conf), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "vim-a\nvim-b\n"), done.stderr


def test_openstack_nfvmon_vnf_show_takes_the_config_from_the_environment(conf, tmp_path):
    done = openstack("nfvmon", "vnf", "show", "vnf-1", "-f", "json", cwd=tmp_path,
                     NFVMON_CONFIG_FILE=str(conf))
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["id"], shown["status"], shown["reason"]) == ("vnf-1", "DEAD",
                                                              "VDU1 did not answer")
    assert shown["mgmt_ips"] == {"VDU1": ["127.0.0.2"], "VDU2": ["127.0.0.4"]}


def test_openstack_nfvmon_unknown_vnf_is_the_same_one_line_exit_2(conf, tmp_path):
    done = openstack("nfvmon", "vnf", "events", "nope", "--config-file", str(conf),
                     cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.endswith("nfvmon: no VNF nope\n") and "Traceback" not in done.stderr


def test_the_plugin_offers_every_vim_and_vnf_command_of_nfvmon():
    """setup.cfg's openstack.nfvmon.v1 entry points and nfvmon's own table stay the same."""
    offered = {ep.name: ep.value for ep in entry_points(group="openstack.nfvmon.v1")}
    expected = {"nfvmon_" + name.replace(" ", "_"): f"{cls.__module__}:{cls.__name__}"
                for name, cls in COMMANDS.items() if name.split()[0] in ("vim", "vnf")}
    assert offered == expected
    (plugin,) = [ep for ep in entry_points(group="openstack.cli.extension")
                 if ep.name == "nfvmon"]
    assert plugin.value == "nfvmon.cli.osc"


def test_the_plugin_client_opens_the_configured_database(conf, monkeypatch, global_conf):
    from nfvmon.cli import osc

    monkeypatch.setenv("NFVMON_CONFIG_FILE", str(conf))
    client = osc.make_client(instance=None)
    assert [vim.id for vim in client.store().list_vims()] == ["vim-a", "vim-b"]
