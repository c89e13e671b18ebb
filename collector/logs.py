"""Logging set-up: one line per event, tenant and connector when known, secrets always masked."""

from __future__ import annotations

import logging
import sys

from collector.redaction import RedactingFilter

CONTEXT_FIELDS = ("tenant", "connector", "run_id")


class ContextFormatter(logging.Formatter):
    """Appends ``tenant=… connector=…`` from a record's ``extra`` so every line says what it is about."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{f}={getattr(record, f)}" for f in CONTEXT_FIELDS if hasattr(record, f))
        return f"{line} [{context}]" if context else line


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger("saaswatch")
    root.setLevel(level)
    if any(getattr(h, "_saaswatch", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._saaswatch = True  # type: ignore[attr-defined]
    handler.setFormatter(ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.propagate = False
