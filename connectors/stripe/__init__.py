"""stripe: Issuing card spend and an MSP's Stripe billing of the tenant; see docs/connectors/stripe.md."""

from connectors.stripe.connector import StripeConnector

__all__ = ["StripeConnector"]
