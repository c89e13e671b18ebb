#!/usr/bin/env python3
"""Write the saaswatch Grafana dashboards: ``saaswatch-fleet.json``, ``saaswatch-tenant.json`` and
``saaswatch-connectors.json`` beside this file.

Each dashboard is described below, one call per panel, and written as a Grafana JSON model
(schemaVersion 39: Grafana 10.4 and 11). Code keeps what the JSON repeats on every panel in one place:
the ``${datasource}`` variable, ids, grid positions, and the merge / filter / rename steps that turn
several instant queries into one table. Edit this file and run it; ``tests/integration/test_dashboards.py``
checks that the JSON files are what it writes, and runs every query against a real Prometheus scraping
the sample tenant. A dashboard changed in Grafana's editor can be exported and its changes ported here.

Money: every money metric is per month in the tenant's reporting currency, named in its ``currency``
label, and tenants of one instance may report in different currencies. So money panels use the plain
``locale`` unit (``1,234.56``) and name the currency in the title (the tenant dashboard's hidden
``currency`` variable) or in the legend and a table column (the fleet view), never a fixed currency
unit such as ``currencyUSD``, which would print ``$`` in front of euros. No panel adds money across
tenants.

Standard library only; every run writes the same bytes. ::

    python3 dashboards/generate.py              # rewrites dashboards/saaswatch-*.json
    python3 dashboards/generate.py --out DIR    # writes DIR/ instead
"""

# Panel descriptions are read in Grafana, where the multiplication, division and minus signs read best.
# ruff: noqa: RUF001

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]

HERE = Path(__file__).resolve().parent
SCHEMA_VERSION = 39
GRID_WIDTH = 24
DATASOURCE: Json = {"type": "prometheus", "uid": "${datasource}"}
TAG = "saaswatch"

MONEY = "locale"  # a plain number with thousands separators; the currency is named beside it
COUNT = "none"
RATIO = "percentunit"
SECONDS = "s"
DATE = "time:YYYY-MM-DD"  # a custom unit: the value is a Unix time in milliseconds
DATETIME = "dateTimeAsIso"
DAYS = 86400

SEVERITY_COLOURS = {"high": "red", "medium": "orange", "low": "yellow", "info": "blue"}
STATUS_COLOURS = {"success": "green", "partial": "orange", "failed": "red", "aborted": "purple"}


def steps(base: str, *levels: tuple[float, str]) -> Json:
    """Absolute thresholds: ``base`` below the first level, then each level's colour from it up."""
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": colour, "value": value} for value, colour in levels],
    }


NEUTRAL = steps("blue")
ZERO_IS_GOOD = steps("green", (1, "red"))
ZERO_IS_GOOD_WARN = steps("green", (1, "orange"))
UTILISATION = steps("red", (0.7, "orange"), (0.85, "green"))
WASTE_SHARE = steps("green", (0.1, "orange"), (0.2, "red"))
OF_THRESHOLD = steps("green", (0.8, "orange"), (1, "red"))
DAYS_LEFT = steps("red", (30, "orange"), (90, "green"))
CREDENTIAL_DAYS_LEFT = steps("red", (7, "orange"), (30, "green"))
RISK = steps("green", (30, "yellow"), (50, "orange"), (70, "red"))
INTERVALS_SINCE_SUCCESS = steps("green", (1.5, "orange"), (2, "red"))


@dataclass(frozen=True)
class Query:
    """One PromQL target. ``legend`` is Grafana's legend format (``{{label}}``); in a table, ``column``
    names the query's value column and ``hide_value`` drops it (a query kept for its labels)."""

    expr: str
    legend: str = ""
    column: str = ""
    unit: str = ""
    decimals: int | None = None
    thresholds: Json | None = None
    mappings: tuple[Json, ...] = ()
    hide_value: bool = False


@dataclass(frozen=True)
class Column:
    """A label shown as a table column, under ``title``; ``link`` makes its cells links."""

    label: str
    title: str
    link: Json | None = None


def _target(query: Query, ref: str, *, instant: bool, table: bool) -> Json:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": query.expr,
        "format": "table" if table else "time_series",
        "instant": instant,
        "legendFormat": query.legend or "__auto",
        "range": not instant,
        "refId": ref,
    }


def _refs(queries: list[Query]) -> list[str]:
    return [chr(ord("A") + i) for i in range(len(queries))]


def _defaults(unit: str, thresholds: Json, decimals: int | None, **extra: Any) -> Json:
    defaults: Json = {"unit": unit, "thresholds": thresholds, "mappings": [], **extra}
    if decimals is not None:
        defaults["decimals"] = decimals
    return defaults


def _panel(kind: str, title: str, description: str, queries: list[Query], **config: Any) -> Json:
    instant = config.pop("instant", kind != "timeseries")
    table = kind == "table"
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": [
            _target(q, ref, instant=instant, table=table)
            for q, ref in zip(queries, _refs(queries), strict=True)
        ],
        **config,
    }


def _money_decimals(unit: str, decimals: int | None) -> int | None:
    return 2 if decimals is None and unit == MONEY else decimals


def stat(
    title: str,
    description: str,
    query: Query,
    unit: str,
    thresholds: Json = NEUTRAL,
    *,
    decimals: int | None = None,
    no_value: str | None = None,
    mappings: list[Json] | None = None,
) -> Json:
    """A single number (with a sparkline of the selected time range)."""
    defaults = _defaults(
        unit,
        thresholds,
        _money_decimals(unit, decimals),
        color={"mode": "thresholds"},
    )
    defaults["mappings"] = mappings or []
    if no_value is not None:
        defaults["noValue"] = no_value
    return _panel(
        "stat",
        title,
        description,
        [query],
        instant=False,
        fieldConfig={"defaults": defaults, "overrides": []},
        options={
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showPercentChange": False,
            "textMode": "auto",
            "wideLayout": True,
        },
    )


def timeseries(
    title: str,
    description: str,
    queries: list[Query],
    unit: str,
    *,
    decimals: int | None = None,
    dashed: tuple[str, ...] = (),
    colours: dict[str, str] | None = None,
    thresholds: Json = NEUTRAL,
    threshold_lines: bool = False,
    stepped: bool = False,
) -> Json:
    """Lines over the dashboard's time range. Queries named in ``dashed`` (by ref id) are reference
    lines (a threshold, twice an interval) drawn dashed; ``colours`` pins a colour per series name."""
    refs = _refs(queries)
    overrides = [
        {
            "matcher": {"id": "byFrameRefID", "options": ref},
            "properties": [
                {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                {"id": "custom.fillOpacity", "value": 0},
            ],
        }
        for ref in refs
        if ref in dashed
    ]
    overrides += _colour_overrides(colours)
    custom = {
        "axisBorderShow": False,
        "axisPlacement": "auto",
        "drawStyle": "line",
        "fillOpacity": 10,
        "gradientMode": "none",
        "lineInterpolation": "stepAfter" if stepped else "linear",
        "lineWidth": 1,
        "pointSize": 4,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "none"},
        "thresholdsStyle": {"mode": "line+area" if threshold_lines else "off"},
    }
    defaults = _defaults(
        unit,
        thresholds,
        _money_decimals(unit, decimals),
        color={"mode": "palette-classic"},
        custom=custom,
        min=0,
    )
    return _panel(
        "timeseries",
        title,
        description,
        queries,
        fieldConfig={"defaults": defaults, "overrides": overrides},
        options={
            "legend": {
                "calcs": ["lastNotNull", "max"],
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    )


def bargauge(
    title: str,
    description: str,
    query: Query,
    unit: str,
    thresholds: Json = NEUTRAL,
    *,
    decimals: int | None = None,
    maximum: float | None = None,
    no_value: str | None = None,
) -> Json:
    """Horizontal bars, one per series, coloured by ``thresholds``; current values."""
    defaults = _defaults(
        unit, thresholds, _money_decimals(unit, decimals), color={"mode": "thresholds"}, min=0
    )
    if maximum is not None:
        defaults["max"] = maximum
    if no_value is not None:
        defaults["noValue"] = no_value
    return _panel(
        "bargauge",
        title,
        description,
        [query],
        fieldConfig={"defaults": defaults, "overrides": []},
        options={
            "displayMode": "gradient",
            "maxVizHeight": 300,
            "minVizHeight": 16,
            "minVizWidth": 8,
            "namePlacement": "auto",
            "orientation": "horizontal",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showUnfilled": True,
            "sizing": "auto",
            "valueMode": "color",
        },
    )


def piechart(
    title: str, description: str, query: Query, unit: str, *, colours: dict[str, str] | None = None
) -> Json:
    """A donut of current values with a table legend (value and share)."""
    defaults = _defaults(unit, NEUTRAL, _money_decimals(unit, None), color={"mode": "palette-classic"})
    return _panel(
        "piechart",
        title,
        description,
        [query],
        fieldConfig={"defaults": defaults, "overrides": _colour_overrides(colours)},
        options={
            "displayLabels": ["percent"],
            "legend": {
                "displayMode": "table",
                "placement": "right",
                "showLegend": True,
                "values": ["value", "percent"],
            },
            "pieType": "donut",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "tooltip": {"mode": "single", "sort": "none"},
        },
    )


def table(
    title: str,
    description: str,
    queries: list[Query],
    columns: list[Column],
    *,
    sort_by: str | None = None,
    descending: bool = True,
) -> Json:
    """Instant queries joined into one row per label set.

    Grafana's ``merge`` joins the queries' rows on the fields every query has (their common labels),
    ``filterFieldsByName`` keeps the ``columns`` and the value columns, ``organize`` orders and names
    them. So every query of a table must return the label set its rows are keyed on, and no
    ``__name__`` (aggregate or compute, never select bare), or rows would not join.
    """
    refs = _refs(queries)
    # Grafana names a table query's value "Value" when the panel has one query, else "Value #<ref>".
    values = {ref: "Value" if len(queries) == 1 else f"Value #{ref}" for ref in refs}
    shown = [c.label for c in columns] + [
        values[ref] for q, ref in zip(queries, refs, strict=True) if not q.hide_value
    ]
    renames = {c.label: c.title for c in columns}
    overrides: list[Json] = []
    for q, ref in zip(queries, refs, strict=True):
        if q.hide_value:
            continue
        renames[values[ref]] = q.column
        properties: list[Json] = [{"id": "unit", "value": q.unit or COUNT}]
        decimals = _money_decimals(q.unit, q.decimals)
        if decimals is not None:
            properties.append({"id": "decimals", "value": decimals})
        if q.thresholds is not None:
            properties += [
                {"id": "thresholds", "value": q.thresholds},
                {"id": "color", "value": {"mode": "thresholds"}},
                {"id": "custom.cellOptions", "value": {"type": "color-text"}},
            ]
        if q.mappings:
            properties.append({"id": "mappings", "value": list(q.mappings)})
        overrides.append({"matcher": {"id": "byName", "options": q.column}, "properties": properties})
    for c in columns:
        if c.link is not None:
            overrides.append(
                {
                    "matcher": {"id": "byName", "options": c.title},
                    "properties": [{"id": "links", "value": [c.link]}],
                }
            )
    transformations: list[Json] = []
    if len(queries) > 1:
        transformations.append({"id": "merge", "options": {}})
    transformations += [
        {"id": "filterFieldsByName", "options": {"include": {"names": shown}}},
        {
            "id": "organize",
            "options": {
                "excludeByName": {},
                "indexByName": {name: i for i, name in enumerate(shown)},
                "renameByName": renames,
            },
        },
    ]
    options: Json = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
        "showHeader": True,
    }
    if sort_by is not None:
        options["sortBy"] = [{"desc": descending, "displayName": sort_by}]
    defaults = _defaults(
        COUNT,
        NEUTRAL,
        None,
        color={"mode": "thresholds"},
        custom={"align": "auto", "cellOptions": {"type": "auto"}, "filterable": True, "inspect": False},
    )
    return _panel(
        "table",
        title,
        description,
        queries,
        fieldConfig={"defaults": defaults, "overrides": overrides},
        options=options,
        transformations=transformations,
    )


def _colour_overrides(colours: dict[str, str] | None) -> list[Json]:
    return [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [{"id": "color", "value": {"fixedColor": colour, "mode": "fixed"}}],
        }
        for name, colour in (colours or {}).items()
    ]


def value_map(*pairs: tuple[str, str, str]) -> Json:
    """A value mapping: each (value, text, colour)."""
    return {
        "type": "value",
        "options": {
            value: {"index": i, "text": text, "color": colour}
            for i, (value, text, colour) in enumerate(pairs)
        },
    }


@dataclass
class Board:
    """Lays panels out left to right on Grafana's 24-column grid, under full-width rows."""

    uid: str
    title: str
    description: str
    variables: list[Json]
    timezone: str = ""
    panels: list[Json] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _line_height: int = 0

    def _next_id(self) -> int:
        return len(self.panels) + 1

    def _new_line(self) -> None:
        self._y += self._line_height
        self._x = 0
        self._line_height = 0

    def row(self, title: str) -> None:
        self._new_line()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "id": self._next_id(),
                "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": self._y},
                "panels": [],
            }
        )
        self._y += 1

    def add(self, panel: Json, width: int, height: int) -> None:
        if self._x + width > GRID_WIDTH:
            self._new_line()
        panel = {
            "id": self._next_id(),
            "gridPos": {"h": height, "w": width, "x": self._x, "y": self._y},
            **panel,
        }
        self.panels.append(panel)
        self._x += width
        self._line_height = max(self._line_height, height)

    def model(self) -> Json:
        return {
            "annotations": {
                "list": [
                    {
                        "builtIn": 1,
                        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                        "enable": True,
                        "hide": True,
                        "iconColor": "rgba(0, 211, 255, 1)",
                        "name": "Annotations & Alerts",
                        "type": "dashboard",
                    }
                ]
            },
            "description": self.description,
            "editable": True,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "id": None,
            "links": [
                {
                    "asDropdown": True,
                    "icon": "external link",
                    "includeVars": True,
                    "keepTime": True,
                    "tags": [TAG],
                    "title": "saaswatch dashboards",
                    "type": "dashboards",
                }
            ],
            "panels": self.panels,
            "refresh": "5m",
            "schemaVersion": SCHEMA_VERSION,
            "tags": [TAG],
            "templating": {"list": self.variables},
            "time": {"from": "now-7d", "to": "now"},
            "timepicker": {},
            "timezone": self.timezone,
            "title": self.title,
            "uid": self.uid,
            "version": 1,
            "weekStart": "",
        }


# --- template variables ---------------------------------------------------------------------------


def datasource_variable() -> Json:
    return {
        "current": {},
        "hide": 0,
        "includeAll": False,
        "label": "Data source",
        "multi": False,
        "name": "datasource",
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
        "type": "datasource",
    }


def query_variable(name: str, label: str, query: str, *, multi: bool, hide: int = 0) -> Json:
    """A ``label_values(...)`` variable; ``multi`` also offers "All" (every value, as a regex)."""
    variable: Json = {
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if multi else {},
        "datasource": DATASOURCE,
        "definition": query,
        "hide": hide,
        "includeAll": multi,
        "label": label,
        "multi": multi,
        "name": name,
        "options": [],
        # A string: Grafana 10 and 11 run it as it is and parse it into their query editor.
        "query": query,
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }
    return variable


TENANTS_QUERY = "label_values(saaswatch_tenant_info, tenant)"

# Selections, multi-valued: Grafana sends a regex such as (acme|globex), so they are matched with =~.
T = 'tenant=~"$tenant"'
TC = 'tenant=~"$tenant", connector=~"$connector"'
# The tenant dashboard shows one tenant.
ONE = 'tenant="$tenant"'


def _utilisation(selector: str, by: str) -> str:
    """Active seats over purchased seats, counting only pools whose active seats are known (a pool
    with no activity source has no ``active`` series and would otherwise read as unused)."""
    return (
        f'sum by ({by}) (saaswatch_license_seats{{{selector}, state="active"}})\n'
        f"/\n"
        f'sum by ({by}) (saaswatch_license_seats{{{selector}, state="purchased"}}'
        f' and on (tenant, app, sku) saaswatch_license_seats{{{selector}, state="active"}})'
    )


# --- fleet ------------------------------------------------------------------------------------------


def fleet() -> Board:
    board = Board(
        uid="saaswatch-fleet",
        title="saaswatch / Fleet",
        description=(
            "Every tenant at once, for an MSP: waste, spend, utilisation, findings and connector health. "
            "Money is per month in each tenant's own currency (the currency column / legend); it is "
            "never added across tenants."
        ),
        variables=[datasource_variable(), query_variable("tenant", "Tenant", TENANTS_QUERY, multi=True)],
    )
    tenant_link = {
        "title": "Open ${__value.raw} in the tenant dashboard",
        "url": "/d/saaswatch-tenant/saaswatch-tenant"
        "?${datasource:queryparam}&var-tenant=${__value.raw}&${__url_time_range}",
    }

    board.row("Fleet")
    board.add(
        stat(
            "Tenants",
            "Tenants selected (configured in saaswatch and scraped).",
            Query(f"count(saaswatch_tenant_info{{{T}}})"),
            COUNT,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Tenants over their waste threshold",
            "Tenants whose monthly waste (each seat counted once) is above their alert threshold "
            "(alerting.monthly_waste_threshold in the config).",
            Query(
                f"sum(\n  saaswatch_tenant_monthly_waste{{{T}}}\n"
                f"  > bool saaswatch_tenant_monthly_waste_threshold{{{T}}}\n)"
            ),
            COUNT,
            ZERO_IS_GOOD,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Open waste findings",
            "Open findings with verdict FAIL (waste or a risk) across the selected tenants.",
            Query(f'sum(saaswatch_findings{{{T}, verdict="fail"}})'),
            COUNT,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "UNKNOWN findings",
            "Open findings analyzers could not decide because the data they depend on is stale or "
            "missing. Anything above 0 hides waste: fix the connector it names.",
            Query(f'sum(saaswatch_findings{{{T}, verdict="unknown"}})'),
            COUNT,
            ZERO_IS_GOOD_WARN,
            no_value="0",
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Stale connectors",
            "Connectors whose data must not be trusted: never synced, last sync failed or aborted, or "
            "the last success older than stale_after.",
            Query(f"sum(saaswatch_connector_stale{{{T}}})"),
            COUNT,
            ZERO_IS_GOOD,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Connectors failing",
            "Connectors whose last sync failed or was aborted.",
            Query(f'sum(saaswatch_connector_last_run_status{{{T}, status=~"failed|aborted"}})'),
            COUNT,
            ZERO_IS_GOOD,
        ),
        4,
        4,
    )

    board.row("Per tenant")
    board.add(
        table(
            "Tenants at a glance",
            "One row per tenant. Money is per month (annual waste: × 12) in the tenant's currency. "
            "Waste counts each seat once across analyzers (saaswatch_tenant_monthly_waste). Utilisation is "
            "active ÷ purchased seats of the pools whose activity is known. Click a tenant to open it.",
            [
                Query(f"group by (tenant, name, currency) (saaswatch_tenant_info{{{T}}})", hide_value=True),
                Query(
                    f"sum by (tenant) (saaswatch_app_monthly_spend{{{T}}})",
                    column="Monthly spend",
                    unit=MONEY,
                ),
                Query(
                    f"sum by (tenant) (saaswatch_tenant_monthly_waste{{{T}}})",
                    column="Monthly waste",
                    unit=MONEY,
                ),
                Query(
                    f"12 * sum by (tenant) (saaswatch_tenant_monthly_waste{{{T}}})",
                    column="Annual waste",
                    unit=MONEY,
                ),
                Query(
                    f"sum by (tenant) (saaswatch_tenant_monthly_waste{{{T}}})\n/\n"
                    f"sum by (tenant) (saaswatch_app_monthly_spend{{{T}}})",
                    column="Waste share",
                    unit=RATIO,
                    decimals=1,
                    thresholds=WASTE_SHARE,
                ),
                Query(
                    f"sum by (tenant) (saaswatch_tenant_monthly_waste{{{T}}})\n/\n"
                    f"sum by (tenant) (saaswatch_tenant_monthly_waste_threshold{{{T}}})",
                    column="Waste / threshold",
                    unit=RATIO,
                    decimals=0,
                    thresholds=OF_THRESHOLD,
                ),
                Query(
                    _utilisation(T, "tenant"),
                    column="Utilisation",
                    unit=RATIO,
                    decimals=1,
                    thresholds=UTILISATION,
                ),
                Query(
                    f"sum by (tenant) (saaswatch_realised_monthly_savings{{{T}}})",
                    column="Realised savings",
                    unit=MONEY,
                ),
                Query(f'sum by (tenant) (saaswatch_findings{{{T}, verdict="fail"}})', column="Open findings"),
                Query(
                    f"sum by (tenant) (saaswatch_connector_stale{{{T}}})",
                    column="Stale connectors",
                    thresholds=ZERO_IS_GOOD,
                ),
            ],
            [
                Column("tenant", "Tenant", link=tenant_link),
                Column("name", "Name"),
                Column("currency", "Currency"),
            ],
            sort_by="Monthly waste",
        ),
        24,
        8,
    )

    board.row("Money per tenant")
    board.add(
        bargauge(
            "Monthly waste per tenant",
            "Open waste per month with each seat counted once (a leaver's idle seat is both an offboarding "
            "and an unused-seat finding, counted once here), in each tenant's currency.",
            Query(f"sort_desc(saaswatch_tenant_monthly_waste{{{T}}})", legend="{{tenant}} ({{currency}})"),
            MONEY,
        ),
        8,
        8,
    )
    board.add(
        bargauge(
            "Annual waste per tenant",
            "Monthly waste × 12: what a year of doing nothing costs, in each tenant's currency.",
            Query(
                f"sort_desc(12 * saaswatch_tenant_monthly_waste{{{T}}})", legend="{{tenant}} ({{currency}})"
            ),
            MONEY,
        ),
        8,
        8,
    )
    board.add(
        bargauge(
            "Monthly license spend per tenant",
            "Seats purchased × monthly unit price (annual prices ÷ 12), over every priced license pool, in "
            "each tenant's currency.",
            Query(
                f"sort_desc(sum by (tenant, currency) (saaswatch_app_monthly_spend{{{T}}}))",
                legend="{{tenant}} ({{currency}})",
            ),
            MONEY,
        ),
        8,
        8,
    )
    board.add(
        timeseries(
            "Monthly waste over time, with each tenant's threshold",
            "Solid: monthly waste per tenant (each seat counted once). Dashed: the tenant's waste alert "
            "threshold. Falling lines are savings being made.",
            [
                Query(f"saaswatch_tenant_monthly_waste{{{T}}}", legend="{{tenant}} ({{currency}})"),
                Query(
                    f"saaswatch_tenant_monthly_waste_threshold{{{T}}}",
                    legend="{{tenant}} threshold ({{currency}})",
                ),
            ],
            MONEY,
            dashed=("B",),
        ),
        12,
        9,
    )
    board.add(
        bargauge(
            "Seat utilisation per tenant",
            "Active seats ÷ purchased seats, over the license pools whose activity is known. Below 70 % "
            "is red, below 85 % orange.",
            Query(f"sort({_utilisation(T, 'tenant')})", legend="{{tenant}}"),
            RATIO,
            UTILISATION,
            decimals=1,
            maximum=1,
        ),
        6,
        9,
    )
    board.add(
        bargauge(
            "Realised savings per tenant",
            "Monthly money of findings that were open and are now resolved (seats removed, leavers "
            "offboarded), in each tenant's currency.",
            Query(
                f"sort_desc(sum by (tenant, currency) (saaswatch_realised_monthly_savings{{{T}}}))",
                legend="{{tenant}} ({{currency}})",
            ),
            MONEY,
            steps("green"),
        ),
        6,
        9,
    )

    board.row("Findings")
    board.add(
        bargauge(
            "Open findings by analyzer",
            "Open findings (FAIL and UNKNOWN) per analyzer across the selected tenants.",
            Query(f"sort_desc(sum by (analyzer) (saaswatch_findings{{{T}}}))", legend="{{analyzer}}"),
            COUNT,
        ),
        8,
        8,
    )
    board.add(
        piechart(
            "Open findings by severity",
            "Open findings per severity across the selected tenants.",
            Query(f"sum by (severity) (saaswatch_findings{{{T}}})", legend="{{severity}}"),
            COUNT,
            colours=SEVERITY_COLOURS,
        ),
        8,
        8,
    )
    board.add(
        bargauge(
            "UNKNOWN findings per tenant and analyzer",
            "Decisions an analyzer could not make because a source is stale or missing (verdict UNKNOWN). "
            "Fix the source: until then the waste it would show is invisible.",
            Query(
                f'sort_desc(sum by (tenant, analyzer) (saaswatch_findings{{{T}, verdict="unknown"}}))',
                legend="{{tenant}} / {{analyzer}}",
            ),
            COUNT,
            ZERO_IS_GOOD_WARN,
            no_value="None: every decision had its data",
        ),
        8,
        8,
    )
    board.add(
        table(
            "Open findings per tenant, analyzer and severity",
            "Counts of open findings. saaswatch findings --tenant <tenant> lists them with their money "
            "and evidence.",
            [
                Query(
                    f"sum by (tenant, analyzer, severity, verdict) (saaswatch_findings{{{T}}})",
                    column="Findings",
                )
            ],
            [
                Column("tenant", "Tenant", link=tenant_link),
                Column("analyzer", "Analyzer"),
                Column("severity", "Severity"),
                Column("verdict", "Verdict"),
            ],
            sort_by="Findings",
        ),
        12,
        8,
    )
    board.add(
        timeseries(
            "Open findings over time by severity",
            "Open findings per severity across the selected tenants.",
            [Query(f"sum by (severity) (saaswatch_findings{{{T}}})", legend="{{severity}}")],
            COUNT,
            colours=SEVERITY_COLOURS,
        ),
        12,
        8,
    )

    board.row("Connector health")
    board.add(
        bargauge(
            "Stale connectors per tenant",
            "Connectors whose data must not be trusted (never synced, last sync failed or aborted, or no "
            "success within stale_after). The connectors dashboard has the detail.",
            Query(f"sort_desc(sum by (tenant) (saaswatch_connector_stale{{{T}}}))", legend="{{tenant}}"),
            COUNT,
            ZERO_IS_GOOD,
        ),
        8,
        7,
    )
    board.add(
        bargauge(
            "Failing connectors per tenant",
            "Connectors whose last sync failed or was aborted.",
            Query(
                f"sort_desc(sum by (tenant) (\n"
                f'  saaswatch_connector_last_run_status{{{T}, status=~"failed|aborted"}}\n))',
                legend="{{tenant}}",
            ),
            COUNT,
            ZERO_IS_GOOD,
        ),
        8,
        7,
    )
    board.add(
        bargauge(
            "Connectors whose last sync had problems",
            "Connectors whose last sync reported bad rows or items (run partial): what they skipped is "
            "not in the findings. Details in the run record and the daemon log.",
            Query(
                f"sort_desc(sum by (tenant) (saaswatch_connector_last_run_problems{{{T}}} > bool 0))",
                legend="{{tenant}}",
            ),
            COUNT,
            ZERO_IS_GOOD_WARN,
        ),
        8,
        7,
    )
    return board


# --- one tenant -------------------------------------------------------------------------------------


def _named(expr: str, labels: str = "name") -> str:
    """Bring the app's name (and other app_info labels) in: one series per app is joined on (tenant, app)."""
    return f"{expr}\n* on (tenant, app) group_left ({labels}) saaswatch_app_info{{{ONE}}}"


WASTE_KEYS = "tenant, app, analyzer, reason, currency"


def _named_or_id(expr: str, keys: str = WASTE_KEYS) -> str:
    """Like ``_named``, for findings' series: a finding without a license pool has ``app="none"``, which
    has no ``saaswatch_app_info``, so it keeps its app label as its name instead of dropping out of the
    join (and its money out of the panel). ``keys`` are the labels of ``expr``."""
    return f'(\n{_named(expr)}\n)\nor on ({keys})\nlabel_replace({expr}, "name", "$1", "app", "(.*)")'


def tenant() -> Board:
    board = Board(
        uid="saaswatch-tenant",
        title="saaswatch / Tenant",
        description=(
            "One tenant: where the money goes, what is wasted and why, renewals ahead, overlaps, shadow IT, "
            "vendor risk and department showback. Money is per month in the tenant's currency. Dates are UTC."
        ),
        variables=[
            datasource_variable(),
            query_variable("tenant", "Tenant", TENANTS_QUERY, multi=False),
            query_variable(
                "currency",
                "Currency",
                f"label_values(saaswatch_tenant_info{{{ONE}}}, currency)",
                multi=False,
                hide=2,
            ),
        ],
        timezone="utc",
    )

    board.row("Overview")
    board.add(
        stat(
            "Monthly spend (${currency})",
            "License spend per month: seats purchased × monthly unit price (annual prices ÷ 12), over every "
            "priced license pool.",
            Query(f"sum(saaswatch_app_monthly_spend{{{ONE}}})"),
            MONEY,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Monthly waste (${currency})",
            "Open waste per month with each seat counted once across analyzers.",
            Query(f"sum(saaswatch_tenant_monthly_waste{{{ONE}}})"),
            MONEY,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Annual waste (${currency})",
            "Monthly waste × 12.",
            Query(f"12 * sum(saaswatch_tenant_monthly_waste{{{ONE}}})"),
            MONEY,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Waste vs alert threshold",
            "Monthly waste ÷ the tenant's waste alert threshold (alerting.monthly_waste_threshold). Above "
            "100 % the waste alert fires.",
            Query(
                f"sum(saaswatch_tenant_monthly_waste{{{ONE}}})\n"
                f"/ sum(saaswatch_tenant_monthly_waste_threshold{{{ONE}}})"
            ),
            RATIO,
            OF_THRESHOLD,
            decimals=0,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Share of spend wasted",
            "Monthly waste ÷ monthly spend.",
            Query(
                f"sum(saaswatch_tenant_monthly_waste{{{ONE}}}) / sum(saaswatch_app_monthly_spend{{{ONE}}})"
            ),
            RATIO,
            WASTE_SHARE,
            decimals=1,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Seat utilisation",
            "Active ÷ purchased seats, over the license pools whose activity is known.",
            Query(_utilisation(ONE, "tenant")),
            RATIO,
            UTILISATION,
            decimals=1,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Realised savings (${currency}/month)",
            "Monthly money of findings that were open and are now resolved.",
            Query(f"sum(saaswatch_realised_monthly_savings{{{ONE}}})"),
            MONEY,
            steps("green"),
        ),
        6,
        4,
    )
    board.add(
        stat(
            "Open waste findings",
            "Open findings with verdict FAIL. saaswatch findings --tenant <tenant> lists them with evidence.",
            Query(f'sum(saaswatch_findings{{{ONE}, verdict="fail"}})'),
            COUNT,
        ),
        6,
        4,
    )
    board.add(
        stat(
            "UNKNOWN findings",
            "Decisions an analyzer could not make because a source is stale or missing. Above 0, waste "
            "may be hidden: see the connectors dashboard.",
            Query(f'sum(saaswatch_findings{{{ONE}, verdict="unknown"}})'),
            COUNT,
            ZERO_IS_GOOD_WARN,
            no_value="0",
        ),
        6,
        4,
    )
    board.add(
        stat(
            "Unpriced license pools",
            "License pools with no known price or no exchange rate: spend and waste are understated while "
            "this is above 0.",
            Query(f"sum(saaswatch_license_pools_unpriced{{{ONE}}})"),
            COUNT,
            ZERO_IS_GOOD_WARN,
        ),
        6,
        4,
    )

    board.row("Spend")
    board.add(
        piechart(
            "Monthly spend by category (${currency})",
            "License spend per month by the apps' catalog category (uncategorised when the catalog does "
            "not know the app and the config does not say).",
            Query(
                f"sum by (category) (\n  saaswatch_app_monthly_spend{{{ONE}}}\n"
                f"  * on (tenant, app) group_left (category) saaswatch_app_info{{{ONE}}}\n)",
                legend="{{category}}",
            ),
            MONEY,
        ),
        8,
        9,
    )
    board.add(
        bargauge(
            "Monthly spend by app (${currency})",
            "License spend per month per app.",
            Query(
                f"sort_desc(sum by (name) (\n  {_named(f'saaswatch_app_monthly_spend{{{ONE}}}')}\n))",
                legend="{{name}}",
            ),
            MONEY,
        ),
        8,
        9,
    )
    board.add(
        timeseries(
            "Monthly spend by category over time (${currency})",
            "License spend per month by category; steps are seats bought or removed and price changes.",
            [
                Query(
                    f"sum by (category) (\n  saaswatch_app_monthly_spend{{{ONE}}}\n"
                    f"  * on (tenant, app) group_left (category) saaswatch_app_info{{{ONE}}}\n)",
                    legend="{{category}}",
                )
            ],
            MONEY,
        ),
        8,
        9,
    )

    board.row("Waste")
    board.add(
        bargauge(
            "Monthly waste by app (${currency})",
            "Open waste per month per app, all analyzers. A seat two analyzers flag (a leaver's idle seat: "
            "offboarding and unused seats) adds here under both, so the bars can add up to more than the "
            "tenant's monthly waste.",
            Query(
                f"sort_desc(sum by (name) (\n{_named_or_id(f'saaswatch_app_monthly_waste{{{ONE}}}')}\n) > 0)",
                legend="{{name}}",
            ),
            MONEY,
        ),
        8,
        9,
    )
    board.add(
        bargauge(
            "Monthly waste by analyzer and reason (${currency})",
            "Open waste per month by the rule that found it (unused_seats / inactive, offboarding / "
            "offboarded, overlap / duplicate_tools ...). The same seat may appear under two analyzers.",
            Query(
                f"sort_desc(sum by (analyzer, reason) (saaswatch_app_monthly_waste{{{ONE}}}) > 0)",
                legend="{{analyzer}} / {{reason}}",
            ),
            MONEY,
        ),
        8,
        9,
    )
    board.add(
        timeseries(
            "Monthly waste over time (${currency})",
            "Solid: monthly waste with each seat counted once. Dashed: the waste alert threshold.",
            [
                Query(f"saaswatch_tenant_monthly_waste{{{ONE}}}", legend="monthly waste"),
                Query(f"saaswatch_tenant_monthly_waste_threshold{{{ONE}}}", legend="alert threshold"),
            ],
            MONEY,
            dashed=("B",),
        ),
        8,
        9,
    )
    board.add(
        table(
            "Waste by app and reason",
            "Every app, analyzer and rule with open waste: its money per month and how many findings make "
            "it up. saaswatch findings --tenant <tenant> has the people and the evidence.",
            [
                Query(
                    _named_or_id(f"sum by ({WASTE_KEYS}) (saaswatch_app_monthly_waste{{{ONE}}} > 0)"),
                    column="Monthly waste",
                    unit=MONEY,
                ),
                Query(
                    "sum by (tenant, app, analyzer, reason) "
                    f'(saaswatch_app_findings{{{ONE}, verdict="fail"}})\n'
                    f"and on (tenant, app, analyzer, reason) saaswatch_app_monthly_waste{{{ONE}}} > 0",
                    column="Findings",
                ),
            ],
            [
                Column("name", "App"),
                Column("analyzer", "Analyzer"),
                Column("reason", "Reason"),
                Column("currency", "Currency"),
            ],
            sort_by="Monthly waste",
        ),
        24,
        10,
    )

    board.row("Utilisation")
    board.add(
        bargauge(
            "Seat utilisation by app",
            "Active ÷ purchased seats per app, over the license pools whose activity is known. Below 70 % "
            "is red, below 85 % orange.",
            Query(f"sort({_named('(' + _utilisation(ONE, 'tenant, app') + ')')})", legend="{{name}}"),
            RATIO,
            UTILISATION,
            decimals=1,
            maximum=1,
        ),
        8,
        10,
    )
    seats = 'sum by (tenant, app, sku) (saaswatch_license_seats{{{sel}, state="{state}"}})'
    board.add(
        table(
            "Seats by license pool",
            "Seats of each license pool by state. Unassigned: purchased − assigned; inactive and never used: "
            "holders the unused-seats analyzer flags; active: assigned minus those. Empty where a source "
            "cannot tell.",
            [
                Query(_named(seats.format(sel=ONE, state="purchased")), column="Purchased"),
                Query(seats.format(sel=ONE, state="assigned"), column="Assigned"),
                Query(
                    seats.format(sel=ONE, state="unassigned"),
                    column="Unassigned",
                    thresholds=ZERO_IS_GOOD_WARN,
                ),
                Query(
                    seats.format(sel=ONE, state="inactive"), column="Inactive", thresholds=ZERO_IS_GOOD_WARN
                ),
                Query(
                    seats.format(sel=ONE, state="never_used"),
                    column="Never used",
                    thresholds=ZERO_IS_GOOD_WARN,
                ),
                Query(seats.format(sel=ONE, state="active"), column="Active"),
                Query(
                    _utilisation(ONE, "tenant, app, sku"),
                    column="Utilisation",
                    unit=RATIO,
                    decimals=1,
                    thresholds=UTILISATION,
                ),
            ],
            [Column("name", "App"), Column("sku", "SKU")],
            sort_by="Utilisation",
            descending=False,
        ),
        16,
        10,
    )

    board.row("Renewals ahead")
    deadline = f"saaswatch_contract_cancellation_deadline_timestamp_seconds{{{ONE}}}"
    unused = (
        "sum by (tenant, app, sku) "
        f'(saaswatch_license_seats{{{ONE}, state=~"unassigned|inactive|never_used"}})'
    )
    board.add(
        table(
            "Cancellation deadlines and term ends",
            "License pools with a known term, soonest deadline first. The cancellation deadline is the "
            "last day to cancel or reduce seats before an auto-renewal (term end − notice days). Unused "
            "seats (unassigned, inactive, never used) are what to drop at renewal; the renewals analyzer's "
            "findings say how many seats to keep. A negative number of days: the deadline has passed and "
            "the renewal is locked in.",
            [
                Query(_named(f"1000 * {deadline}"), column="Cancellation deadline", unit=DATE),
                Query(
                    f"({deadline} - time()) / {DAYS}",
                    column="Days to deadline",
                    unit=COUNT,
                    decimals=0,
                    thresholds=DAYS_LEFT,
                ),
                Query(
                    f"1000 * saaswatch_contract_term_end_timestamp_seconds{{{ONE}}}",
                    column="Term end",
                    unit=DATE,
                ),
                Query(seats.format(sel=ONE, state="purchased"), column="Purchased seats"),
                Query(
                    f"{unused}\nand on (tenant, app, sku) {deadline}",
                    column="Unused seats",
                    thresholds=ZERO_IS_GOOD_WARN,
                ),
            ],
            [Column("name", "App"), Column("sku", "SKU")],
            sort_by="Days to deadline",
            descending=False,
        ),
        24,
        10,
    )

    board.row("Overlap, shadow IT and vendor risk")
    board.add(
        table(
            "Overlapping tools",
            "Apps the overlap analyzer flags: duplicate_tools (two tools of one category, people on both: "
            "money is the seats to drop) and parallel_tools (two tools of one category used by different "
            "teams: no money, a consolidation question).",
            [
                Query(
                    _named(
                        "sum by (tenant, app, reason, severity) "
                        f'(saaswatch_app_findings{{{ONE}, analyzer="overlap"}})',
                        "name, category",
                    ),
                    column="Findings",
                ),
                Query(
                    "sum by (tenant, app, reason) "
                    f'(saaswatch_app_monthly_waste{{{ONE}, analyzer="overlap"}})',
                    column="Monthly waste (${currency})",
                    unit=MONEY,
                ),
            ],
            [
                Column("name", "App"),
                Column("category", "Category"),
                Column("reason", "Reason"),
                Column("severity", "Severity"),
            ],
            sort_by="Monthly waste (${currency})",
        ),
        12,
        8,
    )
    board.add(
        stat(
            "Overlap money (${currency}/month)",
            "Monthly money of open overlap findings (seats of the tool to drop).",
            Query(f'sum(saaswatch_app_monthly_waste{{{ONE}, analyzer="overlap"}})'),
            MONEY,
        ),
        4,
        8,
    )
    board.add(
        stat(
            "Shadow IT spend (${currency}/month)",
            "Monthly spend on apps the tenant has not sanctioned, seen on company cards and expense lines.",
            Query(f'sum(saaswatch_app_monthly_waste{{{ONE}, analyzer="shadow_it"}})'),
            MONEY,
        ),
        8,
        8,
    )
    board.add(
        table(
            "Shadow IT: unsanctioned apps with spend",
            "Apps the tenant has not sanctioned (sanctioned: false in the config, or unknown to it) that "
            "money is spent on: each finding's money is the app's monthly spend.",
            [
                Query(
                    _named(
                        "sum by (tenant, app, currency) "
                        f'(saaswatch_app_monthly_waste{{{ONE}, analyzer="shadow_it"}})',
                        "name, vendor, category, sanctioned",
                    ),
                    column="Monthly spend",
                    unit=MONEY,
                )
            ],
            [
                Column("name", "App"),
                Column("vendor", "Vendor"),
                Column("category", "Category"),
                Column("sanctioned", "Sanctioned"),
                Column("currency", "Currency"),
            ],
            sort_by="Monthly spend",
        ),
        12,
        8,
    )
    board.add(
        bargauge(
            "Vendor risk score",
            "Apps the vendor_risk analyzer flags, scored 0–100 (at or above its min_score, default 30; "
            "50 and above is medium, 70 and above high). The finding lists the reasons.",
            Query(f"sort_desc(\n  {_named(f'saaswatch_vendor_risk_score{{{ONE}}}')}\n)", legend="{{name}}"),
            COUNT,
            RISK,
            decimals=0,
            maximum=100,
            no_value="No app at or above the risk threshold",
        ),
        12,
        8,
    )

    board.row("Departments")
    showback_keys = [Column("department", "Department")]
    board.add(
        table(
            "Department showback",
            "Seats held per department and their monthly license spend and waste. (unassigned): bought but "
            "held by nobody; (unknown): holders without a department. A person holding one SKU through two "
            "sources counts once.",
            [
                Query(f"sum by (tenant, department) (saaswatch_department_seats{{{ONE}}})", column="Seats"),
                Query(
                    f"sum by (tenant, department) (saaswatch_department_monthly_spend{{{ONE}}})",
                    column="Monthly spend (${currency})",
                    unit=MONEY,
                ),
                Query(
                    f"sum by (tenant, department) (saaswatch_department_monthly_waste{{{ONE}}})",
                    column="Monthly waste (${currency})",
                    unit=MONEY,
                ),
                Query(
                    f"sum by (tenant, department) (saaswatch_department_monthly_waste{{{ONE}}})\n/\n"
                    f"sum by (tenant, department) (saaswatch_department_monthly_spend{{{ONE}}})",
                    column="Waste share",
                    unit=RATIO,
                    decimals=1,
                    thresholds=WASTE_SHARE,
                ),
            ],
            showback_keys,
            sort_by="Monthly spend (${currency})",
        ),
        12,
        10,
    )
    board.add(
        bargauge(
            "Monthly waste by department (${currency})",
            "Open waste per month about each department's people; pool-level waste (unassigned seats) is "
            "under (unassigned).",
            Query(
                f"sort_desc(sum by (department) (saaswatch_department_monthly_waste{{{ONE}}}) > 0)",
                legend="{{department}}",
            ),
            MONEY,
        ),
        6,
        10,
    )
    board.add(
        piechart(
            "Monthly spend by department (${currency})",
            "License spend per month of the seats each department holds.",
            Query(
                f"sum by (department) (saaswatch_department_monthly_spend{{{ONE}}})",
                legend="{{department}}",
            ),
            MONEY,
        ),
        6,
        10,
    )
    return board


# --- connectors -------------------------------------------------------------------------------------


def connectors() -> Board:
    board = Board(
        uid="saaswatch-connectors",
        title="saaswatch / Connectors",
        description=(
            "Are the sources fresh? Last success against the schedule, stale sources, last run outcome, "
            "duration, records and problems, syncs by status, and credentials about to expire. A stale "
            "source turns the analyzers' decisions that depend on it into UNKNOWN."
        ),
        variables=[
            datasource_variable(),
            query_variable("tenant", "Tenant", TENANTS_QUERY, multi=True),
            query_variable(
                "connector",
                "Connector",
                f"label_values(saaswatch_connector_interval_seconds{{{T}}}, connector)",
                multi=True,
            ),
        ],
    )
    since_success = f"time() - saaswatch_connector_last_success_timestamp_seconds{{{TC}}}"
    interval = f"saaswatch_connector_interval_seconds{{{TC}}}"
    expiry = f"saaswatch_connector_credential_expiry_timestamp_seconds{{{TC}}}"
    legend = "{{tenant}} / {{connector}}"

    board.row("Now")
    board.add(
        stat(
            "Connectors", "Connectors configured in the selected tenants.", Query(f"count({interval})"), COUNT
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Stale",
            "Connectors whose data must not be trusted: never synced, last sync failed or aborted, or the "
            "last success older than stale_after (default 3 × the interval, at least a day).",
            Query(f"sum(saaswatch_connector_stale{{{TC}}})"),
            COUNT,
            ZERO_IS_GOOD,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Last sync failed or aborted",
            "Connectors whose last sync failed (the error is in the daemon log, redacted) or was aborted "
            "(the daemon stopped mid-sync).",
            Query(f'sum(saaswatch_connector_last_run_status{{{TC}, status=~"failed|aborted"}})'),
            COUNT,
            ZERO_IS_GOOD,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Last sync partial",
            "Connectors whose last sync skipped bad rows or items (status partial).",
            Query(f'sum(saaswatch_connector_last_run_status{{{TC}, status="partial"}})'),
            COUNT,
            ZERO_IS_GOOD_WARN,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Credentials expiring within 30 days",
            "Connector credentials whose expiry is known (reported by the vendor, or credential_expires in "
            "the config) and less than 30 days away, or past.",
            Query(f"sum(({expiry} - time()) < bool {30 * DAYS})"),
            COUNT,
            ZERO_IS_GOOD,
        ),
        4,
        4,
    )
    board.add(
        stat(
            "Store",
            "Whether the last scrape could read saaswatch's database; when it could not, every other "
            "saaswatch metric is absent.",
            Query("min(saaswatch_store_up)"),
            COUNT,
            steps("red", (1, "green")),
            mappings=[value_map(("0", "unreachable", "red"), ("1", "reachable", "green"))],
        ),
        4,
        4,
    )

    board.row("Per connector")
    board.add(
        table(
            "Connector status",
            "One row per connector. Since last success, in intervals: 1 is on schedule, above 2 the "
            "connector missed two runs (red). Last status: the outcome of the last sync.",
            [
                Query(
                    f"max by (tenant, connector, status) (saaswatch_connector_last_run_status{{{TC}}} == 1)",
                    hide_value=True,
                ),
                Query(since_success, column="Since last success", unit=SECONDS),
                Query(interval + " + 0", column="Interval", unit=SECONDS),
                Query(
                    f"({since_success}) / {interval}",
                    column="Since last success (intervals)",
                    decimals=1,
                    thresholds=INTERVALS_SINCE_SUCCESS,
                ),
                Query(
                    f"saaswatch_connector_stale{{{TC}}} + 0",
                    column="Stale",
                    thresholds=ZERO_IS_GOOD,
                    mappings=(value_map(("0", "no", "green"), ("1", "STALE", "red")),),
                ),
                Query(
                    f"saaswatch_connector_last_run_duration_seconds{{{TC}}} + 0",
                    column="Last sync duration",
                    unit=SECONDS,
                ),
                Query(f"saaswatch_connector_last_run_records{{{TC}}} + 0", column="Records"),
                Query(
                    f"saaswatch_connector_last_run_problems{{{TC}}} + 0",
                    column="Problems",
                    thresholds=ZERO_IS_GOOD_WARN,
                ),
            ],
            [Column("tenant", "Tenant"), Column("connector", "Connector"), Column("status", "Last status")],
            sort_by="Since last success (intervals)",
        ),
        24,
        8,
    )

    board.row("Over time")
    board.add(
        timeseries(
            "Time since last success vs twice the interval",
            "Solid: time since the connector's last successful (or partial) sync. Dashed: twice its "
            "schedule interval; a solid line above its dashed one has missed two runs.",
            [
                Query(since_success, legend=legend),
                Query(f"2 * {interval}", legend=legend + " 2 × interval"),
            ],
            SECONDS,
            dashed=("B",),
        ),
        12,
        8,
    )
    board.add(
        timeseries(
            "Stale connectors",
            "1 while a connector is stale. Analyzers report UNKNOWN for what depends on it.",
            [Query(f"saaswatch_connector_stale{{{TC}}}", legend=legend)],
            COUNT,
            thresholds=ZERO_IS_GOOD,
            threshold_lines=True,
            stepped=True,
        ),
        12,
        8,
    )
    board.add(
        timeseries(
            "Syncs per hour by status",
            "Syncs recorded per hour, by outcome (rate of saaswatch_connector_runs_total).",
            [
                Query(
                    "3600 * sum by (status) "
                    f"(rate(saaswatch_connector_runs_total{{{TC}}}[$__rate_interval]))",
                    legend="{{status}}",
                )
            ],
            COUNT,
            decimals=1,
            colours=STATUS_COLOURS,
        ),
        12,
        8,
    )
    board.add(
        piechart(
            "Syncs in the time range by status",
            "Syncs recorded in the dashboard's time range, by outcome.",
            Query(
                f"round(sum by (status) (increase(saaswatch_connector_runs_total{{{TC}}}[$__range])))",
                legend="{{status}}",
            ),
            COUNT,
            colours=STATUS_COLOURS,
        ),
        6,
        8,
    )
    board.add(
        bargauge(
            "Since last success, in intervals",
            "Time since the last success ÷ the schedule interval. 1 is on schedule; at 2 the connector has "
            "missed two runs.",
            Query(f"sort_desc(({since_success}) / {interval})", legend=legend),
            COUNT,
            INTERVALS_SINCE_SUCCESS,
            decimals=1,
        ),
        6,
        8,
    )
    board.add(
        timeseries(
            "Last sync duration",
            "How long each connector's last sync took.",
            [Query(f"saaswatch_connector_last_run_duration_seconds{{{TC}}}", legend=legend)],
            SECONDS,
        ),
        8,
        8,
    )
    board.add(
        timeseries(
            "Records stored by the last sync",
            "Records the last sync stored. A sudden drop can mean a narrowed scope or a broken export.",
            [Query(f"saaswatch_connector_last_run_records{{{TC}}}", legend=legend)],
            "short",
        ),
        8,
        8,
    )
    board.add(
        timeseries(
            "Problems in the last sync",
            "Bad rows or items the last sync reported (the run is then partial).",
            [Query(f"saaswatch_connector_last_run_problems{{{TC}}}", legend=legend)],
            COUNT,
            thresholds=ZERO_IS_GOOD_WARN,
            threshold_lines=True,
        ),
        8,
        8,
    )

    board.row("Credentials")
    board.add(
        table(
            "Credential expiry",
            "Credentials whose expiry is known: reported by the vendor (e.g. GitHub's token expiration "
            "header) or declared in the config (credential_expires: on the connector, credential "
            '"configured"). Rotate before the date: an expired credential fails every sync.',
            [
                Query(f"1000 * {expiry}", column="Expires", unit=DATETIME),
                Query(
                    f"({expiry} - time()) / {DAYS}",
                    column="Days left",
                    decimals=0,
                    thresholds=CREDENTIAL_DAYS_LEFT,
                ),
            ],
            [
                Column("tenant", "Tenant"),
                Column("connector", "Connector"),
                Column("credential", "Credential"),
            ],
            sort_by="Days left",
            descending=False,
        ),
        24,
        6,
    )
    return board


BOARDS = {
    "saaswatch-fleet.json": fleet,
    "saaswatch-tenant.json": tenant,
    "saaswatch-connectors.json": connectors,
}


def render(board: Board) -> str:
    return json.dumps(board.model(), indent=2, ensure_ascii=False) + "\n"


def generate(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in BOARDS.items():
        path = out / name
        path.write_text(render(build()), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, default=HERE, help="directory to write to (default: beside this file)"
    )
    for path in generate(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
