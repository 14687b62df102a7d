"""The escalation vocabulary: channels, PagerDuty events, and how a delivery ended."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    PAGERDUTY = "pagerduty"
    SLACK = "slack"


class PageEvent(StrEnum):
    """PagerDuty Events API v2 `event_action`."""

    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


NOTIFY = "notify"  # the one Slack event


class Escalated(StrEnum):
    """What one page or notification came to."""

    DELIVERED = "delivered"
    FAILED = "failed"  # not worth retrying (e.g. PagerDuty 400)
    RETRY = "retry"  # failed; worth another pipeline attempt (5xx, 429, timeouts)
    DUPLICATE = "duplicate"  # someone else has sent it or is sending it
    SKIPPED = "skipped"  # the channel is not configured
    NOT_DUE = "not_due"  # the policy does not call for it
