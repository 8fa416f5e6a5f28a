"""Control for transports other than RabbitMQ (the demo's fake://): one oslo.messaging RPC
server per monitor on KILL_ACTION.<action_id>. Fine for a handful of monitors; RabbitMQ
deployments get control.RabbitControlHub, one consumer for all of a process's monitors."""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

from nfvmon.actions.control import Handler, queue_name


class OsloControlHub:
    """One oslo.messaging RPC server per monitor: for transports other than RabbitMQ."""

    def __init__(self, transport):
        self._transport = transport
        self._servers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def register(self, action_id: str, handler: Handler) -> concurrent.futures.Future:
        import oslo_messaging as messaging

        from nfvmon.conductor_rpc.client import control_target

        future: concurrent.futures.Future = concurrent.futures.Future()
        server = messaging.get_rpc_server(self._transport, control_target(action_id),
                                          [_Endpoint(handler)],
                                          access_policy=messaging.DefaultRPCAccessPolicy)
        server.start()
        with self._lock:
            self._servers[action_id] = server
        future.set_result(queue_name(action_id))
        return future

    def unregister(self, action_id: str, timeout: float = 5.0) -> None:
        with self._lock:
            server = self._servers.pop(action_id, None)
        if server is not None:
            server.stop()
            server.wait()

    def close(self, timeout: float = 5.0) -> None:
        for action_id in list(self._servers):
            self.unregister(action_id)


class _Endpoint:
    def __init__(self, handler: Handler):
        import oslo_messaging as messaging

        self.target = messaging.Target(version="1.0")
        self._handler = handler

    def kill(self, ctxt, **args):
        self._handler("kill", args)

    def update(self, ctxt, **args):
        self._handler("update", args)
