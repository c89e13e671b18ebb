"""The e-mail digest against a local SMTP server (aiosmtpd): the message's headers, text and HTML
parts and figures; login; STARTTLS with a private CA; and failures that name the relay, never the
password."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from ports import free_port
from test_digest_webhook import NOW, sample_digest

from collector.digest.config import SmtpChannel
from collector.digest.errors import DeliveryError
from collector.digest.send import deliver
from collector.digest.webhook import WebhookOptions

PASSWORD = "smtp-Pa55word-never-shown"


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (_text(auth_data.login), _text(auth_data.password)) == (
        "saaswatch",
        PASSWORD,
    )
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 235 or 535 itself


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=check_login, auth_require_tls=False
    )
    controller.start()
    yield mailbox, port
    controller.stop()


def channel(port: int, **extra: Any) -> SmtpChannel:
    fields = {
        "type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "from": "saaswatch@msp.example",
        "to": ["it@acme.example", "Finance <finance@acme.example>"],
        "timeout": 10,
        **extra,
    }
    return SmtpChannel.model_validate(fields)


def send(smtp: SmtpChannel) -> None:
    deliver(smtp, sample_digest(), NOW, WebhookOptions())


def test_the_mail_has_subject_recipients_and_text_and_html_parts_with_the_figures(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    send(channel(port, username="saaswatch", password=PASSWORD))
    [(sender, recipients, message)] = mailbox.messages
    assert sender == "saaswatch@msp.example"
    assert recipients == ["it@acme.example", "finance@acme.example"]
    assert message["Subject"] == "SaaS waste digest for Acme Ltd: 2,132.25 USD a month (23 Nov 2026)"
    assert message["To"] == "it@acme.example, Finance <finance@acme.example>"
    assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"].endswith("@msp.example>")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    plain, markup = text.get_content(), html.get_content()
    for figure in (
        "2,132.25 USD a month",
        "25,587.00 USD a year",
        "62 open findings",
        "Up 120.00 USD a month",
    ):
        assert figure in plain and figure in markup
    assert "  1. App 0: 100.00 USD a month" in plain
    assert "seat 0 unused for 90 days <since> Q3 & more" in plain
    assert "seat 0 unused for 90 days &lt;since&gt; Q3 &amp; more" in markup  # escaped in HTML
    assert "<ol>" in markup and "Data from okta is stale since 2026-11-12 06:00 UTC" in markup


def test_a_wrong_password_is_refused_without_showing_it(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    with pytest.raises(DeliveryError) as caught:
        send(channel(port, username="saaswatch", password="wrong-Password-123"))
    message = str(caught.value)
    assert message.startswith(
        f"e-mail via 127.0.0.1:{port}: the relay refused the login of saaswatch (SMTP 535)"
    )
    assert "wrong-Password-123" not in message and mailbox.messages == []


def test_starttls_is_required_when_on(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    with pytest.raises(DeliveryError, match="the relay does not offer STARTTLS"):
        send(channel(port, starttls=True))
    assert mailbox.messages == []


def test_an_unreachable_relay_is_reported() -> None:
    port = free_port()
    with pytest.raises(DeliveryError, match=f"e-mail via 127.0.0.1:{port} failed: ConnectionRefusedError"):
        send(channel(port))


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_starttls_with_a_private_ca_then_login(tmp_path: Path) -> None:
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,  # refuses everything before STARTTLS
        authenticator=check_login,
    )
    controller.start()
    try:
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            send(channel(port, starttls=True))  # a certificate no public CA signed
        send(channel(port, starttls=True, ca_file=str(cert_file), username="saaswatch", password=PASSWORD))
    finally:
        controller.stop()
    [(_sender, _recipients, message)] = mailbox.messages
    assert message["Subject"].startswith("SaaS waste digest for Acme Ltd")
