"""The https_ping probe (one module, nfvmon/probes/https_ping.py, plus one entry point)
against a real TLS server on 127.0.0.x with a self-signed certificate."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from nfvmon.actions.probes.http import HttpProber
from nfvmon.errors import InputError
from nfvmon.generator.api import vnf_workflow_from_data
from nfvmon.probes import get_probe

ADDRESS = "127.0.0.37"
DEFAULTS = {"verify": True}


class _Engine:
    def __init__(self):
        self.http = HttpProber()

    def http_session(self):
        return self.http.session()


def _probe(port: int, timeout: float = 2, **params) -> bool:
    async def work():
        engine = _Engine()
        try:
            return await get_probe("https_ping").probe(
                engine, ADDRESS, {**DEFAULTS, "port": port, **params}, timeout)
        finally:
            await engine.http.close()

    return asyncio.run(work())


@pytest.fixture
def tls_server(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=vdu.example", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    seen = {"sni": [], "host": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            seen["host"].append(self.headers.get("Host"))
            self.send_response(404)  # any status below 500 is alive
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    context.sni_callback = lambda _sock, name, _ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer((ADDRESS, 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.seen = seen
    yield server
    server.shutdown()
    server.server_close()


def test_a_self_signed_server_is_alive_without_verification(tls_server):
    assert _probe(tls_server.server_address[1], verify=False) is True


def test_a_self_signed_certificate_fails_verification_so_the_server_counts_dead(tls_server):
    assert _probe(tls_server.server_address[1]) is False
    assert _probe(tls_server.server_address[1], host="vdu.example") is False


def test_host_is_sent_as_sni_and_host_header(tls_server):
    assert _probe(tls_server.server_address[1], verify=False, host="vdu.example") is True
    assert tls_server.seen["sni"][-1] == "vdu.example"
    assert tls_server.seen["host"][-1] == "vdu.example"


def test_a_stopped_server_is_dead(tls_server):
    port = tls_server.server_address[1]
    assert _probe(port, verify=False) is True
    tls_server.shutdown()
    tls_server.server_close()
    assert _probe(port, timeout=1, verify=False) is False


def _vnfd(parameters: dict) -> dict:
    return {"topology_template": {"node_templates": {"VDU1": {
        "type": "tosca.nodes.nfv.VDU.Tacker", "properties": {"monitoring_policy": {
            "name": "https_ping", "parameters": parameters,
            "actions": {"failure": "respawn"}}}}}}}


def _generate(parameters: dict):
    return vnf_workflow_from_data(_vnfd(parameters), "vnfd.yaml", "v1",
                                  {"VDU1": ["127.0.0.2"]}, str(uuid.UUID(int=3)))


def test_a_vnfd_may_ask_for_https_ping_without_verification_and_with_a_host():
    workflow = _generate({"verify": False, "host": "vdu.example"})
    (task,) = yaml.safe_load(workflow.text)[workflow.name]["tasks"].values()
    assert task["input"]["policies"][0]["parameters"] == {
        "monitoring_delay": 45, "count": 1, "interval": 1, "timeout": 5, "retry": 3,
        "port": 443, "verify": False, "host": "vdu.example"}


@pytest.mark.parametrize("parameters, message", [
    ({"host": "<% $.x %>"}, "parameters.host: must be a host name"),
    ({"host": "vdu..example"}, "parameters.host: must be a host name"),
    ({"verify": "no"}, "parameters.verify: must be true or false"),
])
def test_a_bad_https_ping_parameter_is_refused_in_one_line(parameters, message):
    with pytest.raises(InputError) as refused:
        _generate(parameters)
    assert message in str(refused.value)
