"""The policy_jobs table: which conductor runs which policy action, and until when.

A job row is written in the same transaction as the failure that starts it (the VNF's
ACTIVE → DEAD), so a conductor that dies at any point leaves either no failure or a job that
another conductor finds past its deadline and takes over (`claim_expired`, one conditional
UPDATE: exactly one conductor wins). The row goes when the job ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import sessionmaker

from nfvmon import status_machine
from nfvmon.db import status_sql
from nfvmon.db.bounds import bounded_details, bounded_reason
from nfvmon.db.models import Monitor, PolicyJob, Vnf, utcnow
from nfvmon.db.status_writer import BAD_ACTION, CHANGED, GUARDED, UNCHANGED, StatusWrite

QUEUED, RUNNING = "queued", "running"
_ENDED_BY_CHECKIN = status_machine.pending_ended_by(status_machine.FIRST_CHECKIN_ENDS)


@dataclass(frozen=True)
class JobSpec:
    """What a new job does: which action, for which VDU, started by which monitor report."""

    vnf_id: str
    vdu: str | None
    action_name: str
    monitor_action_id: str | None
    report: Mapping[str, Any]


class PolicyJobs:
    def __init__(self, engine: Engine, sessions: sessionmaker):
        self._engine = engine
        self._sessions = sessions

    def fail_with_job(self, spec: JobSpec, *, owner: str, deadline: datetime, reason: str,
                      details: Mapping[str, Any]) -> StatusWrite:
        """ACTIVE → DEAD from the VNF's current monitor action, its event, and the job that
        answers it: one transaction. Any job row left over for the VNF is replaced."""
        failure = status_machine.transition(status_machine.VNF, status_machine.FAILURE)
        now = utcnow()
        reason = bounded_reason(reason)
        values = {"rid": spec.vnf_id, "new_status": failure.to, "aid": spec.monitor_action_id,
                  "reason": reason, "now": now}
        with self._engine.begin() as connection:
            row = connection.execute(status_sql.status_update(
                failure.resource_type, failure.needs_action, failure.from_statuses),
                values).first()
            if row is None:
                current = connection.execute(status_sql.current_status("vnf"),
                                             {"rid": spec.vnf_id}).first()
                if current is None or current[1] != spec.monitor_action_id:
                    return StatusWrite(BAD_ACTION)
                if current[0] == failure.to:
                    return StatusWrite(UNCHANGED, failure.to)
                return StatusWrite(GUARDED, current[0])
            connection.execute(status_sql.EVENT_INSERT, {
                "resource_type": "vnf", "resource_id": spec.vnf_id,
                "event_type": failure.event_type, "state": failure.to, "created_at": now,
                "details": {"from": row[0], "reason": reason, **bounded_details(details)}})
            connection.execute(delete(PolicyJob).where(PolicyJob.vnf_id == spec.vnf_id))
            connection.execute(insert(PolicyJob).values(_row(spec, owner, deadline, now)))
        return StatusWrite(CHANGED, failure.to, row[0])

    def ensure(self, spec: JobSpec, *, owner: str, deadline: datetime) -> bool:
        """Record a job for `spec.vnf_id` unless one exists; True if this call wrote it."""
        now = utcnow()
        with self._sessions.begin() as session:
            if session.get(PolicyJob, spec.vnf_id) is not None:
                return False
            if session.get(Vnf, spec.vnf_id) is None:
                return False
            session.add(PolicyJob(**_row(spec, owner, deadline, now)))
        return True

    def get(self, vnf_id: str) -> PolicyJob | None:
        with self._sessions() as session:
            return session.get(PolicyJob, vnf_id)

    def set_state(self, vnf_id: str, owner: str, *, state: str, deadline: datetime,
                  attempt: int | None = None) -> bool:
        """Move the owner's job on (queued → running, a new deadline); False if it is not
        ours any more (taken over, or ended)."""
        values: dict[str, Any] = {"state": state, "deadline": deadline}
        if state == RUNNING:
            values["started_at"] = utcnow()
        if attempt is not None:
            values["attempt"] = attempt
        with self._sessions.begin() as session:
            return session.execute(update(PolicyJob).where(
                PolicyJob.vnf_id == vnf_id, PolicyJob.owner == owner).values(**values)
            ).rowcount == 1

    def finish(self, vnf_id: str, owner: str | None = None) -> None:
        """The job ended (whatever its outcome); `owner`: only if it is still ours."""
        with self._sessions.begin() as session:
            statement = delete(PolicyJob).where(PolicyJob.vnf_id == vnf_id)
            if owner is not None:
                statement = statement.where(PolicyJob.owner == owner)
            session.execute(statement)

    def expired(self, now: datetime, owners: Iterable[str] | None = None) -> list[PolicyJob]:
        """Jobs past their deadline (their owner presumed dead), or every job of `owners`."""
        with self._sessions() as session:
            condition = PolicyJob.deadline < now
            if owners is not None:
                condition = condition | PolicyJob.owner.in_(list(owners))
            return list(session.scalars(select(PolicyJob).where(condition)
                                        .order_by(PolicyJob.deadline)))

    def take_over(self, job: PolicyJob, owner: str, deadline: datetime) -> bool:
        """Make `owner` the job's owner if nobody else took it meanwhile (one UPDATE)."""
        with self._sessions.begin() as session:
            return session.execute(update(PolicyJob).where(
                PolicyJob.vnf_id == job.vnf_id, PolicyJob.owner == job.owner,
                PolicyJob.deadline == job.deadline).values(
                owner=owner, deadline=deadline, state=QUEUED)).rowcount == 1

    def pending_without_job(self, older_than: datetime) -> list[Vnf]:
        """VNFs in a pending status that no job stands behind, unchanged since `older_than`:
        whatever put them there (a CLI killed mid-heal) is gone. A status that a first
        check-in ends (PENDING_CREATE) with a current monitor action is not one: that ends
        it (an external deployment may wait for its operator), and the reconciler watches
        that action."""
        awaited = select(Monitor.resource_id).where(
            Monitor.resource_type == "vnf", Monitor.resource_id == Vnf.id,
            Monitor.action_id.is_not(None)).exists()
        with self._sessions() as session:
            return list(session.scalars(select(Vnf).where(
                Vnf.status.in_(list(status_machine.PENDING)), Vnf.updated_at < older_than,
                ~select(PolicyJob.vnf_id).where(PolicyJob.vnf_id == Vnf.id).exists(),
                ~(Vnf.status.in_(_ENDED_BY_CHECKIN) & awaited))))


def _row(spec: JobSpec, owner: str, deadline: datetime, now: datetime) -> dict[str, Any]:
    return {"vnf_id": spec.vnf_id, "vdu": spec.vdu, "action_name": spec.action_name,
            "monitor_action_id": spec.monitor_action_id,
            "report": bounded_details(spec.report),
            "state": QUEUED, "owner": owner, "attempt": 0, "started_at": now,
            "deadline": deadline}
