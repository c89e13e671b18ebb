"""Salesforce ``UserLicense`` records as license pools.

``TotalLicenses`` are the licenses the org has (bought, or included in its edition), ``UsedLicenses``
those held by active users. The pool's SKU is the license's ``Name``, the same value users carry in
``Profile.UserLicense.Name``, so seats and pools meet. Licenses whose ``Status`` is not ``Active``
(``Disabled``, expired) are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collector.records import LicensePoolRecord
from connectors.salesforce import values
from connectors.salesforce.values import FieldError

APP = "salesforce"


def license_pool(raw: Any) -> LicensePoolRecord | None:
    """The pool of one ``UserLicense`` record, or None for a license that is not active."""
    if not isinstance(raw, Mapping):
        raise FieldError(f"expected a record, got {values.show(raw)}")
    name = values.text(raw, "Name") or values.text(raw, "MasterLabel")
    if name is None:
        raise FieldError("Name: missing")
    status = values.text(raw, "Status")
    if status is not None and status != "Active":
        return None
    return LicensePoolRecord(
        app_id=APP,
        sku=name,
        seats_purchased=values.count(raw, "TotalLicenses"),
        seats_assigned=values.count(raw, "UsedLicenses"),
    )
