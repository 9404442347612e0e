"""One settings object, read from RELASI_* environment variables (and DATABASE_URL)."""

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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
    workers: int = Field(
        default_factory=available_cores,
        ge=1,
        description="Server processes `relasi serve` runs; default: the cores it may use.",
    )
    shutdown_timeout: float = Field(
        default=20,
        ge=0,
        description="Seconds in-flight requests, then running jobs, get to finish after "
        "SIGTERM or SIGINT; past it requests are cancelled (answered 503) and jobs stopped and "
        "queued again.",
    )
    log_level: str = "info"
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    db_connect_timeout: float = Field(
        default=10,
        gt=0,
        description="Seconds to wait for a new PostgreSQL connection before the request "
        "gets SERVICE_UNAVAILABLE.",
    )
    max_page_size: int = Field(default=100, ge=1, description="Cap on first/last.")
    read_path: Literal["compiled", "resolvers"] = Field(
        default="compiled",
        description="How queries are answered: compiled into one SQL statement where the "
        "compiler covers them, or always by the field resolvers (the reference).",
    )
    production: bool = Field(
        default=False,
        description="Production mode: GraphiQL, introspection and field suggestions off "
        "unless turned on explicitly.",
    )
    graphiql: bool | None = Field(default=None, description="Default: on outside production.")
    introspection: bool | None = Field(default=None, description="Default: on outside production.")
    # abuse resistance (relasi/schema/limits.py, relasi/guards.py)
    max_query_depth: int = Field(default=12, ge=1)
    max_query_aliases: int = Field(default=100, ge=0)
    max_query_tokens: int = Field(default=5_000, ge=10)
    max_query_cost: int = Field(default=25_000, ge=1)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1_024)
    rate_limit: float = Field(
        default=20, ge=0, description="Requests a second per API key or member; 0: off."
    )
    rate_limit_burst: int = Field(default=100, ge=1, description="Requests at once.")
    max_requests_in_flight: int = Field(
        default=4,
        ge=0,
        description="Requests one API key or member may have running at once (so no caller "
        "holds the whole pool); 0: no limit.",
    )
    in_flight_wait: float = Field(
        default=5,
        ge=0,
        description="Seconds a request past max_requests_in_flight waits for a slot before "
        "it is refused with RATE_LIMITED.",
    )
    statement_timeout: float = Field(
        default=5,
        gt=0,
        description="Seconds each SQL statement of a query or mutation may run before the "
        "request is stopped with TIMEOUT.",
    )
    bulk_statement_timeout: float = Field(
        default=60,
        gt=0,
        description="The same for the bulk mutations (trackInteractions, segment builds and "
        "membership changes).",
    )
    key_cache_seconds: float = Field(
        default=5,
        ge=0,
        le=60,
        description="Seconds a process remembers a good API key, so a repeat caller's request "
        "skips its look-up; a revocation ends that at once (NOTIFY). 0: look up every request.",
    )
    auth_failure_limit: float = Field(
        default=1,
        ge=0,
        description="Failed authentications (HTTP and WebSocket) a second per client address, "
        "on average; past the burst: 429 RATE_LIMITED (a socket: closed with 4429). 0: off.",
    )
    auth_failure_burst: int = Field(
        default=20, ge=1, description="Failed authentications in a row before the limit applies."
    )
    cors_origins: str = Field(
        default="", description="Comma-separated origins browsers may call from; empty: none."
    )
    subscription_queue_size: int = Field(
        default=1000,
        ge=1,
        description="Events buffered per subscription; a subscriber this far behind is ended.",
    )
    subscriptions_per_socket: int = Field(
        default=100, ge=1, description="Subscriptions one WebSocket may hold open."
    )
    subscriptions_per_key: int = Field(
        default=500,
        ge=1,
        description="Subscriptions one API key or member may hold open on all its sockets, per "
        "server process.",
    )
    segment_refresh_interval: float = Field(
        default=300,
        gt=0,
        description="Seconds between refreshes of segments whose rules depend on the clock.",
    )
    segment_reconcile_interval: float = Field(
        default=3600,
        gt=0,
        description="Seconds between full re-checks of every dynamic segment.",
    )
    change_retention_days: int = Field(
        default=30,
        ge=0,
        description="Days the change log keeps events; 0: forever.",
    )
    # background jobs (relasi/jobs/)
    jobs_in_server: bool = Field(
        default=True,
        description="Run background jobs inside each `relasi serve` process; off: only "
        "`relasi worker` processes run them.",
    )
    jobs_concurrency: int = Field(
        default=10,
        ge=2,
        le=1_000,
        description="Jobs one server or worker process runs at once.",
    )
    jobs_heartbeat_timeout: float = Field(
        default=30,
        ge=1,
        description="Seconds without a heartbeat after which a running job counts as "
        "abandoned (its process died) and another worker runs it again.",
    )
    jobs_log_retention_days: int = Field(
        default=7,
        ge=0,
        description="Days the job queue keeps its log, statistics and failed jobs; 0: forever.",
    )
    # the workflows' clock (relasi/resolvers/workflows/clock.py)
    workflow_clock_interval: float = Field(
        default=15,
        ge=1,
        le=60,
        description="Seconds between the workflow clock's ticks: schedules, relative-time and "
        "SLA triggers start, and waiting runs continue, at most this long after their time.",
    )
    workflow_schedule_batch: int = Field(
        default=1_000,
        ge=1,
        le=100_000,
        description="Runs one schedule trigger starts per clock tick; a cron time matching "
        "more records starts the rest on the next ticks (Workflow.stats.scheduleBacklog).",
    )
    # webhooks (relasi/resolvers/webhooks/)
    webhook_allowed_hosts: str = Field(
        default="",
        description="Comma-separated host names (or IP addresses) webhook URLs may name "
        "although they resolve to private or loopback addresses; plain http is allowed for "
        "them only. Empty: none.",
    )
    webhook_secret_key: str | None = Field(
        default=None,
        description="Base64 of 32 bytes that encrypt the stored webhook signing secrets; "
        "unset: a key file made in data_dir. Every process of one deployment needs the same.",
    )
    webhook_timeout: float = Field(
        default=15, gt=0, description="Seconds a receiver has to answer a delivery."
    )
    webhook_retry_scale: float = Field(
        default=1,
        gt=0,
        description="Multiplies the retry delays (5 s, 5 min, 30 min, ...); for tests.",
    )
    webhook_endpoint_concurrency: int = Field(
        default=32,
        ge=1,
        le=1_000,
        description="The most deliveries in flight at once to one endpoint (a drain starts "
        "at 4 and grows toward it while the receiver answers fast).",
    )
    webhook_secret_overlap: float = Field(
        default=86_400,
        ge=0,
        description="Seconds a rotated-out signing secret still signs deliveries.",
    )
    # workflows (relasi/resolvers/workflows/)
    workflow_concurrency: int = Field(
        default=4,
        ge=1,
        le=1_000,
        description="Workflow runs of one workspace executing at once, across all processes "
        "(more wait their turn).",
    )
    workflow_retry_scale: float = Field(
        default=1,
        gt=0,
        description="Multiplies the delays before a workflow step is retried after a "
        "transient error (5 s, doubling); for tests.",
    )
    ws_keep_alive_interval: float = Field(
        default=10,
        gt=0,
        description="Seconds between keep-alive messages on legacy graphql-ws sockets.",
    )
    # Staff sign-in with JWTs (relasi/auth/jwt.py). HS256 tokens are checked against their
    # workspace's own secret; RS256/ES256 tokens against the identity provider's JWKS.
    jwt_user_claim: str = Field(
        default="email",
        description="The claim naming the user: matched to members.email (or members.subject "
        "when it is `sub`).",
    )
    jwt_workspace_claim: str = Field(
        default="relasi_workspace", description="The claim holding the workspace id."
    )
    jwt_audience: str = Field(default="relasi", description="Required `aud` of every JWT.")
    jwt_issuer: str | None = Field(
        default=None, description="Required `iss` of identity-provider (JWKS) tokens."
    )
    jwt_jwks_url: str | None = Field(
        default=None, description="The identity provider's JWKS; unset: only HS256 tokens."
    )
    jwt_algorithms: str = Field(
        default="RS256,ES256",
        description="Comma-separated asymmetric algorithms accepted with JWKS keys.",
    )
    jwt_leeway: float = Field(default=30, ge=0, description="Clock skew allowed, in seconds.")
    jwt_jwks_cache_ttl: float = Field(
        default=600, gt=0, description="Seconds the JWKS is kept before it is fetched again."
    )
    jwt_jwks_refresh_cooldown: float = Field(
        default=30,
        ge=0,
        description="Minimum seconds between refetches caused by an unknown `kid` (or a failed "
        "fetch), so random kids cannot flood the identity provider.",
    )

    @field_validator("jwt_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: str) -> str:
        # a token must never pick HS256 against a public key (algorithm confusion), nor `none`
        names = [a.strip() for a in value.split(",") if a.strip()]
        refused = [a for a in names if a not in ASYMMETRIC_ALGORITHMS]
        if refused or not names:
            raise ValueError(
                f"must name only asymmetric algorithms ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
                f"; refused: {', '.join(refused) or 'none given'}"
            )
        return ",".join(names)

    @model_validator(mode="after")
    def _issuer_with_jwks(self) -> "Settings":
        if self.jwt_jwks_url and not self.jwt_jwks_url.startswith(("https://", "http://")):
            raise ValueError("RELASI_JWT_JWKS_URL must be an http(s) URL")
        if self.jwt_jwks_url and not self.jwt_issuer:
            # without an issuer check, any token signed by that provider's keys would do
            raise ValueError("RELASI_JWT_ISSUER is required when RELASI_JWT_JWKS_URL is set")
        return self

    @property
    def graphiql_enabled(self) -> bool:
        return not self.production if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return not self.production if self.introspection is None else self.introspection

    @property
    def webhook_allowed_host_list(self) -> frozenset[str]:
        return frozenset(
            h.strip().lower() for h in self.webhook_allowed_hosts.split(",") if h.strip()
        )

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def jwt_algorithm_list(self) -> list[str]:
        return self.jwt_algorithms.split(",")

    @cached_property
    def embedded(self) -> bool:
        return not self.database_url
