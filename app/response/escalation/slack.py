"""Slack incoming webhook: text plus blocks (priority, summary, service, digests, link)."""

from __future__ import annotations

from typing import Any

from app.response.escalation.digest import (
    console_link,
    diagnostics_digest,
    remediation_digest,
    title,
)
from app.response.snapshot import IncidentSnapshot

# Slack answers 400 invalid_payload, 403 action_prohibited, 404 no_service/channel_not_found,
# 410 channel_is_archived: none gets better by retrying. 429 and 5xx do.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
EMOJI = {"P0": ":rotating_light:", "P1": ":warning:", "P2": ":information_source:"}


def message(
    view: IncidentSnapshot, outcome: str, records: list[dict[str, Any]], base_url: str
) -> dict[str, Any]:
    link = console_link(base_url, view.id)
    head = f"{EMOJI.get(view.priority, '')} [{view.priority}] {title(view)}".strip()
    fields = [
        {"type": "mrkdwn", "text": f"*Priority*\n{view.priority}"},
        {"type": "mrkdwn", "text": f"*Service*\n{view.service or '-'}"},
        {"type": "mrkdwn", "text": f"*Status*\n{view.status}"},
        {"type": "mrkdwn", "text": f"*Incident*\n<{link}|{view.id}>"},
    ]
    return {
        "text": f"{head} ({outcome})",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": (view.summary or "-")[:2900]}},
            {"type": "section", "fields": fields},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*Diagnostics*: {diagnostics_digest(view.diagnostics)}"[:2900],
                },
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*Remediation*: {remediation_digest(outcome, records)}"[:2900],
                },
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in console"},
                        "url": link,
                    }
                ],
            },
        ],
    }
