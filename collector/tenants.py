"""Writes what the config says about a tenant (the tenant row, app metadata, hand-entered contracts)."""

from __future__ import annotations

from sqlalchemy import delete, select

from collector.catalog import Catalog
from collector.config import TenantConfig
from collector.ingest import table
from collector.models import App, LicensePool, Tenant
from collector.store import Store, upsert

CONTRACT_SOURCE = "contract"
CONFIG_RUN_ID = 0  # rows written from the config, not by a sync run


def apply_tenant_config(store: Store, tenant: TenantConfig, catalog: Catalog | None = None) -> None:
    """Make the store agree with the config for ``tenant``; contracts removed from it are retired.

    An app's name, category and vendor come from the config, else from the ``catalog``.
    """
    with store.transaction() as session:
        upsert(
            session,
            table(Tenant),
            [{"id": tenant.id, "name": tenant.name, "currency": tenant.currency}],
            key=("id",),
        )
        app_ids = set(tenant.apps) | {c.app for c in tenant.contracts}
        known = set(session.scalars(select(App.id).where(App.tenant_id == tenant.id, App.id.in_(app_ids))))
        rows = []
        for app_id in sorted(app_ids):
            meta = tenant.apps.get(app_id)
            entry = catalog.get(app_id) if catalog else None
            if meta is None and app_id in known:
                continue  # keep whatever name a connector or the catalog gave it
            row: dict[str, object] = {"tenant_id": tenant.id, "id": app_id}
            if meta:
                row |= meta.model_dump(exclude={"aliases"})
            row["name"] = row.get("name") or (entry.name if entry else app_id)
            if entry:
                row["category"] = row.get("category") or entry.category or None
                row["vendor"] = row.get("vendor") or entry.vendor or None
            rows.append(row)
        for row in rows:
            upsert(session, table(App), [row], key=("tenant_id", "id"))
        contract_rows = [
            {
                "tenant_id": tenant.id,
                "source": CONTRACT_SOURCE,
                "app_id": c.app,
                "sku": c.sku,
                "seats_purchased": c.seats,
                "seats_assigned": None,
                "unit_price": c.unit_price,
                "currency": c.currency or tenant.currency,
                "billing_period": c.billing_period.value,
                "commitment": c.commitment.value,
                "term_start": c.term_start,
                "term_end": c.term_end,
                "auto_renew": c.auto_renew,
                "notice_days": c.notice_days,
                "seen_run_id": CONFIG_RUN_ID,
            }
            for c in tenant.contracts
        ]
        upsert(session, table(LicensePool), contract_rows, key=("tenant_id", "source", "app_id", "sku"))
        current = {(c.app, c.sku) for c in tenant.contracts}
        stored = session.execute(
            select(LicensePool.id, LicensePool.app_id, LicensePool.sku).where(
                LicensePool.tenant_id == tenant.id, LicensePool.source == CONTRACT_SOURCE
            )
        ).all()
        gone = [pool_id for pool_id, app, sku in stored if (app, sku) not in current]
        if gone:
            session.execute(delete(LicensePool).where(LicensePool.id.in_(gone)))
