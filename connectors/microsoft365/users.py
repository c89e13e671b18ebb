"""``GET /v1.0/users``: people, their Microsoft 365 accounts and licenses, and their last sign-in.

With Entra ID P1 or P2, ``signInActivity`` says when each user last signed in. A tenant without it
answers 403 ``Authentication_RequestFromNonPremiumTenantOrB2CTenant`` as soon as signInActivity is
selected (VENDOR_APIS.md 2.3); the listing then starts over without it and activity has to come from
the usage report (report.py). Any other 403 there (no AuditLog.Read.All) does the same, with a problem.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collector.http import BodyUrlPaginator, VendorClient, VendorHTTPError, paginate
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    Checkpoint,
    IdpStatus,
    PersonRecord,
    Record,
    RowProblem,
    SeatRecord,
    normalise_email,
)
from connectors.microsoft365.graph import values
from connectors.microsoft365.values import BadValue, graph_time, is_email, shown

APP = "m365"
PATH = "/v1.0/users"
STREAM = "users"
NON_PREMIUM = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"

FIELDS = ",".join(
    (
        "id",
        "userPrincipalName",
        "mail",
        "displayName",
        "accountEnabled",
        "department",
        "assignedLicenses",
        "createdDateTime",
        "userType",
    )
)
# Graph caps a page at 999 users, and at 500 when signInActivity is selected (VENDOR_APIS.md 2.3);
# it may send fewer, so the connector always follows @odata.nextLink and never counts pages.
TOP = 999
TOP_WITH_SIGN_IN = 500

# lastSuccessfulSignInDateTime is preferred; it exists since December 2023 and is not backfilled, so
# older sign-ins only show in the other two, which count failed attempts too.
SUCCESS_FIELD = "lastSuccessfulSignInDateTime"
ATTEMPT_FIELDS = ("lastSignInDateTime", "lastNonInteractiveSignInDateTime")


@dataclass
class Directory:
    """What later streams need from the users read: e-mail by user id and by UPN (lower case)."""

    by_id: dict[str, str] = field(default_factory=dict)
    by_upn: dict[str, str] = field(default_factory=dict)
    with_sign_in: bool = True  # the listing carried signInActivity (the tenant has Entra ID P1/P2)


def read_users(
    client: VendorClient,
    sku_names: Mapping[str, str],
    *,
    idp_status: bool,
    stop: threading.Event,
    log: logging.Logger,
) -> Generator[Record, None, Directory]:
    """Yield each page of users as records and a checkpoint; return the directory for later streams."""
    directory = Directory()
    try:
        yield from _pages(client, directory, sku_names, idp_status, stop)
    except VendorHTTPError as exc:
        if exc.status != 403:
            raise
        if exc.vendor_code == NON_PREMIUM:
            log.info("the tenant has no Entra ID P1/P2 (no signInActivity); reading users without it")
        else:
            # Most likely AuditLog.Read.All is missing; people and seats stand without sign-ins.
            yield RowProblem(
                f"GET {PATH}",
                f"{exc}; signInActivity needs the AuditLog.Read.All application permission: "
                "users were read without sign-ins",
            )
        # Pages already yielded are yielded again without activity: upserts make that harmless.
        directory = Directory(with_sign_in=False)
        yield from _pages(client, directory, sku_names, idp_status, stop)
    return directory


def _pages(
    client: VendorClient,
    directory: Directory,
    sku_names: Mapping[str, str],
    idp_status: bool,
    stop: threading.Event,
) -> Iterator[Record]:
    if directory.with_sign_in:
        url = f"{PATH}?$select={FIELDS},signInActivity&$top={TOP_WITH_SIGN_IN}"
    else:
        url = f"{PATH}?$select={FIELDS}&$top={TOP}"
    for page in paginate(client, url, BodyUrlPaginator("@odata.nextLink"), items=values):
        for raw in page.items:
            user = UserReader(raw, f"GET {PATH} page {page.number}", directory.with_sign_in)
            records = user.records(sku_names, idp_status)
            yield from records
            if not isinstance(records[0], RowProblem) and user.email is not None and user.id is not None:
                directory.by_id[user.id] = user.email
                directory.by_upn[user.upn.lower()] = user.email
        yield Checkpoint(STREAM, complete=page.next_url is None)
        if stop.is_set():
            return


class UserReader:
    """One Graph user, read field by field. Every fault is collected; a user with any fault yields
    only one RowProblem naming them all (as csv_import does with a row): half a user would record,
    say, a seat without the sign-in that shows it is used."""

    def __init__(self, raw: Any, page: str, with_sign_in: bool) -> None:
        self.raw: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        self.with_sign_in = with_sign_in
        user_id = self.raw.get("id")
        self.id = user_id if isinstance(user_id, str) and user_id else None
        self.where = f"{page}, user {self.id}" if self.id else f"{page}, a user without id"
        upn = self.raw.get("userPrincipalName")
        self.upn = upn.strip() if isinstance(upn, str) else ""
        self.email = self._email()
        self.errors: list[str] = []

    def _email(self) -> str | None:
        # Other sources know people by their primary SMTP address (mail); the UPN is the sign-in
        # name and the fallback, e.g. for accounts without a mailbox.
        mail = self.raw.get("mail")
        if is_email(mail):
            return normalise_email(mail)
        if is_email(self.upn):
            return normalise_email(self.upn)
        return None

    def records(self, sku_names: Mapping[str, str], idp_status: bool) -> list[Record]:
        if not self.raw:
            return [RowProblem(self.where, "not a user object")]
        if self.id is None:
            return [RowProblem(self.where, "id: missing")]
        if self.email is None:
            return [RowProblem(self.where, f"userPrincipalName: not an e-mail address: {shown(self.upn)}")]
        created = self._time("createdDateTime", self.raw.get("createdDateTime"))
        enabled = self.raw.get("accountEnabled")
        status = None
        if idp_status and isinstance(enabled, bool):
            status = IdpStatus.ACTIVE if enabled else IdpStatus.SUSPENDED
        records: list[Record] = [
            PersonRecord(
                email=self.email,
                display_name=_text(self.raw.get("displayName")),
                status=status,
                department=_text(self.raw.get("department")),
                created_at=created,
            ),
            AccountRecord(
                app_id=APP,
                external_id=self.id,
                email=self.email,
                # The admin center's word for accountEnabled false, as in csv_import's M365 export.
                status="blocked" if enabled is False else "active",
                created_at=created,
                kind="guest" if str(self.raw.get("userType") or "").lower() == "guest" else "user",
            ),
        ]
        records += [
            SeatRecord(app_id=APP, sku=sku, account_external_id=self.id) for sku in self._skus(sku_names)
        ]
        if self.with_sign_in:
            records += self._sign_in(self.email)
        if self.errors:
            return [RowProblem(self.where, "; ".join(self.errors))]
        return records

    def _skus(self, sku_names: Mapping[str, str]) -> list[str]:
        licenses = self.raw.get("assignedLicenses") or []
        if not isinstance(licenses, list):
            self.errors.append("assignedLicenses: not a list")
            return []
        names = []
        for entry in licenses:
            sku_id = entry.get("skuId") if isinstance(entry, Mapping) else None
            name = sku_names.get(sku_id) if isinstance(sku_id, str) else None
            if name is None:
                # A SKU bought between the two reads; the next run will know it.
                self.errors.append(f"assignedLicenses: skuId {sku_id!r} is not in subscribedSkus")
            else:
                names.append(name)
        return names

    def _sign_in(self, email: str) -> list[ActivityRecord]:
        # No signInActivity key at all: Graph said nothing about this user, so neither do we.
        if "signInActivity" not in self.raw:
            return []
        activity = self.raw["signInActivity"]
        if activity is None:
            # Selected and null: Graph has no sign-in on record (it keeps them since April 2020).
            return [ActivityRecord(email, APP, None, ActivitySource.IDP_SIGNIN)]
        if not isinstance(activity, Mapping):
            self.errors.append("signInActivity: not an object")
            return []
        return [ActivityRecord(email, APP, self._last_sign_in(activity), ActivitySource.IDP_SIGNIN)]

    def _last_sign_in(self, activity: Mapping[str, Any]) -> datetime | None:
        """The last successful sign-in, else the latest attempt; None when none is recorded."""
        success = self._time(f"signInActivity.{SUCCESS_FIELD}", activity.get(SUCCESS_FIELD))
        if success is not None:
            return success
        attempts = [self._time(f"signInActivity.{f}", activity.get(f)) for f in ATTEMPT_FIELDS]
        return max((t for t in attempts if t is not None), default=None)

    def _time(self, name: str, raw: Any) -> datetime | None:
        try:
            return graph_time(raw, name)
        except BadValue as exc:
            self.errors.append(str(exc))
            return None


def _text(raw: Any) -> str | None:
    return (raw.strip() or None) if isinstance(raw, str) else None
