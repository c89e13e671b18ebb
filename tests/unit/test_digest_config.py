"""The digest: block is validated with the config: every problem names its key and line, secrets are
read from the environment or a file and never repeated in an error, and the schedule is a cron in a
time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.config import Config, load_config
from collector.digest.config import SlackChannel, SmtpChannel, TeamsChannel, channel_name
from collector.digest.schedule import digest_trigger
from collector.yamlsource import ConfigError

SLACK_URL = "https://hooks.slack.com/services/T0EXAMPLE/B0EXAMPLE/s3cr3tWebhookToken42"
TEAMS_URL = (
    "https://prod-42.westeurope.logic.azure.com:443/workflows/0a1b2c/triggers/manual/paths/invoke"
    "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=TeamsSig-0123456789abcdef"
)

HEAD = """\
tenants:
  - id: acme
    name: Acme Ltd
    digest:
"""


def load(tmp_path: Path, digest_block: str, environ: dict[str, str] | None = None) -> Config:
    path = tmp_path / "saaswatch.yaml"
    path.write_text(HEAD + digest_block)
    return load_config(path, environ=environ or {})


def problems(tmp_path: Path, digest_block: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, digest_block, environ)
    return [str(issue) for issue in caught.value.issues]


def test_a_full_block_loads_with_secrets_from_the_environment_and_files(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "teams_webhook").write_text(TEAMS_URL + "\n")
    config = load(
        tmp_path,
        """\
      schedule: {cron: "30 7 * * 1", timezone: Europe/Berlin}
      top: 5
      channels:
        - type: slack
          webhook_url: ${NORTHWIND_SLACK_WEBHOOK}
        - type: teams
          webhook_url_file: secrets/teams_webhook    # relative to the config file's folder
        - type: smtp
          host: smtp.example.com
          port: 587
          username: saaswatch
          password: ${SMTP_PASSWORD}
          from: saaswatch@msp.example
          to: [it@northwind.example, "Finance <finance@northwind.example>"]
""",
        {"NORTHWIND_SLACK_WEBHOOK": SLACK_URL, "SMTP_PASSWORD": "smtp-pass-123"},
    )
    digest = config.tenants[0].digest
    assert digest is not None and digest.enabled and digest.top == 5 and digest.deadline_days == 30
    slack, teams, smtp = digest.channels
    assert isinstance(slack, SlackChannel) and slack.url.get_secret_value() == SLACK_URL
    assert isinstance(teams, TeamsChannel) and teams.url.get_secret_value() == TEAMS_URL
    assert teams.format == "adaptive_card"
    assert isinstance(smtp, SmtpChannel) and smtp.sender == "saaswatch@msp.example"
    assert smtp.use_starttls and not smtp.tls and smtp.secret is not None
    assert [channel_name(c) for c in digest.channels] == ["slack", "teams", "smtp"]
    # Secrets stay hidden in the model's text form.
    assert SLACK_URL not in repr(config) and "smtp-pass-123" not in repr(config)


def test_the_default_schedule_is_monday_eight_and_cron_reads_in_its_time_zone(tmp_path: Path) -> None:
    config = load(tmp_path, '      channels: [{type: slack, webhook_url: "${URL}"}]\n', {"URL": SLACK_URL})
    digest = config.tenants[0].digest
    assert digest is not None and digest.schedule.cron == "0 8 * * 1" and digest.schedule.timezone == "UTC"
    tuesday = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    fire = digest_trigger(digest.schedule).get_next_fire_time(None, tuesday)
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    config = load(
        tmp_path,
        """\
      schedule: {cron: "0 8 * * 1", timezone: Europe/Berlin}
      channels: [{type: slack, webhook_url: "${URL}"}]
""",
        {"URL": SLACK_URL},
    )
    digest = config.tenants[0].digest
    assert digest is not None
    fire = digest_trigger(digest.schedule).get_next_fire_time(None, tuesday)
    # 08:00 in Berlin in winter (CET, UTC+1); crontab's 1 is Monday.
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert fire.weekday() == 0


def line(block: str, start: str, nth: int = 0) -> int:
    """The file line of the ``nth`` line of ``block`` that starts (after indentation) with ``start``."""
    numbers = [n for n, text in enumerate((HEAD + block).splitlines(), 1) if text.strip().startswith(start)]
    return numbers[nth]


def test_every_problem_names_its_key_and_line(tmp_path: Path) -> None:
    block = """\
      schedule: {cron: "0 25 * * 1", timezone: Mars/Olympus}
      top: 0
      channels:
        - type: slack
          name: ops
        - type: pager
          url: https://pager.example/x
        - type: teams
          webhook_url: ${TEAMS}
          webhook_url_file: /nonexistent/teams_webhook
        - type: smtp
          host: smtp.example.com
          username: saaswatch
          from: not-an-address
          to: [it@acme.example]
          bcc: [boss@acme.example]
        - host: smtp.example.com
"""
    found = problems(tmp_path, block, {"TEAMS": TEAMS_URL})
    expected = [
        f"line {line(block, 'schedule:')}: tenants[0].digest.schedule.cron: invalid cron '0 25 * * 1'",
        f"line {line(block, 'schedule:')}: tenants[0].digest.schedule.timezone: "
        "unknown time zone 'Mars/Olympus'",
        f"line {line(block, 'top:')}: tenants[0].digest.top: Input should be greater than or equal to 1",
        # A missing key is reported on its channel's line.
        f"line {line(block, '- type: slack')}: tenants[0].digest.channels[0].webhook_url: "
        "required key is missing",
        f"line {line(block, '- type: pager')}: tenants[0].digest.channels[1].type: "
        "unknown channel type 'pager'; use one of: slack, teams, smtp",
        f"line {line(block, 'webhook_url_file:')}: tenants[0].digest.channels[2].webhook_url_file: "
        "cannot read /nonexistent/teams_webhook",
        f"line {line(block, 'from:')}: tenants[0].digest.channels[3].from: expected an e-mail address",
        f"line {line(block, 'bcc:')}: tenants[0].digest.channels[3].bcc: unknown key",
        f"line {line(block, '- host:')}: tenants[0].digest.channels[4].type: required key is missing",
    ]
    for message in expected:
        assert any(p.startswith(message) for p in found), (message, found)
    assert len(found) == len(expected)


def test_consistency_errors_name_the_key_that_conflicts(tmp_path: Path) -> None:
    secret = tmp_path / "teams_webhook"
    secret.write_text(TEAMS_URL)
    block = f"""\
      channels:
        - type: teams
          webhook_url: ${{TEAMS}}
          webhook_url_file: {secret}
        - type: smtp
          host: smtp.example.com
          username: saaswatch
          from: saaswatch@msp.example
          to: [it@acme.example]
        - type: smtp
          name: relay
          host: smtp.example.com
          tls: true
          starttls: true
          from: saaswatch@msp.example
          to: [it@acme.example]
"""
    found = problems(tmp_path, block, {"TEAMS": TEAMS_URL})
    expected = [
        f"line {line(block, 'webhook_url_file:')}: tenants[0].digest.channels[0].webhook_url_file: "
        "give webhook_url or webhook_url_file, not both",
        f"line {line(block, '- type: smtp')}: tenants[0].digest.channels[1].password: username is set",
        f"line {line(block, 'starttls:')}: tenants[0].digest.channels[2].starttls: "
        "tls: true already encrypts",
    ]
    for message in expected:
        assert any(p.startswith(message) for p in found), (message, found)
    assert len(found) == len(expected)


def test_two_channels_of_one_type_need_names(tmp_path: Path) -> None:
    block = """\
      channels:
        - {type: slack, webhook_url: "${SLACK}"}
        - {type: slack, webhook_url: "${SLACK}"}
"""
    found = problems(tmp_path, block, {"SLACK": SLACK_URL})
    assert found == [
        "line 4: tenants[0].digest: Value error, channel names must be unique; give each channel a distinct "
        "name: ['slack']"
    ]
    named = block.replace("- {type: slack, webhook", "- {type: slack, name: finance, webhook", 1)
    digest = load(tmp_path, named, {"SLACK": SLACK_URL}).tenants[0].digest
    assert digest is not None and [channel_name(c) for c in digest.channels] == ["finance", "slack"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("hooks.slack.com/services/T0/B0/s3cr3tWithoutScheme", "expected the webhook's whole https:// URL"),
        ("http://hooks.slack.com/services/T0/B0/s3cr3tOverPlainHttp", "plain http would send"),
        ("example-value", "expected the webhook's whole https:// URL"),
    ],
)
def test_a_bad_webhook_url_is_refused_without_showing_it(tmp_path: Path, value: str, reason: str) -> None:
    block = "      channels:\n        - type: slack\n          webhook_url: ${SLACK}\n"
    found = problems(tmp_path, block, {"SLACK": value})
    assert len(found) == 1
    assert found[0].startswith(f"line 7: tenants[0].digest.channels[0].webhook_url: {reason}")
    assert value not in found[0] and "s3cr3t" not in found[0]


def test_plain_http_is_accepted_on_the_loopback_only(tmp_path: Path) -> None:
    block = "      channels:\n        - type: slack\n          webhook_url: ${SLACK}\n"
    config = load(tmp_path, block, {"SLACK": "http://127.0.0.1:8080/services/T0/B0/local"})
    digest = config.tenants[0].digest
    assert digest is not None and isinstance(digest.channels[0], SlackChannel)
