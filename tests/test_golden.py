"""Golden files: every Tacker sample generates byte-identical output, run after run.

Regenerate after an intended change with `NFVMON_UPDATE_GOLDEN=1 pytest tests/test_golden.py`
and review the diff.
"""

from __future__ import annotations

import os

import pytest

from nfvmon.cli import main
from tests.conftest import ROOT, SHARED_SAMPLES, TACKER_SAMPLES

GOLDEN = ROOT / "tests" / "golden"
VNF_ID = "5b6a2d0e-8c1f-4b0e-9a51-0d6f2c7e3a10"
ACTION_ID = "0f9c8e7d-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
SAMPLES = sorted(p.name for p in TACKER_SAMPLES.glob("*.yaml") if p.name != "tacker_defs.yaml")
#: Management addresses per sample VDU; VDU1 of the multi-VDU sample is scaled out to two.
MGMT_IPS = {
    "VDU1": ["127.0.0.11"],
    "VDU2": ["127.0.0.12"],
    "VDU3": ["127.0.0.13"],
    "vdu1": ["127.0.0.21"],
}
SCALED = {"tosca-vnfd-monitor-multi-vdu.yaml": {"VDU1": ["127.0.0.11", "::ffff:127.0.0.111"]}}


def _generate(sample: str, capsys) -> tuple[int, str]:
    text = (TACKER_SAMPLES / sample).read_text()
    ips = {**{vdu: ips for vdu, ips in MGMT_IPS.items() if f"{vdu}:" in text},
           **SCALED.get(sample, {})}
    argv = ["generate", "vnf", str(TACKER_SAMPLES / sample), "--vnf-id", VNF_ID,
            "--action-id", ACTION_ID]
    for vdu, addresses in ips.items():
        argv += [arg for ip in addresses for arg in ("--mgmt-ip", f"{vdu}={ip}")]
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out if status == 0 else err.replace(str(TACKER_SAMPLES) + "/", "")


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_matches_golden_file(sample, capsys):
    status, output = _generate(sample, capsys)
    golden = GOLDEN / (sample.removesuffix(".yaml") + (".yaml" if status == 0 else ".err"))
    if os.environ.get("NFVMON_UPDATE_GOLDEN"):
        golden.write_text(output)
    assert golden.exists(), f"no golden file {golden.name} (status {status}): {output}"
    assert output == golden.read_text()


@pytest.mark.parametrize("sample", SAMPLES)
def test_generation_is_deterministic(sample, capsys):
    assert _generate(sample, capsys) == _generate(sample, capsys)


def test_every_sample_has_exactly_one_golden_file():
    stems = {name.removesuffix(".yaml") for name in SAMPLES}
    goldens = [p.name.rsplit(".", 1)[0] for p in GOLDEN.iterdir()]
    assert sorted(goldens) == sorted(stems)


def test_samples_with_no_liveness_policy_are_the_documented_three():
    errors = sorted(p.name for p in GOLDEN.glob("*.err"))
    assert errors == ["tosca-vnfd-alarm-respawn.err", "tosca-vnfd-no-monitor.err",
                      "tosca-vnfd-zabbix-monitor.err"]


def test_test_copy_of_tacker_samples_matches_shared():
    if not SHARED_SAMPLES.is_dir():
        pytest.skip(f"{SHARED_SAMPLES} is not beside this checkout")
    for shared in SHARED_SAMPLES.iterdir():
        assert (TACKER_SAMPLES / shared.name).read_bytes() == shared.read_bytes(), shared.name
