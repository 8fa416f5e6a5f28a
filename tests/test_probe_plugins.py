"""Probe types are `nfvmon.probes` plugins: names, parameters, defaults, the schema, the
`[monitor]` options and the README table all come from their declarations; a third-party
probe is one module plus one entry point, and a broken one is logged and skipped."""

from __future__ import annotations

import logging
import re
import sys
import textwrap
import uuid

import pytest
import yaml

from nfvmon import defaults, monitor_table
from nfvmon.errors import InputError
from nfvmon.generator import schema
from nfvmon.generator.api import vnf_workflow_from_data
from nfvmon.probes import registry
from tests.conftest import ROOT

ACTION_ID = str(uuid.UUID(int=7))

#: A third party's probe type: one module ...
UDP_ECHO = '''
from nfvmon.probes.interface import PORT, Parameter, Probe, round_parameters


class UdpEcho(Probe):
    name = "udp_echo"
    summary = "a UDP datagram to port 7 comes back"
    parameters = (*round_parameters(count=2, timeout=1), Parameter("port", PORT, 7))

    async def probe(self, engine, address, params, timeout):
        return False
'''
#: ... and others that must not take it down.
BROKEN = '''
raise ImportError("libfoo.so.1: cannot open shared object file")
'''
INCONSISTENT = '''
from nfvmon.probes.interface import SECONDS, Parameter, Probe, round_parameters


class PortInSeconds(Probe):
    name = "port_in_seconds"
    parameters = (*round_parameters(), Parameter("port", SECONDS, 1.5))

    async def probe(self, engine, address, params, timeout):
        return False
'''


def _clear_caches() -> None:
    from stevedore import ExtensionManager

    ExtensionManager.ENTRY_POINT_CACHE.pop(registry.GROUP, None)
    registry.installed_probes.cache_clear()
    schema._schema_document.cache_clear()
    schema._validator.cache_clear()


@pytest.fixture
def third_party_probes(tmp_path, monkeypatch):
    """A distribution installed on sys.path with three `nfvmon.probes` entry points."""
    for module, text in (("udp_echo_probe", UDP_ECHO), ("broken_probe", BROKEN),
                         ("inconsistent_probe", INCONSISTENT)):
        (tmp_path / f"{module}.py").write_text(text)
    dist = tmp_path / "thirdparty_probes-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-probes\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""\
        [nfvmon.probes]
        udp_echo = udp_echo_probe:UdpEcho
        broken = broken_probe:Broken
        port_in_seconds = inconsistent_probe:PortInSeconds
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    _clear_caches()
    yield
    monkeypatch.undo()
    for module in ("udp_echo_probe", "broken_probe", "inconsistent_probe"):
        sys.modules.pop(module, None)
    _clear_caches()


def _vnfd(name: str, parameters: dict | None = None) -> dict:
    policy = {"name": name, "actions": {"failure": "respawn"}}
    if parameters is not None:
        policy["parameters"] = parameters
    return {"topology_template": {"node_templates": {"VDU1": {
        "type": "tosca.nodes.nfv.VDU.Tacker", "properties": {"monitoring_policy": policy}}}}}


def _policy_of(workflow) -> dict:
    (task,) = yaml.safe_load(workflow.text)[workflow.name]["tasks"].values()
    (policy,) = task["input"]["policies"]
    return policy


def test_a_third_party_probe_is_one_module_and_one_entry_point(third_party_probes):
    assert defaults.MONITOR_NAMES[:3] == ("ping", "http_ping", "tcp")  # nfvmon's own first
    assert defaults.MONITOR_NAMES[-1] == "udp_echo"
    policy = _policy_of(vnf_workflow_from_data(_vnfd("udp_echo", {"count": 4}), "vnfd.yaml",
                                               "v1", {"VDU1": ["127.0.0.2"]}, ACTION_ID))
    assert policy["monitor"] == "udp_echo"
    assert policy["parameters"] == {"monitoring_delay": 45, "count": 4, "interval": 1,
                                    "timeout": 1, "retry": 3, "port": 7}


def test_a_broken_or_inconsistent_probe_plugin_is_logged_and_skipped(third_party_probes,
                                                                       caplog):
    with caplog.at_level(logging.ERROR, logger="nfvmon.probes.registry"):
        installed = registry.installed_probes()
    assert "broken" not in installed and "port_in_seconds" not in installed
    assert "udp_echo" in installed and "ping" in installed
    logged = caplog.text
    assert "probe plugin broken (broken_probe:Broken) skipped: ImportError: libfoo" in logged
    assert "probe plugin port_in_seconds (inconsistent_probe:PortInSeconds) skipped: " \
           "parameter port is a port elsewhere, not a seconds" in logged


def test_a_monitor_no_plugin_provides_is_refused_naming_the_installed_ones():
    with pytest.raises(InputError) as refused:
        vnf_workflow_from_data(_vnfd("udp_echo"), "vnfd.yaml", "v1", {"VDU1": ["127.0.0.2"]},
                               ACTION_ID)
    assert str(refused.value) == (
        "vnfd.yaml: topology_template.node_templates.VDU1.properties.monitoring_policy.name: "
        f"unknown monitor (known: {', '.join(registry.installed_probes())}, http-ping, noop)")
    with pytest.raises(ValueError, match=r"unknown monitor 'udp_echo' \(installed: ping, "):
        registry.get_probe("udp_echo")


def test_the_schema_takes_parameters_and_their_rules_from_the_declarations():
    doc = schema._schema_document("vnfd_monitoring.schema.json")
    properties = doc["$defs"]["parameters"]["properties"]
    for name, parameter in registry.parameters().items():
        assert properties[name] == {"$ref": f"#/$defs/{parameter.kind.name}"}
        assert doc["$defs"][parameter.kind.name] == dict(parameter.kind.schema)
    assert tuple(properties) == defaults.VNF_PARAMETER_NAMES


def test_every_built_in_default_obeys_its_own_rule():
    for name, probe in registry.installed_probes().items():
        for parameter in probe.parameters:
            if parameter.default is not None:
                schema.validate({parameter.name: parameter.default},
                                "vnfd_monitoring.schema.json", name, (), "parameters")


def test_the_readme_table_is_the_declarations_table():
    readme = (ROOT / "README.md").read_text()
    table = monitor_table.parameter_table()
    assert table in readme, "README.md: regenerate the table: python -m nfvmon.monitor_table"


def test_the_monitor_options_are_the_declared_defaults():
    from oslo_config import cfg

    from nfvmon import config

    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf(args=[])
    for name, probe in registry.installed_probes().items():
        assert config.monitor_defaults(conf, name) == probe.defaults()
    sample = (ROOT / "etc" / "nfvmon.conf.sample").read_text()
    options = re.findall(r"^#(\w+) = ", sample.split("[monitor]", 1)[1].split("\n[", 1)[0],
                         re.M)
    assert options == [f"{m}_{p}" for m, params in defaults.ALL_MONITOR_DEFAULTS.items()
                       for p in params]
