"""`nfvmon db upgrade`: alembic migrations, driven from Python (no alembic.ini to ship)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from nfvmon.db.engine import make_engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "nfvmon.db:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creating a SQLite file if needed)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
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
