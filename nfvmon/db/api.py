"""The queries nfvmon runs, as one small Store class over a sessionmaker.

Status writes from monitors are conditional UPDATEs: the action id check, the guard on the
current status and the write itself are one SQL statement, so a stale action, a deleted
resource, or two conductors racing can never overwrite the current state. Every change
writes one event row in the same transaction (status_writer.py runs them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import selectinload

from nfvmon import status_machine
from nfvmon.db import status_sql
from nfvmon.db.bounds import bounded_details, bounded_reason
from nfvmon.db.engine import make_sessionmaker
from nfvmon.db.models import Event, Monitor, Vdu, Vim, Vnf, utcnow
from nfvmon.db.policy_jobs import PolicyJobs
from nfvmon.db.status_writer import StatusWrite, status_writer

VIM = status_machine.VIM
VNF = status_machine.VNF
#: Who deploys a monitor's workflow in Mistral: nfvmon, or the operator with Mistral's tools.
NFVMON, EXTERNAL = "nfvmon", "external"
DEPLOYMENTS = (NFVMON, EXTERNAL)
_MODELS = status_sql.MODELS


@dataclass(frozen=True)
class CheckIn:
    resource_type: str
    resource_id: str
    status: str


class Store:
    """nfvmon's database, for the conductor and the lifecycle (thread-safe: a session a call)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = make_sessionmaker(engine)
        self._status = status_writer(engine)
        self.jobs = PolicyJobs(engine, self._sessions)

    # --- resources -------------------------------------------------------------------------

    def create_vim(self, vim_id: str, *, target: str, name: str = "", status: str = "PENDING",
                   action_id: str | None = None,
                   probe_config: Mapping[str, Any] | None = None,
                   deployment: str = NFVMON, workflow_name: str | None = None) -> Vim:
        with self._sessions.begin() as session:
            vim = Vim(id=vim_id, name=name, target=target, status=status,
                      probe_config=dict(probe_config) if probe_config else None)
            session.add(vim)
            session.add(_monitor(VIM, vim_id, action_id, deployment, workflow_name))
            session.add(_event(VIM, vim_id, "CREATE", status, {"target": target}))
        return vim

    def create_vnf(self, vnf_id: str, *, vdus: Mapping[str, Sequence[str]], name: str = "",
                   vnfd: str = "", status: str = "ACTIVE", action_id: str | None = None,
                   deployment: str = NFVMON, workflow_name: str | None = None) -> Vnf:
        with self._sessions.begin() as session:
            vnf = Vnf(id=vnf_id, name=name, vnfd=vnfd, status=status,
                      vdus=[Vdu(name=vdu, mgmt_ips=list(ips)) for vdu, ips in vdus.items()])
            session.add(vnf)
            session.add(_monitor(VNF, vnf_id, action_id, deployment, workflow_name))
            session.add(_event(VNF, vnf_id, "CREATE", status,
                               {"vdus": {k: list(v) for k, v in vdus.items()}}))
        return self.get_vnf(vnf_id)

    def get_vim(self, vim_id: str) -> Vim | None:
        with self._sessions() as session:
            return session.get(Vim, vim_id)

    def get_vnf(self, vnf_id: str) -> Vnf | None:
        with self._sessions() as session:
            return session.scalars(select(Vnf).where(Vnf.id == vnf_id)
                                   .options(selectinload(Vnf.vdus))).first()

    def list_vims(self) -> list[Vim]:
        with self._sessions() as session:
            return list(session.scalars(select(Vim).order_by(Vim.created_at, Vim.id)))

    def list_vnfs(self) -> list[Vnf]:
        with self._sessions() as session:
            return list(session.scalars(select(Vnf).options(selectinload(Vnf.vdus))
                                        .order_by(Vnf.created_at, Vnf.id)))

    def delete_resource(self, resource_type: str, resource_id: str) -> bool:
        """Remove a VIM or VNF and its monitor row; its current action then gets bad_action."""
        model = _MODELS[resource_type]
        with self._sessions.begin() as session:
            gone = session.execute(delete(model).where(model.id == resource_id)).rowcount
            session.execute(delete(Monitor).where(Monitor.resource_type == resource_type,
                                                  Monitor.resource_id == resource_id))
            if gone:
                session.add(_event(resource_type, resource_id, "DELETE", "DELETED", {}))
        return bool(gone)

    def set_vdu_ips(self, vnf_id: str, mgmt_ips: Mapping[str, Sequence[str]]) -> None:
        with self._sessions.begin() as session:
            for vdu, ips in mgmt_ips.items():
                row = session.get(Vdu, (vnf_id, vdu))
                if row is None:
                    session.add(Vdu(vnf_id=vnf_id, name=vdu, mgmt_ips=list(ips)))
                else:
                    row.mgmt_ips = list(ips)

    # --- monitors --------------------------------------------------------------------------

    def set_action(self, resource_type: str, resource_id: str, action_id: str | None, *,
                   workflow_name: str | None = None, execution_id: str | None = None) -> None:
        """Make `action_id` the resource's current action (None: no action may write)."""
        with self._sessions.begin() as session:
            session.execute(
                update(Monitor)
                .where(Monitor.resource_type == resource_type,
                       Monitor.resource_id == resource_id)
                .values(action_id=action_id, workflow_name=workflow_name,
                        execution_id=execution_id, started_at=utcnow(),
                        last_checkin_at=None))

    def record_execution(self, resource_type: str, resource_id: str, action_id: str, *,
                         workflow_name: str, execution_id: str) -> bool:
        """Note the workflow and execution that run `action_id`, if it is still current;
        its check-in times are left alone (it may have checked in already)."""
        with self._sessions.begin() as session:
            return session.execute(
                update(Monitor).where(Monitor.resource_type == resource_type,
                                      Monitor.resource_id == resource_id,
                                      Monitor.action_id == action_id)
                .values(workflow_name=workflow_name, execution_id=execution_id)
            ).rowcount == 1

    def replace_action(self, resource_type: str, resource_id: str, old: str | None,
                       new: str) -> bool:
        """Make `new` current only if `old` still is: of two conductors reconciling the same
        monitor, exactly one wins (one conditional UPDATE)."""
        condition = Monitor.action_id.is_(None) if old is None else Monitor.action_id == old
        with self._sessions.begin() as session:
            return session.execute(
                update(Monitor).where(Monitor.resource_type == resource_type,
                                      Monitor.resource_id == resource_id, condition)
                .values(action_id=new, execution_id=None, started_at=utcnow(),
                        last_checkin_at=None)
            ).rowcount == 1

    def stale_monitors(self, older_than: datetime, deployment: str = NFVMON) -> list[Monitor]:
        """Monitors (of one kind of deployment) with a current action that has not checked
        in since `older_than`."""
        with self._sessions() as session:
            seen = func.coalesce(Monitor.last_checkin_at, Monitor.started_at)
            return list(session.scalars(select(Monitor).where(
                Monitor.action_id.is_not(None), Monitor.deployment == deployment,
                seen < older_than)))

    def mark_lost(self, monitor: Monitor, reason: str, when: datetime | None = None) -> bool:
        """Note once that `monitor` (its current action) went silent: `lost_at` and a
        MONITOR_LOST event, in one transaction; False if done before or the action changed.
        Its next check-in clears `lost_at`."""
        when = when or utcnow()
        with self._sessions.begin() as session:
            marked = session.execute(update(Monitor).where(
                Monitor.resource_type == monitor.resource_type,
                Monitor.resource_id == monitor.resource_id,
                Monitor.action_id == monitor.action_id, Monitor.lost_at.is_(None))
                .values(lost_at=when)).rowcount == 1
            if marked:
                model = _MODELS[monitor.resource_type]
                status = session.scalar(select(model.status).where(
                    model.id == monitor.resource_id))
                session.add(_event(monitor.resource_type, monitor.resource_id, "MONITOR_LOST",
                                   status or "", {"reason": bounded_reason(reason),
                                                  "action_id": monitor.action_id}))
            return marked

    def workflow_names(self, deployment: str) -> set[str]:
        """The workflow names of the monitors of one kind of deployment."""
        with self._sessions() as session:
            return set(session.scalars(select(Monitor.workflow_name).where(
                Monitor.deployment == deployment, Monitor.workflow_name.is_not(None))))

    def lost_monitors(self) -> dict[str, int]:
        """How many monitors are lost now, by resource type (for the metric)."""
        with self._sessions() as session:
            rows = session.execute(select(Monitor.resource_type, func.count()).where(
                Monitor.lost_at.is_not(None), Monitor.action_id.is_not(None))
                .group_by(Monitor.resource_type)).all()
            return {resource_type: count for resource_type, count in rows}

    def update_vim_config(self, vim_id: str, *, target: str,
                          probe_config: Mapping[str, Any]) -> None:
        with self._sessions.begin() as session:
            session.execute(update(Vim).where(Vim.id == vim_id).values(
                target=target, probe_config=dict(probe_config), updated_at=utcnow()))

    def get_monitor(self, resource_type: str, resource_id: str) -> Monitor | None:
        with self._sessions() as session:
            return session.get(Monitor, (resource_type, resource_id))

    def check_in(self, action_id: str, when: datetime | None = None) -> CheckIn | None:
        """Record a check-in; None when `action_id` is no resource's current action."""
        with self._sessions.begin() as session:
            row = session.execute(
                update(Monitor).where(Monitor.action_id == action_id)
                .values(last_checkin_at=when or utcnow(), lost_at=None)
                .returning(Monitor.resource_type, Monitor.resource_id)).first()
            if row is None:
                return None
            model = _MODELS[row.resource_type]
            status = session.scalar(select(model.status).where(model.id == row.resource_id))
            if status is None:
                return None
        first = status_machine.transition(VNF, status_machine.FIRST_CHECKIN)
        if row.resource_type == VNF and first.allows(status):
            # A VNF is being monitored once its monitor checks in (an external deployment
            # has no other sign of it).
            written = self.write_status(VNF, row.resource_id, first.event, action_id=action_id,
                                        reason="its monitor checked in")
            status = written.status or status
        return CheckIn(row.resource_type, row.resource_id, status)

    # --- status ----------------------------------------------------------------------------

    def write_status(
        self,
        resource_type: str,
        resource_id: str,
        event: str,
        *,
        action_id: str | None = None,
        seen: str | None = None,
        reason: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> StatusWrite:
        """Apply `event` (a row of nfvmon.status_machine) to the resource, if its current
        status allows it (only `seen`, when given: the status the caller decided on) and, for
        a monitor's event, if `action_id` is the resource's current action.

        One UPDATE decides: right action, status allowed to change, status different. This is
        the conductor's hot path: statements compiled once, run on the DBAPI cursor.
        """
        row = status_machine.transition(resource_type, event)
        if row.needs_action != (action_id is not None):
            raise status_machine.UnknownTransition(
                f"{event} is caused by {'a monitor action' if row.needs_action else 'no action'}"
                f", not action_id={action_id!r}")
        values = {"rid": resource_id, "new_status": row.to, "aid": action_id,
                  "reason": bounded_reason(reason), "now": utcnow(),
                  "event_type": row.event_type}
        shape = (resource_type, row.needs_action, status_machine.guard(row, seen))
        return self._status.write(shape, values, bounded_details(details) if details else {})

    def close(self) -> None:
        self._status.close()
        self.engine.dispose()

    def clear_vnf_error(self, vnf_id: str, now: datetime | None = None) -> StatusWrite:
        """An operator's clear: ERROR → ACTIVE, and the respawn/heal count starts afresh.

        A pending status whose job is gone or past its deadline is cleared too: nothing is
        running that could still end it (its owner died)."""
        event = (status_machine.OPERATOR_CLEAR if self.job_alive(vnf_id, now)
                 else status_machine.OPERATOR_CLEAR_ORPHANED)
        written = self.write_status(VNF, vnf_id, event, reason="error cleared")
        if written.changed:
            self.record_heal_attempt(vnf_id, 0, None)
            self.jobs.finish(vnf_id)
        return written

    def job_alive(self, vnf_id: str, now: datetime | None = None) -> bool:
        """Whether a policy job before its deadline stands behind the VNF (else its pending
        status is orphaned: an operator may act on it as on a settled VNF)."""
        job = self.jobs.get(vnf_id)
        return job is not None and job.deadline > (now or utcnow())

    def record_heal_attempt(self, vnf_id: str, attempts: int, when: datetime | None) -> None:
        with self._sessions.begin() as session:
            session.execute(update(Vnf).where(Vnf.id == vnf_id)
                            .values(heal_attempts=attempts, last_heal_at=when))

    def events(self, resource_type: str, resource_id: str) -> list[Event]:
        with self._sessions() as session:
            return list(session.scalars(
                select(Event).where(Event.resource_type == resource_type,
                                    Event.resource_id == resource_id).order_by(Event.id)))

    def statuses(self, resource_type: str) -> dict[str, str]:
        model = _MODELS[resource_type]
        with self._sessions() as session:
            return dict(session.execute(select(model.id, model.status)).all())

    def status_rows(self, resource_type: str) -> list[tuple[str, str, str]]:
        """(id, name, status) of every resource of one kind (the per-resource metrics)."""
        model = _MODELS[resource_type]
        with self._sessions() as session:
            return [tuple(row) for row in session.execute(
                select(model.id, model.name, model.status).order_by(model.id))]

    def monitor_checkins(self) -> list[tuple[str, str, datetime | None]]:
        """(resource type, resource id, last check-in, else start) of every monitor that has
        a current action (the check-in metrics)."""
        with self._sessions() as session:
            seen = func.coalesce(Monitor.last_checkin_at, Monitor.started_at)
            return [tuple(row) for row in session.execute(
                select(Monitor.resource_type, Monitor.resource_id, seen)
                .where(Monitor.action_id.is_not(None))
                .order_by(Monitor.resource_type, Monitor.resource_id))]


def _monitor(resource_type: str, resource_id: str, action_id: str | None, deployment: str,
             workflow_name: str | None) -> Monitor:
    if deployment not in DEPLOYMENTS:
        raise ValueError(f"deployment must be one of {', '.join(DEPLOYMENTS)}")
    return Monitor(resource_type=resource_type, resource_id=resource_id, action_id=action_id,
                   started_at=utcnow() if action_id else None, deployment=deployment,
                   workflow_name=workflow_name)


def _event(resource_type: str, resource_id: str, event_type: str, state: str,
           details: Mapping[str, Any]) -> Event:
    return Event(resource_type=resource_type, resource_id=resource_id, event_type=event_type,
                 state=state, details=bounded_details(details), created_at=utcnow())
