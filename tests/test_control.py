"""The control hub: how kill and update reach the monitors of one process.

The live tests use the real RabbitMQ: casts go out through oslo.messaging exactly as the
conductor sends them (MonitorControlAPI), and come in through the hub's single consumer.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid

import oslo_messaging as messaging
import pytest

from nfvmon.actions.control import (
    ControlMessageError,
    RabbitControlHub,
    amqp_urls,
    decode_cast,
    queue_name,
)
from nfvmon.conductor_rpc.client import MonitorControlAPI
from nfvmon.protocol import EXCHANGE
from tests.conftest import queue_exists, rabbit_url, wait_for


def _envelope(message: dict, version: str = "2.0") -> dict:
    return {"oslo.version": version, "oslo.message": json.dumps(message)}


def test_a_cast_is_decoded_from_the_oslo_envelope():
    body = _envelope({"method": "kill", "args": {"action_id": "a1"}, "version": "1.0",
                      "_unique_id": "x", "_context_user": None})
    assert decode_cast(body) == ("kill", {"action_id": "a1"})
    assert decode_cast(json.dumps(body).encode()) == ("kill", {"action_id": "a1"})


@pytest.mark.parametrize("body, reason", [
    (b"not json", "not JSON"),
    ({"method": "kill"}, "envelope"),
    (_envelope({"method": "kill", "args": {}}, version="3.0"), "envelope"),
    ({"oslo.version": "2.0", "oslo.message": "[1"}, "JSON message"),
    (_envelope({"method": "reboot", "args": {}}), "unknown control method"),
    (_envelope({"method": "kill", "args": []}), "arguments are not an object"),
    (_envelope({"method": "kill", "args": {}, "_msg_id": "m1"}), "casts, not calls"),
])
def test_anything_but_a_kill_or_update_cast_is_refused(body, reason):
    with pytest.raises(ControlMessageError, match=reason):
        decode_cast(body)


def test_every_host_of_a_transport_url_becomes_a_kombu_url():
    urls = amqp_urls("rabbit://user:p%40ss@10.0.0.1:5673,other:pw@10.0.0.2/nfv")
    assert urls == ["amqp://user:p%40ss@10.0.0.1:5673/nfv", "amqp://other:pw@10.0.0.2:5672/nfv"]
    assert amqp_urls("rabbit://guest:guest@127.0.0.1:5672/") == [
        "amqp://guest:guest@127.0.0.1:5672/%2F"]


class Recorder:
    """The handlers of many fake monitors; remembers what each one was sent."""

    def __init__(self):
        self.received: dict[str, list] = {}
        self.lock = threading.Lock()

    def handler(self, action_id):
        def handle(method, args):
            with self.lock:
                self.received.setdefault(action_id, []).append((method, args))
        return handle


@pytest.fixture
def control_api(global_conf):
    transport = messaging.get_rpc_transport(global_conf, url=rabbit_url())
    yield MonitorControlAPI(transport)
    transport.cleanup()


def test_one_consumer_and_one_thread_serve_a_thousand_monitors(control_api):
    recorder = Recorder()
    threads_before = threading.active_count()
    hub = RabbitControlHub(rabbit_url(), EXCHANGE)
    try:
        ids = [str(uuid.uuid4()) for _ in range(1000)]
        declared = [hub.register(action_id, recorder.handler(action_id)) for action_id in ids]
        for future in declared:
            assert future.result(60) == queue_name(ids[declared.index(future)])
        assert threading.active_count() <= threads_before + 1
        killed, updated = ids[10], ids[500]
        control_api.kill({}, killed)
        control_api.update({}, updated, {"mgmt_ips": {"VDU1": ["127.0.0.9"]}})
        assert wait_for(lambda: len(recorder.received) == 2)
        assert recorder.received == {
            killed: [("kill", {"action_id": killed})],
            updated: [("update", {"action_id": updated,
                                  "parameter": {"mgmt_ips": {"VDU1": ["127.0.0.9"]}}})]}
        for action_id in ids:
            hub.unregister(action_id, timeout=0)
        assert wait_for(lambda: not any(queue_exists(queue_name(a))
                                        for a in (ids[0], killed, ids[-1])))
        control_api.kill({}, ids[0])  # nobody is listening any more: dropped, no error
    finally:
        hub.close()


class Proxy:
    """A TCP relay to RabbitMQ that the test can cut, as a broker restart would."""

    def __init__(self, target=("127.0.0.1", 5672)):
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener = None
        self._sockets: list[socket.socket] = []

    def start(self):
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen()
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self):
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._listener.close()
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._sockets.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_monitor_queues_are_declared_when_the_broker_comes_back(control_api):
    proxy = Proxy()
    recorder = Recorder()
    hub = RabbitControlHub(f"rabbit://guest:guest@127.0.0.1:{proxy.port}/", EXCHANGE)
    try:
        action_id = str(uuid.uuid4())
        declared = hub.register(action_id, recorder.handler(action_id))
        assert not wait_for(declared.done, timeout=1.5)  # broker unreachable: still waiting
        proxy.start()
        assert declared.result(30) == queue_name(action_id)
        control_api.update({}, action_id, {"mgmt_ips": {}})
        assert wait_for(lambda: len(recorder.received.get(action_id, [])) == 1)

        proxy.cut()  # the broker "restarts": the auto-delete queue goes with the connection
        assert wait_for(lambda: not queue_exists(queue_name(action_id)))
        proxy.start()
        assert wait_for(lambda: queue_exists(queue_name(action_id)), timeout=30)
        control_api.kill({}, action_id)
        assert wait_for(lambda: ("kill", {"action_id": action_id})
                        in recorder.received[action_id])
    finally:
        hub.close()
        proxy.cut()
