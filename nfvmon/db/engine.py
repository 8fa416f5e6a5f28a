"""Engines and sessions: SQLite for one conductor, PostgreSQL for several."""

from __future__ import annotations

import os

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

PG_CONNECT_TIMEOUT = 10  # seconds


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their directory, WAL, and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            # libpq waits for an unanswered SYN for minutes: a server that is down must
            # fail a call (and `db upgrade`) in seconds, not hang it.
            connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT
        # pool_pre_ping: a pooled connection the server closed (a restart, an operator's
        # pg_terminate_backend) is replaced at checkout instead of failing the next call.
        return create_engine(url, pool_recycle=3600, pool_pre_ping=True, future=True,
                             connect_args=connect_args)
    if parsed.database and parsed.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
    engine = create_engine(url, future=True, connect_args={"timeout": 30,
                                                           "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: no fsync per commit, still never corrupt; a power cut may lose the
        # last status changes, which the monitors' check-in resync repairs.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
