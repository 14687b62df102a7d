"""Small server-rendered SVG charts (no JavaScript, no external library)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

COLOURS = {"P0": "#d62728", "P1": "#f28e2b", "P2": "#4e79a7"}


@dataclass(frozen=True)
class HourBucket:
    start: datetime
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def stacked_hours(buckets: list[HourBucket], width: int = 720, height: int = 150) -> Markup:
    """Incidents opened per hour, stacked by priority, oldest hour on the left."""
    top = max([b.total for b in buckets] + [1])
    pad_left, pad_bottom, pad_top = 26, 18, 8
    plot_h = height - pad_bottom - pad_top
    slot = (width - pad_left) / max(len(buckets), 1)
    total = sum(b.total for b in buckets)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Incidents opened per hour, last {len(buckets)} hours: {total} in all" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{pad_left}" y1="{height - pad_bottom}" x2="{width}" '
        f'y2="{height - pad_bottom}" class="axis"/>',
        f'<text x="{pad_left - 4}" y="{pad_top + 8}" class="tick" text-anchor="end">{top}</text>',
        f'<text x="{pad_left - 4}" y="{height - pad_bottom}" class="tick" text-anchor="end">0</text>',
    ]
    for index, bucket in enumerate(buckets):
        x = pad_left + index * slot + 1
        y = float(height - pad_bottom)
        label = escape(
            f"{bucket.start:%H:00}: "
            + ", ".join(f"{p} {n}" for p, n in sorted(bucket.counts.items()) if n)
            if bucket.total
            else f"{bucket.start:%H:00}: none"
        )
        parts.append(f"<g><title>{label}</title>")
        for priority in ("P2", "P1", "P0"):
            count = bucket.counts.get(priority, 0)
            if not count:
                continue
            bar = plot_h * count / top
            y -= bar
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" '
                f'height="{bar:.1f}" fill="{COLOURS[priority]}"/>'
            )
        parts.append("</g>")
        if index % 6 == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 3}" class="tick">{bucket.start:%H:00}</text>'
            )
    parts.append("</svg>")
    # Every value above is a number or escape()d text: the markup is ours.
    return Markup("".join(parts))  # nosec B704
