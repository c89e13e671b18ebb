"""The analyzer contract. An analyzer reads only the store and returns findings; it never calls a vendor.

Each analyzer declares an id, a settings model (thresholds with defaults, per-app overrides and
exclusions, set per tenant under ``policy.<id>`` in the config) and a ``run`` method. Every finding
carries its monthly money value in the tenant's currency and evidence a client's IT lead can read.
"""

from __future__ import annotations

import abc
import enum
import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from collector.catalog import Catalog, builtin_catalog

if TYPE_CHECKING:  # collector.pools reaches the config, which imports the analyzers
    from collector.pools import EffectivePool


class Verdict(enum.StrEnum):
    FAIL = "fail"  # waste, with a money value
    UNKNOWN = "unknown"  # could not decide: the data it depends on is stale or missing


class Severity(enum.StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class AnalyzerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class TenantView:
    """What an analyzer knows of the tenant besides the store."""

    tenant_id: str
    currency: str
    now: datetime  # the evaluation time (the tenant's ``as_of`` when set)
    exchange_rates: dict[str, Decimal] = field(default_factory=dict)
    # Sources whose data must not be trusted right now (failed or overdue), with the reason in words.
    stale_sources: dict[str, str] = field(default_factory=dict)
    # The vendor catalog as this tenant sees it (facts about vendors: founded, ownership, SSO ...).
    catalog: Catalog = field(default_factory=builtin_catalog)
    # The tenant's effective license pools, worked out once for a whole analysis run (seven analyzers
    # need them, and on a large tenant each reading costs a second or more); None: read on demand.
    pools: SharedPools | None = None

    def license_pools(self, session: Session) -> list[EffectivePool]:
        """The tenant's effective pools: the ones worked out for this run, else read from ``session``."""
        if self.pools is not None:
            return list(self.pools.get(session, self.tenant_id))
        from collector.pools import effective_pools

        return effective_pools(session, self.tenant_id)


class SharedPools:
    """A tenant's effective license pools for one analysis run, worked out once, on first use.

    The first analyzer that asks reads them in its own session while the analyzers on the other
    threads go on with what they do not need them for; one that asks meanwhile waits for that
    result. Read before the analyzers started, they kept every other core idle for as long.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: tuple[EffectivePool, ...] | None = None

    def get(self, session: Session, tenant_id: str) -> tuple[EffectivePool, ...]:
        with self._lock:
            if self._pools is None:  # a reading that failed is tried again by the next analyzer
                from collector.pools import effective_pools

                self._pools = tuple(effective_pools(session, tenant_id))
            return self._pools


# Not frozen: a frozen dataclass sets each field through ``object.__setattr__``, three times the cost
# of a plain one, and a large tenant's unused-seat analysis builds a quarter of a million drafts.
# Nothing changes a draft after it is built (``dataclasses.replace`` makes a new one).
@dataclass(slots=True)
class FindingDraft:
    """A finding as an analyzer produces it; the runner merges it with what the store already has."""

    rule: str
    subject: str  # who or what: an e-mail, or e.g. "slack/Business+ unassigned"
    title: str
    verdict: Verdict
    severity: Severity
    monthly_waste: Decimal
    evidence: dict[str, Any]
    app_id: str | None = None
    sku: str | None = None
    # A digest of everything the finding is worded from: the analyzer's inputs (the tenant's
    # currency among them) and the code that words them, at most 32 characters. When set, the
    # runner stores it (with the state, when muted) instead of hashing the wording, so that an
    # unchanged finding is recognised before it is worded (see ``Analyzer.run_since``).
    input_digest: str | None = field(default=None, compare=False)
    # Set on a stand-in (``run_since``): returns the finding worded in full. A stand-in has every
    # field but an empty title and evidence.
    reword: Callable[[], FindingDraft] | None = field(default=None, compare=False, repr=False)
    # The fingerprint, when the analyzer has worked it out already (``fingerprint_of``).
    known_fingerprint: str | None = field(default=None, compare=False, repr=False)

    @property
    def fingerprint(self) -> str:
        """Stable identity across runs: the same seat keeps the same finding."""
        return self.known_fingerprint or fingerprint_of(self.rule, self.app_id, self.sku, self.subject)


def code_digest(module_file: str) -> bytes:
    """A digest of an analyzer module's source, for its input digests (``FindingDraft.input_digest``):
    a change to how the module words its findings words every one of them again."""
    return hashlib.blake2b(Path(module_file).read_bytes(), digest_size=16).digest()


def fingerprint_of(rule: str, app_id: str | None, sku: str | None, subject: str) -> str:
    return "|".join((rule, app_id or "", sku or "", subject))


class Analyzer(abc.ABC):
    id: ClassVar[str]
    title: ClassVar[str]
    settings_model: ClassVar[type[AnalyzerSettings]]
    # A rough guide to how long the analyzer takes on a large tenant next to the others; the run
    # starts the longest first, by this until a previous run's time is known.
    relative_cost: ClassVar[int] = 1

    def __init__(self, settings: AnalyzerSettings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def run(self, session: Session, tenant: TenantView) -> list[FindingDraft]:
        """Read the tenant's data from ``session`` and return every current finding."""

    def run_since(
        self, session: Session, tenant: TenantView, stored: Mapping[str, Any]
    ) -> list[FindingDraft]:
        """``run``, knowing the fingerprints of the findings already stored: for those, an analyzer
        that sets ``input_digest`` may return stand-ins (with ``reword``) instead of wording them.
        The runner words a stand-in only when its digest differs from the stored one; on a large
        tenant most findings are the same as last run. By default, ``run``."""
        return self.run(session, tenant)
