"""Reading single fields of Stripe objects, and Stripe's integer money, each failure naming the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_SHOWN_CHARS = 40
CURRENCY = re.compile(r"[a-zA-Z]{3}")

# Stripe amounts are integers in the currency's smallest unit (docs.stripe.com/currencies#minor-units).
# Zero-decimal currencies count whole units: 1000 JPY is amount 1000, not 100000.
ZERO_DECIMAL = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
# Three-decimal currencies count thousandths (Stripe asks for the last digit to be 0).
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
# ISK has only whole krónur since 2023, but "ISK will remain a two-decimal currency in the Stripe API"
# (support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds): ISK 5 is amount
# 500, so it is not in ZERO_DECIMAL. HUF and TWD are two-decimal in the API as well.


class FieldError(ValueError):
    """A field of a Stripe object is missing or malformed; the message names the field."""


def show(value: object) -> str:
    """A value quoted for a problem message, cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def mapping(item: Mapping[str, Any], field: str) -> Mapping[str, Any] | None:
    value = item.get(field)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise FieldError(f"{field}: expected an object, got {show(value)}")
    return value


def text(item: Mapping[str, Any], field: str) -> str | None:
    """A string field, stripped; absent, null and "" read as None."""
    value = item.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(f"{field}: expected a string, got {show(value)}")
    return value.strip() or None


def required_text(item: Mapping[str, Any], field: str) -> str:
    value = text(item, field)
    if value is None:
        raise FieldError(f"{field}: missing")
    return value


def object_id(item: Mapping[str, Any], field: str) -> str | None:
    """An expandable field: the id string, or the ``id`` of the object when it was expanded."""
    value = item.get(field)
    if isinstance(value, Mapping):
        return text(value, "id")
    return text(item, field)


def integer(item: Mapping[str, Any], field: str) -> int | None:
    value = item.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"{field}: expected an integer, got {show(value)}")
    return value


def required_integer(item: Mapping[str, Any], field: str) -> int:
    value = integer(item, field)
    if value is None:
        raise FieldError(f"{field}: missing")
    return value


def decimal(item: Mapping[str, Any], field: str) -> Decimal | None:
    """A decimal string such as ``unit_amount_decimal`` ("2000.5"); stripe-python may hand it over
    already as a Decimal."""
    value = item.get(field)
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise FieldError(f"{field}: not a number: {show(value)}") from None
        if parsed.is_finite():
            return parsed
    raise FieldError(f"{field}: not a number: {show(value)}")


def epoch(item: Mapping[str, Any], field: str) -> datetime | None:
    """A Unix timestamp (Stripe's only time format) as aware UTC."""
    value = integer(item, field)
    if value is None:
        return None
    if value < 0:
        raise FieldError(f"{field}: not a time: {show(value)}")
    return datetime.fromtimestamp(value, UTC)


def required_epoch(item: Mapping[str, Any], field: str) -> datetime:
    value = epoch(item, field)
    if value is None:
        raise FieldError(f"{field}: missing")
    return value


def currency(item: Mapping[str, Any], field: str = "currency") -> str:
    """Stripe's lower-case ISO code, checked; kept lower-case for :func:`major_units`."""
    value = required_text(item, field)
    if not CURRENCY.fullmatch(value):
        raise FieldError(f"{field}: not a three-letter currency code: {show(value)}")
    return value.lower()


def exponent(code: str) -> int:
    """How many decimals Stripe's integer amounts of ``code`` carry."""
    code = code.lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def major_units(amount: int | Decimal, code: str) -> Decimal:
    """An amount in the smallest unit of ``code`` as a decimal of whole units: 1999 USD -> 19.99."""
    return Decimal(amount).scaleb(-exponent(code))


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()
