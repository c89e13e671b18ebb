"""Analyzer registry keyed by id (lazy: listing ids imports nothing)."""

from __future__ import annotations

import importlib

from analyzers.base import Analyzer

BUILTIN: dict[str, str] = {
    "billing_reconciliation": "analyzers.billing_reconciliation:BillingReconciliation",
    "offboarding": "analyzers.offboarding:Offboarding",
    "overlap": "analyzers.overlap:Overlap",
    "renewals": "analyzers.renewals:Renewals",
    "rightsizing": "analyzers.rightsizing:Rightsizing",
    "shadow_it": "analyzers.shadow_it:ShadowIt",
    "unused_seats": "analyzers.unused_seats:UnusedSeats",
    "vendor_risk": "analyzers.vendor_risk:VendorRisk",
}


def analyzer_ids() -> list[str]:
    return sorted(BUILTIN)


def get_analyzer(analyzer_id: str) -> type[Analyzer]:
    target = BUILTIN.get(analyzer_id)
    if target is None:
        raise KeyError(f"unknown analyzer {analyzer_id!r}; known: {', '.join(analyzer_ids())}")
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Analyzer)) or cls.id != analyzer_id:
        raise TypeError(f"{target} is not an Analyzer with id {analyzer_id!r}")
    return cls
