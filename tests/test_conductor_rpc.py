"""The conductor over oslo.messaging: the in-memory fake:// transport and the real RabbitMQ.

On fake:// every call() takes about 50 ms (the driver polls), so those tests keep calls few.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import oslo_messaging as messaging
import pytest

from nfvmon.conductor_rpc.client import ConductorAPI, MonitorControlAPI
from nfvmon.conductor_rpc.server import Conductor
from nfvmon.db.api import VIM, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
from nfvmon.protocol import state_digest
from tests.conftest import queue_exists, rabbit_url, wait_for


@pytest.fixture
def conf(global_conf):
    return global_conf


def _store(url: str) -> Store:
    upgrade(url)
    return Store(make_engine(url))


def _conductor(conf, url: str, transport_url: str, topic: str):
    conf.set_override("connection", url, group="database")
    conf.set_override("topic", topic, group="conductor")
    transport = messaging.get_rpc_transport(conf, url=transport_url)
    conductor = Conductor(conf, transport=transport, store=_store(url))
    conductor.start()
    return conductor, transport


def test_update_vim_round_trip_on_the_fake_transport(conf, tmp_path):
    url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    conductor, transport = _conductor(conf, url, "fake://", "nfvmon_conductor")
    try:
        conductor.store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
        api = ConductorAPI(transport, timeout=10)
        assert api.update_vim({}, "vim-1", "REACHABLE", "a1") == "REACHABLE"
        assert api.update_vim({}, "vim-1", "UNREACHABLE", "stale") == "bad_action"
        assert api.update_vim({}, "vim-1", "ASLEEP", "a1").startswith("error: unknown VIM status")
        assert api.check_in({}, "a1", state_digest({"status": "REACHABLE"})) == "ok"
        assert conductor.store.get_vim("vim-1").status == "REACHABLE"
    finally:
        conductor.stop()
        transport.cleanup()


def test_a_refused_action_learns_why_over_rpc_1_1(conf, tmp_path):
    """`bad_action` stays the bare 1.0 answer; `refusal` (1.1) says why, in one line."""
    url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    conductor, transport = _conductor(conf, url, "fake://", "nfvmon_conductor")
    try:
        conductor.store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
        api = ConductorAPI(transport, timeout=10)
        assert api.check_in({}, "stale", state_digest({"status": "PENDING"})) == "bad_action"
        assert api.refusal({}, "stale", "vim", "vim-1") == (
            "VIM vim-1: this monitor (action stale) was superseded by a newer one; "
            "nothing to do")
        assert api.refusal({}, "a9", "vim", "vim-9").startswith(
            "VIM vim-9 is not registered with this nfvmon")
    finally:
        conductor.stop()
        transport.cleanup()


class _Received:
    """What one action's control handler got."""

    def __init__(self):
        self.calls = []

    def __call__(self, method, args):
        self.calls.append((method, dict(args)))


def test_kill_reaches_the_named_action_and_no_other_over_rabbitmq(conf):
    """The client API's casts, through oslo.messaging, to the executor's control hub."""
    from nfvmon.actions.control_hubs import control_hub

    transport = messaging.get_rpc_transport(conf, url=rabbit_url())
    hub = control_hub(transport, rabbit_url())
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    received = {old: _Received(), new: _Received()}
    try:
        for action_id, handler in received.items():
            hub.register(action_id, handler).result(10)
        control = MonitorControlAPI(transport)
        control.kill({}, old)
        control.update({}, new, {"mgmt_ips": {"VDU1": ["127.0.0.3"]}})
        # A marker cast to each after them (one queue each, delivered in order): once the
        # markers are in, anything else those casts caused would be in too.
        for action_id in received:
            control.update({}, action_id, {"marker": True})
        assert wait_for(lambda: all(r.calls and r.calls[-1][1].get("parameter") == {
            "marker": True} for r in received.values()), timeout=10)
        marker = ("update", {"parameter": {"marker": True}})
        assert received[old].calls == [("kill", {"action_id": old}),
                                       (marker[0], {"action_id": old, **marker[1]})]
        assert received[new].calls == [
            ("update", {"action_id": new, "parameter": {"mgmt_ips": {"VDU1": ["127.0.0.3"]}}}),
            (marker[0], {"action_id": new, **marker[1]})]
    finally:
        for action_id in received:
            hub.unregister(action_id)
        hub.close()
        transport.cleanup()
    assert not any(queue_exists(f"KILL_ACTION.{action_id}") for action_id in received)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_conductor_process(tmp_path, name: str, db_url: str, topic: str, port: int):
    conf_file = tmp_path / f"{name}.conf"
    conf_file.write_text(
        f"[DEFAULT]\nhost = {name}\ntransport_url = {rabbit_url()}\n"
        f"state_path = {tmp_path}\n"
        f"[database]\nconnection = {db_url}\n"
        f"[conductor]\ntopic = {topic}\nmetrics_port = {port}\n")
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([sys.executable, "-m", "nfvmon.cli", "conductor",
                                "--config-file", str(conf_file)], stdout=log, stderr=log,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return process, log


def _rpc_count(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    match = re.search(r'nfvmon_rpc_seconds_count\{method="update_vim"\} (\S+)', text)
    return float(match.group(1)) if match else 0.0


def test_two_conductors_share_one_topic_and_one_postgresql(conf, tmp_path, postgres_url):
    store = _store(postgres_url)
    topic = f"nfvmon_test_{uuid.uuid4().hex[:8]}"
    ports = [_free_port(), _free_port()]
    procs = [_start_conductor_process(tmp_path, f"conductor-{i}", postgres_url, topic, port)
             for i, port in enumerate(ports)]
    transport = messaging.get_rpc_transport(conf, url=rabbit_url())
    try:
        api = ConductorAPI(transport, topic=topic, timeout=5)
        store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
        deadline = time.monotonic() + 60
        while True:  # both up: each answers on its metrics port, the topic answers calls
            try:
                if all(_rpc_count(p) >= 0 for p in ports) and \
                        api.update_vim({}, "vim-1", "REACHABLE", "a1") == "REACHABLE":
                    break
            except (OSError, messaging.MessagingTimeout):
                pass
            assert time.monotonic() < deadline, [p.read_text() for p in tmp_path.glob("*.log")]
            time.sleep(0.5)
        statuses = ["UNREACHABLE", "REACHABLE"] * 30
        answers = [api.update_vim({}, "vim-1", status, "a1") for status in statuses]
        assert answers == statuses
        store.set_action(VIM, "vim-1", "a2")
        assert api.update_vim({}, "vim-1", "UNREACHABLE", "a1") == "bad_action"
        counts = [_rpc_count(port) for port in ports]
        assert all(count > 0 for count in counts), counts  # both conductors served calls
        events = [e for e in store.events(VIM, "vim-1") if e.event_type == "MONITOR"]
        assert len(events) == 61 and store.get_vim("vim-1").status == "REACHABLE"
    finally:
        transport.cleanup()
        for process, log in procs:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
        store.close()
