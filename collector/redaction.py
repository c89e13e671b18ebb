"""The daemon's use of the shared redactor: every connector's secrets are masked process-wide."""

from __future__ import annotations

from pydantic import BaseModel

from collector.http.redact import Redactor, default_redactor


def redactor_for(settings: BaseModel) -> Redactor:
    """The process-wide redactor, now also knowing the ``SecretStr`` values of ``settings``.

    It is the one the log filter uses, so a secret registered here is masked in every log line too.
    """
    redactor = default_redactor()
    redactor.add_model(settings)
    return redactor
