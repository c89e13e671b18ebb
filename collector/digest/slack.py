"""The digest as a Slack incoming-webhook message: Block Kit blocks plus a ``text`` fallback.

Slack shows ``text`` in notifications and where blocks cannot be drawn. Limits that shape the
layout (docs.slack.dev/reference/block-kit/blocks): 50 blocks a message, 150 characters in a header,
3000 in a section's text, 10 fields of 2000 in a section. ``&``, ``<`` and ``>`` must be escaped in
mrkdwn text, or Slack reads them as links and mentions.
"""

from __future__ import annotations

from typing import Any

from collector.digest import render
from collector.digest.content import Digest

MAX_HEADER = 150
MAX_TEXT = 3000


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _cut(text, MAX_TEXT)}


def _field(label: str, value: str) -> dict[str, Any]:
    return _mrkdwn(f"*{escape(label)}*\n{escape(value)}")


def slack_payload(digest: Digest) -> dict[str, Any]:
    currency = digest.currency
    fields = [
        _field("Monthly waste", render.money(digest.monthly_waste, currency)),
        _field("Annual waste", render.money(digest.annual_waste, currency)),
        _field("Open findings", str(digest.open_findings)),
        _field("Change since the last digest", render.signed_change(digest)),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(render.title(digest), MAX_HEADER)}},
        {"type": "context", "elements": [_mrkdwn(escape(render.period(digest)))]},
        {"type": "section", "fields": fields},
        {"type": "section", "text": _mrkdwn("\n".join(escape(line) for line in render.summary(digest)))},
    ]
    for section in render.sections(digest):
        blocks.append({"type": "divider"})
        blocks.append({"type": "section", "text": _mrkdwn(f"*{escape(section.heading)}*")})
        if section.numbered:
            # One block per finding keeps each under the text limit whatever the titles' length.
            for rank, (lead, details) in enumerate(section.entries, start=1):
                text = "\n".join([f"*{rank}. {escape(lead)}*", *(escape(d) for d in details)])
                blocks.append({"type": "section", "text": _mrkdwn(text)})
        elif section.entries:
            lines = []
            for lead, details in section.entries:
                lines.append(f"• {escape(lead)}")
                lines += [f"    _{escape(d)}_" for d in details]
            blocks.append({"type": "section", "text": _mrkdwn("\n".join(lines))})
    blocks.append({"type": "context", "elements": [_mrkdwn(escape(render.footer(digest)))]})
    return {"text": render.fallback_text(digest), "blocks": blocks}
