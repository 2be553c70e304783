"""The one settings class of the server side (environment prefix ``GALLERY_``)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Server configuration; build one explicitly (tests) or from the environment."""

    model_config = SettingsConfigDict(env_prefix="GALLERY_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".gallery")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000

    # Blob store: a local directory under the data dir unless an S3 endpoint is set.
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "gallery"
    s3_region: str | None = None
    s3_secure: bool = False

    # Temporal: an existing cluster, or (unset) the dev server `gallery up` starts.
    temporal_address: str | None = None
    temporal_port: int = 7233
    temporal_namespace: str = "default"
    # Runner: concurrent steps per worker; resource flavor -> task queue (JSON object); how
    # long a failed or waiting execution stays open for continue / retry.
    task_queue: str = Field(default="gallery", min_length=1, max_length=200)
    worker_slots: int = Field(default=32, ge=1, le=1000)
    flavor_queues: dict[str, str] = Field(default_factory=dict)
    execution_open_seconds: float = Field(default=7 * 86400.0, gt=0)

    secret_key: str | None = None
    access_token_ttl_seconds: int = Field(default=3600, ge=60)
    max_upload_bytes: int = Field(default=512 * MiB, ge=1)
    max_manifest_bytes: int = Field(default=1 * MiB, ge=1024)

    # argon2id cost; the defaults follow OWASP's minimum (19 MiB, 2 passes).
    password_memory_kib: int = Field(default=19 * 1024, ge=8)
    password_time_cost: int = Field(default=2, ge=1)

    # Orphaned package blobs (a publish that died between upload and commit) older than this
    # are removed at start-up.
    orphan_grace_seconds: int = 3600

    @property
    def resolved_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def resolved_database_url(self) -> str:
        url = self.database_url or f"sqlite:///{self.data_dir / 'gallery.db'}"
        return normalize_database_url(url)

    def resolved_secret_key(self) -> str:
        """The JWT signing key: configured, or generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


def normalize_database_url(url: str) -> str:
    """Pick the async driver for a plain ``sqlite://`` or ``postgresql://`` URL."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url
