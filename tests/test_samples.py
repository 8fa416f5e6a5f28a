"""The workflows in samples/workflows/ are exactly what the documented commands generate.

Regenerate with `NFVMON_UPDATE_GOLDEN=1 pytest tests/test_samples.py`.
"""

from __future__ import annotations

import os

import pytest

from nfvmon.cli import main
from tests.conftest import SAMPLES

ACTION_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
VIM_ID = "6261579e-d6f3-49ad-8bc3-a9cb974778ff"
VNF_ID = "d4f5e8a2-3b7c-4e1f-9a6d-2c8b0e5f7a91"

#: output file → the arguments of `nfvmon generate` that make it (paths relative to samples/).
COMMANDS = {
    f"vim_id_{VIM_ID}.yaml": ["vim", "vim-config.yaml", "--vim-id", VIM_ID],
    "vim_id_k8s-cluster-1.yaml": ["vim", "vim-config-kubernetes.yaml", "--vim-id",
                                  "k8s-cluster-1"],
    f"vnf_id_{VNF_ID}.yaml": ["vnf", "vnfd-ping-and-http.yaml", "--vnf-id", VNF_ID,
                              "--mgmt-ip", "VDU1=127.0.0.2", "--mgmt-ip", "VDU1=127.0.0.3",
                              "--mgmt-ip", "VDU2=127.0.0.4"],
    "vnf_id_legacy-vnf.yaml": ["vnf", "vnfd-legacy-multi-monitor.yaml", "--vnf-id",
                               "legacy-vnf", "--mgmt-ip", "vdu1=127.0.0.5"],
}


@pytest.mark.parametrize("output", sorted(COMMANDS))
def test_sample_workflow_is_what_the_command_generates(output, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(SAMPLES)
    generated = tmp_path / output
    assert main(["generate", *COMMANDS[output], "--action-id", ACTION_ID,
                 "-o", str(generated)]) == 0
    target = SAMPLES / "workflows" / output
    if os.environ.get("NFVMON_UPDATE_GOLDEN"):
        target.write_text(generated.read_text())
    assert generated.read_text() == target.read_text()


def test_every_sample_workflow_has_a_command():
    assert sorted(p.name for p in (SAMPLES / "workflows").glob("*.yaml")) == sorted(COMMANDS)


def test_sample_vim_workflow_carries_no_credentials():
    text = (SAMPLES / "workflows" / f"vim_id_{VIM_ID}.yaml").read_text()
    for secret in ("mySecretPW", "nfv_user", "Default", "password", "username"):
        assert secret not in text
    k8s = (SAMPLES / "workflows" / "vim_id_k8s-cluster-1.yaml").read_text()
    assert "an-example-token" not in k8s and "bearer" not in k8s
