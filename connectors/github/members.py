"""Organization members and outside collaborators as accounts holding seats of the plan.

``GET /orgs/{org}/members`` (``role=admin`` for owners) and ``GET /orgs/{org}/outside_collaborators``
list simple users (``login``, ``id``, ``type``, ``site_admin``), ``Link`` header paging, at most 100 a
page. They carry no e-mail address and no activity: addresses come from the ``emails`` setting, and
activity in GitHub itself from the identity provider's SSO sign-ins.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from collector.http import LinkHeaderPaginator, VendorClient, paginate
from collector.records import AccountRecord, Checkpoint, Record, RowProblem, SeatRecord
from connectors.github import values
from connectors.github.client import VENDOR, GitHubShapeError
from connectors.github.settings import GitHubSettings
from connectors.github.values import FieldError

APP = "github"
NEXT_LINK = LinkHeaderPaginator()


@dataclass
class Roster:
    """Who was listed, for the end-of-run summary."""

    listed: int = 0
    without_email: list[str] = field(default_factory=list)


def read_admins(client: VendorClient, settings: GitHubSettings, stop: threading.Event) -> set[str] | None:
    """The logins of the organization's owners (None if stopped)."""
    admins: set[str] = set()
    path = f"orgs/{settings.org}/members"
    for page in paginate(
        client, path, NEXT_LINK, items=_users_of, params={"role": "admin", "per_page": settings.per_page}
    ):
        admins |= {
            u["login"] for u in page.items if isinstance(u, Mapping) and isinstance(u.get("login"), str)
        }
        if stop.is_set():
            return None
    return admins


def read_accounts(
    client: VendorClient,
    settings: GitHubSettings,
    listing: str,
    sku: str | None,
    admins: set[str],
    stop: threading.Event,
) -> Generator[Record, None, Roster | None]:
    """Yield the accounts (and seats) of ``listing`` (``members`` or ``outside_collaborators``)."""
    guest = listing == "outside_collaborators"
    path = f"orgs/{settings.org}/{listing}"
    roster = Roster()
    for page in paginate(client, path, NEXT_LINK, items=_users_of, params={"per_page": settings.per_page}):
        where = f"GET /{path} page {page.number}"
        for index, raw in enumerate(page.items):
            try:
                login, records = _account(raw, settings, sku, admins, guest)
            except FieldError as exc:
                yield RowProblem(where=where, reason=f"[{index}]{_login_of(raw)}: {exc}")
                continue
            roster.listed += 1
            if settings.email_of(login) is None:
                roster.without_email.append(login)
            yield from records
        yield Checkpoint(listing, complete=page.next_url is None)
        if stop.is_set():
            return None
    return roster


def _account(
    raw: Any, settings: GitHubSettings, sku: str | None, admins: set[str], guest: bool
) -> tuple[str, list[Record]]:
    if not isinstance(raw, Mapping):
        raise FieldError(f"expected an object, got {values.show(raw)}")
    login = values.required_text(raw, "login")
    kind = "guest" if guest else "bot" if values.text(raw, "type") == "Bot" else "user"
    records: list[Record] = [
        AccountRecord(
            app_id=APP,
            external_id=login,
            email=settings.email_of(login),
            status="active",
            is_admin=login in admins,
            kind=kind,
        )
    ]
    if sku is not None:
        records.append(SeatRecord(app_id=APP, sku=sku, account_external_id=login))
    return login, records


def _users_of(body: Any) -> list[Any]:
    if not isinstance(body, list):
        raise GitHubShapeError(f"{VENDOR}: a user listing did not answer a JSON array")
    return body


def _login_of(raw: Any) -> str:
    login = raw.get("login") if isinstance(raw, Mapping) else None
    return f" (login {login})" if isinstance(login, str) and login else ""
