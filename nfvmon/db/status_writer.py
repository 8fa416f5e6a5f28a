"""Runs the conductor's status writes: its hot path, so below SQLAlchemy's per-call machinery.

The statements come from status_sql.py, compiled once; each database gets the way of running
them that costs it least (see the two writers).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine

from nfvmon.db import status_sql
from nfvmon.db.engine import PG_CONNECT_TIMEOUT
from nfvmon.protocol import BAD_ACTION

CHANGED, UNCHANGED, GUARDED = "changed", "unchanged", "guarded"


@dataclass(frozen=True)
class StatusWrite:
    """What became of a status write.

    outcome: CHANGED, UNCHANGED (already that status), GUARDED (the current status does not
    allow this change; `status` says what it is), or BAD_ACTION (nfvmon.protocol: the writer
    is not the resource's current action, or the resource is gone).
    """

    outcome: str
    status: str | None = None
    previous: str | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome in (CHANGED, UNCHANGED)

    @property
    def changed(self) -> bool:
        return self.outcome == CHANGED

    @property
    def refused(self) -> bool:
        """The writer is not the resource's current action (or it is gone)."""
        return self.outcome == BAD_ACTION


def status_writer(engine: Engine) -> SqliteStatusWriter | PostgresqlStatusWriter:
    if engine.dialect.name == "postgresql":
        return PostgresqlStatusWriter(engine)
    return SqliteStatusWriter(engine)


def why_not_written(cursor, dialect, shape, values) -> StatusWrite:
    """The UPDATE matched no row: say whether the action, the guard or sameness stopped it."""
    resource_type, check_action, _ = shape
    current = status_sql.for_driver(status_sql.current_status(resource_type), dialect
                                    ).execute(cursor, values).fetchone()
    if current is None or (check_action and current[1] != values["aid"]):
        return StatusWrite(BAD_ACTION)
    if current[0] == values["new_status"]:
        return StatusWrite(UNCHANGED, values["new_status"])
    return StatusWrite(GUARDED, current[0])


class SqliteStatusWriter:
    """The UPDATE and the event INSERT in one transaction, on a connection kept for status
    writes. SQLite has one writer at a time and its busy handler sleeps in millisecond steps:
    queueing our writers on a lock is much faster than letting them collide, and then one
    connection is enough."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._lock = threading.Lock()
        self._connection = None

    def write(self, shape, values, details) -> StatusWrite:
        """BEGIN and COMMIT are our own statements, cached like the others: each call into
        SQLite lets go of the GIL, and another thread may then keep this one waiting."""
        dialect = self._engine.dialect
        with self._lock:
            if self._connection is None:
                self._connection = self._engine.raw_connection()
                self._connection.detach()  # ours until close(), not the pool's
                self._connection.dbapi_connection.isolation_level = None  # no implicit BEGIN
            cursor = self._connection.dbapi_connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                row = status_sql.for_driver(status_sql.status_update(*shape), dialect).execute(
                    cursor, values).fetchone()
                if row is not None:
                    cursor.fetchall()  # let the UPDATE finish before the INSERT
                    status_sql.for_driver(status_sql.EVENT_INSERT, dialect).execute(cursor, {
                        "resource_type": shape[0], "resource_id": values["rid"],
                        "state": values["new_status"], "created_at": values["now"],
                        "event_type": values["event_type"],
                        "details": {"from": row[0], "reason": values["reason"], **details}})
                    written = StatusWrite(CHANGED, values["new_status"], row[0])
                else:
                    written = why_not_written(cursor, dialect, shape, values)
                cursor.execute("COMMIT")
            except BaseException:
                if self._connection.dbapi_connection.in_transaction:
                    cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
        return written

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class PostgresqlStatusWriter:
    """The UPDATE and its event row in one statement (a data-modifying CTE), prepared once
    per connection, autocommitted, without waiting for the WAL flush: one round trip. A
    status lost to a database crash is re-sent by its monitor at the next check-in (resync)."""

    def __init__(self, engine: Engine):
        self._engine = create_engine(
            engine.url, isolation_level="AUTOCOMMIT", pool_recycle=3600,
            connect_args={"options": "-c synchronous_commit=off",
                          "connect_timeout": PG_CONNECT_TIMEOUT})
        self._dbapi = self._engine.dialect.loaded_dbapi

    def write(self, shape, values, details) -> StatusWrite:
        """One try, and one more on a fresh connection if the server had closed this one
        (a restart, pg_terminate_backend): the statement is autocommitted, so a write that
        failed on a dead connection wrote nothing, and trying again is safe. Not pinging
        every connection first keeps the hot path one round trip."""
        try:
            return self._write(shape, values, details)
        except self._dbapi.OperationalError:
            self._engine.dispose()  # every pooled connection may be as dead as that one
            return self._write(shape, values, details)

    def _write(self, shape, values, details) -> StatusWrite:
        dialect = self._engine.dialect
        statement = status_sql.prepared(status_sql.update_with_event(*shape), dialect)
        connection = self._engine.raw_connection()
        try:
            with connection.cursor() as cursor:
                row = statement.execute(cursor, {
                    **values, "details": {"reason": values["reason"], **details}},
                    connection.info.setdefault("nfvmon_prepared", set())).fetchone()
                if row is not None:
                    return StatusWrite(CHANGED, values["new_status"], row[0])
                return why_not_written(cursor, dialect, shape, values)
        finally:
            connection.close()

    def close(self) -> None:
        self._engine.dispose()
