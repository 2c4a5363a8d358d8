"""The settings model."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Where the framework keeps its data and which services it talks to.

    Attributes:
        data_dir: Folder for embedded defaults (SQLite files, checkpoints, knowledge index).
            ``RESOLVE_DATA_DIR``; default ``./.resolve``.
        retail_db: The retail business database, a SQLite path or a SQLAlchemy URL.
            ``RESOLVE_RETAIL_DB``; default ``<data_dir>/retail.db``.
        database_url: The framework's own store (audit, reviews, runs).
            ``RESOLVE_DATABASE_URL``; default ``<data_dir>/resolve.db``.
    """

    model_config = SettingsConfigDict(env_prefix="RESOLVE_", extra="ignore")

    data_dir: Path = Field(default=Path(".resolve"))
    retail_db: str | None = None
    database_url: str | None = None

    def retail_db_location(self) -> str:
        """The retail database: the configured value, or the SQLite file in the data dir."""
        return self.retail_db or str(self.data_dir / "retail.db")

    def store_location(self) -> str:
        """The framework store: the configured URL, or the SQLite file in the data dir."""
        return self.database_url or str(self.data_dir / "resolve.db")


def get_settings() -> Settings:
    """Read the settings from the environment now."""
    return Settings()
