"""The stripe connector: Issuing card spend, and an MSP's subscriptions and invoices of this tenant."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import stripe

from collector.connector import Connector, ConnectorSettings, SyncContext
from collector.http import RateLimiter, RateLimiterRegistry, RetryPolicy, VendorHTTPError, limiter_registry
from collector.records import DataKind, Record, RowProblem
from collector.redaction import redactor_for
from connectors.stripe.client import VENDOR, StripeCalls, key_fingerprint
from connectors.stripe.customers import CustomerReader
from connectors.stripe.issuing import PATH as ISSUING_PATH
from connectors.stripe.issuing import read_transactions
from connectors.stripe.settings import StripeSettings


class StripeConnector(Connector):
    """Reads Issuing transactions as card spend and, for MSPs that bill this tenant through Stripe,
    the tenant's subscriptions (billed seats per app and SKU) and invoices (invoice spend).

    Example settings::

        settings:
          api_key_file: /run/secrets/stripe_restricted_key   # rk_live_...
          issuing: true
          customers: [cus_QXg1o8vcGmoR32]
          prices:
            price_1PgafmB7WZ01zgkW6dKueIc5: {app: m365, sku: "Microsoft 365 Business Premium"}
          products:
            prod_QXg1hqf4jFNsqG: {app: slack, sku: "Slack Business+"}
    """

    id = "stripe"
    title = "Stripe Issuing card spend, and subscriptions and invoices an MSP bills"
    settings_model = StripeSettings
    data_kinds = frozenset({DataKind.SPEND, DataKind.BILLING})
    # Restricted-key permissions as the Stripe Dashboard names them, all Read.
    scopes = (
        "Issuing Transactions: Read",
        "Customers: Read",
        "Subscriptions: Read",
        "Invoices: Read",
        "Products: Read",
        "Prices: Read",
    )
    # Every run lists every subscription of the configured customers. Spend is not a snapshot: card
    # transactions are read incrementally and invoices only within invoice_days.
    snapshot_kinds = frozenset({DataKind.BILLING})

    def __init__(
        self,
        settings: ConnectorSettings,
        *,
        http_client: stripe.HTTPClient | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
        limiters: RateLimiterRegistry | None = None,
    ) -> None:
        super().__init__(settings)
        # Injectable so tests run against a fake without waiting; the daemon uses the defaults.
        self._http_client = http_client
        self._retry = retry
        self._sleep = sleep
        self._draw = draw
        self._limiters = limiters

    def sync(self, ctx: SyncContext) -> Iterator[Record]:
        settings = self.settings
        if not isinstance(settings, StripeSettings):
            raise TypeError(f"stripe needs StripeSettings, got {type(settings).__name__}")
        redactor = redactor_for(settings)  # mask the key in every log line and error from here on
        key = settings.api_key.get_secret_value()
        if key.startswith("sk_"):
            ctx.log.warning("stripe: a secret key (sk_...) can write; a read-only restricted key is safer")
        http_client = self._http_client or stripe.RequestsClient(timeout=settings.timeout_seconds)
        api = stripe.StripeClient(
            key,
            base_addresses={"api": settings.api_base.rstrip("/")},
            http_client=http_client,
            max_network_retries=0,  # StripeCalls retries, 429s included (see client.py)
        )
        calls = StripeCalls(
            retry=self._retry or RetryPolicy(max_attempts=settings.max_attempts),
            limiter=self._limiter(settings, key),
            redactor=redactor,
            log=ctx.log,
            sleep=self._sleep,
            draw=self._draw,
        )
        refused: set[str] = set()
        try:
            if settings.issuing:
                yield from _permitted(read_transactions(calls, api, settings, ctx), ISSUING_PATH, refused)
            reader = CustomerReader(calls, api, settings, ctx)
            for customer in settings.customers:
                if ctx.stop.is_set():
                    return
                yield from _permitted(reader.exists(customer), "/v1/customers", refused)
                yield from _permitted(reader.subscriptions(customer), "/v1/subscriptions", refused)
                if ctx.stop.is_set():
                    return
                yield from _permitted(reader.invoices(customer), "/v1/invoices", refused)
        finally:
            if self._http_client is None:
                http_client.close()  # type: ignore[no-untyped-call]  # stripe leaves it unannotated

    def _limiter(self, settings: StripeSettings, key: str) -> RateLimiter:
        # Stripe's limits are per account, and an MSP reads many tenants with one account's key, so
        # the limiter is keyed by the key rather than by the tenant.
        return (self._limiters or limiter_registry()).get(
            f"key-{key_fingerprint(key)}",
            VENDOR,
            rate=settings.requests_per_second,
            burst=max(1, int(settings.requests_per_second)),
        )


def _permitted(records: Iterator[Record], path: str, refused: set[str]) -> Iterator[Record]:
    """``records``, except that a 403 (the restricted key lacks a permission) ends this part of the
    sync with one problem instead of failing the run: the other parts still land."""
    if path in refused:
        return
    try:
        yield from records
    except VendorHTTPError as exc:
        if exc.status != 403:
            raise
        refused.add(path)
        # The message already names the permission to grant (StripeCalls adds it to 403s).
        yield RowProblem(where=f"GET {path}", reason=f"{exc}; the rest of the sync goes on without it")
