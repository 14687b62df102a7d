"""One Settings class: every knob from the environment, secrets also from `<NAME>_FILE`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from app.core.redact import dsn_password
from app.core.secret_files import SECRET_FIELDS, SecretFileSource
from app.core.secret_files import SettingsError as SettingsError
from app.core.settings_paging import PagingSettings

PriorityName = Literal["P0", "P1", "P2"]
IncidentKindName = Literal[
    "BACKEND_DOWN", "OPS_BLOCKED", "OPS_FAILED", "LIVE_BLOCKED", "LIVE_FAILED", "PUSH_FAILED"
]


def _default_severity_map() -> dict[str, PriorityName]:
    return {
        "critical": "P0",
        "page": "P0",
        "high": "P1",
        "error": "P1",
        "warning": "P1",
        "major": "P1",
    }


def _default_pipeline_priorities() -> list[PriorityName]:
    return ["P0", "P1"]


def _default_diagnostic_queries() -> dict[str, str]:
    return {
        "availability": 'avg(up{{job="{service}"}})',
        "latency_p95": (
            "histogram_quantile(0.95, sum by (le) (rate("
            'http_request_duration_seconds_bucket{{service="{service}"}}[5m]))) * 1000'
        ),
        "error_rate": (
            'sum(rate(http_requests_total{{service="{service}",status=~"5.."}}[5m]))'
            ' / sum(rate(http_requests_total{{service="{service}"}}[5m]))'
        ),
    }


class Settings(PagingSettings):
    """Service configuration. Field names are the environment variable names."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    ENVIRONMENT: Literal["development", "production"] = "development"
    # `serve`'s defaults (its --host/--port/--workers win); the image sets HOST=0.0.0.0.
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8080, ge=1, le=65535)
    WORKERS: int = Field(default=1, ge=1, le=64)
    DATABASE_URL: str | None = None
    DATABASE_POOL_SIZE: int = Field(default=10, ge=1, le=200)
    DATABASE_MAX_OVERFLOW: int = Field(default=10, ge=0, le=200)
    DATABASE_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0, le=60)
    DATA_DIR: Path = Field(default_factory=Path.cwd)

    ALERTMANAGER_TOKEN: SecretStr | None = None
    VIEWER_TOKEN: SecretStr | None = None
    OPERATOR_TOKEN: SecretStr | None = None
    OPS_SCRIPT_TOKEN: SecretStr | None = None
    METRICS_TOKEN: SecretStr | None = None  # unset: /metrics is open (see README)

    TELEGRAM_BOT_TOKEN: SecretStr | None = None
    TELEGRAM_CHAT_ID: SecretStr | None = None
    TELEGRAM_API_BASE: str = "https://api.telegram.org"
    SLACK_WEBHOOK_URL: SecretStr | None = None
    PAGERDUTY_ROUTING_KEY: SecretStr | None = None
    PAGERDUTY_EVENTS_URL: str = "https://events.pagerduty.com/v2/enqueue"
    PROMETHEUS_URL: str = "http://prometheus-server.monitoring.svc:80"
    KUBECONFIG: str | None = None
    KUBERNETES_API_URL: str | None = None

    TIMEZONE: str = "UTC"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    PUBLIC_BASE_URL: str = "http://localhost:8080"
    # Gauges read from PostgreSQL (incidents_open, remediation_success_rate) are refreshed at
    # most this often per worker, however often /metrics is scraped.
    METRICS_REFRESH_SECONDS: float = Field(default=30.0, ge=0, le=3600)
    HTTP_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=120)
    HTTP_MAX_ATTEMPTS: int = Field(default=4, ge=1, le=10)
    HTTP_MAX_RETRY_SECONDS: float = Field(default=30.0, ge=0, le=600)
    # Every request body is limited (413) before it is read: this for any route that does not
    # name its own limit (core.guard.BodyLimit), WEBHOOK_MAX_BODY_BYTES for the webhook.
    HTTP_MAX_BODY_BYTES: int = Field(default=1024 * 1024, ge=1024)
    WEBHOOK_MAX_BODY_BYTES: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Concurrent webhooks share statements: this many statements at once per worker, each
    # holding up to WEBHOOK_BATCH_MAX_ALERTS alerts (a webhook is never split).
    WEBHOOK_INGEST_LANES: int = Field(default=4, ge=1, le=64)
    WEBHOOK_BATCH_MAX_ALERTS: int = Field(default=500, ge=1, le=100_000)

    # --- incidents -------------------------------------------------------------------------
    # severity label value -> priority, used when an alert has no `priority` label.
    SEVERITY_PRIORITY_MAP: dict[str, PriorityName] = Field(default_factory=_default_severity_map)
    DEFAULT_PRIORITY: PriorityName = "P2"
    # Open incidents whose alert has not been seen for this long are flagged stale (not closed).
    INCIDENT_STALE_AFTER_SECONDS: int = Field(default=12 * 3600, ge=60)
    MAINTENANCE_INTERVAL_SECONDS: float = Field(default=60.0, gt=0)
    # Priorities whose new incidents get the background response pipeline.
    PIPELINE_PRIORITIES: list[PriorityName] = Field(default_factory=_default_pipeline_priorities)

    # --- response pipeline -----------------------------------------------------------------
    # Off in tests that drive the runner themselves; the sweeper is what makes work durable.
    PIPELINE_ENABLED: bool = True
    PIPELINE_CONCURRENCY: int = Field(default=8, ge=1, le=256)  # pipelines at once per worker
    PIPELINE_LEASE_SECONDS: float = Field(default=60.0, ge=1, le=3600)
    PIPELINE_SWEEP_INTERVAL_SECONDS: float = Field(default=15.0, gt=0, le=3600)
    PIPELINE_MAX_ATTEMPTS: int = Field(default=5, ge=1, le=50)
    PIPELINE_RETRY_DELAY_SECONDS: float = Field(default=30.0, ge=0, le=3600)
    DIAGNOSTICS_TOTAL_TIMEOUT_SECONDS: float = Field(default=20.0, gt=0, le=300)
    DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS: float = Field(default=8.0, gt=0, le=120)
    DIAGNOSTICS_PROMETHEUS_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0, le=120)
    DIAGNOSTICS_DEPENDENCY_TIMEOUT_SECONDS: float = Field(default=3.0, gt=0, le=120)
    # PromQL per diagnostic; `{service}`, `{namespace}` and any alert label are filled in, escaped.
    DIAGNOSTICS_QUERIES: dict[str, str] = Field(default_factory=_default_diagnostic_queries)
    # [{"name": "kafka", "kind": "tcp|http|postgres", "target": "host:port | URL | DSN"}]
    DIAGNOSTICS_DEPENDENCIES: list[dict[str, str]] = Field(default_factory=list)
    KUBERNETES_NAMESPACE: str = "production"  # when the alert carries no `namespace` label
    KUBERNETES_VERIFY_SSL: bool = True
    REMEDIATION_MODE: Literal["off", "dry_run", "enforce"] = "dry_run"
    REMEDIATION_RULES_FILE: Path | None = (
        None  # None: the documented app/response/remediation/rules.yaml
    )
    REMEDIATION_NAMESPACES: list[str] = Field(default_factory=lambda: ["production"])
    # fnmatch patterns of targets (deployments, postgres target names, log dirs) allowed to change.
    REMEDIATION_TARGETS: list[str] = Field(default_factory=list)
    REMEDIATION_MAX_REPLICAS: int = Field(default=10, ge=1, le=1000)
    REMEDIATION_COOLDOWN_SECONDS: float = Field(default=900.0, ge=0)
    REMEDIATION_MAX_ACTIONS_PER_INCIDENT: int = Field(default=3, ge=0, le=50)
    REMEDIATION_VERIFY_TIMEOUT_SECONDS: float = Field(default=60.0, ge=0, le=1800)
    REMEDIATION_VERIFY_INTERVAL_SECONDS: float = Field(default=5.0, gt=0, le=300)
    # name -> PostgreSQL DSN that `terminate_idle_transactions` may act on (never logged).
    REMEDIATION_POSTGRES_TARGETS: dict[str, SecretStr] = Field(default_factory=dict)
    REMEDIATION_LOG_DIRS: list[Path] = Field(default_factory=list)  # only these are cleaned
    # Per priority: PagerDuty `immediate` | `on_failure` | `never`; Slack `always` | `on_failure` | `never`.
    ESCALATION_PAGERDUTY: dict[PriorityName, Literal["immediate", "on_failure", "never"]] = Field(
        default_factory=lambda: {"P0": "immediate", "P1": "on_failure", "P2": "never"}  # type: ignore[arg-type]
    )
    ESCALATION_SLACK: dict[PriorityName, Literal["always", "on_failure", "never"]] = Field(
        default_factory=lambda: {"P0": "always", "P1": "always", "P2": "on_failure"}  # type: ignore[arg-type]
    )

    # --- push ------------------------------------------------------------------------------
    # Pending messages one outbox run takes (oldest first); the rest wait for the next run.
    PUSH_OUTBOX_MAX_MESSAGES: int = Field(default=50, ge=1, le=500)
    # A SELF_TEST_PASS older than this no longer opens the SELF_TEST_FAIL gate.
    PUSH_SELF_TEST_MAX_AGE_SECONDS: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    # How long a sender's claim on a message holds; a crashed sender's claim expires after it.
    # Keep it above HTTP_MAX_RETRY_SECONDS so a slow but live send is never claimed twice.
    PUSH_SEND_LEASE_SECONDS: int = Field(default=300, ge=30, le=3600)

    # --- incident pushes and the ops summary -------------------------------------------------
    # Per kind, the "Action:" line of the incident message (kinds left out keep the default).
    INCIDENT_PUSH_HINTS: dict[IncidentKindName, str] = Field(default_factory=dict)
    # An active P0 whose PagerDuty trigger is not delivered this long after it opened is overdue.
    OPS_PAGE_OVERDUE_SECONDS: int = Field(default=300, ge=30, le=24 * 3600)

    # --- retention (days; 0 keeps for ever) ------------------------------------------------
    RETENTION_ENABLED: bool = True
    RETENTION_TIMELINE_REPEATED_DAYS: int = Field(default=30, ge=0)  # incident_events 'repeated'
    RETENTION_IGNORED_ALERTS_DAYS: int = Field(default=30, ge=0)
    RETENTION_DELIVERY_ATTEMPTS_DAYS: int = Field(default=90, ge=0)
    RETENTION_PUSH_RECEIPTS_DAYS: int = Field(default=90, ge=0)  # push_send_receipts rows
    RETENTION_PAGE_CALLS_DAYS: int = Field(default=90, ge=0)  # page_calls rows (the call log)
    RETENTION_REPORT_SNAPSHOTS_DAYS: int = Field(default=30, ge=0)  # reports/**/snapshots/*.json
    RETENTION_JSONL_DAYS: int = Field(default=365, ge=0)  # rotated segments of state/**/*.jsonl
    # The active JSONL file is rotated once its first line is this old, or at this size.
    JSONL_ROTATE_DAYS: int = Field(default=7, ge=1)
    JSONL_ROTATE_MAX_BYTES: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Deletes go in batches of this many rows, at most this many batches per kind and pass.
    RETENTION_BATCH_SIZE: int = Field(default=1000, ge=1, le=100_000)
    RETENTION_MAX_BATCHES_PER_PASS: int = Field(default=10, ge=1, le=10_000)
    # --- console: session HMAC key (unset: generated under state/ in dev, console off in prod)
    CONSOLE_SESSION_SECRET: SecretStr | None = None
    CONSOLE_SESSION_TTL_SECONDS: int = Field(default=12 * 3600, ge=60, le=7 * 24 * 3600)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SecretFileSource(settings_cls)

    @field_validator(*SECRET_FIELDS, mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `TELEGRAM_BOT_TOKEN=` (or an empty secret file) is no secret: absent, not present.
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            return None
        return value

    @field_validator("INCIDENT_PUSH_HINTS")
    @classmethod
    def _hints(cls, value: dict[str, str]) -> dict[str, str]:
        for kind, hint in value.items():
            if not hint.strip() or len(hint) > 500:
                raise ValueError(f"the hint for {kind} must be 1-500 characters")
        return {k: " ".join(v.split()) for k, v in value.items()}

    @field_validator("SEVERITY_PRIORITY_MAP")
    @classmethod
    def _lower_keys(cls, value: dict[str, str]) -> dict[str, str]:
        return {k.strip().lower(): v for k, v in value.items()}

    @field_validator("DATABASE_URL")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value or None

    @field_validator(
        "TELEGRAM_API_BASE", "PAGERDUTY_EVENTS_URL", "PROMETHEUS_URL", "PUBLIC_BASE_URL"
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _production_needs(self) -> Settings:
        if self.ENVIRONMENT == "production":
            if self.DATABASE_URL is None:
                raise ValueError("DATABASE_URL is required when ENVIRONMENT=production")
            if self.ALERTMANAGER_TOKEN is None:
                raise ValueError("ALERTMANAGER_TOKEN is required when ENVIRONMENT=production")
        console_key = self.CONSOLE_SESSION_SECRET
        if console_key is not None and len(console_key.get_secret_value()) < 24:
            raise ValueError("CONSOLE_SESSION_SECRET must be at least 24 characters")
        # A Telegram send (retries, plus the plain-text fallback) must finish inside its claim,
        # or a second sender could take the message over while the first is still sending.
        worst_send = (
            self.HTTP_MAX_RETRY_SECONDS + 2 * self.HTTP_MAX_ATTEMPTS * self.HTTP_TIMEOUT_SECONDS
        )
        if self.PUSH_SEND_LEASE_SECONDS <= worst_send:
            raise ValueError(
                f"PUSH_SEND_LEASE_SECONDS must exceed {worst_send:.0f} s, the longest a send can "
                "take with HTTP_MAX_RETRY_SECONDS, HTTP_MAX_ATTEMPTS and HTTP_TIMEOUT_SECONDS"
            )
        # One peer call fits in a group's claim (else a second worker could take it over).
        if self.PAGE_LEASE_SECONDS <= 2 * self.HTTP_TIMEOUT_SECONDS:
            raise ValueError(
                "PAGE_LEASE_SECONDS must exceed twice HTTP_TIMEOUT_SECONDS (one peer call)"
            )
        tokens = [t.get_secret_value() for t in self.api_tokens().values() if t is not None]
        if len(tokens) != len(set(tokens)):
            raise ValueError("API tokens must differ: one token would carry several scopes")
        if any(len(t) < 16 for t in tokens):
            raise ValueError("API tokens must be at least 16 characters")
        return self

    def api_tokens(self) -> dict[str, SecretStr | None]:
        """The four bearer tokens by setting name."""
        return {
            "ALERTMANAGER_TOKEN": self.ALERTMANAGER_TOKEN,
            "VIEWER_TOKEN": self.VIEWER_TOKEN,
            "OPERATOR_TOKEN": self.OPERATOR_TOKEN,
            "OPS_SCRIPT_TOKEN": self.OPS_SCRIPT_TOKEN,
            "METRICS_TOKEN": self.METRICS_TOKEN,
        }

    def secret_values(self) -> list[str]:
        """Every configured secret value, for the redactor."""
        values = []
        for name in SECRET_FIELDS:
            secret = getattr(self, name)
            if secret is not None and secret.get_secret_value():
                values.append(secret.get_secret_value())
        dsns = [v.get_secret_value() for v in self.REMEDIATION_POSTGRES_TARGETS.values()]
        values.extend(dsns)
        dsns += [
            self.DATABASE_URL or "",
            *(d.get("target", "") for d in self.DIAGNOSTICS_DEPENDENCIES),
        ]
        # A driver error may name a DSN's password without the URL around it.
        values.extend(p for p in map(dsn_password, dsns) if p)
        return values

    def secrets_present(self) -> dict[str, bool]:
        """Which secrets are set, never their values."""
        return {name: getattr(self, name) is not None for name in SECRET_FIELDS}

    @property
    def state_dir(self) -> Path:
        return self.DATA_DIR / "state"


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation errors into one readable SettingsError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid configuration: {problems}") from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
