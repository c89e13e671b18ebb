"""The one error a digest channel raises."""

from __future__ import annotations


class DeliveryError(Exception):
    """A channel could not deliver the digest. The message names the channel's host, never its secret
    URL or password, and says what to do when the cause is known."""
