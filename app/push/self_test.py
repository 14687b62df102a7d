"""Self-test: secrets present (never values), formatter round-trip, Telegram getMe reachable."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.files import write_json_atomic, write_snapshot
from app.core.settings import Settings
from app.push.evidence import rebuild_index
from app.push.models import PushSelfTest
from app.push.paths import SELF_TEST_LATEST, SELF_TEST_SNAPSHOTS, PushPaths
from app.push.receipts import secrets_status
from app.push.schemas import PushSelfTestV1, SecretsStatus, SelfTestCheck
from app.push.telegram import TelegramClient
from app.utils.push_formatter import (
    TELEGRAM_TEXT_LIMIT,
    html_is_well_formed,
    render_message,
    telegram_length,
    visible_text,
)

# Every character HTML mode treats specially, plus an astral emoji (2 UTF-16 units).
_SAMPLE_TITLE = 'Disk <90%> & "quotes" on node-3 🚨'
_SAMPLE_CONTENT = "a < b && c > d; <b>not a tag</b> &amp; stays literal"


def _secrets_check(secrets: SecretsStatus) -> SelfTestCheck:
    detail = (
        f"TELEGRAM_BOT_TOKEN present: {str(secrets.TELEGRAM_BOT_TOKEN).lower()}, "
        f"TELEGRAM_CHAT_ID present: {str(secrets.TELEGRAM_CHAT_ID).lower()}"
    )
    passed = secrets.TELEGRAM_BOT_TOKEN and secrets.TELEGRAM_CHAT_ID
    return SelfTestCheck(name="secrets_present", passed=passed, detail=detail)


def _formatter_check() -> SelfTestCheck:
    """Escaping survives a parse, and an oversized body is cut to fit with a marker."""
    short = render_message("INFO", _SAMPLE_TITLE, _SAMPLE_CONTENT)
    long = render_message("INFO", _SAMPLE_TITLE, ("line & <x>\n" * 1000).strip())
    problems = []
    if not html_is_well_formed(short.html) or visible_text(short.html) != short.plain:
        problems.append("escaped body does not parse back to the plain text")
    if not html_is_well_formed(long.html) or telegram_length(long.html) > TELEGRAM_TEXT_LIMIT:
        problems.append("truncated body is malformed or too long")
    if not long.truncated or f"+{long.omitted_chars} more" not in long.html:
        problems.append("truncation marker missing")
    detail = "; ".join(problems) or "escaping and truncation round-trip"
    return SelfTestCheck(name="formatter_round_trip", passed=not problems, detail=detail)


async def _get_me_check(telegram: TelegramClient) -> SelfTestCheck:
    if not telegram.configured:
        return SelfTestCheck(
            name="telegram_get_me", passed=False, detail="not tried: TELEGRAM_BOT_TOKEN is not set"
        )
    result = await telegram.get_me()
    if result.ok and result.result.get("is_bot") is True:
        username = str(result.result.get("username") or "?")
        return SelfTestCheck(
            name="telegram_get_me", passed=True, detail=f"reachable as @{username}"
        )
    detail = f"{result.error_class}: {result.error_message}" if not result.ok else "not a bot"
    return SelfTestCheck(name="telegram_get_me", passed=False, detail=detail)


async def run_self_test(
    session: AsyncSession,
    settings: Settings,
    telegram: TelegramClient,
    paths: PushPaths,
    now: datetime,
) -> PushSelfTestV1:
    """Run the checks, record the decision in the database (the send gate reads it there)."""
    secrets = secrets_status(settings)
    checks = [_secrets_check(secrets), _formatter_check(), await _get_me_check(telegram)]
    report = PushSelfTestV1(
        self_test_id=str(uuid.uuid4()),
        asof=now,
        decision="SELF_TEST_PASS" if all(c.passed for c in checks) else "SELF_TEST_FAIL",
        checks=checks,
        secrets_status_observed=secrets,
    )
    async with session.begin():
        session.add(
            PushSelfTest(
                id=report.self_test_id,
                asof=now,
                decision=report.decision,
                document=report.model_dump(mode="json"),
            )
        )
    write_json_atomic(paths.abs(SELF_TEST_LATEST), report)
    write_snapshot(paths.abs(SELF_TEST_SNAPSHOTS), "self_test", now, report)
    rebuild_index(paths, now)
    return report
