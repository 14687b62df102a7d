"""The ops summary (OPS_SUMMARY_V1): overall status, the reasons behind it, every check."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.push.paths import OPS_SUMMARY_LATEST


class OverallStatus(StrEnum):
    OK = "OK"
    WARN = "WARN"
    BLOCKED = "BLOCKED"


class CheckStatus(StrEnum):
    OK = "OK"
    WARN = "WARN"
    BLOCKED = "BLOCKED"
    SKIPPED = "SKIPPED"  # could not run (the database is down)


class ReasonCode(StrEnum):
    DATABASE_DOWN = "DATABASE_DOWN"
    EMERGENCY_STOP = "EMERGENCY_STOP"
    OPEN_P0_INCIDENTS = "OPEN_P0_INCIDENTS"
    OVERDUE_PAGES = "OVERDUE_PAGES"
    SELF_TEST_FAILING = "SELF_TEST_FAILING"
    STALE_INCIDENTS = "STALE_INCIDENTS"
    HEARTBEAT_MISSING = "HEARTBEAT_MISSING"
    CHECK_ERROR = "CHECK_ERROR"  # a check raised: its answer is unknown


class OpsReason(BaseModel):
    code: ReasonCode
    status: Literal["WARN", "BLOCKED"]
    message: str


class OpsCheck(BaseModel):
    name: str
    status: CheckStatus
    reason: OpsReason | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class OpsSummaryV1(BaseModel):
    """`overall_status` is the worst check: any BLOCKED -> BLOCKED, else any WARN -> WARN."""

    schema_: Literal["OPS_SUMMARY_V1"] = Field(default="OPS_SUMMARY_V1", alias="schema")
    asof: datetime
    overall_status: OverallStatus
    reasons: list[OpsReason]
    checks: list[OpsCheck]
    report_ref: str = OPS_SUMMARY_LATEST

    model_config = ConfigDict(
        populate_by_name=True,
        serialize_by_alias=True,
        json_schema_serialization_defaults_required=True,
    )
