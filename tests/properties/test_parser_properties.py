"""The webhook parser: any JSON gives parsed alerts or a clean Unprocessable, never another
exception; a valid alert survives the trip through the wire format unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import Unprocessable
from app.incidents.alertmanager import ParsedAlert, RejectedAlert, parse_payload

SEVERITY_MAP = {"critical": "P0", "warning": "P1", "info": "P2"}
KEYS = [
    "alerts",
    "labels",
    "status",
    "fingerprint",
    "startsAt",
    "endsAt",
    "annotations",
    "generatorURL",
    "alertname",
    "severity",
    "priority",
    "version",
    "groupLabels",
]

# Any character, lone surrogates included: json.loads gives them from "\ud800" escapes.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=30)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | ANY_TEXT, inner, max_size=5)
    ),
    max_leaves=25,
)
DATES = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "2026-01-25T09:05:30Z",
        "2026-01-25T09:05:30.123+05:30",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+14:00",
        "not a date",
        "2026-13-45",
    ]
)
ALERTISH = st.fixed_dictionaries(
    {"labels": st.dictionaries(ANY_TEXT, SCALARS | ANY_TEXT, max_size=4)},
    optional={
        "status": st.sampled_from(["firing", "resolved", "FIRING", "bogus"]) | SCALARS,
        "annotations": st.dictionaries(ANY_TEXT, SCALARS, max_size=3) | SCALARS,
        "startsAt": DATES | SCALARS,
        "endsAt": DATES,
        "fingerprint": ANY_TEXT | SCALARS,
        "generatorURL": ANY_TEXT | SCALARS,
    },
)
DOCUMENTS = (
    JSON
    | ALERTISH
    | st.builds(
        lambda alerts, extra: {"alerts": alerts, **extra},
        st.lists(ALERTISH | JSON, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), JSON, max_size=3),
    )
)


def _encode(document: Any) -> bytes:
    # surrogatepass: the bytes a sender with lone surrogates would put on the wire.
    return json.dumps(document, allow_nan=True).encode("utf-8", "surrogatepass")


def _parse_or_refuse(body: bytes) -> list[ParsedAlert | RejectedAlert] | Unprocessable:
    try:
        return parse_payload(body, SEVERITY_MAP, "P2")
    except Unprocessable as exc:
        return exc


@given(DOCUMENTS)
def test_any_json_is_parsed_or_refused_cleanly(document: Any) -> None:
    outcome = _parse_or_refuse(_encode(document))
    if isinstance(outcome, Unprocessable):
        assert outcome.status_code == 422
        outcome.reason.encode("utf-8")  # printable: a JSON answer and a log line can carry it
        return
    assert any(isinstance(a, ParsedAlert) for a in outcome)
    for alert in outcome:
        if isinstance(alert, RejectedAlert):
            alert.reason.encode("utf-8")
            continue
        for text in (alert.fingerprint, alert.alert_name, *alert.labels, *alert.labels.values()):
            text.encode("utf-8")  # storable: no lone surrogate, no NUL
            assert "\x00" not in text
        for instant in (alert.starts_at, alert.ends_at):
            assert instant is None or instant.utcoffset() is not None


@given(st.binary(max_size=200))
def test_any_bytes_are_parsed_or_refused_cleanly(body: bytes) -> None:
    _parse_or_refuse(body)


LABEL_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


@given(
    labels=st.dictionaries(LABEL_TEXT, LABEL_TEXT, min_size=1, max_size=6),
    annotations=st.dictionaries(LABEL_TEXT, LABEL_TEXT, max_size=4),
    firing=st.booleans(),
    starts=st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
    fingerprint=st.none() | st.text("0123456789abcdef", min_size=1, max_size=16),
)
def test_valid_alert_round_trips(
    labels: dict[str, str],
    annotations: dict[str, str],
    firing: bool,
    starts: datetime,
    fingerprint: str | None,
) -> None:
    alert: dict[str, Any] = {
        "status": "firing" if firing else "resolved",
        "labels": labels,
        "annotations": annotations,
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
    }
    if fingerprint is not None:
        alert["fingerprint"] = fingerprint
    body = json.dumps({"version": "4", "status": "firing", "alerts": [alert]}).encode()
    [parsed] = parse_payload(body, SEVERITY_MAP, "P2")
    assert isinstance(parsed, ParsedAlert)
    assert parsed.labels == labels
    assert parsed.annotations == annotations
    assert parsed.firing is firing
    assert parsed.starts_at == starts
    assert parsed.ends_at is None
    assert parsed.priority in ("P0", "P1", "P2")
    if fingerprint is not None:
        assert parsed.fingerprint == fingerprint
    # the same alert, sent again (as Alertmanager repeats it), has the same identity
    [again] = parse_payload(body, SEVERITY_MAP, "P2")
    assert isinstance(again, ParsedAlert)
    assert again.fingerprint == parsed.fingerprint
