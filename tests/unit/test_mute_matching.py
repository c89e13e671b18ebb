"""The persistence step picks the first mute that ``Mute.matches`` (compiled subject patterns, and the
mutes that can match a rule and pool worked out once per pool, and all)."""

from __future__ import annotations

import fnmatch
import itertools
from datetime import date
from decimal import Decimal

from analyzers.base import FindingDraft, Severity, Verdict
from collector.analysis import _mute_finder
from collector.config import Mute

EXPIRES = date(2027, 1, 1)


def reference(mute: Mute, one: FindingDraft) -> bool:
    """What a mute matches, written out with ``fnmatch`` (its definition before patterns were
    compiled once)."""
    return (
        mute.analyzer in (None, "unused_seats")
        and (mute.rule is None or mute.rule == one.rule)
        and (mute.app is None or mute.app == one.app_id)
        and (mute.sku is None or (one.sku is not None and mute.sku.casefold() == one.sku.casefold()))
        and (mute.subject is None or fnmatch.fnmatch(one.subject.lower(), mute.subject.lower()))
    )


def draft(rule: str, app: str | None, sku: str | None, subject: str) -> FindingDraft:
    return FindingDraft(
        rule=rule,
        subject=subject,
        title="t",
        verdict=Verdict.FAIL,
        severity=Severity.LOW,
        monthly_waste=Decimal(1),
        evidence={},
        app_id=app,
        sku=sku,
    )


def test_compiled_mutes_agree_with_mute_matches() -> None:
    mutes = [
        Mute(rule="inactive", reason="accepted", expires=EXPIRES),
        Mute(app="zoom", sku="PRO", reason="accepted", expires=EXPIRES),
        Mute(subject="SVC-*@Example.com", reason="service accounts", expires=EXPIRES),
        Mute(subject="ceo@example.com", app="slack", reason="board decision", expires=EXPIRES),
        Mute(subject="a[bc]?@x.io", reason="pattern classes", expires=EXPIRES),
        Mute(sku="straße", reason="casefold, not lower", expires=EXPIRES),
        Mute(analyzer="offboarding", reason="another analyzer's", expires=EXPIRES),
        Mute(analyzer="unused_seats", app="slack", reason="this analyzer's", expires=EXPIRES),
    ]
    drafts = [
        draft(rule, app, sku, subject)
        for rule, app, sku, subject in itertools.product(
            ["inactive", "never_active"],
            ["zoom", "slack", None],
            ["pro", "Pro", "STRASSE", "Business", None],
            ["svc-build@example.com", "ceo@example.com", "abz@x.io", "ad@x.io", "a\nb@x.io", "someone@x.io"],
        )
    ]
    matched = 0
    for subset in (mutes, mutes[1:], mutes[2:], mutes[::-1], mutes[-2:]):
        mute_for = _mute_finder(subset, "unused_seats")  # one per run: its cache spans the drafts
        for one in drafts:
            expected = next(
                (m for m in subset if m.matches("unused_seats", one.rule, one.app_id, one.sku, one.subject)),
                None,
            )
            assert mute_for(one) is expected, (one, subset)
            assert next((m for m in subset if reference(m, one)), None) is expected, (one, subset)
            matched += expected is not None
    assert 0 < matched < len(drafts) * 5  # some drafts matched and some did not
