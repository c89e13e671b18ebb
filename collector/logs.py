"""Logging set-up: one line per event, tenant and connector when known, secrets always masked."""

from __future__ import annotations

import logging
import sys

from collector.http.redact import RedactingFilter, default_redactor

CONTEXT_FIELDS = ("tenant", "connector", "run_id")


class ContextFormatter(logging.Formatter):
    """Appends ``tenant=… connector=…`` from a record's ``extra`` so every line says what it is about."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{f}={getattr(record, f)}" for f in CONTEXT_FIELDS if hasattr(record, f))
        return f"{line} [{context}]" if context else line


class SaaswatchHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs (a type of its own so it is installed once)."""


def configure_logging(level: str = "INFO") -> None:
    """Log saaswatch (and httpx, whose request lines carry URLs) to stderr through the redacting filter."""
    logging.getLogger("saaswatch").setLevel(level)
    logging.getLogger("httpx").setLevel(max(logging.getLevelName(level), logging.WARNING))
    root = logging.getLogger()
    if any(isinstance(h, SaaswatchHandler) for h in root.handlers):
        return
    handler = SaaswatchHandler(sys.stderr)
    handler.setFormatter(ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(default_redactor()))
    root.addHandler(handler)
