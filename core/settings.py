"""The service's one configuration object, read from environment variables and `.env`.

No other module reads ``os.environ``: everything configurable is a field here, and every field is
documented in the README under "Configuration".
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOCAL_NETWORKS: tuple[IPv4Network | IPv6Network, ...] = (
    *(IPv4Network(net) for net in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
    *(IPv6Network(net) for net in ("::1/128", "fc00::/7")),
)
"""Loopback and private ranges: where the legacy routes and the API's /metrics are served by default."""


class Settings(BaseSettings):
    """All settings. Fields map to ``BRIEFING_<NAME>`` unless an alias says otherwise."""

    model_config = SettingsConfigDict(
        env_prefix="BRIEFING_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- deployment -------------------------------------------------------------------------
    env: Literal["dev", "production"] = "production"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017/briefing",
        validation_alias=AliasChoices("MONGODB_URI", "mongodb_uri"),
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "redis_url"),
    )
    timezone: str = "Asia/Seoul"

    # --- HTTP / GraphQL hardening -----------------------------------------------------------
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    introspection: bool | None = None
    max_body_bytes: int = 1_048_576
    max_query_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    ws_init_timeout_seconds: float = 10.0
    ws_max_operations: int = 10
    ws_per_message_deflate: bool = False
    ws_coalesce_writes: bool = True
    ws_revocation_check_seconds: float = Field(default=1.0, gt=0)

    # --- accounts ---------------------------------------------------------------------------
    token_ttl_hours: float = 720.0
    token_idle_hours: float = 72.0
    hash_concurrency: int = 2
    login_free_failures: int = 5
    login_max_backoff_seconds: int = 900

    # --- briefings --------------------------------------------------------------------------
    min_interval_seconds: int = 1
    max_duration_hours: float = 24.0
    max_subscriptions_per_user: int = 10
    subscriber_queue_size: int = 256
    reconcile_interval_seconds: float = 60.0
    slow_query_ms: float = Field(default=0.0, ge=0)
    tick_timeout_seconds: int = 30
    worker_idle_check_seconds: float = 1.0
    tick_batch_window_seconds: float = 0.002
    request_cache_seconds: float = 10.0
    worker_max_jobs: int = 200
    batch_window_seconds: float = 0.005
    observation_reuse_seconds: float = 0.5

    # --- inference --------------------------------------------------------------------------
    cameras_file: str | None = None
    torch_threads: int = 1
    watch_fps: float = Field(default=5.0, ge=0, le=30)
    watch_max_cameras: int = Field(default=4, ge=1)
    frame_timeout_seconds: float = 5.0

    # --- language ---------------------------------------------------------------------------
    openai_api_key: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"))
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )
    caption_model: str = "gpt-4o-mini"
    summary_model: str = "gpt-4o"
    caption_timeout_seconds: float = 10.0
    summary_timeout_seconds: float = 60.0
    llm_max_retries: int = 2
    llm_calls_per_hour: int = 120
    business_context: str = "an unmanned cafe selling drinks"

    # --- the original app's API (legacy REST/WebSocket routes) ------------------------------
    legacy_api: bool = False
    legacy_allowed_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=lambda: list(LOCAL_NETWORKS)
    )
    legacy_camera: str | None = None

    # --- operations: metrics ----------------------------------------------------------------
    metrics: bool = True
    metrics_allowed_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=lambda: list(LOCAL_NETWORKS)
    )
    worker_metrics_port: int = Field(default=9101, ge=0, le=65535)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: fail at start-up, not at the first briefing
        return value

    @field_validator("legacy_allowed_networks", "metrics_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        return value.replace(",", " ").split() if isinstance(value, str) else value

    @property
    def is_dev(self) -> bool:
        """True when running the development profile (`BRIEFING_ENV=dev`)."""
        return self.env == "dev"

    @property
    def introspection_enabled(self) -> bool:
        """Introspection is on in dev and off in production unless set explicitly."""
        return self.is_dev if self.introspection is None else self.introspection

    @property
    def tz(self) -> ZoneInfo:
        """The shop's local time zone."""
        return ZoneInfo(self.timezone)

    @property
    def llm_enabled(self) -> bool:
        """Captions and summaries use the LLM only when a key is configured."""
        return bool(self.openai_api_key)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
