"""csv_import: every file format from small realistic exports, the spellings real files use, bad input
reported row by row, and the bundled Northwind sample read end to end."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from pydantic import ValidationError

from collector.connector import SyncContext
from collector.records import (
    AccountRecord,
    ActivityRecord,
    ActivitySource,
    BillingPeriod,
    Checkpoint,
    Commitment,
    DataKind,
    IdpStatus,
    LicensePoolRecord,
    PersonRecord,
    Record,
    RowProblem,
    SeatRecord,
    SpendRecord,
)
from collector.registry import get_connector
from connectors.csv_import import CsvImportConnector
from connectors.csv_import.settings import CsvImportSettings
from connectors.csv_import.values import (
    parse_bool,
    parse_count,
    parse_last_seen,
    parse_money,
    parse_timestamp,
)

DATA = Path(__file__).with_name("data")
SAMPLES = Path(__file__).parents[2] / "config" / "samples"
NORTHWIND = SAMPLES / "northwind"
EXPORTED = "2026-11-20T08:00:00Z"

R = TypeVar("R")


def sync(base: Path, *files: dict[str, Any]) -> list[Record]:
    settings = CsvImportSettings.model_validate({"files": list(files)})
    return list(CsvImportConnector(settings).sync(SyncContext(tenant_id="t", source="csv", base_dir=base)))


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> str:
    (folder / name).write_bytes(text.encode(encoding))
    return name


def only(records: Sequence[Record], kind: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, kind)]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


GOOGLE = """\
First Name [Required],Last Name [Required],Email Address [Required],Password [Required],\
Org Unit Path [Required],Status [READ ONLY],Last Sign In [READ ONLY],Employee Title,Manager Email,\
Department,Cost Center,2sv Enrolled [READ ONLY],2sv Enforced [READ ONLY]
Ada,Gearhart,Ada.Gearhart@Northwind.example,****,/Engineering,Active,2026/11/19 08:12:44,Robotics Engineer,\
Wren.Sprockett@northwind.example,Engineering,CC-200,True,False
Bo,Axleby,bo.axleby@northwind.example,****,/Offboarding,Suspended,2026/08/14 16:02:55 UTC,Account Executive,,\
Sales,CC-300,False,False
Cy,Cogburn,cy.cogburn@northwind.example,****,/Offboarding,Archived,Never logged in,Designer,,Design,CC-220,\
True,False
Dee,Diodeson,dee.diodeson@northwind.example,****,/Sales,Active,,Account Executive,,Sales,CC-300,True,False
"""


def test_google_admin_users(tmp_path: Path) -> None:
    name = write(tmp_path, "google_users.csv", GOOGLE)
    records = sync(
        tmp_path,
        {"path": name, "format": "google_admin_users", "sku": "Google Workspace Business Standard",
         "exported_at": EXPORTED},
    )  # fmt: skip

    assert only(records, RowProblem) == []
    ada = only(records, PersonRecord)[0]
    assert ada == PersonRecord(
        email="ada.gearhart@northwind.example",
        display_name="Ada Gearhart",
        status=IdpStatus.ACTIVE,
        department="Engineering",
        cost_center="CC-200",
        manager_email="wren.sprockett@northwind.example",
    )
    assert [(p.email, p.status) for p in only(records, PersonRecord)] == [
        ("ada.gearhart@northwind.example", IdpStatus.ACTIVE),
        ("bo.axleby@northwind.example", IdpStatus.SUSPENDED),
        ("cy.cogburn@northwind.example", IdpStatus.SUSPENDED),  # archived: gone, for the IdP
        ("dee.diodeson@northwind.example", IdpStatus.ACTIVE),
    ]
    assert [(a.app_id, a.external_id, a.status, a.mfa_enabled) for a in only(records, AccountRecord)] == [
        ("google_workspace", "ada.gearhart@northwind.example", "active", True),
        ("google_workspace", "bo.axleby@northwind.example", "suspended", False),
        ("google_workspace", "cy.cogburn@northwind.example", "archived", True),
        ("google_workspace", "dee.diodeson@northwind.example", "active", True),
    ]
    # The suspended user keeps the paid license; the archived one moved to Google's Archived User license.
    assert [s.account_external_id for s in only(records, SeatRecord)] == [
        "ada.gearhart@northwind.example",
        "bo.axleby@northwind.example",
        "dee.diodeson@northwind.example",
    ]
    assert {s.sku for s in only(records, SeatRecord)} == {"Google Workspace Business Standard"}
    # Activity was true when the export was taken, not when it is read.
    assert {a.observed_at for a in only(records, ActivityRecord)} == {at("2026-11-20 08:00:00")}
    assert [replace(a, observed_at=None) for a in only(records, ActivityRecord)] == [
        ActivityRecord("ada.gearhart@northwind.example", "google_workspace", at("2026-11-19 08:12:44"),
                       ActivitySource.EXPORT),
        ActivityRecord("bo.axleby@northwind.example", "google_workspace", at("2026-08-14 16:02:55"),
                       ActivitySource.EXPORT),
        ActivityRecord("cy.cogburn@northwind.example", "google_workspace", None, ActivitySource.EXPORT),
        ActivityRecord("dee.diodeson@northwind.example", "google_workspace", None, ActivitySource.EXPORT),
    ]  # fmt: skip
    last = records[-1]
    assert last == Checkpoint(
        stream=name,
        cursor={
            "sha256": hashlib.sha256(GOOGLE.encode()).hexdigest(),
            "rows": 4,
            "exported_at": "2026-11-20T08:00:00+00:00",
        },
        complete=True,
    )


def test_google_without_sku_sign_in_column_or_idp_says_less(tmp_path: Path) -> None:
    text = "Email Address [Required],Status [READ ONLY]\nada@northwind.example,Suspended\n"
    name = write(tmp_path, "users.csv", text)
    records = sync(tmp_path, {"path": name, "format": "google_admin_users", "app": "gws", "idp": False})

    assert only(records, PersonRecord) == [PersonRecord(email="ada@northwind.example")]
    assert only(records, AccountRecord) == [
        AccountRecord(app_id="gws", external_id="ada@northwind.example", email="ada@northwind.example",
                      status="suspended")
    ]  # fmt: skip
    assert only(records, SeatRecord) == []  # no sku configured
    assert only(records, ActivityRecord) == []  # no Last Sign In column: no statement


M365_USERS = """\
Display name,User principal name,Object Id,First name,Last name,When created,Department,Block credential,\
Licenses
Esme Gasketti,esme.gasketti@northwind.example,50e8a68b-e87f-473e-866a-d2195d816943,Esme,Gasketti,\
2024-02-26 13:59:00Z,Finance,False,Microsoft 365 Apps for business+Power BI Pro
,silas.pulleyman@northwind.example,,Silas,Pulleyman,2025-03-03 09:30:00Z,Operations,True,\
Microsoft 365 Apps for business; Microsoft Teams Exploratory
Scanner,scanner@northwind.example,0f1d,,,2024-05-01 10:00:00Z,,False,Unlicensed
Eve Axleby,eve.axleby@northwind.example,77aa,Eve,Axleby,2024-05-01 10:00:00Z,IT,False,\
Office 365 E5+Enterprise Mobility + Security E5
"""


def test_m365_active_users(tmp_path: Path) -> None:
    name = write(tmp_path, "m365_users.csv", M365_USERS)
    records = sync(tmp_path, {"path": name, "format": "m365_active_users", "exported_at": EXPORTED})

    assert only(records, RowProblem) == []
    people = only(records, PersonRecord)
    assert people[0] == PersonRecord(
        email="esme.gasketti@northwind.example",
        display_name="Esme Gasketti",
        department="Finance",
        created_at=at("2024-02-26 13:59:00"),
    )
    assert people[1].display_name == "Silas Pulleyman"  # no display name: first and last
    # A blocked sign-in is app-side unless the file speaks for the identity provider.
    assert {p.status for p in people} == {None}
    assert [(a.external_id, a.status) for a in only(records, AccountRecord)] == [
        ("50e8a68b-e87f-473e-866a-d2195d816943", "active"),
        ("silas.pulleyman@northwind.example", "blocked"),  # no Object Id: the UPN
        ("0f1d", "active"),
        ("77aa", "active"),
    ]
    assert [(s.app_id, s.account_external_id, s.sku) for s in only(records, SeatRecord)] == [
        ("m365", "50e8a68b-e87f-473e-866a-d2195d816943", "Microsoft 365 Apps for business"),
        ("m365", "50e8a68b-e87f-473e-866a-d2195d816943", "Power BI Pro"),
        ("m365", "silas.pulleyman@northwind.example", "Microsoft 365 Apps for business"),
        ("m365", "silas.pulleyman@northwind.example", "Microsoft Teams Exploratory"),
        ("m365", "77aa", "Office 365 E5"),
        ("m365", "77aa", "Enterprise Mobility + Security E5"),  # a spaced "+" is part of the name
    ]
    assert only(records, ActivityRecord) == []


def test_m365_block_credential_is_the_idp_status_when_entra_is_the_idp(tmp_path: Path) -> None:
    name = write(tmp_path, "m365_users.csv", M365_USERS)
    records = sync(tmp_path, {"path": name, "format": "m365_active_users", "idp": True, "app": "office"})

    assert [p.status for p in only(records, PersonRecord)][:2] == [IdpStatus.ACTIVE, IdpStatus.SUSPENDED]
    assert {s.app_id for s in only(records, SeatRecord)} == {"office"}


DETAIL_HEADER = (
    "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Has Exchange License,"
    "Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,"
    "Teams Last Activity Date,Assigned Products\n"
)


def test_m365_active_user_detail(tmp_path: Path) -> None:
    rows = (
        "2026-11-18,olive.ledgerby@northwind.example,Olive Ledgerby,False,,False,,2026-08-31,2026-07-02,,"
        "MICROSOFT 365 APPS FOR BUSINESS+POWER BI PRO\n"
        "2026-11-18,esme.gasketti@northwind.example,Esme Gasketti,False,,True,2026-11-17,2026-11-10,,"
        "2026-11-18,MICROSOFT 365 BUSINESS STANDARD\n"
        "2026-11-18,new.joiner@northwind.example,New Joiner,False,,True,,,,,MICROSOFT 365 BUSINESS STANDARD\n"
        "2026-11-18,gone@northwind.example,Gone Person,True,2026-10-01,True,2026-09-30,,,,\n"
    )
    # Graph's report CSVs start with a byte-order mark.
    name = write(tmp_path, "m365_activity.csv", "\ufeff" + DETAIL_HEADER + rows)
    records = sync(tmp_path, {"path": name, "format": "m365_active_user_detail"})

    assert only(records, RowProblem) == []
    assert {a.observed_at for a in only(records, ActivityRecord)} == {at("2026-11-18")}  # Report Refresh Date
    assert [replace(a, observed_at=None) for a in only(records, ActivityRecord)] == [
        ActivityRecord("olive.ledgerby@northwind.example", "m365", at("2026-08-31"), ActivitySource.EXPORT),
        ActivityRecord("esme.gasketti@northwind.example", "m365", at("2026-11-18"), ActivitySource.EXPORT),
        ActivityRecord("new.joiner@northwind.example", "m365", None, ActivitySource.EXPORT),
    ]  # the deleted user is skipped
    assert only(records, PersonRecord)[0] == PersonRecord(
        "olive.ledgerby@northwind.example", "Olive Ledgerby"
    )
    checkpoint = only(records, Checkpoint)[-1]
    assert checkpoint.cursor is not None
    assert checkpoint.cursor["exported_at"] == "2026-11-18T00:00:00+00:00"  # the Report Refresh Date


def test_m365_concealed_user_names_are_one_clear_problem(tmp_path: Path) -> None:
    rows = (
        "2026-11-18,FE7CC8C15246EDCCA289C9A4022762F7,6F2A0C1E9B3D4A5F8E7D6C5B4A392817,False,,True,2026-11-17,,,,\n"
        "2026-11-18,0A1B2C3D4E5F60718293A4B5C6D7E8F9,9E8D7C6B5A4F3E2D1C0B9A8F7E6D5C4B,False,,True,2026-11-17,,,,\n"
    )
    name = write(tmp_path, "m365_activity.csv", DETAIL_HEADER + rows)
    records = sync(tmp_path, {"path": name, "format": "m365_active_user_detail"})

    assert len(records) == 1
    problem = records[0]
    assert isinstance(problem, RowProblem)
    assert problem.where == "m365_activity.csv"
    assert problem.reason.startswith("User Principal Name: the report was exported with concealed user names")
    assert "Settings > Org settings > Reports" in problem.reason
    assert "Display concealed user, group, and site names in all reports" in problem.reason
    assert "'FE7CC8C15246EDCCA289C9A4022762F7'" in problem.reason


def test_license_pools(tmp_path: Path) -> None:
    text = (
        "app,sku,seats_purchased,unit_price,currency,billing_period,commitment,term_start,term_end,"
        "auto_renew,notice_days\n"
        'Salesforce,Sales Cloud Enterprise,"1,200","$1,234.50",usd,Monthly,annual,'
        "2026-01-15,2027-01-14,Yes,45\n"
        "m365,Microsoft Teams Exploratory,,,,,,,,,\n"
    )
    name = write(tmp_path, "license_pools.csv", text)
    records = sync(tmp_path, {"path": name, "format": "license_pools"})

    assert only(records, LicensePoolRecord) == [
        LicensePoolRecord(
            app_id="salesforce",
            sku="Sales Cloud Enterprise",
            seats_purchased=1200,
            unit_price=Decimal("1234.50"),
            currency="USD",
            billing_period=BillingPeriod.MONTHLY,
            commitment=Commitment.ANNUAL,
            term_start=date(2026, 1, 15),
            term_end=date(2027, 1, 14),
            auto_renew=True,
            notice_days=45,
        ),
        LicensePoolRecord(app_id="m365", sku="Microsoft Teams Exploratory"),  # only app and sku are required
    ]


SEATS = """\
app,sku,email,account_id,assigned_at,last_active_at,status,is_admin
slack,Slack Business+,Ada.Gearhart@northwind.example,U01ADA,2025-03-04T09:00:00Z,2026-11-18T10:00:00Z,,yes
github,GitHub Enterprise,yara.kernel@northwind.example,yara-kernel-nw,2026-09-01,Never,active,0
docusign,Docusign Business Pro,rupert.sealworth@northwind.example,,7/6/2026,,Suspended,
"""


def test_seat_assignments(tmp_path: Path) -> None:
    name = write(tmp_path, "seats.csv", SEATS)
    records = sync(tmp_path, {"path": name, "format": "seat_assignments", "exported_at": EXPORTED})

    assert only(records, RowProblem) == []
    assert only(records, PersonRecord) == [
        PersonRecord(email="ada.gearhart@northwind.example"),
        PersonRecord(email="yara.kernel@northwind.example"),
        PersonRecord(email="rupert.sealworth@northwind.example"),
    ]
    assert [
        (a.app_id, a.external_id, a.email, a.status, a.is_admin) for a in only(records, AccountRecord)
    ] == [
        ("slack", "U01ADA", "ada.gearhart@northwind.example", "active", True),
        ("github", "yara-kernel-nw", "yara.kernel@northwind.example", "active", False),
        (
            "docusign",
            "rupert.sealworth@northwind.example",
            "rupert.sealworth@northwind.example",
            "suspended",
            None,
        ),
    ]
    assert only(records, SeatRecord) == [
        SeatRecord("slack", "Slack Business+", "U01ADA", at("2025-03-04 09:00:00")),
        SeatRecord("github", "GitHub Enterprise", "yara-kernel-nw", at("2026-09-01")),
        SeatRecord(
            "docusign", "Docusign Business Pro", "rupert.sealworth@northwind.example", at("2026-07-06")
        ),
    ]
    assert [(a.app_id, a.last_seen_at) for a in only(records, ActivityRecord)] == [
        ("slack", at("2026-11-18 10:00:00")),
        ("github", None),  # "Never"
        ("docusign", None),  # empty
    ]


def test_seat_assignments_without_last_active_column_say_nothing_about_activity(tmp_path: Path) -> None:
    name = write(tmp_path, "seats.csv", "app,sku,email\nmiro,Miro Business,ada@northwind.example\n")
    records = sync(tmp_path, {"path": name, "format": "seat_assignments"})

    assert only(records, SeatRecord) == [SeatRecord("miro", "Miro Business", "ada@northwind.example")]
    assert only(records, ActivityRecord) == []


SPEND = """\
id,date,amount,currency,merchant,app,description,kind
INV-SLACK-202601,2026-01-01,"$27,000.00",USD,Slack Technologies,slack,"Slack Business+,
150 seats",invoice
,2026-02-03,$20.00,USD,OPENAI *CHATGPT SUBSCR,,ChatGPT Plus,card
,2026-02-03,$20.00,USD,OPENAI *CHATGPT SUBSCR,,ChatGPT Plus,card
,2026-02-04,(12.00),EUR,Refund Co,,,
"""


def test_spend_lines(tmp_path: Path) -> None:
    name = write(tmp_path, "spend.csv", SPEND)
    records = sync(tmp_path, {"path": name, "format": "spend_lines"})

    assert only(records, RowProblem) == []
    lines = only(records, SpendRecord)
    assert lines[0] == SpendRecord(
        external_id="INV-SLACK-202601",
        spent_on=date(2026, 1, 1),
        amount=Decimal("27000.00"),
        currency="USD",
        merchant="Slack Technologies",
        app_id="slack",
        description="Slack Business+,\n150 seats",
        kind="invoice",
    )
    assert [(x.amount, x.currency, x.kind, x.app_id) for x in lines[1:]] == [
        (Decimal("20.00"), "USD", "card", None),
        (Decimal("20.00"), "USD", "card", None),
        (Decimal("-12.00"), "EUR", "invoice", None),
    ]
    ids = [x.external_id for x in lines[1:]]
    assert all(i.startswith("spend.csv#") for i in ids)
    assert len(set(ids)) == 3  # the same charge twice is two lines
    again = only(sync(tmp_path, {"path": name, "format": "spend_lines"}), SpendRecord)
    assert [x.external_id for x in again[1:]] == ids  # stable across runs


def test_semicolons_windows_1252_and_european_numbers(tmp_path: Path) -> None:
    text = (
        "Datum;date;amount;currency;merchant;description\n"
        "x;01.05.2024;1.234,50 €;EUR;Société Générale;Frais de dossier\n"
        "x;02.05.2024;12,5;EUR;Café Zoë;Réunion\n"
    )
    name = write(tmp_path, "spend.csv", text, encoding="cp1252")
    records = sync(tmp_path, {"path": name, "format": "spend_lines"})

    assert only(records, RowProblem) == []
    assert [(x.spent_on, x.amount, x.merchant, x.description) for x in only(records, SpendRecord)] == [
        (date(2024, 5, 1), Decimal("1234.50"), "Société Générale", "Frais de dossier"),
        (date(2024, 5, 2), Decimal("12.5"), "Café Zoë", "Réunion"),
    ]


def test_header_case_spacing_and_underscores_do_not_matter(tmp_path: Path) -> None:
    text = " APP , Sku ,E-Mail,Last Active At\nSlack,Slack Business+,ada@northwind.example,Never\n"
    name = write(tmp_path, "seats.csv", text.replace("E-Mail", "Email"))
    records = sync(tmp_path, {"path": name, "format": "seat_assignments"})

    assert only(records, SeatRecord) == [SeatRecord("slack", "Slack Business+", "ada@northwind.example")]
    assert [replace(a, observed_at=None) for a in only(records, ActivityRecord)] == [
        ActivityRecord("ada@northwind.example", "slack", None, ActivitySource.EXPORT)
    ]


def test_broken_rows_are_reported_by_file_row_and_column_and_good_rows_still_come_through(
    tmp_path: Path,
) -> None:
    shutil.copy(DATA / "seats_broken.csv", tmp_path)
    shutil.copy(DATA / "pools_broken.csv", tmp_path)
    records = sync(
        tmp_path,
        {"path": "seats_broken.csv", "format": "seat_assignments", "exported_at": EXPORTED},
        {"path": "pools_broken.csv", "format": "license_pools"},
    )

    assert only(records, RowProblem) == [
        RowProblem("seats_broken.csv row 3", "assigned_at: no such date: '2026-31-01'"),
        RowProblem("seats_broken.csv row 4", "email: empty"),
        RowProblem("seats_broken.csv row 5", "is_admin: not yes/no: 'maybe' (use True/False, Yes/No or 1/0)"),
        RowProblem("pools_broken.csv row 2", "seats_purchased: not a whole number: 'twelve'"),
        RowProblem(
            "pools_broken.csv row 4",
            "unit_price: not an amount: 'about 200'; billing_period: unknown value 'fortnightly' "
            "(expected one of monthly, month, annual, annually, yearly)",
        ),
    ]
    # Row 6 is blank; rows 2 and 7 are good.
    assert [s.account_external_id for s in only(records, SeatRecord)] == [
        "U01ADA",
        "dee.diodeson@northwind.example",
    ]
    assert [p.sku for p in only(records, LicensePoolRecord)] == ["Zoom Workplace Business"]
    assert only(records, LicensePoolRecord)[0].unit_price == Decimal("18.33")
    # Both files were read to their end.
    assert [(c.stream, c.complete) for c in only(records, Checkpoint)] == [
        ("seats_broken.csv", True),
        ("pools_broken.csv", True),
    ]


def test_problems_never_quote_more_than_the_offending_cell(tmp_path: Path) -> None:
    secret = "salary 250000 USD, home 12 Elm St"
    text = f'app,sku,email,last_active_at,status\nslack,Slack,ada@northwind.example,whenever,"{secret}"\n'
    name = write(tmp_path, "seats.csv", text)
    (problem,) = only(sync(tmp_path, {"path": name, "format": "seat_assignments"}), RowProblem)

    assert problem == RowProblem("seats.csv row 2", "last_active_at: not a date: 'whenever'")


def test_times_after_the_export_read_as_misread_dates(tmp_path: Path) -> None:
    # 11/12/2026 read month-first is 12 November; a day-first file meant 11 December, after the export.
    text = "app,sku,email,last_active_at\nslack,Slack Business+,ada@northwind.example,11/12/2026\n"
    name = write(tmp_path, "seats.csv", text)
    ok = sync(tmp_path, {"path": name, "format": "seat_assignments", "exported_at": EXPORTED})
    misread = sync(
        tmp_path, {"path": name, "format": "seat_assignments", "exported_at": EXPORTED, "date_order": "dmy"}
    )

    assert only(ok, ActivityRecord)[0].last_seen_at == at("2026-11-12")
    assert only(misread, RowProblem) == [
        RowProblem(
            "seats.csv row 2",
            "last_active_at: 2026-12-11 is after the export was taken; is the date order right?",
        )
    ]


def test_a_row_split_by_a_stray_delimiter_is_reported(tmp_path: Path) -> None:
    text = "app,sku,email\nslack,Slack Business+,ada@northwind.example,extra\n"
    name = write(tmp_path, "seats.csv", text)
    (problem,) = only(sync(tmp_path, {"path": name, "format": "seat_assignments"}), RowProblem)

    assert problem.where == "seats.csv row 2"
    assert problem.reason.startswith("the row has 4 cells but the header has 3 columns")


def test_missing_column_is_one_problem_naming_it_and_the_columns_found(tmp_path: Path) -> None:
    name = write(tmp_path, "seats.csv", "app,sku,mail\nslack,Slack Business+,ada@northwind.example\n")
    records = sync(tmp_path, {"path": name, "format": "seat_assignments"})

    assert records == [RowProblem("seats.csv", "missing column(s): email; found: app, sku, mail")]


def test_missing_file_is_a_problem_and_the_other_files_are_still_read(tmp_path: Path) -> None:
    name = write(tmp_path, "seats.csv", "app,sku,email\nslack,Slack Business+,ada@northwind.example\n")
    records = sync(
        tmp_path,
        {"path": "exports/gone.csv", "format": "google_admin_users"},
        {"path": name, "format": "seat_assignments"},
    )

    assert records[0] == RowProblem("gone.csv", f"file not found: {tmp_path / 'exports' / 'gone.csv'}")
    assert len(only(records, SeatRecord)) == 1
    assert only(records, Checkpoint)[-1].complete


def test_utf16_from_excel_unicode_text(tmp_path: Path) -> None:
    text = "\ufeffapp\tsku\temail\nslack\tSlack Business+\tzoë@northwind.example\n"
    name = write(tmp_path, "seats.txt", text, encoding="utf-16-le")
    records = sync(tmp_path, {"path": name, "format": "seat_assignments"})

    assert only(records, SeatRecord) == [SeatRecord("slack", "Slack Business+", "zoë@northwind.example")]


def test_unreadable_csv_stops_the_file_with_a_problem(tmp_path: Path) -> None:
    huge = "x" * 200_000  # beyond the csv module's field size limit
    text = f"app,sku,email\nslack,Slack Business+,ada@northwind.example\nslack,{huge},bo@northwind.example\n"
    name = write(tmp_path, "seats.csv", text)
    records = sync(tmp_path, {"path": name, "format": "seat_assignments"})

    assert len(only(records, SeatRecord)) == 1
    problem = records[-1]
    assert isinstance(problem, RowProblem)
    assert problem.where == "seats.csv row 3"
    assert problem.reason.startswith("not valid CSV from here on: field larger than field limit")
    assert only(records, Checkpoint) == []  # not read to its end


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "this is an Excel workbook, not CSV: save it as CSV UTF-8"),
        ("app,sku,email\n".encode("utf-16-le"), "the file contains NUL characters: save it as CSV UTF-8"),
        (b"\n", "the file is empty: expected a header row first"),
    ],
)
def test_files_that_are_not_csv_are_one_problem(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "seats.csv").write_bytes(content)
    assert sync(tmp_path, {"path": "seats.csv", "format": "seat_assignments"}) == [
        RowProblem("seats.csv", reason)
    ]


def test_big_files_are_checkpointed_every_1000_rows(tmp_path: Path) -> None:
    lines = "".join(f"slack,Slack Business+,user{n}@northwind.example\n" for n in range(2500))
    name = write(tmp_path, "seats.csv", "app,sku,email\n" + lines)
    records = sync(tmp_path, {"path": name, "format": "seat_assignments"})

    checkpoints = [(i, r) for i, r in enumerate(records) if isinstance(r, Checkpoint)]
    assert [(r.cursor, r.complete) for _, r in checkpoints[:2]] == [(None, False), (None, False)]
    assert checkpoints[0][0] == 3000  # after 1000 rows of person, account and seat
    final = checkpoints[-1][1]
    assert final.complete and final.cursor is not None and final.cursor["rows"] == 2500
    assert len(only(records, SeatRecord)) == 2500


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2024-05-01", "mdy", "2024-05-01 00:00:00"),
        ("2024-05-01T10:00:00.000Z", "mdy", "2024-05-01 10:00:00"),
        ("2024-05-01T12:00:00+02:00", "mdy", "2024-05-01 10:00:00"),
        ("2022-03-18 19:49:35Z", "mdy", "2022-03-18 19:49:35"),
        ("2024/05/01 09:58:12", "mdy", "2024-05-01 09:58:12"),
        ("2024/05/01 09:58:12 UTC", "mdy", "2024-05-01 09:58:12"),
        ("5/1/2024", "mdy", "2024-05-01 00:00:00"),
        ("5/1/2024", "dmy", "2024-01-05 00:00:00"),
        ("5/1/2024 9:58 PM", "mdy", "2024-05-01 21:58:00"),
        ("01.05.2024", "mdy", "2024-05-01 00:00:00"),  # dotted dates are day-first everywhere
        ("01.05.2024 13:45", "mdy", "2024-05-01 13:45:00"),
    ],
)
def test_date_spellings(text: str, order: Any, expected: str) -> None:
    assert parse_timestamp(text, order) == at(expected)


@pytest.mark.parametrize(
    ("text", "order", "message"),
    [
        ("13/05/2024", "mdy", "not a M/D/YYYY date: '13/05/2024' (set date_order: dmy for this file"),
        ("05/13/2024", "dmy", "not a D/M/YYYY date: '05/13/2024' (set date_order: mdy for this file"),
        ("31.02.2024", "mdy", "no such date: '31.02.2024'"),
        ("5/1/24", "mdy", "not a date: '5/1/24'"),
        ("yesterday", "mdy", "not a date: 'yesterday'"),
        ("5/1/2024 13:00 PM", "mdy", "not a time of day: '5/1/2024 13:00 PM'"),
    ],
)
def test_bad_dates(text: str, order: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_timestamp(text, order)


@pytest.mark.parametrize(
    "text", ["", "Never", "never logged in", "1970-01-01T00:00:00.000Z", "0001-01-01T00:00:00Z"]
)
def test_never_spellings(text: str) -> None:
    assert parse_last_seen(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", "1234.5"),
        ("$1,234.50", "1234.50"),
        ("1.234,50 €", "1234.50"),
        ("1.234.567", "1234567"),
        ("12,50", "12.50"),
        ("1,234", "1234"),
        ("USD 12", "12"),
        ("12.00 USD", "12.00"),
        ("(12.00)", "-12.00"),
        ("-$5", "-5"),
        ("1 234,50", "1234.50"),
    ],
)
def test_money_spellings(text: str, expected: str) -> None:
    assert parse_money(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["twelve", "1e5", "$", "1,2,3.4.5"])
def test_bad_money(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_money(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("True", True), ("FALSE", False), ("Yes", True), ("no", False), ("1", True), ("0", False), ("Y", True)],
)
def test_boolean_spellings(text: str, expected: bool) -> None:
    assert parse_bool(text) is expected


@pytest.mark.parametrize(("text", "expected"), [("1,200", 1200), ("12.0", 12), ("1.200", 1200), (" 7 ", 7)])
def test_count_spellings(text: str, expected: int) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ({"path": "a.csv", "format": "seat_assignments", "sku": "X"}, "sku is only for google_admin_users"),
        ({"path": "a.csv", "format": "license_pools", "app": "slack"}, "app is not used by license_pools"),
        ({"path": "a.csv", "format": "spend_lines", "idp": True}, "idp is only for"),
        ({"path": "a.csv", "format": "seat_assignments", "colour": "red"}, "Extra inputs are not permitted"),
        ({"path": "a.csv", "format": "xlsx"}, "Input should be 'google_admin_users'"),
        (
            {"path": "a.csv", "format": "seat_assignments", "date_order": "ymd"},
            "Input should be 'mdy' or 'dmy'",
        ),
    ],
)
def test_settings_are_checked(file: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CsvImportSettings.model_validate({"files": [file]})


def test_settings_reject_a_file_listed_twice_and_take_naive_times_as_utc() -> None:
    with pytest.raises(ValidationError, match=r"repeated: a\.csv"):
        CsvImportSettings.model_validate({"files": [{"path": "a.csv", "format": "spend_lines"}] * 2})
    settings = CsvImportSettings.model_validate(
        {"files": [{"path": "a.csv", "format": "spend_lines", "exported_at": "2026-11-20T08:00:00"}]}
    )
    assert settings.files[0].exported_at == at("2026-11-20 08:00:00")


def test_connector_declaration() -> None:
    assert get_connector("csv_import") is CsvImportConnector
    assert CsvImportConnector.scopes == ()
    assert CsvImportConnector.settings_model is CsvImportSettings
    assert CsvImportConnector.snapshot_kinds == CsvImportConnector.data_kinds
    assert DataKind.GRANTS not in CsvImportConnector.data_kinds
    assert len(CsvImportConnector.data_kinds) == 6


# The bundled sample tenant -----------------------------------------------------------------------


def load_generator(monkeypatch: pytest.MonkeyPatch) -> Any:
    spec = importlib.util.spec_from_file_location("northwind_generator", SAMPLES / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_sample_files_are_what_the_generator_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_generator(monkeypatch).generate(tmp_path)
    exports = ["google_users.csv", "m365_users.csv", "m365_activity.csv", "seats.csv", "license_pools.csv"]
    expected = [Path("expected_findings.json"), *(Path("exports") / n for n in [*exports, "spend.csv"])]
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(expected)
    for path in written:
        assert (tmp_path / path).read_bytes() == (NORTHWIND / path).read_bytes(), (
            f"{path} is stale: regenerate"
        )


def sample_records() -> list[Record]:
    config = yaml.safe_load((NORTHWIND.parent / "northwind.yaml").read_text())
    settings = config["tenants"][0]["connectors"][0]["settings"]
    connector = CsvImportConnector(CsvImportSettings.model_validate(settings))
    return list(connector.sync(SyncContext(tenant_id="northwind", source="csv", base_dir=NORTHWIND.parent)))


def test_sample_exports_read_cleanly() -> None:
    records = sample_records()

    assert only(records, RowProblem) == []
    assert [(c.stream, c.cursor and c.cursor["rows"]) for c in only(records, Checkpoint)] == [
        ("northwind/exports/google_users.csv", 150),
        ("northwind/exports/m365_users.csv", 35),
        ("northwind/exports/m365_activity.csv", 35),
        ("northwind/exports/seats.csv", 715),
        ("northwind/exports/license_pools.csv", 16),  # slack and salesforce are contracts
        ("northwind/exports/spend.csv", 161),
    ]
    people = {p.email: p for p in only(records, PersonRecord) if p.status}
    assert len(people) == 150
    assert sorted(e for e, p in people.items() if p.status is IdpStatus.SUSPENDED) == [
        "marcel.rivetti@northwind.example",
        "priya.torqueman@northwind.example",
        "tobias.cogsworth@northwind.example",
    ]
    assert all(e.endswith("@northwind.example") for e in people)
    shadow = {s.merchant for s in only(records, SpendRecord) if s.app_id is None}
    assert shadow == {"CALENDLY", "GRAMMARLY CO INC", "OPENAI *CHATGPT SUBSCR"}


def sample_contracts() -> list[LicensePoolRecord]:
    """The pools the sample config enters by hand as contracts, in the connector's record shape."""
    config = yaml.safe_load((NORTHWIND.parent / "northwind.yaml").read_text())
    return [
        LicensePoolRecord(
            app_id=c["app"],
            sku=c["sku"],
            seats_purchased=c["seats"],
            unit_price=Decimal(str(c["unit_price"])),
            billing_period=BillingPeriod(c["billing_period"]),
        )
        for c in config["tenants"][0]["contracts"]
    ]


def planted_findings(records: list[Record], today: date) -> list[tuple[str, str, str, str, str]]:
    """The unused_seats rules applied to the sample as csv_import reads it: an oracle for the sample's
    expected findings, independent of the analyzer."""
    emails = {(a.app_id, a.external_id): a.email for a in only(records, AccountRecord)}
    seen: dict[tuple[str | None, str], list[datetime | None]] = {}
    for a in only(records, ActivityRecord):
        seen.setdefault((a.email, a.app_id), []).append(a.last_seen_at)
    pools = {(p.app_id, p.sku): p for p in [*only(records, LicensePoolRecord), *sample_contracts()]}
    found, held = [], dict.fromkeys(pools, 0)
    for seat in only(records, SeatRecord):
        pool, email = pools[(seat.app_id, seat.sku)], emails[(seat.app_id, seat.account_external_id)]
        held[(seat.app_id, seat.sku)] += 1
        assert pool.unit_price is not None
        price = pool.unit_price / (12 if pool.billing_period is BillingPeriod.ANNUAL else 1)
        times = [t for t in seen[(email, seat.app_id)] if t is not None]  # KeyError: a seat nobody reports on
        limit = 30 if seat.app_id == "zoom" else 60
        if times and (today - max(times).date()).days > limit:
            found.append(("inactive", seat.app_id, seat.sku, str(email), f"{price:.2f}"))
        elif not times and seat.assigned_at and (today - seat.assigned_at.date()).days > 14:
            found.append(("never_active", seat.app_id, seat.sku, str(email), f"{price:.2f}"))
    for key, pool in pools.items():
        spare = (pool.seats_purchased or 0) - held[key]
        if spare > 0 and pool.unit_price is not None:
            price = pool.unit_price / (12 if pool.billing_period is BillingPeriod.ANNUAL else 1)
            found.append(("unassigned", key[0], key[1], "unassigned", f"{price * spare:.2f}"))
    return sorted(found)


def test_sample_holds_exactly_the_planted_waste() -> None:
    expected = json.loads((NORTHWIND / "expected_findings.json").read_text())
    findings = expected["unused_seats"]["findings"]
    planted = sorted((f["rule"], f["app"], f["sku"], f["subject"], f["monthly_waste"]) for f in findings)

    assert planted_findings(sample_records(), date.fromisoformat(expected["evaluated_on"])) == planted
    assert expected["unused_seats"]["monthly_waste_total"] == expected["total_monthly_waste"] == "1635.40"
    assert sum(Decimal(v) for v in expected["monthly_waste_by_app"].values()) == Decimal("1635.40")
    assert sum(Decimal(f["monthly_waste"]) for f in findings) == Decimal("1635.40")
    near_misses = {m["subject"] for m in expected["unused_seats"]["not_flagged"]}
    assert near_misses.isdisjoint(f["subject"] for f in findings if f["app"] in ("slack", "zoom", "notion"))
