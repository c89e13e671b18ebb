"""Alert rules, their promtool tests, the runbooks and the Alertmanager example hold together."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from live import get_json, prometheus, sample_daemon, wait_until

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "alerts" / "saaswatch.rules.yml"
RULE_TESTS = sorted((ROOT / "alerts" / "tests").glob("*.yml"))
ALERTMANAGER = ROOT / "alerts" / "alertmanager.example.yml"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
METRICS_DOC = ROOT / "docs" / "metrics.md"
RUNBOOK_BASE = "https://github.com/saaswatch/saaswatch/blob/main/docs/runbooks.md#"
SEVERITIES = {"critical", "warning", "info"}
KINDS = {"waste", "security", "connector", "saaswatch"}
ANNOTATIONS = {"summary", "description", "runbook_url"}
# Labels alerts keep from their metrics, which Alertmanager may group, route or inhibit on.
IDENTIFYING = {"alertname", "tenant", "app", "sku", "connector", "credential", "currency"}
# saaswatch_* metrics and saaswatch:* recording rules, in expressions and in annotation queries.
METRIC = re.compile(r"\bsaaswatch(?:_[a-z0-9_]*[a-z0-9]|:[A-Za-z0-9_:]*[A-Za-z0-9_])")

Json = dict[str, Any]


def load(path: Path) -> Json:
    document: Json = yaml.safe_load(path.read_text())
    return document


def rules() -> list[Json]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def alerts() -> list[Json]:
    return [rule for rule in rules() if "alert" in rule]


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def runbook_anchors() -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", RUNBOOKS.read_text(), flags=re.MULTILINE)
    return {github_anchor(heading) for heading in headings}


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


# --- the real tools ---------------------------------------------------------------------------------


def test_rules_pass_promtool_check(promtool: str) -> None:
    result = run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_rule_unit_tests_pass(promtool: str) -> None:
    assert RULE_TESTS, "no promtool test files in alerts/tests/"
    result = run(promtool, "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS), result.stdout


def test_alertmanager_example_passes_amtool(amtool: str) -> None:
    result = run(amtool, "check-config", str(ALERTMANAGER))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        # The MSP gets everything; the client's IT contact its own tenant's money and security.
        (
            ["alertname=SaaswatchShadowItSpend", "tenant=northwind", "kind=waste"],
            "msp-ticketing,northwind-it",
        ),
        (["alertname=SaaswatchOffboardingGap", "tenant=acme", "kind=security"], "msp-ticketing,acme-it"),
        (["alertname=SaaswatchConnectorFailing", "tenant=northwind", "kind=connector"], "msp-ticketing"),
        (["alertname=SaaswatchStoreDown", "kind=saaswatch"], "msp-ticketing"),
        (["alertname=SaaswatchShadowItSpend", "tenant=globex", "kind=waste"], "msp-ticketing"),
    ],
)
def test_alertmanager_example_routes(amtool: str, labels: list[str], receivers: str) -> None:
    result = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER}",
        f"--verify.receivers={receivers}",
        *labels,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the rules' texts and their tests -------------------------------------------------------------------


def test_every_alert_has_severity_kind_summary_description_and_a_runbook_section() -> None:
    anchors = runbook_anchors()
    assert alerts(), "no alerts parsed"
    for alert in alerts():
        name = alert["alert"]
        labels, annotations = alert.get("labels", {}), alert.get("annotations", {})
        assert labels.get("severity") in SEVERITIES, name
        assert labels.get("kind") in KINDS, name
        assert annotations.get("summary", "").strip(), name
        assert annotations.get("description", "").strip(), name
        url = annotations.get("runbook_url", "")
        assert url == RUNBOOK_BASE + name.lower(), f"{name}: runbook_url {url!r}"
        assert url.removeprefix(RUNBOOK_BASE) in anchors, f"{name}: no section in docs/runbooks.md"


def test_every_runbook_section_is_an_alert() -> None:
    names = {alert["alert"] for alert in alerts()}
    sections = re.findall(r"^## (Saaswatch\w+)$", RUNBOOKS.read_text(), flags=re.MULTILINE)
    assert sections, "no alert sections parsed"
    assert set(sections) <= names, f"runbook sections without an alert: {set(sections) - names}"
    assert len(sections) == len(set(sections)), "an alert has two sections"


def test_every_alert_has_a_firing_and_a_quiet_promtool_case() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in load(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                expected = check.get("exp_alerts") or []
                (firing if expected else quiet).add(check["alertname"])
                for alert in expected:
                    # promtool compares annotations too; listing them is what checks the texts.
                    assert set(alert.get("exp_annotations", {})) >= ANNOTATIONS, (
                        f"{path.name}: {check['alertname']} expected without its annotations"
                    )
    names = {alert["alert"] for alert in alerts()}
    assert not names - firing, f"alerts never tested firing: {sorted(names - firing)}"
    assert not names - quiet, f"alerts never tested quiet: {sorted(names - quiet)}"
    assert not (firing | quiet) - names, f"tests of unknown alerts: {sorted((firing | quiet) - names)}"


def test_every_metric_the_rules_use_is_documented() -> None:
    table = METRICS_DOC.read_text()
    documented = set(re.findall(r"^\|\s*`(saaswatch_[a-z0-9_]+)`", table, flags=re.MULTILINE))
    assert "saaswatch_tenant_monthly_waste" in documented, "docs/metrics.md table not parsed"
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    used: dict[str, set[str]] = {}
    for rule in rules():
        name = rule.get("alert") or rule["record"]
        texts = [str(rule["expr"]), *map(str, rule.get("annotations", {}).values())]
        for metric in METRIC.findall("\n".join(texts)):
            used.setdefault(metric, set()).add(name)
    assert "saaswatch_tenant_monthly_waste_threshold" in used, "metric names not parsed from the rules"
    unknown = {metric: sorted(where) for metric, where in used.items() if metric not in documented | recorded}
    assert not unknown, f"used by the rules but neither in docs/metrics.md nor a recording rule: {unknown}"


# --- the Alertmanager example -----------------------------------------------------------------------------


def matcher_values(matchers: list[str], label: str) -> list[str]:
    """The values an alert's label is matched against (`label="v"` or `label=~"a|b"`)."""
    values: list[str] = []
    for matcher in matchers:
        found = re.fullmatch(rf'{label}(=~?)"([^"]*)"', matcher.strip())
        if found:
            values += found.group(2).split("|") if found.group(1) == "=~" else [found.group(2)]
    return values


def test_alertmanager_example_matches_what_the_rules_produce() -> None:
    config = load(ALERTMANAGER)
    names = {alert["alert"] for alert in alerts()}
    kinds = {alert["labels"]["kind"] for alert in alerts()}
    rule_labels = {label for alert in alerts() for label in alert["labels"]} | IDENTIFYING
    inhibitions = config["inhibit_rules"]
    matchers = [m for rule in inhibitions for m in rule["source_matchers"] + rule["target_matchers"]]
    routes = config["route"]["routes"]
    matchers += [m for route in routes for m in route.get("matchers", [])]
    assert set(matcher_values(matchers, "alertname")) <= names
    assert set(matcher_values(matchers, "kind")) <= kinds
    for rule in inhibitions:
        assert set(rule["equal"]) <= rule_labels, rule["equal"]
    waste_held_back = [r for r in inhibitions if matcher_values(r["target_matchers"], "kind") == ["waste"]]
    assert waste_held_back and waste_held_back[0]["equal"] == ["tenant"]
    held_back_by = set(matcher_values(waste_held_back[0]["source_matchers"], "alertname"))
    assert {"SaaswatchConnectorStale", "SaaswatchConnectorFailing"} <= held_back_by


def secret_fields(node: object, path: str = "") -> list[str]:
    """Keys that hold a secret inline instead of reading it from a file."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            secret = re.search(r"password|secret|token|credentials|api_key", str(key))
            if secret and not str(key).endswith("_file"):
                found.append(here)
            found += secret_fields(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += secret_fields(item, f"{path}[{i}]")
    return found


def test_alertmanager_example_reads_every_secret_from_a_file() -> None:
    config = load(ALERTMANAGER)
    assert not secret_fields(config), secret_fields(config)
    assert "smtp_auth_password_file" in config["global"]
    assert secret_fields({"smtp_auth_password": "x", "nested": [{"bearer_token": "y"}]}) == [
        "smtp_auth_password",
        "nested[0].bearer_token",
    ]


# --- on the real exporter ---------------------------------------------------------------------------------


@pytest.fixture
def sample_alerts(prometheus_bin: str, tmp_path: Path) -> Iterator[Callable[[str], Json]]:
    """``saaswatch run`` on a copy of the sample tenant, scraped and evaluated every second by a real
    Prometheus with the rules loaded; yields a GET of its HTTP API once the rules saw analysed data."""
    with (
        sample_daemon(tmp_path) as (daemon, daemon_port, log),
        prometheus(prometheus_bin, tmp_path, daemon_port, rules=RULES) as (server, port),
    ):

        def api(endpoint: str) -> Json:
            assert daemon.poll() is None and server.poll() is None, f"a process exited:\n{log.read_text()}"
            return get_json(f"http://127.0.0.1:{port}/api/v1/{endpoint}")

        def waste_alert_seen() -> bool:
            names = {a["labels"]["alertname"] for a in api("alerts")["data"]["alerts"]}
            return "SaaswatchTenantWasteAboveThreshold" in names

        wait_until("no waste alert on the sample", waste_alert_seen, log)
        yield api


def test_rules_evaluate_on_the_sample_tenant(sample_alerts: Callable[[str], Json]) -> None:
    """The rules meet the exporter's real label sets: every rule evaluates without error, the sample's
    planted waste raises its alerts with their texts filled in, and its healthy connector raises none."""
    for group in sample_alerts("rules")["data"]["groups"]:
        for rule in group["rules"]:
            assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
    planted = {  # config/samples/README.md: a leaver's seats, ChatGPT on cards, Loom next to Zoom
        ("SaaswatchTenantWasteAboveThreshold", ""),
        ("SaaswatchOffboardingGap", "slack"),
        ("SaaswatchShadowItSpend", "chatgpt"),
        ("SaaswatchOverlappingTools", "loom"),
    }
    # Rule groups are evaluated one after another: the others may come a few evaluations after the
    # waste alert the fixture waited for.
    deadline = time.monotonic() + 30
    while True:
        alerts = sample_alerts("alerts")["data"]["alerts"]
        seen = {(a["labels"]["alertname"], a["labels"].get("app", "")) for a in alerts}
        if planted <= seen or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert planted <= seen, f"missing: {planted - seen}"
    assert not {name for name, _ in seen if name.startswith(("SaaswatchConnector", "SaaswatchStore"))}
    for alert in alerts:
        for text in alert["annotations"].values():
            assert "<no value>" not in text and "error expanding" not in text, text
    (waste,) = [a for a in alerts if a["labels"]["alertname"] == "SaaswatchTenantWasteAboveThreshold"]
    assert re.search(r"wastes \d+\.\d\d USD a month", waste["annotations"]["summary"])
    assert "threshold of 500.00 USD" in waste["annotations"]["description"]
