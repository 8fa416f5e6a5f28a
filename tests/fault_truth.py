"""The truth a fault run controls: HTTP targets on loopback addresses that it starts and
stops, and the VNF manager that "respawns" a VNF by starting a target on a fresh address.

The conductors run MANAGER_SCRIPT through the `command` VNF-manager driver; the script asks
this process (NFVMON_FAULT_MANAGER, an HTTP endpoint on 127.0.0.1) for the new address, so
every target and every respawn is known here, with its time: that is what the database is
compared with at the end.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANAGER_SCRIPT = '''\
"""nfvmon fault suite's VNF manager: ask the suite for a new address, print it."""
import json, os, sys, urllib.request
body = json.dumps({"operation": sys.argv[-1], "vnf_id": os.environ["NFVMON_VNF_ID"],
                   "vdu": os.environ["NFVMON_VDU"], "conductor_pid": os.getppid()}).encode()
request = urllib.request.Request(os.environ["NFVMON_FAULT_MANAGER"], data=body,
                                 headers={"Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=120) as answer:
    sys.stdout.write(answer.read().decode())
'''

_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"


@dataclass
class Hold:
    """A held respawn: `arrived` when the manager was asked (then `respawn` says by whom),
    answered once `released` is set."""

    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    respawn: Respawn | None = None


@dataclass(frozen=True)
class Respawn:
    at: float          # time.time() the manager was asked
    vnf_id: str
    vdu: str
    conductor_pid: int
    address: str       # the new target, started before the answer


class TargetFarm:
    """HTTP targets (one port, many loopback addresses) on an asyncio loop of their own.

    Each answers one GET and closes the connection, so stopping a target (closing its
    listener and any open connection) makes it dead at once: refused from then on."""

    def __init__(self, port: int):
        self.port = port
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="target-farm")
        self._thread.start()
        self._servers: dict[str, asyncio.Server] = {}
        self._lock = threading.Lock()
        #: (time.time(), address, alive) for every start and stop.
        self.history: list[tuple[float, str, bool]] = []

    async def _answer(self, reader, writer) -> None:
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            writer.write(_RESPONSE)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                TimeoutError):
            pass
        finally:
            writer.close()

    def start(self, address: str) -> None:
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._answer, address, self.port, reuse_address=True),
            self.loop).result(10)
        with self._lock:
            self._servers[address] = server
            self.history.append((time.time(), address, True))

    def stop(self, address: str) -> None:
        with self._lock:
            server = self._servers.pop(address)
            self.history.append((time.time(), address, False))

        async def close():
            server.close()
            server.close_clients() if hasattr(server, "close_clients") else None
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)

    def alive(self, address: str) -> bool:
        with self._lock:
            return address in self._servers

    def close(self) -> None:
        for address in list(self._servers):
            self.stop(address)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class AddressPool:
    """Fresh loopback addresses, never handed out twice in a run."""

    def __init__(self, first: str = "127.77.0.1"):
        self._next = int(ipaddress.IPv4Address(first))
        self._lock = threading.Lock()

    def take(self) -> str:
        with self._lock:
            while self._next % 256 in (0, 255):
                self._next += 1
            address = str(ipaddress.IPv4Address(self._next))
            self._next += 1
            return address


class Manager:
    """The VNF manager's endpoint: a respawn or heal starts a target on a fresh address and
    answers `{"mgmt_ips": {VDU: [address]}}`. A VNF may be held: its next respawn is noted
    (`held`), and answered only once `release(vnf_id)` is called, so that the run can kill
    the conductor while the policy action runs."""

    def __init__(self, farm: TargetFarm, pool: AddressPool):
        self.farm, self.pool = farm, pool
        self.respawns: list[Respawn] = []
        self._holds: dict[str, Hold] = {}
        self._lock = threading.Lock()
        manager = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    answer = manager.handle(json.loads(self.rfile.read(length)))
                    status = 200
                except (ValueError, KeyError) as exc:
                    answer, status = {"error": str(exc)}, 400
                body = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the command was killed with its conductor

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/manager"
        threading.Thread(target=self.server.serve_forever, daemon=True,
                         name="manager").start()

    def handle(self, request: dict) -> dict:
        if request["operation"] not in ("respawn", "heal"):
            return {}
        address = self.pool.take()
        self.farm.start(address)
        respawn = Respawn(time.time(), request["vnf_id"], request["vdu"],
                          int(request["conductor_pid"]), address)
        with self._lock:
            self.respawns.append(respawn)
            hold = self._holds.pop(request["vnf_id"], None)
        if hold is not None:
            hold.respawn = respawn
            hold.arrived.set()
            hold.released.wait(60)
        return {"mgmt_ips": {request["vdu"]: [address]}}

    def hold(self, vnf_id: str) -> Hold:
        """Hold the VNF's next respawn."""
        hold = Hold()
        with self._lock:
            self._holds[vnf_id] = hold
        return hold

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

