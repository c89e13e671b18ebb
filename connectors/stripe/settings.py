"""Settings of the stripe connector: a read-only key, what to read, and how Stripe billing maps to apps."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from collector.connector import ConnectorSettings

APP_ID = r"^[a-z0-9][a-z0-9_.-]*$"

# Merchant categories whose unmatched merchants are kept as shadow-IT candidates: the Stripe slug
# (merchant_data.category) and its MCC (merchant_data.category_code), docs.stripe.com/issuing/categories.
# Left out on purpose: digital_goods_media (5815, books/music/video), digital_goods_games (5816),
# computers_peripherals_and_software (5045, mostly hardware), computer_repair (7379) and
# miscellaneous_business_services (7399, far too broad); add them in settings if you want them.
SOFTWARE_CATEGORIES: tuple[str, ...] = (
    "computer_software_stores",  # 5734
    "digital_goods_applications",  # 5817: SaaS and downloadable applications
    "digital_goods_large_volume",  # 5818: app stores and big digital merchants
    "computer_programming",  # 7372: programming, data processing, integrated systems design
    "information_retrieval_services",  # 7375: online databases and information services
    "computer_network_services",  # 4816: hosting, cloud and network services
    "5734",
    "5817",
    "5818",
    "7372",
    "7374",  # data processing services: no Stripe slug of its own, so only by code
    "7375",
    "4816",
)


class BilledAs(BaseModel):
    """The app and SKU a Stripe price (or product) stands for; the SKU must be the vendor's SKU name
    as the seat sources report it (e.g. "Microsoft 365 Business Premium") for reconciliation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app: str = Field(pattern=APP_ID)
    sku: str = Field(min_length=1)


class StripeSettings(ConnectorSettings):
    """A restricted (rk_...) key with read permissions, and which parts of the account to read.

    ``issuing`` reads Issuing card transactions as card spend. ``customers`` (an MSP's Stripe
    customers that are this tenant) turns on billing: their subscriptions become billed items and
    their invoices invoice spend, mapped to apps through ``prices`` and ``products``.
    """

    # A mistyped key must not come back in a validation error (the config loader leaves inputs out
    # already; this covers anyone validating settings by hand).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    api_key: SecretStr
    # Where the Stripe API lives; tests point it at a fake.
    api_base: str = "https://api.stripe.com"
    issuing: bool = True
    # The first run reads this many days of card transactions; later runs only what is new.
    initial_days: int = Field(default=400, ge=1, le=3650)
    # Later runs re-read this far before the newest transaction seen, in case Stripe lists one late.
    overlap_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    software_categories: tuple[str, ...] = SOFTWARE_CATEGORIES
    # Keep card spend at merchants that are neither a known app nor software (restaurants, travel)?
    # Off by default: saaswatch is about software spend, and such lines would only be noise.
    keep_other_spend: bool = False

    customers: tuple[str, ...] = ()
    prices: dict[str, BilledAs] = {}  # price_... -> app and SKU
    products: dict[str, BilledAs] = {}  # prod_... -> app and SKU, for every price of the product
    # Prices and products that are not software licenses (setup fees, managed services): not reported.
    ignore_prices: tuple[str, ...] = ()
    ignore_products: tuple[str, ...] = ()
    # Invoices created this many days back are read (in full) on every run.
    invoice_days: int = Field(default=400, ge=1, le=3650)

    page_size: int = Field(default=100, ge=1, le=100)  # Stripe's maximum
    # Stripe allows 100 read requests a second in live mode and 25 in a sandbox, per account.
    requests_per_second: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=10)  # tries per request, the first included
    timeout_seconds: float = Field(default=60.0, gt=0)

    @field_validator("api_key")
    @classmethod
    def _key_shape(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value().strip()
        if not key.startswith(("rk_", "sk_")):
            # The value is not quoted: a pasted secret must not end up in a config error.
            raise ValueError("expected a Stripe API key: a restricted key rk_live_... or rk_test_...")
        return SecretStr(key)

    @field_validator("customers")
    @classmethod
    def _customer_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for customer in value:
            if not customer.startswith("cus_"):
                raise ValueError(f"{customer!r} is not a Stripe customer id (cus_...)")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _something_to_read(self) -> StripeSettings:
        if not self.issuing and not self.customers:
            raise ValueError("nothing to read: set issuing: true or list customers")
        # Price and product ids are not checked for a prefix: legacy plans and products created
        # with an explicit id can be called anything.
        return self

    def billed_as(self, price_id: str | None, product_id: str | None) -> BilledAs | None:
        """The configured app and SKU of a price, else of its product."""
        if price_id and price_id in self.prices:
            return self.prices[price_id]
        if product_id and product_id in self.products:
            return self.products[product_id]
        return None

    def ignored(self, price_id: str | None, product_id: str | None) -> bool:
        return (price_id or "") in self.ignore_prices or (product_id or "") in self.ignore_products
