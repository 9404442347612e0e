"""One settings object, read from RELASI_* environment variables (and DATABASE_URL)."""

from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELASI_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "RELASI_DATABASE_URL"),
        description="PostgreSQL >= 14 to use; unset: start the embedded server in data_dir.",
    )
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("relasi")),
        description="Where the embedded PostgreSQL keeps its files.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    max_page_size: int = Field(default=100, ge=1, description="Cap on first/last.")
    graphiql: bool = True

    @cached_property
    def embedded(self) -> bool:
        return not self.database_url
