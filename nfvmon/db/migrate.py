"""`nfvmon db upgrade` and the start-up check: alembic, driven from Python (no alembic.ini).

`upgrade` is the only place that may create a database. `check_schema` is what the conductor
and the read/write commands run first: it opens nothing it could create (a missing SQLite file
stays missing), and turns every way the database can be unusable into one DatabaseNotReady
line that says what to do, never showing the URL's password.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from nfvmon.db.engine import make_engine
from nfvmon.errors import DatabaseNotReady

UPGRADE_COMMAND = "nfvmon db upgrade"
CONNECT_TIMEOUT = 5  # seconds the check waits for a database server


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "nfvmon.db:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The latest revision this nfvmon's migrations know."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creating a SQLite file if needed)."""
    parsed = _parse(url)
    engine = make_engine(url)
    try:
        try:
            connection = engine.connect()
        except sa_exc.DBAPIError as exc:
            raise DatabaseNotReady(_unusable(parsed, exc)) from None
        try:
            with connection.begin():
                config = alembic_config(url)
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except sa_exc.OperationalError as exc:
            raise DatabaseNotReady(f"cannot migrate the database at {_shown(parsed)}: "
                                   f"{_reason(exc)}") from None
        finally:
            connection.close()
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def check_schema(url: str, *, write: bool = False,
                 upgrade_command: str = UPGRADE_COMMAND) -> None:
    """Raise DatabaseNotReady unless the database at `url` is usable and at the head revision.

    `write`: the caller writes (the conductor, the lifecycle commands), so a read-only SQLite
    file is an error too. `upgrade_command` is the command named as the fix.
    """
    parsed = _parse(url)
    fix = f"run {upgrade_command}"
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        revision = _sqlite_revision(parsed.database, write, fix)
    else:
        revision = _server_revision(parsed)
    head = head_revision()
    if revision == head:
        return
    shown = _shown(parsed)
    if revision is None:
        raise DatabaseNotReady(f"the database at {shown} has no nfvmon schema: {fix}")
    known = {script.revision for script in
             ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}
    if revision in known:
        raise DatabaseNotReady(f"the database at {shown} is at revision {revision}, not the "
                               f"latest {head}: {fix}")
    raise DatabaseNotReady(f"the database at {shown} is at revision {revision}, which this "
                           f"nfvmon does not know (a newer nfvmon migrated it): run that "
                           f"version")


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except sa_exc.ArgumentError as exc:
        raise DatabaseNotReady(f"[database] connection: {exc}") from None


def _shown(parsed: URL) -> str:
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def _reason(exc: BaseException) -> str:
    """The first line of the driver's own message (SQLAlchemy appends SQL and a link)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unusable(parsed: URL, exc: BaseException) -> str:
    reason = _reason(exc)
    if "file is not a database" in reason:
        return (f"{_shown(parsed)} is not a SQLite database ({reason}): fix [database] "
                f"connection, or move the file away")
    return f"cannot reach the database at {_shown(parsed)}: {reason}"


def _sqlite_revision(path: str, write: bool, fix: str) -> str | None:
    """The revision in a SQLite file, opened without ever creating it."""
    if not os.path.isfile(path):
        raise DatabaseNotReady(f"no database file {path}: {fix}")
    directory = os.path.dirname(os.path.abspath(path))
    if write and not os.access(directory, os.W_OK):  # SQLite writes its journal there
        raise _read_only(path, f"its directory {directory} is not writable")
    mode = "rw" if write else "ro"
    try:
        connection = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode={mode}",
                                     uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise DatabaseNotReady(f"cannot open {path}: {exc}") from None
    try:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                    "AND name = 'alembic_version'").fetchall()
        if write:
            # SQLite opens a file it may not write read-only, without a word: a write lock
            # tells.
            connection.execute("BEGIN IMMEDIATE")
            connection.rollback()
        if not tables:
            return None
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    except sqlite3.DatabaseError as exc:
        if "file is not a database" in str(exc):
            raise DatabaseNotReady(f"{path} is not a SQLite database ({exc}): fix [database] "
                                   f"connection, or move the file away") from None
        if write and "readonly" in str(exc):
            raise _read_only(path, "the file is not writable") from None
        raise DatabaseNotReady(f"cannot read {path}: {exc}") from None
    finally:
        connection.close()


def _read_only(path: str, why: str) -> DatabaseNotReady:
    return DatabaseNotReady(f"the database {path} is read-only for this user and nfvmon "
                            f"writes to it ({why}): make the file and its directory "
                            f"writable, or run as their owner")


def _server_revision(parsed: URL) -> str | None:
    connect_args = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    try:
        engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except (ImportError, sa_exc.NoSuchModuleError) as exc:
        raise DatabaseNotReady(f"[database] connection: no driver for {_shown(parsed)} "
                               f"({exc}); for PostgreSQL: pip install 'nfvmon[postgresql]'"
                               ) from None
    try:
        with engine.connect() as connection:
            # Not alembic's MigrationContext: it logs a line at INFO, not wanted here.
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")
                                      ).scalar()
    except sa_exc.DBAPIError as exc:
        raise DatabaseNotReady(_unusable(parsed, exc)) from None
    finally:
        engine.dispose()
