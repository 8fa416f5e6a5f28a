"""`nfvmon demo`: the whole monitoring loop in one process, with nothing but nfvmon installed.

The fake:// transport instead of a broker, SQLite in a temporary directory, the in-process
backend instead of Mistral (the generated workflows' tasks run through the same action
classes), and a stand-in VNF: an HTTP server process on a loopback address, watched with
ping and http_ping, whose `respawn` policy goes through the `command` VNF-manager driver.
It shows a VIM going PENDING -> REACHABLE, and the VNF ACTIVE -> (its server is stopped)
DEAD -> PENDING_HEAL -> ACTIVE at a new address, then the events.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import TextIO

DEMO_VNF_ADDRESS = "127.0.0.2"
VIM_CONFIG = {"auth_url": "http://127.0.0.1:5000/v3", "username": "demo",
              "password": "not-a-secret", "monitor": {"count": 2, "timeout": 0.5,
                                                      "interval": 1}}


def demo_vnfd(port: int) -> dict:
    """The 2016 form, so one VDU carries both monitors."""
    quick = {"monitoring_delay": 0, "count": 1, "interval": 1, "timeout": 0.5, "retry": 2}
    return {"template_name": "nfvmon-demo", "vdus": {"VDU1": {"monitoring_policy": {
        "ping": {"monitoring_params": quick, "actions": {"failure": "respawn"}},
        "http_ping": {"monitoring_params": {**quick, "port": port},
                      "actions": {"failure": "respawn"}}}}}}


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def run_demo(duration: float = 30.0, fail_after: float = 8.0, out: TextIO = sys.stdout) -> int:
    import oslo_messaging as messaging
    from oslo_config import cfg

    from nfvmon import config
    from nfvmon.actions import runtime
    from nfvmon.actions.probes.icmp import ProbeSetupError, check_icmp_allowed
    from nfvmon.conductor_rpc.client import MonitorControlAPI
    from nfvmon.conductor_rpc.server import Conductor
    from nfvmon.db.api import VIM, VNF, Store
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import upgrade
    from nfvmon.demo.vnf_server import start_server
    from nfvmon.lifecycle import InProcessBackend, Lifecycle

    try:
        check_icmp_allowed()
    except ProbeSetupError as exc:
        print(f"nfvmon demo: {exc}", file=out)
        return 2
    state = tempfile.mkdtemp(prefix="nfvmon-demo-")
    conf = cfg.CONF
    config.register_opts(conf)
    conf([], project="nfvmon")
    port = _free_port(DEMO_VNF_ADDRESS)
    db_url = f"sqlite:///{state}/nfvmon.sqlite"
    for group, key, value in [
            ("database", "connection", db_url), ("conductor", "topic", "nfvmon_demo"),
            ("conductor", "heal_backoff_initial", 1.0),
            ("vnf_manager", "driver", "command"),
            ("vnf_manager", "command", [sys.executable, "-m", "nfvmon.demo.vnf_server",
                                        "manager", state, str(port)])]:
        conf.set_override(key, value, group=group)
    upgrade(db_url)
    store = Store(make_engine(db_url))
    transport = messaging.get_rpc_transport(conf, url="fake://")
    conductor = Conductor(conf, transport=transport, store=store)
    print(f"nfvmon demo: state in {state}; the VNF serves HTTP on "
          f"{DEMO_VNF_ADDRESS}:{port}", file=out)
    first_server = start_server(DEMO_VNF_ADDRESS, port, state)
    conductor.start()
    runtime.reset(runtime.Settings(transport_url=None, topic="nfvmon_demo",
                                   checkin_interval=5, rpc_timeout=10, retry_initial=0.5,
                                   retry_max=5), transport=transport)
    lifecycle = Lifecycle(store, InProcessBackend(), MonitorControlAPI(transport))
    history: dict[str, list[str]] = {}
    try:
        vim_id = lifecycle.register_vim(VIM_CONFIG, "demo VIM config", name="demo-vim")
        vnf_id = lifecycle.create_vnf(demo_vnfd(port), "demo VNFD",
                                      {"VDU1": [DEMO_VNF_ADDRESS]}, name="demo-vnf")
        print(f"{'t/s':>5}  {'VIM demo-vim':<14} {'VNF demo-vnf':<18} VDU1 addresses", file=out)
        started, failed, last_row, last_print = time.monotonic(), False, None, -10.0
        while (elapsed := time.monotonic() - started) < duration:
            if not failed and elapsed >= fail_after:
                os.kill(first_server, signal.SIGTERM)
                failed = True
                print(f"{elapsed:5.1f}  -- the VNF's server at {DEMO_VNF_ADDRESS} is stopped "
                      "(a simulated failure) --", file=out)
            vim, vnf = store.get_vim(vim_id), store.get_vnf(vnf_id)
            addresses = ", ".join(ip for vdu in vnf.vdus for ip in vdu.mgmt_ips)
            row = (vim.status, vnf.status, addresses)
            if row != last_row or elapsed - last_print >= 5:  # every change, else every 5 s
                print(f"{elapsed:5.1f}  {vim.status:<14} {vnf.status:<18} {addresses}",
                      file=out)
                out.flush()
                last_row, last_print = row, elapsed
            time.sleep(0.05)
        print("\nevents:", file=out)
        history: dict[str, list[str]] = {}
        for kind, resource_id in ((VIM, vim_id), (VNF, vnf_id)):
            for event in store.events(kind, resource_id):
                history.setdefault(kind, []).append(event.state)
                reason = event.details.get("reason", "") if event.details else ""
                print(f"  {event.created_at:%H:%M:%S} {kind} {event.event_type:<8} "
                      f"{event.state:<14} {reason}", file=out)
        lifecycle.delete_vnf(vnf_id)
        lifecycle.deregister_vim(vim_id)
    finally:
        runtime.reset(None)
        conductor.stop()
        transport.cleanup()
        store.close()
        _stop_servers(state)
        shutil.rmtree(state, ignore_errors=True)
    expected = ["DEAD", "PENDING_HEAL", "ACTIVE"] if failed else []
    vnf_states = history.get(VNF, [])
    whole_loop = "REACHABLE" in history.get(VIM, []) and any(
        vnf_states[i:i + len(expected)] == expected for i in range(len(vnf_states)))
    print("nfvmon demo: " + ("the whole loop ran: VIM reachable; VNF failed, respawned, active"
                             if whole_loop else "the loop did not complete (see the events)"),
          file=out)
    return 0 if whole_loop else 1


def _stop_servers(state: str) -> None:
    path = os.path.join(state, "servers.pids")
    if not os.path.exists(path):
        return
    for line in open(path, encoding="utf-8").read().split():  # noqa: SIM115
        try:
            os.kill(int(line), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
