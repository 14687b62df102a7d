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
    """What one page or notification came to. Pages are per Alertmanager group and owned by
    the group's ledger (escalation.paging): a page owed is never the pipeline's to retry."""

    DELIVERED = "delivered"  # its group's PagerDuty incident (or Slack message) is out
    MERGED = "merged"  # its group was already paged: counted in that page, no new one
    HELD = "held"  # held back by the storm budget; paged when the window closes
    DAMPED = "damped"  # its alert is flapping: linked to the previous incident, no page
    PENDING = "pending"  # owed, the peer has not taken it yet: retried until it does
    SKIPPED = "skipped"  # the channel is not configured
    NOT_DUE = "not_due"  # the policy does not call for it (or the incident is over)
