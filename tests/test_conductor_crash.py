"""A conductor killed (SIGKILL) or stopped (SIGTERM) mid-respawn: its successor finishes.

Real processes over the real RabbitMQ: the VNF manager is a `command` that hangs the first
time (the conductor is killed while it runs) and answers the second time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import oslo_messaging as messaging
import pytest

from nfvmon.conductor_rpc.client import ConductorAPI
from nfvmon.db.api import VNF, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
from tests.conftest import rabbit_url, wait_for

MANAGER = textwrap.dedent("""\
    import json, os, pathlib, sys, time
    calls = pathlib.Path(sys.argv[1])
    with calls.open("a") as log:
        log.write(os.environ["NFVMON_OPERATION"] + " " + os.environ["NFVMON_VDU"] + "\\n")
    if len(calls.read_text().splitlines()) == 1:
        time.sleep(120)  # the first call hangs: the conductor is killed meanwhile
    print(json.dumps({"mgmt_ips": {"VDU1": ["127.0.0.9"]}}))
""")


@pytest.fixture
def conductor_files(tmp_path):
    script = tmp_path / "manager.py"
    script.write_text(MANAGER)
    calls = tmp_path / "calls.log"
    topic = f"nfvmon_crash_{uuid.uuid4().hex[:8]}"
    conf = tmp_path / "nfvmon.conf"
    db_url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    conf.write_text(textwrap.dedent(f"""\
        [DEFAULT]
        host = crash-test
        transport_url = {rabbit_url()}
        [database]
        connection = {db_url}
        [conductor]
        topic = {topic}
        reconcile = false
        reconcile_interval = 1
        policy_action_timeout = 60
        [vnf_manager]
        driver = command
        command = {sys.executable},{script},{calls}
        command_timeout = 100
        """))
    upgrade(db_url)
    return conf, db_url, topic, calls


def _start(conf, log_path):
    log = open(log_path, "a")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([sys.executable, "-m", "nfvmon.cli", "conductor",
                                "--config-file", str(conf)], stdout=log, stderr=log,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return process, log


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_a_respawn_cut_short_is_finished_by_the_restarted_conductor(
        conductor_files, tmp_path, global_conf, signum):
    conf, db_url, topic, calls = conductor_files
    store = Store(make_engine(db_url))
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, status="ACTIVE", action_id="a1")
    transport = messaging.get_rpc_transport(global_conf, url=rabbit_url())
    api = ConductorAPI(transport, topic=topic, timeout=60)
    process, log = _start(conf, tmp_path / "conductor.log")
    try:
        _wait_listening(transport, topic)
        answer = api.execute_policy_action(
            {}, {"id": "vnf-1"}, {"vdu": "VDU1", "target": "127.0.0.2", "event": "failure",
                                  "details": "3 rounds lost"}, {"failure": "respawn"}, "a1")
        assert answer in ("DEAD", "PENDING_HEAL")
        assert wait_for(lambda: calls.exists() and store.get_vnf("vnf-1").status ==
                        "PENDING_HEAL", timeout=30)
        process.send_signal(signum)
        process.wait(10)  # SIGTERM too ends it at once: the respawn is left to its job
        assert store.get_vnf("vnf-1").status == "PENDING_HEAL"
        assert store.jobs.get("vnf-1").owner == "crash-test"

        log.close()
        process, log = _start(conf, tmp_path / "conductor.log")
        assert wait_for(lambda: store.get_vnf("vnf-1").status == "ACTIVE", timeout=60), \
            (tmp_path / "conductor.log").read_text()[-3000:]
        assert store.get_vnf("vnf-1").mgmt_ips == {"VDU1": ["127.0.0.9"]}
        assert calls.read_text().splitlines() == ["respawn VDU1", "respawn VDU1"]
        assert store.jobs.get("vnf-1") is None
        states = [e.state for e in store.events(VNF, "vnf-1")]
        assert states == ["ACTIVE", "DEAD", "PENDING_HEAL", "ACTIVE"]
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        transport.cleanup()
        store.close()
        for child in _manager_processes(tmp_path):
            os.kill(child, signal.SIGKILL)


def _wait_listening(transport, topic: str) -> None:
    """A call sent before the conductor's queue exists is dropped: wait for one answered."""
    probe = ConductorAPI(transport, topic=topic, timeout=2)
    deadline = time.monotonic() + 60
    while True:
        try:
            probe.check_in({}, "no-such-action", "x")
            return
        except messaging.MessagingTimeout:
            assert time.monotonic() < deadline, "the conductor never answered"


def _manager_processes(tmp_path) -> list[int]:
    """The hung manager command the killed conductor left behind (ours alone, by its path)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if str(tmp_path / "manager.py").encode() in cmdline.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found
