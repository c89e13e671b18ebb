"""The Grafana dashboards in dashboards/: written by dashboards/generate.py, well-formed, using only
documented metrics (as the alert rules must), and every panel query answered with data by a real
Prometheus scraping ``saaswatch run`` on the bundled sample tenant."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import live
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
BOARD_FILES = sorted(DASHBOARDS.glob("*.json"))
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = {"row", "timeseries", "stat", "bargauge", "table", "piechart"}

# What Grafana puts in for its own interval variables, at the test's 1 s scrape interval: wide enough
# that every range holds several scrapes.
BUILT_INS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}

# Panels the sample tenant cannot fill, with why. Each must stay empty: when the sample gains the data,
# the test fails until the entry goes, so this list cannot hide a panel that broke.
SAMPLE_LACKS: dict[tuple[str, str], str] = {
    ("saaswatch-fleet.json", "UNKNOWN findings"): "no source of the sample is stale, so no UNKNOWN finding",
    ("saaswatch-fleet.json", "UNKNOWN findings per tenant and analyzer"): "as above",
    ("saaswatch-tenant.json", "UNKNOWN findings"): "as above",
}

Json = dict[str, Any]
Api = Callable[[str, dict[str, str]], Json]


def load(path: Path) -> Json:
    board: Json = json.loads(path.read_text(encoding="utf-8"))
    return board


def panels_of(board: Json) -> Iterator[Json]:
    """Every panel, including those inside collapsed rows."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def variables_of(board: Json) -> list[Json]:
    variables: list[Json] = board["templating"]["list"]
    return variables


def variable_query(variable: Json) -> str:
    query = variable["query"]
    return str(query["query"] if isinstance(query, dict) else query)


# $name, ${name}, ${name:format}, [[name]]
VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]")
METRIC = re.compile(r"\bsaaswatch(?:_[a-z0-9_]*[a-z0-9]|:[A-Za-z0-9_:]*[A-Za-z0-9_])")


def variable_names(text: str) -> set[str]:
    """Names of the variables in ``text``; $1 and the like are regex captures (label_replace)."""
    names = {next(g for g in m.groups() if g) for m in VARIABLE.finditer(text)}
    return {name for name in names if not name.isdigit()}


def expressions(board: Json) -> list[str]:
    exprs = [t["expr"] for p in panels_of(board) for t in p.get("targets", [])]
    exprs += [variable_query(v) for v in variables_of(board) if v["type"] == "query"]
    return exprs


# --- static checks ----------------------------------------------------------------------------------


def test_there_are_the_three_dashboards() -> None:
    assert [p.name for p in BOARD_FILES] == [
        "saaswatch-connectors.json",
        "saaswatch-fleet.json",
        "saaswatch-tenant.json",
    ]


def test_dashboards_are_what_generate_py_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("dashboards_generator", DASHBOARDS / "generate.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, generator)  # dataclasses look their module up
    spec.loader.exec_module(generator)
    generator.generate(tmp_path)
    for path in BOARD_FILES:
        assert (tmp_path / path.name).read_text() == path.read_text(), (
            f"{path.name} differs from what dashboards/generate.py writes: run it"
        )


@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: p.name)
def test_dashboard_is_well_formed(path: Path) -> None:
    board = load(path)
    assert board["uid"] == path.stem and board["title"] and "saaswatch" in board["tags"]
    assert board["schemaVersion"] >= 36  # Grafana 9.x and later; the datasource uid form needs it
    panels = list(panels_of(board))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {path.name}"
    titles = [p["title"] for p in panels]
    assert len(titles) == len(set(titles)), f"duplicate panel titles in {path.name}"
    occupied: set[tuple[int, int]] = set()
    for panel in panels:
        where = f"{path.name} / {panel.get('title')!r}"
        assert panel["type"] in PANEL_TYPES, where
        assert panel["title"], where
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, where
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{where} overlaps another panel"
        occupied |= cells
        if panel["type"] == "row":
            continue
        assert panel["description"], where
        assert panel["datasource"] == DATASOURCE, where
        assert "unit" in panel["fieldConfig"]["defaults"], where
        targets = panel["targets"]
        assert targets, where
        refs = [t["refId"] for t in targets]
        assert len(refs) == len(set(refs)), where
        for target in targets:
            assert target["datasource"] == DATASOURCE, where
            assert target["expr"].strip(), where


@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: p.name)
def test_every_variable_used_is_defined(path: Path) -> None:
    board = load(path)
    variables = variables_of(board)
    defined = {v["name"] for v in variables}
    (source,) = [v for v in variables if v["type"] == "datasource"]
    assert source["name"] == "datasource" and source["query"] == "prometheus"
    for variable in variables:
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, variable["name"]
            assert variable_query(variable).startswith("label_values("), variable["name"]
    # Everything Grafana interpolates: queries, legends, titles, descriptions, links.
    text = json.dumps(board)
    used = {name for name in variable_names(text) if not name.startswith("__")}
    assert used <= defined, f"undefined variables in {path.name}: {sorted(used - defined)}"
    assert "tenant" in used
    # A multi-valued variable becomes a regex such as (acme|globex): it must be matched with =~.
    for variable in variables:
        if variable.get("multi"):
            for expr in expressions(board):
                assert not re.search(rf'[^=!~]=\s*"\$\{{?{variable["name"]}\b', expr), (
                    f"${variable['name']} is multi-valued but matched with = in {expr}"
                )


def documented_metrics() -> set[str]:
    text = (ROOT / "docs" / "metrics.md").read_text()
    return set(re.findall(r"^\|\s*`(saaswatch_[a-z0-9_]+)`", text, flags=re.MULTILINE))


def rule_files() -> list[Path]:
    return sorted([*(ROOT / "alerts").glob("*.yml"), *(ROOT / "alerts").glob("*.yaml")])


def rules() -> list[Json]:
    """Every rule of every rule file in alerts/ (promtool test files have no groups)."""
    found: list[Json] = []
    for path in rule_files():
        document = yaml.safe_load(path.read_text())
        if isinstance(document, dict) and "groups" in document:
            found += [rule for group in document["groups"] for rule in group.get("rules", [])]
    return found


def test_every_metric_the_dashboards_and_rules_use_is_documented() -> None:
    documented = documented_metrics()
    assert "saaswatch_tenant_monthly_waste" in documented, "docs/metrics.md table not parsed"
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    used: dict[str, set[str]] = {}
    for path in BOARD_FILES:
        for expr in expressions(load(path)):
            for name in METRIC.findall(expr):
                used.setdefault(name, set()).add(path.name)
    for rule in rules():
        for name in METRIC.findall(str(rule["expr"])):
            used.setdefault(name, set()).add("alerts/")
    undocumented = {name: sorted(where) for name, where in used.items() if name not in documented | recorded}
    assert not undocumented, f"used but not in docs/metrics.md (nor a recording rule): {undocumented}"


def test_provisioning_files_point_at_the_dashboards() -> None:
    dashboards = yaml.safe_load((DASHBOARDS / "provisioning" / "dashboards.yml").read_text())
    (provider,) = dashboards["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    datasources = yaml.safe_load((DASHBOARDS / "provisioning" / "datasources.yml").read_text())
    assert [d["type"] for d in datasources["datasources"]] == ["prometheus"]


# --- against a real Prometheus ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(prometheus_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """``saaswatch run`` on a copy of the sample tenant, scraped every second by a real Prometheus until
    it holds several scrapes of the sample's analysed data; yields a client of its HTTP API."""
    tmp = tmp_path_factory.mktemp("dashboards")
    with live.sample_daemon(tmp) as (daemon, daemon_port, log):

        def analysed() -> bool:
            assert daemon.poll() is None, f"daemon exited early:\n{log.read_text()}"
            with urllib.request.urlopen(f"http://127.0.0.1:{daemon_port}/metrics", timeout=5) as r:
                return "saaswatch_tenant_monthly_waste{" in r.read().decode()

        live.wait_until("the daemon served no analysed sample", analysed, log)
        with live.prometheus(prometheus_bin, tmp, daemon_port) as (server, port):
            base = f"http://127.0.0.1:{port}/api/v1/"

            def api(endpoint: str, params: dict[str, str]) -> Json:
                return live.get_json(base + endpoint + "?" + urllib.parse.urlencode(params))

            def scraped_enough() -> bool:
                assert server.poll() is None, "prometheus exited"
                result = api("query", {"query": "count_over_time(saaswatch_tenant_monthly_waste[1m])"})
                return any(float(s["value"][1]) >= 4 for s in result["data"]["result"])

            live.wait_until("Prometheus did not scrape the sample four times", scraped_enough, log)
            yield api


def resolve_variables(board: Json, api: Api) -> dict[str, str]:
    """Each query variable's values as Grafana would send them with "All" (or the first value for a
    single-valued variable), resolving ``label_values(selector, label)`` in order, as Grafana does."""
    values = dict(BUILT_INS)
    for variable in variables_of(board):
        if variable["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable_query(variable), flags=re.DOTALL)
        assert match, f"unsupported variable query {variable_query(variable)}"
        selector, label = substitute(match.group(1), values), match.group(2)
        series = api("series", {"match[]": selector})["data"]
        found = sorted({s[label] for s in series if label in s})
        assert found, f"variable ${variable['name']}: {selector} has no {label}"
        if variable.get("multi"):
            escaped = [re.escape(v) for v in found]
            values[variable["name"]] = escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        else:
            values[variable["name"]] = found[0]
    return values


def substitute(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        return values[name] if name in values else match.group(0)

    return VARIABLE.sub(replace, text)


def panel_queries() -> list[Any]:
    cases = []
    for path in BOARD_FILES:
        for panel in panels_of(load(path)):
            for target in panel.get("targets", []):
                cases.append(
                    pytest.param(
                        path,
                        panel["title"],
                        target["refId"],
                        id=f"{path.stem}:{panel['title']}:{target['refId']}",
                    )
                )
    return cases


def test_template_variables_resolve_on_the_sample(prometheus: Api) -> None:
    for path in BOARD_FILES:
        values = resolve_variables(load(path), prometheus)
        assert values["tenant"] == "northwind"


@pytest.mark.parametrize(("path", "title", "ref"), panel_queries())
def test_panel_query_returns_data_on_the_sample(prometheus: Api, path: Path, title: str, ref: str) -> None:
    board = load(path)
    (panel,) = [p for p in panels_of(board) if p["title"] == title]
    (target,) = [t for t in panel["targets"] if t["refId"] == ref]
    expr = substitute(target["expr"], resolve_variables(board, prometheus))
    assert not variable_names(expr), f"unresolved variable in {expr}"
    response = prometheus("query", {"query": expr})
    assert response["status"] == "success", response
    result = response["data"]["result"]
    lacking = SAMPLE_LACKS.get((path.name, title))
    if lacking is not None:
        assert not result, f"the sample now fills {title!r}: drop it from SAMPLE_LACKS ({lacking})"
        return
    assert response["data"]["resultType"] in {"vector", "scalar"}
    assert result, f"{path.name} / {title!r} / {ref}: no data for\n{expr}"
    series = result if response["data"]["resultType"] == "vector" else []
    for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")):
        assert all(label in s["metric"] for s in series), f"legend {{{{{label}}}}} not a label of {expr}"
    if panel["type"] == "table":
        # Table queries are joined on their labels; a metric name would keep rows apart.
        assert all("__name__" not in s["metric"] for s in series), expr


def table_panels() -> list[Any]:
    return [
        pytest.param(path, panel, id=f"{path.stem}:{panel['title']}")
        for path in BOARD_FILES
        for panel in panels_of(load(path))
        if panel["type"] == "table" and (path.name, panel["title"]) not in SAMPLE_LACKS
    ]


@pytest.mark.parametrize(("path", "panel"), table_panels())
def test_table_rows_join_and_fill_every_column(prometheus: Api, path: Path, panel: Json) -> None:
    """Grafana's merge joins a table's queries on the labels they all return: there must be some, and
    every label the table shows must come from one of its queries."""
    values = resolve_variables(load(path), prometheus)
    label_sets = []
    for target in panel["targets"]:
        result = prometheus("query", {"query": substitute(target["expr"], values)})["data"]["result"]
        label_sets.append({label for s in result for label in s["metric"]})
    shown = next(t for t in panel["transformations"] if t["id"] == "filterFieldsByName")
    columns = {name for name in shown["options"]["include"]["names"] if not name.startswith("Value")}
    assert columns <= set().union(*label_sets), (
        f"columns no query returns: {columns - set().union(*label_sets)}"
    )
    assert set.intersection(*label_sets), "the queries share no label to join on"


def test_waste_without_an_app_keeps_its_money_in_the_per_app_panels(promtool: str, tmp_path: Path) -> None:
    """A finding without a license pool is exported with app="none", which has no saaswatch_app_info:
    the panels that name apps must still count its money (under "none"), not drop it in the join."""
    board = load(DASHBOARDS / "saaswatch-tenant.json")
    exprs = {
        panel["title"]: substitute(panel["targets"][0]["expr"], {"tenant": "acme"})
        for panel in panels_of(board)
        if panel["title"] in {"Monthly waste by app (${currency})", "Waste by app and reason"}
    }

    def labels(app: str, analyzer: str) -> str:
        return f'tenant="acme", app="{app}", analyzer="{analyzer}", reason="r", currency="EUR"'

    pool_less, slack = labels("none", "billing_reconciliation"), labels("slack", "unused_seats")
    series = [
        {"series": f"saaswatch_app_monthly_waste{{{pool_less}}}", "values": "5x3"},
        {"series": f"saaswatch_app_monthly_waste{{{slack}}}", "values": "7x3"},
        {"series": 'saaswatch_app_info{tenant="acme", app="slack", name="Slack"}', "values": "1x3"},
    ]
    by_name = [{"labels": '{name="Slack"}', "value": 7}, {"labels": '{name="none"}', "value": 5}]
    rows = [
        {"labels": f'{{{slack}, name="Slack"}}', "value": 7},
        {"labels": f'{{{pool_less}, name="none"}}', "value": 5},
    ]
    (tmp_path / "none.yml").write_text("groups: []\n")
    test = {
        "rule_files": ["none.yml"],
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": exprs["Monthly waste by app (${currency})"],
                        "eval_time": "2m",
                        "exp_samples": by_name,
                    },
                    {"expr": exprs["Waste by app and reason"], "eval_time": "2m", "exp_samples": rows},
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    checked = subprocess.run(
        [promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
