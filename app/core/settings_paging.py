"""Paging settings (one page per Alertmanager group, storm budget, flap damping, the
heartbeat), mixed into the one Settings class; README "How paging works" explains them."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class PagingSettings(BaseSettings):
    """Fields of Settings (environment variables of the same name); use Settings, not this."""

    # The dead man's switch: this alert never becomes an incident; its silence does.
    HEARTBEAT_ALERTNAME: str = Field(default="Watchdog", max_length=100)
    HEARTBEAT_TIMEOUT_SECONDS: float = Field(default=600.0, gt=0)
    # --- paging: one page per Alertmanager group ------------------------------------------
    PAGE_BUDGET: int = Field(default=10, ge=1, le=10_000)  # new PagerDuty incidents per window
    PAGE_BUDGET_WINDOW_SECONDS: float = Field(default=300.0, gt=0)
    PAGE_UPDATE_INTERVAL_SECONDS: float = Field(default=60.0, ge=0)  # updates per group, at most
    PAGE_RESOLVE_DELAY_SECONDS: float = Field(default=60.0, ge=0)  # quiet group → resolve
    PAGE_RETRY_BASE_SECONDS: float = Field(default=5.0, gt=0)  # first retry; doubles each time
    PAGE_RETRY_MAX_DELAY_SECONDS: float = Field(default=300.0, gt=0)  # cap of the backoff
    PAGE_OVERDUE_SECONDS: float = Field(default=300.0, gt=0)  # undelivered this long: notice
    PAGE_FOLLOWUP_MAX_ATTEMPTS: int = Field(default=10, ge=1, le=1000)  # acknowledge / resolve
    PAGE_LEASE_SECONDS: float = Field(default=120.0, ge=1, le=3600)  # a group's delivery claim
    FLAP_THRESHOLD: int = Field(default=3, ge=2, le=100)
    FLAP_WINDOW_SECONDS: float = Field(default=1800.0, gt=0)
