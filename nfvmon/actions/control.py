"""How `kill` and `update` reach the running monitors of one process.

The conductor and the lifecycle cast them to topic KILL_ACTION with the action id as server
(`conductor_rpc.client.MonitorControlAPI`), which RabbitMQ routes to the queue
`KILL_ACTION.<action_id>`. On RabbitMQ one consumer per process serves those queues for all of
its monitors: one connection and one thread, whatever their number. An oslo.messaging RPC
server per monitor costs a thread and an AMQP connection each (200 took 201 threads and about
100 MiB), which would not fit a thousand monitors in one Mistral executor. The queues are
declared auto-delete, so a monitor that ends, or a process that dies, leaves nothing behind on
the broker. If the broker is down when a monitor starts, its queue is declared when the
connection comes back; the monitor does not wait for that to probe and report.

Other transports (the demo's fake://) get one oslo.messaging RPC server per monitor.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import queue
import random
import threading
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger(__name__)

#: handler(method, args): `method` is "kill" or "update", `args` its keyword arguments.
Handler = Callable[[str, dict[str, Any]], None]

METHODS = ("kill", "update")
_ENVELOPE_VERSION = "2.0"
_POLL_SECONDS = 0.1
_RETRY_MAX = 30.0


class ControlMessageError(ValueError):
    """A message on a control queue that is not a cast of `kill` or `update`."""


def decode_cast(body: Any) -> tuple[str, dict[str, Any]]:
    """(method, args) of an oslo.messaging cast as RabbitMQ carries it.

    oslo.messaging wraps every message in its RPC envelope 2.0: a JSON object whose
    `oslo.message` member is the JSON text of `{"method", "args", "version", ...}`.
    """
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            raise ControlMessageError("not JSON") from None
    if not isinstance(body, dict) or body.get("oslo.version") != _ENVELOPE_VERSION:
        raise ControlMessageError("not an oslo.messaging 2.0 envelope")
    try:
        message = json.loads(body["oslo.message"])
    except (KeyError, TypeError, ValueError):
        raise ControlMessageError("envelope without a JSON message") from None
    if not isinstance(message, dict):
        raise ControlMessageError("message is not an object")
    method, args = message.get("method"), message.get("args", {})
    if method not in METHODS:
        raise ControlMessageError(f"unknown control method {method!r}")
    if not isinstance(args, dict):
        raise ControlMessageError(f"{method}: arguments are not an object")
    if message.get("_msg_id") is not None:
        raise ControlMessageError("control methods are casts, not calls")
    return method, args


def queue_name(action_id: str) -> str:
    from nfvmon.protocol import KILL_TOPIC

    return f"{KILL_TOPIC}.{action_id}"


def amqp_urls(transport_url: str) -> list[str]:
    """kombu URLs for each host of an oslo.messaging `rabbit://` transport URL."""
    from urllib.parse import quote

    import oslo_messaging as messaging
    from oslo_config import cfg

    parsed = messaging.TransportURL.parse(cfg.CONF, transport_url)
    vhost = quote(parsed.virtual_host or "/", safe="")
    urls = []
    for host in parsed.hosts:
        user = quote(host.username or "guest", safe="")
        password = quote(host.password or "guest", safe="")
        urls.append(f"amqp://{user}:{password}@{host.hostname or 'localhost'}:"
                    f"{host.port or 5672}/{vhost}")
    return urls


class RabbitControlHub:
    """One kombu connection and one thread consuming every `KILL_ACTION.<id>` queue."""

    def __init__(self, transport_url: str, exchange: str, *, durable: bool = False,
                 auto_delete: bool = False, ssl: bool = False):
        self._urls = amqp_urls(transport_url)
        self._exchange_args = {"name": exchange, "type": "topic", "durable": durable,
                               "auto_delete": auto_delete}
        self._ssl = ssl
        self._handlers: dict[str, Handler] = {}
        self._declared: dict[str, concurrent.futures.Future] = {}
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="nfvmon-control", daemon=True)
        self._thread.start()

    # --- any thread ----------------------------------------------------------------------

    def register(self, action_id: str, handler: Handler) -> concurrent.futures.Future:
        """Start delivering the action's control messages to `handler` (on the hub's thread).

        The future is done once the queue exists on the broker; until then (broker down)
        the hub keeps trying."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            self._handlers[action_id] = handler
            self._declared[action_id] = future
        self._commands.put(("add", action_id, None))
        return future

    def unregister(self, action_id: str, timeout: float = 5.0) -> None:
        """Stop consuming the action's queue, which the broker then deletes (auto-delete);
        waits up to `timeout` for that (0: not at all; nor while the broker is away)."""
        with self._lock:
            self._handlers.pop(action_id, None)
            future = self._declared.pop(action_id, None)
        if future is not None and not future.done():
            future.cancel()
        done = threading.Event()
        self._commands.put(("remove", action_id, done))
        if timeout and self._connected.is_set():
            done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    # --- the hub's thread ----------------------------------------------------------------

    def _run(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                self._serve()
                return
            except Exception as exc:  # noqa: BLE001 - broker gone: reconnect, never give up
                LOG.warning("control consumer lost the broker (%s: %s); reconnecting in "
                            "about %.0f s", type(exc).__name__, exc, delay)
            self._stopping.wait(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, _RETRY_MAX)

    def _serve(self) -> None:
        import kombu

        with kombu.Connection(";".join(self._urls), heartbeat=30, connect_timeout=5,
                              ssl=self._ssl) as connection:
            connection.ensure_connection(max_retries=1)
            channel = connection.channel()
            kombu.Exchange(channel=channel, **self._exchange_args).declare()
            # Declared once here, not again with each of (maybe) a thousand queues.
            exchange = kombu.Exchange(channel=channel, no_declare=True, **self._exchange_args)
            # One kombu Consumer (one basic.consume) per queue, all on this channel: adding
            # or cancelling one costs the same whether there are ten or a thousand.
            consumers: dict[str, kombu.Consumer] = {}
            # Whatever was registered before (or during) a reconnection: declare it all anew.
            while not self._commands.empty():
                _command, _action_id, done = self._commands.get_nowait()
                if done is not None:
                    done.set()
            with self._lock:
                current = list(self._handlers)
            for action_id in current:
                self._add(channel, consumers, exchange, action_id)
            LOG.info("control consumer connected; %d monitor queue(s)", len(current))
            self._connected.set()
            try:
                while not self._stopping.is_set():
                    self._apply_commands(channel, consumers, exchange)
                    try:
                        connection.drain_events(timeout=_POLL_SECONDS)
                    except TimeoutError:
                        pass
                    # Also while messages keep coming: a consumer sends nothing else, and
                    # the broker closes a connection whose heartbeats stop.
                    connection.heartbeat_check()
            finally:
                self._connected.clear()

    def _apply_commands(self, channel, consumers, exchange) -> None:
        while True:
            try:
                command, action_id, done = self._commands.get_nowait()
            except queue.Empty:
                return
            if command == "add":
                self._add(channel, consumers, exchange, action_id)
            else:
                consumer = consumers.pop(action_id, None)
                if consumer is not None:
                    consumer.cancel()
                done.set()

    def _add(self, channel, consumers, exchange, action_id: str) -> None:
        import kombu

        with self._lock:
            future = self._declared.get(action_id)
        if future is None:  # unregistered meanwhile
            return
        if action_id in consumers:
            return
        name = queue_name(action_id)
        consumer = kombu.Consumer(channel, queues=[kombu.Queue(name, exchange, routing_key=name,
                                                               durable=False, auto_delete=True)],
                                  callbacks=[self._on_message], no_ack=True, accept=["json"])
        consumer.consume()
        consumers[action_id] = consumer
        if not future.done():
            future.set_result(name)

    def _on_message(self, body, message) -> None:
        action_id = message.delivery_info.get("routing_key", "").partition(".")[2]
        with self._lock:
            handler = self._handlers.get(action_id)
        if handler is None:
            return
        try:
            method, args = decode_cast(body)
        except ControlMessageError as exc:
            LOG.warning("control message for %s ignored: %s", action_id, exc)
            return
        try:
            handler(method, args)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the consumer
            LOG.exception("control handler of %s failed", action_id)
