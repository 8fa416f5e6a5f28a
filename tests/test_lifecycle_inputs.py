"""What the lifecycle's public calls accept and store, on SQLite and PostgreSQL alike.

- Names have one documented limit on every database (0-255 printable characters).
- Management addresses are normalised once, at the entry of each call: the database and the
  workflow hold the same canonical values.
- A redeploy generates (and so checks) the new workflow before it rotates the action id: a
  workflow that cannot be generated leaves the running monitor alone.
"""

from __future__ import annotations

import pytest
import yaml

from nfvmon import status_machine as sm
from nfvmon.db.api import VIM, VNF
from nfvmon.errors import InputError
from nfvmon.lifecycle import Lifecycle, LifecycleError
from tests.conftest import TACKER_SAMPLES
from tests.test_lifecycle import RecordingBackend, RecordingControl

VIM_CONFIG = {"auth_url": "https://[fd00::1]:5000/v3", "password": "s3cret"}
VNFD_TEXT = (TACKER_SAMPLES / "tosca-vnfd-monitor.yaml").read_text()


def _policies(workflow) -> list[dict]:
    doc = yaml.safe_load(workflow.text)
    return doc[workflow.name]["tasks"]["monitor_vnf_policies"]["input"]["policies"]


# --- names -------------------------------------------------------------------------------------

GOOD_NAMES = ["", "edge-1", "Edge site 1 (Zürich)", "x" * 255, "a;b $(c) <% d %>"]
BAD_NAMES = {
    "too-long": ("x" * 300, "300 characters: must be 0-255 printable characters"),
    "far-too-long": ("x" * 100_000, "100000 characters: must be 0-255 printable characters"),
    "nul": ("edge\x00one", "holds U+0000 at position 4: must be 0-255 printable characters"),
    "line-break": ("edge\none", "holds U+000A at position 4"),
    "escape": ("edge\x1b[31m", "holds U+001B at position 4"),
    "not-a-string": (42, "must be a string"),
}


@pytest.mark.parametrize("name", GOOD_NAMES, ids=range(len(GOOD_NAMES)))
def test_a_name_within_the_rule_is_stored_as_given(name, store):
    lifecycle = Lifecycle(store, RecordingBackend())
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml", name=name)
    vnf_id = lifecycle.create_vnf(yaml.safe_load(VNFD_TEXT), "vnfd.yaml",
                                  {"VDU1": ["127.0.0.2"]}, name=name)
    assert store.get_vim(vim_id).name == name and store.get_vnf(vnf_id).name == name


@pytest.mark.parametrize("case", sorted(BAD_NAMES))
def test_a_name_outside_the_rule_is_one_line_and_stores_nothing(case, store):
    name, message = BAD_NAMES[case]
    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend)
    with pytest.raises(InputError) as vim_error:
        lifecycle.register_vim(VIM_CONFIG, "vim.yaml", name=name, vim_id="vim-1")
    with pytest.raises(InputError) as vnf_error:
        lifecycle.create_vnf(yaml.safe_load(VNFD_TEXT), "vnfd.yaml", {"VDU1": ["127.0.0.2"]},
                             name=name, vnf_id="vnf-1")
    for error in (vim_error, vnf_error):
        line = str(error.value)
        assert line.startswith("--name: ") and message in line and len(line) < 120, line
        assert "\n" not in line
    assert store.list_vims() == [] and store.list_vnfs() == [] and backend.deployed == []


# --- one canonical value everywhere --------------------------------------------------------------

def test_create_vnf_stores_the_addresses_the_workflow_probes(store):
    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend)
    vnf_id = lifecycle.create_vnf(
        yaml.safe_load(VNFD_TEXT), "vnfd.yaml",
        {"VDU1": ["[fd00::3]", "::ffff:192.0.2.1", "FD00:0::3", "192.0.2.1"]})
    canonical = ["fd00::3", "192.0.2.1"]
    assert store.get_vnf(vnf_id).mgmt_ips == {"VDU1": canonical}
    assert _policies(backend.deployed[-1])[0]["mgmt_ips"] == canonical
    assert store.events(VNF, vnf_id)[0].details["vdus"] == {"VDU1": canonical}


def test_scale_vnf_stores_the_addresses_the_workflow_probes(store):
    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend, RecordingControl())
    vnf_id = lifecycle.create_vnf(yaml.safe_load(VNFD_TEXT), "vnfd.yaml",
                                  {"VDU1": ["127.0.0.2"]}, vnfd_text=VNFD_TEXT)
    lifecycle.scale_vnf(vnf_id, {"VDU1": ["127.0.0.2", "[FD00::0003]", "::ffff:127.0.0.2"]})
    assert store.get_vnf(vnf_id).mgmt_ips == {"VDU1": ["127.0.0.2", "fd00::3"]}
    assert _policies(backend.deployed[-1])[0]["mgmt_ips"] == ["127.0.0.2", "fd00::3"]


@pytest.mark.parametrize("mgmt_ips, message", [
    ({"VDU1": "127.0.0.2"}, "VDU1: must be a list of IP addresses"),
    ({"VDU1": ["127.0.0.2", 7]}, "VDU1: 7: must be an IP address"),
    ({"VDU 1": ["127.0.0.2"]}, "'VDU 1': must be 1-64 letters"),
    (["127.0.0.2"], "must be a mapping of VDU name to IP addresses"),
])
def test_malformed_addresses_are_refused_at_the_entry(mgmt_ips, message, store):
    lifecycle = Lifecycle(store, RecordingBackend())
    with pytest.raises(InputError, match="^--mgmt-ip: .*" + message.replace("[", r"\[")):
        lifecycle.create_vnf(yaml.safe_load(VNFD_TEXT), "vnfd.yaml", mgmt_ips, vnf_id="vnf-1")
    assert store.get_vnf("vnf-1") is None


def test_register_and_update_vim_store_the_monitor_values_the_workflow_carries(store):
    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend, RecordingControl())
    vim_id = lifecycle.register_vim({"auth_url": "https://[FD00:0::1]:5000/v3",
                                     "monitor": {"count": 4.0}}, "vim.yaml")
    vim = store.get_vim(vim_id)
    assert vim.target == "fd00::1"
    assert vim.probe_config["monitor"] == {"count": 4}
    assert type(vim.probe_config["monitor"]["count"]) is int
    lifecycle.update_vim(vim_id, {"auth_url": "https://KEYSTONE.example.:5000/v3",
                                  "monitor": {"count": 5.0, "interval": 2.0}}, "vim2.yaml")
    vim = store.get_vim(vim_id)
    assert vim.target == "keystone.example"
    assert vim.probe_config["monitor"] == {"count": 5, "interval": 2.0}
    assert '"keystone.example"' in backend.deployed[-1].text


# --- a redeploy that cannot generate its workflow keeps the running monitor --------------------

def test_redeploy_that_cannot_generate_keeps_the_action_and_the_running_monitor(store):
    backend, control = RecordingBackend(), RecordingControl()
    lifecycle = Lifecycle(store, backend, control)
    vnf_id = lifecycle.create_vnf(yaml.safe_load(VNFD_TEXT), "vnfd.yaml",
                                  {"VDU1": ["127.0.0.2"]}, vnfd_text=VNFD_TEXT)
    before = store.get_monitor(VNF, vnf_id)
    # What a VNF manager's unchecked answer once stored: a VDU the VNFD does not have.
    store.set_vdu_ips(vnf_id, {"EVIL VDU; $(x)": ["10.0.0.1"]})
    with pytest.raises(LifecycleError, match="monitor kept") as refused:
        lifecycle.redeploy(VNF, vnf_id)
    assert "\n" not in str(refused.value)
    after = store.get_monitor(VNF, vnf_id)
    assert (after.action_id, after.execution_id) == (before.action_id, before.execution_id)
    assert control.kills == [] and backend.removed == [] and len(backend.deployed) == 1
    assert store.write_status(VNF, vnf_id, sm.RECOVERY,
                              action_id=before.action_id).outcome != "bad_action"


def test_redeploy_of_a_vim_whose_stored_config_no_longer_generates_keeps_its_monitor(store):
    backend, control = RecordingBackend(), RecordingControl()
    lifecycle = Lifecycle(store, backend, control)
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    before = store.get_monitor(VIM, vim_id).action_id
    store.update_vim_config(vim_id, target="fd00::1", probe_config={"auth_url": "ftp://x"})
    with pytest.raises(LifecycleError, match="monitor kept"):
        lifecycle.redeploy(VIM, vim_id)
    assert store.get_monitor(VIM, vim_id).action_id == before and control.kills == []
