"""PostgreSQL connections cut under a running conductor: nothing a monitor reported is lost.

What the fault suite found: after `pg_terminate_backend`, the first statement on each pooled
connection failed, a failure report was answered `error: internal error` and the monitor
dropped it for good (the VNF stayed ACTIVE on a dead target), or a respawn ended in ERROR.
"""

from __future__ import annotations

import asyncio

import psycopg2
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from nfvmon import protocol, statuses
from nfvmon import status_machine as sm
from nfvmon.actions.reporter import Reporter
from nfvmon.conductor_rpc import states
from nfvmon.conductor_rpc.policy_actions.builtin import Respawn
from nfvmon.conductor_rpc.policy_runner import PolicyJob, PolicyRunner
from nfvmon.conductor_rpc.vnf_managers.base import VnfManager
from nfvmon.db.api import VIM, VNF, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
from tests.conftest import PG_ADMIN, wait_for


def _terminate_connections(url: str) -> int:
    """What an operator's pg_terminate_backend (or a PostgreSQL restart) does to us."""
    admin = psycopg2.connect(**PG_ADMIN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = %s AND pid <> pg_backend_pid()",
                       (make_url(url).database,))
        (count,) = cursor.fetchone()
    admin.close()
    return count


def test_status_writes_reads_and_check_ins_survive_terminated_connections(postgres_url):
    upgrade(postgres_url)
    store = Store(make_engine(postgres_url))
    try:
        store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
        assert store.write_status(VIM, "vim-1", sm.MONITOR_REACHABLE, action_id="a1").outcome == \
            "changed"
        assert store.check_in("a1") is not None
        assert _terminate_connections(postgres_url) >= 2  # the pool's and the writer's
        assert store.write_status(VIM, "vim-1", sm.MONITOR_UNREACHABLE, action_id="a1").outcome == \
            "changed"
        assert store.check_in("a1").status == "UNREACHABLE"
        assert store.get_vim("vim-1").status == "UNREACHABLE"
    finally:
        store.close()


def _deliver_one(answers: list[str]) -> tuple[list, list, Reporter]:
    """Report one payload; the conductor answers `answers` in turn. What was sent, what
    the monitor was told, and the reporter, once an answer reached the monitor."""
    sent, answered = [], []

    async def send(payload):
        sent.append(payload)
        return answers.pop(0)

    async def main():
        reporter = Reporter(send, lambda payload, answer: answered.append(answer),
                            initial=0.01, maximum=0.05)
        task = asyncio.create_task(reporter.run())
        reporter.report("VDU1/127.0.0.2", {"event": "failure"})
        for _ in range(200):
            if answered:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        return reporter

    return sent, answered, asyncio.run(main())


def test_a_report_answered_with_an_internal_error_is_sent_again():
    sent, answered, reporter = _deliver_one(
        [protocol.INTERNAL_ERROR + " in execute_policy_action", "DEAD"])
    assert sent == [{"event": "failure"}] * 2 and answered == ["DEAD"]
    assert reporter.failures == 1 and reporter.pending() == 0


def test_a_bad_request_is_not_sent_again():
    sent, answered, _ = _deliver_one(["error: unknown VDU 'VDU9'", "DEAD"])
    assert answered == ["error: unknown VDU 'VDU9'"] and len(sent) == 1


class _Manager(VnfManager):
    def __init__(self):
        super().__init__(None)
        self.calls = 0

    def run(self, operation, vnf_id, vdu):
        self.calls += 1
        return {"VDU1": ["127.0.0.9"]}


class _FlakyStore:
    """The store, whose first pending-status write meets a dropped connection."""

    def __init__(self, store):
        self._store = store
        self.failed = False

    def write_status(self, *args, **kwargs):
        if not self.failed and args[2] == sm.policy_started(statuses.PENDING_HEAL):
            self.failed = True
            raise OperationalError("UPDATE vnfs", {}, Exception("server closed the connection"))
        return self._store.write_status(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_database_error_mid_respawn_is_decided_again_not_an_error(store):
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, status="ACTIVE", action_id="a1")
    flaky = _FlakyStore(store)
    manager = _Manager()
    runner = PolicyRunner(flaky, {"respawn": Respawn(None)}, manager,
                          states.HealPolicy(3, 0.01, 0.05, 3600), workers=1, timeout=10)
    try:
        runner.fail(PolicyJob("vnf-1", "VDU1", "respawn", "a1"), reason="lost", details={})
        assert wait_for(lambda: store.get_vnf("vnf-1").status == "ACTIVE", timeout=10)
        assert flaky.failed and manager.calls == 1
        assert "ERROR" not in [e.state for e in store.events(VNF, "vnf-1")]
    finally:
        runner.shutdown(wait=False)
