"""The SQL of the conductor's hot path, built once per shape and run on the DBAPI cursor.

A status write is one conditional UPDATE (right action, allowed current status, a real
change) whose RETURNING gives the old status; on PostgreSQL the event row goes into the
same statement through a data-modifying CTE.

Every conductor call is one status write, and SQLAlchemy's per-execution work (execution
context, result object, pool checkout, type processing) cost twice the database's own time.
So each statement is compiled once per dialect into a DriverStatement, which the Store runs
on a DBAPI cursor: the SQL stays defined here, once, in SQLAlchemy Core.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

from nfvmon.db.models import Event, Monitor, Vim, Vnf

MODELS = {"vim": Vim, "vnf": Vnf}

_EVENT_COLUMNS = ("resource_type", "resource_id", "event_type", "state", "details",
                  "created_at")
EVENT_INSERT = insert(Event.__table__).values({name: bindparam(name) for name in _EVENT_COLUMNS})


@functools.cache
def status_update(resource_type: str, check_action: bool, allowed: tuple[str, ...] | None):
    """UPDATE <resources> SET previous_status = status, status = :new_status, ...
    WHERE id = :rid AND status <> :new_status
      [AND EXISTS (current action is :aid)] [AND status IN <allowed>]
    RETURNING previous_status -- the old status, since SET reads the row before the update.

    `allowed` is a row's from-statuses in nfvmon.status_machine (or the one status a caller
    saw), a constant tuple: part of the shape.
    """
    table = MODELS[resource_type].__table__
    monitors = Monitor.__table__
    stmt = update(table).where(table.c.id == bindparam("rid"),
                               table.c.status != bindparam("new_status"))
    if check_action:
        stmt = stmt.where(exists().where(monitors.c.resource_type == resource_type,
                                         monitors.c.resource_id == table.c.id,
                                         monitors.c.action_id == bindparam("aid")))
    if allowed is not None:
        stmt = stmt.where(table.c.status.in_([literal(status) for status in allowed]))
    return stmt.values(previous_status=table.c.status, status=bindparam("new_status"),
                       status_reason=bindparam("reason"), updated_at=bindparam("now")
                       ).returning(table.c.previous_status)


@functools.cache
def update_with_event(resource_type: str, check_action: bool,
                      allowed: tuple[str, ...] | None):
    """PostgreSQL: WITH changed AS (<status_update> RETURNING id, previous_status),
    logged AS (INSERT INTO events ... SELECT ... FROM changed) SELECT previous_status FROM
    changed -- one statement, so one round trip and atomic even when autocommitted."""
    changed = status_update(resource_type, check_action, allowed).returning(
        MODELS[resource_type].__table__.c.id).cte("changed")
    events = Event.__table__
    # 'from' as SQL text: a bound parameter there has no type PREPARE could infer.
    details = cast(cast(bindparam("details", type_=JSON), JSONB).op("||")(
        func.jsonb_build_object(literal_column("'from'"), changed.c.previous_status)), JSON)
    logged = insert(events).from_select(
        ["resource_type", "resource_id", "event_type", "state", "details", "created_at"],
        select(literal(resource_type), changed.c.id, bindparam("event_type"),
               bindparam("new_status"), details, bindparam("now"))).cte("logged")
    return select(changed.c.previous_status).add_cte(logged)


@functools.cache
def current_status(resource_type: str):
    """The resource's status and its current action id (why a status write did nothing)."""
    model = MODELS[resource_type]
    return (select(model.status, Monitor.action_id)
            .join(Monitor, (Monitor.resource_type == resource_type)
                  & (Monitor.resource_id == model.id), isouter=True)
            .where(model.id == bindparam("rid")))


@dataclass(frozen=True)
class DriverStatement:
    """One Core statement compiled for one dialect: the DBAPI's SQL, its placeholders' names
    in order (None: the DBAPI takes a dict), the values compiled into it, and the type
    conversions (UTC datetimes, JSON) SQLAlchemy would have applied."""

    sql: str
    order: tuple[str, ...] | None
    constants: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The DBAPI's values for named `values` (extra names are ignored)."""
        bound = {**self.constants, **values}
        for name, process in self.processors.items():
            bound[name] = process(bound[name])
        return bound

    def execute(self, cursor, values: Mapping[str, Any]):
        """Run on `cursor` with named `values`; returns the cursor."""
        bound = self.bind(values)
        cursor.execute(self.sql, bound if self.order is None else
                       [bound[name] for name in self.order])
        return cursor


class Prepared:
    """PostgreSQL: one DriverStatement (psycopg2's %(name)s style) as PREPARE/EXECUTE, so
    the server parses and plans it once per connection rather than on every call (a third
    of the status write's time on the server). `prepared`: the names a connection has."""

    def __init__(self, statement: DriverStatement):
        self.statement = statement
        self.name = "nfvmon_" + hashlib.sha1(statement.sql.encode()).hexdigest()[:16]
        order: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        sql = re.sub(r"%\((\w+)\)s", number, statement.sql).replace("%%", "%")
        self.order = tuple(order)
        self.prepare_sql = f"PREPARE {self.name} AS {sql}"
        self.execute_sql = f"EXECUTE {self.name} ({', '.join(['%s'] * len(order))})"

    def execute(self, cursor, values: Mapping[str, Any], prepared: set[str]):
        if self.name not in prepared:
            cursor.execute(self.prepare_sql)
            prepared.add(self.name)
        bound = self.statement.bind(values)
        cursor.execute(self.execute_sql, [bound[name] for name in self.order])
        return cursor


@functools.lru_cache(maxsize=256)
def for_driver(statement, dialect: Dialect) -> DriverStatement:
    compiled = statement.compile(dialect=dialect)
    binds = {name: compiled.binds[name] for name in compiled.params}
    processors = {}
    for name, bind in binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    return DriverStatement(
        compiled.string, tuple(compiled.positiontup) if compiled.positional else None,
        {name: bind.effective_value for name, bind in binds.items() if not bind.required},
        processors)


@functools.lru_cache(maxsize=64)
def prepared(statement, dialect: Dialect) -> Prepared:
    return Prepared(for_driver(statement, dialect))
