"""The Microsoft 365 active user detail report: last activity per user and workload.

``GET /v1.0/reports/getOffice365ActiveUserDetail(period='D30')`` answers 302 with a short-lived,
pre-authenticated download URL of a CSV (UTF-8 with a byte-order mark); httpx follows it and drops
the Authorization header on the way to the other host. The beta endpoint also speaks JSON
(``$format=application/json``, paged by ``@odata.nextLink``): ``usage_report_format: json``.

The report lags (its "Report Refresh Date" is usually a day or two old) and gives dates, not times:
its activity is recorded as ``ActivitySource.REPORT``, one row per workload (``feature``).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from collector.http import BodyUrlPaginator, VendorClient, VendorHTTPError, paginate
from collector.records import ActivityRecord, ActivitySource, Checkpoint, Record, RowProblem
from connectors.microsoft365.graph import values
from connectors.microsoft365.users import Directory
from connectors.microsoft365.values import BadValue, report_bool, report_date, start_of

APP = "m365"
STREAM = "usage_report"
PERMISSION = "Reports.Read.All"
PAGE_ROWS = 1000  # CSV rows per checkpoint: one transaction each in the runner

REFRESH = "Report Refresh Date"
UPN = "User Principal Name"
DELETED = "Is Deleted"


@dataclass(frozen=True)
class Workload:
    feature: str  # ActivityRecord.feature
    label: str  # as in the CSV column names
    json_key: str  # as in the JSON property names

    @property
    def activity_column(self) -> str:
        return f"{self.label} Last Activity Date"

    @property
    def license_column(self) -> str:
        return f"Has {self.label} License"


WORKLOADS = (
    Workload("exchange", "Exchange", "exchange"),
    Workload("onedrive", "OneDrive", "oneDrive"),
    Workload("sharepoint", "SharePoint", "sharePoint"),
    Workload("skype_for_business", "Skype For Business", "skypeForBusiness"),
    Workload("yammer", "Yammer", "yammer"),
    Workload("teams", "Teams", "teams"),
)

# JSON property -> CSV column, so both formats are read by one row reader.
JSON_COLUMNS: dict[str, str] = {
    "reportRefreshDate": REFRESH,
    "userPrincipalName": UPN,
    "isDeleted": DELETED,
}
for _w in WORKLOADS:
    JSON_COLUMNS[f"{_w.json_key}LastActivityDate"] = _w.activity_column
    JSON_COLUMNS[f"has{_w.json_key[0].upper()}{_w.json_key[1:]}License"] = _w.license_column

# With "Display concealed user, group, and site names in all reports" on (the default for tenants
# since September 2021), every user name in the usage reports is a 32-digit hex hash.
CONCEALED = re.compile(r"[0-9A-Fa-f]{32}")
UNCONCEAL = (
    "user names in the report are concealed (32-digit hashes) and cannot be matched to anyone, so the "
    "report adds no activity: in the Microsoft 365 admin center go to Settings > Org settings > "
    "Services > Reports and clear 'Display concealed user, group, and site names in all reports'"
)


class ReportFormatError(Exception):
    """The report is not the CSV Microsoft documents (a missing column, not text)."""


@dataclass
class Tally:
    rows: int = 0
    concealed: int = 0
    unmatched: int = 0


def report_path(period: str, fmt: Literal["csv", "json"]) -> str:
    function = f"getOffice365ActiveUserDetail(period='{period}')"
    if fmt == "json":
        return f"/beta/reports/{function}?$format=application/json"
    return f"/v1.0/reports/{function}"


def read_usage_report(
    client: VendorClient,
    directory: Directory,
    *,
    period: str,
    fmt: Literal["csv", "json"],
    stop: threading.Event,
    log: logging.Logger,
) -> Iterator[Record]:
    """Yield per-workload activity from the report, a checkpoint per page, and one problem if the
    tenant conceals user names."""
    path = report_path(period, fmt)
    tally = Tally()
    pages = _json_pages(client, path) if fmt == "json" else _csv_pages(client, path)
    try:
        for rows, last in pages:
            for where, row in rows:
                tally.rows += 1
                yield from row_records(row, where, directory, tally)
            yield Checkpoint(STREAM, complete=last)
            if stop.is_set():
                return
    except ReportFormatError as exc:
        yield RowProblem(f"GET {path}", str(exc))
        return
    except VendorHTTPError as exc:
        if exc.status != 403:
            raise
        # Users, seats and sign-ins stand without the report: say what is missing and go on.
        yield RowProblem(f"GET {path}", f"{exc}; the report needs the {PERMISSION} application permission")
        return
    if tally.concealed:
        yield RowProblem(f"GET {path}", f"{tally.concealed} of {tally.rows} rows: {UNCONCEAL}")
    if tally.unmatched:
        log.info("usage report: %d rows name users GET /v1.0/users did not list", tally.unmatched)


Rows = Sequence[tuple[str, Mapping[str, Any]]]


def _csv_pages(client: VendorClient, path: str) -> Iterator[tuple[Rows, bool]]:
    response = client.get(path)
    try:
        text = response.content.decode("utf-8-sig")  # Graph's report CSVs start with a BOM
    except UnicodeDecodeError:
        raise ReportFormatError("the report is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in (REFRESH, UPN) if c not in (reader.fieldnames or ())]
    if missing:
        raise ReportFormatError(f"missing column(s): {', '.join(missing)}")
    page: list[tuple[str, Mapping[str, Any]]] = []
    try:
        for row in reader:
            # Line numbers as a spreadsheet shows them: the header is line 1.
            page.append((f"GET {path} row {reader.line_num}", row))
            if len(page) == PAGE_ROWS:
                yield page, False
                page = []
    except csv.Error as exc:
        raise ReportFormatError(f"not valid CSV from line {reader.line_num}: {exc}") from None
    yield page, True


def _json_pages(client: VendorClient, path: str) -> Iterator[tuple[Rows, bool]]:
    for page in paginate(client, path, BodyUrlPaginator("@odata.nextLink"), items=values):
        rows = [
            (f"GET {path} page {page.number} item {n}", _as_columns(item))
            for n, item in enumerate(page.items, start=1)
        ]
        yield rows, page.next_url is None


def _as_columns(item: Any) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        return {}
    return {JSON_COLUMNS.get(str(key), str(key)): value for key, value in item.items()}


def row_records(row: Mapping[str, Any], where: str, directory: Directory, tally: Tally) -> list[Record]:
    """The activity records of one report row; a row with a bad value yields only its problem."""
    upn = row.get(UPN)
    if not isinstance(upn, str) or not upn.strip():
        return [RowProblem(where, f"{UPN}: empty")]
    upn = upn.strip()
    if CONCEALED.fullmatch(upn):
        tally.concealed += 1
        return []
    if report_bool(row.get(DELETED)):
        return []  # a deleted user holds nothing any more
    email = directory.by_upn.get(upn.lower())
    if email is None:
        tally.unmatched += 1
        return []
    try:
        refreshed = report_date(row.get(REFRESH), REFRESH)
        if refreshed is None:
            raise BadValue(f"{REFRESH}: empty")
        observed = start_of(refreshed)
        records: list[Record] = []
        for workload in WORKLOADS:
            if workload.activity_column not in row:
                continue  # a cloud or report version without this workload says nothing about it
            last = report_date(row[workload.activity_column], workload.activity_column)
            if last is not None:
                seen = start_of(last)
            elif report_bool(row.get(workload.license_column)):
                seen = None  # licensed for the workload and no activity on record: "never"
            else:
                continue
            records.append(
                ActivityRecord(email, APP, seen, ActivitySource.REPORT, observed, feature=workload.feature)
            )
    except BadValue as exc:
        return [RowProblem(where, str(exc))]
    return records
