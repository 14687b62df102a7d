"""Run Alembic programmatically (the CLI, tests and the embedded server share this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    """Config pointing at the repository's migrations, for `database_url`."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """`alembic upgrade <revision>`; synchronous, run it before the event loop starts.

    The migrations have one head (a test keeps it so): a new migration revises the current
    head, never an older revision, so a plain `alembic upgrade head` applies everything.
    """
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """`alembic downgrade <revision>`."""
    command.downgrade(alembic_config(database_url), revision)


def head_revisions() -> list[str]:
    """The head revision(s) of the migration scripts, sorted (one when they are healthy)."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    return sorted(script.get_heads())
