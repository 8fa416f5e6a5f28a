"""VNF-manager drivers and plugin loading through entry points."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from oslo_config import cfg
from stevedore import extension

from nfvmon import config
from nfvmon.conductor_rpc.policy_actions import load_policy_actions
from nfvmon.conductor_rpc.vnf_managers import ManagerError, load_manager
from nfvmon.conductor_rpc.vnf_managers.command import CommandManager
from nfvmon.conductor_rpc.vnf_managers.webhook import WebhookManager
from nfvmon.errors import NfvmonError


@pytest.fixture
def conf():
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf([], project="nfvmon")
    return conf


def _script(tmp_path, body: str) -> list[str]:
    path = tmp_path / "manager.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_command_gets_operation_and_ids_and_returns_new_ips(conf, tmp_path):
    argv = _script(tmp_path, """
        import json, os, sys
        seen = {"argv": sys.argv[1:], "op": os.environ["NFVMON_OPERATION"],
                "vnf": os.environ["NFVMON_VNF_ID"], "vdu": os.environ["NFVMON_VDU"]}
        open(os.path.join(os.path.dirname(__file__), "seen.json"), "w").write(json.dumps(seen))
        print(json.dumps({"mgmt_ips": {"VDU1": ["127.0.0.9", "::ffff:127.0.0.10"]}}))
    """)
    conf.set_override("command", argv + ["--flag"], group="vnf_manager")
    assert CommandManager(conf).run("respawn", "vnf-1", "VDU1") == {
        "VDU1": ["127.0.0.9", "127.0.0.10"]}
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen == {"argv": ["--flag", "respawn"], "op": "respawn", "vnf": "vnf-1",
                    "vdu": "VDU1"}


def test_command_user_data_never_meets_a_shell(conf, tmp_path):
    argv = _script(tmp_path, """
        import json, os
        print(json.dumps({"mgmt_ips": {}, "vnf": os.environ["NFVMON_VNF_ID"]}))
    """)
    conf.set_override("command", argv, group="vnf_manager")
    marker = tmp_path / "pwned"
    assert CommandManager(conf).run("heal", f"x; touch {marker}", "$(touch {marker})") == {}
    assert not marker.exists()


@pytest.mark.parametrize("body, message", [
    ("import sys; sys.stderr.write('quota exceeded'); sys.exit(3)", "exited 3: quota exceeded"),
    ("print('not json')", "printed no JSON"),
    ("print('{\"mgmt_ips\": {\"VDU1\": [\"300.1.1.1\"]}}')", "not a valid IP address"),
    ("import time; time.sleep(5)", "did not finish in 1 s"),
])
def test_command_failures_are_manager_errors(conf, tmp_path, body, message):
    conf.set_override("command", _script(tmp_path, body), group="vnf_manager")
    conf.set_override("command_timeout", 1, group="vnf_manager")
    with pytest.raises(ManagerError, match=message):
        CommandManager(conf).run("respawn", "vnf-1", "VDU1")


def test_missing_command_is_a_manager_error(conf):
    conf.set_override("command", ["/nonexistent/nfvmon-manager"], group="vnf_manager")
    with pytest.raises(ManagerError, match="not found"):
        CommandManager(conf).run("respawn", "vnf-1", "VDU1")


class _Hook(BaseHTTPRequestHandler):
    requests: list = []
    status = 200
    answer = b'{"mgmt_ips": {"VDU1": ["127.0.0.7"]}}'

    def do_POST(self):  # noqa: N802 - http.server API
        length = int(self.headers["Content-Length"])
        type(self).requests.append((self.headers.get("Authorization"),
                                    json.loads(self.rfile.read(length))))
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    _Hook.requests = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/nfv", _Hook
    server.shutdown()
    server.server_close()


def test_webhook_posts_json_and_reads_new_ips(conf, hook):
    url, handler = hook
    conf.set_override("webhook_url", url, group="vnf_manager")
    conf.set_override("webhook_token", "t0ken", group="vnf_manager")
    assert WebhookManager(conf).run("heal", "vnf-1", "VDU1") == {"VDU1": ["127.0.0.7"]}
    assert handler.requests == [("Bearer t0ken",
                                 {"operation": "heal", "vnf_id": "vnf-1", "vdu": "VDU1"})]


def test_webhook_http_error_is_a_manager_error(conf, hook):
    url, handler = hook
    handler.status = 503
    conf.set_override("webhook_url", url, group="vnf_manager")
    try:
        with pytest.raises(ManagerError, match="HTTP 503"):
            WebhookManager(conf).run("respawn", "vnf-1", "VDU1")
    finally:
        handler.status = 200


def test_configured_driver_is_loaded_by_name(conf):
    conf.set_override("driver", "command", group="vnf_manager")
    assert isinstance(load_manager(conf), CommandManager)
    conf.set_override("driver", "teleport", group="vnf_manager")
    with pytest.raises(NfvmonError, match="'teleport' cannot be loaded"):
        load_manager(conf)


def test_builtin_policy_actions_are_installed_plugins(conf):
    assert {"log", "respawn", "log_and_kill", "vdu_autoheal", "autoscaling"} <= set(
        load_policy_actions(conf))


def test_a_third_party_policy_action_is_found_once_installed(conf, tmp_path, monkeypatch):
    """Installing a package with an entry point is all it takes: nothing in nfvmon changes."""
    site = tmp_path / "site"
    (site / "acme_nfv").mkdir(parents=True)
    (site / "acme_nfv" / "__init__.py").write_text(textwrap.dedent("""
        from nfvmon.conductor_rpc.policy_actions import PolicyAction, PolicyResult
        class PageOperator(PolicyAction):
            def execute(self, context):
                return PolicyResult("DEAD", "paged")
    """))
    dist = site / "acme_nfv-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-nfv\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[nfvmon.policy_actions]\npage_operator = acme_nfv:PageOperator\n")
    monkeypatch.syspath_prepend(str(site))
    # A conductor reads entry points when it starts; this process already did, so forget.
    monkeypatch.setattr(extension.ExtensionManager, "ENTRY_POINT_CACHE", {})
    plugins = load_policy_actions(conf)
    assert type(plugins["page_operator"]).__name__ == "PageOperator"
