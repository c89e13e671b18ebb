"""The shared HTTP client layer of httpx-based connectors.

:class:`VendorClient` sends requests with timeouts, retries with jittered backoff that honour
``Retry-After`` and vendor rate-limit headers, a proactive per-tenant-per-vendor
:class:`RateLimiter`, auth renewal on 401, and redacted logs and errors; :func:`paginate` and the
paginators follow vendor listings page by page.
"""

from collector.http.auth import AccessToken, Auth, HeaderAuth, TokenAuth
from collector.http.client import DEFAULT_TIMEOUT, VendorClient
from collector.http.errors import (
    HTTPClientError,
    PaginationError,
    PaginationLoopError,
    RateLimitError,
    VendorHTTPError,
    WaitTooLongError,
)
from collector.http.paginate import (
    BodyUrlPaginator,
    CursorPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    Paginator,
    paginate,
)
from collector.http.ratelimit import RateLimiter, RateLimiterRegistry, limiter_registry
from collector.http.redact import RedactingFilter, Redactor, default_redactor
from collector.http.retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "AccessToken",
    "Auth",
    "BodyUrlPaginator",
    "CursorPaginator",
    "HTTPClientError",
    "HeaderAuth",
    "LinkHeaderPaginator",
    "OffsetPaginator",
    "Page",
    "PageNumberPaginator",
    "PaginationError",
    "PaginationLoopError",
    "Paginator",
    "RateLimitError",
    "RateLimiter",
    "RateLimiterRegistry",
    "RedactingFilter",
    "Redactor",
    "RetryPolicy",
    "TokenAuth",
    "VendorClient",
    "VendorHTTPError",
    "WaitTooLongError",
    "default_redactor",
    "limiter_registry",
    "paginate",
]
