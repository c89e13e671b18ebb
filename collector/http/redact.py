"""Masking secrets in log lines, exception messages and URLs.

A :class:`Redactor` masks two things: secret values it has been told about (settings' ``SecretStr``
fields, tokens obtained at runtime, credentials an auth hook put in a header), and text that looks
like a credential whatever its value (``Authorization`` headers, ``Bearer``/``SSWS`` schemes,
``access_token=`` style parameters, vendor key formats such as ``xoxb-`` or ``sk_live_``).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, SecretBytes, SecretStr

MASK = "***"

# Shorter "secrets" would mask ordinary words all over every message (and are not secret anyway).
MIN_SECRET_LENGTH = 4

# Header names whose values are credentials.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)

_SENSITIVE_KEYS = (
    r"access_token|refresh_token|id_token|token|client_secret|client_assertion|assertion"
    r"|api[_-]?key|apikey|password|passwd|private_key|secret"
)

# Each pattern keeps group 1 (the label) and masks the rest of the match.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Header lines and header-like dict entries: mask to the end of the quoted value or the line.
    re.compile(
        r"(?i)((?<![\w-])(?:" + "|".join(re.escape(h) for h in sorted(SENSITIVE_HEADERS)) + r")"
        r"[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n]+"
    ),
    # Credential schemes as sent in Authorization headers (Okta SSWS, OAuth Bearer, DPoP, Basic).
    re.compile(r"(\b(?:Bearer|SSWS|DPoP|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # key=value in query strings and form bodies, "key": "value" in JSON; not page tokens such as
    # next_page_token, which the look-behind leaves alone.
    re.compile(r"(?i)((?<![\w-])(?:" + _SENSITIVE_KEYS + r")[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,;{}\[\]]+"),
    # Passwords in URL userinfo.
    re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?=@)"),
    # Vendor key formats: Stripe secret/restricted keys and webhook secrets, Slack bot/user/app
    # tokens, GitHub tokens, Atlassian API tokens, Google OAuth access tokens, JWTs.
    re.compile(r"(\b(?:sk|rk)_(?:live|test)_)[A-Za-z0-9]{8,}"),
    re.compile(r"(\bwhsec_)[A-Za-z0-9+/=]{8,}"),
    re.compile(r"(\bxox[abeoprs]-)[A-Za-z0-9-]{8,}"),
    re.compile(r"(\bxapp-)[A-Za-z0-9-]{8,}"),
    re.compile(r"(\bgh[pousr]_)[A-Za-z0-9]{20,}"),
    re.compile(r"(\bgithub_pat_)[A-Za-z0-9_]{20,}"),
    re.compile(r"(\bATATT)[A-Za-z0-9_=-]{20,}"),
    re.compile(r"(\bya29\.)[A-Za-z0-9_-]{20,}"),
    re.compile(r"(\beyJ)[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
)


class Redactor:
    """Masks known secret values and credential-looking text. Safe to share between threads."""

    def __init__(self, secrets: Iterable[str | SecretStr] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._known: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str | SecretStr | SecretBytes | None) -> None:
        """Remember secret values; they are masked from now on, also in their URL-encoded forms."""
        new: set[str] = set()
        for secret in secrets:
            value = _plain(secret)
            if value is None or len(value) < MIN_SECRET_LENGTH:
                continue
            # A secret in a query string or form body shows up percent-encoded (httpx encodes query
            # values like quote_plus), so its encoded forms are secrets too.
            new.update({value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)})
        if new <= self._secrets:
            return
        with self._lock:
            # Rebound, never mutated: the subset check above reads it without the lock.
            self._secrets = self._secrets | new
            # Longest first, so a secret that contains another is masked whole.
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._known = re.compile("|".join(re.escape(s) for s in alternatives))

    def add_header(self, value: str) -> None:
        """Remember a credential header value, and its credential part after a scheme (``Bearer x``)."""
        self.add(value, value.partition(" ")[2].strip() or None)

    def add_model(self, model: BaseModel) -> None:
        """Remember every ``SecretStr``/``SecretBytes`` value in a settings model, nested ones too."""
        for value in model.__dict__.values():
            self._add_nested(value)

    def _add_nested(self, value: object) -> None:
        if isinstance(value, SecretStr | SecretBytes):
            self.add(value)
        elif isinstance(value, BaseModel):
            self.add_model(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                self._add_nested(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                self._add_nested(item)

    def redact(self, text: str) -> str:
        """``text`` with every known secret and credential-looking value replaced by ``***``."""
        known = self._known
        if known is not None:
            text = known.sub(MASK, text)
        for pattern in _PATTERNS:
            text = pattern.sub(rf"\g<1>{MASK}", text)
        return text


def _plain(secret: str | SecretStr | SecretBytes | None) -> str | None:
    if isinstance(secret, SecretStr):
        return secret.get_secret_value()
    if isinstance(secret, SecretBytes):
        return secret.get_secret_value().decode(errors="replace")
    return secret


class RedactingFilter(logging.Filter):
    """Redacts log records of the given logger namespaces, message, arguments and traceback alike.

    Attach it to handlers: a filter on a logger does not see records of that logger's children.
    Besides ``saaswatch`` it covers ``httpx`` and ``httpcore`` by default, because httpx logs every
    request URL at INFO, query string (and any token in it) included.
    """

    def __init__(
        self, redactor: Redactor, namespaces: Iterable[str] = ("saaswatch", "httpx", "httpcore")
    ) -> None:
        super().__init__()
        self._redactor = redactor
        self._namespaces = tuple(namespaces)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place with its text redacted; never drops a record."""
        if not any(record.name == ns or record.name.startswith(ns + ".") for ns in self._namespaces):
            return True
        record.msg = self._redactor.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set, so the traceback is rendered (and redacted) once here.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        return True


@functools.cache
def default_redactor() -> Redactor:
    """The process-wide redactor: clients register runtime tokens in it, the daemon's log filter uses it."""
    return Redactor()
