"""A non-editable install carries the templates and schemas and works away from the source."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest
import yaml

from tests.conftest import ROOT, SAMPLES


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(ROOT)], check=True, capture_output=True)
    (path,) = out.glob("nfvmon-*.whl")
    return path


def test_wheel_ships_templates_schemas_and_entry_points(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        entry_text = archive.read(entry_points).decode()
    assert "nfvmon/workflows/templates/vim_monitor.yaml.j2" in names
    assert "nfvmon/workflows/templates/vnf_monitor.yaml.j2" in names
    assert "nfvmon/generator/schemas/vim_config.schema.json" in names
    assert "nfvmon/generator/schemas/vnfd_monitoring.schema.json" in names
    assert "[mistral.actions]" in entry_text and "nfvmon.vim_ping_action" in entry_text
    assert not any(name.startswith("tests/") for name in names)


def test_installed_wheel_generates_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import sys, nfvmon, nfvmon.cli; "
            "assert nfvmon.__file__.startswith(sys.argv[1]), nfvmon.__file__; "
            "sys.exit(nfvmon.cli.main(sys.argv[2:]))")
    result = subprocess.run(
        [sys.executable, "-c", code, str(target), "generate", "vnf",
         str(SAMPLES / "vnfd-ping-and-http.yaml"), "--vnf-id", "v",
         "--mgmt-ip", "VDU1=127.0.0.2", "--mgmt-ip", "VDU2=127.0.0.3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "vnf_id_v" in yaml.safe_load(result.stdout)


def test_loading_the_action_classes_leaves_the_probe_engine_unimported():
    """Mistral imports the action classes on its engine too (it calls `is_sync()` there):
    that must not pull in aiohttp, the ICMP prober or the monitors."""
    code = ("import sys, nfvmon.actions.vim_ping, nfvmon.actions.vnf_policy_monitor; "
            "print(sorted(m for m in sys.modules if m == 'aiohttp' or m.startswith("
            "('nfvmon.actions.probes', 'nfvmon.actions.runtime', 'nfvmon.actions.monitor'))))")
    loaded = subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True,
                            capture_output=True, text=True).stdout.strip()
    assert loaded == "[]"
