"""The actions' run() against a real conductor over the real RabbitMQ.

The actions run here in the test process, on nfvmon's engine, exactly as Mistral's executor
would call them; targets are loopback addresses, a host in a network namespace of the test's
own, and HTTP servers the tests start.
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import threading
import time
import uuid

import oslo_messaging as messaging
import pytest

from nfvmon.actions import runtime
from nfvmon.actions.vim_ping import VimPingAction
from nfvmon.actions.vnf_policy_monitor import VnfPolicyMonitorAction
from nfvmon.conductor_rpc.client import MonitorControlAPI
from nfvmon.conductor_rpc.server import Conductor
from nfvmon.db.api import VIM, VNF, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
from tests.conftest import queue_exists, rabbit_url, serve_ok, wait_for


class Live:
    """A conductor on its own topic and SQLite file, and the actions' engine pointed at it."""

    def __init__(self, conf, tmp_path, checkin_interval: float, mistral_url: str | None = None):
        self.conf = conf
        self.url = rabbit_url()
        self.db = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
        upgrade(self.db)
        self.store = Store(make_engine(self.db))
        self.topic = f"nfvmon_test_{uuid.uuid4().hex[:8]}"
        conf.set_override("connection", self.db, group="database")
        conf.set_override("topic", self.topic, group="conductor")
        self.transport = messaging.get_rpc_transport(conf, url=self.url)
        self.conductor = None
        self.engine = runtime.reset(runtime.Settings(
            transport_url=self.url, topic=self.topic, checkin_interval=checkin_interval,
            rpc_timeout=2, retry_initial=0.2, retry_max=1, mistral_url=mistral_url))
        self.threads = []
        self.probed: dict[str, list[bool]] = {}
        self._count_probes(self.engine.icmp)

    def _count_probes(self, prober) -> None:
        """Record each ICMP probe's outcome per address (True: answered): the positive
        signal that the monitors' rounds went on, without sleeping."""
        echo_many = prober.echo_many

        async def counted(addresses, timeout, on_answer=None):
            rtts = await echo_many(addresses, timeout, on_answer)
            for address, rtt in zip(addresses, rtts, strict=True):
                self.probed.setdefault(address, []).append(rtt is not None)
            return rtts

        prober.echo_many = counted

    def probes(self, address: str, answered: bool) -> int:
        return self.probed.get(address, []).count(answered)

    def wait_for_probes(self, address: str, answered: bool, more: int) -> None:
        """Until `more` further probes of `address` got (`answered`) or missed an answer."""
        target = self.probes(address, answered) + more
        assert wait_for(lambda: self.probes(address, answered) >= target, timeout=20), \
            f"{address}: {self.probed.get(address)}"

    def update_vim_calls(self) -> float:
        """update_vim calls the running conductor served (its metric)."""
        return self.conductor.metrics.registry.get_sample_value(
            "nfvmon_rpc_seconds_count", {"method": "update_vim"}) or 0

    def start_conductor(self):
        self.conductor = Conductor(self.conf, transport=self.transport, store=self.store)
        self.conductor.start()

    def stop_conductor(self):
        self.conductor.stop()
        self.conductor = None

    def run(self, action):
        """Start `action.run(None)` on a thread, as Mistral's executor would."""
        holder = {}
        thread = threading.Thread(target=lambda: holder.update(result=action.run(None)),
                                  daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread, holder

    def kill(self, action_id):
        MonitorControlAPI(self.transport).kill({}, action_id)

    def update(self, action_id, parameter):
        MonitorControlAPI(self.transport).update({}, action_id, parameter)

    def close(self):
        runtime.reset(None)
        if self.conductor is not None:
            self.stop_conductor()
        self.transport.cleanup()
        self.store.close()


@pytest.fixture
def live_factory(global_conf, tmp_path):
    made = []

    def make(checkin_interval: float = 60.0, mistral_url: str | None = None, **vnf_manager):
        for key, value in vnf_manager.items():
            global_conf.set_override(key, value, group="vnf_manager")
        live = Live(global_conf, tmp_path, checkin_interval, mistral_url)
        live.start_conductor()
        made.append(live)
        return live

    yield make
    for live in made:
        live.close()


def _vim_action(vim_id, target, action_id, interval=0.3, run_mode="sync"):
    return VimPingAction(vim_id=vim_id, targetip=target, action_id=action_id, count=1,
                         timeout=0.3, interval=interval, run_mode=run_mode)


def _ended(thread, holder, timeout=15):
    thread.join(timeout)
    assert not thread.is_alive(), "the action did not end"
    return holder["result"].data


def test_vim_action_reports_only_changes_and_ends_when_killed(live_factory):
    live = live_factory()
    action_id = str(uuid.uuid4())
    live.store.create_vim("vim-1", target="127.0.0.1", action_id=action_id)
    thread, holder = live.run(_vim_action("vim-1", "127.0.0.1", action_id, interval=0.1))
    assert wait_for(lambda: live.store.get_vim("vim-1").status == "REACHABLE")
    live.wait_for_probes("127.0.0.1", answered=True, more=10)  # ten more successful rounds:
    assert [(e.event_type, e.state) for e in live.store.events(VIM, "vim-1")] == [
        ("CREATE", "PENDING"), ("MONITOR", "REACHABLE")]  # nothing more is sent
    live.kill(action_id)
    ended = _ended(thread, holder)
    assert ended["reason"] == "killed" and ended["status"] == "REACHABLE"
    assert not queue_exists(f"KILL_ACTION.{action_id}")  # nothing left on the broker


def test_kill_reaches_the_named_action_while_an_old_and_a_new_one_overlap(live_factory,
                                                                          caplog):
    caplog.set_level(logging.INFO, logger="nfvmon.actions.monitor")
    live = live_factory()
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    live.store.create_vim("vim-1", target="127.0.0.1", action_id=old)
    old_thread, old_holder = live.run(_vim_action("vim-1", "127.0.0.1", old))
    assert wait_for(lambda: live.store.get_vim("vim-1").status == "REACHABLE")
    # Its check-in at start done: replaced before it, it would end refused, not killed.
    assert wait_for(lambda: live.store.get_monitor(VIM, "vim-1").last_checkin_at is not None)
    live.store.set_action(VIM, "vim-1", new)  # the lifecycle replaced the action
    new_thread, new_holder = live.run(_vim_action("vim-1", "127.0.0.1", new))
    assert wait_for(lambda: queue_exists(f"KILL_ACTION.{new}"))  # both listen for kills
    live.kill(old)
    assert _ended(old_thread, old_holder)["reason"] == "killed"
    # A marker after the kill: the new action, still listening, logs that it ignores it.
    live.update(new, {"marker": 1})
    assert wait_for(lambda: f"monitor {new} ignores update {{'marker': 1}}" in caplog.text)
    assert new_thread.is_alive()
    live.kill(new)
    assert _ended(new_thread, new_holder)["reason"] == "killed"


def test_stale_action_ends_in_error_saying_it_was_superseded(live_factory):
    live = live_factory()
    live.store.create_vim("vim-1", target="127.0.0.1", action_id=str(uuid.uuid4()))
    stale = str(uuid.uuid4())
    thread, holder = live.run(_vim_action("vim-1", "127.0.0.1", stale))
    ended = _ended(thread, holder)
    assert holder["result"].error == (f"VIM vim-1: this monitor (action {stale}) was "
                                      f"superseded by a newer one; nothing to do")
    assert ended["reason"] == "refused: " + holder["result"].error
    assert live.store.get_vim("vim-1").status == "PENDING"


def test_quiet_stale_action_exits_at_start_though_its_kill_came_before_its_queue(
        live_factory):
    """A VNF monitor whose targets answer never reports; the broker dropped the kill cast
    before its KILL_ACTION queue existed; the check-in at start still ends it, long before
    the 60 s interval."""
    server = serve_ok("127.0.0.63", 0)
    try:
        live = live_factory(checkin_interval=60)
        stale = str(uuid.uuid4())
        live.store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.63"]}, action_id=str(uuid.uuid4()))
        live.kill(stale)  # no queue yet: dropped
        policy = {"vdu": "VDU1", "mgmt_ips": ["127.0.0.63"], "monitor": "http_ping",
                  "parameters": {"monitoring_delay": 0, "count": 1, "interval": 0.2,
                                 "timeout": 0.3, "retry": 2, "port": server.server_address[1]},
                  "actions": {"failure": "respawn"}}
        started = time.monotonic()
        thread, holder = live.run(VnfPolicyMonitorAction(vnf_id="vnf-1", policies=[policy],
                                                         action_id=stale))
        _ended(thread, holder)
        assert "superseded" in holder["result"].error
        assert time.monotonic() - started < 15
        assert [e.state for e in live.store.events(VNF, "vnf-1")] == ["ACTIVE"]
    finally:
        server.shutdown()
        server.server_close()


def test_quiet_action_exits_at_its_check_in_once_deregistered(live_factory):
    live = live_factory(checkin_interval=0.5)
    action_id = str(uuid.uuid4())
    live.store.create_vim("vim-1", target="127.0.0.1", action_id=action_id)
    thread, holder = live.run(_vim_action("vim-1", "127.0.0.1", action_id))
    assert wait_for(lambda: live.store.get_vim("vim-1").status == "REACHABLE")
    assert wait_for(lambda: live.store.get_monitor(VIM, "vim-1").last_checkin_at is not None)
    live.store.delete_resource(VIM, "vim-1")  # deregistered; suppose the kill was lost
    _ended(thread, holder)
    assert holder["result"].error == ("VIM vim-1: its monitoring was stopped (deregistered "
                                      "or being deleted)")


def test_latest_state_reaches_a_restarted_conductor_without_a_backlog(live_factory,
                                                                      netns_host):
    live = live_factory(checkin_interval=60)
    action_id = str(uuid.uuid4())
    live.store.create_vim("vim-1", target=netns_host.address, action_id=action_id)
    thread, holder = live.run(_vim_action("vim-1", netns_host.address, action_id))
    assert wait_for(lambda: live.store.get_vim("vim-1").status == "REACHABLE")
    live.stop_conductor()
    address = netns_host.address
    netns_host.down()  # UNREACHABLE, undeliverable: the action keeps probing and retrying
    live.wait_for_probes(address, answered=False, more=3)
    netns_host.up()  # REACHABLE again ...
    live.wait_for_probes(address, answered=True, more=3)
    netns_host.down()  # ... and UNREACHABLE: only this latest state matters
    live.wait_for_probes(address, answered=False, more=3)
    live.start_conductor()
    assert wait_for(lambda: live.store.get_vim("vim-1").status == "UNREACHABLE", timeout=20)
    live.kill(action_id)
    ended = _ended(thread, holder)  # it sends nothing more: the end of what it had to say
    assert ended["reason"] == "killed" and ended["status"] == "UNREACHABLE"
    assert [e.state for e in live.store.events(VIM, "vim-1")] == [
        "PENDING", "REACHABLE", "UNREACHABLE"]
    assert live.update_vim_calls() == 1  # the restarted conductor got the latest state only


def _mistral_takes(output) -> bool:
    """Whether Mistral's API takes this as an action execution's `output`: a JSON object
    (or its text), nothing else."""
    if isinstance(output, str):
        try:
            output = json.loads(output)
        except ValueError:
            return False
    return isinstance(output, dict)


class FakeMistralApi:
    """Mistral's action-execution API as an async action sees it: records each PUT and
    answers with the next scripted status (503 first: Mistral briefly away)."""

    def __init__(self, statuses=(503, 200)):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.puts: list[tuple[str, dict, int]] = []
        statuses, puts = list(statuses), self.puts

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not _mistral_takes(body.get("output")):
                    statuses.insert(0, 400)  # "JsonType field value must be a dictionary"
                status = statuses.pop(0) if statuses else 200
                puts.append((self.path, body, status))
                answer = json.dumps({"id": self.path.rsplit("/", 1)[1], **body}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _mistral_context(action_execution_id: str):
    from mistral_lib.actions.context import ActionContext, ExecutionContext

    return ActionContext(execution_ctx=ExecutionContext(
        workflow_execution_id=str(uuid.uuid4()), action_execution_id=action_execution_id))


def test_async_action_returns_at_once_and_reports_its_end_to_mistral(live_factory):
    mistral = FakeMistralApi(statuses=(503, 200))
    try:
        live = live_factory(mistral_url=mistral.url)
        action_id, action_execution_id = str(uuid.uuid4()), str(uuid.uuid4())
        live.store.create_vim("vim-1", target="127.0.0.1", action_id=action_id)
        action = VimPingAction(vim_id="vim-1", targetip="127.0.0.1", action_id=action_id,
                               count=1, timeout=0.3, interval=0.1, run_mode="async")
        assert action.is_sync() is False
        assert action.run(_mistral_context(action_execution_id)) is None  # thread given back
        assert wait_for(lambda: live.store.get_vim("vim-1").status == "REACHABLE")
        assert wait_for(lambda: queue_exists(f"KILL_ACTION.{action_id}"))
        live.kill(action_id)
        # Mistral answered 503 first: the end is sent again until Mistral has it.
        assert wait_for(lambda: [s for _p, _b, s in mistral.puts] == [503, 200], timeout=20)
        path, body, _status = mistral.puts[-1]
        assert path == f"/v2/action_executions/{action_execution_id}"
        assert body["state"] == "SUCCESS"
        assert body["output"]["reason"] == "killed" and body["output"]["status"] == "REACHABLE"
    finally:
        mistral.close()


def test_async_action_that_fails_reports_error_to_mistral(live_factory):
    mistral = FakeMistralApi(statuses=(200,))
    try:
        live_factory(mistral_url=mistral.url)  # the conductor, and the engine pointed at it
        action = VnfPolicyMonitorAction(
            vnf_id="vnf-1", action_id=str(uuid.uuid4()), run_mode="async",
            policies=[{"vdu": "VDU1", "mgmt_ips": ["127.0.0.1"], "monitor": "carrier_pigeon",
                       "parameters": {"monitoring_delay": 0, "count": 1, "interval": 1,
                                      "timeout": 1, "retry": 1},
                       "actions": {"failure": "log"}}])
        assert action.run(_mistral_context("ae-1")) is None
        assert wait_for(lambda: len(mistral.puts) == 1, timeout=20)
        _path, body, status = mistral.puts[0]
        assert status == 200  # Mistral took it: the output is JSON text, as it expects
        assert body["state"] == "ERROR" and "carrier_pigeon" in body["output"]["error"]
    finally:
        mistral.close()


def test_vnf_failure_respawns_and_the_monitor_follows_the_new_address(live_factory, tmp_path):
    first = serve_ok("127.0.0.61", 0)
    port = first.server_address[1]
    second = serve_ok("127.0.0.62", port)
    manager = tmp_path / "respawn.py"
    manager.write_text(textwrap.dedent("""
        import json
        print(json.dumps({"mgmt_ips": {"VDU1": ["127.0.0.62"]}}))
    """))
    live = live_factory(driver="command", command=[sys.executable, str(manager)])
    action_id = str(uuid.uuid4())
    live.store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.61"]}, action_id=action_id)
    policy = {"vdu": "VDU1", "mgmt_ips": ["127.0.0.61"], "monitor": "http_ping",
              "parameters": {"monitoring_delay": 0, "count": 1, "interval": 0.2,
                             "timeout": 0.3, "retry": 2, "port": port},
              "actions": {"failure": "respawn"}}
    thread, holder = live.run(VnfPolicyMonitorAction(vnf_id="vnf-1", policies=[policy],
                                                     action_id=action_id))
    try:
        assert wait_for(lambda: first.answered >= 3)  # probed and answered: no failure
        assert live.store.get_vnf("vnf-1").status == "ACTIVE"
        first.shutdown()
        first.server_close()
        assert wait_for(lambda: any(e.state == "PENDING_HEAL"
                                    for e in live.store.events(VNF, "vnf-1")))
        assert wait_for(lambda: live.store.get_vnf("vnf-1").status == "ACTIVE"
                        and live.store.get_vnf("vnf-1").vdus[0].mgmt_ips == ["127.0.0.62"])
        answered = second.answered  # the monitor now probes 127.0.0.62, which answers:
        assert wait_for(lambda: second.answered >= answered + 3)  # no new failure
        states = [e.state for e in live.store.events(VNF, "vnf-1")]
        assert states == ["ACTIVE", "DEAD", "PENDING_HEAL", "ACTIVE"]
        second.shutdown()  # and it is the new address that is watched
        assert wait_for(lambda: live.store.get_vnf("vnf-1").status in ("DEAD",
                                                                       "PENDING_HEAL"))
    finally:
        live.kill(action_id)
        ended = _ended(thread, holder)
        second.server_close()
    assert ended["reason"] == "killed"


# --- refusals: an action the conductor does not take ends in ERROR, saying why ----------------

def _refused_unregistered_vim(live, action_id, run_mode):
    return (_vim_action("vim-9", "127.0.0.1", action_id, run_mode=run_mode),
            "VIM vim-9 is not registered with this nfvmon: run nfvmon vim register CONFIG "
            "--deploy external, or deploy through nfvmon")


def _refused_unregistered_vnf(live, action_id, run_mode):
    policy = {"vdu": "VDU1", "mgmt_ips": ["127.0.0.1"], "monitor": "tcp",
              "parameters": {"monitoring_delay": 0, "count": 1, "interval": 0.3,
                             "timeout": 0.3, "retry": 3, "port": 9},
              "actions": {"failure": "log"}}
    return (VnfPolicyMonitorAction(vnf_id="vnf-9", policies=[policy], action_id=action_id,
                                   run_mode=run_mode),
            "VNF vnf-9 is not registered with this nfvmon: run nfvmon vnf create VNFD "
            "--mgmt-ip VDU=IP ... --deploy external, or deploy through nfvmon")


def _refused_superseded(live, action_id, run_mode):
    live.store.create_vim("vim-1", target="127.0.0.1", action_id=str(uuid.uuid4()))
    return (_vim_action("vim-1", "127.0.0.1", action_id, run_mode=run_mode),
            f"VIM vim-1: this monitor (action {action_id}) was superseded by a newer one; "
            f"nothing to do")


def _refused_stopped(live, action_id, run_mode):
    live.store.create_vim("vim-1", target="127.0.0.1", action_id=action_id)
    live.store.set_action(VIM, "vim-1", None)  # deregister's first step
    return (_vim_action("vim-1", "127.0.0.1", action_id, run_mode=run_mode),
            "VIM vim-1: its monitoring was stopped (deregistered or being deleted)")


def _end_seen_by_mistral(live, action, mistral) -> tuple[str, object]:
    """Run `action` as Mistral's executor would in its run_mode; the state and the output
    (an ERROR's one line) Mistral then has."""
    if action.is_sync():
        thread, holder = live.run(action)
        thread.join(15)
        assert not thread.is_alive(), "the action did not end"
        result = holder["result"]
        return ("ERROR", result.error) if result.is_error() else ("SUCCESS", result.data)
    assert action.run(_mistral_context(str(uuid.uuid4()))) is None
    assert wait_for(lambda: mistral.puts, timeout=15), "no end reported to Mistral"
    _path, body, status = mistral.puts[0]
    assert status == 200, f"Mistral refused the end: {body}"
    if body["state"] == "ERROR":
        return body["state"], body["output"]["error"]
    return body["state"], body["output"]


@pytest.mark.parametrize("run_mode", ["sync", "async"])
@pytest.mark.parametrize("scenario", [_refused_unregistered_vim, _refused_unregistered_vnf,
                                      _refused_superseded, _refused_stopped],
                         ids=["unregistered-vim", "unregistered-vnf", "superseded", "stopped"])
def test_a_refused_action_ends_in_error_with_one_line_saying_why(live_factory, run_mode,
                                                                 scenario):
    mistral = FakeMistralApi(statuses=(200,))
    try:
        live = live_factory(mistral_url=mistral.url)
        action, expected = scenario(live, str(uuid.uuid4()), run_mode)
        started = time.monotonic()
        assert _end_seen_by_mistral(live, action, mistral) == ("ERROR", expected)
        assert time.monotonic() - started < 10  # at its first check-in
    finally:
        mistral.close()


def test_a_report_answered_bad_action_ends_in_error_saying_why(live_factory):
    """The refusal comes from a failure report, not a check-in: same end, same line."""
    server = serve_ok("127.0.0.64", 0)
    live = live_factory(checkin_interval=60)  # one check-in, at start
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    live.store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.64"]}, action_id=old)
    policy = {"vdu": "VDU1", "mgmt_ips": ["127.0.0.64"], "monitor": "http_ping",
              "parameters": {"monitoring_delay": 0, "count": 1, "interval": 0.2,
                             "timeout": 0.3, "retry": 2, "port": server.server_address[1]},
              "actions": {"failure": "respawn"}}
    thread, holder = live.run(VnfPolicyMonitorAction(vnf_id="vnf-1", policies=[policy],
                                                     action_id=old))
    try:
        assert wait_for(lambda: live.store.get_monitor(VNF, "vnf-1").last_checkin_at)
        live.store.set_action(VNF, "vnf-1", new)  # redeployed; suppose the kill was lost
    finally:
        server.shutdown()  # the target fails: the old monitor reports it
        server.server_close()
    _ended(thread, holder)
    assert holder["result"].error == (f"VNF vnf-1: this monitor (action {old}) was "
                                      f"superseded by a newer one; nothing to do")
    assert live.store.get_vnf("vnf-1").status == "ACTIVE"  # the report changed nothing


class _OldConductor:
    """A 1.0 conductor: no `refusal`; it refuses every action."""

    target = messaging.Target(version="1.0")

    def check_in(self, ctxt, action_id=None, digest=None):
        return "bad_action"

    def update_vim(self, ctxt, vim_id=None, status=None, action_id=None):
        return "bad_action"


def test_an_action_refused_by_a_1_0_conductor_still_ends_in_error(live_factory):
    from nfvmon.conductor_rpc.client import conductor_target

    live = live_factory()
    live.stop_conductor()  # only the old one answers on the topic
    old = messaging.get_rpc_server(live.transport, conductor_target(live.topic, "old-host"),
                                   [_OldConductor()],
                                   access_policy=messaging.DefaultRPCAccessPolicy)
    old.start()
    try:
        action_id = str(uuid.uuid4())
        thread, holder = live.run(_vim_action("vim-1", "127.0.0.1", action_id))
        _ended(thread, holder)
    finally:
        old.stop()
        old.wait()
    error = holder["result"].error
    assert error.startswith(f"VIM vim-1: the conductor refused this monitor (action "
                            f"{action_id}): not registered, superseded or stopped")
    assert error.isprintable() and len(error) <= 400
