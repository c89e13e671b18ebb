"""Money, counts and dates as the report prints them: amounts with two decimals and thousands
separators, the currency's symbol where it is unambiguous enough for a client, ISO dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
# Symbols written before the amount; any other currency is written as its ISO code ("CHF 12.00").
SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "JPY": "¥",
    "INR": "₹",
}
MINUS = "\u2212"


def money(amount: Decimal, currency: str) -> str:
    """``2,132.25`` USD as ``$2,132.25``; ``-5`` CHF as ``CHF 5.00`` after a minus sign (U+2212)."""
    rounded = amount.quantize(CENT, ROUND_HALF_UP)
    sign = MINUS if rounded < 0 else ""
    symbol = SYMBOLS.get(currency, f"{currency}\u00a0")
    return f"{sign}{symbol}{abs(rounded):,.2f}"


def amount(value: Decimal) -> str:
    """An amount without its currency, for chart axes and table cells under a currency heading."""
    rounded = value.quantize(CENT, ROUND_HALF_UP)
    return f"{MINUS if rounded < 0 else ''}{abs(rounded):,.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def day(value: date | datetime | None) -> str:
    """ISO date; for a datetime its UTC date."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat()


def plural(number: int, singular: str, plural_form: str | None = None) -> str:
    word = singular if number == 1 else plural_form or singular + "s"
    return f"{count(number)} {word}"
