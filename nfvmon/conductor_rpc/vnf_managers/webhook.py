"""`webhook`: POSTs `{"operation", "vnf_id", "vdu"}` as JSON; the answer may carry mgmt_ips.

The bearer token goes to the configured URL and nowhere else: redirects are never followed
(a 3xx is a failed operation saying where it pointed). `webhook_timeout` bounds the whole
exchange, connect to last byte: the request runs on a worker thread whose socket is shut
down at the deadline, so a server that drips its answer cannot hold a policy action past it.
An answer shorter than its Content-Length, or longer than 1 MiB, is a failure.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from nfvmon.conductor_rpc.vnf_managers.base import (
    MAX_ANSWER,
    ManagerError,
    MgmtIps,
    VnfManager,
    check_ids,
    parse_mgmt_ips,
    shown_error,
)

_READ = 64 * 1024


@dataclass(frozen=True)
class _Reply:
    status: int
    reason: str
    location: str | None
    body: bytes


class _Failed(Exception):
    """What went wrong in the exchange, already worded for the ManagerError."""


class WebhookManager(VnfManager):
    def run(self, operation: str, vnf_id: str, vdu: str | None) -> MgmtIps:
        check_ids(operation, vnf_id, vdu)
        url = self.conf.vnf_manager.webhook_url
        if not url:
            raise ManagerError("[vnf_manager] webhook_url is not set")
        body = json.dumps({"operation": operation, "vnf_id": vnf_id, "vdu": vdu}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Connection": "close"}
        if self.conf.vnf_manager.webhook_token:
            headers["Authorization"] = f"Bearer {self.conf.vnf_manager.webhook_token}"
        try:
            reply = _post(urlsplit(url), body, headers, self.conf.vnf_manager.webhook_timeout)
        except _Failed as exc:
            raise ManagerError(shown_error(f"webhook {operation}: {exc}")) from None
        if 300 <= reply.status < 400:
            raise ManagerError(shown_error(
                f"webhook {operation}: redirected (HTTP {reply.status} to "
                f"{_where(reply.location)}); nfvmon does not follow redirects: set "
                "[vnf_manager] webhook_url to the final URL", 400))
        if not 200 <= reply.status < 300:
            raise ManagerError(shown_error(
                f"webhook {operation}: HTTP {reply.status} {reply.reason}"))
        text = reply.body.decode("utf-8", "replace")
        try:
            answer = json.loads(text) if text.strip() else None
        except ValueError:
            raise ManagerError(f"webhook {operation}: the answer is not JSON") from None
        return parse_mgmt_ips(answer, "webhook")


def _post(url: SplitResult, body: bytes, headers: dict[str, str], timeout: float) -> _Reply:
    """One POST, done or abandoned within `timeout` seconds in all."""
    try:
        port = url.port
    except ValueError as exc:
        raise _Failed(f"[vnf_manager] webhook_url: {exc}") from None
    if url.scheme == "https":
        connection = http.client.HTTPSConnection(url.hostname, port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(url.hostname, port, timeout=timeout)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    box: dict[str, object] = {}

    def exchange() -> None:
        try:
            box["reply"] = _exchange(connection, path, body, headers)
        except _Failed as exc:
            box["error"] = str(exc)
        except http.client.IncompleteRead as exc:
            box["error"] = f"truncated answer ({len(exc.partial)} bytes, then the end)"
        except TimeoutError:
            box["error"] = f"no complete answer within {timeout:g} s"
        except (OSError, http.client.HTTPException) as exc:
            box["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    worker = threading.Thread(target=exchange, name="webhook", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        _abort(connection)
        raise _Failed(f"no complete answer within {timeout:g} s")
    if "error" in box:
        raise _Failed(box["error"])
    return box["reply"]  # type: ignore[return-value]


def _exchange(connection: http.client.HTTPConnection, path: str, body: bytes,
              headers: dict[str, str]) -> _Reply:
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    if 300 <= response.status < 400:
        return _Reply(response.status, response.reason, response.getheader("Location"), b"")
    declared = response.getheader("Content-Length")
    expected = int(declared) if declared and declared.strip().isdigit() else None
    if expected is not None and expected > MAX_ANSWER:
        raise _Failed("answer larger than 1 MiB")
    data = bytearray()
    try:
        while chunk := response.read(_READ):
            data.extend(chunk)
            if len(data) > MAX_ANSWER:
                raise _Failed("answer larger than 1 MiB")
    except ConnectionError as exc:  # the peer reset the connection mid-answer
        raise _Failed(f"truncated answer ({len(data)} bytes, then {type(exc).__name__})") \
            from None
    if expected is not None and len(data) < expected:
        raise _Failed(f"truncated answer ({len(data)} of {expected} bytes)")
    return _Reply(response.status, response.reason, None, bytes(data))


def _abort(connection: http.client.HTTPConnection) -> None:
    """Wake the worker blocked on the socket; it closes the connection and ends."""
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _where(location: str | None) -> str:
    """Where a redirect pointed, without credentials: `host:port`, or what kind of URL."""
    if not location:
        return "no Location"
    parts = urlsplit(location.strip())
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        return f"a {parts.scheme[:16]}: URL"
    if not parts.netloc:
        return "a path on the same host"
    return parts.netloc.rpartition("@")[2]
