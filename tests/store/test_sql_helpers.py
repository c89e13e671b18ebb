"""The analyzers' shared SQL helpers on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import insert

from analyzers.sql import account_sources
from collector.models import Account, Tenant
from collector.store import Store


def test_account_sources_walks_one_tenants_distinct_sources(store: Store) -> None:
    with store.transaction() as session:
        session.execute(
            insert(Tenant), [{"id": t, "name": t, "currency": "USD"} for t in ("acme", "beta", "zeta")]
        )
        rows = [
            ("acme", "okta", "okta", "a"),
            ("acme", "okta", "okta", "b"),
            ("acme", "okta", "slack", "a"),  # a second app of the same source: listed once
            ("acme", "google", "gws", "a"),
            ("acme", "Zoom-CSV", "zoom", "a"),
            ("beta", "hubspot", "hubspot", "a"),  # another tenant's: not acme's
            ("beta", "aaa", "x", "a"),
        ]
        session.execute(
            insert(Account),
            [
                {
                    "tenant_id": t,
                    "source": s,
                    "app_id": app,
                    "external_id": e,
                    "status": "active",
                    "seen_run_id": 1,
                }
                for t, s, app, e in rows
            ],
        )
    with store.sessions() as session:
        acme = account_sources(session, "acme")
        assert sorted(acme) == ["Zoom-CSV", "google", "okta"]  # each once, in the database's order
        assert account_sources(session, "beta") == ["aaa", "hubspot"]
        assert account_sources(session, "zeta") == []
