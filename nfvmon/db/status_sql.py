"""The SQL of the conductor's hot path, built once per shape and reused.

A status write is one conditional UPDATE (right action, allowed current status, a real
change) whose RETURNING gives the old status; on PostgreSQL the event row goes into the
same statement through a data-modifying CTE.
"""

from __future__ import annotations

import functools

from sqlalchemy import JSON, bindparam, cast, exists, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB

from nfvmon.db.models import Event, Monitor, Vim, Vnf

MODELS = {"vim": Vim, "vnf": Vnf}

EVENT_INSERT = insert(Event.__table__)


@functools.cache
def status_update(resource_type: str, check_action: bool, check_allowed: bool):
    """UPDATE <resources> SET previous_status = status, status = :new_status, ...
    WHERE id = :rid AND status <> :new_status
      [AND EXISTS (current action is :aid)] [AND status IN :allowed]
    RETURNING previous_status -- the old status, since SET reads the row before the update.
    """
    table = MODELS[resource_type].__table__
    monitors = Monitor.__table__
    stmt = update(table).where(table.c.id == bindparam("rid"),
                               table.c.status != bindparam("new_status"))
    if check_action:
        stmt = stmt.where(exists().where(monitors.c.resource_type == resource_type,
                                         monitors.c.resource_id == table.c.id,
                                         monitors.c.action_id == bindparam("aid")))
    if check_allowed:
        stmt = stmt.where(table.c.status.in_(bindparam("allowed", expanding=True)))
    return stmt.values(previous_status=table.c.status, status=bindparam("new_status"),
                       status_reason=bindparam("reason"), updated_at=bindparam("now")
                       ).returning(table.c.previous_status)


@functools.cache
def update_with_event(resource_type: str, check_action: bool, check_allowed: bool):
    """PostgreSQL: WITH changed AS (<status_update> RETURNING id, previous_status),
    logged AS (INSERT INTO events ... SELECT ... FROM changed) SELECT previous_status FROM
    changed -- one statement, so one round trip and atomic even when autocommitted."""
    changed = status_update(resource_type, check_action, check_allowed).returning(
        MODELS[resource_type].__table__.c.id).cte("changed")
    events = Event.__table__
    details = cast(cast(bindparam("details", type_=JSON), JSONB).op("||")(
        func.jsonb_build_object("from", changed.c.previous_status)), JSON)
    logged = insert(events).from_select(
        ["resource_type", "resource_id", "event_type", "state", "details", "created_at"],
        select(literal(resource_type), changed.c.id, bindparam("event_type"),
               bindparam("new_status"), details, bindparam("now"))).cte("logged")
    return select(changed.c.previous_status).add_cte(logged)
