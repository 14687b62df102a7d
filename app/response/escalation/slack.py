"""Slack incoming webhook messages for a group: opened, resolved, and the overdue notice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.response.escalation.digest import console_link
from app.response.models import PageGroup

if TYPE_CHECKING:
    from app.response.escalation.groups import Facts

# Slack answers 400 invalid_payload, 403 action_prohibited, 404 no_service/channel_not_found,
# 410 channel_is_archived: none gets better by retrying. 429 and 5xx do.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
EMOJI = {"P0": ":rotating_light:", "P1": ":warning:", "P2": ":information_source:"}


def _post(text: str, lines: list[str], link: str, button: str) -> dict[str, Any]:
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
            *(
                [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}}]
                if lines
                else []
            ),
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": button}, "url": link}
                ],
            },
        ],
    }


def _link(base_url: str, group: PageGroup, facts: Facts | None) -> str:
    if facts and facts.alerts and group.kind == "group":
        return console_link(base_url, facts.alerts[0][0])
    return f"{base_url}/console/pages"


def group_opened(group: PageGroup, facts: Facts, base_url: str) -> dict[str, Any]:
    """One message when a group opens: title, count, the first alerts, a console link."""
    priority = facts.priority or "P2"
    if group.kind == "storm":
        top = ", ".join(f"{name} ({n})" for n, name, _, _ in facts.alerts)
        text = (
            f"{EMOJI['P0']} [P0] Alert storm: {facts.paging} group(s) held back by the "
            f"page budget; top: {top}"
        )
        return _post(text, [], _link(base_url, group, None), "Held pages")
    first = facts.alerts[0][1] if facts.alerts else group.group_key
    count = max(facts.paging, facts.notifying)
    text = f"{EMOJI.get(priority, '')} [{priority}] {first}: {count} alert(s) in group"
    text = f"{text} {group.group_key}".strip()
    lines = [f"• [{p}] {name} - {summary or '-'}" for _, name, p, summary in facts.alerts]
    return _post(text, lines, _link(base_url, group, facts), "Open in console")


def group_resolved(group: PageGroup, base_url: str) -> dict[str, Any]:
    """One message when the group resolves."""
    what = "Alert storm" if group.kind == "storm" else f"group {group.group_key}"
    return _post(
        f":white_check_mark: [RESOLVED] {what}", [], f"{base_url}/console/pages", "Console"
    )


def overdue(text: str, group: PageGroup, facts: Facts, base_url: str) -> dict[str, Any]:
    """The one notice that PagerDuty has not taken a page for too long."""
    return _post(f":warning: {text}", [], _link(base_url, group, facts), "Open in console")
