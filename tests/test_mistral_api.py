"""How nfvmon reaches Mistral (nfvmon.mistral_api), without Keystone or Mistral running:
the configuration errors and an unreachable Keystone are one line naming the option; a fixed
development token still reaches a Mistral without Keystone. (With a real Keystone:
tests/test_e2e_keystone.py.)"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from oslo_config import cfg

from nfvmon import config, mistral_api
from nfvmon.lifecycle import MistralBackend


def _conf(tmp_path, text: str) -> cfg.ConfigOpts:
    path = tmp_path / "nfvmon.conf"
    path.write_text(text)
    return config.load([str(path)], conf=cfg.ConfigOpts(), setup_logging=False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _keystone_conf(tmp_path, auth_url: str, extra: str = "") -> cfg.ConfigOpts:
    return _conf(tmp_path, f"[mistral]\nauth_type = password\nauth_url = {auth_url}\n"
                           "username = nfvmon\npassword = secret\nproject_name = nfvmon\n"
                           "user_domain_name = Default\nproject_domain_name = Default\n"
                           + extra)


@pytest.mark.parametrize("extra", ["", "url = http://127.0.0.1:8989/v2\n"],
                         ids=["endpoint-from-catalog", "url-set"])
def test_an_unreachable_keystone_is_one_line_naming_auth_url(tmp_path, extra):
    """Whether Keystone is first asked for the catalog or for the token of a request that
    python-mistralclient sends (which turns keystoneauth's HTTP errors into its own)."""
    keystone = f"http://127.0.0.1:{_closed_port()}/v3"
    backend = MistralBackend.from_conf(_keystone_conf(tmp_path, keystone, extra),
                                       default_url=config.DEFAULT_MISTRAL_URL)
    with pytest.raises(mistral_api.MistralAccessError) as unreachable:
        backend.execution_state("an-execution")
    assert str(unreachable.value) == (f"[mistral] auth_url: cannot reach Keystone at "
                                      f"{keystone}: Connection refused")


def test_a_missing_auth_url_is_one_line_naming_it(tmp_path):
    conf = _conf(tmp_path, "[mistral]\nauth_type = password\nusername = nfvmon\n")
    with pytest.raises(mistral_api.MistralAccessError,
                       match=r"^\[mistral\] auth_url: required by auth_type password$"):
        MistralBackend.from_conf(conf)


def test_an_unknown_auth_type_is_one_line_naming_it(tmp_path):
    conf = _conf(tmp_path, "[mistral]\nauth_type = passwrod\n")
    with pytest.raises(mistral_api.MistralAccessError,
                       match=r"^\[mistral\] auth_type: no keystoneauth plugin named "
                             r"'passwrod'$"):
        mistral_api.Access(conf)


def test_mistral_is_configured_by_a_url_or_by_keystone(tmp_path):
    assert not mistral_api.configured(_conf(tmp_path, ""))
    assert mistral_api.configured(_conf(tmp_path, "[mistral]\nurl = http://127.0.0.1:1/v2\n"))
    assert mistral_api.configured(_keystone_conf(tmp_path, "http://127.0.0.1:1/v3"))


def test_the_catalog_options_default_to_mistrals_service_type(tmp_path):
    conf = _conf(tmp_path, "")
    assert conf.mistral.service_type == "workflowv2"
    assert conf.mistral.url is None and conf.mistral.auth_type is None


class _Recorder(BaseHTTPRequestHandler):
    tokens: list[str | None] = []

    def do_GET(self):  # noqa: N802 - http.server API
        self.tokens.append(self.headers.get("X-Auth-Token"))
        body = b'{"faultstring": "not found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_without_auth_type_the_fixed_token_goes_to_the_configured_url(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v2"
        conf = _conf(tmp_path, f"[mistral]\nurl = {url}\nauth_token = dev-token\n")
        assert MistralBackend.from_conf(conf).execution_state("gone") is None
        assert _Recorder.tokens == ["dev-token"]
    finally:
        server.shutdown()
        server.server_close()


def test_the_executors_settings_carry_keystones_options(tmp_path, monkeypatch):
    """The actions read nfvmon.conf on the executor host: Keystone's options there give
    them a session (no url needed), and async mode is then allowed."""
    from nfvmon.actions import runtime

    path = tmp_path / "nfvmon.conf"
    path.write_text("[mistral]\nauth_type = password\nauth_url = http://127.0.0.1:1/v3\n"
                    "username = nfvmon\npassword = secret\n")
    monkeypatch.setenv("NFVMON_CONFIG_FILE", str(path))
    settings = runtime.load_settings()
    assert settings.mistral_url is None
    assert settings.mistral.session is not None
    path.write_text("")
    assert runtime.load_settings().mistral is None
