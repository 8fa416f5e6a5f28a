"""The demo's stand-in VNF: a tiny HTTP server on a loopback address, and the VNF-manager
command that "respawns" it on the next loopback address.

    python -m nfvmon.demo.vnf_server serve ADDRESS PORT
    python -m nfvmon.demo.vnf_server manager STATE_DIR PORT OPERATION   (the command driver)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Alive(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        body = b"demo VNF alive\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(address: str, port: int) -> None:
    ThreadingHTTPServer((address, port), _Alive).serve_forever()


def start_server(address: str, port: int, state_dir: str) -> int:
    """Start `serve` as its own process (it outlives the caller); its pid is recorded."""
    process = subprocess.Popen([sys.executable, "-m", "nfvmon.demo.vnf_server", "serve",
                                address, str(port)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    with open(os.path.join(state_dir, "servers.pids"), "a", encoding="utf-8") as pids:
        pids.write(f"{process.pid}\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address, port), timeout=0.2).close()
            return process.pid
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the demo VNF did not start on {address}:{port}")


def manager(state_dir: str, port: int, operation: str) -> int:
    """Respawn/heal: start the server on the next loopback address and print it."""
    if operation not in ("respawn", "heal"):
        print(json.dumps({}))
        return 0
    counter = os.path.join(state_dir, "next_address")
    index = int(open(counter).read()) if os.path.exists(counter) else 3  # noqa: SIM115
    with open(counter, "w", encoding="utf-8") as handle:
        handle.write(str(index + 1))
    address = f"127.0.0.{index}"
    start_server(address, port, state_dir)
    vdu = os.environ.get("NFVMON_VDU") or "VDU1"
    print(json.dumps({"mgmt_ips": {vdu: [address]}}))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        serve(argv[1], int(argv[2]))
        return 0
    if argv[:1] == ["manager"]:
        return manager(argv[1], int(argv[2]), argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
