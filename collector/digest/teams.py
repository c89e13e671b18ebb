"""The digest for Microsoft Teams: an Adaptive Card for a Workflows webhook, or a MessageCard for a
legacy Office 365 connector.

A Teams Workflows flow started by "When a Teams webhook request is received" posts the cards it
finds in a message envelope, ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}``; Workflows accept Adaptive Cards
only (learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using).
Card version 1.4 renders on Teams desktop, web and mobile. The Office 365 connector "Incoming
Webhook", which Microsoft is retiring, takes the older MessageCard JSON instead.
"""

from __future__ import annotations

from typing import Any

from collector.digest import render
from collector.digest.content import Digest

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"
THEME_COLOUR = "D9534F"  # the MessageCard's accent stripe


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def adaptive_card(digest: Digest) -> dict[str, Any]:
    currency = digest.currency
    body: list[dict[str, Any]] = [
        _text(render.title(digest), size="Large", weight="Bolder"),
        _text(render.period(digest), isSubtle=True, spacing="None"),
        {
            "type": "FactSet",
            "facts": [
                {"title": "Monthly waste", "value": render.money(digest.monthly_waste, currency)},
                {"title": "Annual waste", "value": render.money(digest.annual_waste, currency)},
                {"title": "Open findings", "value": str(digest.open_findings)},
                {"title": "Change since the last digest", "value": render.signed_change(digest)},
            ],
        },
        *(_text(line, spacing="Small") for line in render.summary(digest)),
    ]
    for section in render.sections(digest):
        body.append(_text(section.heading, weight="Bolder", size="Medium", separator=True, spacing="Medium"))
        for rank, (lead, details) in enumerate(section.entries, start=1):
            body.append(
                _text(f"{rank}. {lead}" if section.numbered else lead, weight="Bolder", spacing="Small")
            )
            body += [_text(detail, isSubtle=True, spacing="None") for detail in details]
    body.append(_text(render.footer(digest), isSubtle=True, size="Small", separator=True))
    return {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }


def workflow_payload(digest: Digest) -> dict[str, Any]:
    """The message envelope a Teams Workflows webhook expects, holding one Adaptive Card."""
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": adaptive_card(digest)}],
    }


def message_card(digest: Digest) -> dict[str, Any]:
    """The legacy Office 365 connector format (MessageCard); ``summary`` is required by Teams."""
    currency = digest.currency
    sections: list[dict[str, Any]] = [
        {
            "activityTitle": render.period(digest),
            "facts": [
                {"name": "Monthly waste", "value": render.money(digest.monthly_waste, currency)},
                {"name": "Annual waste", "value": render.money(digest.annual_waste, currency)},
                {"name": "Open findings", "value": str(digest.open_findings)},
                {"name": "Change since the last digest", "value": render.signed_change(digest)},
            ],
            "text": "\n\n".join(render.summary(digest)),
        }
    ]
    for section in render.sections(digest):
        lines = []
        for rank, (lead, details) in enumerate(section.entries, start=1):
            lines.append(f"**{rank}. {lead}**" if section.numbered else f"**{lead}**")
            lines += details
        sections.append({"title": section.heading, "text": "\n\n".join(lines) or " "})
    sections.append({"text": render.footer(digest)})
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": render.fallback_text(digest),
        "themeColor": THEME_COLOUR,
        "title": render.title(digest),
        "sections": sections,
    }


def teams_payload(digest: Digest, card_format: str) -> dict[str, Any]:
    return message_card(digest) if card_format == "message_card" else workflow_payload(digest)
