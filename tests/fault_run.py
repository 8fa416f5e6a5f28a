"""One fault run: real Mistral (API, engine, executor apart), a RabbitMQ node of its own,
PostgreSQL, two conductor processes, and VNFs watched with `http_ping` on targets whose
truth the run controls (tests/fault_truth.py). Each fault is injected while some targets
die, then the run waits until the database matches the truth again.

Used by benchmarks/bench_faults.py (200 targets, several rounds) and by
tests/test_fault_suite.py (a small instance in CI).
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests import fault_report
from tests.conftest import fresh_postgres_database, require_module
from tests.fault_truth import MANAGER_SCRIPT, AddressPool, Manager, TargetFarm
from tests.fixtures_services import (
    ConductorProcess,
    PrivateRabbit,
    SplitMistral,
    free_port,
    terminate_connections,
)

FAULTS = ("conductor_kill", "conductor_kill_mid_action", "rabbitmq_restart",
          "executor_kill", "mistral_api_restart", "mistral_engine_restart",
          "postgres_terminate")


@dataclass
class Settings:
    targets: int = 200
    rounds: int = 1
    faults: tuple[str, ...] = FAULTS
    kills_per_fault: int = 0          # targets stopped with each fault; 0: targets // 20
    checkin_interval: int = 5
    checkin_missed_limit: int = 3
    reconcile_interval: int = 5
    probe_interval: float = 1
    probe_timeout: float = 2
    probe_retry: int = 2
    run_mode: str = "async"
    converge_timeout: float = 0       # 0: three times the goal, plus 30 s
    seed: int = 1

    @property
    def bound(self) -> float:
        """The goal: a fault converges within checkin_interval x missed + reconcile."""
        return self.checkin_interval * self.checkin_missed_limit + self.reconcile_interval


def _log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class FaultRun:
    """Start everything (`with FaultRun(...) as run:`), `run.inject_all()`, `run.figures()`."""

    def __init__(self, settings: Settings, work: Path):
        self.s, self.work = settings, work
        self.random = random.Random(settings.seed)
        self.kills: list[fault_report.Kill] = []
        self.convergence: list[fault_report.Convergence] = []
        self.abandoned: set[str] = set()  # VNFs left out of later convergence checks
        self.vnf_ids: list[str] = []
        self._stack = contextlib.ExitStack()
        self._next_victim = 0
        self._fault = ""

    # --- services ------------------------------------------------------------------------

    def __enter__(self) -> FaultRun:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _start(self) -> None:
        require_module("mistral")
        from sqlalchemy import create_engine

        from nfvmon.db.api import Store
        from nfvmon.db.migrate import upgrade
        from nfvmon.lifecycle import Lifecycle, MistralBackend

        s, stack = self.s, self._stack
        self.rabbit = PrivateRabbit(self.work / "rabbitmq")
        self.rabbit.start()
        stack.callback(self.rabbit.stop)
        _log(f"RabbitMQ node {self.rabbit.node} on 127.0.0.1:{self.rabbit.port}")
        self.mistral_db = stack.enter_context(fresh_postgres_database("nfvmon_fault_mistral"))
        self.nfvmon_db = stack.enter_context(fresh_postgres_database("nfvmon_fault"))
        (self.work / "mistral").mkdir()
        self.mistral = SplitMistral(self.work / "mistral", self.rabbit.url, self.mistral_db,
                                    s.checkin_interval)
        stack.callback(self.mistral.stop)
        self.mistral.start()
        _log(f"Mistral (api, engine, executor) at {self.mistral.url}")
        upgrade(self.nfvmon_db)
        # The run's own reads survive its own connection terminations (pre-ping).
        self.store = Store(create_engine(self.nfvmon_db, pool_pre_ping=True))
        stack.callback(self.store.close)
        self.farm = TargetFarm(free_port())
        stack.callback(self.farm.close)
        self.manager = Manager(self.farm, AddressPool())
        stack.callback(self.manager.close)
        script = self.work / "vnf_manager.py"
        script.write_text(MANAGER_SCRIPT)
        self.conductors = [self._conductor(f"conductor-{n}", script) for n in (1, 2)]
        for conductor in self.conductors:
            conductor.start()
            stack.callback(conductor.stop)
        self.lifecycle = Lifecycle(self.store, MistralBackend(self.mistral.url),
                                   run_mode=s.run_mode)
        self._create_vnfs()

    def _conductor(self, name: str, script: Path) -> ConductorProcess:
        s = self.s
        return ConductorProcess(self.work, name, {
            "DEFAULT": {"transport_url": self.rabbit.url},
            "database": {"connection": self.nfvmon_db},
            "conductor": {"topic": self.mistral.topic, "checkin_interval": s.checkin_interval,
                          "checkin_missed_limit": s.checkin_missed_limit,
                          "reconcile_interval": s.reconcile_interval,
                          "max_heal_attempts": 3, "heal_backoff_initial": 1,
                          "heal_backoff_max": 5, "policy_action_timeout": 120},
            "vnf_manager": {"driver": "command", "command": f"{sys.executable},{script}",
                            "command_timeout": 110},
            "mistral": {"url": self.mistral.url, "run_mode": s.run_mode},
        }, env={**self.mistral.env, "NFVMON_FAULT_MANAGER": self.manager.url})

    def _vnfd(self) -> dict:
        s = self.s
        return {"tosca_definitions_version": "tosca_simple_profile_for_nfv_1_0_0",
                "topology_template": {"node_templates": {"VDU1": {
                    "type": "tosca.nodes.nfv.VDU.Tacker",
                    "properties": {"monitoring_policy": {
                        "name": "http_ping",
                        "parameters": {"monitoring_delay": 1, "count": 1,
                                       "interval": s.probe_interval,
                                       "timeout": s.probe_timeout, "retry": s.probe_retry,
                                       "port": self.farm.port},
                        "actions": {"failure": "respawn"}}}}}}}

    def _create_vnfs(self) -> None:
        vnfd, started = self._vnfd(), time.monotonic()

        def create(index: int) -> str:
            address = self.manager.pool.take()
            self.farm.start(address)
            return self.lifecycle.create_vnf(vnfd, "vnfd.yaml", {"VDU1": [address]},
                                             vnf_id=f"fault-vnf-{index:04d}")

        with ThreadPoolExecutor(4) as pool:
            self.vnf_ids = list(pool.map(create, range(self.s.targets)))
        _log(f"{len(self.vnf_ids)} VNFs created in {time.monotonic() - started:.0f} s")
        since = time.time()
        waited = self._wait_converged(since, timeout=120 + self.s.targets)
        if waited is None:
            raise RuntimeError(f"the monitors never all checked in: {self._mismatch(since)}")
        _log(f"all monitors checked in {waited:.0f} s after the VNFs were created")

    # --- the truth against the database --------------------------------------------------

    def _mismatch(self, since: float) -> list[str]:
        """What keeps the database from matching the truth (empty: it matches)."""
        from sqlalchemy import select

        from nfvmon.db.models import Monitor

        since_dt = datetime.fromtimestamp(since, UTC)
        with self.store.engine.connect() as connection:
            checkins = dict(connection.execute(
                select(Monitor.resource_id, Monitor.last_checkin_at)).all())
        wrong = []
        for vnf in self.store.list_vnfs():
            if vnf.id in self.abandoned:
                continue
            dead = [ip for ips in vnf.mgmt_ips.values() for ip in ips
                    if not self.farm.alive(ip)]
            last = checkins.get(vnf.id)
            if vnf.status != "ACTIVE" or dead:
                wrong.append(f"{vnf.id} {vnf.status} dead={dead}")
            elif last is None or last < since_dt:
                wrong.append(f"{vnf.id} no check-in since the fault")
        return wrong

    def _wait_converged(self, since: float, timeout: float) -> float | None:
        """Seconds from `since` until the database matches the truth, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_conductors()
            if not self._mismatch(since):
                return time.time() - since
            time.sleep(0.5)
        return None

    def _check_conductors(self) -> None:
        """A conductor that exited by itself ends the run: nothing after it would be a
        measure of a fault."""
        for conductor in self.conductors:
            if conductor.process is not None and conductor.process.poll() is not None:
                tail = conductor.log.with_suffix(".out").read_text()[-800:]
                raise RuntimeError(f"{conductor.name} exited by itself: {tail}")

    # --- faults --------------------------------------------------------------------------

    def _victims(self, count: int) -> list[str]:
        """The next `count` VNFs that are ACTIVE on a live target (round robin)."""
        healthy = {vnf.id: vnf for vnf in self.store.list_vnfs()
                   if vnf.status == "ACTIVE" and vnf.id not in self.abandoned
                   and all(self.farm.alive(ip) for ips in vnf.mgmt_ips.values() for ip in ips)}
        chosen = []
        for _ in range(len(self.vnf_ids)):
            vnf_id = self.vnf_ids[self._next_victim % len(self.vnf_ids)]
            self._next_victim += 1
            if vnf_id in healthy:
                chosen.append(healthy[vnf_id])
            if len(chosen) == count:
                break
        return chosen

    def _kill_target(self, vnf) -> None:
        for ips in vnf.mgmt_ips.values():
            for ip in ips:
                self.farm.stop(ip)
                self.kills.append(fault_report.Kill(time.time(), vnf.id, ip, self._fault))

    def inject(self, kind: str) -> None:
        count = self.s.kills_per_fault or max(1, self.s.targets // 20)
        victims = self._victims(count)
        if not victims:
            self.convergence.append(fault_report.Convergence(
                kind, None, "not measured: no VNF left ACTIVE on a live target"))
            _log(f"{kind}: not measured, no VNF left ACTIVE on a live target")
            return
        action: Callable[[], str] = getattr(self, f"_fault_{kind}")
        self._fault = kind
        if kind == "conductor_kill_mid_action":
            held, victims = victims[0], victims[1:]
            self._pending_hold = (held, self.manager.hold(held.id))
        for vnf in victims:
            self._kill_target(vnf)
        detail = action()
        since = time.time()
        seconds = self._wait_converged(since, self._timeout())
        missing = [] if seconds is not None else self._mismatch(since)
        if seconds is None:
            self.abandoned.update(item.split()[0] for item in missing)
        self.convergence.append(fault_report.Convergence(
            kind, seconds, f"{detail}; {len(missing)} not converged: {missing[:5]}"))
        _log(f"{kind} ({detail}): "
             + (f"converged in {seconds:.1f} s" if seconds is not None
                else f"NOT converged in {self._timeout():.0f} s: {missing[:5]}"))

    def _timeout(self) -> float:
        return self.s.converge_timeout or 3 * self.s.bound + 30

    def _fault_conductor_kill(self) -> str:
        conductor = self.random.choice(self.conductors)
        conductor.kill9()
        time.sleep(1)
        conductor.start()
        return f"kill -9 {conductor.name}, started again after 1 s"

    def _fault_conductor_kill_mid_action(self) -> str:
        vnf, hold = self._pending_hold
        self._kill_target(vnf)
        if not hold.arrived.wait(60):
            hold.released.set()
            return f"{vnf.id}: no respawn was asked within 60 s"
        conductor = next((c for c in self.conductors
                          if c.pid == hold.respawn.conductor_pid), None)
        if conductor is None:
            hold.released.set()
            return f"{vnf.id}: respawn asked by an unknown pid {hold.respawn.conductor_pid}"
        conductor.kill9()
        hold.released.set()
        time.sleep(1)
        conductor.start()
        return f"kill -9 {conductor.name} while it respawned {vnf.id}"

    def _fault_rabbitmq_restart(self) -> str:
        self.rabbit.restart(down_seconds=2)
        return "RabbitMQ node stopped, started again after 2 s"

    def _fault_postgres_terminate(self) -> str:
        count = terminate_connections([self.nfvmon_db.rsplit("/", 1)[1],
                                       self.mistral_db.rsplit("/", 1)[1]])
        return f"{count} PostgreSQL connections terminated"

    def _fault_executor_kill(self) -> str:
        self.mistral.kill_role("executor", hard=True)
        time.sleep(2)
        self.mistral.start_role("executor")
        return "Mistral executor kill -9, started again after 2 s"

    def _fault_mistral_api_restart(self) -> str:
        self.mistral.kill_role("api", hard=False)
        self.mistral.start_role("api")
        self.mistral.wait_api()
        return "Mistral API restarted"

    def _fault_mistral_engine_restart(self) -> str:
        self.mistral.kill_role("engine", hard=False)
        self.mistral.start_role("engine")
        return "Mistral engine restarted"

    def inject_all(self) -> None:
        for number in range(1, self.s.rounds + 1):
            _log(f"round {number} of {self.s.rounds}")
            for kind in self.s.faults:
                self.inject(kind)

    # --- the end -------------------------------------------------------------------------

    def figures(self) -> fault_report.Figures:
        from sqlalchemy import select

        from nfvmon.db.models import Event

        with self.store.engine.connect() as connection:
            rows = connection.execute(select(Event).where(Event.resource_type == "vnf")
                                      .order_by(Event.id)).all()
        events: dict[str, list[fault_report.EventRow]] = {}
        for row in rows:
            events.setdefault(row.resource_id, []).append(fault_report.EventRow(
                row.resource_id, row.created_at.timestamp(), row.event_type, row.state,
                row.details or {}))
        self._dump(rows)
        final = {vnf.id: (vnf.status, vnf.mgmt_ips) for vnf in self.store.list_vnfs()}
        alive = {ip for _vnf, (_s, ips) in final.items() for vdu in ips.values()
                 for ip in vdu if self.farm.alive(ip)}
        return fault_report.analyse(events, self.kills, list(self.farm.history), final,
                                    alive, self.convergence, self.s.bound)

    def _dump(self, rows) -> None:
        """The run's events, kills and respawns as JSON in the work directory, to read
        after the databases are gone."""
        import dataclasses
        import json

        (self.work / "events.json").write_text(json.dumps(
            [{"id": r.id, "resource_id": r.resource_id, "at": r.created_at.isoformat(),
              "type": r.event_type, "state": r.state, "details": r.details} for r in rows],
            indent=1, default=str))
        (self.work / "truth.json").write_text(json.dumps(
            {"kills": [dataclasses.asdict(k) for k in self.kills],
             "respawns": [dataclasses.asdict(r) for r in self.manager.respawns],
             "history": self.farm.history}, indent=1))
