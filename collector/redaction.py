"""TEMPORARY adapter; replaced by collector.http redaction."""
from __future__ import annotations

from pydantic import BaseModel, SecretStr


class _Redactor:
    def __init__(self, secrets: list[str]) -> None:
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text


def redactor_for(settings: BaseModel) -> _Redactor:
    return _Redactor([v.get_secret_value() for v in settings.__dict__.values() if isinstance(v, SecretStr)])


import logging


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return True
