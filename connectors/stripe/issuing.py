"""Stripe Issuing transactions as card spend, matched to apps by merchant.

``GET /v1/issuing/transactions`` lists captures and refunds of the account's issued cards, newest
first. ``amount`` is in the smallest currency unit and signed from the account's point of view:
**negative for a capture** (money leaving), positive for a refund (VENDOR_APIS.md 4.2). Spend is
therefore ``-amount``: a capture is positive spend and a refund reduces it.

The merchant string (``merchant_data.name``, e.g. "ZOOM.US 888-799-9666") goes through the vendor
catalog. Unmatched merchants in a software category (``merchant_data.category``, a slug such as
``computer_software_stores``; ``category_code`` is the 4-digit MCC) are kept without an app as
shadow-IT candidates; other unmatched merchants (restaurants, travel) are dropped unless
``keep_other_spend`` is set, since nothing in saaswatch reads non-software spend.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import stripe

from collector.catalog import Catalog
from collector.connector import SyncContext
from collector.records import Checkpoint, Record, RowProblem, SpendRecord
from connectors.stripe.client import Call, StripeCalls, pages
from connectors.stripe.settings import StripeSettings
from connectors.stripe.values import (
    FieldError,
    currency,
    day_of,
    major_units,
    mapping,
    required_epoch,
    required_integer,
    required_text,
    text,
)

STREAM = "issuing_transactions"
PATH = "/v1/issuing/transactions"
SHADOW_IT = "shadow-IT candidate (software merchant)"
MAX_MERCHANT_CHARS = 200  # spend_line.merchant


def transaction_spend(
    raw: Any, settings: StripeSettings, catalog: Catalog
) -> tuple[SpendRecord | None, datetime]:
    """The spend of one transaction (None when it is not kept) and its creation time.

    Raises :class:`FieldError` naming the field when the transaction cannot be read.
    """
    if not isinstance(raw, Mapping):
        raise FieldError(f"expected an object, got {type(raw).__name__}")
    txn_id = required_text(raw, "id")
    created = required_epoch(raw, "created")
    amount = required_integer(raw, "amount")
    code = currency(raw)
    merchant = mapping(raw, "merchant_data") or {}
    name = text(merchant, "name")
    url = text(merchant, "url")
    category = text(merchant, "category")
    mcc = text(merchant, "category_code")
    # The descriptor first; the merchant's URL (zoom.us) when the descriptor says nothing useful.
    entry = catalog.match(name) or catalog.match(url)
    # The same text for a capture and its refund (the sign tells them apart), so that analyzers that
    # group a merchant's lines by description see one merchant.
    what = f"card spend, merchant category {category or 'unknown'}" + (f" (MCC {mcc})" if mcc else "")
    if entry is not None:
        app_id: str | None = entry.id
        description = what
    elif _is_software(category, mcc, settings):
        app_id, description = None, f"{SHADOW_IT}; {what}"
    elif settings.keep_other_spend:
        app_id, description = None, f"not software; {what}"
    else:
        return None, created
    record = SpendRecord(
        external_id=txn_id,
        spent_on=day_of(created),
        amount=-major_units(amount, code),
        currency=code.upper(),
        merchant=(name or url or f"unnamed merchant {merchant.get('network_id') or ''}".strip())[
            :MAX_MERCHANT_CHARS
        ],
        app_id=app_id,
        description=description,
        kind="card",
    )
    return record, created


def _is_software(category: str | None, mcc: str | None, settings: StripeSettings) -> bool:
    wanted = settings.software_categories
    return (category is not None and category in wanted) or (mcc is not None and mcc in wanted)


def read_transactions(
    calls: StripeCalls, api: stripe.StripeClient, settings: StripeSettings, ctx: SyncContext
) -> Iterator[Record]:
    """Card spend created since the cursor (with an overlap), a checkpoint after every page.

    The list runs newest first, so the cursor cannot simply move with each page: an interrupted run
    saves where it stopped (``resume_after``, the last transaction id read, and the listing's lower
    bound) and the next run finishes that listing; a complete listing moves ``created_gte`` up to the
    newest transaction seen less ``overlap_minutes``. Re-read transactions are upserted by id.
    """
    cursor = ctx.cursor(STREAM) or {}
    resume_after = cursor.get("resume_after")
    newest = cursor.get("newest") if resume_after else None
    since = cursor.get("created_gte")
    if not isinstance(since, int):
        since = int((ctx.clock() - timedelta(days=settings.initial_days)).timestamp())
    if isinstance(resume_after, str):
        ctx.log.info("stripe issuing: resuming an interrupted listing after %s", resume_after)
    else:
        resume_after = None
    newest = newest if isinstance(newest, int) else None
    call = Call(PATH, {"limit": settings.page_size, "created": {"gte": since}})
    kept = dropped = 0
    listing = pages(
        calls,
        call,
        lambda params: api.v1.issuing.transactions.list(params=params),
        starting_after=resume_after,
    )
    for page in listing:
        where = f"GET {PATH} page {page.number}"
        for index, raw in enumerate(page.items):
            try:
                record, created = transaction_spend(raw, settings, ctx.catalog)
            except FieldError as exc:
                yield RowProblem(where=where, reason=f"data[{index}]{_id_note(raw)}: {exc}")
                continue
            stamp = int(created.timestamp())
            newest = stamp if newest is None else max(newest, stamp)
            if record is None:
                dropped += 1
            else:
                kept += 1
                yield record
        if page.has_more:
            yield Checkpoint(
                STREAM,
                cursor={"created_gte": since, "resume_after": page.last_id, "newest": newest},
            )
            if ctx.stop.is_set():
                return
        else:
            overlap = settings.overlap_minutes * 60
            next_since = since if newest is None else max(since, newest - overlap)
            yield Checkpoint(STREAM, cursor={"created_gte": next_since}, complete=True)
    ctx.log.info("stripe issuing: %d transaction(s) kept as spend, %d not software", kept, dropped)


def _id_note(raw: Any) -> str:
    value = raw.get("id") if isinstance(raw, Mapping) else None
    return f" ({value})" if isinstance(value, str) and value else ""
